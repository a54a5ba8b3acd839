"""The sample company's ground truth, asserted scenario by scenario and item by item.

``sample_data/ground-truth/scenarios.json`` (written by the sample generator) gives, for each
of the planted scenarios, the expected outcome in the previous quarter (2026-q2, the demo's
run 1) and the assessed quarter (2026-q3, run 2), and what ``auditkit diff`` of the two runs
should show. ``ground_truth_map.yaml`` next to this file says, in auditkit's terms, which
items carry each scenario (check id and resource key or pattern), the status each must have
in each run, its change in the diff, and the requirement results that follow.

Where auditkit disagrees with the ground truth today, the map flags the entry with
``defect:`` (the issue it belongs to). The scenario is then an expected failure, strict and
raised only by those entries: every other entry of the scenario is still asserted, and when
a fix makes a flagged entry agree, the test fails until the flag is removed.

The demo is built once per session (``demo_pack`` in tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from auditkit.cli import run
from auditkit.evaluate.catalog import load_catalog
from auditkit.resources import sample_data_dir

MAP_FILE = Path(__file__).with_name("ground_truth_map.yaml")
FRAMEWORK = "pci-dss-v4.0.1"
PERIODS = {"q2": ("2026-q2", 1), "q3": ("2026-q3", 2)}  # map key -> (ground-truth period, run)
ITEM_STATUSES = {"pass", "fail", "excepted", "not_applicable", "absent", "not_tested"}
BASE_RESULTS = {"In Place", "Not in Place", "Not Applicable", "Not Tested"}
RESULTS = BASE_RESULTS | {f"not {r}" for r in BASE_RESULTS}  # "not X": anything but X
DIFF_CHANGES = {"new", "resolved", "persisting", "excepted", "not re-tested", "first tested"}
DIFF_NONE = "none"  # not a finding in the diff (unchanged pass, unchanged excepted, info)
ITEM_KEYS = {"check", "resource", "pattern", "match", "q2", "q3", "diff", "exception"}
ITEM_KEYS |= {"mentions", "defect", "note"}
AUDIT_KEYS = {"user", "verb", "resource", "namespace", "name", "date", "code", "defect"}


class KnownDefect(Exception):
    """An entry the map flags as a known disagreement still disagrees."""


def _load_map() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(MAP_FILE.read_text())
    scenarios = doc["scenarios"]
    assert isinstance(scenarios, dict)
    return scenarios


def _load_truth() -> dict[str, Any]:
    path = sample_data_dir() / "ground-truth" / "scenarios.json"
    truth: dict[str, Any] = json.loads(path.read_text())
    return truth


MAP = _load_map()
TRUTH = _load_truth()
SCENARIOS = {s["id"]: s for s in TRUTH["scenarios"]}


def _entries(scenario: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return (
        [("item", e) for e in scenario.get("items", [])]
        + [("requirement", e) for e in scenario.get("requirements", [])]
        + [("audit event", e) for e in scenario.get("audit_events", [])]
    )


def _defects(gid: str) -> list[str]:
    out: list[str] = []
    for _, entry in _entries(MAP.get(gid, {})):
        if entry.get("defect") and entry["defect"] not in out:
            out.append(entry["defect"])
    return out


def _params() -> list[Any]:
    params = []
    for gid in SCENARIOS:
        defects = _defects(gid)
        marks = (
            [pytest.mark.xfail(strict=True, raises=KnownDefect, reason="; ".join(defects))]
            if defects
            else []
        )
        params.append(pytest.param(gid, id=gid, marks=marks))
    return params


# --------------------------------------------------------------------------- the demo's results


@dataclass(frozen=True)
class Row:
    """One stored result row of the demo."""

    check_id: str
    resource: str
    status: str
    reason: str
    evidence: str
    exception_id: str | None


@dataclass
class DemoResults:
    """Both runs of the demo, read once: rows, check states, requirements, diff, store."""

    rows: dict[int, dict[str, list[Row]]]  # run -> check id -> rows
    check_states: dict[tuple[int, str], str]
    requirements: dict[tuple[int, str], tuple[str, bool]]  # (run, id) -> (result, CC flag)
    diff: dict[tuple[str, str], str]  # (check id, resource) -> change, findings only
    store: Path


@pytest.fixture(scope="session")
def demo_results(demo_pack: tuple[Path, Path, dict[str, object]]) -> DemoResults:
    """The demo's stored results and its ``auditkit diff 2``, read once per session."""
    _, ws, _ = demo_pack
    store = ws / "auditkit.duckdb"
    rows: dict[int, dict[str, list[Row]]] = {1: {}, 2: {}}
    with duckdb.connect(str(store), read_only=True) as con:
        labels = con.execute("SELECT run_id, as_of::DATE::VARCHAR FROM runs ORDER BY 1").fetchall()
        assert labels == [(1, "2026-06-30"), (2, "2026-09-30")], labels
        for run_id, check_id, resource, status, reason, evidence, exc in con.execute(
            "SELECT run_id, check_id, resource, status, reason, CAST(evidence AS VARCHAR), "
            "exception_id FROM run_results"
        ).fetchall():
            row = Row(check_id, resource, status, reason, evidence or "", exc)
            rows[run_id].setdefault(check_id, []).append(row)
        states = {
            (r, c): s
            for r, c, s in con.execute("SELECT run_id, check_id, state FROM run_checks").fetchall()
        }
        requirements = {
            (r, q): (res, bool(cc))
            for r, q, res, cc in con.execute(
                "SELECT run_id, requirement, result, compensating_control FROM run_requirements"
            ).fetchall()
        }
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = run(["diff", "2", "-w", str(ws), "--json"])
    assert code == 0
    doc = json.loads(buffer.getvalue())
    assert (doc["run_a"], doc["run_b"]) == (1, 2)
    diff = {(f["check_id"], f["resource"]): f["change"] for f in doc["findings"]}
    return DemoResults(rows, states, requirements, diff, store)


# --------------------------------------------------------------------------- judging one entry


def _matcher(item: dict[str, Any]) -> Any:
    if "resource" in item:
        key = item["resource"]
        return lambda resource: resource == key
    pattern = re.compile(item["pattern"])
    return lambda resource: pattern.fullmatch(resource) is not None


def _select(demo: DemoResults, run_id: int, item: dict[str, Any]) -> list[Row]:
    by_check = demo.rows[run_id]
    if item["check"] == "*":
        candidates = [r for rows in by_check.values() for r in rows]
    else:
        candidates = by_check.get(item["check"], [])
    matches = _matcher(item)
    return [r for r in candidates if matches(r.resource)]


def _label(item: dict[str, Any]) -> str:
    return f"{item['check']} {item.get('resource') or '/' + item['pattern'] + '/'}"


def _mentions(item: dict[str, Any], period: str) -> list[str]:
    wanted = item.get("mentions", {})
    return list(wanted.get(period, [])) if isinstance(wanted, dict) else []


def _item_problems(demo: DemoResults, item: dict[str, Any]) -> list[str]:
    problems = []
    label = _label(item)
    for key, (period, run_id) in PERIODS.items():
        if key not in item:
            continue
        want = item[key]
        found = _select(demo, run_id, item)
        got = sorted({r.status for r in found})
        if want == "not_tested":
            state = demo.check_states.get((run_id, item["check"]))
            if state != "not_tested" or found:
                problems.append(f"{label} [{period}]: want the check not tested, got {state} {got}")
            continue
        if want == "absent":
            if found:
                problems.append(f"{label} [{period}]: want no item, got {len(found)} {got}")
            continue
        allowed = {want} if isinstance(want, str) else set(want)
        if not found:
            problems.append(f"{label} [{period}]: want {sorted(allowed)}, no such item")
            continue
        if item.get("match") == "any":
            if not any(r.status in allowed for r in found):
                problems.append(f"{label} [{period}]: want some {sorted(allowed)}, got {got}")
        else:
            bad = sorted({f"{r.resource}: {r.status}" for r in found if r.status not in allowed})
            if bad:
                problems.append(f"{label} [{period}]: want {sorted(allowed)}, got {bad[:5]}")
        if "exception" in item and "excepted" in allowed:
            ids = sorted({str(r.exception_id) for r in found})
            if ids != [item["exception"]]:
                problems.append(f"{label} [{period}]: want exception {item['exception']}, {ids}")
        for text in _mentions(item, key):
            if not all(text in r.reason or text in r.evidence for r in found):
                problems.append(f"{label} [{period}]: reason/evidence do not mention {text!r}")
    return problems


def _diff_problems(demo: DemoResults, item: dict[str, Any]) -> list[str]:
    if "diff" not in item:
        return []
    keys = {(r.check_id, r.resource) for run_id in (1, 2) for r in _select(demo, run_id, item)}
    changes = sorted({demo.diff[k] for k in keys if k in demo.diff})
    want = item["diff"]
    if want == DIFF_NONE and changes:
        return [f"{_label(item)} [diff]: want no finding, got {changes}"]
    if want != DIFF_NONE and changes != [want]:
        return [f"{_label(item)} [diff]: want {want}, got {changes or 'no finding'}"]
    return []


def _wanted_result(value: str | dict[str, Any]) -> dict[str, Any]:
    """A requirement entry's period value: a result, or {result?, compensating_control?}."""
    return {"result": value} if isinstance(value, str) else dict(value)


def _requirement_problems(demo: DemoResults, entry: dict[str, Any]) -> list[str]:
    problems = []
    req = entry["requirement"]
    for key, (period, run_id) in PERIODS.items():
        if key not in entry:
            continue
        result, cc = demo.requirements[(run_id, req)]
        want = _wanted_result(entry[key])
        wanted = want.get("result", "not In Place")
        if wanted.startswith("not "):
            if result == wanted[len("not ") :]:
                problems.append(f"requirement {req} [{period}]: want anything but {result}")
        elif wanted != result:
            problems.append(f"requirement {req} [{period}]: want {want['result']}, got {result}")
        if "compensating_control" in want and cc != want["compensating_control"]:
            problems.append(f"requirement {req} [{period}]: compensating-control flag is {cc}")
    return problems


def _audit_problems(demo: DemoResults, entry: dict[str, Any]) -> list[str]:
    where = ["username = ?", "verb = ?", "resource = ?", "name = ?", "event_time::DATE = ?"]
    args: list[Any] = [entry["user"], entry["verb"], entry["resource"], entry["name"]]
    args.append(entry["date"])
    where.append("namespace IS NOT DISTINCT FROM ?")
    args.append(entry.get("namespace"))
    if "code" in entry:
        where.append("response_code = ?")
        args.append(entry["code"])
    sql = (
        "SELECT count(*), count(*) FILTER (WHERE source_sha256 IS NULL OR locator IS NULL) "
        "FROM k8s_audit_events WHERE " + " AND ".join(where)
    )
    with duckdb.connect(str(demo.store), read_only=True) as con:
        found, unsourced = con.execute(sql, args).fetchone() or (0, 0)
    label = f"audit event {entry['user']} {entry['verb']} {entry['resource']} {entry['name']}"
    if not found:
        return [f"{label} on {entry['date']}: not in the store"]
    if unsourced:
        return [f"{label} on {entry['date']}: stored without its source file and locator"]
    return []


def _problems(demo: DemoResults, kind: str, entry: dict[str, Any]) -> list[str]:
    if kind == "item":
        return _item_problems(demo, entry) + _diff_problems(demo, entry)
    if kind == "requirement":
        return _requirement_problems(demo, entry)
    return _audit_problems(demo, entry)


# --------------------------------------------------------------------------- the acceptance test


@pytest.mark.parametrize("gid", _params())
def test_scenario_matches_the_ground_truth(gid: str, demo_results: DemoResults) -> None:
    """Every entry the map gives for the scenario holds in the demo's two runs."""
    assert gid in MAP, f"{gid} is not in {MAP_FILE.name}"
    unexpected: list[str] = []
    known: list[str] = []
    now_fixed: list[str] = []
    for kind, entry in _entries(MAP[gid]):
        problems = _problems(demo_results, kind, entry)
        if not entry.get("defect"):
            unexpected += problems
        elif problems:
            known += problems
        else:
            now_fixed.append(f"{kind} {entry}")
    assert not unexpected, f"{gid} {SCENARIOS[gid]['title']}:\n" + "\n".join(unexpected)
    assert not now_fixed, (
        f"{gid}: these entries now match the ground truth; remove their defect flag in "
        f"{MAP_FILE.name}:\n" + "\n".join(now_fixed)
    )
    if known:
        raise KnownDefect("\n".join(known))


# --------------------------------------------------------------------------- the map itself


def test_map_covers_every_scenario_and_only_those() -> None:
    assert sorted(MAP) == sorted(SCENARIOS)
    for gid, scenario in MAP.items():
        assert _entries(scenario), f"{gid}: nothing asserted"


def test_map_entries_are_well_formed() -> None:
    catalog = load_catalog()
    requirements = {r.id for r in catalog.framework(FRAMEWORK).requirements}
    for gid, scenario in MAP.items():
        assert set(scenario) <= {"items", "requirements", "audit_events", "note"}, gid
        for kind, entry in _entries(scenario):
            where = f"{gid} {kind} {entry}"
            if kind == "item":
                assert set(entry) <= ITEM_KEYS, where
                assert entry["check"] == "*" or entry["check"] in catalog.checks, where
                assert ("resource" in entry) != ("pattern" in entry), where
                if "pattern" in entry:
                    re.compile(entry["pattern"])
                assert any(k in entry for k in PERIODS) or "diff" in entry, where
                for key in PERIODS:
                    want = entry.get(key, "absent")
                    assert set([want] if isinstance(want, str) else want) <= ITEM_STATUSES, where
                assert entry.get("match", "all") in {"all", "any"}, where
                assert entry.get("diff", DIFF_NONE) in DIFF_CHANGES | {DIFF_NONE}, where
                if "not_tested" in (entry.get("q2"), entry.get("q3")):
                    assert entry["check"] != "*", where
            elif kind == "requirement":
                assert entry["requirement"] in requirements, where
                assert any(k in entry for k in PERIODS), where
                for key in PERIODS:
                    want = _wanted_result(entry.get(key, {}))
                    assert set(want) <= {"result", "compensating_control"}, where
                    assert want.get("result", "In Place") in RESULTS, where
            else:
                assert set(entry) <= AUDIT_KEYS and isinstance(entry["date"], date), where


def _statuses(scenario: dict[str, Any], key: str) -> set[str]:
    out: set[str] = set()
    for item in scenario.get("items", []):
        want = item.get(key, "absent")
        if item.get("match") != "any" or want in ("fail", "absent"):
            out |= {want} if isinstance(want, str) else set(want)
    return out


def test_map_says_what_the_ground_truth_says() -> None:
    """The map's statuses, diffs and requirement results follow each scenario's expectation."""
    for gid, truth in SCENARIOS.items():
        scenario = MAP[gid]
        for key, (period, _) in PERIODS.items():
            expected = truth["expected"][period]
            statuses = _statuses(scenario, key)
            if expected == "fail":
                assert "fail" in statuses, (gid, period)
                for req in truth["requirements"]:
                    results = [
                        _wanted_result(e[key]).get("result")
                        for e in scenario.get("requirements", [])
                        if e["requirement"] == req and key in e
                    ]
                    assert results and set(results) <= {"Not in Place", "not In Place"}, (
                        gid,
                        period,
                        req,
                    )
            elif expected == "excepted":
                assert "excepted" in statuses and "fail" not in statuses, (gid, period)
            else:
                assert "fail" not in statuses, (gid, period)
        changes = {i["diff"] for i in scenario.get("items", []) if "diff" in i}
        change = truth["diff"]["change"]
        if change in ("new", "resolved", "persisting"):
            assert change in changes or (change == "new" and "first tested" in changes), gid
        else:
            assert changes <= {DIFF_NONE}, gid


def test_diff_acceptance_findings_are_in_the_map() -> None:
    """The generator's diff acceptance list is asserted through the scenarios that own it."""
    for finding in TRUTH["diff_acceptance"]["findings"]:
        want = DIFF_NONE if finding["change"] == "absent" else finding["change"]
        items = [
            i
            for i in MAP[finding["scenario"]].get("items", [])
            if i["check"] == finding["check"] and i.get("resource") == finding["resource"]
        ]
        assert [i.get("diff") for i in items] == [want], finding
