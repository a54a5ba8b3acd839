"""``auditkit controls list|show|lint``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditkit.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    JsonOpt,
    print_json,
    print_table,
    say,
)
from auditkit.errors import WorkspaceError
from auditkit.evaluate.catalog import Catalog, load_catalog
from auditkit.workspace import find_workspace

ControlsOpt = Annotated[
    list[Path] | None,
    typer.Option("--controls", help="Extra folder of checks/frameworks (repeatable)."),
]
WsOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help="Workspace whose auditkit.toml may name extra controls folders."
    ),
]


def _dirs(workspace_dir: Path | None, controls: list[Path] | None) -> list[Path]:
    extra = list(controls or [])
    try:
        ws = find_workspace(explicit=workspace_dir)
        extra = [*ws.config.controls_dirs, *extra]
    except WorkspaceError:
        if workspace_dir is not None:
            raise
    return extra


def _check_doc(catalog: Catalog, check_id: str) -> dict[str, object]:
    c = catalog.check(check_id)
    return {
        "id": c.id,
        "title": c.title,
        "domain": c.domain,
        "severity": c.severity,
        "description": c.description,
        "rationale": c.rationale,
        "remediation": c.remediation,
        "resource_type": c.resource_type,
        "requires": [
            {"table": r.table, "missing": r.missing, "time_column": r.time_column}
            for r in c.requires
        ],
        "params": [
            {
                "name": p.name,
                "type": p.type,
                "default": p.default,
                "provenance": p.provenance,
                "unit": p.unit,
                "description": p.description,
            }
            for p in c.params
        ],
        "evidence_columns": list(c.evidence_columns),
        "requirements": [f"{fw} {req}" for fw, req in catalog.requirements_for(c.id)],
        "sql_file": str(c.sql_path),
        "yaml_file": str(c.yaml_path),
    }


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    controls_app = typer.Typer(
        help="The controls catalog: checks and frameworks.", no_args_is_help=True
    )
    app.add_typer(controls_app, name="controls")

    @controls_app.command("list")
    def list_(
        controls: ControlsOpt = None, workspace_dir: WsOpt = None, json_out: JsonOpt = False
    ) -> None:
        """List every check and the requirements it evidences.

        Example: auditkit controls list --json
        """
        catalog = load_catalog(_dirs(workspace_dir, controls))
        checks = [_check_doc(catalog, cid) for cid in sorted(catalog.checks)]
        frameworks = [
            {
                "id": f.id,
                "title": f.title,
                "version": f.version,
                "requirements": len(f.requirements),
                "automated_requirements": sum(1 for r in f.requirements if r.checks),
                "manual_requirements": sum(1 for r in f.requirements if r.manual),
            }
            for f in catalog.frameworks.values()
        ]
        if json_out:
            print_json(
                {"catalog_digest": catalog.digest, "frameworks": frameworks, "checks": checks}
            )
            return
        print_table(
            "Checks",
            ["id", "severity", "requirements", "title"],
            [
                [
                    c["id"],
                    c["severity"],
                    ", ".join(str(r) for r in _as_list(c["requirements"])),
                    c["title"],
                ]
                for c in checks
            ],
        )
        for f in frameworks:
            say(
                f"framework {f['id']}: {f['requirements']} requirements, "
                f"{f['automated_requirements']} with checks, {f['manual_requirements']} manual"
            )

    @controls_app.command("show")
    def show(
        check_id: Annotated[str, typer.Argument(help="Check id.")],
        controls: ControlsOpt = None,
        workspace_dir: WsOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Show one check: metadata, parameters, data it needs, requirements it maps to.

        Example: auditkit controls show vuln_critical_patch_window
        """
        catalog = load_catalog(_dirs(workspace_dir, controls))
        doc = _check_doc(catalog, check_id)
        if json_out:
            print_json(doc)
            return
        rows = [
            [k, v if not isinstance(v, list) else "; ".join(str(i) for i in v)]
            for k, v in doc.items()
        ]
        print_table(f"Check {check_id}", ["field", "value"], rows)

    @controls_app.command("lint")
    def lint(
        controls: ControlsOpt = None, workspace_dir: WsOpt = None, json_out: JsonOpt = False
    ) -> None:
        """Validate the whole catalog and report every problem at once (exit 2 if any).

        Example: auditkit controls lint --controls ./my-controls
        """
        catalog = load_catalog(_dirs(workspace_dir, controls), strict=False)
        if json_out:
            print_json(
                {
                    "ok": not catalog.problems,
                    "problems": catalog.problems,
                    "checks": len(catalog.checks),
                    "frameworks": len(catalog.frameworks),
                }
            )
        else:
            for problem in catalog.problems:
                say(problem)
            say(
                f"{len(catalog.checks)} checks, {len(catalog.frameworks)} framework(s): "
                + ("clean" if not catalog.problems else f"{len(catalog.problems)} problem(s)")
            )
        raise typer.Exit(EXIT_BAD_INPUT if catalog.problems else EXIT_OK)
