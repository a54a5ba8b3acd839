"""How auditkit's result words map onto the SIEM schemas' normalised fields.

**One function decides**: :func:`verdict` turns an item status (``pass``,
``fail``, ``excepted``, ``not_applicable``) or a requirement result (the
words in ``run_requirements.result``) into a :class:`Verdict`; the OCSF, ECS
and Splunk writers only translate a verdict into their own ids. A new result
word is one line in :data:`REQUIREMENT_VERDICTS` or :data:`ITEM_VERDICTS`.

Fail closed: a word missing from the tables maps to ``unknown`` (OCSF
compliance status Unknown, ECS outcome ``unknown``), never to a pass, and the
word itself still travels in the record (``status_code`` / ``auditkit.status``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from auditkit.evaluate.rollup import (
    IN_PLACE,
    NO_EVIDENCE,
    NOT_APPLICABLE,
    NOT_IN_PLACE,
    NOT_TESTED,
    PARTIAL,
)

Level = Literal["item", "requirement"]
Normalised = Literal["pass", "fail", "warning", "other", "unknown"]

#: Item statuses written by the checks and the exception register.
#: ``excepted`` is a failing item covered by an exception: still a failure of the
#: check (a SIEM counting failures must see it), marked suppressed in the workflow.
ITEM_VERDICTS: dict[str, tuple[Normalised, bool]] = {
    "pass": ("pass", False),
    "fail": ("fail", False),
    "excepted": ("fail", True),
    "not_applicable": ("other", False),
}

#: Requirement results (docs/results.md). Partial coverage, no automated evidence and
#: Not Tested give no result for want of evidence, which is OCSF's Warning ("did not
#: yield a result due to missing information"): never a pass.
REQUIREMENT_VERDICTS: dict[str, tuple[Normalised, bool]] = {
    IN_PLACE: ("pass", False),
    NOT_IN_PLACE: ("fail", False),
    PARTIAL: ("warning", False),
    NO_EVIDENCE: ("warning", False),
    NOT_TESTED: ("warning", False),
    NOT_APPLICABLE: ("other", False),
}


@dataclass(frozen=True)
class Verdict:
    """A status as the SIEM schemas see it; ``word`` is auditkit's own, unchanged."""

    word: str
    normalised: Normalised
    suppressed: bool

    @property
    def ocsf_compliance_status_id(self) -> int:
        """OCSF 1.5 ``compliance.status_id``: 0 Unknown, 1 Pass, 2 Warning, 3 Fail, 99 Other."""
        return {"pass": 1, "warning": 2, "fail": 3, "other": 99}.get(self.normalised, 0)

    @property
    def ocsf_finding_status_id(self) -> int:
        """OCSF finding workflow ``status_id``: 1 New, or 3 Suppressed for an excepted item."""
        return 3 if self.suppressed else 1

    @property
    def ecs_outcome(self) -> str:
        """ECS ``event.outcome``: success, failure or unknown."""
        return {"pass": "success", "fail": "failure"}.get(self.normalised, "unknown")


def verdict(level: Level, word: str) -> Verdict:
    """The one mapping from an auditkit status or result word to a :class:`Verdict`."""
    table = ITEM_VERDICTS if level == "item" else REQUIREMENT_VERDICTS
    normalised, suppressed = table.get(word, ("unknown", False))
    return Verdict(word=word, normalised=normalised, suppressed=suppressed)


#: Check severities to OCSF ``severity_id`` (also used as ECS ``event.severity``).
SEVERITY_IDS = {"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}
SEVERITY_CAPTIONS = {
    0: "Unknown",
    1: "Informational",
    2: "Low",
    3: "Medium",
    4: "High",
    5: "Critical",
}


def severity_id(severity: str | None) -> int:
    """OCSF severity id of a check severity; anything else is 0 (Unknown)."""
    return SEVERITY_IDS.get(severity or "", 0)
