"""The user inventory CSV (auditkit's own documented format; see docs/formats.md).

Header (any column order, names exact)::

    user_id,name,type,status,mfa,last_login,created,terminated,role,k8s_username

``type`` is human or service; ``status`` active or disabled; ``mfa`` true or
false; ``last_login`` an RFC 3339 time; ``created``/``terminated`` dates;
empty means unknown/none. A record is one data row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from auditkit.ingest.base import Format, LoadContext, LoadStats, Sniff, parse_time

PARSER_VERSION = "1"

COLUMNS = (
    "user_id",
    "name",
    "type",
    "status",
    "mfa",
    "last_login",
    "created",
    "terminated",
    "role",
    "k8s_username",
)
REQUIRED = ("user_id", "type", "status")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def _header(line: str) -> list[str]:
    return [c.strip().lower() for c in next(csv.reader([line]), [])]


def _matches(sniff: Sniff) -> bool:
    if sniff.shape != "text":
        return False
    header = _header(sniff.first_line)
    return set(REQUIRED) <= set(header) and set(header) <= set(COLUMNS)


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value[:10])


def _load(ctx: LoadContext) -> LoadStats:
    text = ctx.source.read_text()
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[dict[str, Any]] = []
    stats = LoadStats()
    for fields in reader:
        line = reader.line_num
        if header is None:
            if not any(f.strip() for f in fields):
                continue
            header = [f.strip().lower() for f in fields]
            continue
        if not any(f.strip() for f in fields):
            continue
        loc = f"line:{line}"
        if len(fields) != len(header):
            ctx.reject(
                loc, f"expected {len(header)} columns, found {len(fields)}", ",".join(fields)
            )
            continue
        rec = {k: v.strip() for k, v in zip(header, fields, strict=True)}
        try:
            row = _row(rec)
        except ValueError as exc:
            ctx.reject(loc, str(exc), ",".join(fields))
            continue
        row.update(source_sha256=ctx.source.sha256, locator=loc)
        rows.append(row)
        stats.widen(row["last_login"])
    stats.stored = ctx.insert_rows("users", rows)
    return stats


def _row(rec: dict[str, str]) -> dict[str, Any]:
    if not rec.get("user_id"):
        raise ValueError("user_id is empty")
    user_type = rec.get("type", "").lower()
    if user_type not in ("human", "service"):
        raise ValueError(f"type must be human or service, not {rec.get('type')!r}")
    status = rec.get("status", "").lower()
    if status not in ("active", "disabled"):
        raise ValueError(f"status must be active or disabled, not {rec.get('status')!r}")
    mfa_raw = rec.get("mfa", "").lower()
    if mfa_raw and mfa_raw not in _TRUE | _FALSE:
        raise ValueError(f"mfa must be true or false, not {rec.get('mfa')!r}")
    last_login = None
    if rec.get("last_login"):
        last_login = parse_time(rec["last_login"])
        if last_login is None:
            raise ValueError(f"last_login is not a date-time: {rec['last_login']!r}")
    dates: dict[str, dt.date | None] = {}
    for key in ("created", "terminated"):
        value = rec.get(key, "")
        try:
            dates[key] = _date(value) if value else None
        except ValueError:
            raise ValueError(f"{key} is not a date: {value!r}") from None
    return {
        "user_id": rec["user_id"],
        "name": rec.get("name") or None,
        "user_type": user_type,
        "status": status,
        "mfa": (mfa_raw in _TRUE) if mfa_raw else None,
        "last_login": last_login,
        "created": dates["created"],
        "terminated": dates["terminated"],
        "role": rec.get("role") or None,
        "k8s_username": rec.get("k8s_username") or None,
    }


FORMATS = [
    Format(
        name="users-csv",
        family="access",
        description="User inventory CSV (user_id,name,type,status,mfa,last_login,created,"
        "terminated,role,k8s_username)",
        parser_version=PARSER_VERSION,
        matches=_matches,
        load=_load,
        shapes=("text",),
    )
]
