"""The published layer: only passing marts, read-only, and the last good version survives
a broken model, a failed test or a contract violation, minus users who withdrew since; a crash
mid-publish leaves it whole."""

import os
import stat

import duckdb
import polars as pl
import pytest

from privacy._consent import PURPOSES
from privacy._keyring import publish_salt
from weir import dbt, pipeline, publish, row_tokens
from weir.publish import published_db, published_dir, published_tables

from .conftest import build, never_consented, withdraw


def current_database(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_database()").fetchone()[0]


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
    mart = "mart_referral_attribution"
    before = _rows(published_db(warehouse_copy), mart)
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        outsider = never_consented(con)
        con.execute(
            f"insert into marts.{mart} (order_id, user_token, order_week, category, gmv_band_cents, "
            "is_share_attributed) values ('tk1_' || repeat('cd', 16), ?, current_date, 'beauty', 0, false)",
            [outsider],
        )
    run = dbt.run(warehouse_copy, ["test", "--select", mart], check=False)
    assert not run.ok

    result = pipeline.publish_stage(warehouse_copy, "test")

    blocked = {b.mart: b.reason for b in result.blocked}
    assert set(blocked) == {mart}
    assert "has_consent" in blocked[mart] and outsider in blocked[mart]
    assert "mart_funnel_by_channel" in result.published
    assert _rows(published_db(warehouse_copy), mart) == before


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


def test_a_withdrawal_leaves_the_published_layer_on_the_next_run_even_when_marts_are_held_back(warehouse_copy) -> None:
    # Prepare: a buyer in the published referral attribution withdraws analytics; after the
    # rebuild, both the per-order mart and an aggregate one fail the gate and are held back.
    # The published copy binds buyers' tokens to their rows (weir/row_tokens.py): the buyer is
    # chosen in the warehouse mart, of the same build.
    path = published_db(warehouse_copy)
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        buyers = dict(
            con.execute(
                "select user_token, count(*) from marts.mart_referral_attribution group by 1 order by 2 desc, 1 "
                "limit 20"
            ).fetchall()
        )
    kept_rows = _rows(path, "mart_referral_attribution")
    withdrawn = next(iter(buyers))
    with duckdb.connect(str(path), read_only=True) as con:  # Weir finds them with its salt
        salt = publish_salt(warehouse_copy.keys)
        assert row_tokens.traces(con, current_database(con), salt, [withdrawn]) == {
            "main.mart_referral_attribution": buyers[withdrawn]
        }
    withdraw(warehouse_copy, withdrawn)
    assert build(warehouse_copy).ok
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        con.execute(
            "update marts.mart_referral_attribution set first_touch_sharer_token = 'u000123' "
            "where order_id = (select min(order_id) from marts.mart_referral_attribution)"
        )
        con.execute(
            "insert into marts.mart_funnel_by_channel (event_date, channel, viewers) values ('2026-10-03', 'pigeon', 5)"
        )

    # Execute
    result = pipeline.publish_stage(warehouse_copy, "test")

    # Assert: the kept per-order version lost the user's rows; the aggregate one left the layer.
    blocked = {b.mart: b.reason for b in result.blocked}
    assert set(blocked) == {"mart_referral_attribution", "mart_funnel_by_channel"}
    assert blocked["mart_referral_attribution"].endswith(
        f"{buyers[withdrawn]} rows of users who withdrew analytics deleted from its last good version"
    ), "\n".join(blocked.values())
    assert blocked["mart_funnel_by_channel"].endswith(
        "withdrawn from the published layer: 1 users withdrew analytics since its last good version was built, "
        "and it may count them"
    )
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        assert con.execute("select count(*) from mart_referral_attribution").fetchone()[0] == (
            kept_rows - buyers[withdrawn]
        )
        assert row_tokens.traces(con, current_database(con), salt, [withdrawn]) == {}
    assert "mart_funnel_by_channel" not in tables | set(published_tables(warehouse_copy))
    assert not (published_dir(warehouse_copy) / "parquet" / "mart_funnel_by_channel.parquet").exists()
    assert (
        pl.read_parquet(published_dir(warehouse_copy) / "parquet" / "mart_referral_attribution.parquet").height
        == kept_rows - buyers[withdrawn]
    )
    assert {"mart_daily_demand", "mart_kol_tiers"} <= set(result.published)  # the rest, rebuilt without them
    # The version before this one still held the buyer: removed, as erasure removes them.
    assert result.versions_removed == 1
    assert [p.name for p in (published_dir(warehouse_copy) / "versions").iterdir()] == [path.resolve().parent.name]


def test_older_published_versions_go_only_when_they_may_hold_a_user_who_withdrew(warehouse_copy) -> None:
    # Prepare: the published marts' purposes, a user, and a purpose none of them serves.
    versions = published_dir(warehouse_copy) / "versions"
    with duckdb.connect(str(published_db(warehouse_copy)), read_only=True) as con:
        served = {p for (p,) in con.execute("select distinct purpose from published_marts").fetchall()}
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        user = con.execute("select min(user_token) from raw.consent").fetchone()[0]
    unserved = sorted(set(PURPOSES) - served)
    assert None not in served and unserved and "analytics" in served

    # Execute and assert (the marts' gate runs after their build are recorded: no new gate runs):
    # no withdrawal, then one of a purpose no mart serves: two versions kept.
    assert pipeline.publish_stage(warehouse_copy, "test", gate=False).versions_removed == 0
    withdraw(warehouse_copy, user, unserved[0])
    assert pipeline.publish_stage(warehouse_copy, "test", gate=False).versions_removed == 0
    assert sorted(p.name for p in versions.iterdir()) == ["2", "3"]
    # A withdrawal of a purpose a mart serves, loaded after the marts were built: the older goes.
    withdraw(warehouse_copy, user, "analytics")
    result = pipeline.publish_stage(warehouse_copy, "test", gate=False)
    assert result.versions_removed == 1
    assert sorted(p.name for p in versions.iterdir()) == ["4"]
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        (figures,) = con.execute(
            "select figures ->> '$.versions_removed' from audit.log where action = 'publish' order by seq desc limit 1"
        ).fetchone()
    assert figures == "1"


def _parquet(data_dir) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((published_dir(data_dir) / "parquet").glob("*.parquet"))}


def test_a_crash_mid_publish_leaves_the_published_layer_fully_old(warehouse_copy, monkeypatch) -> None:
    # Prepare: a changed mart, and an export that dies right after writing its Parquet file.
    files, catalogue = _parquet(warehouse_copy), published_tables(warehouse_copy)
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        con.execute("delete from marts.mart_daily_demand where rowid % 10 = 0")
        demand = con.execute("select count(*) from marts.mart_daily_demand").fetchone()[0]
    export = publish._export_parquet

    def dies_mid_export(con, folder, names) -> None:  # type: ignore[no-untyped-def]
        export(con, folder, [n for n in names if n == "mart_daily_demand"])
        raise RuntimeError("killed mid-export")

    monkeypatch.setattr(publish, "_export_parquet", dies_mid_export)

    # Execute
    with pytest.raises(RuntimeError, match="killed mid-export"):
        pipeline.publish_stage(warehouse_copy, "test")

    # Assert: database and Parquet are both the old version; the next publish swaps both in.
    assert published_tables(warehouse_copy) == catalogue and _parquet(warehouse_copy) == files
    monkeypatch.undo()
    pipeline.publish_stage(warehouse_copy, "test")
    assert published_tables(warehouse_copy)["mart_daily_demand"] == demand < catalogue["mart_daily_demand"]
    assert pl.read_parquet(published_dir(warehouse_copy) / "parquet" / "mart_daily_demand.parquet").height == demand
    assert set(_parquet(warehouse_copy)) == set(files)
    versions = sorted(p.name for p in (published_dir(warehouse_copy) / "versions").iterdir())
    assert versions == ["1", "2"]  # the new one (over the crash's leftovers) and the one before it


def test_a_published_layer_from_before_versions_is_carried_over(tmp_path) -> None:
    # Prepare: the old layout, a plain file and a plain Parquet folder.
    from weir.config import resolve_data_dir

    data_dir = resolve_data_dir(tmp_path / "data")
    folder = published_dir(data_dir)
    (folder / "parquet").mkdir(parents=True)
    with duckdb.connect(str(folder / "published.duckdb")) as con:
        con.execute("create table old_mart as select 1 as x")
        con.execute(f"copy old_mart to '{folder / 'parquet' / 'old_mart.parquet'}' (format parquet)")

    def write(con: duckdb.DuckDBPyConnection) -> list[str]:
        con.execute("create table pub.main.new_mart as select 2 as y")
        return ["new_mart"]

    # Execute
    with duckdb.connect() as con:
        publish.update_published(con, data_dir, write)

    # Assert: fixed links through `current`; the old table and its Parquet kept; the new one added.
    assert (folder / "published.duckdb").is_symlink() and (folder / "parquet").is_symlink()
    assert os.readlink(folder / "current") == "versions/1"
    with duckdb.connect(str(folder / "published.duckdb"), read_only=True) as con:
        assert con.execute("select (select x from old_mart), (select y from new_mart)").fetchone() == (1, 2)
    assert sorted(p.name for p in (folder / "parquet").iterdir()) == ["new_mart.parquet", "old_mart.parquet"]
