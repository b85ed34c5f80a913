"""The contract as SQL: one reason code and one message per staged row (null when clean).

Messages name the column and the rule, never the value: a value may be personal data.
"""

from weir.contract import Column, Contract
from weir.sql import ident

# Clock skew tolerated before a timestamp counts as "in the future".
FUTURE_TOLERANCE = "interval 5 minutes"
EARLIEST = "timestamp '2000-01-01'"  # nothing in this domain predates the year 2000
SQL_TYPES = {  # contract type -> DuckDB type
    "varchar": "varchar",
    "bigint": "bigint",
    "double": "double",
    "boolean": "boolean",
    "timestamp": "timestamptz",
    "date": "date",
}


def typed_name(column: Column) -> str:
    """Column holding the value cast to its contract type (cast once, used by every rule)."""
    return ident(column.name) if column.type == "varchar" else ident("_t_" + column.name)


def _cast_sql(column: Column) -> str:
    value, kind = ident(column.name), SQL_TYPES[column.type]
    if column.type == "bigint":
        # DuckDB rounds '2.55' to 3 when casting to an integer: only exact integers pass, any
        # other number stays null and is quarantined as wrong_type, never silently rounded.
        whole = f"try_cast({value} as bigint)"
        return f"case when try_cast({value} as double) = {whole} then {whole} end"
    return f"try_cast({value} as {kind})"


def typed_columns_sql(contract: Contract) -> str:
    casts = [f"{_cast_sql(c)} as {typed_name(c)}" for c in contract.columns if c.type != "varchar"]
    return ", ".join(casts)


def _typed(column: Column) -> str:
    return typed_name(column)


def _rules(column: Column) -> list[tuple[str, str, str]]:
    """(condition, reason code, message) for one column, in the order they are checked."""
    c, v = column.name, ident(column.name)
    rules = []
    if column.required:
        rules.append((f"{v} is null", "missing_required", f"column {c} is required but missing or empty"))
    if column.type != "varchar":
        rules.append(
            (
                f"{v} is not null and {_typed(column)} is null",
                "wrong_type",
                f"column {c} is not a valid {column.type}"
                + (" (a whole number: decimals are never rounded)" if column.type == "bigint" else ""),
            )
        )
    if column.max_length:
        rules.append(
            (
                f"length({v}) > {column.max_length}",
                "oversize_field",
                f"column {c} is longer than {column.max_length} characters",
            )
        )
    if column.allowed:
        allowed = ", ".join("'" + a.replace("'", "''") + "'" for a in column.allowed)
        rules.append(
            (f"{v} not in ({allowed})", "unknown_enum_value", f"column {c} is not one of: {', '.join(column.allowed)}")
        )
    if column.min is not None:
        rules.append((f"{_typed(column)} < {column.min}", "out_of_range", f"column {c} is below {column.min:g}"))
    if column.max is not None:
        rules.append((f"{_typed(column)} > {column.max}", "out_of_range", f"column {c} is above {column.max:g}"))
    if column.type == "timestamp":
        if not column.future_allowed:
            rules.append(
                (f"{_typed(column)} > now() + {FUTURE_TOLERANCE}", "future_timestamp", f"column {c} lies in the future")
            )
        rules.append((f"{_typed(column)} < {EARLIEST}", "ancient_timestamp", f"column {c} is before 2000-01-01"))
    return rules


def reason_sql(contract: Contract, filtered: bool = False) -> tuple[str, str, str]:
    """(index of the first broken rule, list of reason codes, list of messages) as SQL.
    `filtered`: the staged rows carry `_keep`, a mapping's filter verdict."""
    rules = [
        ("not _utf8", "invalid_encoding", "line is not valid UTF-8"),
        ("not _parse_ok", "malformed_line", "line cannot be parsed as one record of this source"),
    ]
    if filtered:
        rules.append(("not _keep", "filtered_by_mapping", "row left out by the mapping's filter"))
    for column in contract.columns:
        rules += _rules(column)
    if contract.distinct_pair:
        a, b = contract.distinct_pair
        rules.append((f"{ident(a)} = {ident(b)}", "self_reference", f"columns {a} and {b} name the same value"))
    # One CASE finds the first broken rule; code and message are looked up by its index.
    first = " ".join(f"when {cond} then {i + 1}" for i, (cond, _, _) in enumerate(rules))
    codes = ", ".join(f"'{reason}'" for _, reason, _ in rules)
    messages = ", ".join("'" + msg.replace("'", "''") + "'" for _, _, msg in rules)
    return f"case {first} end", f"[{codes}]", f"[{messages}]"
