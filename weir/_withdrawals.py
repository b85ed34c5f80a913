"""Withdrawal from a held-back mart's kept published version (see weir.publish): the rows of
users whose consent for the mart's purpose no longer holds go, as they do from the next build."""

from datetime import datetime

import duckdb

from expectations._mart_suites import holds_sql
from privacy._keyring import SecretKey
from weir import row_tokens
from weir.manifest import meta


def delete_withdrawn(
    con: duckdb.DuckDBPyConnection, node: dict, columns: dict, purpose: str, salt: SecretKey, since: datetime
) -> int:
    """Delete the kept rows of users whose consent no longer holds (checked against the consent
    ledger's intervals, as the gate does); blank other users a row names. Returns rows deleted.
    Row-bound rows are found by recomputing them for each user who withdrew `since` the kept
    version was built (earlier ones were not in it)."""
    name = node["name"]
    if row_tokens.bound_columns(node):  # rows are found by recomputing their pseudonyms
        gone = con.execute(
            "select distinct user_token from raw.consent where purpose = ? and status = 'withdrawn' "
            f"and _loaded_at > ? and not {holds_sql('user_token', '?', 'now()')}",
            [purpose, since, purpose],
        ).fetchall()
        found = row_tokens.erase(con, "pub", salt, [u for (u,) in gone]).get(f"main.{name}", {})
        removed = sum(deleted for deleted, _ in found.values())
    else:
        removed = 0
        for column, column_purpose in columns.items():
            removed += con.execute(
                f"delete from pub.main.{name} where {column} is not null and not {holds_sql(column, '?', 'now()')}",
                [column_purpose],
            ).fetchone()[0]
        for column, col in node["columns"].items():
            if meta(col).get("category") == "user.unique_id" and column not in columns:
                con.execute(
                    f"update pub.main.{name} set {column} = null "
                    f"where {column} is not null and not {holds_sql(column, '?', 'now()')}",
                    [purpose],
                )
    count = con.execute(f"select count(*) from pub.main.{name}").fetchone()[0]
    con.execute("update pub.main.published_marts set row_count = ? where mart = ?", [count, name])
    return removed
