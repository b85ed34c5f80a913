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


def _candidates(
    con: duckdb.DuckDBPyConnection, table: str, key: str, bound: list[str], salt: SecretKey, reference: str | None
) -> str:
    """A relation of the published rows that may name someone no longer in the warehouse mart.

    A published row whose every bound column equals the pseudonym of the warehouse mart's
    current value (same row key) names only people still in the warehouse, who are not the
    ones being erased (verification checks the warehouse for them). So with the warehouse mart
    as `reference`, only the other rows (deleted or blanked there since publishing) are
    candidates: one HMAC per row, instead of one per row per user. Without it: every row."""
    if reference is None:
        return table
    name, params = "_row_token_candidates", _params(salt, bound)
    differs = " or ".join(
        f"p.{ident(c)} is distinct from {_pseudonym_sql(c, 'w.' + ident(key), 'w.' + ident(c))}" for c in bound
    )
    con.execute(
        f"create or replace temp table {name} as select p.* from {table} as p left join {reference} as w "
        f"on p.{ident(key)} = w.{ident(key)} where w.{ident(key)} is null or {differs}",
        params,
    )
    return name


def _reference(con: duckdb.DuckDBPyConnection, warehouse: str | None, mart: str) -> str | None:
    """The warehouse copy of a published mart (`<warehouse>.marts.<mart>`), if it is built."""
    if warehouse is None:
        return None
    built = con.execute(
        "select count(*) from duckdb_tables() where database_name = ? and schema_name = 'marts' and table_name = ?",
        [warehouse, mart],
    ).fetchone()[0]
    return qualified(warehouse, "marts", mart) if built else None


def found(
    con: duckdb.DuckDBPyConnection, database: str, salt: SecretKey, tokens: list[str], warehouse: str | None = None
) -> dict[str, dict[str, dict[str, list[str]]]]:
    """`schema.table` -> token -> bound column -> the row keys of the rows naming that user there.

    With `warehouse` (the attached warehouse database, already erased of the users), only rows
    that differ from the warehouse mart are recomputed for each user (`_candidates`)."""
    result: dict[str, dict[str, dict[str, list[str]]]] = {}
    for name, key, bound in _marts(con, database):
        rows = _candidates(con, qualified(database, "main", name), key, bound, salt, _reference(con, warehouse, name))
        for user in tokens:
            for column in bound:
                match, params = _match(column, key, salt, user)
                keys = [k for (k,) in con.execute(f"select {ident(key)} from {rows} where {match}", params).fetchall()]
                if keys:
                    result.setdefault(f"main.{name}", {}).setdefault(user, {})[column] = keys
    return result


def erase(
    con: duckdb.DuckDBPyConnection, database: str, salt: SecretKey, tokens: list[str], warehouse: str | None = None
) -> dict[str, dict[str, tuple[int, int]]]:
    """Remove users (their warehouse tokens) from the row-bound marts of an attached published
    file: the rows they own are deleted, other columns naming them set to null. Returns
    `schema.table` -> token -> (deleted, blanked), only where something changed."""
    changed: dict[str, dict[str, tuple[int, int]]] = {}
    keys_of = {name: key for name, key, _ in _marts(con, database)}
    for table, users in found(con, database, salt, tokens, warehouse).items():
        name = table.split(".")[1]
        target, key = qualified(database, "main", name), ident(keys_of[name])
        for user, columns in users.items():
            deleted = blanked = 0
            for column, keys in columns.items():
                where = f"{key} in (select unnest($keys))"
                if column == OWNER:
                    deleted += con.execute(f"delete from {target} where {where}", {"keys": keys}).fetchone()[0]
                else:
                    sql = f"update {target} set {ident(column)} = null where {where}"
                    blanked += con.execute(sql, {"keys": keys}).fetchone()[0]
            changed.setdefault(table, {})[user] = (deleted, blanked)
    return changed


def traces(
    con: duckdb.DuckDBPyConnection, database: str, salt: SecretKey, tokens: list[str], warehouse: str | None = None
) -> dict[str, int]:
    """`schema.table` -> rows of the row-bound marts that still name any of the users."""
    counted = {
        table: sum(len(keys) for columns in users.values() for keys in columns.values())
        for table, users in found(con, database, salt, tokens, warehouse).items()
    }
    return {table: rows for table, rows in counted.items() if rows}
