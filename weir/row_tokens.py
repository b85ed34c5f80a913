"""Row-bound pseudonyms: a published row-level mart never carries one token on several rows.

k-anonymity holds per class of quasi-identifiers, but a buyer's token on each of their orders
lets someone holding the source orders intersect the candidate tokens of those orders and
single the buyer out (117 of 497 buyers on the test world). So the published copy of a mart
that declares its row key (`meta.row_key`, e.g. `order_id`) replaces every column naming a
person (category `user.unique_id`) or a shared source record (`meta.pseudonym`, e.g. a share
id) with HMAC(publish salt, column : row key : value): two rows of one person share nothing,
and a row's value is not any warehouse token. The warehouse mart keeps the real tokens for the
dbt tests and the publish gate's consent and class checks.

Weir can still find a person's published rows: with the salt it recomputes the pseudonym of
every published row for that person's token (`erase`). Withdrawal (weir.publish) and DSR
erasure (weir.dsr) both delete through it; nobody without the salt can link rows.
"""

import hashlib

import duckdb

from privacy._keyring import SecretKey
from privacy._pseudonymise import TOKEN_HEX_CHARS, key_params
from weir.manifest import meta
from weir.sql import ident, qualified

ROW_KEY = "row_key"
PERSON = "user.unique_id"  # the category of pseudonymous user tokens (expectations._mart_suites)
OWNER = "user_token"  # the person a row is about: their rows are deleted, other persons blanked
PREFIX = "rt1_"  # row token, version 1: not shaped like a warehouse token (`tk<n>_`)
PATTERN = rf"^{PREFIX}[0-9a-f]{{{TOKEN_HEX_CHARS}}}$"


def bound_columns(node: dict) -> list[str]:
    """The columns of a mart published as row-bound pseudonyms (none without a row key)."""
    key = meta(node).get(ROW_KEY)
    if not key:
        return []
    return [
        name
        for name, column in node["columns"].items()
        if name != key and (meta(column).get("category") == PERSON or meta(column).get("pseudonym"))
    ]


def _pseudonym_sql(column: str, key_sql: str, value_sql: str) -> str:
    """HMAC-SHA256 spelled out as in privacy._pseudonymise (padded salt as $ipad/$opad); the
    column name is a bound parameter `$col_<column>`, never SQL text."""
    message = f"encode(${_param(column)} || ':' || {key_sql} || ':' || {value_sql})"
    digest = f"left(sha256($opad || unhex(sha256($ipad || {message}))), {TOKEN_HEX_CHARS})"
    return f"case when {value_sql} is null then null else '{PREFIX}' || {digest} end"


def _param(column: str) -> str:
    return "col_" + hashlib.sha256(column.encode()).hexdigest()[:12]  # any column name, a safe parameter


def _params(salt: SecretKey, columns: list[str]) -> dict[str, object]:
    params = {k: v for k, v in key_params(salt).items() if k != "version"}
    return {**params, **{_param(c): c for c in columns}}


def select_sql(node: dict, source: str, salt: SecretKey) -> tuple[str, dict[str, object]]:
    """SQL (and its parameters) reading mart `source` as it is published."""
    bound, key = bound_columns(node), meta(node).get(ROW_KEY)
    if not bound:
        return f"select * from {source}", {}
    parts = [
        f"{_pseudonym_sql(name, ident(key), ident(name))} as {ident(name)}" if name in bound else ident(name)
        for name in node["columns"]
    ]
    return f"select {', '.join(parts)} from {source}", _params(salt, bound)


def _marts(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str, list[str]]]:
    """(mart, row key, bound columns) of the row-bound marts of an attached published file."""
    catalogue = qualified(database, "main", "published_marts")
    found = con.execute(
        "select count(*) from duckdb_columns() where database_name = ? and table_name = 'published_marts' "
        "and column_name = 'row_key'",
        [database],
    ).fetchone()[0]
    if not found:  # a layer published before row-bound pseudonyms
        return []
    return con.execute(f"select mart, row_key, row_bound from {catalogue} where row_key is not null").fetchall()


def _match(column: str, key: str, salt: SecretKey, user: str) -> tuple[str, dict[str, object]]:
    return f"{ident(column)} = {_pseudonym_sql(column, ident(key), '$user')}", {**_params(salt, [column]), "user": user}


def erase(
    con: duckdb.DuckDBPyConnection, database: str, salt: SecretKey, tokens: list[str]
) -> dict[str, dict[str, tuple[int, int]]]:
    """Remove users (their warehouse tokens) from the row-bound marts of an attached published
    file: the rows they own are deleted, other columns naming them set to null. Returns
    `schema.table` -> token -> (deleted, blanked), only where something changed."""
    found: dict[str, dict[str, tuple[int, int]]] = {}
    for name, key, bound in _marts(con, database):
        table = qualified(database, "main", name)
        for user in tokens:
            deleted = blanked = 0
            for column in bound:
                match, params = _match(column, key, salt, user)
                if column == OWNER:
                    deleted += con.execute(f"delete from {table} where {match}", params).fetchone()[0]
                else:
                    sql = f"update {table} set {ident(column)} = null where {match}"
                    blanked += con.execute(sql, params).fetchone()[0]
            if deleted or blanked:
                found.setdefault(f"main.{name}", {})[user] = (deleted, blanked)
    return found


def traces(con: duckdb.DuckDBPyConnection, database: str, salt: SecretKey, tokens: list[str]) -> dict[str, int]:
    """`schema.table` -> rows of the row-bound marts that still name any of the users."""
    found: dict[str, int] = {}
    for name, key, bound in _marts(con, database):
        for user in tokens:
            for column in bound:
                match, params = _match(column, key, salt, user)
                rows = con.execute(f"select count(*) from {qualified(database, 'main', name)} where {match}", params)
                found[f"main.{name}"] = found.get(f"main.{name}", 0) + rows.fetchone()[0]
    return {table: rows for table, rows in found.items() if rows}
