"""The published layer: only passing marts, read-only, and the last good version survives
a broken model, a failed test or a contract violation."""

import os
import stat

import duckdb
import pytest

from weir import dbt, pipeline
from weir.publish import published_db, published_dir, published_tables

from .conftest import build, never_consented


def _rows(path, table: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"select count(*) from {table}").fetchone()[0]


def test_published_layer_holds_only_passing_publishable_marts(built) -> None:
    path = published_db(built.data_dir)
    assert not built.published.blocked
    with duckdb.connect(str(path), read_only=True) as con:
        schemas = {r[0] for r in con.execute("select distinct table_schema from information_schema.tables").fetchall()}
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert schemas == {"main"}
    assert "mart_funnel_by_channel" in tables and "published_marts" in tables
    # Never raw data, the quarantine, the vault, consent history, fraud or training tables.
    assert not tables & {"events", "quarantine", "contacts", "dim_consent", "mart_fraud_signals", "mart_user_features"}
    assert not {t for t in tables if t.startswith("dp_")}  # user-level DP inputs: only noisy releases go out
    assert set(published_tables(built.data_dir)) == tables - {"published_marts"}
    for name in tables - {"published_marts"}:
        assert (published_dir(built.data_dir) / "parquet" / f"{name}.parquet").exists()


def test_published_file_is_read_only(built) -> None:
    path = published_db(built.data_dir)
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    with duckdb.connect(str(path), read_only=True) as con, pytest.raises(duckdb.Error):
        con.execute("delete from mart_funnel_by_channel")


def test_consent_violation_blocks_publish_and_keeps_last_good(warehouse_copy) -> None:
    before = _rows(published_db(warehouse_copy), "mart_kol_influence")
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        outsider = never_consented(con)
        con.execute(
            "insert into marts.mart_kol_influence (kol_token, followers, influence_rank) values (?, 1, 999999)",
            [outsider],
        )
    run = dbt.run(warehouse_copy, ["test", "--select", "mart_kol_influence"], check=False)
    assert not run.ok

    result = pipeline.publish_stage(warehouse_copy, "test")

    blocked = {b.mart: b.reason for b in result.blocked}
    assert set(blocked) == {"mart_kol_influence"}
    assert "has_consent" in blocked["mart_kol_influence"] and outsider in blocked["mart_kol_influence"]
    assert "mart_funnel_by_channel" in result.published
    assert _rows(published_db(warehouse_copy), "mart_kol_influence") == before


def test_contract_violation_stops_only_the_affected_mart(warehouse_copy) -> None:
    before = _rows(published_db(warehouse_copy), "mart_live_stream_performance")
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:  # an upstream type change breaks the contract
        con.execute("alter table raw.live_streams alter started_at type timestamp")

    run = build(warehouse_copy)
    result = pipeline.publish_stage(warehouse_copy, "test")

    assert not run.ok
    failed = {r.unique_id for r in run.failed()}
    assert "model.weir.mart_live_stream_performance" in failed
    blocked = {b.mart: b.reason for b in result.blocked}
    assert set(blocked) == {"mart_live_stream_performance"}
    assert "contract" in blocked["mart_live_stream_performance"].lower()
    assert _rows(published_db(warehouse_copy), "mart_live_stream_performance") == before
    assert {"mart_funnel_by_channel", "mart_daily_demand"} <= set(result.published)


def test_readers_keep_their_snapshot_while_publishing(warehouse_copy) -> None:
    path = published_db(warehouse_copy)
    reader = duckdb.connect(str(path), read_only=True)
    try:
        pipeline.publish_stage(warehouse_copy, "test")  # a reader never blocks the publisher
        assert reader.execute("select count(*) from mart_daily_demand").fetchone()[0] > 0
    finally:
        reader.close()
