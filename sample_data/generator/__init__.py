"""Generator of the Northwind Payments sample environment (standard library only).

``build()`` writes every file family; ``generate.py`` is its command line.
"""

from __future__ import annotations

import json

from .util import Output

DEFAULTS = {
    "seed": 20260930,
    "q3_audit_events": 10_000,
    "q2_audit_events": 7_000,
    "archive_audit_per_day": 5,
    "q3_flows": 24_000,
    "q2_flows": 6_000,
    "hubble_flows": 2_000,
}


def build(out_dir: str, seed: int = DEFAULTS["seed"], scale: float = 1.0,
          flows: int | None = None, audit_events: int | None = None,
          gzip_logs: bool = True) -> dict:
    """Write the whole environment under ``out_dir``; returns the file manifest."""
    from . import access, admission, audit, falco, ground_truth, scans, workspace
    from . import flows as flow_logs

    def scaled(key: str) -> int:
        return max(1, round(DEFAULTS[key] * scale))

    q3_audit = audit_events if audit_events is not None else scaled("q3_audit_events")
    q3_flows = flows if flows is not None else scaled("q3_flows")
    out = Output(out_dir, gzip_logs=gzip_logs)
    scans.write_all(out)
    audit_stats, last_seen = audit.write_all(out, seed, q3_audit, scaled("q2_audit_events"),
                                             scaled("archive_audit_per_day"),
                                             strict=audit_events is not None)
    access.write_all(out, last_seen)
    falco.write_all(out, seed)
    flow_logs.write_all(out, seed, q3_flows, scaled("q2_flows"), scaled("hubble_flows"),
                        strict=flows is not None)
    workspace.write_all(out)
    admission.write_policy(out)
    admission.write_cloud(out)
    counts = {
        "audit_events_q3": audit_stats["q3"]["lines"],
        "audit_events_q2": audit_stats["q2"]["lines"],
        "audit_events_archive": audit_stats["archive"]["lines"],
        "vpc_flow_records_q3": sum(e["records"] for e in out.manifest
                                   if e["format"] == "vpc-flow-v2-noheader"
                                   and "/2026-q3/" in e["path"]),
    }
    ground_truth.write(out, counts)
    options = {"seed": seed, "scale": scale, "flows": q3_flows, "audit_events": q3_audit,
               "gzip": gzip_logs}
    manifest = {"options": options, "files": out.manifest}
    out.write_text("ground-truth/manifest.json", json.dumps(manifest, indent=2) + "\n",
                   "manifest-json", len(out.manifest))
    return manifest
