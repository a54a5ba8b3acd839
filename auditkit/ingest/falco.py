"""Falco alerts in JSON (``json_output: true``), including k8saudit plugin alerts.

A record is one alert: a JSON object with ``rule``, ``priority`` and a time
(``time``, else ``output_fields["evt.time"]`` in integer nanoseconds). One per
line; a whole-file JSON object or array of them is accepted too. Lines that
are not JSON at all (banners interleaved when the log was captured from a
pod's stdout) are non-records: skipped, counted and kept in the quarantine,
while the file is still accepted. A line that starts like JSON but does not
parse is a malformed record.

``output_fields`` keys contain dots and brackets (``proc.aname[2]``) and are
only ever read as whole keys. ``"<NA>"`` and JSON null both mean "not set".
Parsing is set-based in DuckDB (``json_transform`` with an explicit structure).
"""

from __future__ import annotations

import json
from typing import Any

from auditkit.ingest.base import Format, LoadContext, LoadStats, Sniff
from auditkit.ingest.jsonlines import (
    RecordSpec,
    load_json_records,
    prepare_json_records,
    utc_time_sql,
)

PARSER_VERSION = "1"

PRIORITY_LEVELS = {
    "emergency": 0,
    "alert": 1,
    "critical": 2,
    "error": 3,
    "warning": 4,
    "notice": 5,
    "informational": 6,
    "info": 6,
    "debug": 7,
}

_STRUCTURE = {
    "time": "VARCHAR",
    "rule": "VARCHAR",
    "priority": "VARCHAR",
    "source": "VARCHAR",
    "hostname": "VARCHAR",
    "tags": "VARCHAR[]",
    "output": "VARCHAR",
    "output_fields": "JSON",
}

# output_fields keys read, in this order, with one json_extract_string call per record.
_OF_KEYS = (
    "container.id",
    "container.name",
    "container.image",
    "container.image.repository",
    "container.image.tag",
    "k8s.ns.name",
    "k8s.pod.name",
    "user.name",
    "proc.cmdline",
    "fd.name",
    "evt.time",
    "evt.time.iso8601",
    "ka.target.namespace",
    "ka.target.name",
    "ka.target.resource",
    "ka.user.name",
)


def _of(key: str) -> str:
    """SQL for one output field (NULL for absent, null or ``<NA>``)."""
    return f"nullif(of[{_OF_KEYS.index(key) + 1}], '<NA>')"


def _of_paths() -> str:
    paths = ", ".join("'$.\"" + key + "\"'" for key in _OF_KEYS)
    return f"[{paths}]"


_LEVEL = (
    "CASE lower(trim(e.priority)) "
    + " ".join(f"WHEN '{word}' THEN {level}" for word, level in PRIORITY_LEVELS.items())
    + " END"
)
_EVT_NS = f"try_cast(coalesce({_of('evt.time')}, {_of('evt.time.iso8601')}) AS BIGINT)"
_EVENT_TIME = f"""coalesce(
    {utc_time_sql("nullif(e.time, '<NA>')")},
    CASE WHEN {_EVT_NS} >= 0 THEN make_timestamp({_EVT_NS} // 1000) END)"""

# ``rec`` adds ``of``: the output fields we map, extracted in one call.
_UNWRAP = f"""
    SELECT line_no, locator, line, e,
        CASE WHEN e.output_fields IS NOT NULL AND json_type(e.output_fields) = 'OBJECT'
             THEN json_extract_string(e.output_fields, {_of_paths()}) END AS of
    FROM parsed
"""

_COLUMNS = f"""
    ? AS source_sha256,
    locator,
    {_EVENT_TIME} AS event_time,
    e.rule,
    e.priority,
    {_LEVEL} AS priority_level,
    nullif(e.source, '<NA>') AS source,
    nullif(e.hostname, '<NA>') AS hostname,
    e.tags,
    e.output,
    {_of("container.id")} AS container_id,
    {_of("container.name")} AS container_name,
    coalesce({_of("container.image")},
        {_of("container.image.repository")} || coalesce(':' || {_of("container.image.tag")}, ''))
        AS image,
    coalesce({_of("k8s.ns.name")}, {_of("ka.target.namespace")}) AS namespace,
    coalesce({_of("k8s.pod.name")},
        CASE WHEN {_of("ka.target.resource")} = 'pods' THEN {_of("ka.target.name")} END) AS pod,
    coalesce({_of("user.name")}, {_of("ka.user.name")}) AS user_name,
    {_of("proc.cmdline")} AS proc_cmdline,
    {_of("fd.name")} AS fd_name,
    e.output_fields
"""

_PROBLEM = f"""
    CASE
        WHEN e.rule IS NULL THEN 'not a Falco alert: rule is missing'
        WHEN e.priority IS NULL THEN 'not a Falco alert: priority is missing'
        WHEN {_LEVEL} IS NULL THEN 'unknown Falco priority ' || e.priority
        WHEN e.output_fields IS NOT NULL AND json_type(e.output_fields) <> 'OBJECT'
            THEN 'output_fields is not an object'
        WHEN {_EVENT_TIME} IS NULL THEN 'time is missing or not a timestamp'
    END
"""

SPEC = RecordSpec(
    table="runtime_alerts",
    structure=_STRUCTURE,
    columns=_COLUMNS,
    problem=_PROBLEM,
    banners=True,
    unwrap=_UNWRAP,
    stats="count(*), min(event_time), max(event_time)",
)


def is_alert(obj: Any) -> bool:
    """A Falco alert: ``rule`` and ``priority`` strings plus a time."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("rule"), str)
        and isinstance(obj.get("priority"), str)
        and ("time" in obj or isinstance(obj.get("output_fields"), dict))
    )


def _first_json_line(head: str) -> Any:
    """The first line of ``head`` that starts with ``{`` and parses (banners skipped)."""
    for line in head.splitlines()[:1000]:
        text = line.strip()
        if text.startswith("{"):
            try:
                return json.loads(text)
            except (ValueError, RecursionError):
                return None
    return None


def _matches(sniff: Sniff) -> bool:
    if sniff.shape == "json-lines":
        return is_alert(sniff.first_record)
    if sniff.shape == "json-document":
        doc = sniff.document
        if isinstance(doc, list):
            return bool(doc) and is_alert(doc[0])
        return is_alert(doc)
    if sniff.shape == "text":  # banner lines first, alerts after
        return is_alert(_first_json_line(sniff.head))
    return False


def _load(ctx: LoadContext) -> LoadStats:
    stored, time_min, time_max = load_json_records(ctx, SPEC)
    return LoadStats(stored=stored, time_min=time_min, time_max=time_max)


FORMATS = [
    Format(
        name="falco-json",
        family="runtime",
        description="Falco alerts (JSON output, one per line; banner lines skipped and counted)",
        parser_version=PARSER_VERSION,
        matches=_matches,
        load=_load,
        shapes=("json-lines", "json-document", "text"),
        prepare=prepare_json_records,
    )
]
