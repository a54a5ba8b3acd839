"""Charts draw the candidate results as they are: a partial result is never In Place."""

from __future__ import annotations

from auditkit.report import charts
from auditkit.report.data import RequirementView


def _req(rid: str, result: str) -> RequirementView:
    return RequirementView(rid, "t", result, "b", False, False, [])


def test_partial_results_are_not_drawn_as_in_place() -> None:
    partial = [_req(f"1.{i}", "No exceptions noted (partial)") for i in range(3)]
    svg = charts.results_by_principal([*partial, _req("2.1", "No automated evidence")])
    assert charts.RESULT_COLOURS["No exceptions noted (partial)"] in svg
    assert charts.RESULT_COLOURS["No automated evidence"] in svg
    assert charts.RESULT_COLOURS["In Place"] not in svg
    with_in_place = charts.results_by_principal([*partial, _req("2.1", "In Place")])
    assert charts.RESULT_COLOURS["In Place"] in with_in_place
