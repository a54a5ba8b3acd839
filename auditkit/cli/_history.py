"""``auditkit diff``, ``gap``, ``sample`` and ``timeliness``: working across runs."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from auditkit.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    print_json,
    print_table,
    result_style,
    say,
    workspace,
)
from auditkit.clock import claimed_now
from auditkit.errors import ConfigError, NotFoundError
from auditkit.evaluate.catalog import load_catalog
from auditkit.store import first_row, open_store

RunOpt = Annotated[int | None, typer.Option("--run", help="Run id (default: the latest run).")]


def _latest_run(con: object) -> int:
    row = first_row(con.execute("SELECT max(run_id) FROM runs"))  # type: ignore[attr-defined]
    if not row or row[0] is None:
        raise NotFoundError("no run stored yet; run 'auditkit evaluate' first")
    return int(row[0])


def register(app: typer.Typer) -> None:
    """Add the commands to the app."""

    @app.command("diff")
    def diff(
        runs: Annotated[
            list[int],
            typer.Argument(help="RUN_B, or RUN_A RUN_B (RUN_A defaults to the run before RUN_B)."),
        ],
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Also write the comparison as a workbook (.xlsx)."),
        ] = None,
        workspace_dir: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Compare two runs: candidate results that changed; exceptions new, resolved, persisting.

        Example: auditkit diff 2          (run 2 against the run before it)
        """
        from auditkit.history.diff import diff_runs

        if len(runs) not in (1, 2):
            raise ConfigError("give RUN_B, or RUN_A RUN_B")
        run_a, run_b = (None, runs[0]) if len(runs) == 1 else (runs[0], runs[1])
        ws = workspace(workspace_dir)
        if out is not None:
            ws.check_output(out)
        with open_store(ws, write=False) as con:
            result = diff_runs(con, run_a, run_b)
        if out is not None:
            from auditkit.report.analysis import write_diff_workbook

            write_diff_workbook(result, out)
        if json_out:
            print_json(result.to_json())
            return
        changed = [r for r in result.requirements if r.changed]
        print_table(
            f"Requirement results, run {result.run_a} ({result.as_of_a}) -> run {result.run_b} "
            f"({result.as_of_b})",
            ["requirement", "before", "after", "title"],
            [[r.requirement, r.before or "-", r.after or "-", r.title] for r in changed],
            styles={1: result_style, 2: result_style},
        )
        print_table(
            "Exceptions noted, by check",
            ["check", "new", "resolved", "persisting", "excepted", "not re-tested", "first tested"],
            [
                [
                    c.check_id,
                    c.new,
                    c.resolved,
                    c.persisting,
                    c.excepted,
                    c.not_retested,
                    c.first_tested,
                ]
                for c in result.checks
                if c.new
                or c.resolved
                or c.persisting
                or c.excepted
                or c.not_retested
                or c.first_tested
            ],
        )
        totals = result.to_json()["totals"]
        say(
            f"{len(changed)} requirement result(s) changed; exceptions: {totals['new']} new, "
            f"{totals['resolved']} resolved, {totals['persisting']} persisting, "
            f"{totals['excepted']} now excepted, {totals['not_retested']} not re-tested, "
            f"{totals['first_tested']} first tested"
        )
        if out is not None:
            say(f"workbook written to {out}")

    @app.command("gap")
    def gap(
        run: RunOpt = None,
        plan: Annotated[
            Path | None,
            typer.Option("--plan", help="YAML plan file: check or requirement, owner, due, note."),
        ] = None,
        out: Annotated[
            Path | None, typer.Option("--out", help="Also write the plan as a workbook (.xlsx).")
        ] = None,
        workspace_dir: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Prioritised plan: every requirement short of a proposed In Place, with what is left.

        Needs no signing key. Example: auditkit gap --plan remediation-plan.yaml
        """
        from auditkit.history.gap import gap_analysis, load_plan

        ws = workspace(workspace_dir)
        if out is not None:
            ws.check_output(out)
        entries = load_plan(plan)
        with open_store(ws, write=False) as con:
            run_id = run if run is not None else _latest_run(con)
            items = gap_analysis(con, run_id, entries)
        if out is not None:
            from auditkit.report.analysis import write_gap_workbook

            write_gap_workbook(items, out, run_id)
        if json_out:
            print_json({"run_id": run_id, "items": [i.to_json() for i in items]})
            return
        print_table(
            f"Remediation plan for run {run_id}",
            [
                "#",
                "requirement",
                "result",
                "severity",
                "affected",
                "earliest deadline",
                "owner",
                "due",
                "checks",
            ],
            [
                [
                    i.priority,
                    i.requirement,
                    i.result,
                    i.severity,
                    i.affected,
                    i.earliest_deadline or "",
                    i.owner or "",
                    i.due or "",
                    ", ".join(c["check_id"] for c in i.checks),
                ]
                for i in items
            ],
            styles={2: result_style},
        )
        by_result = {
            r: sum(1 for i in items if i.result == r)
            for r in dict.fromkeys(i.result for i in items)
        }
        say(
            f"{len(items)} requirement(s) short of a proposed In Place: "
            + ", ".join(f"{n} {r}" for r, n in by_result.items())
        )

    @app.command("sample")
    def sample(
        check: Annotated[str, typer.Option("--check", help="Check whose population to sample.")],
        size: Annotated[int, typer.Option("--size", help="Number of items to draw.")],
        seed: Annotated[str, typer.Option("--seed", help="The assessor's seed (any text).")],
        run: RunOpt = None,
        stratify: Annotated[
            str | None,
            typer.Option(
                "--stratify",
                help="Column to stratify by (status, severity or an evidence column).",
            ),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option(
                "--out",
                help="Folder for sample.csv and sampling.json (default: ./sample-<id>).",
            ),
        ] = None,
        selected_by: Annotated[
            str | None, typer.Option("--by", help="Who draws the sample (default: the login name).")
        ] = None,
        workspace_dir: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Draw a reproducible sample of a check's population (same run+seed+size = same sample).

        Example: auditkit sample --run 2 --check users_inactive_accounts --size 10 --seed 4711
        --stratify account_status
        """
        from auditkit.history.sampling import draw_sample, write_sample

        ws = workspace(workspace_dir)
        if out is not None:
            ws.check_output(out)
        who = selected_by or getpass.getuser()
        with open_store(ws, write=True) as con:
            run_id = run if run is not None else _latest_run(con)
            drawn = draw_sample(
                con,
                run_id,
                check,
                size,
                seed,
                stratify=stratify,
                selected_by=who,
                claimed_time=claimed_now(),
            )
        folder = out or Path(f"sample-{drawn.sample_id}")
        write_sample(drawn, folder)
        if json_out:
            print_json({**drawn.record(), "items": drawn.items, "folder": str(folder)})
            return
        print_table(
            f"Sample {drawn.sample_id}: {check} in run {run_id} (seed {seed!r})",
            ["resource", "status", "stratum"],
            [[i["resource"], i["status"], i["stratum"]] for i in drawn.items],
        )
        say(f"{len(drawn.items)} of {drawn.population_size} item(s); written to {folder}")

    @app.command("timeliness")
    def timeliness_cmd(
        run: RunOpt = None,
        workspace_dir: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Remediation timeliness: exceptions with a deadline, resolved or open, met or missed.

        Example: auditkit timeliness --run 2 --json
        """
        from auditkit.history.timeliness import summarise_run, timeliness

        ws = workspace(workspace_dir)
        catalog = load_catalog(ws.config.controls_dirs)
        with open_store(ws, write=False) as con:
            run_id = run if run is not None else _latest_run(con)
            row = first_row(con.execute("SELECT as_of FROM runs WHERE run_id = ?", [run_id]))
            if row is None:
                raise NotFoundError(f"no run {run_id}")
            items = timeliness(con, catalog, run_id, row[0])
            summary = summarise_run(con, catalog, run_id, row[0])
        if json_out:
            print_json(
                {"run_id": run_id, "summary": summary, "items": [i.to_json() for i in items]}
            )
            return
        print_table(
            f"Remediation timeliness, run {run_id}",
            ["check", "items", "met", "missed", "open (within)", "open (overdue)", "median days"],
            [
                [
                    s["check_id"],
                    s["items"],
                    s["met"],
                    s["missed"],
                    s["open (within deadline)"],
                    s["open (overdue)"],
                    s["median_days_to_resolve"] if s["median_days_to_resolve"] is not None else "",
                ]
                for s in summary
            ],
        )
