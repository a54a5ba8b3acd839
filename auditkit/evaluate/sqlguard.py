"""Is a piece of catalog SQL exactly one read-only SELECT? DuckDB's own parser decides.

Check and library SQL come from folders a user names, so they are untrusted.
:func:`select_problem` refuses, with a one-line reason:

- anything that is not exactly one statement of type SELECT
  (``duckdb.extract_statements``): a second statement after a ``;``, SQL that
  closes a parenthesis to append one, DDL, PRAGMA, CALL...;
- a data-changing statement *inside* that SELECT (DuckDB accepts
  ``WITH x AS (UPDATE ... RETURNING ...) SELECT ...``): the statement's parse
  tree (``json_serialize_sql``) may hold only SELECT, set-operation and CTE
  query nodes;
- functions that write (``nextval``) or run SQL from a string that cannot be
  checked (``query``, ``query_table``).

No regular expression is involved. ``controls lint`` reports the reason;
the engine asks again before it runs anything, and runs check SQL in a
read-only transaction anyway (see :mod:`auditkit.evaluate.sandbox`).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import duckdb

_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
_REFUSED_FUNCTIONS = {
    "nextval": "calls nextval, which writes a sequence",
    "query": "runs SQL from a string (query), which cannot be checked",
    "query_table": "runs SQL from a string (query_table), which cannot be checked",
}
RULE = "must be exactly one read-only SELECT statement"

_parser: duckdb.DuckDBPyConnection | None = None
_lock = threading.Lock()


def _tree(sql: str) -> dict[str, Any]:
    global _parser
    with _lock:
        if _parser is None:
            _parser = duckdb.connect(":memory:")
        row = _parser.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
    tree = json.loads(row[0][0])
    return tree if isinstance(tree, dict) else {"error": True}


def _walk(node: Any) -> str | None:
    """Why the parse tree is not read-only, or None."""
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            kind = item.get("type")
            if isinstance(kind, str) and kind.endswith("_NODE") and kind not in _QUERY_NODES:
                statement = kind.removesuffix("_NODE").removesuffix("_QUERY").replace("_", " ")
                return f"contains a data-changing statement ({statement}) inside the SELECT"
            name = item.get("function_name")
            if isinstance(name, str) and name.lower() in _REFUSED_FUNCTIONS:
                return _REFUSED_FUNCTIONS[name.lower()]
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def select_problem(sql: str) -> str | None:
    """Why ``sql`` is not exactly one read-only SELECT statement (None when it is)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        return f"{RULE}; it does not parse: {str(exc).splitlines()[0]}"
    if len(statements) != 1:
        return f"{RULE}; found {len(statements)} statements"
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        return f"{RULE}; found a {kind.name} statement"
    tree = _tree(sql)
    if tree.get("error"):
        return f"{RULE}; DuckDB cannot inspect it: {tree.get('error_message', 'unknown error')}"
    problem = _walk(tree.get("statements"))
    return f"{RULE}; it {problem}" if problem else None
