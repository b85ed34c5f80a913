"""Incremental models: a daily batch appends without rebuilding history, equals a full
refresh, and a consent withdrawal reaches every purpose on the next build."""

import json
import math
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb

from privacy._keyring import publish_salt
from tests._pii_scan import haystack_hits
from weir import dbt, pipeline, row_tokens
from weir.config import DataDir, resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.generate._split import split_off
from weir.ingest import ingest
from weir.publish import published_db, published_dir
from weir.sql import ident

from .conftest import build, never_consented, withdraw

# The next day of the built world (`weir generate --continue`): the same users and catalogue.
DAILY = GenerateConfig(users=1500, days=1, seed=3, bad_rate=0.0, start=date(2026, 10, 8), origin=date(2026, 10, 1))
WORLD = GenerateConfig(users=800, days=6, seed=5, bad_rate=0.0)
COMPARED = [
    "intermediate.int_events",
    "intermediate.int_orders",
    "intermediate.int_sessions",
    "intermediate.int_user_weeks",
    "intermediate.int_funnel_user_days",
    "intermediate.int_user_days",
    "intermediate.int_item_days",
    "intermediate.int_item_categories",
    "intermediate.int_device_users",
    "intermediate.int_share_cascades",
    "intermediate.int_bargain_chains",
    "intermediate.int_group_buy_outcomes",
    "intermediate.int_order_attributions",
    "marts.dim_consent",
]
DAY_GRAIN = {
    "marts.dp_events": "event_date",
    "marts.dp_orders": "order_date",
    "marts.mart_funnel_by_channel": "event_date",
    "intermediate.int_user_days": "event_date",
    "intermediate.int_item_days": "event_date",
}
# Per-user models a consent change rewrites for that user only.
PER_USER = ["intermediate.int_user_weeks", "intermediate.int_funnel_user_days"]
# Incremental marts that recompute the keys new rows or consent events reach.
KEY_GRAIN = [
    "marts.mart_live_stream_performance",
    "marts.mart_share_campaigns",
    "marts.mart_share_cascades",
    "marts.dp_share_cascades",
    "marts.mart_bargain_completion",
    "marts.mart_group_buy_performance",
    "marts.mart_referral_attribution",
    "intermediate.int_order_attributions",
    "intermediate.int_bargain_chains",
    "intermediate.int_group_buy_outcomes",
]


def _snapshot(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """The table's rows, leaving out the freshness column (when a build computed the row)."""
    return con.execute(f"select columns(lambda c: c <> 'computed_at') from {table} order by all").fetchall()


def _same(actual: list[tuple], expected: list[tuple]) -> bool:
    """Equal rows; floats to 1e-9 relative (DuckDB's parallel sums add in no fixed order)."""

    def close(x: object, y: object) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
        return x == y

    return len(actual) == len(expected) and all(
        len(a) == len(e) and all(map(close, a, e)) for a, e in zip(actual, expected, strict=True)
    )


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
            assert _same(_snapshot(con, table), rows), table


# Analytics tables naming users, and the column that names them.
ANALYTICS_USERS = {
    "marts.dp_events": "user_token",
    "marts.dp_orders": "user_token",
    "marts.dp_share_cascades": "user_token",
    "intermediate.int_user_weeks": "user_token",
    "intermediate.int_funnel_user_days": "user_token",
    "marts.mart_referral_attribution": "user_token",
    "marts.mart_kol_influence": "kol_token",
}


def _user_rows(con: duckdb.DuckDBPyConnection, user: str) -> dict[str, int]:
    return {
        t: con.execute(f"select count(*) from {t} where {c} = ?", [user]).fetchone()[0]
        for t, c in ANALYTICS_USERS.items()
    }


def test_a_withdrawal_takes_all_the_users_past_rows_out_of_analytics_and_dp_inputs(warehouse_copy) -> None:
    # Prepare: an active buyer, with events on several days, withdraws analytics now (after all
    # their events): the next daily build must drop every one of their rows, on every day.
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        user = con.execute(
            "select e.user_token from marts.dp_events as e semi join marts.dp_orders as o using (user_token) "
            "group by 1 having count(distinct e.event_date) >= 3 order by count(*) desc, 1 limit 1"
        ).fetchone()[0]
        before = _user_rows(con, user)
        views = _funnel_views(con)
        their_views = dict(
            con.execute(
                "select (event_date, channel), count(*) from marts.dp_events "
                "where user_token = ? and event_type = 'view' and channel is not null group by all",
                [user],
            ).fetchall()
        )
    withdraw(warehouse_copy, user)

    # Execute
    incremental = build(warehouse_copy)

    # Assert: gone from every analytics table and every day of the aggregates; the same as a full refresh.
    assert incremental.ok, incremental.failed()
    assert before["marts.dp_events"] > 0 and before["marts.dp_orders"] > 0 and their_views
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        assert _user_rows(con, user) == dict.fromkeys(ANALYTICS_USERS, 0)
        # Their views leave each day and channel (a row whose people counts the withdrawal moves
        # into or out of 1 to k-1 appears or goes: the funnel leaves out small cells).
        kept = views.keys() & _funnel_views(con).keys() & their_views.keys()
        assert kept and {c: views[c] - _funnel_views(con)[c] for c in kept} == {c: their_views[c] for c in kept}
        after_incremental = {
            t: _snapshot(con, t) for t in [*DAY_GRAIN, *PER_USER, "marts.mart_daily_demand", *KEY_GRAIN]
        }
    assert build(warehouse_copy, full_refresh=True).ok
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        assert _user_rows(con, user) == dict.fromkeys(ANALYTICS_USERS, 0)
        for table, rows in after_incremental.items():
            assert _same(_snapshot(con, table), rows), table


def _funnel_views(con: duckdb.DuckDBPyConnection) -> dict[tuple, int]:
    return dict(con.execute("select (event_date, channel), views from marts.mart_funnel_by_channel").fetchall())


def _rows_per_day(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Where each day's rows sit in the day-grain marts: rewritten rows would move."""
    return {
        table: con.execute(
            f"select {day}, min(rowid), max(rowid), count(*) from {table} group by 1 order by 1"
        ).fetchall()
        for table, day in DAY_GRAIN.items()
    }


def test_a_daily_batch_rewrites_only_its_own_days(tmp_path: Path) -> None:
    data_dir = resolve_data_dir(tmp_path / "data")
    generate(WORLD, data_dir.landing)
    new_day = WORLD.start + timedelta(days=WORLD.days - 1)
    daily = split_off(data_dir.landing, WORLD.batch_id, new_day, tmp_path / "held")
    ingest(data_dir)
    first = build(data_dir)
    assert first.ok and _ran_unit_tests(first)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        before = _rows_per_day(con)
        sessions = con.execute("select count(*) from intermediate.int_sessions").fetchone()[0]
    # The day's consent events stay out: a withdrawal rightly rewrites the user's past days
    # (consent at processing time, tested by the withdrawal tests above). So do its follows: the
    # gate's rows-per-day baseline spans the follower graph's years of history, so one split-off
    # day is far above it and the gate would rightly hold the whole batch (all or nothing).
    for folder in (tmp_path / "held").glob(f"*/{daily}"):
        if folder.parent.name not in ("consent", "follows"):
            shutil.move(folder, data_dir.landing / folder.parent.name / daily)
    ingest(data_dir)

    daily_build = build(data_dir)
    assert daily_build.ok and not _ran_unit_tests(daily_build), "same code: its unit tests already passed"
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        after = _rows_per_day(con)
        for table, days in before.items():
            assert after[table][: len(days)] == days, f"{table} rewrote old days"
            assert after[table][-1][0] == new_day, table
        assert con.execute("select count(*) from intermediate.int_sessions").fetchone()[0] > sessions
        incremental = {t: _snapshot(con, t) for t in COMPARED + _marts(con)}
    _daily_builds_test_only_rebuilt_days(data_dir, WORLD.start)
    dbt.unit_tested_marker(data_dir).write_text("the fingerprint of older code")
    assert _ran_unit_tests(dbt.build(data_dir, select="int_sessions")), "changed code runs its unit tests"

    assert build(data_dir, full_refresh=True).ok
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        for table, rows in incremental.items():
            assert _same(_snapshot(con, table), rows), table


def _ran_unit_tests(run: dbt.DbtRun) -> bool:
    return any(r.unique_id.startswith("unit_test.") for r in run.results)


def _daily_builds_test_only_rebuilt_days(data_dir: DataDir, old_day: date) -> None:
    """A row planted on a day no build rewrites escapes a daily build's tests, by design, and is
    caught by `dbt test`, which checks every row."""
    with duckdb.connect(str(data_dir.warehouse)) as con:
        outsider = never_consented(con)
        con.execute(
            "insert into marts.dp_events (event_id, user_token, event_at, event_date, event_type) "
            "values ('planted', ?, ?::date + interval 12 hour, ?, 'view')",
            [outsider, old_day, old_day],
        )
    assert dbt.build(data_dir, select="dp_events").ok
    checked = dbt.run(data_dir, ["test", "--select", "dp_events"], check=False)
    assert [r.unique_id.split(".")[2] for r in checked.failed()] == [
        "has_consent_dp_events_event_at__user_token__analytics"
    ]
    # Append-only facts: a duplicate planted among old batches' rows escapes the daily build's
    # tests (they check the rows taken in since the last build) and `dbt test` catches it.
    with duckdb.connect(str(data_dir.warehouse)) as con:
        con.execute(
            "insert into intermediate.int_events select * from intermediate.int_events "
            "where loaded_at = (select min(loaded_at) from intermediate.int_events) limit 1"
        )
    assert dbt.build(data_dir, select="int_events").ok
    checked = dbt.run(data_dir, ["test", "--select", "int_events"], check=False)
    assert [r.unique_id.split(".")[2] for r in checked.failed()] == ["unique_int_events_event_id"]


def _purpose_marts(data_dir: DataDir, purpose: str) -> list[str]:
    """`schema.table` of every model the dbt manifest declares for `purpose`."""
    manifest = json.loads(dbt.manifest_path(data_dir).read_text())
    return [
        f"{n['schema']}.{n['alias'] or n['name']}"
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and (n.get("meta") or n["config"].get("meta", {})).get("purpose") == purpose
    ]


def _rows_naming(con: duckdb.DuckDBPyConnection, table: str, user: str) -> int:
    """Rows of `table` holding the token in any column, of any type (substring)."""
    columns = [r[0] for r in con.execute(f"describe {table}").fetchall()]
    cells = ", ".join(f"{ident(c)}::varchar" for c in columns)
    sql = f"select count(*) from {table} where contains(concat_ws(chr(31), {cells}), ?)"
    return con.execute(sql, [user]).fetchone()[0]


def test_a_withdrawal_reaches_every_purpose_mart_and_the_published_layer(warehouse_copy) -> None:
    # Prepare: an active user with referral-attributed orders (a published row-level mart) withdraws analytics.
    marts = _purpose_marts(warehouse_copy, "analytics")
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        user = con.execute(
            "select user_token from marts.mart_referral_attribution semi join marts.dp_events using (user_token) "
            "group by 1 order by count(*) desc, 1 limit 1"
        ).fetchone()[0]
        before = {t: _rows_naming(con, t, user) for t in marts}
    withdraw(warehouse_copy, user)

    # Execute: the next daily build and publish.
    assert build(warehouse_copy).ok
    pipeline.publish_stage(warehouse_copy, "test")

    # Assert: no row of any analytics mart names the user, nor any published row or file.
    assert len(marts) >= 8 and sum(before.values()) > 0 and before["marts.mart_referral_attribution"] > 0
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        assert {t: _rows_naming(con, t, user) for t in marts} == dict.fromkeys(marts, 0)
    with duckdb.connect() as con:
        con.execute(f"attach {_quoted(published_db(warehouse_copy))} as pub (read_only)")
        assert row_tokens.traces(con, "pub", publish_salt(warehouse_copy.keys), [user]) == {}
    assert haystack_hits(published_dir(warehouse_copy), [user], skip=()) == {}


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"  # a path the test made


def test_orders_loaded_after_their_purchases_reach_the_live_streams(tmp_path: Path) -> None:
    # Prepare: the world's orders arrive a batch after its events (an export lagging behind).
    data_dir = resolve_data_dir(tmp_path / "data")
    generate(WORLD, data_dir.landing)
    held = tmp_path / "held" / "orders"
    held.mkdir(parents=True)
    shutil.move(data_dir.landing / "orders" / WORLD.batch_id, held / WORLD.batch_id)
    ingest(data_dir)
    assert build(data_dir).ok
    shutil.move(held / WORLD.batch_id, data_dir.landing / "orders" / WORLD.batch_id)
    ingest(data_dir)

    # Execute: the daily build that takes the late orders in.
    assert build(data_dir).ok

    # Assert: the streams' GMV counts them, as a full refresh does.
    streams = "marts.mart_live_stream_performance"
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        daily = _snapshot(con, streams)
        gmv = con.execute(f"select sum(gmv_cents) from {streams}").fetchone()[0]
    assert gmv > 0
    assert build(data_dir, full_refresh=True).ok
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert _same(_snapshot(con, streams), daily)
