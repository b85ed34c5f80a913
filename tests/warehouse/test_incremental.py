"""Incremental models: a daily batch appends without rebuilding history, equals a full
refresh, and a consent withdrawal reaches every purpose on the next build."""

from datetime import date

import duckdb

from weir.generate import GenerateConfig, generate
from weir.ingest import ingest

from .conftest import build

DAILY = GenerateConfig(users=1500, days=1, seed=9, bad_rate=0.0, start=date(2026, 10, 8))
COMPARED = ["intermediate.int_events", "intermediate.int_orders", "marts.dim_consent"]


def _snapshot(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    rows = con.execute(f"select * from {table} order by all").fetchall()
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]


def _marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    names = con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
    return [f"marts.{n[0]}" for n in names if n[0] != "dim_consent"]


def test_daily_batch_then_full_refresh_give_the_same_warehouse(warehouse_copy) -> None:
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        first_loaded = con.execute("select max(_loaded_at) from raw.events").fetchone()[0]
    generate(DAILY, warehouse_copy.landing)
    ingest(warehouse_copy)
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        withdrawn = con.execute(
            "select user_token from marts.mart_user_features order by user_token limit 1"
        ).fetchone()[0]
        con.execute(  # the user withdraws model_training and analytics consent after the daily batch
            "insert into raw.consent select 'C-withdraw-' || purpose, ?, purpose, 'withdrawn', "
            "timestamptz '2026-10-09 12:00:00+00', 'v1', 'settings_page', 'manual', 'manual', 1, current_timestamp "
            "from (values ('model_training'), ('analytics')) as p(purpose)",
            [withdrawn],
        )
        history = con.execute("select count(*) from intermediate.int_events").fetchone()[0]

    incremental = build(warehouse_copy)
    assert incremental.ok, incremental.failed()
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        events = con.execute("select count(*) from raw.events").fetchone()[0]
        assert con.execute("select count(*) from intermediate.int_events").fetchone()[0] == events > history
        # Old rows were not rewritten: their load time in the incremental table is unchanged.
        assert (
            con.execute("select count(*) from intermediate.int_events where loaded_at <= ?", [first_loaded]).fetchone()[
                0
            ]
            == history
        )
        assert (
            con.execute("select count(*) from marts.mart_user_features where user_token = ?", [withdrawn]).fetchone()[0]
            == 0
        )
        after_incremental = {t: _snapshot(con, t) for t in COMPARED + _marts(con)}

    full = build(warehouse_copy, full_refresh=True)
    assert full.ok, full.failed()
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        for table, rows in after_incremental.items():
            assert _snapshot(con, table) == rows, table
