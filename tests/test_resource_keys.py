"""Resource-key declarations: the format language, and the catalog refusing a check without one.

That every key a check's case folders produce fits its declaration is asserted by
tests/checks/test_check_cases.py; docs/registers.md's generated table by test_docs_generated.py.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from auditkit.errors import CatalogError
from auditkit.evaluate.catalog import load_catalog
from auditkit.evaluate.resource_keys import compile_format, parse_resource_key
from tests.conftest import CliRunner

CASES = Path(__file__).resolve().parent / "checks"


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        (
            "<source> -> <destination>:<port>/<protocol>",
            ["10.30.1.7 -> 10.20.1.30:23/tcp", "payments/api -> card-vault/db:5432/tcp"],
            ["10.30.1.7->10.20.1.30:23/tcp", "10.30.1.7 -> 10.20.1.30:23", "a -> b:http/tcp"],
        ),
        ("log-review <date>", ["log-review 2026-07-01"], ["log-review 2026-7-1", "log-review "]),
        ("TRA for <requirement>", ["TRA for 10.4.2.1", "TRA for A3.1.1"], ["TRA for ten"]),
        (
            "<namespace>/<pod> <date>: <rule...>",
            ["payments/api-1 2026-08-10: Write below etc"],
            ["payments/api-1 2026-08-10:", "payments api-1 2026-08-10: x"],
        ),
        ("<image> <vuln> <package?>", ["nginx CVE-1 libc", "nginx CVE-1 "], ["nginx CVE-1"]),
        ("<image>@<digest>", ["nginx@sha256:" + "a" * 64], ["nginx@sha256:abc", "nginx"]),
        ("<ts> at <timestamp>", ["x at 2026-08-12T03:41:27Z"], ["x at 2026-08-12 03:41:27"]),
    ],
)
def test_format_language(fmt: str, good: list[str], bad: list[str]) -> None:
    pattern = compile_format(fmt)
    for key in good:
        assert pattern.fullmatch(key), key
    for key in bad:
        assert not pattern.fullmatch(key), key


def test_literal_text_is_escaped() -> None:
    pattern = compile_format("a.b (c) [<x>]")
    assert pattern.fullmatch("a.b (c) [y]")
    assert not pattern.fullmatch("aXb (c) [y]")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "missing key 'resource_key': add resource_key: {format:"),
        ([], "resource_key is empty"),
        ("x", "must be a mapping"),
        ({"format": "<a>/<b>"}, "example must be a real key"),
        ({"example": "a/b"}, "format must be text"),
        ({"format": "<a>/<b>", "example": "a b"}, "does not match its format"),
        ({"format": "<date...>", "example": "x"}, "typed placeholder cannot be free text"),
        ({"format": "<a>", "example": "x", "note": "y"}, "unknown key 'note'"),
        ([{"format": "<a>", "example": "x"}, {"format": "k:<a>", "example": "x"}], "[1].example"),
    ],
)
def test_declaration_problems(value: object, problem: str) -> None:
    problems: list[str] = []
    parse_resource_key(value, problems)
    assert problems and problem in problems[0], problems


def test_every_builtin_check_declares_its_key_with_a_fitting_example() -> None:
    catalog = load_catalog()
    for check in catalog.checks.values():
        assert check.resource_key, check.id
        for shape in check.resource_key:
            assert shape.matches(shape.example), (check.id, shape.format)


def _controls_with(tmp_path: Path, yaml_extra: str) -> Path:
    root = tmp_path / "extra"
    (root / "checks" / "custom").mkdir(parents=True)
    (root / "checks" / "custom" / "my_check.yaml").write_text(
        textwrap.dedent("""\
        id: my_check
        title: A custom check
        description: Test.
        rationale: Test.
        severity: low
        requires: []
        evidence_columns: []
        remediation: None.
        population: the test's rows
        """)
        + yaml_extra
    )
    (root / "checks" / "custom" / "my_check.sql").write_text("SELECT 1")
    return root


def test_catalog_refuses_a_check_without_resource_key_and_says_what_to_add(
    tmp_path: Path, cli: CliRunner
) -> None:
    root = _controls_with(tmp_path, "")
    with pytest.raises(CatalogError) as err:
        load_catalog([root])
    text = err.value.one_line()
    assert "my_check.yaml: missing key 'resource_key'" in text
    assert 'add resource_key: {format: "<namespace>/<kind>/<name>", example:' in text
    res = cli("controls", "lint", "--controls", root)
    assert res.code == 2
    assert "my_check.yaml: missing key 'resource_key': add resource_key:" in res.err


def test_catalog_accepts_a_list_of_shapes(tmp_path: Path) -> None:
    root = _controls_with(
        tmp_path,
        'resource_key:\n  - {format: "user:<id>", example: "user:u1"}\n'
        '  - {format: "k8s-user:<name...>", example: "k8s-user:jo", when: not in inventory}\n',
    )
    check = load_catalog([root]).checks["my_check"]
    assert [s.format for s in check.resource_key] == ["user:<id>", "k8s-user:<name...>"]
    assert check.resource_key[1].when == "not in inventory"


def test_every_key_of_the_demo_runs_fits_its_declaration(
    demo_pack: tuple[Path, Path, dict[str, object]],
) -> None:
    import duckdb

    from auditkit.evaluate.resource_keys import key_matches

    catalog = load_catalog()
    con = duckdb.connect(str(demo_pack[1] / "auditkit.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT DISTINCT check_id, resource FROM run_results").fetchall()
    finally:
        con.close()
    assert len(rows) > 1000
    misshapen = [(c, r) for c, r in rows if not key_matches(catalog.checks[c].resource_key, r)]
    assert not misshapen, misshapen[:10]


def _case_keys() -> set[tuple[str, str]]:
    """(check id, resource key) of every item a check case folder expects."""
    keys: set[tuple[str, str]] = set()
    for expected in CASES.rglob("expected.yaml"):
        check_id = expected.relative_to(CASES).parts[0]
        doc = yaml.safe_load(expected.read_text()) or {}
        for status in ("pass", "fail", "not_applicable", "excepted"):
            keys.update((check_id, key) for key in doc.get(status) or [])
    return keys


def test_every_example_is_a_key_a_run_produced(
    demo_pack: tuple[Path, Path, dict[str, object]],
) -> None:
    """A shape's example is a key the demo run or a check case produces, and every shape
    is one some real key takes: a declared shape no run produces would let `controls lint`
    accept an exception that can never match."""
    import duckdb

    con = duckdb.connect(str(demo_pack[1] / "auditkit.duckdb"), read_only=True)
    try:
        real = set(con.execute("SELECT DISTINCT check_id, resource FROM run_results").fetchall())
    finally:
        con.close()
    real |= _case_keys()
    by_check: dict[str, list[str]] = {}
    for check_id, key in real:
        by_check.setdefault(check_id, []).append(key)
    invented, unused = [], []
    for check in load_catalog().checks.values():
        for shape in check.resource_key:
            if (check.id, shape.example) not in real:
                invented.append((check.id, shape.example))
            if not any(shape.matches(k) for k in by_check.get(check.id, [])):
                unused.append((check.id, shape.format))
    assert not invented, f"examples no run or case produces: {invented}"
    assert not unused, f"shapes no run or case produces: {unused}"
