"""Admission policies and what they found (family ``policy``).

Read from ``kubectl get ... -o yaml|json`` exports (single objects, multi-document
YAML, ``kind: List`` or a list without ``kind``):

- **Policy reports** (``wgpolicyk8s.io`` ``PolicyReport``/``ClusterPolicyReport``,
  v1alpha1/v1alpha2/v1beta1, and ``openreports.io`` ``Report``/``ClusterReport``):
  one ``admission_results`` row per result and resource. The resource is the
  result's own ``resources[]`` (older Kyverno, adapters), else the report's
  ``scope`` (Kyverno 1.11+), else its controlling owner reference (the Trivy
  adapter). A result without ``result`` is stored as ``unknown``; a ``summary``
  that disagrees with the results is reported as a note, never trusted.
- **Gatekeeper constraints** (group ``constraints.gatekeeper.sh``): the constraint
  goes to ``admission_policies`` (its ``enforcementAction``, match, and audit
  totals) and each ``status.violations[]`` entry to ``admission_results``. The
  list is capped by Gatekeeper: when ``totalViolations`` exceeds it, a note says so.
- **Kyverno policies** (``kyverno.io`` ``ClusterPolicy``/``Policy``): one
  ``admission_policies`` row per validate or verifyImages rule, with the rule's
  ``failureAction``, else the policy's ``validationFailureAction``, else
  Kyverno's default, Audit.
- **ValidatingAdmissionPolicy** and its **bindings** (``validationActions``).

Namespace selection: names listed outright (``namespaces``,
``excludedNamespaces``) are kept as globs; a namespace selector on
``kubernetes.io/metadata.name`` is resolved to those names; any other selector
is marked ``selector_unresolved`` so no check counts the policy as covering a
namespace it may not select. A file that also holds other kinds of object is
not this format: kubernetes-objects reads it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from auditkit.ingest.base import (
    Format,
    LoadContext,
    LoadStats,
    Sniff,
    as_dict,
    as_list,
    coerce_rows,
    normalize_severity,
    parse_time,
    text_or_none,
)
from auditkit.safeload import pointer

PARSER_VERSION = "1"
RESULTS = ("pass", "fail", "warn", "error", "skip")
_NAME_LABEL = "kubernetes.io/metadata.name"
_ACTIONS = {
    "enforce": "enforce",
    "audit": "audit",
    "deny": "enforce",
    "dryrun": "dryrun",
    "warn": "warn",
}


def _kind(obj: Any) -> str | None:
    """Which admission object this is, or None."""
    if not isinstance(obj, dict):
        return None
    api, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str):
        return None
    group = api.split("/", 1)[0]
    if group == "wgpolicyk8s.io" and kind in ("PolicyReport", "ClusterPolicyReport"):
        return "report"
    if group == "openreports.io" and kind in ("Report", "ClusterReport"):
        return "report"
    if group == "constraints.gatekeeper.sh":
        return "gatekeeper"
    if group == "kyverno.io" and kind in ("ClusterPolicy", "Policy"):
        return "kyverno"
    if group == "admissionregistration.k8s.io" and kind in (
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ):
        return "vap"
    return None


def _is_list(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("items"), list) and _kind(doc) is None


def _documents(sniff: Sniff) -> list[tuple[str, Any]]:
    if sniff.shape == "yaml":
        return [(f"doc:{n}#", doc) for n, doc in sniff.document]
    return [("#", sniff.document)]


def _objects(sniff: Sniff) -> Iterator[tuple[str, Any]]:
    for prefix, doc in _documents(sniff):
        if _is_list(doc):
            for i, item in enumerate(doc["items"]):
                yield prefix + pointer("items", i), item
        elif doc is not None:
            yield prefix, doc


def _matches(sniff: Sniff) -> bool:
    if sniff.shape not in ("yaml", "json-document"):
        return False
    kinds = [_kind(obj) for _, obj in _objects(sniff)]
    return bool(kinds) and all(k is not None for k in kinds)


# -- shared helpers -----------------------------------------------------------------


def _strs(value: Any) -> list[str]:
    return [v for v in as_list(value) if isinstance(v, str)]


def _selector(selector: Any) -> tuple[list[str] | None, list[str], bool]:
    """(namespaces it selects or None for any, namespaces it excludes, unresolved)."""
    sel = as_dict(selector)
    if not sel:
        return None, [], False
    include: list[str] | None = None
    exclude: list[str] = []
    labels = as_dict(sel.get("matchLabels"))
    for key, value in labels.items():
        if key != _NAME_LABEL or not isinstance(value, str):
            return None, [], True
        include = [value]
    for expr in as_list(sel.get("matchExpressions")):
        expr = as_dict(expr)
        if expr.get("key") != _NAME_LABEL:
            return None, [], True
        values = _strs(expr.get("values"))
        if expr.get("operator") == "In":
            include = values if include is None else [v for v in include if v in values]
        elif expr.get("operator") == "NotIn":
            exclude += values
        else:
            return None, [], True
    return include, exclude, False


def _action(raw: Any) -> str | None:
    return _ACTIONS.get(raw.lower()) if isinstance(raw, str) else None


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return as_dict(obj.get("metadata"))


def _bad_time(value: Any, parsed: dt.datetime | None) -> bool:
    """A time that is present but no time (read as NULL it would drop out of every window)."""
    if value in (None, "", {}) or str(value).startswith("0001-01-01"):  # Go's "not set"
        return False
    return parsed is None


def _timestamp(value: Any) -> dt.datetime | None:
    """A policy-report ``timestamp {seconds, nanos}`` (nanos may be negative)."""
    stamp = as_dict(value)
    seconds = stamp.get("seconds")
    if isinstance(seconds, str) and seconds.lstrip("-").isdigit():
        seconds = int(seconds)
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return parse_time(value) if isinstance(value, str) else None
    raw_nanos = stamp.get("nanos")
    nanos = raw_nanos if isinstance(raw_nanos, int) and not isinstance(raw_nanos, bool) else 0
    try:
        return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds, microseconds=nanos / 1000)
    except OverflowError:
        return None


class _Rows:
    """Rows for the two tables, with the time range they cover."""

    def __init__(self, ctx: LoadContext) -> None:
        self.ctx = ctx
        self.policies: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []
        self.stats = LoadStats()

    def policy(self, locator: str, **fields: Any) -> None:
        row: dict[str, Any] = {"source_sha256": self.ctx.source.sha256, "locator": locator}
        row.update(fields)
        row.setdefault("selector_unresolved", False)
        self.policies.append(row)
        self.stats.widen(fields.get("audit_time"))

    def result(self, locator: str, **fields: Any) -> None:
        row: dict[str, Any] = {"source_sha256": self.ctx.source.sha256, "locator": locator}
        row.update(fields)
        self.results.append(row)
        self.stats.widen(fields.get("result_time") or fields.get("report_time"))

    def flush(self) -> LoadStats:
        con = self.ctx.con
        stored = self.ctx.insert_rows(
            "admission_policies", coerce_rows(con, "admission_policies", self.policies)
        )
        stored += self.ctx.insert_rows(
            "admission_results", coerce_rows(con, "admission_results", self.results)
        )
        self.stats.stored = stored
        return self.stats


# -- policy reports -------------------------------------------------------------------


def _report(rows: _Rows, loc: str, obj: dict[str, Any]) -> None:
    meta = _meta(obj)
    results = obj.get("results")
    if results is not None and not isinstance(results, list):
        rows.ctx.reject(loc + "/results", "results is not a list")
        return
    scope = as_dict(obj.get("scope"))
    owners = [as_dict(o) for o in as_list(meta.get("ownerReferences"))]
    owner = next((o for o in owners if o.get("controller")), owners[0] if owners else {})
    default = scope or owner
    namespace = text_or_none(meta.get("namespace"))
    report_time = parse_time(meta.get("creationTimestamp"))
    if _bad_time(meta.get("creationTimestamp"), report_time):
        rows.ctx.reject(loc + "/metadata/creationTimestamp", "creationTimestamp is not a time")
        return
    counted: dict[str, int] = {}
    for i, result in enumerate(results or []):
        where = loc + pointer("results", i)
        if not isinstance(result, dict):
            rows.ctx.reject(where, "a result is not a mapping")
            continue
        result_time = _timestamp(result.get("timestamp"))
        if _bad_time(result.get("timestamp"), result_time):
            rows.ctx.reject(where + "/timestamp", "timestamp is not a time")
            continue
        raw = result.get("result")
        outcome = raw.lower() if isinstance(raw, str) and raw.lower() in RESULTS else "unknown"
        counted[outcome] = counted.get(outcome, 0) + 1
        resources = [as_dict(r) for r in as_list(result.get("resources"))]
        targets = [(where + pointer("resources", j), r) for j, r in enumerate(resources)] or [
            (where, default)
        ]
        engine = text_or_none(result.get("source")) or text_or_none(obj.get("source"))
        properties = as_dict(result.get("properties"))
        for target_loc, target in targets:
            rows.result(
                target_loc,
                engine=(engine or "unknown").lower(),
                origin="policy-report",
                report_name=text_or_none(meta.get("name")),
                policy=text_or_none(result.get("policy")),
                rule=text_or_none(result.get("rule")),
                result=outcome,
                result_raw=raw if isinstance(raw, str) else None,
                severity=normalize_severity(result.get("severity")),
                category=text_or_none(result.get("category")),
                message=text_or_none(result.get("message")),
                resource_api_version=text_or_none(target.get("apiVersion")),
                resource_kind=text_or_none(target.get("kind")),
                resource_namespace=text_or_none(target.get("namespace")) or namespace,
                resource_name=text_or_none(target.get("name")),
                resource_uid=text_or_none(target.get("uid")),
                result_time=result_time,
                report_time=report_time,
                properties=json.dumps(properties, sort_keys=True) if properties else None,
            )
    summary = as_dict(obj.get("summary"))
    claimed = {k: v for k in RESULTS if isinstance(v := summary.get(k), int) and v}
    actual = {k: v for k, v in counted.items() if k in RESULTS}
    if summary and claimed != actual:
        rows.stats.notes.append(
            f"{loc}: the report's summary ({_counts(claimed)}) differs from its results "
            f"({_counts(counted)}); the results are stored"
        )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


# -- Gatekeeper -----------------------------------------------------------------------


def _gatekeeper(rows: _Rows, loc: str, obj: dict[str, Any]) -> None:
    meta = _meta(obj)
    name = text_or_none(meta.get("name"))
    if name is None:
        rows.ctx.reject(loc, "constraint without metadata.name")
        return
    kind = str(obj["kind"])
    status = as_dict(obj.get("status"))
    violations = status.get("violations")
    if violations is not None and not isinstance(violations, list):
        rows.ctx.reject(loc + "/status/violations", "violations is not a list")
        return
    violations = violations or []
    audit_time = parse_time(status.get("auditTimestamp"))
    if _bad_time(status.get("auditTimestamp"), audit_time):
        rows.ctx.reject(loc + "/status/auditTimestamp", "auditTimestamp is not a time")
        return
    spec = obj.get("spec")
    if isinstance(spec, dict):
        raw = spec.get("enforcementAction", "deny")  # Gatekeeper's default
    else:  # spec elided: the violations say what the action was, if they agree
        seen = {as_dict(v).get("enforcementAction") for v in violations}
        raw = seen.pop() if len(seen) == 1 else None
    match = as_dict(as_dict(spec).get("match"))
    include, exclude, unresolved = _selector(match.get("namespaceSelector"))
    listed = _strs(match.get("namespaces"))
    total = status.get("totalViolations")
    rows.policy(
        loc,
        engine="gatekeeper",
        kind=kind,
        name=name,
        action=_action(raw),
        action_raw=raw if isinstance(raw, str) else None,
        match_namespaces=listed or include,
        exclude_namespaces=_strs(match.get("excludedNamespaces")) + exclude,
        match_kinds=[k for m in as_list(match.get("kinds")) for k in _strs(as_dict(m).get("kinds"))]
        or None,
        selector_unresolved=unresolved,
        total_violations=total if isinstance(total, int) else None,
        listed_violations=len(violations),
        audit_time=audit_time,
        created_at=parse_time(meta.get("creationTimestamp")),
    )
    if isinstance(total, int) and total > len(violations):
        rows.stats.notes.append(
            f"{loc}: {kind}/{name} reports {total} violations but lists {len(violations)} "
            "(Gatekeeper caps the list); the rest are not in the export"
        )
    severity = as_dict(meta.get("labels")).get("severity")
    for i, violation in enumerate(violations):
        where = loc + pointer("status", "violations", i)
        if not isinstance(violation, dict):
            rows.ctx.reject(where, "a violation is not a mapping")
            continue
        group, version = violation.get("group") or "", violation.get("version")
        action = violation.get("enforcementAction")
        rows.result(
            where,
            engine="gatekeeper",
            origin="gatekeeper-audit",
            report_name=f"{kind}/{name}",
            policy=name,
            category=kind,
            result="fail",
            result_raw="violation",
            action=_action(action),
            severity=normalize_severity(severity),
            message=text_or_none(violation.get("message")),
            resource_api_version=f"{group}/{version}" if group else text_or_none(version),
            resource_kind=text_or_none(violation.get("kind")),
            resource_namespace=text_or_none(violation.get("namespace")),
            resource_name=text_or_none(violation.get("name")),
            result_time=audit_time,
            properties=json.dumps({"enforcementAction": action}) if action else None,
        )


# -- Kyverno policies and ValidatingAdmissionPolicy ----------------------------------


def _kyverno_match(block: Any) -> tuple[list[str], list[str], bool]:
    """Namespaces, kinds and 'selector unresolved' of a Kyverno match/exclude block."""
    block = as_dict(block)
    filters = [as_dict(f) for f in as_list(block.get("any")) + as_list(block.get("all"))]
    if "resources" in block:
        filters.append(block)
    names: list[str] = []
    kinds: list[str] = []
    unresolved = False
    for f in filters:
        res = as_dict(f.get("resources"))
        names += _strs(res.get("namespaces"))
        kinds += _strs(res.get("kinds"))
        include, _, open_selector = _selector(res.get("namespaceSelector"))
        names += include or []
        unresolved = unresolved or open_selector
    return names, kinds, unresolved


def _kyverno(rows: _Rows, loc: str, obj: dict[str, Any]) -> None:
    meta = _meta(obj)
    name = text_or_none(meta.get("name"))
    spec = obj.get("spec")
    if name is None or not isinstance(spec, dict):
        rows.ctx.reject(loc, "Kyverno policy without metadata.name or spec")
        return
    rules = spec.get("rules")
    if not isinstance(rules, list):
        rows.ctx.reject(loc + "/spec/rules", "spec.rules is not a list")
        return
    namespace = text_or_none(meta.get("namespace")) if obj["kind"] == "Policy" else None
    default = spec.get("validationFailureAction", "Audit")  # Kyverno's default
    overrides = spec.get("validationFailureActionOverrides")
    created = parse_time(meta.get("creationTimestamp"))
    found = False
    for i, rule in enumerate(rules):
        rule = as_dict(rule)
        check = rule.get("validate") if "validate" in rule else rule.get("verifyImages")
        if check is None:
            continue  # mutate / generate rules enforce nothing at admission
        found = True
        raw = (as_dict(check).get("failureAction") if isinstance(check, dict) else None) or default
        names, kinds, unresolved = _kyverno_match(rule.get("match"))
        excluded, _, _ = _kyverno_match(rule.get("exclude"))
        rows.policy(
            loc + pointer("spec", "rules", i),
            engine="kyverno",
            kind=obj["kind"],
            namespace=namespace,
            name=name,
            rule=text_or_none(rule.get("name")),
            action=_action(raw),
            action_raw=raw if isinstance(raw, str) else None,
            match_namespaces=[namespace] if namespace else (names or None),
            exclude_namespaces=excluded,
            match_kinds=kinds or None,
            namespace_overrides=json.dumps(overrides)
            if isinstance(overrides, list) and overrides
            else None,
            selector_unresolved=unresolved and not names,
            created_at=created,
        )
    if not found:
        rows.policy(
            loc,
            engine="kyverno",
            kind=obj["kind"],
            namespace=namespace,
            name=name,
            created_at=created,
        )


def _vap(rows: _Rows, loc: str, obj: dict[str, Any]) -> None:
    meta = _meta(obj)
    name = text_or_none(meta.get("name"))
    spec = as_dict(obj.get("spec"))
    if name is None:
        rows.ctx.reject(loc, f"{obj['kind']} without metadata.name")
        return
    created = parse_time(meta.get("creationTimestamp"))
    if obj["kind"] == "ValidatingAdmissionPolicy":
        rows.policy(
            loc,
            engine="validating-admission-policy",
            kind=obj["kind"],
            name=name,
            created_at=created,
        )
        return
    actions = _strs(spec.get("validationActions"))
    action = (
        "enforce"
        if "Deny" in actions
        else "audit"
        if "Audit" in actions
        else "warn"
        if "Warn" in actions
        else None
    )
    include, exclude, unresolved = _selector(
        as_dict(spec.get("matchResources")).get("namespaceSelector")
    )
    rows.policy(
        loc,
        engine="validating-admission-policy",
        kind=obj["kind"],
        name=name,
        rule=text_or_none(spec.get("policyName")),
        action=action,
        action_raw="+".join(actions) or None,
        match_namespaces=include,
        exclude_namespaces=exclude,
        selector_unresolved=unresolved,
        created_at=created,
    )


_READERS = {"report": _report, "gatekeeper": _gatekeeper, "kyverno": _kyverno, "vap": _vap}


def _load(ctx: LoadContext) -> LoadStats:
    rows = _Rows(ctx)
    for loc, obj in _objects(ctx.sniff):
        kind = _kind(obj)
        if kind is None:
            ctx.reject(loc, "not an admission policy, constraint or policy report")
            continue
        _READERS[kind](rows, loc, obj)
    return rows.flush()


FORMATS = [
    Format(
        name="admission-policy",
        family="policy",
        description="Policy reports (wgpolicyk8s.io, openreports.io), Gatekeeper constraints, "
        "Kyverno policies, ValidatingAdmissionPolicy bindings",
        parser_version=PARSER_VERSION,
        matches=_matches,
        load=_load,
        shapes=("yaml", "json-document"),
    )
]
