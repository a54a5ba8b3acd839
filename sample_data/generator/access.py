"""Access configuration: RBAC export, NetworkPolicies and the user inventory.

Written once per quarterly export, as the platform exported it on that date, under
``access/<date>/`` (the folder name is the observation date a tool ingests it with):
bindings created later or removed earlier are absent, users created later are absent,
and sign-ins, statuses and service-account last use are as of that day.
"""

from __future__ import annotations

import csv
import io

from . import rbac
from .util import Output, compact_json, k8s_yaml, sha256_hex, stable_uuid
from .world import (
    ACCESS_SNAPSHOTS,
    ALL_NAMESPACES,
    CLUSTER_CREATED,
    INVENTORY_AT,
    PEOPLE,
    SERVICE_ACCOUNTS,
    SHARED_ADMIN,
)


def _rv(*parts: object) -> str:
    return str(1_000_000 + int(sha256_hex("rv", *parts)[:7], 16) % 90_000_000)


def _meta(kind: str, name: str, namespace: str, created: str, labels: dict | None = None,
          annotations: dict | None = None, managed: list | None = None) -> dict:
    meta: dict = {}
    if annotations:
        meta["annotations"] = annotations
    meta["creationTimestamp"] = created
    if labels:
        meta["labels"] = labels
    if managed:
        meta["managedFields"] = managed
    meta["name"] = name
    if namespace:
        meta["namespace"] = namespace
    meta["resourceVersion"] = _rv(kind, namespace, name)
    meta["uid"] = stable_uuid("obj", kind, namespace, name)
    return meta


def _managed(manager: str, operation: str, time: str, fields: dict) -> list:
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "fieldsType": "FieldsV1",
             "fieldsV1": fields, "manager": manager, "operation": operation, "time": time}]


BINDING_FIELDS = {"f:roleRef": {}, "f:subjects": {}}
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
BOOTSTRAP_ANN = {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def cluster_role_items() -> list[dict]:
    items = []
    for name in sorted(rbac.CLUSTER_ROLES):
        spec = rbac.CLUSTER_ROLES[name]
        boot = spec.get("bootstrap", False)
        labels = dict(BOOTSTRAP_LABELS) if boot else {"app.kubernetes.io/managed-by": "argocd"}
        if name in ("edit", "view"):
            labels[{"edit": "rbac.authorization.k8s.io/aggregate-to-admin",
                    "view": "rbac.authorization.k8s.io/aggregate-to-edit"}[name]] = "true"
        item: dict = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole"}
        if spec.get("aggregate"):
            item["aggregationRule"] = {"clusterRoleSelectors": [
                {"matchLabels": {spec["aggregate"]: "true"}}]}
        created = CLUSTER_CREATED if boot else "2025-03-06T10:00:12Z"
        if name == "northwind-breakglass":
            created = "2026-01-15T14:21:40Z"
        if name == "argocd-manager-role":
            created = "2025-03-05T16:40:01Z"
        item["metadata"] = _meta("ClusterRole", name, "", created, labels,
                                 BOOTSTRAP_ANN if boot else None)
        item["rules"] = spec["rules"]
        items.append(item)
    return items


def role_items() -> list[dict]:
    items = []
    for (ns, name) in sorted(rbac.ROLES):
        items.append({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta("Role", name, ns, "2025-03-12T08:58:20Z",
                              {"app.kubernetes.io/managed-by": "Helm"},
                              {"meta.helm.sh/release-name": ns,
                               "meta.helm.sh/release-namespace": ns}),
            "rules": spec_rules(rbac.ROLES[(ns, name)]),
        })
    return items


def spec_rules(spec: dict) -> list:
    return spec["rules"]


def binding_item(b: rbac.Binding) -> dict:
    boot = b.name in ("cluster-admin", "system:public-info-viewer", "system:discovery",
                      "system:basic-user")
    managed = None
    annotations = BOOTSTRAP_ANN if boot else None
    if b.created_by in ("bob", "henry", "kubernetes-admin"):
        managed = _managed("kubectl-create", "Update", b.created, BINDING_FIELDS)
    elif b.created_by == "argocd-manager":
        managed = _managed("argocd-controller", "Apply", b.created, BINDING_FIELDS)
    labels = BOOTSTRAP_LABELS if boot else None
    if b.name == "payments-default-edit":
        annotations = {"kubectl.kubernetes.io/last-applied-configuration": compact_json({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"annotations": {}, "name": b.name, "namespace": b.namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "edit"},
            "subjects": [{"kind": "ServiceAccount", "name": "default",
                          "namespace": "payments"}]}) + "\n"}
        managed = _managed("kubectl-client-side-apply", "Update", b.created, BINDING_FIELDS)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": b.kind,
        "metadata": _meta(b.kind, b.name, b.namespace, b.created, labels, annotations, managed),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": b.role_kind, "name": b.role},
        "subjects": [s.as_dict() for s in b.subjects],
    }


KUBE_SYSTEM_SAS = ["argocd-manager", "aws-node", "coredns", "daemon-set-controller",
                   "deployment-controller", "ebs-csi-controller-sa", "generic-garbage-collector",
                   "job-controller", "kube-proxy", "namespace-controller", "replicaset-controller",
                   "statefulset-controller"]


def service_account_items() -> list[dict]:
    names: dict[tuple[str, str], str] = {}
    for ns in ALL_NAMESPACES:
        names[(ns, "default")] = CLUSTER_CREATED
    for s in SERVICE_ACCOUNTS:
        names[(s.namespace, s.name)] = s.created + "T09:00:00Z"
    for n in KUBE_SYSTEM_SAS:
        names.setdefault(("kube-system", n), CLUSTER_CREATED)
    items = []
    for (ns, name) in sorted(names):
        item: dict = {"apiVersion": "v1", "kind": "ServiceAccount",
                      "metadata": _meta("ServiceAccount", name, ns, names[(ns, name)])}
        if name in ("argocd-manager", "report-exporter"):
            item["secrets"] = [{"name": f"{name}-token-{sha256_hex('tok', name)[:5]}"}]
        if ns in ("monitoring", "logging", "falco") and name == "default":
            item["automountServiceAccountToken"] = False
        items.append(item)
    return items


def kind_list(items: list[dict]) -> dict:
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


def write_rbac(out: Output, date: str) -> None:
    live = rbac.bindings_at(date)
    items = (cluster_role_items()
             + [binding_item(b) for b in sorted(live, key=lambda b: b.name)
                if b.kind == "ClusterRoleBinding"]
             + role_items()
             + [binding_item(b) for b in sorted(live, key=lambda b: (b.namespace, b.name))
                if b.kind == "RoleBinding"]
             + service_account_items())
    out.write_text(f"access/{date}/rbac/prod-eu1-rbac-{date}.yaml", k8s_yaml(kind_list(items)),
                   "k8s-yaml-list", len(items),
                   note="kubectl get clusterroles,clusterrolebindings,roles,rolebindings,"
                        "serviceaccounts -A -o yaml --show-managed-fields")
    # The GitOps source of the CDE namespaces' RBAC: a multi-document YAML stream.
    docs = []
    for (ns, name) in sorted(rbac.ROLES):
        if ns not in ("payments", "card-vault"):
            continue
        docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                     "metadata": {"name": name, "namespace": ns},
                     "rules": rbac.ROLES[(ns, name)]["rules"]})
    for b in sorted(live, key=lambda b: (b.namespace, b.name)):
        if b.namespace in ("payments", "card-vault"):
            docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": b.kind,
                         "metadata": {"name": b.name, "namespace": b.namespace},
                         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": b.role_kind,
                                     "name": b.role},
                         "subjects": [s.as_dict() for s in b.subjects]})
    text = "# Source: platform-config/clusters/prod-eu1/cde-rbac.yaml (rendered by Helm)\n"
    text += "".join("---\n" + k8s_yaml(d) for d in docs)
    out.write_text(f"access/{date}/rbac/cde-namespaces-rbac.yaml", text, "k8s-yaml-multidoc",
                   len(docs))


# --------------------------------------------------------------------------- NetworkPolicy


def _ns_sel(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _ports(*pairs) -> list[dict]:
    return [{"port": port, "protocol": proto} for port, proto in pairs]


def network_policies() -> list[dict]:
    def pol(ns, name, selector, types, ingress=None, egress=None, created="2025-03-12T09:10:00Z"):
        spec: dict = {"podSelector": selector, "policyTypes": types}
        if ingress is not None:
            spec["ingress"] = ingress
        if egress is not None:
            spec["egress"] = egress
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta("NetworkPolicy", name, ns, created,
                              {"app.kubernetes.io/managed-by": "Helm"},
                              {"meta.helm.sh/release-name": f"{ns}-network",
                               "meta.helm.sh/release-namespace": ns}),
            "spec": spec,
        }

    app = lambda name: {"matchLabels": {"app": name}}  # noqa: E731
    return [
        pol("card-vault", "allow-from-payments", app("card-vault"), ["Ingress"],
            ingress=[{"from": [_ns_sel("payments")], "ports": _ports((8200, "TCP"))}]),
        # Over-broad: any namespace may reach the card data store (lets checkout-web in).
        pol("card-vault", "allow-postgres", app("card-vault-db"), ["Ingress"],
            ingress=[{"from": [{"namespaceSelector": {}}], "ports": _ports((5432, "TCP"))}],
            created="2026-06-08T16:12:40Z"),
        pol("card-vault", "allow-prometheus-scrape", {}, ["Ingress"],
            ingress=[{"from": [dict(_ns_sel("monitoring"), podSelector={
                "matchLabels": {"app.kubernetes.io/name": "prometheus"}})],
                      "ports": _ports((9090, "TCP"))}]),
        # Ingress-only default deny: egress from card-vault is unrestricted.
        pol("card-vault", "default-deny-ingress", {}, ["Ingress"]),
        pol("payments", "allow-cache-from-api", app("payments-cache"), ["Ingress"],
            ingress=[{"from": [{"podSelector": app("payments-api")}],
                      "ports": _ports((6379, "TCP"))}]),
        pol("payments", "allow-checkout-web-ingress", app("payments-api"), ["Ingress"],
            ingress=[{"from": [dict(_ns_sel("checkout-web"), podSelector=app("checkout-web"))],
                      "ports": _ports((8443, "TCP"))}]),
        pol("payments", "allow-egress-acquirer", app("payments-api"), ["Egress"],
            egress=[{"ports": _ports((443, "TCP")),
                     "to": [{"ipBlock": {"cidr": "198.51.100.10/32"}}]}]),
        pol("payments", "allow-egress-dns", {}, ["Egress"],
            egress=[{"ports": _ports((53, "UDP"), (53, "TCP")),
                     "to": [dict(_ns_sel("kube-system"),
                                 podSelector={"matchLabels": {"k8s-app": "kube-dns"}})]}]),
        pol("payments", "allow-egress-internal", app("payments-api"), ["Egress"],
            egress=[{"ports": _ports((5432, "TCP"), (8200, "TCP")), "to": [_ns_sel("card-vault")]},
                    {"ports": _ports((6379, "TCP")),
                     "to": [{"podSelector": app("payments-cache")}]}]),
        pol("payments", "allow-prometheus-scrape", {}, ["Ingress"],
            ingress=[{"from": [dict(_ns_sel("monitoring"), podSelector={
                "matchLabels": {"app.kubernetes.io/name": "prometheus"}})],
                      "ports": _ports((9090, "TCP"))}]),
        pol("payments", "default-deny-all", {}, ["Ingress", "Egress"]),
        # Added by Argo CD on 2026-07-08 after the Q2 internal review: nothing may connect to
        # the monitoring pods (Prometheus only scrapes out). Egress stays open.
        pol("monitoring", "default-deny-ingress", {}, ["Ingress"],
            created="2026-07-08T14:20:03Z"),
    ]


def write_network_policies(out: Output, date: str) -> None:
    # No policy was changed after its creation, so an export holds those created by then.
    items = [p for p in network_policies() if p["metadata"]["creationTimestamp"][:10] <= date]
    out.write_text(f"access/{date}/networkpolicy/prod-eu1-networkpolicies-{date}.yaml",
                   k8s_yaml(kind_list(items)), "k8s-yaml-list", len(items),
                   note="kubectl get networkpolicies -A -o yaml")


# --------------------------------------------------------------------------- users.csv

HEADER = ["user_id", "name", "type", "status", "mfa", "last_login", "created", "terminated",
          "role", "k8s_username"]


def write_users(out: Output, date: str, last_seen: dict[str, str]) -> None:
    """The IdP/HR inventory on ``date``; service-account last_login is their last API use."""
    changes = INVENTORY_AT.get(date, {})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    rows = 0
    for p in PEOPLE:
        if p.created > date:
            continue
        row = {"status": p.status, "mfa": p.mfa, "last_login": p.last_login,
               "terminated": p.terminated}
        row.update(changes.get(p.key, {}))
        w.writerow([p.user_id, p.name, "human", row["status"], "true" if row["mfa"] else "false",
                    row["last_login"], p.created, row["terminated"], p.role, p.username])
        rows += 1
    admin = {"status": "active", "last_login": SHARED_ADMIN["last_login"]}
    admin.update(changes.get(SHARED_ADMIN["user_id"], {}))
    w.writerow([SHARED_ADMIN["user_id"], SHARED_ADMIN["name"], "human", admin["status"], "false",
                admin["last_login"], SHARED_ADMIN["created"], "", "platform-engineer",
                SHARED_ADMIN["username"]])
    rows += 1
    for s in SERVICE_ACCOUNTS:
        if not s.inventory or s.created > date:
            continue
        w.writerow([s.user_id, s.description, "service", "active", "false",
                    last_seen.get(s.username, ""), s.created, "", s.role, s.username])
        rows += 1
    out.write_text(f"access/{date}/users.csv", buf.getvalue(), "users-csv", rows)


def write_all(out: Output, last_seen: dict[str, dict[str, str]]) -> None:
    """One export per snapshot date; ``last_seen[date]``: last API use up to that day."""
    for date in ACCESS_SNAPSHOTS:
        write_rbac(out, date)
        write_network_policies(out, date)
        write_users(out, date, last_seen[date])
