"""Apply Kubernetes PATCH bodies to a workload object, as the API server would.

Four body types reach the API server with verb ``patch``, and the audit Event
does not record which one (the Content-Type header is not logged):

- JSON patch (RFC 6902): a list of operations. Applied with the ``jsonpatch``
  library, one operation at a time under a size bound.
- JSON merge patch (RFC 7386): maps merge, ``null`` deletes, lists are replaced.
- Strategic merge patch (the default of kubectl for built-in kinds): like a
  merge patch, but the lists below merge element by element on their patch
  merge key, and ``$patch``, ``$retainKeys``, ``$setElementOrder/...`` and
  ``$deleteFromPrimitiveList/...`` directives apply. Only the lists of the
  workload kinds auditkit reads are keyed here (``LIST_KEYS``); any other list
  is replaced, as Kubernetes does for lists without a merge strategy.
- Apply configuration (server-side apply): the fields the manager sets are
  merged in, lists keyed as above. Fields the manager set before and now leaves
  out are removed by the API server; without the object's managedFields that
  cannot be told from fields other managers keep, so the caller compares the
  merged reading with the configuration alone (see ``workload_specs``).

Every function is pure and raises ``PatchError`` (never anything else) when a
body cannot be applied; the input is untrusted audit data. The merge functions
build new maps and lists along the paths they change and share the untouched
parts with their input (nothing is ever modified in place), so a result is at
most as large as its input and the patch together; JSON patch, whose ``copy``
can double a document at every step, works on a deep copy under a size bound.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch

#: Patch merge keys of the lists a workload's pod spec holds (k8s.io/api struct tags).
LIST_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "env": "name",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "resizePolicy": "resourceName",
    "ownerReferences": "uid",
}
#: Lists of scalars that strategic merge unions instead of replacing.
MERGED_SCALAR_LISTS = frozenset({"finalizers"})

MAX_DOCUMENT_BYTES = 3 * 1024 * 1024  # the API server's request limit; etcd stores less
MAX_OPERATIONS = 10_000
_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"
_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


class PatchError(Exception):
    """The body cannot be applied to the object (or is not a patch at all)."""


def json_patch(doc: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """RFC 6902: apply ``ops`` in order; a failing ``test`` or a missing path is an error."""
    if len(ops) > MAX_OPERATIONS:
        raise PatchError(f"more than {MAX_OPERATIONS} operations")
    out: Any = copy.deepcopy(doc)
    for index, op in enumerate(ops):
        if not isinstance(op, dict):
            raise PatchError(f"operation {index} is not an object")
        try:
            out = jsonpatch.JsonPatch([op]).apply(out, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            where = f"{op.get('op')} {op.get('path')}"
            raise PatchError(f"operation {index} ({where}): {exc}") from None
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            raise PatchError(f"operation {index} is malformed: {exc}") from None
        _bounded(out)
    if not isinstance(out, dict):
        raise PatchError("the patch replaces the object with something that is not an object")
    return out


def merge_patch(doc: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def strategic_merge(doc: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Kubernetes strategic merge patch of ``doc`` (keys per ``LIST_KEYS``)."""
    out = _smp_map(doc, patch, apply=False)
    if not isinstance(out, dict):
        raise PatchError("the patch deletes the whole object")
    return out


def apply_merge(doc: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply of ``config`` onto ``doc``, keeping every field ``config`` omits."""
    out = _smp_map(doc, config, apply=True)
    if not isinstance(out, dict):
        raise PatchError("the apply configuration is not an object")
    return out


def has_directives(patch: Any) -> bool:
    """True when the body uses strategic-merge ``$`` directives anywhere."""
    if isinstance(patch, dict):
        return any(
            (isinstance(k, str) and k.startswith("$")) or has_directives(v)
            for k, v in patch.items()
        )
    if isinstance(patch, list):
        return any(has_directives(v) for v in patch)
    return False


def _bounded(doc: Any) -> None:
    if len(json.dumps(doc, separators=(",", ":"))) > MAX_DOCUMENT_BYTES:
        raise PatchError(f"the patched object exceeds {MAX_DOCUMENT_BYTES} bytes")


def _smp_map(doc: Any, patch: dict[str, Any], *, apply: bool) -> Any:
    """Merge ``patch`` into the map ``doc``; returns None when the map is deleted."""
    base: dict[str, Any] = dict(doc) if isinstance(doc, dict) else {}
    if not apply:
        directive = patch.get(_DIRECTIVE)
        if directive == "delete":
            return None
        if directive == "replace":
            return _strip_directives(patch)
        if directive not in (None, "merge"):
            raise PatchError(f"unknown $patch directive {directive!r}")
    retain = patch.get(_RETAIN) if not apply else None
    for key, value in patch.items():
        if not isinstance(key, str):
            raise PatchError("a key is not a string")
        if key.startswith("$"):
            if apply:
                raise PatchError(f"an apply configuration cannot hold {key!r}")
            if key in (_DIRECTIVE, _RETAIN) or key.startswith(_ORDER):
                continue
            if key.startswith(_DELETE_PRIMITIVE):
                field = key[len(_DELETE_PRIMITIVE) :]
                if not isinstance(value, list) or not isinstance(base.get(field, []), list):
                    raise PatchError(f"{key} must name a list")
                base[field] = [v for v in base.get(field, []) if v not in value]
                continue
            raise PatchError(f"unknown directive {key!r}")
        if value is None:
            if not apply:  # in an apply configuration, null leaves the field alone
                base.pop(key, None)
            continue
        current = base.get(key)
        if isinstance(value, dict):
            merged = _smp_map(current, value, apply=apply)
            if merged is None:
                base.pop(key, None)
            else:
                base[key] = merged
        elif isinstance(value, list):
            base[key] = _smp_list(key, current, value, apply=apply)
        else:
            base[key] = value
    if retain is not None:
        if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
            raise PatchError("$retainKeys must be a list of field names")
        base = {k: v for k, v in base.items() if k in retain}
    return base


def _smp_list(field: str, current: Any, patch: list[Any], *, apply: bool) -> list[Any]:
    key = LIST_KEYS.get(field)
    if key is None:
        if field in MERGED_SCALAR_LISTS and not apply:
            items = list(current) if isinstance(current, list) else []
            return items + [v for v in patch if v not in items]
        if not apply and any(isinstance(v, dict) and _DIRECTIVE in v for v in patch):
            return [_strip_directives(v) for v in patch if not _is_directive_item(v)]
        return [_strip_directives(v) for v in patch]
    items = list(current) if isinstance(current, list) else []
    if not apply and any(_is_directive_item(v) and v.get(_DIRECTIVE) == "replace" for v in patch):
        return [_strip_directives(v) for v in patch if not _is_directive_item(v)]
    for element in patch:
        if not isinstance(element, dict) or key not in element:
            raise PatchError(f"an element of {field} has no {key}")
        if _is_directive_item(element):
            raise PatchError(f"a $patch element of {field} names no {key}")
        found = next(
            (i for i, v in enumerate(items) if isinstance(v, dict) and v.get(key) == element[key]),
            None,
        )
        if not apply and element.get(_DIRECTIVE) == "delete":
            if found is not None:
                del items[found]
            continue
        if found is None:
            merged = _smp_map({}, element, apply=apply)
            if merged is not None:
                items.append(merged)
        else:
            merged = _smp_map(items[found], element, apply=apply)
            if merged is None:
                del items[found]
            else:
                items[found] = merged
    return items


def _is_directive_item(value: Any) -> bool:
    return isinstance(value, dict) and _DIRECTIVE in value and len(value) == 1


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if not (isinstance(k, str) and k.startswith("$"))
        }
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value
