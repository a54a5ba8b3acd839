"""What an evaluation produces: each check's outcome and the run's summary.

Plain data classes shared by the engine (which fills them) and by the code that
stores rows and reports them; they import nothing from either.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from auditkit.evaluate.rollup import RESULTS, RequirementResult


@dataclass
class CheckOutcome:
    """One check's outcome in a run."""

    check_id: str
    title: str
    severity: str
    state: str
    reason: str
    population: int = 0
    passed: int = 0
    failed: int = 0
    excepted: int = 0
    not_applicable: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


@dataclass
class RunSummary:
    """What ``evaluate`` returns: the run id and its results."""

    run_id: int
    as_of: dt.date
    period_start: dt.date
    period_end: dt.date
    framework: str
    checks: list[CheckOutcome]
    requirements: list[RequirementResult]

    def counts(self) -> dict[str, int]:
        """Requirements per candidate result, every result of the vocabulary included."""
        out = dict.fromkeys(RESULTS, 0)
        for req in self.requirements:
            out[req.result] = out.get(req.result, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "framework": self.framework,
            "results_are": "candidates for the assessor; In Place only when every testing "
            "procedure is covered (docs/results.md)",
            "counts": self.counts(),
            "requirements": [
                {
                    "requirement": r.id,
                    "title": r.title,
                    "result": r.result,
                    "basis": r.basis,
                    "procedures_covered": r.procedures_covered,
                    "procedures_total": r.procedures_total,
                    "compensating_control": r.compensating_control,
                    "customized_approach": r.customized_approach,
                    "checks": list(r.checks),
                    "checks_with_exceptions": list(r.failing_checks),
                    "procedures": [
                        {
                            "procedure": p.id,
                            "methods": list(p.methods),
                            "status": p.status,
                            "covered_methods": list(p.covered_methods),
                            "partly_covered_methods": list(p.partly_methods),
                            "checks": list(p.checks),
                            "attestations": list(p.attestations),
                            "evidence_refs": list(p.evidence_refs),
                            "basis": p.basis,
                        }
                        for p in r.procedures
                    ],
                    "still_for_the_assessor": r.to_do,
                }
                for r in self.requirements
            ],
            "checks": [c.to_json() for c in self.checks],
        }
