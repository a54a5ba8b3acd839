"""``auditkit evaluate`` and ``auditkit runs list``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from auditkit.cli._common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    JsonOpt,
    WorkspaceOpt,
    print_json,
    print_table,
    progress,
    result_style,
    say,
    workspace,
)
from auditkit.clock import claimed_now
from auditkit.errors import ConfigError
from auditkit.evaluate.catalog import load_catalog
from auditkit.evaluate.engine import evaluate as run_evaluation
from auditkit.evaluate.register_usage import register_entries
from auditkit.evaluate.rollup import (
    IN_PLACE,
    NO_EVIDENCE,
    NOT_IN_PLACE,
    NOT_TESTED,
    PARTIAL,
    RESULTS,
)
from auditkit.store import open_store

# --fail-on LEVEL: exit 1 when any requirement has one of these candidate results.
FAIL_ON = {
    # exceptions noted
    "not-in-place": (NOT_IN_PLACE,),
    # ... or automated coverage that stops short of every procedure
    "partial": (NOT_IN_PLACE, PARTIAL),
    # anything short of a proposed In Place (or a declared Not Applicable)
    "not-proven": (NOT_IN_PLACE, PARTIAL, NO_EVIDENCE, NOT_TESTED),
}
# Before testing procedures were modelled, "not-tested" failed on what is now split into
# No automated evidence and Not Tested; it keeps that meaning, and so equals not-proven.
FAIL_ON["not-tested"] = FAIL_ON["not-proven"]


def counts_line(counts: dict[str, int]) -> str:
    """Requirements per candidate result, in the vocabulary's order, one line."""
    line = "; ".join(f"{k}: {counts.get(k, 0)}" for k in RESULTS)
    return line + f" (proposed In Place: {counts.get(IN_PLACE, 0)}; results are candidates)"


def _print_register_entries(entries: list[dict[str, Any]]) -> None:
    """The register entries that did not take effect, then one line of counts per register."""
    attention = [e for e in entries if e["needs_attention"]]
    if attention:
        print_table(
            "Register entries that did not take effect",
            ["register", "entry", "id", "check", "state", "items", "why"],
            [
                [
                    e["register"],
                    f"{e['file']}{e['entry']}",
                    e["id"],
                    e["check"] or "",
                    e["state"],
                    e["items"],
                    e["why"],
                ]
                for e in attention
            ],
            styles={4: lambda _v: "yellow"},
        )
    for register in ("exceptions", "approved flows"):
        states: dict[str, int] = {}
        for e in entries:
            if e["register"] == register:
                states[e["state"]] = states.get(e["state"], 0) + 1
        if states:
            say(f"{register}: " + ", ".join(f"{n} {state}" for state, n in sorted(states.items())))


def register(app: typer.Typer) -> None:
    """Add the commands to the app."""

    @app.command("evaluate")
    def evaluate(
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="Evaluate as of this date (default: the period end)."),
        ] = None,
        label: Annotated[
            str | None, typer.Option("--label", help="A note stored with the run.")
        ] = None,
        period_start: Annotated[
            str | None,
            typer.Option(
                "--period-start",
                help="Evaluate another period than auditkit.toml's (with --period-end).",
            ),
        ] = None,
        period_end: Annotated[
            str | None,
            typer.Option("--period-end", help="End of that period (and the default as-of date)."),
        ] = None,
        controls: Annotated[
            list[Path] | None,
            typer.Option("--controls", help="Extra folder of checks/frameworks (repeatable)."),
        ] = None,
        fail_on: Annotated[
            str | None,
            typer.Option(
                "--fail-on",
                help="Exit 1 when any requirement is not-in-place (exceptions noted), partial "
                "(also incomplete automated coverage) or not-proven (anything short of a "
                "proposed In Place or a declared Not Applicable; not-tested is an alias).",
            ),
        ] = None,
        workspace_dir: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Evaluate the framework's checks and store a run.

        Example: auditkit evaluate --as-of 2026-09-30 --fail-on not-in-place
        (previous quarter: --period-start 2026-04-01 --period-end 2026-06-30)
        """
        if fail_on is not None and fail_on not in FAIL_ON:
            raise ConfigError("--fail-on must be not-in-place, partial or not-proven")
        day = None
        if as_of:
            try:
                day = dt.date.fromisoformat(as_of)
            except ValueError:
                raise ConfigError(f"--as-of must be a date, not {as_of!r}") from None
        period = None
        if (period_start is None) != (period_end is None):
            raise ConfigError("give both --period-start and --period-end")
        if period_start and period_end:
            try:
                period = (dt.date.fromisoformat(period_start), dt.date.fromisoformat(period_end))
            except ValueError:
                raise ConfigError("--period-start/--period-end must be dates") from None
        ws = workspace(workspace_dir)
        catalog = load_catalog([*ws.config.controls_dirs, *(controls or [])])
        framework = catalog.framework(ws.config.framework)
        total = len({c for req in framework.requirements for c in req.checks})
        with (
            open_store(ws, write=True) as con,
            progress(not json_out, "evaluating", total) as step,
        ):
            summary = run_evaluation(
                con,
                ws,
                catalog,
                as_of=day,
                claimed_time=claimed_now(),
                label=label,
                period=period,
                on_check=step,
            )
            entries = register_entries(con, summary.run_id)
        if json_out:
            doc = summary.to_json()
            doc["registers"] = {
                "exceptions": [e for e in entries if e["register"] == "exceptions"],
                "approved_flows": [e for e in entries if e["register"] == "approved flows"],
            }
            print_json(doc)
        else:
            print_table(
                f"Run {summary.run_id}: {summary.framework} as of {summary.as_of}",
                ["requirement", "candidate result", "procedures covered", "CC", "CA", "basis"],
                [
                    [
                        r.id,
                        r.result,
                        f"{r.procedures_covered} of {r.procedures_total}",
                        "yes" if r.compensating_control else "",
                        "yes" if r.customized_approach else "",
                        r.basis,
                    ]
                    for r in summary.requirements
                ],
                styles={1: result_style},
            )
            _print_register_entries(entries)
            say(counts_line(summary.counts()))
        failing = FAIL_ON.get(fail_on or "", ())
        hit = any(r.result in failing for r in summary.requirements)
        raise typer.Exit(EXIT_CHECK_FAILED if hit else EXIT_OK)

    runs_app = typer.Typer(help="Stored evaluation runs.", no_args_is_help=True)
    app.add_typer(runs_app, name="runs")

    @runs_app.command("list")
    def runs_list(workspace_dir: WorkspaceOpt = None, json_out: JsonOpt = False) -> None:
        """List every stored run with its counts per result.

        Example: auditkit runs list --json
        """
        ws = workspace(workspace_dir)
        with open_store(ws, write=False) as con:
            rows = con.execute(
                """
                SELECT r.run_id, r.as_of, r.period_start, r.period_end, r.framework_id, r.label,
                       r.created_at,
                       list(q.result) FILTER (q.result IS NOT NULL)
                FROM runs r LEFT JOIN run_requirements q USING (run_id)
                GROUP BY ALL ORDER BY r.run_id
                """
            ).fetchall()
        docs = [
            {
                "run_id": r[0],
                "as_of": r[1].isoformat(),
                "period_start": r[2].isoformat(),
                "period_end": r[3].isoformat(),
                "framework": r[4],
                "label": r[5],
                "created_at": r[6].isoformat() + "Z",
                "counts": {k: list(r[7] or []).count(k) for k in RESULTS},
            }
            for r in rows
        ]
        if json_out:
            print_json({"runs": docs})
            return
        print_table(
            "Runs",
            [
                "run",
                "as of",
                "period",
                "framework",
                "in place",
                "not in place",
                "partial",
                "no evidence",
                "n/a",
                "not tested",
                "label",
            ],
            [
                [
                    d["run_id"],
                    d["as_of"],
                    f"{d['period_start']} .. {d['period_end']}",
                    d["framework"],
                    *[d["counts"][k] for k in RESULTS],
                    d["label"] or "",
                ]
                for d in docs
            ],
        )
