"""``auditkit init`` and ``auditkit keygen``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from auditkit.cli._common import JsonOpt, WorkspaceOpt, print_json, say, workspace
from auditkit.errors import ConfigError
from auditkit.store import init_workspace
from auditkit.workspace import ENTITY_TYPES


def _last_quarter(today: dt.date) -> tuple[dt.date, dt.date]:
    q_start_month = 3 * ((today.month - 1) // 3) + 1
    this_q = dt.date(today.year, q_start_month, 1)
    end = this_q - dt.timedelta(days=1)
    start = dt.date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
    return start, end


def _parse_date(text: str | None, what: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what} must be a date like 2026-07-01, not {text!r}") from None


def register(app: typer.Typer) -> None:
    """Add the commands to the app."""

    @app.command("init")
    def init(
        directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
        org: Annotated[str, typer.Option("--org", help="Organisation name.")],
        entity_type: Annotated[
            str, typer.Option("--entity-type", help="merchant or service_provider.")
        ] = "merchant",
        period_start: Annotated[
            str | None,
            typer.Option(
                "--period-start", help="Assessment period start (default: last full quarter)."
            ),
        ] = None,
        period_end: Annotated[
            str | None,
            typer.Option(
                "--period-end", help="Assessment period end (default: last full quarter)."
            ),
        ] = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite auditkit.toml.")] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Create a workspace: auditkit.toml and an empty store.

        Example: auditkit init ./q3-audit --org "Example Payments Ltd" --entity-type merchant
        --period-start 2026-07-01 --period-end 2026-09-30
        """
        if entity_type not in ENTITY_TYPES:
            raise ConfigError(f"--entity-type must be one of {', '.join(ENTITY_TYPES)}")
        default_start, default_end = _last_quarter(dt.date.today())
        start = _parse_date(period_start, "--period-start") or default_start
        end = _parse_date(period_end, "--period-end") or default_end
        ws = init_workspace(
            directory,
            organisation=org,
            entity_type=entity_type,
            period_start=start,
            period_end=end,
            force=force,
        )
        if json_out:
            print_json(
                {"workspace": str(ws.root), "config": str(ws.config_path), "store": str(ws.db_path)}
            )
        else:
            say(
                f"created workspace {ws.root} (period {start} to {end}); "
                f"edit {ws.config_path.name} to declare the CDE scope"
            )

    @app.command("keygen")
    def keygen(
        workspace_dir: WorkspaceOpt = None,
        force: Annotated[bool, typer.Option("--force", help="Replace existing keys.")] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Create the workspace's signing keys, offline (private files mode 0600).

        Example: auditkit keygen -w ./q3-audit
        """
        from auditkit.sign.keys import generate_keys

        ws = workspace(workspace_dir)
        with ws.lock():
            info = generate_keys(ws.keys_dir, subject_name=ws.config.organisation, overwrite=force)
        doc = {
            "keys_dir": str(ws.keys_dir),
            "manifest_key_fingerprint_sha256": info.manifest_key_fingerprint,
            "pdf_root_certificate_fingerprint_sha256": info.root_fingerprint,
        }
        if json_out:
            print_json(doc)
        else:
            say(f"signing keys written to {ws.keys_dir}")
            say(f"manifest key fingerprint (sha256): {info.manifest_key_fingerprint}")
            say(f"PDF root certificate fingerprint (sha256): {info.root_fingerprint}")
            say("give these fingerprints to your assessor through a separate channel")
