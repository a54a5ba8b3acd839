"""Every list or string a check aggregates has a defined order.

`string_agg`/`list`/`array_agg` without ORDER BY return their values in whatever
order DuckDB's threads met them: the same workspace then gives evidence whose
bytes differ from run to run, so a pack cannot be rebuilt byte for byte and a
re-performed check cannot be compared cell by cell. An aggregate passes when it
has its own ORDER BY or is wrapped in list_sort/array_sort.
"""

from __future__ import annotations

import re

from auditkit.resources import controls_dir

AGGREGATE = re.compile(r"\b(string_agg|array_agg|list|group_concat|listagg)\s*\(", re.I)
SORTERS = {"list_sort", "array_sort", "list_reverse_sort", "array_reverse_sort"}


def _strip(sql: str) -> str:
    """Blank comments and string literals, keeping offsets."""
    sql = re.sub(r"--[^\n]*", lambda m: " " * len(m.group()), sql)
    return re.sub(r"'(?:[^']|'')*'", lambda m: "'" + " " * (len(m.group()) - 2) + "'", sql)


def _enclosing_functions(sql: str, pos: int) -> set[str]:
    names, depth = set(), 0
    for i in range(pos - 1, -1, -1):
        if sql[i] == ")":
            depth += 1
        elif sql[i] == "(":
            if depth:
                depth -= 1
            elif match := re.search(r"([A-Za-z_]\w*)\s*$", sql[:i]):
                names.add(match.group(1).lower())
    return names


def unordered_aggregates(sql: str) -> list[str]:
    """The aggregate calls in ``sql`` whose result order is undefined."""
    text, found = _strip(sql), []
    for match in AGGREGATE.finditer(text):
        depth, i = 1, match.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        body = text[match.end() : i - 1]
        if "order by" in body.lower() or "::" in text[max(0, match.start() - 4) : match.start()]:
            continue
        if SORTERS & _enclosing_functions(text, match.start()):
            continue
        line = text.count("\n", 0, match.start()) + 1
        found.append(f"line {line}: {match.group(1)}({' '.join(body.split())[:60]})")
    return found


def test_scanner_tells_ordered_from_unordered() -> None:
    assert unordered_aggregates("SELECT string_agg(DISTINCT ip, ', ') FROM t")
    assert unordered_aggregates("SELECT list_distinct(list(x)) FROM t")
    assert not unordered_aggregates("SELECT string_agg(DISTINCT ip, ', ' ORDER BY ip) FROM t")
    assert not unordered_aggregates("SELECT list_sort(list_distinct(flatten(list(x)))) FROM t")
    assert not unordered_aggregates("SELECT 'on the allowed list (spec)' || x, []::VARCHAR[]")


def test_every_check_aggregate_is_ordered() -> None:
    problems = [
        f"{path.relative_to(controls_dir())}: {issue}"
        for path in sorted(controls_dir().rglob("*.sql"))
        for issue in unordered_aggregates(path.read_text(encoding="utf-8"))
    ]
    assert not problems, "\n".join(problems)
