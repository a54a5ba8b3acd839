"""The evidence browser: ``index.html``, one offline page an assessor clicks through.

One self-contained file: the run's data as JSON inside the page, the page's
own small JavaScript and CSS inline (``reports/browser/``), nothing else. It is
built from the same :class:`~auditkit.report.data.RunReport` as the PDF and the
workbook, and listed in the signed manifest like every other file.

Safety:

- a Content-Security-Policy in the page forbids every fetch (``default-src
  'none'``, no connections, images, fonts, frames or forms) and allows only
  the page's own script and style, by their SHA-256;
- data is embedded in ``<script type="application/json">`` blocks (not
  executed) with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped as ``\\uXXXX``,
  so no value can close the block or open markup; the script builds the page
  with ``textContent`` and ``createElement`` only (a test lints it).

Bounded: the page carries the summary, every requirement and check, and the
failing and excepted items exactly as the workbook's Exceptions noted sheet lists them
(:class:`~auditkit.report.limits.WorkbookPlan`); passing and not applicable
items are capped per check (``PackLimits.browser_other_per_check``) and long
texts are clipped, and the page says so next to each list, pointing to the
evidence files, which always hold every item.

Vocabulary: every state the page shows (requirement results, item statuses,
check states, severities) travels in the data with its label and tone from
:func:`vocabulary`, so the script never names a state.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import jinja2
from markupsafe import Markup

from auditkit.errors import InternalError
from auditkit.evaluate.catalog import Catalog
from auditkit.evaluate.rollup import RESULTS
from auditkit.report.browser_items import ITEM_FIELDS, items_json
from auditkit.report.data import SEVERITIES, RunReport
from auditkit.report.limits import PackLimits, WorkbookPlan
from auditkit.resources import reports_dir
from auditkit.safe_output import RESULT_COLOURS
from auditkit.safe_output._xlsx import AMBER, GREEN, GREY, RED

BROWSER_FILE = "index.html"
TOP_ISSUES = 10

# Labels of the item statuses and check states (one place; the page reads them).
STATUS_LABELS = {
    "fail": "failing",
    "excepted": "excepted",
    "pass": "passed",
    "not_applicable": "not applicable to the item",
}
STATE_LABELS = {"evaluated": "evaluated", "not_tested": "not tested"}
COUNT_LABELS = {
    "population": "tested",
    "passed": "passed",
    "failed": "failing",
    "excepted": "excepted",
    "not_applicable": "not applicable",
}
_TONE_BY_COLOUR = {GREEN: "ok", RED: "bad", AMBER: "warn", GREY: "na"}


def _tone(value: str) -> str:
    """The page's tone for a state, from the workbook's colour for it (neutral if none)."""
    return _TONE_BY_COLOUR.get(RESULT_COLOURS.get(value, ""), "neutral")


def vocabulary(report: RunReport) -> dict[str, Any]:
    """Every state the page can show, in display order, with its label and tone.

    Results come from the roll-up's vocabulary plus any other value the run
    holds, so a new state shows under its own name (in a neutral tone, never
    in the In Place colour) without a change to the page.
    """
    results = list(RESULTS)
    for req in report.requirements:
        if req.result not in results:
            results.append(req.result)
    states = list(STATE_LABELS)
    for check in report.checks.values():
        if check.state not in states:
            states.append(check.state)
    return {
        "results": [{"value": r, "label": r, "tone": _tone(r)} for r in results],
        "statuses": [
            {"value": s, "label": label, "tone": _tone(s)} for s, label in STATUS_LABELS.items()
        ],
        "states": [
            {"value": s, "label": STATE_LABELS.get(s, s.replace("_", " ")), "tone": "neutral"}
            for s in states
        ],
        "severities": [{"value": s, "label": s, "tone": "neutral"} for s in SEVERITIES],
        # per-check counts, as columns: the CheckView field and its heading
        "counts": [{"value": k, "label": label} for k, label in COUNT_LABELS.items()],
        "by_severity": "failing by severity",
    }


def script_safe_json(text: str) -> str:
    """JSON text made safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` can only occur inside JSON strings, where ``\\u003c``
    etc. mean the same characters, so the value is unchanged for ``JSON.parse``
    while no ``</script>``, ``<!--`` or markup can appear in the page source.
    """
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def csp_hash(text: str) -> str:
    """The CSP source expression allowing exactly this inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


# Everything not named falls back to default-src 'none': no fetch of any kind.
_CSP_REST = (
    "img-src 'none'; font-src 'none'; connect-src 'none'; media-src 'none'; object-src 'none'; "
    "frame-src 'none'; worker-src 'none'; manifest-src 'none'; form-action 'none'; "
    "base-uri 'none'"
)


def content_security_policy(script: str, style: str) -> str:
    """No fetch of any kind; only the page's own script and style run."""
    return (
        f"default-src 'none'; script-src {csp_hash(script)}; style-src {csp_hash(style)}; "
        + _CSP_REST
    )


def _evidence_ref(check: Any) -> str:
    """The reference an assessor quotes for a check's population in this pack."""
    ref = getattr(check, "evidence_ref", "")  # EV-nnnn once runs carry references
    return str(ref) if ref else f"evidence/{check.id}/population.csv"


def _procedures(req: Any) -> list[dict[str, Any]]:
    """The requirement's testing procedures, where the run records them."""
    out = []
    for p in getattr(req, "procedures", None) or []:
        if not isinstance(p, Mapping):
            continue
        out.append(
            {
                "id": str(p.get("procedure") or p.get("id") or ""),
                "text": str(p.get("text") or p.get("title") or ""),
                "methods": [str(m) for m in p.get("methods") or []],
                "status": str(p.get("status") or p.get("state") or ""),
                "checks": [str(c) for c in p.get("checks") or []],
                "refs": [str(r) for r in p.get("evidence_refs") or []],
                "to_do": str(p.get("to_do") or ""),
            }
        )
    return out


def _evidence_files(staging: Path, check_id: str) -> list[str]:
    folder = staging / "evidence" / check_id
    if not folder.is_dir():
        return []
    return sorted(f"evidence/{check_id}/{p.name}" for p in folder.iterdir() if p.is_file())


def _changes(changes: Mapping[str, Any] | None, per_kind: int) -> dict[str, Any] | None:
    if changes is None:
        return None
    diff = changes.get("diff")
    listed: list[list[Any]] = []
    per: dict[str, int] = {}
    totals: dict[str, int] = {}
    for f in getattr(diff, "findings", None) or []:
        totals[f.change] = totals.get(f.change, 0) + 1
        if per.get(f.change, 0) >= per_kind:
            continue
        per[f.change] = per.get(f.change, 0) + 1
        listed.append(
            [f.change, f.check_id, f.resource, f.severity, f.status_before, f.status_after,
             f.reason, f.fingerprint]
        )  # fmt: skip
    return {
        "run_a": changes.get("run_a"),
        "run_b": changes.get("run_b"),
        "as_of_a": changes.get("as_of_a"),
        "as_of_b": changes.get("as_of_b"),
        "requirements": changes.get("requirement_changes") or [],
        "checks": changes.get("checks") or [],
        "totals": changes.get("totals") or {},
        "fields": [
            "change",
            "check",
            "resource",
            "severity",
            "before",
            "after",
            "reason",
            "fingerprint",
        ],  # fmt: skip
        "findings": listed,
        "listed": per,
        "in_diff": totals,
    }


def browser_data(
    con: duckdb.DuckDBPyConnection,
    report: RunReport,
    catalog: Catalog | None,
    plan: WorkbookPlan,
    limits: PackLimits,
    staging: Path,
    *,
    claimed_iso: str,
    key_fingerprint: str,
    changes: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """The page's data (small part as a dict, items as JSON text built in DuckDB)."""
    check_ids = sorted(report.checks)
    finding_caps = [
        plan.findings.listed.get(c, 0) if plan.findings.limit(c) is not None else 1 << 62
        for c in check_ids
    ]
    other_caps = [limits.browser_other_per_check for _ in check_ids]
    items_text, listed, files = items_json(
        con, report.run_id, check_ids, finding_caps, other_caps, limits
    )
    paths = {s["source_sha256"]: s for s in report.sources}
    registers = {sha: path for path, sha in (report.registers.get("digests") or {}).items() if sha}
    # EV references of input files, where the run stores them (kind "source file")
    file_refs = {
        str(e.get("key")): str(e.get("ref"))
        for e in getattr(report, "evidence", None) or []
        if isinstance(e, Mapping) and e.get("kind") == "source file"
    }
    file_rows = []
    if files:
        known = dict(
            con.execute(
                "SELECT source_sha256, path FROM sources WHERE list_contains(?, source_sha256)",
                [files],
            ).fetchall()
        )
        for sha in files:
            src = paths.get(sha)
            path = src["path"] if src else known.get(sha) or registers.get(sha)
            file_rows.append([sha, path, src["format"] if src else None, file_refs.get(sha, "")])
    checks = []
    capped_any = False
    for cid in check_ids:
        c = report.checks[cid]
        meta = catalog.checks.get(cid) if catalog else None
        others_total = c.rows - c.finding_rows
        n = listed.get(cid, {"findings": 0, "others": 0})
        capped = n["findings"] < c.finding_rows or n["others"] < others_total
        capped_any = capped_any or capped
        checks.append(
            {
                "id": c.id,
                "title": c.title,
                "severity": c.severity,
                "state": c.state,
                "reason": c.reason,
                "population": c.population,
                "passed": c.passed,
                "failed": c.failed,
                "excepted": c.excepted,
                "not_applicable": c.not_applicable,
                "failing_by_severity": c.failing_by_severity,
                "description": c.description,
                "rationale": c.rationale,
                "remediation": c.remediation,
                "resource_type": c.resource_type,
                "references": list(c.references),
                "params": [
                    {
                        "name": p.name,
                        "value": p.value_text,
                        "unit": p.unit,
                        "provenance": p.provenance,
                        "description": p.description,
                    }
                    for p in c.param_views
                ],
                "requirements": c.requirements,
                "sql": meta.sql if meta else "",
                "sql_file": meta.sql_path.name if meta else "",
                "ref": _evidence_ref(c),
                "files": _evidence_files(staging, cid),
                "listed": {
                    "findings": n["findings"],
                    "findings_total": c.finding_rows,
                    "others": n["others"],
                    "others_total": others_total,
                },
            }
        )
    requirements = [
        {
            "id": r.id,
            "title": r.title,
            "result": r.result,
            "basis": r.basis,
            "manual": r.manual,
            "compensating_control": r.compensating_control,
            "customized_approach": r.customized_approach,
            "checks": [c.id for c in r.checks],
            "procedures": _procedures(r),
            "coverage": str(getattr(r, "coverage", "") or ""),
            "to_do": [str(t) for t in getattr(r, "to_do", None) or []]
            or [p["to_do"] for p in _procedures(r) if p["to_do"]],
            "attestations": [
                {
                    k: str(a.get(k) or "")
                    for k in ("id", "kind", "date_start", "date_end", "performed_by", "result")
                }
                for a in r.attestations
            ],
        }
        for r in report.requirements
    ]
    failing = sorted(
        (c for c in report.checks.values() if c.failed),
        key=lambda c: (
            tuple(-c.failing_by_severity.get(s, 0) for s in SEVERITIES),
            -c.failed,
            c.id,
        ),
    )
    statements = [
        "Failing and excepted items: the same as the workbook's Exceptions noted sheet. "
        + plan.statements()[0],
        f"Passing and not applicable items: at most {limits.browser_other_per_check:,} per "
        "check (the lowest fingerprints, a reproducible pseudo-random choice); every item of "
        "every check is in evidence/<check>/population.csv and .parquet.",
        f"Texts longer than {limits.browser_text_chars:,} characters and evidence longer than "
        f"{limits.browser_evidence_chars:,} characters are clipped here, saying so; the full "
        "text is in the evidence files.",
    ]
    data = {
        "format": 1,
        "run": {
            "id": report.run_id,
            "label": report.label,
            "organisation": report.organisation,
            "entity_type": report.entity_type,
            "framework": report.framework_title,
            "framework_version": report.framework_version,
            "as_of": report.as_of.isoformat(),
            "period": [report.period_start.isoformat(), report.period_end.isoformat()],
            "evaluated_at": str(report.created_at),
            "claimed_time": claimed_iso,
            "tool_version": report.tool_version,
            "catalog_digest": report.catalog_digest,
            "config_digest": report.config_digest,
            "key_fingerprint": key_fingerprint,
            "scope": report.scope,
        },
        "vocabulary": vocabulary(report),
        "summary": {
            "counts": report.counts(),
            "requirements": len(report.requirements),
            "population": report.population,
            # the item cards, linked to the items filtered by status
            "item_statuses": [["fail", report.failing_items], ["excepted", report.excepted_items]],
            "severity_counts": report.severity_counts,
            "top_checks": [c.id for c in failing[:TOP_ISSUES]],
        },
        "statements": statements,
        "capped": capped_any,
        "requirements": requirements,
        "checks": checks,
        "item_fields": list(ITEM_FIELDS),
        "files": file_rows,
        "sources": [
            {
                "path": s["path"],
                "sha256": s["source_sha256"],
                "format": s["format"],
                "records": s["records_stored"],
                "skipped": s["records_skipped"],
            }
            for s in report.sources
        ],
        "exceptions": [
            {
                k: str(e.get(k) if e.get(k) is not None else "")
                for k in ("id", "check", "kind", "state", "matched", "expires", "requirement")
            }
            | {"justification": str(e.get("justification") or "")}
            for e in report.exceptions
        ],
        "changes": _changes(changes, limits.browser_changes_per_kind),
    }
    return data, items_text


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(reports_dir() / "browser")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


_CLOSING = re.compile(r"</(script|style)", re.IGNORECASE)


# Where the items go. Data cannot produce it: every "<" from data is escaped (&lt; in
# the markup, \u003c in the JSON).
_ITEMS_SLOT = "<!--auditkit:items-->"


def render_browser(data: Mapping[str, Any]) -> tuple[str, str]:
    """The page's HTML around the items: (before, after) the items' JSON text.

    Template, inline script and style (hashed into the CSP) and the run's data.
    The items, the bulk of a big page, are written between the two parts by
    :func:`write_browser` without another copy of them in memory.
    """
    folder = reports_dir() / "browser"
    script = (folder / "browser.js").read_text(encoding="utf-8")
    style = (folder / "browser.css").read_text(encoding="utf-8")
    if _CLOSING.search(script) or _CLOSING.search(style):
        raise InternalError("the browser's script or style closes its own element")
    run_json = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    html = (
        _environment()
        .get_template("index.html.j2")
        .render(
            title=f"{data['run']['organisation']}: evidence, run {data['run']['id']}",
            csp=content_security_policy(script, style),
            script=Markup(script),
            style=Markup(style),
            run_json=Markup(script_safe_json(run_json)),
            items_json=Markup(_ITEMS_SLOT),
        )
    )
    parts = html.split(_ITEMS_SLOT)
    if len(parts) != 2:
        raise InternalError("the browser template must hold the items exactly once")
    return parts[0], parts[1]


def write_browser(
    con: duckdb.DuckDBPyConnection,
    report: RunReport,
    catalog: Catalog | None,
    plan: WorkbookPlan,
    limits: PackLimits,
    staging: Path,
    *,
    claimed_iso: str,
    key_fingerprint: str,
    changes: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``index.html`` into the pack folder ``staging`` (after the evidence files)."""
    data, items_text = browser_data(
        con,
        report,
        catalog,
        plan,
        limits,
        staging,
        claimed_iso=claimed_iso,
        key_fingerprint=key_fingerprint,
        changes=changes,
    )
    path = staging / BROWSER_FILE
    before, after = render_browser(data)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(before)
        fh.write(script_safe_json(items_text))
        fh.write(after)
    return path
