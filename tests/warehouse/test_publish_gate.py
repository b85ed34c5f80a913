"""The publish gate (Great Expectations between dbt and publish): each check blocks the mart that
breaks it, with a message naming suite, check, column and observed value; the published layer
keeps the last good version; a warn-level finding is recorded and does not block."""

import re

import duckdb
import polars as pl
import pytest

from weir import pipeline
from weir.config import DataDir
from weir.errors import QualityGateBlocked
from weir.publish import published_db

TOKEN = re.compile(r"tk\d+_[0-9a-f]{32}")
ROW_TOKEN = re.compile(r"rt1_[0-9a-f]{32}")  # row-bound pseudonyms (weir/row_tokens.py)

# mart -> (tampering SQL on the warehouse, the finding the gate must report)
VIOLATIONS = {
    "mart_share_cascades": (
        "update marts.mart_share_cascades set item_id = 'zhang.san@example.com' "
        "where campaign_id = (select min(campaign_id) from marts.mart_share_cascades)",
        "quality gate mart_share_cascades: no raw email in item_id (column item_id): observed 1",
    ),
    "mart_referral_attribution": (
        "update marts.mart_referral_attribution set first_touch_sharer_token = 'u000123' "
        "where order_id = (select min(order_id) from marts.mart_referral_attribution)",
        "first_touch_sharer_token holds pseudonymous tokens only (column first_touch_sharer_token): observed 1",
    ),
    "mart_funnel_by_channel": (
        "insert into marts.mart_funnel_by_channel (event_date, channel, viewers) values ('2026-10-03', 'pigeon', 5)",
        "channel in {feed, group_chat, live, search, share_link} (column channel): observed 1",
    ),
    "mart_group_buy_performance": (
        "update marts.mart_group_buy_performance set created_on = current_date + 30 "
        "where category = (select min(category) from marts.mart_group_buy_performance)",
        "created_on is not in the future (column created_on): observed",
    ),
    "mart_live_stream_performance": (
        "update marts.mart_live_stream_performance set watchers = -1 "
        "where live_stream_id = (select min(live_stream_id) from marts.mart_live_stream_performance)",
        "watchers is not negative (column watchers): observed 1",
    ),
    "mart_daily_demand": (  # a sudden drop: four rows in five vanish, every day keeps some
        "delete from marts.mart_daily_demand where rowid % 5 <> 0",
        "row count at least 0.5x the published version's",
    ),
    "mart_consent_coverage": (  # stale: the last two days are missing
        "delete from marts.mart_consent_coverage where day >= (select max(day) - 1 from marts.mart_consent_coverage)",
        "newest day at most 1 days behind raw's newest event (observed: days behind) (column day): observed",
    ),
}


def _published_rows(path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return dict(con.execute("select mart, row_count from published_marts").fetchall())


def test_each_violation_blocks_its_mart_and_keeps_the_last_good_version(warehouse_copy) -> None:
    # Prepare: break one check per mart; a spike (warn) on another; a buyer without consent.
    before = _published_rows(published_db(warehouse_copy))
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        for sql, _ in VIOLATIONS.values():
            con.execute(sql)
        con.execute(
            "insert into marts.mart_bargain_completion select b.* from marts.mart_bargain_completion b, range(25)"
        )
        outsider = con.execute(
            "select user_token from raw.users where not exists (select 1 from consent.intervals c where "
            "c.user_token = users.user_token and c.purpose = 'analytics' and c.status = 'granted' "
            "and c.valid_to = 'infinity') limit 1"
        ).fetchone()[0]
        con.execute(
            "update marts.mart_referral_attribution set user_token = ? "
            "where order_id = (select max(order_id) from marts.mart_referral_attribution)",
            [outsider],
        )

    # Execute
    result = pipeline.publish_stage(warehouse_copy, "test")

    # Assert: each tampered mart is held back, naming the failed check; nothing else is.
    blocked = {b.mart: b.reason for b in result.blocked}
    assert set(blocked) == set(VIOLATIONS)
    for mart, (_, finding) in VIOLATIONS.items():
        assert finding in blocked[mart], blocked[mart]
    referral = blocked["mart_referral_attribution"]
    assert "every user_token consents to analytics now (column user_token): observed 1" in referral
    assert outsider not in referral  # counts, never values
    after = _published_rows(published_db(warehouse_copy))
    assert {m: after[m] for m in blocked} == {m: before[m] for m in blocked}
    # The spike is published.
    assert after["mart_bargain_completion"] == 26 * before["mart_bargain_completion"]
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        warns = con.execute(
            "select suite, severity, expectation from quality.findings where severity = 'warn'"
        ).fetchall()
    # Bargains pool into a row a day (small cells): 7 published rows, under the volume checks'
    # minimum of 10, so the spike is published without a warning (issue 15, session 13).
    assert before["mart_bargain_completion"] < 10 and warns == []


def test_clean_marts_pass_and_data_docs_hold_no_values(warehouse_copy) -> None:
    checked = pipeline.gate_marts_stage(warehouse_copy, "test")

    assert checked and not any(c.result.findings for c in checked)
    docs = warehouse_copy.quality / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert docs.exists() and "mart_funnel_by_channel" in docs.read_text()
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        tokens = [r[0] for r in con.execute("select user_token from raw.users limit 50").fetchall()]
    site = " ".join(p.read_text(errors="ignore") for p in docs.parent.rglob("*.html"))
    assert not [t for t in tokens if t in site]  # results are counts: no personal data in the docs


def test_publish_refuses_a_mart_the_gate_has_not_seen_since_its_build(warehouse_copy) -> None:
    from .conftest import build

    build(warehouse_copy)  # a fresh build, no gate run after it

    result = pipeline.publish_stage(warehouse_copy, "test", gate=False)

    assert result.blocked and not result.published
    assert all("has not checked this build" in b.reason for b in result.blocked)


@pytest.mark.parametrize("violation", ["mart_funnel_by_channel"])
def test_gate_cli_exits_1_naming_the_check(warehouse_copy, violation: str) -> None:
    from typer.testing import CliRunner

    from weir.cli import app

    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        con.execute(VIOLATIONS[violation][0])

    result = CliRunner().invoke(app, ["quality", "gate", "--data-dir", str(warehouse_copy.root)])

    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps long lines
    assert f"Quality gate {violation} blocked" in output and "(column channel): observed 1" in output
    report = CliRunner().invoke(app, ["quality", "report", "--data-dir", str(warehouse_copy.root)])
    assert report.exit_code == 0
    cells = next(line for line in report.output.splitlines() if violation in line).split("│")
    assert [c.strip() for c in cells[1:4]] == [violation, "2", "1"]  # the publish run, then this one: blocked
    docs = warehouse_copy.quality / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert f"Data Docs:      {docs.as_uri()}" in report.output
    with pytest.raises(QualityGateBlocked) as airflow_task:  # how the gate_marts task calls it
        pipeline.gate_marts_stage(warehouse_copy, "test", fail_on_block=True)
    assert f"Quality gate {violation} blocked" in str(airflow_task.value)


def _landing_ids(data_dir: DataDir, source: str, column: str) -> set[str]:
    """The raw identifiers of a source, read straight from its landing files."""
    parts = sorted((data_dir.landing / source).glob("*/part-*.csv"))
    return set(pl.concat([pl.read_csv(p, infer_schema=False).select(column) for p in parts])[column].drop_nulls())


def test_published_referral_attribution_carries_no_source_order_or_share_id(built) -> None:
    order_ids = _landing_ids(built.data_dir, "orders", "order_id")
    share_ids = _landing_ids(built.data_dir, "orders", "referrer_share_id")
    with duckdb.connect(str(published_db(built.data_dir)), read_only=True) as con:
        published = con.execute(
            "select order_id, first_touch_share_id, last_touch_share_id from mart_referral_attribution"
        ).fetchall()

    values = {v for row in published for v in row if v is not None}
    assert len(published) > 500 and order_ids and share_ids
    # Order ids are tokens of their own kind; share ids, shared by rows, are bound to their row.
    assert all(TOKEN.fullmatch(order) for order, _, _ in published)
    assert all(ROW_TOKEN.fullmatch(share) for _, *shares in published for share in shares if share is not None)
    assert not values & (order_ids | share_ids)


def test_a_mart_column_carrying_landing_order_ids_is_blocked(warehouse_copy) -> None:
    # Prepare: a careless model copies the source's order ids into a catalogue column.
    raw_order = sorted(_landing_ids(warehouse_copy, "orders", "order_id"))[:3]
    before = _published_rows(published_db(warehouse_copy))
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        streams = [
            r[0]
            for r in con.execute(
                "select live_stream_id from marts.mart_live_stream_performance order by 1 limit 3"
            ).fetchall()
        ]
        for stream, order in zip(streams, raw_order, strict=True):
            con.execute(
                "update marts.mart_live_stream_performance set item_id = ? where live_stream_id = ?", [order, stream]
            )

    # Execute
    result = pipeline.publish_stage(warehouse_copy, "test")

    # Assert: held back by the linkability check alone (the ids look like nothing personal)
    blocked = {b.mart: b.reason for b in result.blocked}
    assert set(blocked) == {"mart_live_stream_performance"}
    assert blocked["mart_live_stream_performance"] == (
        "quality gate mart_live_stream_performance: item_id holds no landing identifier (column item_id): observed 3"
    )
    assert not any(order in blocked["mart_live_stream_performance"] for order in raw_order)  # counts, never values
    assert (
        _published_rows(published_db(warehouse_copy))["mart_live_stream_performance"]
        == before["mart_live_stream_performance"]
    )
