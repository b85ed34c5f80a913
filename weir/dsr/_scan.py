"""Find and remove one user's token in any table: the shared machinery of erasure and access.

Tables and columns are found from the catalogue, never from a list kept by hand, so a new
model or raw source is covered the day it appears. A column holds a token when its name says
so (`<entity>_token`, STYLE.md); the sweep and the verification also look inside every other
text-like column (JSON text, lists), so a token carried under another name is found too.
"""

import duckdb

from weir.dsr._reach import OWNER_COLUMN, Column, Reach, bounds, condition, first_match, pattern, plan
from weir.sql import Params, ident, qualified

__all__ = ["Column", "pattern"]  # shared with erasure's quarantine step and access


def base_tables(con: duckdb.DuckDBPyConnection, database: str, schemas: tuple[str, ...] | None = None) -> list[str]:
    """`schema.table` of every base table of an attached database (optionally some schemas)."""
    rows = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ? and not temporary order by 1, 2",
        [database],
    ).fetchall()
    return [f"{s}.{t}" for s, t in rows if schemas is None or s in schemas]


def has_schema(con: duckdb.DuckDBPyConnection, schema: str) -> bool:
    """Whether the connection's own database has the schema (looked up, never created)."""
    rows = con.execute(
        "select count(*) from duckdb_schemas() where database_name = current_database() and schema_name = ?", [schema]
    )
    return bool(rows.fetchone()[0])


def columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[Column]:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name, data_type, is_nullable from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? order by column_index",
        [database, schema, name],
    ).fetchall()
    return [Column(*r) for r in rows]


def _name(database: str, table: str) -> str:
    return qualified(database, *table.split("."))


def erase_in(
    con: duckdb.DuckDBPyConnection, database: str, table: str, tokens: list[str]
) -> dict[str, tuple[int, int]]:
    """Delete the rows of every user in `tokens` from one table; blank them where a row is another user's.

    A row whose `user_token` is the user, or that has no owner column (a follow edge, a share
    cascade the user started), is theirs: deleted. A row owned by someone else that names the
    user in another column (an order they referred) keeps its owner's data, with that column
    set to null where the column allows it (deleted where it does not). Finally any row still
    holding a token in some other text column (JSON text, lists) is deleted. Returns, per token that
    was found, (deleted, blanked); each column is read once for the whole batch.
    """
    if not tokens:
        return {}
    cols = columns(con, database, table)
    name = _name(database, table)
    owned = any(c.name == OWNER_COLUMN for c in cols)
    counts: dict[str, list[int]] = {}
    for col in (c for c in cols if c.is_token):
        column = ident(col.name)
        where = f"{column} in (select unnest($tokens))"
        hits = con.execute(f"select {column}, count(*) from {name} where {where} group by 1", {"tokens": tokens})
        found = hits.fetchall()
        if not found:
            continue
        deleting = col.name == OWNER_COLUMN or not owned or not col.nullable
        change = f"delete from {name}" if deleting else f"update {name} set {column} = null"
        con.execute(f"{change} where {where}", {"tokens": tokens})
        for user_token, n in found:
            counts.setdefault(user_token, [0, 0])[0 if deleting else 1] += n
    # Token columns were matched exactly above; a token hidden elsewhere (JSON text, lists,
    # a token-shaped record id) is found in the columns their statistics say can hold one.
    text = [c for c in cols if c.is_text and not c.is_token]
    found_bounds = bounds(con, name, text) if text else None
    reaches = plan(text, found_bounds, tokens) if found_bounds is not None else []
    if reaches:
        params, doomed = Params("n"), Params("n")  # the delete binds only its condition's needles
        where = condition(reaches, params)
        found = con.execute(
            f"select {first_match(reaches, params)}, count(*) from {name} where {where} group by 1", params.values
        ).fetchall()
        if found:
            con.execute(f"delete from {name} where {condition(reaches, doomed)}", doomed.values)
        for user_token, n in found:
            counts.setdefault(user_token, [0, 0])[0] += n
    return {t: (d, b) for t, (d, b) in counts.items()}


def traces(
    con: duckdb.DuckDBPyConnection, database: str, needles: list[str], skip: tuple[str, ...] = ()
) -> dict[str, dict[str, int]]:
    """`schema.table` -> {needle: rows} for the rows in which a text column holds a needle
    (token or raw value): one pass per table for all needles, over the columns whose
    statistics say they can hold one (weir/dsr/_reach.py); per-needle counts only where
    something is found (the rare case)."""
    found: dict[str, dict[str, int]] = {}
    for table in base_tables(con, database):
        cols = [c for c in columns(con, database, table) if c.is_text]
        name = _name(database, table)
        if table in skip or not cols:
            continue
        found_bounds = bounds(con, name, cols)
        if found_bounds is None or not _count(con, name, plan(cols, found_bounds, needles)):
            continue
        for needle in needles:
            count = _count(con, name, plan(cols, found_bounds, [needle]))
            if count:
                found.setdefault(table, {})[needle] = count
    return found


def _count(con: duckdb.DuckDBPyConnection, name: str, reaches: list[Reach]) -> int:
    if not reaches:
        return 0
    params = Params("n")
    return con.execute(f"select count(*) from {name} where {condition(reaches, params)}", params.values).fetchone()[0]


REQUESTER = "_dsr_requester"  # the column naming whose rows `rows_of_many` returned


def rows_of_many(
    con: duckdb.DuckDBPyConnection, database: str, table: str, user_tokens: list[str]
) -> duckdb.DuckDBPyRelation | None:
    """The rows of one table that are any of the users', one read for all of them, each row
    with the user it is for as its last column (`REQUESTER`): by owner column, else by each party
    column (a follow between two of them is each one's; a row naming one user twice, once)."""
    cols = columns(con, database, table)
    owner = [c for c in cols if c.name == OWNER_COLUMN]
    chosen = owner or [c for c in cols if c.is_token and c.names_user]
    if not chosen:
        return None
    branches = []
    for i, col in enumerate(chosen):
        column = ident(col.name)
        again = "".join(f" and {column} is distinct from {ident(c.name)}" for c in chosen[:i])
        branches.append(
            f"select *, {column} as {ident(REQUESTER)} from {_name(database, table)} "
            f"where {column} in (select unnest($tokens)){again}"
        )
    return con.query(" union all ".join(branches), params={"tokens": list(user_tokens)})
