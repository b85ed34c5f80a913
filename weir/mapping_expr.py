"""Expressions in a source mapping (computed columns, row filters), checked before any use.

A mapping is hostile input, and an expression is SQL. DuckDB's own parser reads it (as the one
item of `select <expr>`, through `json_serialize_sql` with the text bound as a parameter), and
the parse tree is walked: only column references, constants, operators, CASE, CAST and an
allow-list of scalar functions may appear. No subquery, table function, window, lambda, star,
qualified name or anything else. What is pasted into the staging SQL is the expression DuckDB
prints back from the checked tree, never the text as written (a comment or a stray quote in
the text cannot reach the surrounding SQL).
"""

import json
from dataclasses import dataclass

import duckdb

from weir.errors import ConfigError

# Scalar functions an export's columns may need: text, numbers, times. Nothing that reads
# files, settings, variables, the catalog or other tables, and nothing that can blow one value
# up to gigabytes (repeat, lpad, rpad).
FUNCTIONS = frozenset(
    """
    abs ceil ceiling floor round trunc sign greatest least mod power pow sqrt ln log log10 exp
    lower upper lcase ucase trim ltrim rtrim strip_accents substr substring left right length
    char_length replace concat concat_ws reverse split_part starts_with
    ends_with prefix suffix contains instr position strpos regexp_replace regexp_extract
    regexp_matches regexp_full_match nullif ifnull if coalesce
    strptime try_strptime strftime to_timestamp epoch_ms make_date make_timestamp date_trunc
    date_part datepart year month day hour minute second
    """.split()
)
NODES = {
    "COLUMN_REF",
    "CONSTANT",
    "OPERATOR",
    "COMPARISON",
    "CONJUNCTION",
    "CASE",
    "CAST",
    "TYPE",
    "FUNCTION",
    "BETWEEN",
}
CLAUSES_MUST_BE_EMPTY = ("where_clause", "having", "qualify", "sample")


@dataclass(frozen=True)
class CheckedExpr:
    sql: str  # as DuckDB prints the checked tree back
    columns: frozenset[str]  # the export columns it reads


def check_expression(text: str, where: str) -> CheckedExpr:
    """Parse and check one mapping expression; `where` names it in errors (mapping key)."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: the expression is empty; write a DuckDB expression over the export's columns.")
    with duckdb.connect() as con:
        tree = json.loads(con.execute("select json_serialize_sql($q)", {"q": "select " + text}).fetchone()[0])
        if tree.get("error"):
            raise ConfigError(f"{where}: {text!r} is not one SQL expression ({tree.get('error_message')}).")
        node = tree["statements"][0]["node"] if len(tree["statements"]) == 1 else {}
        extra = [c for c in CLAUSES_MUST_BE_EMPTY if node.get(c)]
        if (
            node.get("type") != "SELECT_NODE"
            or node.get("from_table", {}).get("type") != "EMPTY"
            or len(node.get("select_list", [])) != 1
            or node.get("group_expressions")
            or node.get("modifiers")
            or node.get("cte_map", {}).get("map")
            or extra
        ):
            raise ConfigError(f"{where}: {text!r} must be a single expression, not a query.")
        columns: set[str] = set()
        _walk(node["select_list"][0], text, where, columns)
        printed = con.execute("select json_deserialize_sql($t)", {"t": json.dumps(tree)}).fetchone()[0]
    if not printed.upper().startswith("SELECT "):
        raise ConfigError(f"{where}: {text!r} could not be checked; simplify the expression.")
    return CheckedExpr(printed[len("SELECT ") :], frozenset(columns))


def _walk(node: object, text: str, where: str, columns: set[str]) -> None:
    """Refuse any expression node outside the allow-list; collect the column names read."""
    if isinstance(node, list):
        for item in node:
            _walk(item, text, where, columns)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("class")
    if kind is not None:
        if kind not in NODES:
            raise ConfigError(f"{where}: {text!r} uses {kind.lower()}, which mapping expressions may not use.")
        if kind == "COLUMN_REF":
            names = node.get("column_names", [])
            if len(names) != 1:
                raise ConfigError(f"{where}: {text!r} names column {'.'.join(names)!r}; name export columns only.")
            columns.add(names[0])
        if kind == "TYPE" and (node.get("schema") or node.get("catalog")):
            raise ConfigError(f"{where}: {text!r} casts to a qualified type; use a built-in type (varchar, bigint...).")
        if kind == "FUNCTION":
            name = node.get("function_name", "")
            symbolic = node.get("is_operator") or not any(ch.isalpha() for ch in name)
            if node.get("schema") or node.get("catalog") or (not symbolic and name.lower() not in FUNCTIONS):
                raise ConfigError(
                    f"{where}: {text!r} calls {name!r}, which mapping expressions may not call; "
                    f"allowed functions: {', '.join(sorted(FUNCTIONS))}."
                )
            if node.get("filter") or node.get("distinct") or node.get("order_bys", {}).get("orders"):
                raise ConfigError(f"{where}: {text!r}: aggregate clauses are not allowed in a mapping expression.")
    for key, value in node.items():
        if key != "column_names":
            _walk(value, text, where, columns)
