"""A workload changed only by patch (GT-64): the audit log never holds its whole new spec.

Argo CD creates the CronJob ``monitoring/rules-check`` by server-side apply on 2026-09-29
(a monthly ``promtool`` run of the Prometheus rules, hardened like Prometheus itself), and bob
adds ``privileged: true`` to its container the same afternoon with a plain ``kubectl patch``
(a strategic-merge patch, the kubectl default). The audit policy logs ``batch`` writes at
Request level, so neither event carries a ``responseObject``: the spec in force is the apply
configuration with the patch applied. The next scheduled run is 2026-10-01, so no Job or Pod
created from the privileged template is in the log either; only the patch tells.

The events come from their own random stream (label ``audit-scenario-spec-patch``), so every
other event keeps its ID; ``audit.write_period`` makes room for them on their day by dropping as
many RequestReceived duplicate lines of that day's background, so the line count and the rest
of the log stay as they were.
"""

from __future__ import annotations

from . import rbac
from .audit_events import AGENTS, Ids, _us, event, person_user, sa_user
from .images import IMAGES
from .specs import HARDENED_CONTAINER, HARDENED_POD
from .world import ARGOCD_MGMT, ARGOCD_UA, PERSON

NAMESPACE, NAME, CONTAINER = "monitoring", "rules-check", "promtool"
CREATED = "2026-09-29T10:02:31.508114"
PATCHED = "2026-09-29T16:47:09.330275"
RESOURCE = f"{NAMESPACE}/CronJob/{NAME}:{CONTAINER}"

def _cronjob() -> dict:
    container = {
        "name": CONTAINER,
        "image": IMAGES["prometheus"].version("v3.4.1").ref,
        "command": ["promtool", "check", "rules", "/etc/prometheus/rules"],
        "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "50m",
                                                                   "memory": "64Mi"}},
        "securityContext": HARDENED_CONTAINER,
        "volumeMounts": [{"mountPath": "/etc/prometheus/rules", "name": "rules",
                          "readOnly": True}],
    }
    pod = {
        "containers": [container],
        "restartPolicy": "OnFailure",
        "securityContext": HARDENED_POD,
        "serviceAccountName": "prometheus",
        "volumes": [{"configMap": {"name": "prometheus-rules"}, "name": "rules"}],
    }
    labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "monitoring"}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"labels": labels, "name": NAME, "namespace": NAMESPACE},
        "spec": {
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"spec": {"backoffLimit": 1, "template": {
                "metadata": {"labels": labels}, "spec": pod}}},
            "schedule": "30 2 1 * *",
        },
    }


def _request(query: str) -> tuple[str, dict]:
    """(requestURI, objectRef) of a patch of the CronJob, in the API server's field order."""
    uri = f"/apis/batch/v1/namespaces/{NAMESPACE}/cronjobs/{NAME}{query}"
    ref = {"resource": "cronjobs", "namespace": NAMESPACE, "name": NAME, "apiGroup": "batch",
           "apiVersion": "v1"}
    return uri, ref


def q3_events(seed: int) -> list[dict]:
    """The two events, in the order they happened (both on 2026-09-29)."""
    ids = Ids(seed, "audit-scenario-spec-patch")
    t = _us(CREATED)
    uri, ref = _request("?fieldManager=argocd-controller&force=true")
    created = event(ids.next(), t, sa_user("argocd-manager"), "patch", uri, [ARGOCD_MGMT],
                    ARGOCD_UA, ref, 201,
                    rbac.reason("argocd-manager-role-binding", rbac.sa("argocd-manager")),
                    level="Request", req=_cronjob(), latency_us=15_000)
    bob = PERSON["bob"]
    t = _us(PATCHED)
    uri, ref = _request("?fieldManager=kubectl-patch")
    body = {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
        {"name": CONTAINER, "securityContext": {"privileged": True}}]}}}}}}
    patched = event(ids.next(), t, person_user(bob), "patch", uri, [bob.vpn_ip],
                    AGENTS[bob.agents[0]], ref,
                    200, rbac.reason("bob-cluster-admin", rbac.user("bob")), level="Request",
                    req=body, latency_us=9_000)
    return [created, patched]
