"""``auditkit ingest``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from auditkit.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    JsonOpt,
    WorkspaceOpt,
    print_json,
    print_table,
    progress,
    say,
    workspace,
)
from auditkit.errors import ConfigError
from auditkit.ingest import IngestOptions, IngestResult, expand_paths, format_names, ingest_paths
from auditkit.ingest.snapshots import DateNote, date_note
from auditkit.ingest.source import MAX_DOCUMENT_BYTES, format_size, parse_size
from auditkit.store import open_store


def _range(r: IngestResult) -> str:
    if r.time_min is None:
        return ""
    lo = r.time_min.strftime("%Y-%m-%d %H:%M")
    hi = r.time_max.strftime("%Y-%m-%d %H:%M") if r.time_max else ""
    return f"{lo} .. {hi}"


def _status(r: IngestResult, note: DateNote | None) -> str:
    text = r.status
    if r.observation_recorded:
        text += "; new observation date recorded"
    if note is not None and note.observed_at:
        text += "; observed " + ", ".join(note.observed_at)
    elif note is not None and note.warning:
        text += "; UNDATED"
    return text


def register(app: typer.Typer) -> None:
    """Add the command to the app."""

    @app.command("ingest")
    def ingest(
        paths: Annotated[list[Path], typer.Argument(help="Files or folders (walked recursively).")],
        format_name: Annotated[
            str | None,
            typer.Option("--format", help="Skip detection and read every file as this format."),
        ] = None,
        skip_bad_records: Annotated[
            bool,
            typer.Option(
                "--skip-bad-records",
                help="Store the good records and quarantine malformed ones "
                "(default: reject the file).",
            ),
        ] = False,
        vpc_fields: Annotated[
            str | None,
            typer.Option(
                "--vpc-fields",
                help="LogFormat of headerless VPC flow logs: v2..v5 or the field names in order.",
            ),
        ] = None,
        observed_at: Annotated[
            str | None,
            typer.Option(
                "--observed-at",
                help="For snapshot exports (RBAC, policies, user inventory): "
                "the date they describe.",
            ),
        ] = None,
        max_input_size: Annotated[
            str,
            typer.Option(
                "--max-input-size",
                help="Largest a gzip file may inflate to, and a JSON/YAML/CSV document may be "
                f"(default {format_size(MAX_DOCUMENT_BYTES).replace(' ', '')}); e.g. 2GiB.",
            ),
        ] = format_size(MAX_DOCUMENT_BYTES).replace(" ", ""),
        workspace_dir: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Ingest scan results, logs, flows and access exports (format detected from content).

        Example: auditkit ingest scans/ audit.log.gz flows/vpc/ --observed-at 2026-09-30
        """
        ws = workspace(workspace_dir)
        observed = None
        if observed_at:
            try:
                observed = dt.datetime.fromisoformat(observed_at)
            except ValueError:
                raise ConfigError(f"--observed-at must be a date, not {observed_at!r}") from None
        if format_name and format_name not in format_names():
            raise ConfigError(
                f"unknown --format {format_name!r}; supported: {', '.join(format_names())}"
            )
        try:
            max_bytes = parse_size(max_input_size)
        except ValueError as exc:
            raise ConfigError(f"--max-input-size: {exc}") from None
        options = IngestOptions(
            format=format_name,
            skip_bad_records=skip_bad_records,
            vpc_fields=vpc_fields,
            observed_at=observed,
            max_input_bytes=max_bytes,
            staging_dir=ws.tmp_dir,
        )
        total = len(expand_paths(paths))
        with open_store(ws, write=True) as con, progress(not json_out, "ingesting", total) as step:
            results = ingest_paths(con, paths, options, on_file=lambda r: step(r.path))
            dates = {
                id(r): date_note(con, r.path, r.sha256, r.format, r.family, r.time_min)
                for r in results
                if r.status != "rejected"
            }
        rejected = [r for r in results if r.status == "rejected"]
        not_read = [r for r in results if r.status == "skipped"]
        if json_out:
            print_json(
                {
                    "files": [
                        {**r.to_json(), **(dates[id(r)].to_json() if id(r) in dates else {})}
                        for r in results
                    ],
                    "stored": sum(r.stored for r in results if r.status == "stored"),
                    "skipped": sum(r.skipped for r in results),
                    "rejected": len(rejected),
                    "files_skipped": len(not_read),
                }
            )
        else:
            print_table(
                None,
                ["file", "format", "status", "stored", "skipped", "time range"],
                [
                    [r.path, r.format or "", _status(r, dates.get(id(r))), r.stored, r.skipped]
                    + [_range(r)]
                    for r in results
                ],
            )
            for r in results:
                for loc, why in r.skipped_detail[:5]:
                    say(f"skipped {r.path}:{loc}: {why}")
                for note in r.notes:
                    say(f"note {r.path}: {note}")
            for r in not_read:
                say(f"skipped {r.error}")
            for r in rejected:
                say(f"error: {r.error}")
        for date in dates.values():
            if date.warning:
                say(f"warning: {date.warning}")
        raise typer.Exit(EXIT_BAD_INPUT if rejected else EXIT_OK)
