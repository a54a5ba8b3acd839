"""``auditkit controls list|show|lint``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
from auditkit.evaluate.check_view import (
    ParamView,
    parameter_views,
    population,
    procedure_lines,
)
from auditkit.evaluate.register_lint import lint_registers
from auditkit.evaluate.registers import load_registers
from auditkit.workspace import Workspace, find_workspace

ControlsOpt = Annotated[
    list[Path] | None,
    typer.Option("--controls", help="Extra folder of checks/frameworks (repeatable)."),
]
WsOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace (default: the one around the current folder, if any): its extra "
        "controls folders, parameter values and registers.",
    ),
]


def _find(workspace_dir: Path | None) -> Workspace | None:
    """The workspace named or found from the current folder; None outside one (unless named)."""
    try:
        return find_workspace(explicit=workspace_dir)
    except WorkspaceError:
        if workspace_dir is not None:
            raise
    return None


def _dirs(workspace_dir: Path | None, controls: list[Path] | None) -> list[Path]:
    ws = _find(workspace_dir)
    return [*(ws.config.controls_dirs if ws else ()), *(controls or [])]


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
        "resource_key": [
            {"format": k.format, "example": k.example, "when": k.when} for k in c.resource_key
        ],
        "population": population(c),
        "procedures": procedure_lines(c),
        "sql_file": str(c.sql_path),
        "yaml_file": str(c.yaml_path),
    }


def _shown(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _show_tables(doc: dict[str, Any], params: list[ParamView]) -> None:
    """``controls show`` on a terminal: the check, its key shapes, parameters and procedures."""
    skip = {"params", "resource_key", "procedures", "requires", "population"}
    rows = [[k, "; ".join(str(i) for i in v) if isinstance(v, list) else v] for k, v in doc.items()]
    rows = [r for r in rows if r[0] not in skip]
    rows.insert(4, ["population", doc["population"] or "(not declared in this catalog)"])
    rows.append(
        ["data needed", "; ".join(f"{r['table']}: else '{r['missing']}'" for r in doc["requires"])]
    )
    print_table(f"Check {doc['id']}", ["field", "value"], rows)
    print_table(
        "Resource key (what an exception's match.resource must equal)",
        ["format", "example", "when"],
        [[k["format"], k["example"], k["when"]] for k in doc["resource_key"]],
    )
    if params:
        print_table(
            "Parameters",
            ["name", "value", "source", "from", "default", "unit", "description"],
            [
                [p.name, _shown(p.value), p.source, p.detail, _shown(p.default), p.unit]
                + [" ".join(p.description.split())]
                for p in params
            ],
        )
    if doc["procedures"]:
        print_table(
            "Testing procedures it performs",
            ["procedure", "methods", "extent", "limits"],
            [
                [
                    p.get("procedure", ""),
                    ", ".join(p.get("methods", [])),
                    p.get("extent", ""),
                    p.get("limits", ""),
                ]
                for p in doc["procedures"]
            ],
        )
    else:
        say("procedures: not declared in this catalog")


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
        """Show one check: its resource-key shape, population, parameters and their source
        (default, auditkit.toml or an attestation), procedures, data it needs, requirements.

        Example: auditkit controls show vuln_critical_patch_window -w q3
        """
        ws = _find(workspace_dir)
        catalog = load_catalog([*(ws.config.controls_dirs if ws else ()), *(controls or [])])
        check = catalog.check(check_id)
        doc = _check_doc(catalog, check.id)
        registers = None
        if ws is not None:
            cfg = ws.config
            registers = load_registers(
                cfg.exceptions_path, cfg.attestations_path, cfg.approved_flows_path, ws.root
            )
        params = parameter_views(check, catalog, ws.config if ws else None, registers)
        doc["params"] = [p.to_json() for p in params]
        doc["params_for"] = str(ws.root) if ws else None
        if json_out:
            print_json(doc)
            return
        _show_tables(doc, params)

    @controls_app.command("lint")
    def lint(
        controls: ControlsOpt = None, workspace_dir: WsOpt = None, json_out: JsonOpt = False
    ) -> None:
        """Validate the whole catalog, and the workspace's registers against it (exit 2 if any).

        In a workspace (or with --workspace), every exception, attestation and approved
        flow is checked too: unknown check ids, checks the framework does not evaluate,
        requirements a check does not evidence, resource keys of the wrong shape.

        Example: auditkit controls lint --workspace q3
        """
        ws = _find(workspace_dir)
        dirs = [*(ws.config.controls_dirs if ws else ()), *(controls or [])]
        catalog = load_catalog(dirs, strict=False)
        registers = lint_registers(ws.config, ws.root, catalog) if ws else None
        problems = [*catalog.problems, *(registers.problems if registers else [])]
        if json_out:
            print_json(
                {
                    "ok": not problems,
                    "problems": problems,
                    "checks": len(catalog.checks),
                    "frameworks": len(catalog.frameworks),
                    "registers": registers.to_json() if registers else None,
                }
            )
        else:
            for problem in problems:
                say(problem)
            summary = f"{len(catalog.checks)} checks, {len(catalog.frameworks)} framework(s)"
            if registers:
                summary += (
                    f"; registers: {registers.exceptions} exception(s), "
                    f"{registers.attestations} attestation(s), "
                    f"{registers.approved_flows} approved flow(s)"
                )
            say(summary + ": " + ("clean" if not problems else f"{len(problems)} problem(s)"))
        raise typer.Exit(EXIT_BAD_INPUT if problems else EXIT_OK)
