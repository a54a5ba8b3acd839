"""Evaluate a framework's checks against the store and record a run.

For each mapped check: test its data prerequisites (absent data gives Not
Tested with the check's own reason, never a pass), run its SQL with bound
parameters read-only and within time and memory bounds (the sandbox: the SQL
must be one SELECT, runs in a read-only transaction on its own connection,
and its rows are kept by the engine), verify the row contract (one row per
population item, valid statuses, no duplicate resources); then, in one write
transaction, apply exceptions and store every row with a fingerprint that is
stable across runs. A failing check stores nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import duckdb

from auditkit import __version__
from auditkit.calendar import calendar_rows, evaluation_date, lookback_start
from auditkit.errors import CheckExecutionError, ConfigError
from auditkit.evaluate.catalog import (
    Catalog,
    Check,
    coerce_param,
    library_order,
    library_params,
)
from auditkit.evaluate.conclusions import conclude
from auditkit.evaluate.outcomes import CheckOutcome, RunSummary
from auditkit.evaluate.register_usage import approved_flows_in_force, record_approved_flows
from auditkit.evaluate.registers import Registers, load_registers
from auditkit.evaluate.results import (
    check_state,
    record_exceptions,
    stage_exceptions,
    store_check,
    store_results,
    validate_rows,
)
from auditkit.evaluate.rollup import CheckState
from auditkit.evaluate.sandbox import CheckLimits, Sandbox
from auditkit.evaluate.scope import (
    stage_break_glass,
    stage_declarations,
    stage_scope,
    stage_snapshots,
)
from auditkit.evaluate.workload_specs import register as register_workload_replay
from auditkit.store import first_row, rollback_quietly
from auditkit.workspace import Workspace, WorkspaceConfig


def check_params(check: Check, overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Effective parameters: {name: {value, provenance, unit}} (workspace overrides win)."""
    out: dict[str, dict[str, Any]] = {}
    for param in check.params:
        if param.name in overrides:
            try:
                value = coerce_param(param, overrides[param.name])
            except ValueError as exc:
                raise ConfigError(str(exc), location=f"params.{check.id}") from None
            out[param.name] = {
                "value": value,
                "provenance": "workspace override",
                "default": param.default,
                "default_provenance": param.provenance,
                "unit": param.unit,
            }
        else:
            out[param.name] = {
                "value": coerce_param(param, param.default),
                "provenance": param.provenance,
                "unit": param.unit,
            }
    unknown = set(overrides) - {p.name for p in check.params}
    if unknown:
        raise ConfigError(
            f"check {check.id} has no parameter {sorted(unknown)[0]!r}",
            location=f"params.{check.id}",
        )
    return out


def evaluate(
    con: duckdb.DuckDBPyConnection,
    ws: Workspace,
    catalog: Catalog,
    *,
    as_of: dt.date | None = None,
    claimed_time: dt.datetime,
    label: str | None = None,
    param_overrides: dict[str, dict[str, Any]] | None = None,
    period: tuple[dt.date, dt.date] | None = None,
    on_check: Callable[[str], None] | None = None,
) -> RunSummary:
    """Run every check the workspace's framework maps and store the run.

    ``period`` evaluates another assessment period than auditkit.toml's (for
    example the previous quarter); ``as_of`` defaults to the period's end.
    ``on_check`` is called with each check id once it has run (progress display).
    """
    config = ws.config
    if period is not None:
        start, end = period
        if end < start:
            raise ConfigError("the period ends before it starts")
        config = replace(config, period_start=start, period_end=end)
    framework = catalog.framework(config.framework)
    as_of = as_of or config.period_end
    registers = load_registers(
        config.exceptions_path, config.attestations_path, config.approved_flows_path, ws.root
    )
    for exc in registers.exceptions:
        if exc.check not in catalog.checks:
            raise ConfigError(
                f"exception {exc.id} names unknown check {exc.check!r}", path=config.exceptions_path
            )
    overrides = param_overrides if param_overrides is not None else _config_params(ws)
    check_ids = sorted({c for req in framework.requirements for c in req.checks})
    limits = CheckLimits(
        config.check_timeout_seconds, config.check_memory_limit, config.check_temp_limit
    )
    stage_exceptions(con, registers, as_of)  # the engine's own (TEMP on the writer)
    box = Sandbox(con, limits)
    # An approved flow dated after the as-of date approves nothing in this run.
    # First every check runs, read-only (the sandbox); then one transaction stores the run.
    try:
        stage_snapshots(box.con, as_of)
        stage_scope(box.con, config.scope, approved_flows_in_force(registers, as_of))
        stage_break_glass(box.con, config.break_glass)
        stage_declarations(box.con, config)
        stage_calendar(box.con, evaluation_date(as_of, config.period_end))
        register_workload_replay(box.con)
        box.lock()
        _stage_libraries(box, catalog, config, as_of)
        executed = {
            check_id: _execute_check(box, catalog.checks[check_id], config, as_of, overrides)
            for check_id in check_ids
        }
    except BaseException:
        box.close()
        raise
    con.execute("BEGIN TRANSACTION")
    try:
        run_id = _insert_run(
            con,
            config,
            catalog,
            framework.id,
            framework.version,
            as_of,
            claimed_time,
            label,
            registers,
        )
        outcomes: list[CheckOutcome] = []
        states: dict[str, CheckState] = {}
        mapped: dict[str, set[str]] = {}
        for req in framework.requirements:
            for check_id in req.checks:
                mapped.setdefault(check_id, set()).add(req.id)
        for check_id in check_ids:
            check = catalog.checks[check_id]
            outcome, state = _run_check(
                con, box, run_id, check, *executed[check_id], mapped[check_id]
            )
            outcomes.append(outcome)
            states[check_id] = state
            if on_check is not None:
                on_check(check_id)
        record_exceptions(con, run_id, registers, as_of)
        record_approved_flows(con, run_id, registers, as_of)
        row = first_row(con.execute("SELECT inputs FROM runs WHERE run_id = ?", [run_id]))
        requirements = conclude(
            con,
            run_id,
            catalog,
            framework,
            config,
            registers,
            states,
            json.loads(row[0]),
            as_of,
        )
        con.execute("COMMIT")
    except BaseException:
        rollback_quietly(con)
        raise
    finally:
        box.close()
    return RunSummary(
        run_id, as_of, config.period_start, config.period_end, framework.id, outcomes, requirements
    )


def _config_params(ws: Workspace) -> dict[str, dict[str, Any]]:
    raw = ws.config.raw.get("params", {})
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ConfigError("params must be tables like [params.check_id]", path=ws.config_path)
    return raw


def _insert_run(
    con: duckdb.DuckDBPyConnection,
    config: WorkspaceConfig,
    catalog: Catalog,
    framework_id: str,
    framework_version: str,
    as_of: dt.date,
    claimed: dt.datetime,
    label: str | None,
    registers: Registers,
) -> int:
    inputs = [
        {"sha256": r[0], "path": r[1], "format": r[2], "records": r[3]}
        for r in con.execute(
            "SELECT source_sha256, path, format, records_stored FROM sources "
            "ORDER BY path, source_sha256"
        ).fetchall()
    ]
    row = first_row(con.execute("SELECT nextval('run_id_seq')"))
    assert row is not None
    run_id = int(row[0])
    con.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            claimed,
            as_of,
            config.period_start,
            config.period_end,
            framework_id,
            framework_version,
            catalog.digest,
            config.digest(),
            __version__,
            config.organisation,
            config.entity_type,
            json.dumps(config.scope.as_dict()),
            json.dumps(inputs),
            json.dumps(registers.to_json()),
            label,
        ],
    )
    return run_id


def _stage_libraries(box: Sandbox, catalog: Catalog, config: Any, as_of: dt.date) -> None:
    base = _reserved(config, as_of)
    for name in library_order(catalog.libraries):
        sql = catalog.libraries[name]
        box.run(f"lib/{name}", sql, {p: base[p] for p in library_params(sql)}, path=None)
        box.keep(name)


def _reserved(config: Any, as_of: dt.date) -> dict[str, Any]:
    # Evidence is judged up to the evaluation date, the earlier of the as-of date and the period
    # end (an as-of date after the period is the day the assessment is made): the 12-month
    # look-back ends there too.
    return {
        "as_of": as_of,
        "period_start": config.period_start,
        "period_end": config.period_end,
        "entity_type": config.entity_type,
        "lookback_start": lookback_start(evaluation_date(as_of, config.period_end)),
    }


def stage_calendar(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Stage ``calendar_windows``: the look-back's windows as auditkit.calendar defines them."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE calendar_windows "
        "(months INTEGER, window_no INTEGER, window_start DATE, window_end DATE)"
    )
    con.executemany(
        "INSERT INTO calendar_windows VALUES (?, ?, ?, ?)",
        [
            [r["months"], r["window_no"], r["window_start"], r["window_end"]]
            for r in calendar_rows(as_of)
        ],
    )


def _bind(
    check: Check, config: Any, as_of: dt.date, params: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    available = _reserved(config, as_of)
    available.update({name: spec["value"] for name, spec in params.items()})
    return {name: available[name] for name in check.sql_params}


def _missing_data(
    con: duckdb.DuckDBPyConnection, check: Check, config: Any, as_of: dt.date
) -> tuple[str | None, list[str]]:
    """(reason the check cannot run, reasons a pass is blocked by missing supplementary data).

    Time-bounded prerequisites count rows from the period start to the earlier of the as-of
    date and the period end, the window every check evaluates.
    """
    partial: list[str] = []
    for req in check.requires:
        exists = first_row(
            con.execute(
                "SELECT (SELECT count(*) FROM duckdb_tables() WHERE table_name = ?) "
                "+ (SELECT count(*) FROM duckdb_views() WHERE view_name = ?)",
                [req.table, req.table],
            )
        )
        if not exists or not exists[0]:
            raise CheckExecutionError(
                check.id, f"requires unknown table {req.table!r}", path=check.yaml_path
            )
        if req.time_column:
            sql = (
                f'SELECT count(*) FROM "{req.table}" WHERE "{req.time_column}" >= ? '
                f'AND "{req.time_column}" < ?'
            )
            window_end = min(as_of, config.period_end) + dt.timedelta(days=1)
            args: list[Any] = [config.period_start, window_end]
        else:
            sql, args = f'SELECT count(*) FROM "{req.table}"', []
        try:
            row = first_row(con.execute(sql, args))
        except duckdb.Error as exc:
            raise CheckExecutionError(
                check.id, str(exc).splitlines()[0], path=check.yaml_path
            ) from None
        if not row or not row[0]:
            if not req.supplementary:
                return req.missing, partial
            partial.append(req.missing)
    return None, partial


def _execute_check(
    box: Sandbox, check: Check, config: Any, as_of: dt.date, overrides: dict[str, Any]
) -> tuple[dict[str, dict[str, Any]], str | None, str | None, list[str]]:
    """Run the check's SQL in the sandbox: (its parameters, why it is Not Tested, or the
    table its rows were kept in, the supplementary data that is missing)."""
    params = check_params(check, overrides.get(check.id, {}))
    missing, partial = _missing_data(box.con, check, config, as_of)
    if missing is not None:
        return params, missing, None, partial
    rows = box.run(check.id, check.sql, _bind(check, config, as_of, params), path=check.sql_path)
    validate_rows(box.con, check)
    if not rows and check.on_empty == "not_tested":
        return params, check.empty_reason or "the population was empty", None, partial
    return params, None, box.keep_result(), partial


def _run_check(
    con: duckdb.DuckDBPyConnection,
    box: Sandbox,
    run_id: int,
    check: Check,
    params: dict[str, dict[str, Any]],
    missing: str | None,
    table: str | None,
    partial: list[str],
    requirements: set[str],
) -> tuple[CheckOutcome, CheckState]:
    outcome = CheckOutcome(
        check.id,
        check.title,
        check.severity,
        "evaluated",
        "",
        params={
            k: {"value": _plain(v["value"]), "provenance": v["provenance"]}
            for k, v in params.items()
        },
    )
    if missing is not None or table is None:
        missing = missing or "the population was empty"
        outcome.state, outcome.reason = "not_tested", missing
        store_check(con, run_id, check, outcome)
        return outcome, CheckState(check.id, "not_tested", missing)
    box.show_to_writer(table)
    store_results(con, run_id, check)
    counts = first_row(
        con.execute(
            """
        SELECT count(*),
            count(*) FILTER (status = 'pass'), count(*) FILTER (status = 'fail'),
            count(*) FILTER (status = 'excepted'), count(*) FILTER (status = 'not_applicable'),
            count(*) FILTER (status = 'excepted' AND e.kind = 'compensating_control'),
            count(*) FILTER (status = 'excepted' AND e.kind = 'risk_acceptance')
        FROM run_results r LEFT JOIN _auditkit_exceptions e ON e.exception_id = r.exception_id
        WHERE run_id = ? AND r.check_id = ?
        """,
            [run_id, check.id],
        )
    )
    assert counts is not None
    (
        outcome.population,
        outcome.passed,
        outcome.failed,
        outcome.excepted,
        outcome.not_applicable,
        _cc,
        risk,
    ) = (int(c) for c in counts)
    outcome.reason = (
        f"{outcome.failed} of {outcome.population} item(s) failed"
        if outcome.failed
        else f"{outcome.population} item(s) tested"
    )
    if partial:
        # Supplementary data is missing: the failures the other data proves stand, but nothing
        # can pass without it.
        if outcome.failed + risk == 0:
            outcome.state = "not_tested"
            outcome.reason = "; ".join(partial)
            store_check(con, run_id, check, outcome)
            return outcome, CheckState(check.id, "not_tested", outcome.reason)
        outcome.reason += (
            " (supplementary data missing: "
            + "; ".join(partial)
            + "; passing items are not conclusive)"
        )
    applicable = outcome.passed + outcome.failed + outcome.excepted
    if applicable == 0 and check.on_empty == "not_tested":
        # Every item was out of the check's reach (e.g. no report carried the data the check
        # needs): nothing was tested, which is not compliance. The rows stay as evidence.
        outcome.state = "not_tested"
        outcome.reason = f"none of the {outcome.population} item(s) could be tested" + (
            f" ({check.empty_reason})" if check.empty_reason else ""
        )
        store_check(con, run_id, check, outcome)
        return outcome, CheckState(check.id, "not_tested", outcome.reason)
    store_check(con, run_id, check, outcome)
    blocked = "; ".join(partial)
    state = check_state(con, run_id, check.id, outcome.reason, requirements, blocked)
    # Items that passed, counting those an approved exception passes (not a risk acceptance):
    # a check with none covers no testing procedure.
    state.passed = outcome.passed + outcome.excepted - risk
    return outcome, state


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
