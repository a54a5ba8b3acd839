"""The checked-in sample environment is exactly what its generator writes.

The generator (``sample_data/generate.py``) is standard-library only and
deterministic; these tests regenerate into a temporary folder and compare bytes,
keep the checked-in size in check, and prove the benchmark options write the
record counts they promise.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
GENERATOR = SAMPLE / "generate.py"
NOT_GENERATED = {"generate.py", "README.md", "generator"}
MAX_BYTES = 5_000_000


def _generate(out: Path, *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def _files(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every generated file under ``root``."""
    out = {}
    for top in sorted(root.iterdir()):
        if top.name in NOT_GENERATED or top.name.startswith(("__", ".")):
            continue
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")


def test_default_run_reproduces_checked_in_files(tmp_path: Path) -> None:
    _generate(tmp_path)
    fresh, checked_in = _files(tmp_path), _files(SAMPLE)
    assert sorted(fresh) == sorted(checked_in), "file set differs from the checked-in files"
    changed = sorted(p for p in fresh if fresh[p] != checked_in[p])
    assert not changed, f"regenerated files differ from the checked-in bytes: {changed[:10]}"


def test_checked_in_data_is_under_5_mb() -> None:
    total = sum(
        p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    assert total < MAX_BYTES, f"sample_data holds {total} bytes"


def test_scaled_run_writes_requested_counts(tmp_path: Path) -> None:
    _generate(tmp_path, "--flows", "20000", "--audit-events", "5000", "--no-gzip")
    assert not list(tmp_path.rglob("*.gz")), "--no-gzip still wrote gzip files"
    flow_files = sorted((tmp_path / "flows/vpc/2026-q3").glob("vpc-flow-logs-*.log"))
    audit_files = sorted((tmp_path / "runtime/k8s-audit/2026-q3").glob("*.jsonl"))
    assert len(flow_files) == 3 and len(audit_files) == 3
    assert sum(len(f.read_text().splitlines()) for f in flow_files) == 20000
    assert sum(len(f.read_text().splitlines()) for f in audit_files) == 5000
    manifest = json.loads((tmp_path / "ground-truth/manifest.json").read_text())
    assert manifest["options"]["flows"] == 20000
    assert manifest["options"]["audit_events"] == 5000


def test_too_few_records_for_the_story_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path), "--flows", "10"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "flow records are needed" in proc.stderr


@pytest.mark.parametrize(
    "suffixes",
    [(".json", ".sarif"), (".jsonl", ".jsonl.gz"), (".yaml",)],
    ids=["json", "jsonl", "yaml"],
)
def test_checked_in_documents_parse(suffixes: tuple[str, ...]) -> None:
    paths = [
        p
        for p in SAMPLE.rglob("*")
        if p.is_file() and p.name.endswith(suffixes) and "generator" not in p.parts
    ]
    assert paths
    for path in paths:
        text = _read_text(path)
        if path.name.endswith((".jsonl", ".jsonl.gz")) or "captures" in path.parts:
            for line in text.splitlines():
                json.loads(line)
        elif path.name.endswith(".yaml"):
            assert list(yaml.safe_load_all(text)), path
        else:
            json.loads(text)


def test_readme_lists_every_ground_truth_scenario() -> None:
    doc = json.loads((SAMPLE / "ground-truth/scenarios.json").read_text())
    readme = (SAMPLE / "README.md").read_text()
    rows = {
        line.split(" | ")[0][2:]: line for line in readme.splitlines() if line.startswith("| GT-")
    }
    assert len(rows) == len(doc["scenarios"])
    for s in doc["scenarios"]:
        row = f"| {s['id']} | {', '.join(s['requirements'])} | {s['title']} |"
        assert rows[s["id"]].startswith(row), f"{s['id']} missing from the README table"
        diff = s["diff"].get("summary", s["diff"]["change"])
        assert rows[s["id"]].endswith(
            f"| {s['expected']['2026-q3']} | {s['expected']['2026-q2']} | {diff} |"
        ), s["id"]
        assert s["diff"]["change"] in doc["diff_values"], s["id"]
        for item in s["diff"].get("items", []):
            assert item["change"] in doc["diff_values"], (s["id"], item)
    ids = {s["id"] for s in doc["scenarios"]}
    acceptance = doc["diff_acceptance"]["findings"]
    assert len(acceptance) >= 10
    for f in acceptance:
        assert f["scenario"] in ids and f["change"] in {"new", "resolved", "persisting", "absent"}


# --------------------------------------------------------------------------- access snapshots

SNAPSHOTS = ("2026-06-30", "2026-09-30")


def _users(date: str) -> dict[str, dict[str, str]]:
    with (SAMPLE / "access" / date / "users.csv").open(newline="") as fh:
        return {row["user_id"]: row for row in csv.DictReader(fh)}


def _objects(date: str) -> list[dict]:
    rbac = yaml.safe_load((SAMPLE / f"access/{date}/rbac/prod-eu1-rbac-{date}.yaml").read_text())
    pols = yaml.safe_load(
        (SAMPLE / f"access/{date}/networkpolicy/prod-eu1-networkpolicies-{date}.yaml").read_text()
    )
    return rbac["items"] + pols["items"]


def _names(date: str, kind: str) -> set[str]:
    return {
        "/".join(filter(None, (o["metadata"].get("namespace"), o["metadata"]["name"])))
        for o in _objects(date)
        if o["kind"] == kind
    }


def test_access_exports_are_dated_snapshots() -> None:
    """access/ holds one folder per export date, each with every access export of that day."""
    assert sorted(p.name for p in (SAMPLE / "access").iterdir()) == list(SNAPSHOTS)
    for date in SNAPSHOTS:
        files = sorted(
            p.relative_to(SAMPLE / "access" / date).as_posix()
            for p in (SAMPLE / "access" / date).rglob("*")
            if p.is_file()
        )
        assert files == [
            f"networkpolicy/prod-eu1-networkpolicies-{date}.yaml",
            "rbac/cde-namespaces-rbac.yaml",
            f"rbac/prod-eu1-rbac-{date}.yaml",
            "users.csv",
        ]
    counts = {
        (date, kind): len(_names(date, kind))
        for date in SNAPSHOTS
        for kind in ("ClusterRoleBinding", "RoleBinding", "NetworkPolicy")
    }
    assert counts == {
        ("2026-06-30", "ClusterRoleBinding"): 15,
        ("2026-06-30", "RoleBinding"): 10,
        ("2026-06-30", "NetworkPolicy"): 11,
        ("2026-09-30", "ClusterRoleBinding"): 15,
        ("2026-09-30", "RoleBinding"): 11,
        ("2026-09-30", "NetworkPolicy"): 12,
    }
    assert {d: len(_users(d)) for d in SNAPSHOTS} == {"2026-06-30": 24, "2026-09-30": 25}


def test_each_snapshot_holds_only_what_existed_on_its_date() -> None:
    for date in SNAPSHOTS:
        for obj in _objects(date):
            assert obj["metadata"]["creationTimestamp"][:10] <= date, obj["metadata"]["name"]
        for user in _users(date).values():
            assert user["created"] <= date, user["user_id"]
            assert user["last_login"][:10] <= date, (date, user["user_id"], user["last_login"])
            assert user["terminated"] <= date, user["user_id"]


def test_snapshots_differ_as_the_story_says() -> None:
    q2, q3 = SNAPSHOTS
    assert _names(q2, "ClusterRoleBinding") - _names(q3, "ClusterRoleBinding") == {
        "authenticated-view"
    }
    assert _names(q3, "ClusterRoleBinding") - _names(q2, "ClusterRoleBinding") == {
        "secret-reader-dave"
    }
    assert _names(q3, "RoleBinding") - _names(q2, "RoleBinding") == {"payments/payments-exec-erin"}
    assert _names(q2, "RoleBinding") <= _names(q3, "RoleBinding")
    assert _names(q3, "NetworkPolicy") - _names(q2, "NetworkPolicy") == {
        "monitoring/default-deny-ingress"
    }
    before, after = _users(q2), _users(q3)
    assert set(after) - set(before) == {"u1015"}  # olivia joined 2026-08-24
    judy = (before["u1010"], after["u1010"])
    assert (judy[0]["terminated"], judy[1]["terminated"]) == ("", "2026-08-21")
    assert (before["u1009"]["mfa"], after["u1009"]["mfa"]) == ("false", "true")  # ivan
    assert (before["admin"]["status"], after["admin"]["status"]) == ("disabled", "active")
    # Dormancy as of each date (GT-35): only mike in Q2, leo and mike in Q3.
    for who in ("u1012", "u1013"):
        assert before[who]["last_login"] == after[who]["last_login"]


def _audit_events(*globs: str):
    for pattern in globs:
        for path in sorted((SAMPLE / "runtime/k8s-audit").glob(pattern)):
            for line in _read_text(path).splitlines():
                yield json.loads(line)


def test_workload_specs_are_on_record_as_full_objects() -> None:
    """Every hardening workload has a full pod spec (create/update, RequestResponse, 2xx) in each
    quarter, and every controller a full-object update inside both 12-month look-backs."""
    full = {}
    for ev in _audit_events("archive/*", "2026-q2/*", "2026-q3/*"):
        ref = ev.get("objectRef", {})
        if (
            ev["verb"] not in ("create", "update")
            or ev["stage"] != "ResponseComplete"
            or ref.get("subresource")
            or ev["level"] != "RequestResponse"
            or not 200 <= ev["responseStatus"]["code"] < 300
        ):
            continue
        obj = ev.get("requestObject") or {}
        spec = obj.get("spec", {})
        spec = spec if ref["resource"] == "pods" else spec.get("template", {}).get("spec", {})
        if not spec.get("containers"):
            continue
        # a pod is named after its controller (a Deployment's through its ReplicaSet)
        owners = obj["metadata"].get("ownerReferences") or [{"name": ref["name"]}]
        full.setdefault((ref["resource"], ref["namespace"]), []).append(
            (ev["stageTimestamp"], owners[0]["name"] if ref["resource"] == "pods" else ref["name"])
        )

    def seen(resource: str, namespace: str, name: str, start: str, end: str) -> bool:
        return any(
            start <= t < end
            and (n == name or (n.startswith(name + "-") and len(n) == len(name) + 11))
            for t, n in full.get((resource, namespace), [])
        )

    hardening = [
        ("payments", "payments-debug"),
        ("card-vault", "card-vault-db"),
        ("checkout-web", "checkout-web"),
        ("falco", "falco"),
        ("monitoring", "node-exporter"),
        ("logging", "fluent-bit"),
        ("payments", "payments-api"),
        ("payments", "payments-cache"),
        ("card-vault", "card-vault"),
        ("checkout-web", "checkout-static"),
        ("ingress-nginx", "ingress-nginx-controller"),
        ("monitoring", "prometheus"),
        ("dev-sandbox", "sandbox-shell"),
    ]
    for ns, name in hardening:
        assert seen("pods", ns, name, "2026-07-01", "2026-10-01"), (ns, name)
        if name not in ("payments-debug", "sandbox-shell"):
            assert seen("pods", ns, name, "2026-04-01", "2026-07-01"), (ns, name)
    controllers = {
        ("deployments", "payments", "payments-api"),
        ("deployments", "payments", "payments-cache"),
        ("statefulsets", "card-vault", "card-vault"),
        ("statefulsets", "card-vault", "card-vault-db"),
        ("deployments", "checkout-web", "checkout-web"),
        ("deployments", "checkout-web", "checkout-static"),
        ("deployments", "ingress-nginx", "ingress-nginx-controller"),
        ("deployments", "monitoring", "prometheus"),
        ("daemonsets", "monitoring", "node-exporter"),
        ("daemonsets", "logging", "fluent-bit"),
        ("daemonsets", "falco", "falco"),
        ("deployments", "dev-sandbox", "sandbox-web"),
    }
    for key in controllers:
        resource, ns, name = key
        updates = [t for t, n in full.get((resource, ns), []) if n == name]
        # inside the Q2 (from 2025-07-01) and the Q3 (from 2025-10-01) look-back
        assert any(t >= "2025-10-01" for t in updates), key


def test_audit_logging_gap_is_empty() -> None:
    """The planted 10.2.1 gap (2026-08-14 02:00-09:30 UTC) holds no event at all."""
    path = SAMPLE / "runtime/k8s-audit/2026-q3/prod-eu1-audit-2026-08.jsonl.gz"
    stamps = [json.loads(line)["stageTimestamp"] for line in _read_text(path).splitlines()]
    assert stamps
    inside = [s for s in stamps if "2026-08-14T02:00:00" <= s < "2026-08-14T09:30:00"]
    assert not inside
