"""A second SOC relay of the assessed quarter's audit events, in AKS ``kube-audit-admin`` shape.

The SOC's Azure workspace keeps the write requests (``kube-audit-admin`` leaves out get, list
and watch); its analysts pulled the ones people (not controllers or service accounts) made on
the CDE namespaces in 2026-Q3 for their review: exec sessions, the debug pod, a RoleBinding. Azure's
diagnostic export writes ``properties.log`` as a JSON string, and, for the records its newer
pipeline wrote, as a JSON object: both occur in this one file. Every event repeats one of the
main log (same auditID), so it must be counted once.
"""

from __future__ import annotations

from .audit import AKS_RESOURCE
from .util import Output, compact_json, go_json, sha256_hex

RELAY = "runtime/k8s-audit/relay/soc-relay-kube-audit-admin-2026-q3.jsonl"
CDE = ("payments", "card-vault")
READS = ("get", "list", "watch")


def write(out: Output, q3_events: list[dict]) -> None:
    """Write the relay file from the quarter's scenario events."""
    picked = [ev for ev in q3_events
              if ev.get("objectRef", {}).get("namespace") in CDE and ev["verb"] not in READS
              and ev["stage"] != "RequestReceived"
              and not ev["user"].get("username", "system:").startswith("system:")]
    lines = []
    for i, ev in enumerate(picked):
        log = ev if i % 2 == 0 else go_json(ev) + "\n"
        lines.append(compact_json({
            "category": "kube-audit-admin",
            "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
            "properties": {"containerID": sha256_hex("relay-admin-container", "prod-eu1"),
                           "log": log, "pod": "kube-apiserver-6c9f7d5b84-q2wzr",
                           "stream": "stdout"},
            "resourceId": AKS_RESOURCE,
            "time": ev["stageTimestamp"][:-1] + "507Z",
        }))
    out.write_text(RELAY, "\n".join(lines) + "\n", "aks-diagnostic-kube-audit-admin", len(lines),
                   note="AKS kube-audit-admin shape; properties.log a JSON object (even lines) or "
                        "a JSON string (odd lines); same auditIDs as the 2026-q3 logs")
