"""The items the evidence browser carries, as one JSON array built in DuckDB.

Which items: per check, the failing and excepted items the workbook's Exceptions noted
sheet lists (the same caps, most severe first, then by fingerprint), and up to
``PackLimits.browser_other_per_check`` passing and not applicable items (the
lowest fingerprints). Long texts are clipped with a marker. Each item is a JSON
array in :data:`ITEM_FIELDS` order; the namespace and zone filters read the
evidence keys below. No per-row Python: DuckDB writes the JSON text.
"""

from __future__ import annotations

import duckdb

from auditkit.report.limits import PackLimits
from auditkit.report.rows import FINDING_STATUSES, SEVERITY_RANK_SQL

# Evidence keys whose values name a Kubernetes namespace or a network zone: the
# page's namespace and zone filters read these (one value or a list of values).
NAMESPACE_KEYS = ("namespace", "binding_namespace", "role_namespace")
NAMESPACE_LIST_KEYS = ("namespaces", "cde_namespaces")
ZONE_KEYS = ("zone", "src_zone", "dst_zone", "client_zone", "server_zone", "peer_zone")

# Item fields in the order each embedded item array holds them.
ITEM_FIELDS = (
    "check",
    "status",
    "severity",
    "resource",
    "reason",
    "fingerprint",
    "file",
    "locator",
    "exception",
    "requirement",
    "evidence",
    "namespaces",
    "zones",
)


def _clip_sql(expr: str, limit: int) -> str:
    return (
        f"CASE WHEN length({expr}) > {int(limit)} THEN left({expr}, {int(limit)}) || "
        f"'… [' || CAST(length({expr}) - {int(limit)} AS VARCHAR) || "
        f"' more characters; full text in the evidence files]' ELSE {expr} END"
    )


def _list_sql(keys: tuple[str, ...], list_keys: tuple[str, ...]) -> str:
    singles = ", ".join(f"r.evidence->>'{k}'" for k in keys)
    lists = " || ".join(
        f"coalesce(TRY_CAST(r.evidence->'{k}' AS VARCHAR[]), [])" for k in list_keys
    )
    combined = f"[{singles}]" + (f" || {lists}" if lists else "")
    return f"list_sort(list_distinct(list_filter({combined}, lambda x: x IS NOT NULL)))"


def items_json(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    check_ids: list[str],
    finding_caps: list[int],
    other_caps: list[int],
    limits: PackLimits,
) -> tuple[str, dict[str, dict[str, int]], list[str]]:
    """The listed items as one JSON array text, built in DuckDB (no per-row Python).

    Returns the JSON text, the listed counts per check (findings, others), and the
    digests of the files the listed items cite, in the order the items index them.
    """
    if not check_ids:
        return "[]", {}, []
    chars = limits.browser_text_chars
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE browser_listed AS
        WITH caps AS (
            SELECT unnest(?::VARCHAR[]) AS check_id, unnest(?::BIGINT[]) AS check_index,
                   unnest(?::BIGINT[]) AS finding_cap, unnest(?::BIGINT[]) AS other_cap
        ),
        ranked AS (
            SELECT r.rowid AS row_id, r.check_id, list_contains(?, r.status) AS finding,
                   row_number() OVER (
                       PARTITION BY r.check_id, list_contains(?, r.status)
                       ORDER BY CASE WHEN list_contains(?, r.status) THEN """
        + SEVERITY_RANK_SQL
        + """ END,
                                r.fingerprint
                   ) AS n
            FROM run_results r WHERE r.run_id = ?
        )
        SELECT ranked.row_id, ranked.finding, caps.check_index
        FROM ranked JOIN caps USING (check_id)
        WHERE (ranked.finding AND ranked.n <= caps.finding_cap)
           OR (NOT ranked.finding AND ranked.n <= caps.other_cap)
        """,
        [
            check_ids,
            list(range(len(check_ids))),
            finding_caps,
            other_caps,
            list(FINDING_STATUSES),
            list(FINDING_STATUSES),
            list(FINDING_STATUSES),
            run_id,
        ],
    )
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE browser_files AS "
            "SELECT source_sha256, row_number() OVER (ORDER BY source_sha256) - 1 AS file_index "
            "FROM (SELECT DISTINCT r.source_sha256 FROM run_results r JOIN browser_listed b "
            "ON r.rowid = b.row_id WHERE r.source_sha256 IS NOT NULL)"
        )
        files = [
            str(r[0])
            for r in con.execute(
                "SELECT source_sha256 FROM browser_files ORDER BY file_index"
            ).fetchall()
        ]
        counts: dict[str, dict[str, int]] = {c: {"findings": 0, "others": 0} for c in check_ids}
        for index, finding, n in con.execute(
            "SELECT check_index, finding, count(*) FROM browser_listed GROUP BY ALL"
        ).fetchall():
            counts[check_ids[int(index)]]["findings" if finding else "others"] = int(n)
        evidence = "CAST(r.evidence AS VARCHAR)"
        ev_limit = int(limits.browser_evidence_chars)
        row = con.execute(
            f"""
            SELECT coalesce(string_agg(item, ',' ORDER BY check_index, NOT finding, rank,
                                       resource, fingerprint), '')
            FROM (
                SELECT b.check_index, b.finding, {SEVERITY_RANK_SQL} AS rank, r.resource,
                       r.fingerprint, json_array(
                    b.check_index, r.status, r.severity,
                    {_clip_sql("r.resource", chars)}, {_clip_sql("r.reason", chars)},
                    r.fingerprint, f.file_index, {_clip_sql("r.locator", chars)},
                    r.exception_id, r.requirement,
                    CASE WHEN r.evidence IS NULL THEN NULL
                         WHEN length({evidence}) <= {ev_limit} THEN r.evidence
                         ELSE to_json({_clip_sql(evidence, ev_limit)}) END,
                    {_list_sql(NAMESPACE_KEYS, NAMESPACE_LIST_KEYS)},
                    {_list_sql(ZONE_KEYS, ())}
                ) AS item
                FROM run_results r JOIN browser_listed b ON r.rowid = b.row_id
                LEFT JOIN browser_files f USING (source_sha256)
            )
            """
        ).fetchone()
    finally:
        con.execute("DROP TABLE IF EXISTS browser_listed")
        con.execute("DROP TABLE IF EXISTS browser_files")
    return "[" + (str(row[0]) if row else "") + "]", counts, files
