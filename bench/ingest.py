"""Ingest benchmark: auditkit's loaders against a raw DuckDB load of the same files.

Usage::

    python bench/ingest.py --flows 4000000 --audit-events 500000
    python bench/ingest.py --flows 200000 --audit-events 20000   # quick look

It writes (or reuses) N AWS VPC flow log records and M Kubernetes audit events
under ``bench/data/`` (``sample_data/generate.py --no-gzip`` when it exists: the
assessed quarter's three monthly VPC files and three audit logs; otherwise, or
with ``--own-generator``, one file of each from the small generators below),
then times, each in its own child process:

(a) auditkit: ``init_workspace`` + ``ingest_paths`` of the files into a fresh
    workspace (hashing, detection, validation, exact line numbers, the
    transaction, the checkpoint on close);
(b) baseline: ``CREATE TABLE AS SELECT * FROM read_csv(...)`` and
    ``... read_json(...)`` of the same files into a fresh DuckDB file.

It prints both wall times, their ratio and each child's peak RSS (from
``os.wait4``). The target is a ratio of at most 1.5 and a peak below 2 GB at
4,000,000 flows and 500,000 audit events. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"

VPC_HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol "
    "packets bytes start end action log-status"
)


# -- data --------------------------------------------------------------------------


def write_vpc(path: Path, count: int, seed: int = 1) -> None:
    """``count`` default-format (v2) records with the S3 header line."""
    rnd = random.Random(seed)
    enis = [f"eni-{rnd.getrandbits(68):017x}" for _ in range(64)]
    inside = [
        f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}" for _ in range(500)
    ]
    outside = [
        f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        for _ in range(2000)
    ]
    ports = [443, 80, 22, 5432, 6379, 8080, 53, 3389, 9092, 8443]
    start = 1_719_792_000  # 2024-07-01
    with path.open("w", encoding="ascii") as fh:
        fh.write(VPC_HEADER + "\n")
        lines = []
        for i in range(count):
            eni = enis[i % len(enis)]
            t0 = start + (i * 7) // 10
            if i % 997 == 0:
                lines.append(f"2 123456789012 {eni} - - - - - - - {t0} {t0 + 60} - NODATA\n")
            else:
                a = rnd.choice(inside)
                b = rnd.choice(outside) if i % 3 else rnd.choice(inside)
                sport = rnd.randrange(1024, 65535)
                dport = ports[i % len(ports)]
                proto = 6 if i % 11 else 17
                pk = rnd.randrange(1, 500)
                by = pk * rnd.randrange(40, 1500)
                act = "REJECT" if i % 17 == 0 else "ACCEPT"
                if i % 2:
                    a, b, sport, dport = b, a, dport, sport
                lines.append(
                    f"2 123456789012 {eni} {a} {b} {sport} {dport} {proto} {pk} {by} "
                    f"{t0} {t0 + 60} {act} OK\n"
                )
            if len(lines) >= 100_000:
                fh.writelines(lines)
                lines.clear()
        fh.writelines(lines)


def write_audit(path: Path, count: int, seed: int = 2) -> None:
    """``count`` audit.k8s.io/v1 Event lines (Metadata and Request levels)."""
    rnd = random.Random(seed)
    users = [f"user{i}@example.com" for i in range(40)] + [
        f"system:serviceaccount:ns{i}:sa{i}" for i in range(40)
    ]
    verbs = ["get", "list", "watch", "create", "update", "patch", "delete"]
    resources = ["pods", "deployments", "configmaps", "secrets", "services", "leases", "events"]
    base = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
    with path.open("w", encoding="ascii") as fh:
        lines = []
        for i in range(count):
            moment = base + dt.timedelta(microseconds=i * 15_552_000)
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            verb = verbs[i % len(verbs)]
            res = resources[(i // 7) % len(resources)]
            ns = f"ns{i % 25}"
            name = f"{res[:-1]}-{rnd.getrandbits(24):06x}"
            code = 403 if i % 41 == 0 else (201 if verb == "create" else 200)
            event = {
                "kind": "Event",
                "apiVersion": "audit.k8s.io/v1",
                "level": "Metadata" if i % 5 else "Request",
                "auditID": f"{rnd.getrandbits(128):032x}",
                "stage": "ResponseComplete",
                "requestURI": f"/api/v1/namespaces/{ns}/{res}/{name}",
                "verb": verb,
                "user": {
                    "username": users[i % len(users)],
                    "uid": f"{rnd.getrandbits(64):016x}",
                    "groups": ["system:authenticated"],
                },
                "sourceIPs": [f"10.0.{i % 200}.{i % 250 + 1}"],
                "userAgent": "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",
                "objectRef": {
                    "resource": res,
                    "namespace": ns,
                    "name": name,
                    "apiVersion": "v1",
                },
                "responseStatus": {"metadata": {}, "code": code},
                "requestReceivedTimestamp": stamp,
                "stageTimestamp": stamp,
                "annotations": {
                    "authorization.k8s.io/decision": "forbid" if code == 403 else "allow",
                    "authorization.k8s.io/reason": 'RBAC: allowed by ClusterRoleBinding "x"',
                },
            }
            if event["level"] == "Request" and res != "secrets":
                event["requestObject"] = {"kind": "DeleteOptions", "apiVersion": "v1"}
            lines.append(json.dumps(event, separators=(",", ":")) + "\n")
            if len(lines) >= 50_000:
                fh.writelines(lines)
                lines.clear()
        fh.writelines(lines)


def prepare_data(flows: int, events: int, *, own: bool = False) -> list[Path]:
    """The input files, cached under bench/data by size.

    With ``sample_data/generate.py`` (and not ``own``): the assessed quarter's
    default-format VPC files (exactly ``flows`` records) and audit logs
    (exactly ``events`` lines) of the Northwind sample. Otherwise one file of
    each from the small generators above.
    """
    DATA.mkdir(parents=True, exist_ok=True)
    generator = ROOT / "sample_data" / "generate.py"
    if generator.exists() and not own:
        out = DATA / f"northwind-{flows}-{events}"
        pick = [
            ("flows/vpc/2026-q3", "vpc-flow-logs-*.log"),
            ("runtime/k8s-audit/2026-q3", "*.jsonl"),
        ]
        files = [f for folder, glob in pick for f in sorted((out / folder).glob(glob))]
        if not files:
            argv = [sys.executable, str(generator), "--out", str(out), "--no-gzip"]
            argv += ["--flows", str(flows), "--audit-events", str(events)]
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            files = [f for folder, glob in pick for f in sorted((out / folder).glob(glob))]
        return files
    vpc = DATA / f"vpc-{flows}.log"
    audit = DATA / f"audit-{events}.jsonl"
    if not vpc.exists():
        write_vpc(vpc, flows)
    if not audit.exists():
        write_audit(audit, events)
    return [vpc, audit]


# -- the two sides, each run in a child process -------------------------------------


def child_auditkit(workdir: Path, files: list[Path]) -> None:
    """Ingest ``files`` into a fresh workspace with auditkit."""
    from auditkit.ingest import IngestOptions, ingest_paths
    from auditkit.store import init_workspace, open_store

    ws = init_workspace(
        workdir / "ws",
        organisation="Bench Ltd",
        entity_type="merchant",
        period_start=dt.date(2024, 1, 1),
        period_end=dt.date(2024, 12, 31),
    )
    with open_store(ws, write=True) as con:
        results = ingest_paths(con, files, IngestOptions())
    for r in results:
        if r.status != "stored":
            raise SystemExit(f"auditkit did not store {r.path}: {r.status} {r.error}")
        print(f"  auditkit {Path(r.path).name}: {r.stored} records ({r.format})", file=sys.stderr)


def child_baseline(workdir: Path, files: list[Path]) -> None:
    """CREATE TABLE AS SELECT * FROM read_csv/read_json of the same files."""
    import duckdb

    con = duckdb.connect(str(workdir / "baseline.duckdb"))
    logs = [str(f) for f in files if f.suffix == ".log"]
    events = [str(f) for f in files if f.suffix == ".jsonl"]
    con.execute("CREATE TABLE flows AS SELECT * FROM read_csv(?, delim = ' ')", [logs])
    con.execute(
        "CREATE TABLE events AS SELECT * FROM read_json(?, format = 'newline_delimited')",
        [events],
    )
    con.close()


def run_child(side: str, files: list[Path]) -> tuple[float, float, int]:
    """Run one side in a fresh interpreter: (wall seconds, CPU seconds, peak RSS bytes)."""
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        argv = [sys.executable, __file__, "--child", side, "--workdir", tmp, *map(str, files)]
        start = time.perf_counter()
        proc = subprocess.Popen(argv)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{side} failed with exit code {proc.returncode}")
        return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def main() -> None:
    """Parse arguments and run the benchmark (or one child side)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=4_000_000)
    parser.add_argument("--audit-events", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=1, help="run each side this many times")
    parser.add_argument(
        "--own-generator",
        action="store_true",
        help="use the one-file generators in this script, not sample_data/generate.py",
    )
    parser.add_argument("--child", choices=["auditkit", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        (child_auditkit if args.child == "auditkit" else child_baseline)(args.workdir, args.files)
        return
    files = prepare_data(args.flows, args.audit_events, own=args.own_generator)
    size = sum(f.stat().st_size for f in files)
    print(
        f"machine: {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"input: {args.flows:,} flow records + {args.audit_events:,} audit events, "
        f"{size / 1e6:.0f} MB"
    )
    runs: dict[str, list[tuple[float, float, int]]] = {"baseline": [], "auditkit": []}
    for attempt in range(args.repeat):
        for side in ("baseline", "auditkit"):  # interleaved: both see the same machine load
            runs[side].append(run_child(side, files))
        (bw, bc, brss), (aw, ac, arss) = runs["baseline"][-1], runs["auditkit"][-1]
        print(
            f"run {attempt + 1}: baseline {bw:.2f} s wall, {bc:.2f} s CPU, "
            f"peak RSS {brss / 2**20:.0f} MiB | auditkit {aw:.2f} s wall, {ac:.2f} s CPU, "
            f"peak RSS {arss / 2**20:.0f} MiB | ratio {aw / bw:.2f} wall, {ac / bc:.2f} CPU"
        )
    best = {side: min(r[0] for r in results) for side, results in runs.items()}
    cpu = {side: min(r[1] for r in results) for side, results in runs.items()}
    peak = max(r[2] for r in runs["auditkit"])
    print(
        f"best of {args.repeat}: baseline {best['baseline']:.2f} s, "
        f"auditkit {best['auditkit']:.2f} s, "
        f"ratio {best['auditkit'] / best['baseline']:.2f} (CPU ratio "
        f"{cpu['auditkit'] / cpu['baseline']:.2f}); auditkit peak RSS {peak / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
