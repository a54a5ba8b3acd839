"""Assessor sampling from a check's population: reproducible by hand, stratified on request.

Method (docs/sampling.md): every population item has a fingerprint. Its sort
key is ``sha256("<seed>:<fingerprint>")`` in hex. The sample is the items with
the smallest keys. Stratified sampling splits the population by one column,
gives each stratum a share proportional to its size (largest remainders
first) and at least one item, then takes the smallest keys inside each
stratum. The same run, seed and size give the same sample on any machine,
and anyone can repeat it with the population file and ``sha256sum``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from auditkit.errors import ConfigError, NotFoundError
from auditkit.safe_output import write_csv
from auditkit.store import first_row

CONTRACT_STRATA = ("status", "severity")


@dataclass
class Sample:
    """A drawn sample and how it was drawn."""

    sample_id: int
    run_id: int
    check_id: str
    method: str
    seed: str
    size_requested: int
    stratify: str | None
    population_size: int
    population_digest: str
    strata: list[dict[str, Any]]
    selected_by: str
    created_at: dt.datetime
    items: list[dict[str, Any]]

    def record(self) -> dict[str, Any]:
        """The sampling.json document."""
        return {
            "sample_id": self.sample_id,
            "run_id": self.run_id,
            "check_id": self.check_id,
            "method": self.method,
            "method_description": (
                "key = sha256('<seed>:<fingerprint>') as hex; take the smallest keys"
                + (
                    "; per stratum, proportional share (largest remainder), at least one each"
                    if self.stratify
                    else ""
                )
            ),
            "seed": self.seed,
            "size_requested": self.size_requested,
            "size_drawn": len(self.items),
            "stratify": self.stratify,
            "population_size": self.population_size,
            "population_digest": self.population_digest,
            "population_digest_method": "sha256 of the population's fingerprints, sorted, "
            "one per line, each followed by a newline",
            "strata": self.strata,
            "selected_by": self.selected_by,
            "selected_at_claimed": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def sample_key(seed: str, fingerprint: str) -> str:
    """The sort key of one item."""
    return hashlib.sha256(f"{seed}:{fingerprint}".encode()).hexdigest()


def _allocate(sizes: dict[str, int], size: int) -> dict[str, int]:
    total = sum(sizes.values())
    if total == 0:
        return {}
    target = max(size, len(sizes))  # every stratum gets at least one item
    exact = {s: target * n / total for s, n in sizes.items()}
    alloc = {s: min(sizes[s], max(1, int(exact[s]))) for s in sizes}
    remaining = min(target, total) - sum(alloc.values())
    order = sorted(sizes, key=lambda s: (-(exact[s] - int(exact[s])), s))
    while remaining > 0:
        progressed = False
        for s in order:
            if remaining and alloc[s] < sizes[s]:
                alloc[s] += 1
                remaining -= 1
                progressed = True
        if not progressed:
            break
    while sum(alloc.values()) > target:  # the one-each floor can overshoot a tiny size
        biggest = max((s for s in alloc if alloc[s] > 1), key=lambda s: (alloc[s], s), default=None)
        if biggest is None:
            break
        alloc[biggest] -= 1
    return alloc


def draw_sample(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    check_id: str,
    size: int,
    seed: str,
    *,
    stratify: str | None,
    selected_by: str,
    claimed_time: dt.datetime,
) -> Sample:
    """Draw and store a sample. Raises NotFoundError/ConfigError for bad arguments."""
    if size < 1:
        raise ConfigError("--size must be at least 1")
    if not seed:
        raise ConfigError("--seed must not be empty")
    row = first_row(
        con.execute(
            "SELECT count(*) FROM run_results WHERE run_id = ? AND check_id = ?", [run_id, check_id]
        )
    )
    if not row or not row[0]:
        raise NotFoundError(f"run {run_id} has no population for check {check_id!r}")
    if stratify is None:
        stratum_sql = "NULL"
    elif stratify in CONTRACT_STRATA:
        stratum_sql = stratify
    else:
        if not stratify.replace("_", "").isalnum():
            raise ConfigError(f"--stratify must be a column name, not {stratify!r}")
        known = first_row(
            con.execute(
                "SELECT count(*) FROM run_results WHERE run_id = ? AND check_id = ? "
                "AND json_exists(evidence, ?)",
                [run_id, check_id, f"$.{stratify}"],
            )
        )
        if not known or not known[0]:
            raise ConfigError(
                f"check {check_id} has no column {stratify!r} to stratify by "
                f"(use status, severity or an evidence column)"
            )
        stratum_sql = f"json_extract_string(evidence, '$.{stratify}')"
    population = con.execute(
        f"SELECT fingerprint, resource, status, coalesce(CAST({stratum_sql} AS VARCHAR), "
        "'(none)') FROM run_results WHERE run_id = ? AND check_id = ? ORDER BY fingerprint",
        [run_id, check_id],
    ).fetchall()
    digest = hashlib.sha256("".join(f"{p[0]}\n" for p in population).encode()).hexdigest()
    keyed = sorted(
        (
            {
                "fingerprint": fp,
                "resource": res,
                "status": st,
                "stratum": stratum,
                "key": sample_key(seed, fp),
            }
            for fp, res, st, stratum in population
        ),
        key=lambda item: item["key"],
    )
    if stratify is None:
        chosen = keyed[:size]
        strata = [{"stratum": "(all)", "population": len(keyed), "sampled": len(chosen)}]
        method = "hash-ordered"
    else:
        sizes: dict[str, int] = {}
        for item in keyed:
            sizes[item["stratum"]] = sizes.get(item["stratum"], 0) + 1
        alloc = _allocate(sizes, size)
        taken: dict[str, int] = {}
        chosen = []
        for item in keyed:
            s = item["stratum"]
            if taken.get(s, 0) < alloc.get(s, 0):
                chosen.append(item)
                taken[s] = taken.get(s, 0) + 1
        strata = [
            {"stratum": s, "population": sizes[s], "sampled": taken.get(s, 0)}
            for s in sorted(sizes)
        ]
        method = "hash-ordered-stratified"
    row = first_row(con.execute("SELECT nextval('sample_id_seq')"))
    sample = Sample(
        int(row[0]),
        run_id,
        check_id,
        method,
        seed,
        size,
        stratify,
        len(keyed),
        digest,
        strata,
        selected_by,
        claimed_time,
        chosen,
    )
    con.execute(
        "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            sample.sample_id,
            run_id,
            check_id,
            method,
            seed,
            size,
            stratify,
            len(keyed),
            digest,
            json.dumps(strata),
            selected_by,
            claimed_time,
            json.dumps(chosen),
        ],
    )
    return sample


def write_sample(sample: Sample, out: Path) -> list[Path]:
    """Write ``sample.csv`` and ``sampling.json`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "sample.csv"
    write_csv(
        csv_path,
        ["fingerprint", "resource", "status", "stratum", "key"],
        [
            [i["fingerprint"], i["resource"], i["status"], i["stratum"], i["key"]]
            for i in sample.items
        ],
    )
    json_path = out / "sampling.json"
    json_path.write_text(json.dumps(sample.record(), indent=2) + "\n", encoding="utf-8")
    return [csv_path, json_path]


def samples_for_run(con: duckdb.DuckDBPyConnection, run_id: int) -> list[dict[str, Any]]:
    """Every sample drawn from a run (for the report's Samples sheet)."""
    rows = con.execute(
        "SELECT sample_id, check_id, method, seed, size_requested, stratify, population_size, "
        "population_digest, strata, selected_by, created_at, items FROM samples "
        "WHERE run_id = ? ORDER BY sample_id",
        [run_id],
    ).fetchall()
    return [
        {
            "sample_id": r[0],
            "check_id": r[1],
            "method": r[2],
            "seed": r[3],
            "size_requested": r[4],
            "stratify": r[5],
            "population_size": r[6],
            "population_digest": r[7],
            "strata": json.loads(r[8]),
            "selected_by": r[9],
            "created_at": r[10],
            "items": json.loads(r[11]),
        }
        for r in rows
    ]
