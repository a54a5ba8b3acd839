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
from auditkit.errors import NotFoundError, WorkspaceError
from auditkit.evaluate.catalog import Catalog, load_catalog
from auditkit.evaluate.check_view import (
    ParamView,
    parameter_views,
)
from auditkit.evaluate.framework import ProcedureClaim
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
        "population": c.population,
        "procedures": [_claim_doc(catalog, c.id, claim) for claim in c.procedures],
        "requirements": [f"{fw} {req}" for fw, req in catalog.requirements_for(c.id)],
        "resource_key": [
            {"format": k.format, "example": k.example, "when": k.when} for k in c.resource_key
        ],
        "sql_file": str(c.sql_path),
        "yaml_file": str(c.yaml_path),
    }


def _claim_doc(catalog: Catalog, check_id: str, claim: ProcedureClaim) -> dict[str, object]:
    """One procedure a check performs, with the procedure's own methods and description."""
    doc: dict[str, object] = {
        "procedure": claim.procedure,
        "extent": claim.extent,
        "methods_performed": list(claim.methods),
        "limits": claim.limits,
    }
    for fw in catalog.frameworks.values():
        req = fw.requirement_of(claim.procedure)
        proc = req.procedure(claim.procedure) if req else None
        if req is not None and proc is not None and check_id in req.checks:
            doc.update(
                requirement=req.id, procedure_methods=list(proc.methods), description=proc.text
            )
            break
    return doc


def _requirement_doc(catalog: Catalog, target: str) -> dict[str, object] | None:
    """A requirement (or the requirement of a procedure): its procedures and what covers them."""
    for fw in catalog.frameworks.values():
        req = next((r for r in fw.requirements if r.id == target), None) or fw.requirement_of(
            target
        )
        if req is None:
            continue
        procedures = []
        for proc in req.procedures:
            performed = [
                {
                    "check": c,
                    "population": catalog.checks[c].population,
                    "extent": claim.extent,
                    "methods_performed": list(claim.methods),
                    "limits": claim.limits,
                }
                for c in req.checks
                if c in catalog.checks
                for claim in catalog.checks[c].procedures
                if claim.procedure == proc.id
            ]
            procedures.append(
                {
                    "procedure": proc.id,
                    "methods": list(proc.methods),
                    "description": proc.text,
                    "performed_by": performed,
                    "attestation_may_cover": bool(
                        set(proc.methods) & {"documentation", "interview"}
                    ),
                }
            )
        return {
            "framework": fw.id,
            "requirement": req.id,
            "title": req.title,
            "applies_to": req.applies_to,
            "checks": list(req.checks),
            "procedures": procedures,
        }
    return None


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
                    ", ".join(p.get("methods", p.get("methods_performed", []))),
                    p.get("extent", ""),
                    p.get("limits", ""),
                ]
                for p in doc["procedures"]
            ],
        )
    else:
        say("procedures: not declared in this catalog")


def _show_requirement(doc: dict[str, object]) -> None:
    """``controls show 6.3.3`` on a terminal: each procedure and the checks that perform it."""
    rows = []
    for p in _as_list(doc["procedures"]):
        assert isinstance(p, dict)
        performed: list[dict[str, object] | None] = [
            c for c in _as_list(p["performed_by"]) if isinstance(c, dict)
        ] or [None]
        for c in performed:
            rows.append(
                [
                    p["procedure"],
                    ", ".join(str(m) for m in _as_list(p["methods"])),
                    p["description"],
                    "" if c is None else c["check"],
                    "" if c is None else _extent_text(c),
                    "" if c is None else c["population"],
                ]
            )
    print_table(
        f"{doc['requirement']} {doc['title']} ({doc['framework']}): testing procedures",
        ["procedure", "methods", "description", "check", "performs", "population"],
        rows,
    )


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _extent_text(claim: dict[str, object]) -> str:
    if claim["extent"] == "exceptions-only":
        return f"can show exceptions only ({claim['limits']})"
    methods = ", ".join(str(m) for m in _as_list(claim["methods_performed"]))
    text = f"{methods}, {claim['extent']} population"
    return text + (f" ({claim['limits']})" if claim.get("limits") else "")


def _item_text(item: object) -> str:
    if isinstance(item, dict) and "procedure" in item:
        return f"{item['procedure']}: " + _extent_text(item)
    return str(item)


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
        target: Annotated[
            str, typer.Argument(help="Check id, requirement (6.3.3) or procedure (6.3.3.b).")
        ],
        controls: ControlsOpt = None,
        workspace_dir: WsOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Show a check (resource-key shape, population, procedures it performs, parameters and
        where each value comes from, data it needs) or a requirement (its testing procedures and
        which checks perform them, over which population).

        Example: auditkit controls show 6.3.3  (or a check: controls show vuln_db_freshness -w q3)
        """
        ws = _find(workspace_dir)
        catalog = load_catalog([*(ws.config.controls_dirs if ws else ()), *(controls or [])])
        if target not in catalog.checks:
            found = _requirement_doc(catalog, target)
            if found is None:
                raise NotFoundError(
                    f"no check, requirement or testing procedure {target!r}; "
                    "see 'auditkit controls list'"
                )
            if json_out:
                print_json(found)
                return
            _show_requirement(found)
            return
        check = catalog.check(target)
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
