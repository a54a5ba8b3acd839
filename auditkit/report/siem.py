"""SIEM exports of one stored run: OCSF, ECS or Splunk HEC, one JSON document per line.

What is written: one document per requirement result (first, in the
framework's order), then one per evaluated item (every ``run_results`` row,
in stored order). The formats carry the same content (docs/siem.md):

- ``ocsf``: OCSF 1.5 *Compliance Finding* (class 2003), built with
  py-ocsf-models, so every document is an instance of the library's model;
- ``ecs``: Elastic Common Schema documents (``event.*``, ``rule.*``,
  ``entity.*``, ``observer.*``; auditkit's own fields under ``auditkit.*``),
  optionally preceded by ``_bulk`` action lines;
- ``splunk``: HEC event JSON (``time``, ``host``, ``source``, ``sourcetype``
  ``auditkit:requirement`` / ``auditkit:item``, ``event``).

How a million items are written without a Python loop over them: the
per-item documents differ only in a few values (resource, reason,
fingerprint, source, locator, evidence, exception). For every distinct
(check, status, severity, requirement scope) of the run, Python builds the
whole document once, with a placeholder in each per-item value, and
serialises it; the text is split at the placeholders into static segments.
DuckDB then writes each line as ``segment || value || segment ...``, where
each value is the column passed through the SIEM sanitizer macro and
``to_json``. The structure, the ids and every static value come from the
template (for OCSF: from the library's model); the set-based query only
fills in JSON string literals. :func:`check_template` proves each template
is one valid document whatever the values.

Times come from the run (its claimed evaluation time and its period), never
from the clock, so the same run gives the same bytes. The evidence JSON of an
item travels as a string (its JSON text): evidence objects differ per check,
and a SIEM mapping them as fields would reject or mistype documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import duckdb

from auditkit.errors import InternalError
from auditkit.report.data import RequirementView, RunReport
from auditkit.report.siem_docs import (
    ECS_VERSION,
    FORMATS,
    ITEM_BUILDERS,
    REQUIREMENT_BUILDERS,
    SEP,
    SLOT_RE,
    SLOTS,
    TOKEN,
    ExportCounts,
    ExportOptions,
    Format,
    ItemGroup,
    RunFacts,
    slot,
)
from auditkit.report.siem_map import SEVERITY_IDS
from auditkit.safe_output import SIEM_TEXT_MACRO, siem_text

BATCH_ROWS = 8_192
__all__ = ["ECS_VERSION", "FORMATS", "ExportCounts", "ExportOptions", "Format", "write_lines"]

# --------------------------------------------------------------------------- templates


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class Template:
    """A document split at its per-item values: ``segments`` around ``slots``."""

    segments: tuple[str, ...]
    slots: tuple[str, ...]

    def fill(self, values: dict[str, str | None]) -> str:
        """The line for ``values`` (Python twin of the SQL; used by tests and checks)."""
        out = [self.segments[0]]
        for name, segment in zip(self.slots, self.segments[1:], strict=True):
            value = values.get(name)
            out.append(
                "null" if value is None else json.dumps(siem_text(value), ensure_ascii=False)
            )
            out.append(segment)
        return "".join(out)


def split_template(text: str) -> Template:
    """Split serialised JSON at the slot placeholders."""
    parts = SLOT_RE.split(text)
    segments, slots = tuple(parts[0::2]), tuple(parts[1::2])
    unknown = set(slots) - set(SLOTS)
    if unknown or TOKEN in "".join(segments):
        raise InternalError(f"export template has stray placeholders: {sorted(unknown)}")
    return Template(segments, slots)


def check_template(template: Template) -> None:
    """Prove the template gives one JSON document per line, whatever the values."""
    probe: dict[str, str | None] = {name: '"\n\u2028{x}\\' for name in SLOTS}
    empty: dict[str, str | None] = dict.fromkeys(SLOTS)
    for values in (probe, empty):
        line = template.fill(values)
        if "\n" in line.replace("}\n{", "}{"):
            raise InternalError("export template would split a line")
        for part in line.split("\n"):
            json.loads(part)


def item_template(run: RunFacts, item: ItemGroup, options: ExportOptions) -> Template:
    """The serialised document of one item group, with its per-item values as slots."""
    builder = ITEM_BUILDERS[options.format]
    text = _dumps(builder(run, item))
    if options.format == "ecs" and options.ecs_bulk_index is not None:
        action = {"create": {"_index": options.ecs_bulk_index, "_id": slot("event_uid")}}
        text = _dumps(action) + "\n" + text
    return split_template(text)


def requirement_line(run: RunFacts, req: RequirementView, sev: int, options: ExportOptions) -> str:
    """The document (and ``_bulk`` action) of one requirement result."""
    builder = REQUIREMENT_BUILDERS[options.format]
    text = _dumps(builder(run, req, sev))
    if options.format == "ecs" and options.ecs_bulk_index is not None:
        action = {"create": {"_index": options.ecs_bulk_index, "_id": f"{run.uid}/{req.id}"}}
        text = _dumps(action) + "\n" + text
    return text


# --------------------------------------------------------------------------- streaming

_SEVERITY_SQL = (
    "CASE r.severity "
    + " ".join(f"WHEN '{k}' THEN {v}" for k, v in SEVERITY_IDS.items())
    + " ELSE 0 END"
)


def _requirement_severities(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, int]:
    """Per requirement, the highest severity among its failing items (set-based)."""
    rows = con.execute(
        f"""
        SELECT q.requirement, max({_SEVERITY_SQL})
        FROM (SELECT requirement, unnest(checks) AS check_id
              FROM run_requirements WHERE run_id = ?) q
        JOIN run_results r ON r.run_id = ? AND r.check_id = q.check_id
             AND (r.requirement IS NULL OR r.requirement = q.requirement)
        WHERE r.status = 'fail'
        GROUP BY q.requirement
        """,
        [run_id, run_id],
    ).fetchall()
    return {str(req): int(sev) for req, sev in rows}


def _groups(con: duckdb.DuckDBPyConnection, report: RunReport) -> list[ItemGroup]:
    rows = con.execute(
        "SELECT DISTINCT check_id, status, severity, requirement FROM run_results "
        "WHERE run_id = ? ORDER BY ALL",
        [report.run_id],
    ).fetchall()
    groups = []
    for check_id, status, severity, requirement in rows:
        check = report.checks.get(check_id)
        if check is None:
            raise InternalError(f"run {report.run_id} has results of an unknown check {check_id}")
        groups.append(ItemGroup(check, status, severity, requirement))
    return groups


def _group_key(item: ItemGroup) -> str:
    return SEP.join((item.check.id, item.status, item.severity, item.requirement or "\x00"))


def _item_lines(
    con: duckdb.DuckDBPyConnection, run: RunFacts, groups: list[ItemGroup], options: ExportOptions
) -> Iterator[list[str]]:
    """Batches of item lines, in stored order, built set-based by DuckDB."""
    if not groups:
        return
    templates = [item_template(run, g, options) for g in groups]
    slots = templates[0].slots
    for template in templates:
        if template.slots != slots:
            raise InternalError("export templates differ in their per-item values")
        check_template(template)
    con.execute(SIEM_TEXT_MACRO)
    line_sql = " || ".join(
        ["t.segs[1]"]
        + [
            f"coalesce(CAST(to_json(siem_text({SLOTS[name]})) AS VARCHAR), 'null') "
            f"|| t.segs[{i + 2}]"
            for i, name in enumerate(slots)
        ]
    )
    params: list[Any] = [[_group_key(g) for g in groups], [list(t.segments) for t in templates]]
    params += [run.uid] * slots.count("event_uid")
    params.append(run.report.run_id)
    sql = f"""
        WITH t AS (SELECT unnest(?::VARCHAR[]) AS key, unnest(?::VARCHAR[][]) AS segs)
        SELECT {line_sql} AS line
        FROM run_results r
        LEFT JOIN sources s USING (source_sha256)
        JOIN t ON t.key = concat_ws(chr(31), r.check_id, r.status, r.severity,
                                    coalesce(r.requirement, chr(0)))
        WHERE r.run_id = ?
    """
    rel = con.sql(sql, params=params)
    reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_record_batch
    for batch in reader(BATCH_ROWS):
        yield batch.column(0).to_pylist()


def write_lines(
    con: duckdb.DuckDBPyConnection,
    report: RunReport,
    options: ExportOptions,
    write: Callable[[bytes], object],
) -> ExportCounts:
    """Write the export of ``report`` as UTF-8 JSON lines through ``write``.

    Requirement results first, then every item of the run. Raises
    :class:`InternalError` if the lines written do not account for every
    stored item.
    """
    if options.format not in FORMATS:
        raise InternalError(f"unknown export format {options.format!r}")
    run = RunFacts(report)
    counts = ExportCounts()
    per_doc = 2 if options.format == "ecs" and options.ecs_bulk_index is not None else 1
    severities = _requirement_severities(con, report.run_id)
    lines = [
        requirement_line(run, req, severities.get(req.id, 1), options)
        for req in report.requirements
    ]
    if lines:
        write(("\n".join(lines) + "\n").encode("utf-8"))
    counts.requirements = len(lines)
    for batch in _item_lines(con, run, _groups(con, report), options):
        if None in batch:
            raise InternalError("an export line came out empty")
        write(("\n".join(batch) + "\n").encode("utf-8"))
        counts.items += len(batch)
    row = con.execute(
        "SELECT count(*) FROM run_results WHERE run_id = ?", [report.run_id]
    ).fetchone()
    stored = int(row[0]) if row else 0
    if counts.items != stored:
        raise InternalError(f"export wrote {counts.items} items of the run's {stored}")
    counts.lines = (counts.requirements + counts.items) * per_doc
    return counts
