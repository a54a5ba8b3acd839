"""Northwind Payments Ltd: the one fictional environment every file describes.

Everything another module needs to stay consistent lives here: the assessment
periods, the cluster's nodes and subnets, namespaces and workloads, people and
service accounts, the images with their versions, digests and rollout dates,
and the vulnerability catalogue the scanners report.

Addresses are private (10.x) or from the documentation ranges only
(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32); domains end in
``.example``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .util import d, k8s_suffix, sha256_hex, stable_uuid

# --------------------------------------------------------------------------- periods

ORG_NAME = "Northwind Payments Ltd"
CLUSTER = "prod-eu1"
REGION = "eu-west-1"
ACCOUNT_ID = "111122223333"
VPC_ID = "vpc-0c4a1e7d93b25f680"

Q3 = (d("2026-07-01"), d("2026-09-30"))  # the assessed quarter (as-of 2026-09-30)
Q2 = (d("2026-04-01"), d("2026-06-30"))  # the previous quarter, for comparison
ARCHIVE = (d("2025-10-01"), d("2026-03-31"))  # thin 12-month look-back history
CLUSTER_CREATED = "2025-03-04T09:21:37Z"

# The API-server audit pipeline was down here (no events at all): 10.2.1 / 10.7.2 gap.
AUDIT_GAP = ("2026-08-14T02:00:00", "2026-08-14T09:30:00")
# This CDE node's Falco sensor was silent here (no alerts, no metrics snapshots): the pod
# restarted by the monthly restart failed to load its probe until the platform team noticed.
FALCO_SILENT_NODE = "ip-10-20-2-10.eu-west-1.compute.internal"
FALCO_SILENCE = ("2026-08-03T03:30:00", "2026-08-08T11:15:00")

# --------------------------------------------------------------------------- network

CDE_CIDR = "10.20.0.0/16"
GENERAL_CIDR = "10.30.0.0/16"
DEV_CIDR = "10.99.0.0/16"
VPN_CIDR = "10.8.0.0/16"
NTP_SERVERS = ["10.0.0.10", "10.0.0.11"]
NTP_UPSTREAM = "192.0.2.123"
ROGUE_NTP = "192.0.2.200"  # a CDE node syncs directly with this external server
ACQUIRER = "198.51.100.10"  # approved card acquirer endpoint
EGRESS_BAD = "203.0.113.50"  # unapproved internet host contacted from the CDE
PUBLIC_LB = "203.0.113.10"  # public address of the checkout load balancer
LB_PRIVATE = ["10.30.100.10", "10.30.101.10"]  # NLB private addresses (connected zone)
LB_V6 = "2001:db8:4a00:100::10"
EKS_API_ENI = ["10.0.1.20", "10.0.1.21"]
EKS_API_SVC = "172.20.0.1"
LOGS_ENDPOINT = "10.0.2.50"  # CloudWatch Logs VPC endpoint
CI_RUNNERS = ["10.30.40.11", "10.30.40.12"]
ARGOCD_MGMT = "10.50.3.12"  # Argo CD in the management cluster (another VPC)
TOOLS_HOST = "10.30.9.15"  # tools-jump-01, a jump host in the general subnet
DEV_NODE_IP = "10.99.1.30"


@dataclass(frozen=True)
class Node:
    name: str
    ip: str
    pool: str  # cde | general | dev
    zone: str  # availability zone
    eni: str
    instance: str

    @property
    def short(self) -> str:
        return self.name.split(".")[0]


def _node(ip: str, pool: str, az: str) -> Node:
    short = "ip-" + ip.replace(".", "-")
    return Node(
        name=f"{short}.{REGION}.compute.internal",
        ip=ip,
        pool=pool,
        zone=az,
        eni="eni-0" + sha256_hex("eni", ip)[:16],
        instance="i-0" + sha256_hex("instance", ip)[:16],
    )


NODES = [
    _node("10.20.1.10", "cde", "eu-west-1a"),
    _node("10.20.1.11", "cde", "eu-west-1a"),
    _node("10.20.2.10", "cde", "eu-west-1b"),
    _node("10.30.1.20", "general", "eu-west-1a"),
    _node("10.30.1.21", "general", "eu-west-1a"),
    _node("10.30.2.20", "general", "eu-west-1b"),
    _node("10.30.2.21", "general", "eu-west-1b"),
    _node("10.99.1.30", "dev", "eu-west-1a"),
]
NODE_BY_IP = {n.ip: n for n in NODES}
CDE_NODES = [n for n in NODES if n.pool == "cde"]
GENERAL_NODES = [n for n in NODES if n.pool == "general"]
DEV_NODES = [n for n in NODES if n.pool == "dev"]

SUBNETS = {
    "cde": "subnet-0" + sha256_hex("subnet", "cde")[:16],
    "general": "subnet-0" + sha256_hex("subnet", "general")[:16],
    "dev": "subnet-0" + sha256_hex("subnet", "dev")[:16],
    "shared": "subnet-0" + sha256_hex("subnet", "shared")[:16],
}
NAT_ENI = "eni-0" + sha256_hex("eni", "nat-gateway")[:16]
NAT_PRIVATE_IP = "10.0.3.10"
LB_ENIS = ["eni-0" + sha256_hex("eni", ip)[:16] for ip in LB_PRIVATE]
NTP_ENIS = ["eni-0" + sha256_hex("eni", ip)[:16] for ip in NTP_SERVERS]
TOOLS_ENI = "eni-0" + sha256_hex("eni", TOOLS_HOST)[:16]

# --------------------------------------------------------------------------- namespaces

CDE_NAMESPACES = ["payments", "card-vault"]
CONNECTED_NAMESPACES = [
    "checkout-web",
    "ingress-nginx",
    "monitoring",
    "logging",
    "falco",
    "kube-system",
]
OUT_OF_SCOPE_NAMESPACES = ["dev-sandbox", "tools"]
OTHER_NAMESPACES = ["ci", "default", "kube-public", "kube-node-lease"]
ALL_NAMESPACES = sorted(
    CDE_NAMESPACES + CONNECTED_NAMESPACES + OUT_OF_SCOPE_NAMESPACES + OTHER_NAMESPACES
)
CDE_LABEL = ("pci.northwind.example/zone", "cde")


def namespace_zone(ns: str) -> str:
    if ns in CDE_NAMESPACES:
        return "cde"
    if ns in CONNECTED_NAMESPACES:
        return "connected"
    if ns in OUT_OF_SCOPE_NAMESPACES:
        return "out-of-scope"
    return "undeclared"


# --------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Workload:
    namespace: str
    kind: str  # Deployment | StatefulSet | DaemonSet | Job
    name: str
    image: str  # key into IMAGES
    replicas: int
    pool: str  # node pool it schedules onto (daemonsets: all)
    port: int | None
    service_account: str
    labels: tuple[tuple[str, str], ...]
    security: str  # key into POD_SECURITY
    # (ISO datetime, tag): the version rolled out at that time; the first entry
    # is what was already running when the history starts.
    rollouts: tuple[tuple[str, str], ...]
    deployer: str  # identity key that performs rollouts

    @property
    def app(self) -> str:
        return dict(self.labels).get("app.kubernetes.io/name", self.name)

    def tag_at(self, iso: str) -> str:
        tag = self.rollouts[0][1]
        for when, t in self.rollouts:
            if when <= iso:
                tag = t
        return tag

    def rs_hash(self, tag: str, generation: int = 0) -> str:
        """pod-template-hash: changes with every rollout or restart (new template)."""
        return k8s_suffix(10, "rs", self.namespace, self.name, tag, generation)

    def pod_name(self, tag: str, i: int, generation: int = 0) -> str:
        if self.kind == "StatefulSet":
            return f"{self.name}-{i}"
        if self.kind == "DaemonSet":
            return f"{self.name}-{k8s_suffix(5, 'ds', self.name, tag, i, generation)}"
        if self.kind == "Job":
            return f"{self.name}-{generation:08d}-{k8s_suffix(5, 'job', self.name, generation)}"
        return (f"{self.name}-{self.rs_hash(tag, generation)}-"
                f"{k8s_suffix(5, 'pod', self.name, tag, i, generation)}")


def _lbl(name: str, zone: str | None = None, **extra: str) -> tuple[tuple[str, str], ...]:
    out = {"app.kubernetes.io/name": name}
    if zone:
        out[CDE_LABEL[0]] = zone
    out.update(extra)
    return tuple(sorted(out.items()))


WORKLOADS = [
    Workload("payments", "Deployment", "payments-api", "payments-api", 3, "cde", 8443,
             "payments-api", _lbl("payments-api", "cde", app="payments-api"), "hardened",
             (("2025-09-15T10:00", "2.11.0"), ("2025-11-20T09:40", "2.12.0"),
              ("2026-02-10T09:15", "2.13.0"), ("2026-06-15T08:50", "2.14.0"),
              ("2026-08-20T09:05", "2.15.0")), "ci-deployer"),
    Workload("payments", "Deployment", "payments-cache", "redis", 2, "cde", 6379,
             "default", _lbl("payments-cache", "cde", app="payments-cache"), "redis",
             (("2025-08-01T10:00", "7.2.5"), ("2026-07-14T13:20", "7.4.2")), "ci-deployer"),
    Workload("card-vault", "StatefulSet", "card-vault", "card-vault", 2, "cde", 8200,
             "card-vault", _lbl("card-vault", "cde", app="card-vault"), "hardened",
             (("2025-09-02T10:00", "1.7.0"), ("2026-01-20T09:30", "1.8.0"),
              ("2026-07-02T09:10", "1.8.2"), ("2026-08-19T08:45", "1.8.3")), "ci-deployer"),
    Workload("card-vault", "StatefulSet", "card-vault-db", "postgres", 1, "cde", 5432,
             "card-vault-db", _lbl("card-vault-db", "cde", app="card-vault-db"), "postgres",
             (("2025-08-10T10:00", "16.4"), ("2026-03-10T21:00", "16.8")), "ci-deployer"),
    Workload("checkout-web", "Deployment", "checkout-web", "checkout-web", 3, "general", 8080,
             "checkout-web", _lbl("checkout-web", None, app="checkout-web"), "root",
             (("2025-09-12T10:00", "4.2.0"), ("2025-12-10T10:00", "4.3.0"),
              ("2026-03-18T10:00", "4.4.0"), ("2026-06-02T10:00", "4.5.0"),
              ("2026-07-23T09:30", "4.5.1"), ("2026-09-15T10:10", "4.6.0")), "argocd-manager"),
    Workload("checkout-web", "Deployment", "checkout-static", "nginx", 2, "general", 8080,
             "default", _lbl("checkout-static", None, app="checkout-static"), "nginx",
             (("2025-10-06T10:00", "1.27.2"), ("2026-02-16T10:00", "1.27.4"),
              ("2026-06-25T10:00", "1.29.0")), "argocd-manager"),
    Workload("ingress-nginx", "Deployment", "ingress-nginx-controller", "ingress-nginx", 2,
             "general", 443, "ingress-nginx", _lbl("ingress-nginx", None), "ingress",
             (("2025-10-14T10:00", "v1.11.3"), ("2026-05-05T10:00", "v1.12.3")),
             "argocd-manager"),
    Workload("monitoring", "Deployment", "prometheus", "prometheus", 1, "general", 9090,
             "prometheus", _lbl("prometheus", None), "hardened",
             (("2025-03-10T10:00", "v2.55.1"), ("2026-06-10T10:00", "v3.4.1")),
             "argocd-manager"),
    Workload("monitoring", "DaemonSet", "node-exporter", "node-exporter", 0, "all", 9100,
             "node-exporter", _lbl("node-exporter", None), "node-exporter",
             (("2025-03-10T10:00", "v1.8.2"), ("2026-04-08T10:00", "v1.9.1")),
             "argocd-manager"),
    Workload("logging", "DaemonSet", "fluent-bit", "fluent-bit", 0, "all", 2020,
             "fluent-bit", _lbl("fluent-bit", None), "fluent-bit",
             (("2025-03-10T10:00", "3.2.4"), ("2026-05-20T10:00", "4.0.3")),
             "argocd-manager"),
    Workload("falco", "DaemonSet", "falco", "falco", 0, "all", 8765,
             "falco", _lbl("falco", None), "falco",
             (("2025-03-10T10:00", "0.40.0"), ("2026-07-15T09:00", "0.41.3")),
             "argocd-manager"),
    Workload("dev-sandbox", "Deployment", "sandbox-web", "nginx", 1, "dev", 8080,
             "default", _lbl("sandbox-web", None), "nginx",
             (("2025-10-06T10:00", "1.27.2"), ("2026-06-26T10:00", "1.29.0")), "argocd-manager"),
    Workload("tools", "Job", "db-report", "kubectl", 1, "dev", None,
             "default", _lbl("db-report", None), "hardened",
             (("2025-06-25T10:00", "1.30.2"),), "argocd-manager"),
]
WORKLOAD_BY_NAME = {(w.namespace, w.name): w for w in WORKLOADS}


def pool_nodes(pool: str) -> list[Node]:
    if pool == "all":
        return list(NODES)
    return [n for n in NODES if n.pool == pool]


HOST_NETWORK_WORKLOADS = {("monitoring", "node-exporter")}
COREDNS_IPS = ["10.30.1.53", "10.30.2.53"]


def _allocate_pod_ips() -> dict[tuple[str, str, int], tuple[str, Node]]:
    """Give every steady-state pod a stable address in its node's /24 (AWS VPC CNI)."""
    used = {n.ip for n in NODES} | {"10.20.1.201", "10.99.1.77"} | set(COREDNS_IPS)
    next_host: dict[str, int] = {}
    out = {}
    for w in WORKLOADS:
        nodes = list(NODES) if w.kind == "DaemonSet" else pool_nodes(w.pool)
        count = len(nodes) if w.kind == "DaemonSet" else max(w.replicas, 1)
        for i in range(count):
            node = nodes[i % len(nodes)]
            if (w.namespace, w.name) in HOST_NETWORK_WORKLOADS:
                out[(w.namespace, w.name, i)] = (node.ip, node)
                continue
            prefix = node.ip.rsplit(".", 1)[0]
            host = next_host.get(prefix, 40)
            while f"{prefix}.{host}" in used:
                host += 1
            ip = f"{prefix}.{host}"
            used.add(ip)
            next_host[prefix] = host + 1
            out[(w.namespace, w.name, i)] = (ip, node)
    return out


def workload_pods(workload: Workload) -> list[tuple[int, str, Node]]:
    """(replica index, pod ip, node) for a workload's steady-state pods."""
    return [
        (i, ip, node)
        for (ns, name, i), (ip, node) in sorted(POD_IPS.items(), key=lambda kv: kv[0][2])
        if ns == workload.namespace and name == workload.name
    ]


# A debug pod started by a human inside the CDE during an incident (2.2.6 failure).
DEBUG_POD = {
    "namespace": "payments",
    "name": "payments-debug",
    "image": "kubectl",
    "tag": "1.30.2",
    "created": "2026-08-11T10:41:12",
    "deleted": "2026-08-11T16:05:40",
    "node": "10.20.1.10",
    "ip": "10.20.1.201",
    "by": "bob",
}
# A privileged pod in the out-of-scope sandbox (must not be reported as a CDE failure).
SANDBOX_PRIV_POD = {
    "namespace": "dev-sandbox",
    "name": "sandbox-shell",
    "image": "kubectl",
    "tag": "1.30.2",
    "created": "2026-07-21T14:02:09",
    "deleted": "2026-07-28T17:45:31",
    "node": "10.99.1.30",
    "ip": "10.99.1.77",
    "by": "kate",
}

POD_IPS = _allocate_pod_ips()


def ip_of(namespace: str, name: str, index: int = 0) -> str:
    return POD_IPS[(namespace, name, index)][0]


# --------------------------------------------------------------------------- identities


@dataclass(frozen=True)
class Person:
    key: str
    user_id: str
    name: str
    email: str
    role: str
    groups: tuple[str, ...]
    status: str
    mfa: bool
    created: str
    last_login: str  # IdP last interactive login
    terminated: str = ""
    # Days with background API activity end here (inclusive); defaults to last_login.
    active_until: str = ""
    vpn_ip: str = ""
    agents: tuple[str, ...] = ("kubectl",)

    @property
    def username(self) -> str:
        return self.email

    @property
    def last_active(self) -> str:
        return self.active_until or self.last_login[:10]


KUBECTL_UA = "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"
KUBECTL_UA_MAC = "kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350"
K9S_UA = "k9s/v0.32.5 (linux/amd64) kubernetes/$Format"
HELM_UA = "Helm/3.15.4"
ARGOCD_UA = "argocd-application-controller/v0.0.0 (linux/amd64) kubernetes/$Format"
KUBELET_UA = "kubelet/v1.30.11 (linux/amd64) kubernetes/6a07d1a"

PEOPLE = [
    Person("alice", "u1001", "Alice Moreau", "alice@northwind.example", "platform-engineer",
           ("northwind:platform",), "active", True, "2024-02-12", "2026-09-29T08:12:00Z",
           vpn_ip="10.8.11.21", agents=("kubectl", "k9s")),
    Person("bob", "u1002", "Bob Okafor", "bob@northwind.example", "platform-engineer",
           ("northwind:platform-leads",), "active", True, "2023-06-01", "2026-09-30T07:48:00Z",
           vpn_ip="10.8.11.34", agents=("kubectl",)),
    Person("carol", "u1003", "Carol Jensen", "carol@northwind.example", "platform-engineer",
           ("northwind:platform",), "active", True, "2024-09-02", "2026-09-25T09:03:00Z",
           vpn_ip="10.8.12.7", agents=("kubectl-mac",)),
    Person("dave", "u1004", "Dave Lindqvist", "dave@northwind.example", "security-analyst",
           ("northwind:security",), "active", True, "2024-04-15", "2026-09-30T08:31:00Z",
           vpn_ip="10.8.13.9", agents=("kubectl",)),
    Person("erin", "u1005", "Erin Castillo", "erin@northwind.example", "developer",
           ("northwind:developers",), "active", True, "2025-01-20", "2026-09-29T13:40:00Z",
           vpn_ip="10.8.14.52", agents=("kubectl-mac", "k9s")),
    Person("frank", "u1006", "Frank Osei", "frank@northwind.example", "dba",
           ("northwind:dba",), "active", True, "2023-11-06", "2026-09-28T10:15:00Z",
           vpn_ip="10.8.15.3", agents=("kubectl",)),
    Person("grace", "u1007", "Grace Whitfield", "grace@northwind.example", "developer",
           ("northwind:developers",), "active", True, "2025-05-12", "2026-09-30T09:20:00Z",
           vpn_ip="10.8.14.77", agents=("kubectl-mac",)),
    Person("henry", "u1008", "Henry Achebe", "henry@northwind.example", "platform-engineer",
           ("northwind:platform",), "active", False, "2024-11-18", "2026-09-29T16:02:00Z",
           vpn_ip="10.8.11.90", agents=("kubectl", "k9s")),
    Person("ivan", "u1009", "Ivan Petrov", "ivan@northwind.example", "developer",
           ("northwind:payments-oncall",), "active", True, "2024-03-04", "2026-09-27T22:18:00Z",
           vpn_ip="10.8.14.18", agents=("kubectl", "k9s")),
    Person("judy", "u1010", "Judy Nakamura", "judy@northwind.example", "sre",
           ("northwind:payments-oncall",), "active", True, "2023-09-18", "2026-09-08T19:44:00Z",
           terminated="2026-08-21", active_until="2026-08-20", vpn_ip="10.8.12.66"),
    Person("kate", "u1011", "Kate Brennan", "kate@northwind.example", "developer",
           ("northwind:developers",), "active", False, "2025-08-25", "2026-09-30T10:05:00Z",
           vpn_ip="10.8.14.91", agents=("kubectl-mac",)),
    Person("leo", "u1012", "Leo Fischer", "leo@northwind.example", "dba",
           ("northwind:dba",), "active", True, "2024-01-08", "2026-05-02T15:27:00Z",
           vpn_ip="10.8.15.40"),
    Person("mike", "u1013", "Mike Tanaka", "mike@northwind.example", "developer",
           ("northwind:developers",), "active", True, "2024-06-17", "2026-03-11T11:09:00Z",
           vpn_ip="10.8.14.120"),
    Person("nina", "u1014", "Nina Rossi", "nina@northwind.example", "security-analyst",
           ("northwind:security",), "disabled", True, "2023-02-20", "2026-02-26T17:30:00Z",
           terminated="2026-02-27", vpn_ip="10.8.13.30"),
    # Joined in Q3 to take over judy's on-call duties: absent from the 2026-06-30 inventory.
    Person("olivia", "u1015", "Olivia Brandt", "olivia@northwind.example", "sre",
           ("northwind:payments-oncall",), "active", True, "2026-08-24", "2026-09-30T08:02:00Z",
           vpn_ip="10.8.12.81", agents=("kubectl", "k9s")),
]
PERSON = {p.key: p for p in PEOPLE}

# The generic, shared administrator identity (kubeadm/EKS bootstrap style certificate).
SHARED_ADMIN = {
    "user_id": "admin",
    "name": "Shared administrator account",
    "username": "kubernetes-admin",
    "groups": ["system:masters", "system:authenticated"],
    "created": "2025-03-04",
    "last_login": "2026-09-12T21:40:00Z",
}

# --------------------------------------------------------------------------- access snapshots

# The platform team exports RBAC, NetworkPolicies and the IdP/HR user inventory at the end of
# each quarter; each export is a snapshot of that day (access/<date>/). The records above
# describe the 2026-09-30 export; INVENTORY_AT says how the earlier inventory read where it
# differed. Accounts created after a snapshot date are not in that snapshot.
ACCESS_SNAPSHOTS = ("2026-06-30", "2026-09-30")
INVENTORY_AT: dict[str, dict[str, dict]] = {
    "2026-06-30": {
        # Sign-ins as the IdP showed them on 2026-06-30 (leo, mike and nina had not signed in
        # since, so their values are the same in both exports).
        "alice": {"last_login": "2026-06-30T08:05:00Z"},
        "bob": {"last_login": "2026-06-30T07:41:00Z"},
        "carol": {"last_login": "2026-06-26T09:12:00Z"},
        "dave": {"last_login": "2026-06-30T08:26:00Z"},
        "erin": {"last_login": "2026-06-29T13:02:00Z"},
        "frank": {"last_login": "2026-06-30T10:03:00Z"},
        "grace": {"last_login": "2026-06-30T09:14:00Z"},
        "henry": {"last_login": "2026-06-29T16:10:00Z"},
        # ivan enrolled a second factor on 2026-07-02 (resolved 8.4.2 finding).
        "ivan": {"last_login": "2026-06-28T21:55:00Z", "mfa": False},
        # judy had not left yet: no termination date (she left on 2026-08-21).
        "judy": {"last_login": "2026-06-30T08:37:00Z", "terminated": ""},
        "kate": {"last_login": "2026-06-30T09:58:00Z"},
        # The shared admin's IAM access keys were deactivated after the 2026-03 access review;
        # they were re-activated on 2026-07-28 to patch aws-auth and left active (GT-32).
        "admin": {"status": "disabled", "last_login": "2025-09-03T16:20:00Z"},
    },
}


@dataclass(frozen=True)
class ServiceAccountId:
    key: str
    namespace: str
    name: str
    user_id: str
    description: str
    role: str
    created: str
    inventory: bool = True  # listed in users.csv (accounts that hold or use API access)

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    @property
    def groups(self) -> list[str]:
        return [
            "system:serviceaccounts",
            f"system:serviceaccounts:{self.namespace}",
            "system:authenticated",
        ]

    @property
    def uid(self) -> str:
        return stable_uuid("sa", self.namespace, self.name)


SERVICE_ACCOUNTS = [
    ServiceAccountId("ci-deployer", "ci", "deployer", "svc-ci-deployer",
                     "CI deployer used by the GitLab runners (Helm)", "ci", "2025-03-04"),
    ServiceAccountId("argocd-manager", "kube-system", "argocd-manager", "svc-argocd-manager",
                     "Argo CD in the management cluster", "ci", "2025-03-05"),
    ServiceAccountId("payments-api", "payments", "payments-api", "svc-payments-api",
                     "payments-api workload identity", "application", "2025-03-12"),
    ServiceAccountId("payments-default", "payments", "default", "svc-payments-default",
                     "default service account of the payments namespace", "application",
                     "2025-03-12"),
    ServiceAccountId("report-exporter", "payments", "report-exporter", "svc-report-exporter",
                     "nightly settlement report export (retired job)", "application",
                     "2025-04-02"),
    ServiceAccountId("card-vault", "card-vault", "card-vault", "svc-card-vault",
                     "card-vault tokenisation service identity", "application", "2025-03-12"),
    ServiceAccountId("card-vault-db", "card-vault", "card-vault-db", "svc-card-vault-db",
                     "card-vault PostgreSQL pod identity", "application", "2025-03-12", False),
    ServiceAccountId("checkout-web", "checkout-web", "checkout-web", "svc-checkout-web",
                     "checkout-web workload identity", "application", "2025-03-12", False),
    ServiceAccountId("prometheus", "monitoring", "prometheus", "svc-prometheus",
                     "Prometheus server", "monitoring", "2025-03-10"),
    ServiceAccountId("node-exporter", "monitoring", "node-exporter", "svc-node-exporter",
                     "node-exporter DaemonSet", "monitoring", "2025-03-10", False),
    ServiceAccountId("fluent-bit", "logging", "fluent-bit", "svc-fluent-bit",
                     "Fluent Bit log shipper", "logging", "2025-03-10"),
    ServiceAccountId("falco", "falco", "falco", "svc-falco",
                     "Falco runtime sensor", "security", "2025-03-10"),
    ServiceAccountId("ingress-nginx", "ingress-nginx", "ingress-nginx", "svc-ingress-nginx",
                     "ingress-nginx controller", "application", "2025-03-10", False),
]
SA = {s.key: s for s in SERVICE_ACCOUNTS}

# Controllers and other system identities that appear in the audit log.
CONTROLLER_SA = {
    "replicaset-controller": "system:serviceaccount:kube-system:replicaset-controller",
    "daemon-set-controller": "system:serviceaccount:kube-system:daemon-set-controller",
    "statefulset-controller": "system:serviceaccount:kube-system:statefulset-controller",
    "job-controller": "system:serviceaccount:kube-system:job-controller",
    "deployment-controller": "system:serviceaccount:kube-system:deployment-controller",
    "namespace-controller": "system:serviceaccount:kube-system:namespace-controller",
}

FALCO_RULES_SHA = "58a4f187b6b04b43ae938132325cbbb6b2bb9eb4e76e553f5b4b7b5b360ee0b4"
