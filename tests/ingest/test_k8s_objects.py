"""Kubernetes objects: kubectl typed lists, YAML streams and the access tables."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditkit.errors import MalformedRecordsError
from tests.ingest.conftest import Ingest

MANAGED = [{"manager": "kube-apiserver", "operation": "Update", "fieldsV1": {"f:rules": {}}}]


def cluster_role(name: str, rules: Any, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "creationTimestamp": "2026-01-05T10:00:00Z",
            "resourceVersion": "812",
            "managedFields": MANAGED,
            "labels": {"team": "platform"},
        },
        "rules": rules,
        **extra,
    }


def test_cluster_role_list_from_the_api(ingest: Ingest) -> None:
    doc = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleList",
        "metadata": {"resourceVersion": "9001"},
        "items": [
            cluster_role(
                "pod-reader",
                [
                    {"apiGroups": [""], "resources": ["pods", "pods/exec"], "verbs": ["get"]},
                    {"nonResourceURLs": ["/healthz"], "verbs": ["get"]},
                ],
            ),
            cluster_role(
                "admin",
                None,
                aggregationRule={
                    "clusterRoleSelectors": [
                        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}
                    ]
                },
            ),
        ],
    }
    loaded = ingest(doc, name="clusterroles.json")
    assert (loaded.result.format, loaded.result.stored) == ("kubernetes-objects", 2)
    roles = loaded.table("rbac_roles")
    assert [(r["locator"], r["kind"], r["name"], r["namespace"]) for r in roles] == [
        ("#/items/0", "ClusterRole", "pod-reader", None),
        ("#/items/1", "ClusterRole", "admin", None),
    ]
    assert json.loads(roles[1]["aggregation"])[0]["matchLabels"]
    rules = loaded.table("rbac_rules")
    assert [(r["locator"], r["resources"], r["non_resource_urls"]) for r in rules] == [
        ("#/items/0/rules/0", ["pods", "pods/exec"], None),
        ("#/items/0/rules/1", None, ["/healthz"]),
    ]
    assert rules[0]["api_groups"] == [""]


def test_kubectl_get_o_json_list_of_bindings(ingest: Ingest) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "ci-deploy", "namespace": "payments"},
                "roleRef": {"kind": "ClusterRole", "name": "edit"},
                "subjects": [
                    {"kind": "ServiceAccount", "name": "deployer"},
                    {"kind": "User", "name": "alice@example.com", "apiGroup": "rbac"},
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "system:node"},
                "roleRef": {"kind": "ClusterRole", "name": "system:node"},
            },
        ],
    }
    bindings = ingest(doc, name="bindings.json").table("rbac_bindings")
    assert [
        (b["locator"], b["namespace"], b["subject_kind"], b["subject_principal"]) for b in bindings
    ] == [
        (
            "#/items/0/subjects/0",
            "payments",
            "ServiceAccount",
            "system:serviceaccount:payments:deployer",
        ),
        ("#/items/0/subjects/1", "payments", "User", "alice@example.com"),
        ("#/items/1", None, None, None),  # a binding with no subjects is still recorded
    ]


def test_yaml_stream_with_policies_namespaces_and_secrets(ingest: Ingest) -> None:
    text = """\
apiVersion: v1
kind: Namespace
metadata:
  name: cde
  labels: {pci: "NO"}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: cde}
spec:
  podSelector: {matchLabels: {app: web}}
  egress: [{}]
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: cde}
data: {password: aHVudGVyMg==}
"""
    loaded = ingest(text, name="objects.yaml")
    assert loaded.result.stored == 3
    policy = loaded.table("network_policies")[0]
    assert policy["locator"] == "doc:2#"
    assert policy["policy_types"] == ["Ingress", "Egress"]  # implied by the egress rules
    assert policy["ingress"] is None and json.loads(policy["egress"]) == [{}]
    objects = {o["kind"]: o for o in loaded.table("k8s_objects")}
    assert json.loads(objects["Namespace"]["labels"]) == {"pci": "NO"}  # not False
    assert json.loads(objects["Secret"]["object"])["data"] == "<redacted by auditkit>"


def test_rbac_field_types_are_checked(ingest: Ingest) -> None:
    bad = cluster_role("sloppy", [{"apiGroups": [""], "resources": ["pods"], "verbs": "get"}])
    doc = {"apiVersion": "v1", "kind": "List", "items": [cluster_role("ok", []), bad]}
    with pytest.raises(MalformedRecordsError) as err:
        ingest(doc, name="roles.json")
    assert err.value.bad == [("#/items/1", "ClusterRole: rules[0]: must be a list of strings")]
