"""The only wall clock in auditkit: the claimed time of an evaluation or a signature.

It is a claim by whoever ran auditkit, never a trusted timestamp. With
``SOURCE_DATE_EPOCH`` set (reproducible builds convention) it is that instant.
"""

from __future__ import annotations

import datetime as dt
import os


def claimed_now() -> dt.datetime:
    """Now in UTC (naive), or ``SOURCE_DATE_EPOCH`` when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).replace(tzinfo=None)
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
