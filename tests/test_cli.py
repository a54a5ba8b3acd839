"""The CLI's exit codes and one-line errors, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import CliRunner


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_help_and_version(cli: CliRunner) -> None:
    res = cli("--help")
    assert res.code == 0
    for command in (
        "init",
        "ingest",
        "evaluate",
        "report",
        "verify",
        "demo",
        "keygen",
        "runs",
        "controls",
        "results",
        "scope",
    ):
        assert command in res.out
    assert cli("--version").code == 0


def test_every_command_has_help_with_an_example(cli: CliRunner) -> None:
    for args in (
        ["init"],
        ["ingest"],
        ["evaluate"],
        ["report"],
        ["verify"],
        ["demo"],
        ["keygen"],
        ["runs", "list"],
        ["controls", "list"],
        ["controls", "show"],
        ["controls", "lint"],
        ["diff"],
        ["gap"],
        ["sample"],
        ["timeliness"],
        ["results"],
        ["scope", "suggest"],
        ["scope", "check"],
    ):
        res = cli(*args, "--help")
        assert res.code == 0, args
        assert "Example:" in res.out, args


def test_usage_error_exits_2(cli: CliRunner) -> None:
    assert cli("no-such-command").code == 2
    assert cli("evaluate", "--fail-on", "sometimes").code == 2


def test_no_workspace_is_a_clear_error(cli: CliRunner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = cli("runs", "list")
    assert res.code == 2
    assert "auditkit.toml" in one_line_error(res.err)


def test_workspace_found_from_a_subfolder(
    cli: CliRunner, mini_workspace: Path, monkeypatch
) -> None:
    sub = mini_workspace / "scans"
    monkeypatch.chdir(sub)
    res = cli("evaluate", "--json")
    assert res.code == 0
    assert json.loads(res.out)["run_id"] == 1


def test_unknown_config_key_is_an_error(cli: CliRunner, mini_workspace: Path) -> None:
    cfg = mini_workspace / "auditkit.toml"
    cfg.write_text(cfg.read_text() + '\nexceptons = "typo.yaml"\n')  # lands in [paths]
    res = cli("evaluate", "-w", mini_workspace)
    assert res.code == 2
    assert "auditkit.toml:paths.exceptons" in one_line_error(res.err)


def test_bad_config_names_file_and_location(cli: CliRunner, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert cli("init", ws, "--org", "X").code == 0
    cfg = ws / "auditkit.toml"
    cfg.write_text(cfg.read_text().replace('entity_type = "merchant"', 'entity_type = "bank"'))
    res = cli("evaluate", "-w", ws)
    assert res.code == 2
    line = one_line_error(res.err)
    assert "auditkit.toml:organisation.entity_type" in line


def test_malformed_input_is_rejected_whole(cli: CliRunner, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert cli("init", ws, "--org", "X").code == 0
    bad = tmp_path / "audit.jsonl"
    good = '{"kind":"Event","auditID":"a1","stage":"ResponseComplete","verb":"get"}'
    bad.write_text(good + "\n" + good.replace("a1", "a2") + "\n{not json\n")
    res = cli("ingest", bad, "-w", ws, "--json")
    assert res.code == 2
    doc = json.loads(res.out)
    assert doc["files"][0]["status"] == "rejected"
    assert "line:3" in doc["files"][0]["error"]
    assert "Traceback" not in res.err
    res = cli("ingest", bad, "-w", ws, "--skip-bad-records", "--json")
    assert res.code == 0
    doc = json.loads(res.out)
    assert doc["files"][0]["records_stored"] == 2
    assert doc["files"][0]["records_skipped"] == 1


def test_fail_on_sets_exit_1(cli: CliRunner, mini_workspace: Path) -> None:
    assert cli("evaluate", "-w", mini_workspace).code == 0
    assert cli("evaluate", "-w", mini_workspace, "--fail-on", "not-in-place").code == 1


def test_check_sql_error_exits_3_naming_the_check(
    cli: CliRunner, mini_workspace: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "extra"
    (extra / "checks" / "broken").mkdir(parents=True)
    (extra / "frameworks").mkdir()
    (extra / "checks" / "broken" / "broken_check.yaml").write_text(
        textwrap.dedent("""\
        id: broken_check
        title: A check whose SQL does not run
        description: Selects from a table that does not exist.
        rationale: Tests that SQL errors are errors.
        severity: low
        resource_key: {format: "<anything...>", example: "x"}
        requires: []
        evidence_columns: []
        remediation: None.
        population: nothing
        procedures: [{id: X.1, methods: [records], extent: whole}]
    """)
    )
    (extra / "checks" / "broken" / "broken_check.sql").write_text("SELECT * FROM no_such_table")
    (extra / "frameworks" / "broken-fw.yaml").write_text(
        textwrap.dedent("""\
        id: broken-fw
        title: Broken
        version: "1"
        requirements:
          - id: "X.1"
            title: Anything
            checks: [broken_check]
            procedures: [{id: X.1, methods: [records], text: Anything.}]
    """)
    )
    cfg = mini_workspace / "auditkit.toml"
    cfg.write_text('framework = "broken-fw"\n' + cfg.read_text())
    res = cli("evaluate", "-w", mini_workspace, "--controls", extra)
    assert res.code == 3
    assert "broken_check" in one_line_error(res.err)
    # Nothing half-stored: no run recorded.
    res = cli("runs", "list", "-w", mini_workspace, "--json")
    assert json.loads(res.out)["runs"] == []


def test_second_writer_gets_workspace_busy(cli: CliRunner, mini_workspace: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from auditkit.workspace import Workspace
            ws = Workspace(__import__('pathlib').Path({str(mini_workspace)!r}))
            with ws.lock():
                print('locked', flush=True)
                time.sleep(30)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        res = cli("evaluate", "-w", mini_workspace)
        assert res.code == 2
        line = one_line_error(res.err)
        assert f"workspace busy (PID {holder.pid})" in line
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_internal_errors_exit_3_without_traceback(
    cli: CliRunner, monkeypatch, mini_workspace: Path
) -> None:
    import auditkit.evaluate.engine

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(auditkit.evaluate.engine, "stage_scope", boom)
    monkeypatch.delenv("AUDITKIT_DEBUG", raising=False)
    res = cli("evaluate", "-w", mini_workspace)
    assert res.code == 3
    assert "simulated bug" in res.err
    assert "Traceback" not in res.err


def test_terminal_output_escapes_control_characters(cli: CliRunner, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert cli("init", ws, "--org", "X").code == 0
    hostile = tmp_path / "evil\x1b[31mname.json"
    hostile.write_text("{}")
    res = cli("ingest", hostile, "-w", ws)
    assert res.code == 2
    assert "\x1b" not in res.err and "\x1b" not in res.out
    assert "\\x1b" in res.err


def test_json_outputs_are_single_documents(cli: CliRunner, mini_workspace: Path) -> None:
    for args in (
        ["evaluate", "--json"],
        ["runs", "list", "--json"],
        ["controls", "list", "--json"],
        ["controls", "show", "vuln_critical_patch_window", "--json"],
        ["controls", "lint", "--json"],
    ):
        res = cli(*args, "-w", mini_workspace)
        assert res.code == 0, (args, res.err)
        json.loads(res.out)


def test_no_progress_bar_when_not_a_terminal(cli: CliRunner, mini_workspace: Path) -> None:
    res = cli("ingest", mini_workspace / "scans", "-w", mini_workspace)
    assert res.code == 0
    assert "━" not in res.err and "ingesting" not in res.err
