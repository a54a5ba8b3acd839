"""Kubernetes objects: RBAC, ServiceAccounts, NetworkPolicies and anything else exported.

Accepts single and multi-document YAML, JSON, ``kind: List`` and typed lists
(``ClusterRoleList``…) from ``kubectl get -o yaml|json``. A record is one
object. Field types are checked (verbs, resources and API groups must be lists
of strings) so a YAML-1.1 surprise never turns into a wrong permission.
``metadata.managedFields`` is dropped and Secret ``data``/``stringData`` never
reach the store. ``snapshot_kinds`` records the kinds a file declares (a typed
list's item kind, also when the list is empty) and holds, so an observed export
with no NetworkPolicy is told apart from no NetworkPolicy export at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from auditkit.ingest.base import Format, LoadContext, LoadStats, Sniff, parse_time
from auditkit.safeload import pointer

PARSER_VERSION = "2"

RBAC_KINDS = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}


def _is_object(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("kind"), str) and "apiVersion" in doc


def _matches(sniff: Sniff) -> bool:
    if sniff.shape == "yaml":
        return any(_is_object(d) for _, d in sniff.document)
    if sniff.shape == "json-document":
        return _is_object(sniff.document)
    return False


def _objects(ctx: LoadContext, declared: dict[str, str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (locator, object), unwrapping lists; typed lists add their item kind."""
    if ctx.sniff.shape == "yaml":
        docs = [(f"doc:{n}#", doc) for n, doc in ctx.sniff.document]
    else:
        docs = [("#", ctx.sniff.document)]
    for prefix, doc in docs:
        if not isinstance(doc, dict):
            ctx.reject(prefix, "document is not a mapping")
            continue
        kind = doc.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and "items" in doc:
            items = doc.get("items") or []
            if not isinstance(items, list):
                ctx.reject(prefix + "/items", "items is not a list")
                continue
            if kind != "List" and "apiVersion" in doc:
                declared.setdefault(kind[: -len("List")], prefix)
            for index, item in enumerate(items):
                yield prefix + pointer("items", index), item
        else:
            yield prefix, doc


def _str_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of strings")
    return list(value)


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise ValueError("metadata is missing")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("metadata.name is missing")
    namespace = meta.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise ValueError("metadata.namespace must be a string")
    return meta


def _clean(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    if out.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if key in out:
                out[key] = "<redacted by auditkit>"
    return out


def _principal(kind: str | None, name: str | None, namespace: str | None) -> str | None:
    if kind == "ServiceAccount" and name:
        return f"system:serviceaccount:{namespace or ''}:{name}"
    return name


def _load(ctx: LoadContext) -> LoadStats:
    sha = ctx.source.sha256
    roles: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []
    accounts: list[dict[str, Any]] = []
    policies: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    stats = LoadStats()
    declared: dict[str, str] = {}
    for loc, obj in _objects(ctx, declared):
        if not _is_object(obj):
            ctx.reject(loc, "not a Kubernetes object (apiVersion and kind required)")
            continue
        kind = obj["kind"]
        try:
            meta = _meta(obj)
            base = {
                "source_sha256": sha,
                "locator": loc,
                "namespace": meta.get("namespace"),
                "name": meta["name"],
                "created_at": parse_time(meta.get("creationTimestamp")),
            }
            if kind in ("Role", "ClusterRole"):
                role_rules = obj.get("rules") or []
                if not isinstance(role_rules, list):
                    raise ValueError("rules must be a list")
                parsed = []
                for index, rule in enumerate(role_rules):
                    if not isinstance(rule, dict):
                        raise ValueError(f"rules[{index}] is not a mapping")
                    try:
                        parsed.append(
                            {
                                "source_sha256": sha,
                                "locator": loc + pointer("rules", index),
                                "role_kind": kind,
                                "role_namespace": meta.get("namespace") if kind == "Role" else None,
                                "role_name": meta["name"],
                                "rule_index": index,
                                "api_groups": _str_list(rule.get("apiGroups")),
                                "resources": _str_list(rule.get("resources")),
                                "verbs": _str_list(rule.get("verbs")) or [],
                                "resource_names": _str_list(rule.get("resourceNames")),
                                "non_resource_urls": _str_list(rule.get("nonResourceURLs")),
                            }
                        )
                    except ValueError as exc:
                        raise ValueError(f"rules[{index}]: {exc}") from None
                rules.extend(parsed)
                labels = meta.get("labels")
                agg = obj.get("aggregationRule")
                roles.append(
                    {
                        **base,
                        "kind": kind,
                        "namespace": meta.get("namespace") if kind == "Role" else None,
                        "labels": json.dumps(labels) if labels is not None else None,
                        "aggregation": json.dumps(agg.get("clusterRoleSelectors"))
                        if isinstance(agg, dict)
                        else None,
                    }
                )
            elif kind in ("RoleBinding", "ClusterRoleBinding"):
                ref = obj.get("roleRef")
                if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
                    raise ValueError("roleRef.name is missing")
                subjects = obj.get("subjects") or []
                if not isinstance(subjects, list):
                    raise ValueError("subjects must be a list")
                ns = meta.get("namespace") if kind == "RoleBinding" else None
                common = {
                    **base,
                    "kind": kind,
                    "namespace": ns,
                    "role_kind": str(ref.get("kind") or "ClusterRole"),
                    "role_name": ref["name"],
                }
                if not subjects:
                    bindings.append(
                        {
                            **common,
                            "subject_kind": None,
                            "subject_name": None,
                            "subject_namespace": None,
                            "subject_principal": None,
                        }
                    )
                for index, subject in enumerate(subjects):
                    if not isinstance(subject, dict) or not isinstance(subject.get("name"), str):
                        raise ValueError(f"subjects[{index}] has no name")
                    s_kind = subject.get("kind")
                    s_ns = subject.get("namespace")
                    if s_kind == "ServiceAccount" and not s_ns:
                        s_ns = ns
                    bindings.append(
                        {
                            **common,
                            "locator": loc + pointer("subjects", index),
                            "subject_kind": s_kind,
                            "subject_name": subject["name"],
                            "subject_namespace": s_ns,
                            "subject_principal": _principal(s_kind, subject["name"], s_ns),
                        }
                    )
            elif kind == "ServiceAccount":
                automount = obj.get("automountServiceAccountToken")
                secrets = obj.get("secrets") or []
                accounts.append(
                    {
                        **base,
                        "namespace": meta.get("namespace") or "default",
                        "automount": automount if isinstance(automount, bool) else None,
                        "secrets": [
                            s.get("name")
                            for s in secrets
                            if isinstance(s, dict) and isinstance(s.get("name"), str)
                        ]
                        if isinstance(secrets, list)
                        else None,
                    }
                )
            elif kind == "NetworkPolicy":
                spec = obj.get("spec")
                if not isinstance(spec, dict):
                    raise ValueError("spec is missing")
                types = _str_list(spec.get("policyTypes"))
                if not types:
                    types = ["Ingress"] + (["Egress"] if "egress" in spec else [])
                policies.append(
                    {
                        **base,
                        "pod_selector": json.dumps(spec.get("podSelector") or {}),
                        "policy_types": types,
                        "ingress": json.dumps(spec["ingress"]) if "ingress" in spec else None,
                        "egress": json.dumps(spec["egress"]) if "egress" in spec else None,
                    }
                )
            else:
                labels = meta.get("labels")
                others.append(
                    {
                        "source_sha256": sha,
                        "locator": loc,
                        "api_version": str(obj.get("apiVersion")),
                        "kind": kind,
                        "namespace": meta.get("namespace"),
                        "name": meta["name"],
                        "labels": json.dumps(labels) if labels is not None else None,
                        "object": json.dumps(_clean(obj)),
                    }
                )
        except ValueError as exc:
            ctx.reject(loc, f"{kind}: {exc}")
            continue
        declared.setdefault(kind, loc)
        stats.stored += 1
        stats.widen(base["created_at"])
    ctx.insert_rows("rbac_roles", roles)
    ctx.insert_rows("rbac_rules", rules)
    ctx.insert_rows("rbac_bindings", bindings)
    ctx.insert_rows("service_accounts", accounts)
    ctx.insert_rows("network_policies", policies)
    ctx.insert_rows("k8s_objects", others)
    ctx.insert_rows(
        "snapshot_kinds",
        [{"source_sha256": sha, "locator": loc, "kind": k} for k, loc in sorted(declared.items())],
    )
    return stats


FORMATS = [
    Format(
        name="kubernetes-objects",
        family="access",
        description="Kubernetes objects (RBAC, ServiceAccounts, NetworkPolicies, others)",
        parser_version=PARSER_VERSION,
        matches=_matches,
        load=_load,
        shapes=("yaml", "json-document"),
    )
]
