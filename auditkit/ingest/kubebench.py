"""kube-bench JSON (``kube-bench --json``): CIS Kubernetes Benchmark results.

Accepted shapes: the object ``{Controls: [...], Totals: {...}}`` (default), the
bare array of controls (``--noTotals`` and older releases), and several such
documents pasted one after another (the stdout of several runs).

A record is one ``Controls[].tests[].results[]`` entry (one benchmark check on
one node type), stored in ``config_findings``. Each ``Controls[]`` entry (one
node type's section: master, etcd, controlplane, node, policies) is a ``scans``
row of kind ``cis-benchmark``. ``Totals`` and the per-control ``total_*``
counters are not stored: they can be recomputed from the records, and the
array form often lacks them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from auditkit.errors import InputError
from auditkit.ingest.base import (
    Format,
    LoadContext,
    LoadStats,
    ScanRows,
    Sniff,
    as_dict,
    text_or_none,
)
from auditkit.safeload import loads_json, pointer

PARSER_VERSION = "1"

STATUSES = ("pass", "fail", "warn", "info")


def _is_control(item: Any) -> bool:
    return isinstance(item, dict) and "tests" in item and ("node_type" in item or "id" in item)


def _is_kube_bench(doc: Any) -> bool:
    if isinstance(doc, dict):
        controls = doc.get("Controls")
        return isinstance(controls, list) and (
            "Totals" in doc or (bool(controls) and all(_is_control(c) for c in controls))
        )
    return isinstance(doc, list) and bool(doc) and all(_is_control(c) for c in doc)


def _matches(sniff: Sniff) -> bool:
    if sniff.shape == "json-lines":
        return _is_kube_bench(sniff.first_record)
    return sniff.shape == "json-document" and _is_kube_bench(sniff.document)


def _documents(ctx: LoadContext) -> Iterator[tuple[str, Any]]:
    """(locator prefix, document) for each JSON document in the file."""
    if ctx.sniff.shape == "json-document":
        yield "#", ctx.sniff.document
        return
    text = ctx.source.read_text()
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return
        line = text.count("\n", 0, pos) + 1
        try:
            _, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON: {exc.msg}", path=ctx.source.display, location=f"line:{exc.lineno}"
            ) from None
        # Re-parse strictly (duplicate keys, NaN...) now that the document's extent is known.
        yield (
            f"line:{line}#",
            loads_json(text[pos:end], source=ctx.source.display, line_offset=line - 1),
        )
        pos = end


def _result_row(result: dict[str, Any]) -> dict[str, Any] | str:
    """The config_findings row for one check, or the reason it is malformed."""
    rule = result.get("test_number")
    if not isinstance(rule, str) or not rule:
        return "result without test_number"
    raw = result.get("status")
    status = raw.lower() if isinstance(raw, str) else None
    if status not in STATUSES:
        return f"unknown status {raw!r}"
    scored = result.get("scored")
    return {
        "rule_id": rule,
        "title": text_or_none(result.get("test_desc")),
        "status": status,
        "status_raw": raw,
        "severity": "unknown",  # the CIS benchmark ranks no severities
        "severity_raw": None,
        "target": None,
        "k8s_namespace": None,
        "k8s_kind": None,
        "k8s_name": None,
        "message": text_or_none(result.get("reason")),
        "remediation": text_or_none(result.get("remediation")),
        "scored": scored if isinstance(scored, bool) else None,
        "actual_value": text_or_none(result.get("actual_value")),
        "expected_result": text_or_none(result.get("expected_result")),
    }


def _control(
    ctx: LoadContext, rows: ScanRows, control: Any, where: tuple[str | int, ...], prefix: str
) -> None:
    loc = prefix + pointer(*where)
    if not isinstance(control, dict):
        ctx.reject(loc, "control is not an object")
        return
    name = " ".join(str(control[k]) for k in ("id", "text") if control.get(k) not in (None, ""))
    scan_id = rows.scan(
        loc,
        "cis-benchmark",
        artifact_name=name or None,
        scan_classes=["config"],
        node_type=text_or_none(control.get("node_type")),
        benchmark_version=text_or_none(control.get("version")),
    )
    tests = control.get("tests")
    if not isinstance(tests, list):
        if tests is not None:
            ctx.reject(loc + "/tests", "tests is not a list")
        return
    for t_index, test in enumerate(tests):
        results = as_dict(test).get("results")
        if results is not None and not isinstance(results, list):
            ctx.reject(prefix + pointer(*where, "tests", t_index, "results"), "not a list")
            continue
        for r_index, result in enumerate(results or []):
            r_loc = prefix + pointer(*where, "tests", t_index, "results", r_index)
            row = _result_row(as_dict(result))
            if isinstance(row, str):
                ctx.reject(r_loc, row)
            else:
                rows.add("config_findings", r_loc, scan_id, **row)


def _load(ctx: LoadContext) -> LoadStats:
    rows = ScanRows(ctx, "kube-bench")
    for prefix, doc in _documents(ctx):
        if not _is_kube_bench(doc):
            ctx.reject(prefix, "not a kube-bench document")
            continue
        controls = doc["Controls"] if isinstance(doc, dict) else doc
        base: tuple[str, ...] = ("Controls",) if isinstance(doc, dict) else ()
        for index, control in enumerate(controls):
            _control(ctx, rows, control, (*base, index), prefix)
    return rows.flush()


FORMATS = [
    Format(
        name="kube-bench-json",
        family="scans",
        description="kube-bench JSON (object with Controls/Totals, bare array, or several runs)",
        parser_version=PARSER_VERSION,
        matches=_matches,
        load=_load,
        shapes=("json-document", "json-lines"),
    ),
]
