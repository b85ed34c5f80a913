"""Find and remove one user's token in any table: the shared machinery of erasure and access.

Tables and columns are found from the catalogue, never from a list kept by hand, so a new
model or raw source is covered the day it appears. A column holds a token when its name says
so (`<entity>_token`, STYLE.md); the sweep and the verification also look inside every other
text-like column (JSON text, lists), so a token carried under another name is found too.
"""

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from weir.sql import ident, qualified

# Text-like types a token can hide in; numbers, dates and blobs (ciphertext) cannot hold one.
TEXT_TYPES = ("VARCHAR", "JSON")
# Columns that name the user a row is about (or a relation they are a party to), for access.
OWNER_COLUMN = "user_token"
PARTY_SUFFIXES = ("_user_token", "follower_token", "followee_token", "sharer_token", "kol_token")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    data_type: str
    nullable: bool

    @property
    def is_token(self) -> bool:
        return self.data_type == "VARCHAR" and self.name.endswith("_token")

    @property
    def is_text(self) -> bool:
        return self.data_type in TEXT_TYPES or self.data_type.endswith("[]") or self.data_type.startswith("STRUCT")

    @property
    def names_user(self) -> bool:
        return self.name == OWNER_COLUMN or self.name.endswith(PARTY_SUFFIXES)


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


def pattern(needles: list[str]) -> str:
    """One RE2 alternation of literal needles (bound as a parameter, never SQL text): a whole
    batch of users is found in one pass over a table instead of one pass per needle."""
    if not needles:
        raise ValueError("no needles: an empty alternation would match every row")
    return "|".join(_literal(n) for n in sorted(set(needles)))


def _literal(needle: str) -> str:
    """A needle as an RE2 literal: letters and digits as they are, every other character as \\x{..}."""
    return "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):x}}}" for c in needle)


def _matches_any(cols: list[Column]) -> str:
    return " or ".join(f"regexp_matches(cast({ident(c.name)} as varchar), $pattern)" for c in cols)


def _first_match(cols: list[Column]) -> str:
    found = ", ".join(f"nullif(regexp_extract(cast({ident(c.name)} as varchar), $pattern), '')" for c in cols)
    return f"coalesce({found})" if len(cols) > 1 else found


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
    # Token columns were matched exactly above; a token hidden elsewhere (JSON text, lists) is
    # found by the pattern. Each token column holds one token, so no pattern pass over them.
    text = [c for c in cols if c.is_text and not c.is_token]
    if text:
        params = {"pattern": pattern(tokens)}
        found = con.execute(
            f"select {_first_match(text)}, count(*) from {name} where {_matches_any(text)} group by 1", params
        ).fetchall()
        if found:
            con.execute(f"delete from {name} where {_matches_any(text)}", params)
        for user_token, n in found:
            counts.setdefault(user_token, [0, 0])[0] += n
    return {t: (d, b) for t, (d, b) in counts.items()}


def traces(
    con: duckdb.DuckDBPyConnection, database: str, needles: list[str], skip: tuple[str, ...] = ()
) -> dict[str, dict[str, int]]:
    """`schema.table` -> {needle: rows} for the rows in which a text column contains a needle
    (token or raw value): one pass per table for all needles (a token column, which holds one
    value, is compared whole; other text columns are searched); per-needle counts only where
    something is found (the rare case)."""
    found: dict[str, dict[str, int]] = {}
    for table in base_tables(con, database):
        cols = columns(con, database, table)
        if table in skip or not any(c.is_text for c in cols):
            continue
        where, params = _holds_any(cols)
        sql = f"select count(*) from {_name(database, table)} where {where}"
        if not con.execute(sql, params(needles)).fetchone()[0]:
            continue
        for needle in needles:
            count = con.execute(sql, params([needle])).fetchone()[0]
            if count:
                found.setdefault(table, {})[needle] = count
    return found


def _holds_any(cols: list[Column]) -> tuple[str, Callable[[list[str]], dict]]:
    """A condition on a row holding any needle, and how to bind the needles to it."""
    whole = [f"{ident(c.name)} in (select unnest($needles))" for c in cols if c.is_token]
    searched = [c for c in cols if c.is_text and not c.is_token]
    where = " or ".join([*whole, *([_matches_any(searched)] if searched else [])])

    def params(needles: list[str]) -> dict:
        bound = {"needles": needles} if whole else {}
        return {**bound, "pattern": pattern(needles)} if searched else bound

    return where, params


def rows_of(
    con: duckdb.DuckDBPyConnection, database: str, table: str, user_token: str
) -> duckdb.DuckDBPyRelation | None:
    """The rows of one table that are the user's: by owner column, else by any party column."""
    cols = columns(con, database, table)
    owner = [c for c in cols if c.name == OWNER_COLUMN]
    chosen = owner or [c for c in cols if c.is_token and c.names_user]
    if not chosen:
        return None
    where = " or ".join(f"{ident(c.name)} = $needle" for c in chosen)
    return con.query(f"select * from {_name(database, table)} where {where}", params={"needle": user_token})
