"""Pod specifications as the API server receives them.

The same spec feeds the audit log (``requestObject`` of pod creates), the Trivy
k8s misconfiguration report and the ground truth, so the hardening story is told
once. No Secret values appear anywhere: credentials are referenced through
``secretKeyRef``.
"""

from __future__ import annotations

from .images import IMAGES
from .world import Workload

HARDENED_POD = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
HARDENED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}

# security profile -> (pod securityContext, container securityContext, host settings, volumes)
POD_SECURITY: dict[str, dict] = {
    "hardened": {"pod": HARDENED_POD, "container": HARDENED_CONTAINER},
    "redis": {
        "pod": {"runAsNonRoot": True, "runAsUser": 999, "fsGroup": 999,
                "seccompProfile": {"type": "RuntimeDefault"}},
        "container": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    },
    # postgres: the official image starts as root; nothing in the spec stops it.
    "postgres": {"pod": {"fsGroup": 999}, "container": {}},
    # checkout-web runs as UID 0 (risk acceptance EXC-009 expired on 2026-06-30).
    "root": {
        "pod": {"runAsUser": 0},
        "container": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    },
    "nginx": {
        "pod": {"runAsNonRoot": True, "runAsUser": 101, "runAsGroup": 101,
                "seccompProfile": {"type": "RuntimeDefault"}},
        "container": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    },
    "ingress": {
        "pod": {"runAsNonRoot": True, "runAsUser": 101,
                "seccompProfile": {"type": "RuntimeDefault"}},
        "container": {"allowPrivilegeEscalation": False,
                      "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}},
    },
    "node-exporter": {
        "pod": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534},
        "container": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
        "host": {"hostNetwork": True, "hostPID": True},
        "hostPaths": [("proc", "/proc", "/host/proc"), ("sys", "/sys", "/host/sys"),
                      ("root", "/", "/host/root")],
    },
    "fluent-bit": {
        "pod": {"runAsUser": 0},
        "container": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
        "hostPaths": [("varlog", "/var/log", "/var/log")],
    },
    "falco": {
        "pod": {},
        "container": {"privileged": True},
        "host": {"hostPID": True},
        "hostPaths": [("dev-fs", "/dev", "/host/dev"), ("proc-fs", "/proc", "/host/proc"),
                      ("etc-fs", "/etc", "/host/etc"), ("boot-fs", "/boot", "/host/boot"),
                      ("lib-modules", "/lib/modules", "/host/lib/modules"),
                      ("containerd-socket", "/run/containerd/containerd.sock",
                       "/host/run/containerd/containerd.sock")],
    },
    # A human's incident debug pod in the CDE: privileged, root, host PID namespace.
    "debug": {
        "pod": {"runAsUser": 0},
        "container": {"privileged": True, "runAsUser": 0},
        "host": {"hostPID": True},
    },
    # The out-of-scope sandbox: everything wrong, but outside the CDE.
    "sandbox": {
        "pod": {},
        "container": {"privileged": True},
        "host": {"hostNetwork": True},
        "hostPaths": [("host-root", "/", "/host")],
    },
}

NODEGROUP = {"cde": "cde-pool", "general": "general-pool", "dev": "dev-pool"}

ENV = {
    "payments-api": [
        {"name": "SPRING_PROFILES_ACTIVE", "value": "prod"},
        {"name": "CARD_VAULT_URL", "value": "https://card-vault.card-vault.svc:8200"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "payments-db-credentials",
                                                                "key": "password"}}},
    ],
    "card-vault": [
        {"name": "VAULT_DB_HOST", "value": "card-vault-db.card-vault.svc"},
        {"name": "VAULT_KEK_SECRET", "value": "kek-wrapping"},
        {"name": "VAULT_DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "card-vault-db",
                                                                     "key": "password"}}},
    ],
    "card-vault-db": [
        {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "card-vault-db",
                                                                     "key": "password"}}},
    ],
    "checkout-web": [
        {"name": "NODE_ENV", "value": "production"},
        {"name": "PAYMENTS_API_URL", "value": "https://payments-api.payments.svc:8443"},
    ],
}


def owner_kind(workload: Workload) -> tuple[str, str]:
    if workload.kind == "Deployment":
        return "ReplicaSet", "apps/v1"
    if workload.kind == "Job":
        return "Job", "batch/v1"
    return workload.kind, "apps/v1"


def pod_spec(
    workload: Workload,
    tag: str,
    image_ref: str,
    node_name: str | None = None,
    security: str | None = None,
    command: list[str] | None = None,
) -> dict:
    """The ``spec`` of a pod of ``workload`` running ``image_ref``."""
    profile = POD_SECURITY[security or workload.security]
    container: dict = {
        "name": workload.name if workload.kind != "Job" else "report",
        "image": image_ref,
        "imagePullPolicy": "IfNotPresent",
    }
    if command:
        container["command"] = command
    if workload.port:
        container["ports"] = [{"containerPort": workload.port, "name": "main", "protocol": "TCP"}]
    env = ENV.get(workload.name)
    if env:
        container["env"] = env
    container["resources"] = {
        "limits": {"memory": "512Mi"},
        "requests": {"cpu": "100m", "memory": "256Mi"},
    }
    if profile.get("container"):
        container["securityContext"] = profile["container"]
    container["terminationMessagePath"] = "/dev/termination-log"
    container["terminationMessagePolicy"] = "File"
    volumes: list[dict] = [
        {
            "name": "kube-api-access",
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}],
                                   "name": "kube-root-ca.crt"}},
                ],
            },
        }
    ]
    mounts = [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
               "name": "kube-api-access", "readOnly": True}]
    for name, host_path, mount in profile.get("hostPaths", []):
        volumes.append({"hostPath": {"path": host_path, "type": ""}, "name": name})
        mounts.append({"mountPath": mount, "name": name, "readOnly": name != "varlog"})
    container["volumeMounts"] = mounts
    spec: dict = {
        "containers": [container],
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Never" if workload.kind == "Job" else "Always",
        "schedulerName": "default-scheduler",
        "securityContext": profile.get("pod", {}),
        "serviceAccount": workload.service_account,
        "serviceAccountName": workload.service_account,
        "terminationGracePeriodSeconds": 30,
        "volumes": volumes,
    }
    spec.update(profile.get("host", {}))
    if workload.pool in NODEGROUP:
        spec["nodeSelector"] = {"eks.amazonaws.com/nodegroup": NODEGROUP[workload.pool]}
    if workload.pool == "cde":
        spec["tolerations"] = [{"effect": "NoSchedule", "key": "pci.northwind.example/zone",
                                "operator": "Equal", "value": "cde"}]
    if node_name:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                    "values": [node_name]}]}]}}}
    return spec


def image_ref(image_key: str, tag: str) -> str:
    return IMAGES[image_key].version(tag).ref


def violations(security: str) -> list[str]:
    """Human-readable 2.2.6 problems of a security profile (for the ground truth)."""
    p = POD_SECURITY[security]
    out = []
    pod, ctr, host = p.get("pod", {}), p.get("container", {}), p.get("host", {})
    if ctr.get("privileged"):
        out.append("privileged")
    if pod.get("runAsUser") == 0 or ctr.get("runAsUser") == 0:
        out.append("runAsUser 0")
    elif not (pod.get("runAsNonRoot") or ctr.get("runAsNonRoot")):
        out.append("runAsNonRoot unset")
    if ctr.get("allowPrivilegeEscalation") is not False and not ctr.get("privileged"):
        out.append("allowPrivilegeEscalation not false")
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if host.get(key):
            out.append(key)
    for _, path, _ in p.get("hostPaths", []):
        out.append(f"hostPath {path}")
    return out
