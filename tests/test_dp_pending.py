"""A DP release stored but not published (the process died in between) is published next run."""

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from weir import dp
from weir.config import DataDir
from weir.publish import published_db, update_published

ROW = (
    "daily_active_users", "2026Q4", "social_commerce", "dp_events", None, "{}", "f" * 64,
    0.1, 0.0, 2.45, 1e-6, "{}", "{}", None, 2, 0, "spend", datetime(2026, 12, 1, tzinfo=UTC), True, False,
)  # fmt: skip


def _warehouse(data_dir: DataDir, release_ids: list[str]) -> duckdb.DuckDBPyConnection:
    data_dir.root.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(data_dir.warehouse))
    con.execute("create schema dp")
    con.execute(dp.CATALOGUE_DDL)
    con.execute("create table dp.daily_active_users as select '2026Q4' as period, 'x' as release_id, 7 as users")
    for release_id in release_ids:
        con.execute("update dp.releases set is_current = false")
        con.execute("insert into dp.releases values (?, " + ", ".join("?" * len(ROW)) + ")", [release_id, *ROW])
    return con


def _published_ids(data_dir: DataDir) -> list[str]:
    with duckdb.connect(str(published_db(data_dir)), read_only=True) as con:
        return [r[0] for r in con.execute("select release_id from dp_releases order by release_id").fetchall()]


def test_a_stored_release_missing_from_the_published_file_is_pending(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "data")
    con = _warehouse(data_dir, ["r1"])

    assert dp.pending_releases(con, data_dir) == ["daily_active_users"]  # never published

    update_published(con, data_dir, lambda c: dp._publish(c, ["daily_active_users"]))
    assert dp.pending_releases(con, data_dir) == []

    con.execute("update dp.releases set is_current = false")
    con.execute("insert into dp.releases values (?, " + ", ".join("?" * len(ROW)) + ")", ["r2", *ROW])
    assert dp.pending_releases(con, data_dir) == ["daily_active_users"]  # stored, then the crash
    assert _published_ids(data_dir) == ["r1"]
    con.close()
