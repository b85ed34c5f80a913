"""Withdrawal from a held-back mart's kept published version (see weir.publish): the rows of
users whose consent for the mart's purpose no longer holds go, as they do from the next build.
And from the older published versions kept beside the current one: one that may still hold a
user who withdrew is removed once the new version is in, as erasure removes them."""

import shutil
from datetime import datetime
from pathlib import Path

import duckdb

from expectations._mart_suites import holds_sql
from privacy._keyring import SecretKey
from weir import row_tokens
from weir.manifest import meta
from weir.warehouse import tables


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


def prune_withdrawn_versions(con: duckdb.DuckDBPyConnection, root: Path) -> int:
    """Remove the older published versions (all but `current`) that may hold a user who
    withdrew: a mart in it was built before a withdrawal of its purpose was loaded. Returns
    the versions removed."""
    if not (root / "current").is_symlink() or "consent" not in tables(con, "raw"):
        return 0
    current = (root / "current").resolve().name
    removed = 0
    for folder in sorted((root / "versions").iterdir()):
        if folder.name.isdigit() and folder.name != current and _may_hold_withdrawn(con, folder / "published.duckdb"):
            shutil.rmtree(folder)
            removed += 1
    return removed


def _may_hold_withdrawn(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether a published file may hold a user who withdrew (a file with no catalogue may)."""
    if not path.is_file():
        return False
    con.execute("attach ? as old_pub (read_only)", [str(path)])
    try:
        if not con.execute(
            "select 1 from duckdb_tables() where database_name = 'old_pub' and table_name = 'published_marts'"
        ).fetchone():
            return True
        # A mart of no purpose may hold anyone: any withdrawal counts.
        return con.execute(
            "select exists (select 1 from old_pub.main.published_marts m join raw.consent c "
            "on c.status = 'withdrawn' and (m.purpose is null or c.purpose = m.purpose) "
            "and c._loaded_at > coalesce(m.built_at, m.published_at))"
        ).fetchone()[0]
    finally:
        con.execute("detach old_pub")
