"""``auditkit export``: OCSF, ECS and Splunk lines of the hostile report run, signed.

The run is the report tests' ``built`` run 2 (tests/report/conftest.py): the
mini company evaluated against PCI DSS v4.0.1, plus rows whose resource,
reason, locator and evidence are hostile strings (HTML, formulas, ESC, bidi
overrides, NUL, a 40,000-character reason) and 60 bulk failures.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding

from auditkit.report.siem_map import ITEM_VERDICTS, REQUIREMENT_VERDICTS, verdict
from auditkit.safe_output import SIEM_TEXT_MACRO, siem_text
from auditkit.sign.keys import generate_keys
from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.conftest import CliRunner
from tests.report.conftest import HOSTILE_CHECK, XML_ILLEGAL, Built

ECS_FIELDS = json.loads(
    (Path(__file__).parent / "data" / "ecs-9.4.0-fields.json").read_text(encoding="utf-8")
)["fields"]
HEC_KEYS = {"time", "host", "source", "sourcetype", "index", "event", "fields"}
# What must never reach a SIEM line raw: C0 (a line's own "\n" aside), DEL, C1, LS/PS, bidi.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _counts(ws: Path, run_id: int) -> tuple[int, int]:
    with open_store(Workspace(ws), write=False) as con:
        items = con.execute("SELECT count(*) FROM run_results WHERE run_id = ?", [run_id])
        n_items = int(items.fetchone()[0])  # type: ignore[index]
        reqs = con.execute("SELECT count(*) FROM run_requirements WHERE run_id = ?", [run_id])
        return n_items, int(reqs.fetchone()[0])  # type: ignore[index]


def _export(cli: CliRunner, built: Built, fmt: str, out: Path, *extra: str) -> Path:
    result = cli("export", "--run", "2", "--format", fmt, "--out", out, "-w", built.ws, *extra)
    assert result.code == 0, result.err
    return out


def _lines(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        text: str = handle.read()
    assert text.endswith("\n")
    return text[:-1].split("\n")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _no_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value]
    return value


@pytest.fixture(scope="module")
def exports(built: Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each format once (OCSF gzipped), through the real CLI."""
    from auditkit.cli import run

    root = tmp_path_factory.mktemp("siem")
    paths = {
        "ocsf": root / "run2.ocsf.jsonl.gz",
        "ecs": root / "run2.ecs.jsonl",
        "ecs-bulk": root / "run2.ecs-bulk.ndjson",
        "splunk": root / "run2.splunk.json",
    }
    for name, path in paths.items():
        fmt, *bulk = name.split("-")
        extra = ["--bulk-index", "auditkit-pci"] if bulk else []
        args = ["export", "--run", "2", "--format", fmt, "--out", str(path), "-w", str(built.ws)]
        assert run([*args, *extra]) == 0
    return paths


def test_ocsf_lines_are_compliance_findings_the_library_reads_back(
    built: Built, exports: dict[str, Path]
) -> None:
    items, requirements = _counts(built.ws, 2)
    lines = _lines(exports["ocsf"])
    assert len(lines) == items + requirements
    kinds = {"item": 0, "requirement": 0}
    for line in lines:
        doc = json.loads(line)
        finding = ComplianceFinding.model_validate(doc)
        # Nothing the model does not know about was written (it would be dropped here).
        assert _no_nulls(finding.model_dump(mode="json")) == _no_nulls(doc)
        assert (doc["class_uid"], doc["category_uid"], doc["type_uid"]) == (2003, 2, 200301)
        assert doc["activity_id"] == 1 and doc["metadata"]["version"] == "1.5.0"
        assert doc["compliance"]["standards"] == ["PCI DSS v4.0.1"]
        assert doc["severity_id"] in (0, 1, 2, 3, 4, 5)
        auditkit = doc["unmapped"]["auditkit"]
        kinds[auditkit["kind"]] += 1
        assert auditkit["run_id"] == 2 and auditkit["period_end"]
        if auditkit["kind"] == "item":
            status = doc["status_code"]
            expected = {"pass": 1, "fail": 3, "excepted": 3, "not_applicable": 99}[status]
            assert doc["compliance"]["status_id"] == expected
            assert doc["status_id"] == (3 if status == "excepted" else 1)
            assert doc["compliance"]["control"] == doc["finding_info"]["analytic"]["uid"]
            assert doc["compliance"]["requirements"]
            evidence = doc["evidences"][0]["data"]
            assert evidence["evidence_reference"].startswith("evidence/")
            sha = evidence["source_sha256"]
            assert sha is None or re.fullmatch(r"[0-9a-f]{64}", sha)
            assert set(evidence) >= {"source_file", "locator", "evidence"}
            json.loads(evidence["evidence"])  # the evidence travels as its JSON text
        else:
            result = doc["status_code"]
            expected = {"In Place": 1, "Not in Place": 3, "Not Tested": 2, "Not Applicable": 99}
            expected |= {"No exceptions noted (partial)": 2, "No automated evidence": 2}
            assert doc["compliance"]["status_id"] == expected[result]
    assert kinds == {"item": items, "requirement": requirements}


def test_excepted_item_is_a_suppressed_failure(exports: dict[str, Path]) -> None:
    docs = [json.loads(line) for line in _lines(exports["ocsf"])]
    excepted = [d for d in docs if d.get("status_code") == "excepted"]
    assert excepted, "the report run has an excepted item (EXC-CC-1)"
    for doc in excepted:
        assert doc["compliance"]["status_id"] == 3 and doc["status"] == "Suppressed"
        assert doc["unmapped"]["auditkit"]["exception_id"] == "EXC-CC-1"


def _ecs_check(path: str, value: Any) -> None:
    spec = ECS_FIELDS.get(path)
    assert spec is not None, f"{path} is not an ECS 9.4 field"
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list):
        assert spec.get("array"), f"{path} is not an array field"
    for one in values:
        kind = spec["type"]
        if kind in ("keyword", "match_only_text", "wildcard", "constant_keyword"):
            assert isinstance(one, str), path
        elif kind == "long":
            assert isinstance(one, int) and not isinstance(one, bool), path
        elif kind == "date":
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", one), path
        else:
            raise AssertionError(f"{path}: type {kind} not expected")
        if "allowed" in spec:
            assert one in spec["allowed"], f"{path}={one!r} is not an allowed value"


def _walk_ecs(doc: dict[str, Any], prefix: str = "") -> None:
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if path == "auditkit":  # auditkit's own namespace (ECS custom fields)
            continue
        if isinstance(value, dict) and path not in ECS_FIELDS:
            _walk_ecs(value, path + ".")
        else:
            _ecs_check(path, value)


def test_ecs_documents_use_ecs_fields_with_their_types(
    built: Built, exports: dict[str, Path]
) -> None:
    items, requirements = _counts(built.ws, 2)
    lines = _lines(exports["ecs"])
    assert len(lines) == items + requirements
    for line in lines:
        doc = json.loads(line)
        _walk_ecs(doc)
        assert doc["ecs"]["version"] == "9.4.0"
        assert doc["event"]["kind"] == "state"
        kind = doc["auditkit"]["kind"]
        assert doc["event"]["dataset"] == f"auditkit.{kind}"
        if kind == "item":
            assert doc["rule"]["id"] == doc["auditkit"]["check_id"]
            assert doc["entity"]["id"]
            assert doc["event"]["outcome"] == verdict("item", doc["auditkit"]["status"]).ecs_outcome


def test_ecs_bulk_lines_pair_a_create_action_with_each_document(
    built: Built, exports: dict[str, Path]
) -> None:
    items, requirements = _counts(built.ws, 2)
    lines = _lines(exports["ecs-bulk"])
    assert len(lines) == 2 * (items + requirements)
    ids = set()
    for action_line, doc_line in zip(lines[0::2], lines[1::2], strict=True):
        action = json.loads(action_line)
        assert list(action) == ["create"] and action["create"]["_index"] == "auditkit-pci"
        ids.add(action["create"]["_id"])
        assert "@timestamp" in json.loads(doc_line)
    assert len(ids) == items + requirements  # re-sending a file overwrites nothing twice


def test_splunk_lines_are_hec_events(built: Built, exports: dict[str, Path]) -> None:
    items, requirements = _counts(built.ws, 2)
    lines = _lines(exports["splunk"])
    types = {"auditkit:item": 0, "auditkit:requirement": 0}
    for line in lines:
        doc = json.loads(line)
        assert set(doc) <= HEC_KEYS and {"time", "event"} <= set(doc)
        assert isinstance(doc["time"], int | float) and not isinstance(doc["time"], bool)
        assert all(isinstance(doc[k], str) and doc[k] for k in ("host", "source", "sourcetype"))
        assert isinstance(doc["event"], dict)
        types[doc["sourcetype"]] += 1
    assert types == {"auditkit:item": items, "auditkit:requirement": requirements}


def test_duckdb_reads_back_the_run_s_item_count(built: Built, exports: dict[str, Path]) -> None:
    items, requirements = _counts(built.ws, 2)
    item_filter = {
        "ocsf": "json_extract_string(unmapped, '$.auditkit.kind') = 'item'",
        "ecs": "json_extract_string(auditkit, '$.kind') = 'item'",
        "ecs-bulk": "json_extract_string(auditkit, '$.kind') = 'item'",
        "splunk": "sourcetype = 'auditkit:item'",
    }
    con = duckdb.connect()
    for name, path in exports.items():
        rel = f"read_json('{path}', format = 'newline_delimited', maximum_object_size = 1048576)"
        total, found = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {item_filter[name]}) FROM {rel}"
        ).fetchone()  # type: ignore[misc]
        per_doc = 2 if name == "ecs-bulk" else 1
        assert (total, found) == (per_doc * (items + requirements), items), name


def test_hostile_strings_stay_data_on_one_line(built: Built, exports: dict[str, Path]) -> None:
    for name, path in exports.items():
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        text = raw.decode("utf-8")
        assert UNSAFE.search(text.replace("\n", "")) is None, name
        values = [s for line in _lines(path) for s in _strings(json.loads(line))]
        # Decoded, a value still holds no control character: a SIEM that re-serialises it
        # into a plain log line cannot be made to split or forge a line.
        assert not [v for v in values if UNSAFE.search(v)], name
        for hostile in [*built.hostile, XML_ILLEGAL]:
            assert siem_text(hostile) in values, (name, hostile)
        assert any(v.startswith("L" * 1000) and len(v) == 40_000 for v in values), name


def test_hostile_check_reason_is_escaped_not_dropped(exports: dict[str, Path]) -> None:
    docs = [json.loads(line) for line in _lines(exports["splunk"])]
    hostile = [d["event"] for d in docs if d["event"].get("check_id") == HOSTILE_CHECK]
    reasons = {e["reason"] for e in hostile}
    assert "escape \\u001b[31mred\\u001b[0m and bidi \\u202eevil\\u202c text" in reasons
    assert "nul \\u0000 vertical tab \\u000b noncharacter \ufffe end" in reasons


def test_sql_and_python_sanitisers_agree() -> None:
    samples = [chr(c) for c in range(0x00, 0xA1)] + [
        "\u061c",
        "\u200d",
        "\u200e",
        "\u2027",
        "\u2028",
        "\u202e",
        "\u2069",
        "\u206a",
        "\ue000",
        "é",
        "😀",
        "a\nb\x1b[0m\u202e",
        "",
        "plain",
    ]
    con = duckdb.connect()
    con.execute(SIEM_TEXT_MACRO)
    for sample in samples:
        got = con.execute("SELECT siem_text(?)", [sample]).fetchone()[0]  # type: ignore[index]
        assert got == siem_text(sample), repr(sample)
    assert con.execute("SELECT siem_text(NULL)").fetchone() == (None,)


def test_one_mapping_and_unknown_words_never_pass() -> None:
    assert set(ITEM_VERDICTS) == {"pass", "fail", "excepted", "not_applicable"}
    assert verdict("item", "excepted").normalised == "fail"
    assert verdict("item", "excepted").suppressed
    assert verdict("requirement", "In Place").ocsf_compliance_status_id == 1
    assert set(REQUIREMENT_VERDICTS) >= {"In Place", "Not in Place"}
    for level in ("item", "requirement"):
        unknown = verdict(level, "No exceptions noted; 1 of 3 procedures covered")  # type: ignore[arg-type]
        assert unknown.normalised == "unknown"
        assert unknown.ocsf_compliance_status_id == 0 and unknown.ecs_outcome == "unknown"


def test_exports_are_reproducible_and_gzip_holds_the_same_lines(
    cli: CliRunner, built: Built, exports: dict[str, Path], tmp_path: Path
) -> None:
    again = _export(cli, built, "ocsf", tmp_path / "run2.ocsf.jsonl.gz")
    assert again.read_bytes() == exports["ocsf"].read_bytes()
    plain = _export(cli, built, "ocsf", tmp_path / "run2.ocsf.jsonl")
    assert gzip.decompress(again.read_bytes()) == plain.read_bytes()
    assert not [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_stdout_gets_the_lines_unsigned(cli: CliRunner, built: Built, tmp_path: Path) -> None:
    result = cli("export", "--run", "2", "--format", "splunk", "--out", "-", "-w", built.ws)
    assert result.code == 0, result.err
    items, requirements = _counts(built.ws, 2)
    assert len(result.out.splitlines()) == items + requirements
    assert "unsigned" in result.err


def test_verify_accepts_the_export_and_catches_tampering(
    cli: CliRunner, built: Built, tmp_path: Path
) -> None:
    key = Workspace(built.ws).keys_dir / "manifest-signing-key.pub.pem"
    out = _export(cli, built, "ecs", tmp_path / "run2.ecs.jsonl")
    assert (tmp_path / "run2.ecs.jsonl.dsse.json").is_file()
    ok = cli("verify", out, "--trust", key, "--json")
    assert ok.code == 0, ok.out
    report = json.loads(ok.out)
    assert [c["name"] for c in report["checks"] if c["ok"]] == [
        "envelope",
        "manifest-signature",
        "statement",
        "file-name",
        "digests",
        "content",
    ]
    assert cli("verify", tmp_path / "run2.ecs.jsonl.dsse.json", "--trust", key).code == 0
    # No pinned key: an export carries none, so verify cannot run.
    assert cli("verify", out).code == 2
    # One line edited in the SIEM's copy.
    data = out.read_bytes()
    out.write_bytes(data.replace(b'"outcome":"failure"', b'"outcome":"success"', 1))
    tampered = cli("verify", out, "--trust", key, "--json")
    assert tampered.code == 1
    failed = {c["name"] for c in json.loads(tampered.out)["checks"] if not c["ok"]}
    assert failed == {"digests", "content"}
    # Another key.
    out.write_bytes(data)
    other = generate_keys(tmp_path / "other", subject_name="someone else")
    assert cli("verify", out, "--trust", other.manifest_public_key).code == 1


def test_existing_file_is_kept_unless_forced(cli: CliRunner, built: Built, tmp_path: Path) -> None:
    out = _export(cli, built, "splunk", tmp_path / "run2.json")
    before = out.read_bytes()
    again = cli("export", "--run", "2", "--format", "splunk", "--out", out, "-w", built.ws)
    assert again.code == 2 and "--force" in again.err
    assert out.read_bytes() == before
    _export(cli, built, "splunk", out, "--force")
    missing = cli(
        "export", "--run", "99", "--format", "ocsf", "--out", tmp_path / "x", "-w", built.ws
    )
    assert missing.code == 2 and not (tmp_path / "x").exists()
    bad = cli(
        "export",
        "--run",
        "2",
        "--format",
        "ocsf",
        "--bulk-index",
        "x",
        "--out",
        "-",
        "-w",
        built.ws,
    )
    assert bad.code == 2
