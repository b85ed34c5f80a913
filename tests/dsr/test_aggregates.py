"""Erasure reaches aggregate tables: the models that count users without naming them are
recomputed from the erased inputs, equal to a full rebuild without the user, and the
published copies follow."""

import json
import shutil
from pathlib import Path

import duckdb

from tests.dsr.conftest import busiest
from tests.dsr.test_erasure import erase
from weir import dsr, pipeline
from weir.config import DataDir, resolve_data_dir
from weir.publish import published_dir


def snapshot(path: Path, tables: list[str], database: str | None = None) -> dict[str, list[tuple]]:
    """Each table's rows in a fixed order, floats rounded (DuckDB sums doubles in parallel),
    without the freshness column `computed_at` (when a row was computed, not what it holds)."""
    with duckdb.connect(str(path), read_only=True) as con:
        prefix = f"{database}." if database else ""
        return {t: sorted(_rows(con, f"{prefix}{t}")) for t in tables}


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    cursor = con.execute(f"select * from {table}")
    keep = [i for i, d in enumerate(cursor.description) if d[0] != "computed_at"]
    return [tuple(round(row[i], 9) if isinstance(row[i], float) else row[i] for i in keep) for row in cursor.fetchall()]


def test_aggregate_tables_after_erasure_equal_a_full_rebuild_without_the_user(copy_dir: DataDir, tmp_path) -> None:
    person = busiest(copy_dir)
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        marts = [
            t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()
        ]
    before = snapshot(copy_dir.warehouse, [f"marts.{m}" for m in marts])

    request_id = erase(copy_dir, person)

    _, steps = dsr.show_request(copy_dir, request_id)
    recomputed = sorted(json.loads(next(s for s in steps if s.system == "aggregates").detail)["recomputed"])
    assert {"marts.mart_funnel_by_channel", "marts.mart_daily_demand", "marts.mart_retention_cohorts"} <= set(
        recomputed
    )
    assert "marts.mart_user_features" not in recomputed  # a user's own rows: deleted, not recomputed
    after = snapshot(copy_dir.warehouse, recomputed)
    assert [t for t in recomputed if t in before and before[t] != after[t]]  # the user was counted
    rebuilt = resolve_data_dir(tmp_path / "rebuilt")
    shutil.copytree(copy_dir.root, rebuilt.root, symlinks=True)
    pipeline.warehouse_stage(rebuilt, "test", full_refresh=True)
    assert snapshot(rebuilt.warehouse, recomputed) == after
    published = {t.split(".")[1] for t in recomputed} & set(snapshot_names(copy_dir))
    assert published  # published aggregates carry the recomputed rows
    pub = snapshot(published_dir(copy_dir) / "published.duckdb", [f"main.{n}" for n in sorted(published)])
    assert {k.split(".")[1]: v for k, v in pub.items()} == {n: after[f"marts.{n}"] for n in sorted(published)}


def snapshot_names(data_dir: DataDir) -> list[str]:
    with duckdb.connect(str(published_dir(data_dir) / "published.duckdb"), read_only=True) as con:
        return [r[0] for r in con.execute("select mart from published_marts").fetchall()]
