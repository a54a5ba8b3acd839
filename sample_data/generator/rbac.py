"""Roles and bindings of prod-eu1 over the generated history.

Every binding carries its creation and (when it was removed) deletion time, so
each quarterly export (``bindings_at``) holds exactly the bindings live on its
date. The audit log names these bindings in ``authorization.k8s.io/reason``
exactly as the RBAC authorizer does, so "which grants were used in the period"
can be derived from the log and compared with the export in force.
"""

from __future__ import annotations

from dataclasses import dataclass

from .world import PERSON, SA

RBAC_GROUP = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class Subject:
    kind: str  # User | Group | ServiceAccount
    name: str
    namespace: str = ""

    def as_dict(self) -> dict:
        if self.kind == "ServiceAccount":
            return {"kind": "ServiceAccount", "name": self.name, "namespace": self.namespace}
        return {"apiGroup": RBAC_GROUP, "kind": self.kind, "name": self.name}

    def describe(self, binding_ns: str = "") -> str:
        """The subject as the RBAC authorizer prints it."""
        if self.kind == "ServiceAccount":
            return f'ServiceAccount "{self.name}/{self.namespace or binding_ns}"'
        return f'{self.kind} "{self.name}"'


@dataclass(frozen=True)
class Binding:
    kind: str  # ClusterRoleBinding | RoleBinding
    name: str
    namespace: str  # "" for ClusterRoleBinding
    role_kind: str  # ClusterRole | Role
    role: str
    subjects: tuple[Subject, ...]
    created: str
    created_by: str = ""  # who created it (for the story; audit events exist for Q2/Q3 ones)
    deleted: str = ""  # when it was removed ("" = still live at the last export)

    def live_at(self, iso: str) -> bool:
        """In an export taken at ``iso`` (an ISO date or datetime)."""
        return self.created[:len(iso)] <= iso and not (self.deleted and
                                                        self.deleted[:len(iso)] <= iso)

    def reason(self, subject: Subject) -> str:
        if self.kind == "ClusterRoleBinding":
            return (f'RBAC: allowed by ClusterRoleBinding "{self.name}" of {self.role_kind} '
                    f'"{self.role}" to {subject.describe()}')
        return (f'RBAC: allowed by RoleBinding "{self.name}/{self.namespace}" of {self.role_kind} '
                f'"{self.role}" to {subject.describe(self.namespace)}')


def user(key: str) -> Subject:
    return Subject("User", PERSON[key].username)


def group(name: str) -> Subject:
    return Subject("Group", name)


def sa(key: str) -> Subject:
    s = SA[key]
    return Subject("ServiceAccount", s.name, s.namespace)


def rule(groups, resources, verbs, names=None) -> dict:
    out = {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs)}
    if names:
        out["resourceNames"] = list(names)
    return out


READ = ["get", "list", "watch"]
ALL_VERBS = ["*"]

# name -> (rules, labels, aggregation selector or None)
CLUSTER_ROLES: dict[str, dict] = {
    "cluster-admin": {
        "rules": [rule(["*"], ["*"], ["*"]), {"nonResourceURLs": ["*"], "verbs": ["*"]}],
        "bootstrap": True,
    },
    "admin": {
        "aggregate": "rbac.authorization.k8s.io/aggregate-to-admin",
        "rules": [
            rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets",
                        "services/proxy"], READ),
            rule([""], ["serviceaccounts"], ["impersonate"]),
            rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"],
                 ["create", "delete", "deletecollection", "patch", "update"]),
            rule([""], ["configmaps", "endpoints", "persistentvolumeclaims",
                        "replicationcontrollers", "secrets", "serviceaccounts", "services"],
                 ["create", "delete", "deletecollection", "patch", "update"]),
            rule(["apps"], ["daemonsets", "deployments", "replicasets", "statefulsets"],
                 ["create", "delete", "deletecollection", "patch", "update"]),
            rule([RBAC_GROUP], ["rolebindings", "roles"],
                 ["create", "delete", "deletecollection", "get", "list", "patch", "update",
                  "watch"]),
        ],
        "bootstrap": True,
    },
    "edit": {
        "aggregate": "rbac.authorization.k8s.io/aggregate-to-edit",
        "rules": [
            rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets",
                        "services/proxy"], READ),
            rule([""], ["serviceaccounts"], ["impersonate"]),
            rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"],
                 ["create", "delete", "deletecollection", "patch", "update"]),
            rule([""], ["configmaps", "endpoints", "persistentvolumeclaims",
                        "replicationcontrollers", "secrets", "serviceaccounts", "services"],
                 ["create", "delete", "deletecollection", "patch", "update"]),
            rule(["apps"], ["daemonsets", "deployments", "replicasets", "statefulsets"],
                 ["create", "delete", "deletecollection", "patch", "update"]),
            rule([""], ["configmaps", "endpoints", "persistentvolumeclaims", "pods",
                        "replicationcontrollers", "serviceaccounts", "services"], READ),
            rule(["apps"], ["daemonsets", "deployments", "replicasets", "statefulsets"], READ),
        ],
        "bootstrap": True,
    },
    "view": {
        "aggregate": "rbac.authorization.k8s.io/aggregate-to-view",
        "rules": [
            rule([""], ["configmaps", "endpoints", "persistentvolumeclaims", "pods", "pods/log",
                        "pods/status", "replicationcontrollers", "serviceaccounts", "services",
                        "events", "namespaces"], READ),
            rule(["apps"], ["daemonsets", "deployments", "replicasets", "statefulsets"], READ),
            rule(["batch"], ["cronjobs", "jobs"], READ),
            rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], READ),
        ],
        "bootstrap": True,
    },
    "system:public-info-viewer": {
        "rules": [{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
                   "verbs": ["get"]}],
        "bootstrap": True,
    },
    "system:discovery": {
        "rules": [{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz",
                                       "/livez", "/openapi", "/openapi/*", "/readyz", "/version",
                                       "/version/"], "verbs": ["get"]}],
        "bootstrap": True,
    },
    "system:basic-user": {
        "rules": [rule(["authorization.k8s.io"], ["selfsubjectaccessreviews",
                                                  "selfsubjectrulesreviews"], ["create"])],
        "bootstrap": True,
    },
    "northwind-platform-read": {
        "rules": [
            rule([""], ["configmaps", "endpoints", "events", "namespaces", "nodes",
                        "persistentvolumeclaims", "pods", "pods/log", "serviceaccounts",
                        "services"], READ),
            rule(["apps"], ["daemonsets", "deployments", "replicasets", "statefulsets"], READ),
            rule(["batch"], ["cronjobs", "jobs"], READ),
            rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], READ),
            rule([RBAC_GROUP], ["clusterrolebindings", "clusterroles", "rolebindings", "roles"],
                 READ),
        ],
    },
    # Over-broad: wildcard verbs on every resource, bound to one person (never used).
    "northwind-breakglass": {
        "rules": [rule(["*"], ["*"], ["*"]), {"nonResourceURLs": ["*"], "verbs": ["*"]}],
    },
    # Over-broad: read every Secret in every namespace (incl. card-vault key material).
    "secret-reader": {"rules": [rule([""], ["secrets"], READ)]},
    # Privilege-escalation verbs.
    "rbac-manager": {
        "rules": [
            rule([RBAC_GROUP], ["clusterrolebindings", "clusterroles", "rolebindings", "roles"],
                 READ + ["create", "update", "patch", "delete", "escalate", "bind"]),
            rule([""], ["groups", "serviceaccounts", "users"], ["impersonate"]),
        ],
    },
    "argocd-manager-role": {
        "rules": [rule(["*"], ["*"], ["*"]), {"nonResourceURLs": ["*"], "verbs": ["*"]}],
    },
    "prometheus": {
        "rules": [
            rule([""], ["endpoints", "nodes", "nodes/metrics", "pods", "services"], READ),
            {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
        ],
    },
    "falco": {
        "rules": [rule([""], ["namespaces", "nodes", "pods", "replicationcontrollers", "services"],
                       READ),
                  rule(["apps"], ["daemonsets", "deployments", "replicasets"], READ)],
    },
    "fluent-bit-read": {"rules": [rule([""], ["namespaces", "pods"], READ)]},
}

ROLES: dict[tuple[str, str], dict] = {
    ("payments", "payments-exec"): {"rules": [
        rule([""], ["pods"], ["get", "list"]),
        rule([""], ["pods/exec"], ["create"]),
        rule([""], ["pods/log"], ["get"]),
    ]},
    ("payments", "payments-readonly"): {"rules": [
        rule([""], ["configmaps", "endpoints", "events", "pods", "pods/log", "services"], READ),
        rule(["apps"], ["deployments", "replicasets"], READ),
    ]},
    ("card-vault", "card-vault-readonly"): {"rules": [
        rule([""], ["events", "pods", "services"], READ),
        rule(["apps"], ["statefulsets"], READ),
    ]},
    ("card-vault", "card-vault-dba"): {"rules": [
        rule([""], ["pods"], ["get", "list"]),
        rule([""], ["pods/exec"], ["create"], names=["card-vault-db-0"]),
        rule([""], ["pods/log"], ["get"]),
    ]},
    ("payments", "payments-api"): {"rules": [
        rule([""], ["configmaps"], ["get", "watch"], names=["payments-api-config"]),
        rule([""], ["secrets"], ["get"], names=["payments-api-tls"]),
    ]},
    ("payments", "report-exporter"): {"rules": [
        rule([""], ["secrets"], ["get"], names=["payments-db-credentials"]),
        rule([""], ["configmaps"], ["get"]),
    ]},
    ("card-vault", "card-vault-keys"): {"rules": [
        rule([""], ["secrets"], ["get"], names=["dek-primary", "kek-wrapping"]),
    ]},
}

B = Binding
# Bindings still live at the last export (2026-09-30); see REMOVED_BINDINGS for the others.
BINDINGS = [
    # --- bootstrap
    B("ClusterRoleBinding", "cluster-admin", "", "ClusterRole", "cluster-admin",
      (group("system:masters"),), "2025-03-04T09:21:49Z"),
    B("ClusterRoleBinding", "system:public-info-viewer", "", "ClusterRole",
      "system:public-info-viewer",
      (group("system:authenticated"), group("system:unauthenticated")), "2025-03-04T09:21:49Z"),
    B("ClusterRoleBinding", "system:discovery", "", "ClusterRole", "system:discovery",
      (group("system:authenticated"),), "2025-03-04T09:21:49Z"),
    B("ClusterRoleBinding", "system:basic-user", "", "ClusterRole", "system:basic-user",
      (group("system:authenticated"),), "2025-03-04T09:21:49Z"),
    # --- over-broad grants (findings)
    B("ClusterRoleBinding", "bob-cluster-admin", "", "ClusterRole", "cluster-admin",
      (user("bob"),), "2025-03-06T10:02:11Z", "kubernetes-admin"),
    B("ClusterRoleBinding", "ci-deployer-cluster-admin", "", "ClusterRole", "cluster-admin",
      (sa("ci-deployer"),), "2025-03-06T10:04:40Z", "kubernetes-admin"),
    B("ClusterRoleBinding", "breakglass-carol", "", "ClusterRole", "northwind-breakglass",
      (user("carol"),), "2026-01-15T14:22:05Z", "bob"),
    B("ClusterRoleBinding", "secret-reader-dave", "", "ClusterRole", "secret-reader",
      (user("dave"),), "2026-08-12T15:32:18Z", "henry"),
    B("ClusterRoleBinding", "rbac-manager-henry", "", "ClusterRole", "rbac-manager",
      (user("henry"),), "2025-12-02T11:47:30Z", "bob"),
    B("ClusterRoleBinding", "argocd-manager-role-binding", "", "ClusterRole",
      "argocd-manager-role", (sa("argocd-manager"),), "2025-03-05T16:40:02Z", "kubernetes-admin"),
    B("RoleBinding", "payments-exec-erin", "payments", "Role", "payments-exec",
      (user("erin"),), "2026-07-09T10:15:44Z", "bob"),
    B("RoleBinding", "payments-default-edit", "payments", "ClusterRole", "edit",
      (sa("payments-default"),), "2025-04-11T08:55:12Z", "bob"),
    B("RoleBinding", "report-exporter", "payments", "Role", "report-exporter",
      (sa("report-exporter"),), "2025-04-02T13:10:00Z", "ci-deployer"),
    # A leaver's personal binding that is still live.
    B("RoleBinding", "judy-card-vault-view", "card-vault", "ClusterRole", "view",
      (user("judy"),), "2025-11-03T09:30:12Z", "bob"),
    # --- properly scoped grants (passes)
    B("ClusterRoleBinding", "platform-read", "", "ClusterRole", "northwind-platform-read",
      (group("northwind:platform"),), "2025-03-06T10:01:02Z", "kubernetes-admin"),
    B("ClusterRoleBinding", "security-view", "", "ClusterRole", "view",
      (group("northwind:security"),), "2025-03-06T10:01:30Z", "kubernetes-admin"),
    B("ClusterRoleBinding", "prometheus", "", "ClusterRole", "prometheus",
      (sa("prometheus"),), "2025-03-10T12:00:31Z", "argocd-manager"),
    B("ClusterRoleBinding", "falco", "", "ClusterRole", "falco", (sa("falco"),),
      "2025-03-10T12:02:10Z", "argocd-manager"),
    B("ClusterRoleBinding", "fluent-bit-read", "", "ClusterRole", "fluent-bit-read",
      (sa("fluent-bit"),), "2025-03-10T12:01:44Z", "argocd-manager"),
    B("RoleBinding", "payments-oncall", "payments", "Role", "payments-readonly",
      (group("northwind:payments-oncall"),), "2025-03-12T09:00:00Z", "bob"),
    B("RoleBinding", "card-vault-oncall", "card-vault", "Role", "card-vault-readonly",
      (group("northwind:payments-oncall"),), "2025-03-12T09:00:05Z", "bob"),
    B("RoleBinding", "card-vault-dba", "card-vault", "Role", "card-vault-dba",
      (group("northwind:dba"),), "2025-03-12T09:01:00Z", "bob"),
    B("RoleBinding", "payments-api", "payments", "Role", "payments-api",
      (sa("payments-api"),), "2025-03-12T09:02:00Z", "ci-deployer"),
    B("RoleBinding", "card-vault-keys", "card-vault", "Role", "card-vault-keys",
      (sa("card-vault"),), "2025-03-12T09:02:30Z", "ci-deployer"),
    B("RoleBinding", "developers-edit", "dev-sandbox", "ClusterRole", "edit",
      (group("northwind:developers"),), "2025-03-12T09:05:00Z", "bob"),
    B("RoleBinding", "developers-view", "checkout-web", "ClusterRole", "view",
      (group("northwind:developers"),), "2025-03-12T09:05:20Z", "bob"),
]
# Bindings removed during the history: live in the exports taken between creation and deletion.
REMOVED_BINDINGS = [
    # Every authenticated identity (each person and every service account) could read the
    # whole cluster except Secrets. Created so engineers could "browse" without a role
    # request; bob deleted it on 2026-07-06 after the Q2 internal review (resolved in Q3).
    B("ClusterRoleBinding", "authenticated-view", "", "ClusterRole", "view",
      (group("system:authenticated"),), "2025-06-18T13:05:40Z", "bob",
      deleted="2026-07-06T09:41:27Z"),
    # Existed during Q3 only: created 2026-07-20, deleted 2026-09-22.
    B("RoleBinding", "temp-debug-kate", "dev-sandbox", "ClusterRole", "admin", (user("kate"),),
      "2026-07-20T08:12:00Z", "bob", deleted="2026-09-22T09:05:12Z"),
]
ALL_BINDINGS = BINDINGS + REMOVED_BINDINGS
BINDING = {(b.namespace, b.name): b for b in ALL_BINDINGS}


def bindings_at(iso: str) -> list[Binding]:
    """The bindings an export taken at ``iso`` holds."""
    return [b for b in ALL_BINDINGS if b.live_at(iso)]


def reason(binding_name: str, subject: Subject, namespace: str = "") -> str:
    """Authorization reason for a request allowed through ``binding_name``."""
    return BINDING[(namespace, binding_name)].reason(subject)


MASTERS_REASON = ('RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole '
                  '"cluster-admin" to Group "system:masters"')
PUBLIC_INFO_REASON = ('RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of '
                      'ClusterRole "system:public-info-viewer" to Group "system:unauthenticated"')

# Ground truth for least-privilege reviews: which over-broad grants are exercised in Q3.
USED_IN_Q3 = {
    "bob-cluster-admin": True,
    "ci-deployer-cluster-admin": True,
    "argocd-manager-role-binding": True,
    "secret-reader-dave": True,
    "rbac-manager-henry": True,
    "payments-exec-erin": True,
    "breakglass-carol": False,
    "payments-default-edit": False,
    "report-exporter": False,
}
