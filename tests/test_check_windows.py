"""Every check judges evidence up to the evaluation date: the earlier of the as-of date and the
period end. An as-of date after the period (the day the assessment is made) must not pull later
flows, events or reviews into the period's result (docs/checks.md, "Dates")."""

from __future__ import annotations

import re
from pathlib import Path

CONTROLS = Path(__file__).resolve().parents[1] / "controls"

# "$as_of" used as an upper bound or as the date things are measured at, outside least(...)
_BARE_AS_OF = re.compile(r"(?<!least\()\$as_of\b(?!, \$period_end\))")

PENDING: set[str] = set()
# Snapshots are chosen by the as-of date (the configuration in force when the assessment is
# made), not by the evaluation window: the snapshot days relation, and the date an undated
# inventory is taken to describe.
ALLOWED = {
    "checks/identity/users_terminated_still_active.sql": 1,
    "lib/access_snapshot_days.sql": 2,
}


def test_checks_bound_their_window_by_the_evaluation_date() -> None:
    offenders = []
    for path in sorted(CONTROLS.rglob("*.sql")):
        rel = path.relative_to(CONTROLS).as_posix()
        if rel in PENDING:
            continue
        code = "\n".join(line.split("--", 1)[0] for line in path.read_text().splitlines())
        bare = len(_BARE_AS_OF.findall(code))
        if bare > ALLOWED.get(rel, 0):
            offenders.append(f"{rel}: {bare} use(s) of $as_of outside least($as_of, $period_end)")
    assert not offenders, "\n".join(offenders)
