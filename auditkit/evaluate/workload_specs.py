"""Replay the changes to one workload's spec that arrived as patches without the result.

``controls/lib/workload_spec_history.sql`` keeps the bulk of the work in DuckDB: it
finds every accepted write to a workload and takes the whole object wherever a
record holds one (the API server's ``responseObject``, a create/update request
body, a dated snapshot). Only workloads with a patch whose result was not logged
reach this module, through the SQL function ``auditkit_replay_workload``: one
call per workload with its records in order, so the work is bounded by those
workloads' own records.

For each patch the function answers with the object after it, or with the reason
the spec is unknown from that point. A patch is applied to the last known object
under every reading the audit record leaves open (the Event does not log the
patch type): JSON patch for a list body; server-side apply when the request says
``force=`` or the body is an apply configuration (``apiVersion``, ``kind``,
``metadata.name``); strategic merge when the body uses ``$`` directives or the
field manager is a client that only sends strategic merge patches for built-in
kinds; otherwise both strategic merge and JSON merge patch. Readings that give an
object the API server would have refused (a container without a name or image)
are dropped. When the remaining readings disagree on what the workload checks
read (``judged_view``), the spec is unknown: auditkit never picks the reading
that happens to pass.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb

from auditkit.evaluate.k8s_patch import (
    PatchError,
    apply_merge,
    has_directives,
    json_patch,
    merge_patch,
    strategic_merge,
)

FUNCTION = "auditkit_replay_workload"

#: Field managers (``?fieldManager=``) whose patches of built-in kinds are always strategic merge.
STRATEGIC_MANAGERS = frozenset(
    {"kubectl-set", "kubectl-rollout", "kubectl-client-side-apply", "kubectl-edit", "helm"}
)

RECORD_TYPE = (
    "STRUCT(rid BIGINT, at_time TIMESTAMP, kind VARCHAR, op VARCHAR, verb VARCHAR, "
    "obj VARCHAR, body VARCHAR, code INTEGER, uri VARCHAR)[]"
)
RESULT_TYPE = (
    "STRUCT(rid BIGINT, changed BOOLEAN, obj VARCHAR, how VARCHAR, "
    "problem VARCHAR, replicas_set BOOLEAN, replicas BIGINT)[]"
)


def pod_spec_path(kind: str) -> tuple[str, ...]:
    """Where a workload object of ``kind`` keeps its pod spec."""
    if kind == "Pod":
        return ("spec",)
    if kind == "CronJob":
        return ("spec", "jobTemplate", "spec", "template", "spec")
    return ("spec", "template", "spec")


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def judged_view(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """What the workload checks read of an object (a superset), for comparing readings."""
    spec = _get(obj, pod_spec_path(kind))
    spec = spec if isinstance(spec, dict) else {}
    containers = []
    for field in ("initContainers", "containers", "ephemeralContainers"):
        items = spec.get(field)
        for c in items if isinstance(items, list) else []:
            if isinstance(c, dict):
                containers.append(
                    {
                        "list": field,
                        "name": c.get("name"),
                        "image": c.get("image"),
                        "securityContext": c.get("securityContext"),
                        "volumeMounts": c.get("volumeMounts"),
                    }
                )
    containers.sort(key=lambda c: (c["list"], json.dumps(c["name"])))
    pod_keys = (
        "securityContext",
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "volumes",
        "serviceAccountName",
        "serviceAccount",
        "automountServiceAccountToken",
    )
    return {
        "containers": containers,
        "pod": {k: spec.get(k) for k in pod_keys},
        "replicas": _get(obj, ("spec", "replicas")) if kind != "Pod" else None,
    }


def _valid(kind: str, obj: dict[str, Any]) -> str | None:
    """Why the API server would have refused ``obj``, or None."""
    spec = _get(obj, pod_spec_path(kind))
    if not isinstance(spec, dict):
        return "it has no pod spec"
    for field in ("containers", "initContainers"):
        items = spec.get(field, [])
        if field == "containers" and not items:
            return "it has no containers"
        if not isinstance(items, list):
            return f"{field} is not a list"
        names = set()
        for c in items:
            if not isinstance(c, dict):
                return f"an entry of {field} is not an object"
            name, image = c.get("name"), c.get("image")
            if not isinstance(name, str) or not name:
                return f"a container in {field} has no name"
            if not isinstance(image, str) or not image:
                return f"container {name} has no image"
            if name in names:
                return f"container {name} appears twice"
            names.add(name)
    return None


def touches(kind: str, body: Any) -> tuple[bool, bool]:
    """(touches the pod spec, touches spec.replicas) for a patch body."""
    spec_path = pod_spec_path(kind)
    replicas_path = ("spec", "replicas") if kind != "Pod" else None
    if isinstance(body, list):
        paths = []
        for op in body:
            if isinstance(op, dict):
                for key in ("path", "from"):
                    if isinstance(op.get(key), str):
                        paths.append(_tokens(op[key]))
            else:
                return True, replicas_path is not None
        return (
            any(_overlaps(p, spec_path) for p in paths),
            replicas_path is not None and any(_overlaps(p, replicas_path) for p in paths),
        )
    return _reaches(body, spec_path), replicas_path is not None and _reaches(body, replicas_path)


def _tokens(ptr: str) -> tuple[str, ...]:
    if ptr in ("", "/"):
        return ()
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in ptr.lstrip("/").split("/"))


def _overlaps(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _reaches(body: Any, path: tuple[str, ...]) -> bool:
    """True when a merge-style body sets, deletes or replaces anything at or below ``path``."""
    node = body
    for part in path:
        if not isinstance(node, dict):
            return True  # null or a scalar replaces the whole subtree
        if any(isinstance(k, str) and k.startswith("$") for k in node):
            return True  # $patch/$retainKeys at an ancestor can drop the subtree
        if part not in node:
            return False
        node = node[part]
    return True


def _readings(
    body: Any, uri: str | None, base: dict[str, Any]
) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    """The patch types the record leaves open, each as (label, thunk applying it)."""
    if isinstance(body, list):
        return [("JSON patch", lambda: json_patch(base, body))]
    if not isinstance(body, dict):
        raise PatchError("the patch body is neither an object nor a list")
    query = parse_qs(urlsplit(uri or "").query)
    manager = (query.get("fieldManager") or [""])[0]
    meta = body.get("metadata")
    is_apply = "force" in query or (
        "apiVersion" in body and "kind" in body and isinstance(meta, dict) and "name" in meta
    )
    if is_apply and not has_directives(body):
        return [
            ("server-side apply", lambda: apply_merge(base, body)),
            ("server-side apply, omitted fields removed", lambda: apply_merge({}, body)),
        ]
    strategic = ("strategic merge patch", lambda: strategic_merge(base, body))
    if has_directives(body) or manager in STRATEGIC_MANAGERS:
        return [strategic]
    return [strategic, ("JSON merge patch", lambda: merge_patch(base, body))]


def _label(manager_uri: str | None) -> str:
    manager = (parse_qs(urlsplit(manager_uri or "").query).get("fieldManager") or [""])[0]
    return f" by field manager {manager}" if manager else ""


def _when(at: Any) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if isinstance(at, dt.datetime) else "an unknown time"


def replay(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replay one workload's records (ordered); one result per record, same order.

    Record ``op``: ``object`` (``obj`` is the whole object), ``patch`` (``body``
    is the patch; ``obj`` is NULL), ``unknown`` (a write whose content was not
    logged), ``delete``.
    """
    state: dict[str, Any] | None = None
    unknown_since: str | None = None  # why the spec became unknown, once it has
    out: list[dict[str, Any]] = []
    for rec in records:
        kind = str(rec.get("kind") or "")
        res: dict[str, Any] = {
            "rid": rec.get("rid"),
            "changed": False,
            "obj": None,
            "how": None,
            "problem": None,
            "replicas_set": False,
            "replicas": None,
        }
        out.append(res)
        op = rec.get("op")
        if op == "object":
            state, unknown_since = _load(rec.get("obj")), None
            continue
        if op == "delete":
            state, unknown_since = None, None
            continue
        if op == "unknown":
            if state is not None or unknown_since is not None:
                unknown_since = unknown_since or (
                    f"the {rec.get('verb') or 'write'} of {_when(rec.get('at_time'))}"
                    f"{_label(rec.get('uri'))}, whose content the audit log does not hold"
                )
                state = None
                res.update(changed=True, problem=f"spec unknown since {unknown_since}")
                res.update(replicas_set=True)
            continue
        body = _load(rec.get("body"))
        spec_touched, replicas_touched = touches(kind, body)
        if not spec_touched and not replicas_touched:
            continue
        try:
            result, how = _apply(kind, body, rec, state)
        except PatchError as exc:
            result, how = None, str(exc)
        if result is not None:
            state, unknown_since = result, None
            res.update(changed=spec_touched, obj=json.dumps(result), how=how)
            replicas = _get(result, ("spec", "replicas"))
            if replicas_touched:
                res.update(
                    replicas_set=True,
                    replicas=replicas if isinstance(replicas, int) else None,
                )
            continue
        if not spec_touched:  # only the replica count moved: read it from the body if it says
            res.update(replicas_set=True, replicas=_replicas_in(body))
            continue
        if unknown_since is None:
            when, manager = _when(rec.get("at_time")), _label(rec.get("uri"))
            unknown_since = f"the patch of {when}{manager} ({how})"
        state = None
        res.update(changed=True, problem=f"spec unknown since {unknown_since}", replicas_set=True)
    return out


def _replicas_in(body: Any) -> int | None:
    """The replica count a body sets, when it says so plainly."""
    value: Any = None
    if isinstance(body, dict):
        value = _get(body, ("spec", "replicas"))
    elif isinstance(body, list):
        for op in body:
            if (
                isinstance(op, dict)
                and op.get("op") in ("add", "replace")
                and op.get("path") == "/spec/replicas"
            ):
                value = op.get("value")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _load(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _apply(
    kind: str, body: Any, rec: dict[str, Any], state: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, str]:
    """(object after the patch, how) or (None, why not)."""
    if body is None:
        return None, "its body is not in the audit log"
    if rec.get("code") == 201 and isinstance(body, dict) and not has_directives(body):
        # A patch answered 201 created the object: server-side apply of a new object.
        created = apply_merge({}, body)
        if _valid(kind, created) is None:
            return created, "object created by server-side apply (response 201)"
    if state is None:
        return None, "no earlier spec on record to apply it to"
    outcomes: list[tuple[str, dict[str, Any]]] = []
    refused: list[str] = []
    errors: list[str] = []
    for label, thunk in _readings(body, rec.get("uri"), state):
        try:
            candidate = thunk()
        except PatchError as exc:
            errors.append(f"as {label}: {exc}")
            continue
        except RecursionError:
            errors.append(f"as {label}: nested too deeply")
            continue
        problem = _valid(kind, candidate)
        if problem is None:
            outcomes.append((label, candidate))
        else:
            refused.append(label)
    if not outcomes:
        why = "; ".join(errors) or "every reading gives an object the API server would refuse"
        return None, f"it cannot be applied to the spec on record: {why}"
    views = (
        {json.dumps(judged_view(kind, o), sort_keys=True) for _, o in outcomes}
        if len(outcomes) > 1
        else set()
    )
    if len(views) > 1:
        if outcomes[0][0] == "server-side apply":
            return None, (
                "a server-side apply that leaves out settings the spec on record has; whether "
                "they were removed depends on field ownership (managedFields), which the audit "
                "log does not hold"
            )
        labels = " and ".join(label for label, _ in outcomes)
        return None, (
            f"the audit log does not record the patch type, and read as {labels} it gives "
            "different settings"
        )
    label = outcomes[0][0]
    if refused:
        label += " (the other readings give an object the API server would refuse)"
    return outcomes[0][1], f"{label} applied to the spec on record"


def _udf(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return replay(records)


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``auditkit_replay_workload(records)`` callable from check and library SQL."""
    try:
        con.remove_function(FUNCTION)  # a connection that evaluated before already has it
    except duckdb.InvalidInputException:
        pass
    con.create_function(
        FUNCTION,
        _udf,
        [con.type(RECORD_TYPE)],
        con.type(RESULT_TYPE),
        side_effects=False,
    )
