"""Contract checks against the generator's manifest; ledger arithmetic; idempotency."""

import json

import duckdb
import polars as pl
import pytest

from weir.errors import LandingError
from weir.ingest import SOURCE_ORDER, ingest, load_ledger


def _warehouse(data_dir) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(data_dir.warehouse), read_only=True)


def test_every_source_loaded_and_nothing_lost(loaded) -> None:
    data_dir, generated, results = loaded

    assert [r.source for r in results] == SOURCE_ORDER
    for r in results:
        assert r.rows_in == generated.rows[r.source], r.source
        assert r.rows_in == r.rows_loaded + r.rows_quarantined, r.source
    with _warehouse(data_dir) as con:
        for r in results:
            in_raw = con.execute(f"select count(*) from raw.{r.source}").fetchone()[0]
            in_quarantine = con.execute(
                "select count(*) from ingest.quarantine where source = ?", [r.source]
            ).fetchone()[0]
            assert (in_raw, in_quarantine) == (r.rows_loaded, r.rows_quarantined), r.source


def test_every_injected_row_is_quarantined_with_its_reason(loaded) -> None:
    data_dir, generated, _ = loaded
    injected = pl.read_parquet(generated.manifest.parent / "bad_rows.parquet")
    with _warehouse(data_dir) as con:
        quarantined = pl.from_arrow(
            con.sql("select source, file, line, reason from ingest.quarantine").to_arrow_table()
        )

    matched = injected.join(quarantined, on=["source", "file", "line"], how="left")

    assert matched["reason"].null_count() == 0
    assert (matched["reason"] == matched["bad_class"]).all(), matched.filter(
        pl.col("reason") != pl.col("bad_class")
    ).head(5)


def test_no_good_row_is_quarantined(loaded) -> None:
    data_dir, generated, _ = loaded
    injected = pl.read_parquet(generated.manifest.parent / "bad_rows.parquet")
    with _warehouse(data_dir) as con:
        extra = pl.from_arrow(
            con.sql("select source, file, line, reason from ingest.quarantine").to_arrow_table()
        ).join(injected, on=["source", "file", "line"], how="anti")

    # The only rows quarantined without being injected: consent/DSR rows of users whose own
    # users row was injected as bad (so the user is unknown to the warehouse).
    assert set(extra["reason"]) <= {"unknown_user"}
    assert set(extra["source"]) <= {"consent", "dsr"}


def test_reload_changes_nothing(loaded) -> None:
    data_dir, _, first = loaded
    with _warehouse(data_dir) as con:
        before = con.execute("select count(*) from raw.events").fetchone()[0]

    again = ingest(data_dir)

    assert {r.status for r in again} == {"already_loaded"}
    assert [(r.rows_in, r.rows_loaded, r.reasons) for r in again] == [
        (r.rows_in, r.rows_loaded, r.reasons) for r in first
    ]
    with _warehouse(data_dir) as con:
        assert con.execute("select count(*) from raw.events").fetchone()[0] == before
    assert load_ledger(data_dir) == again[:0] + [
        type(r)(r.source, r.batch_id, "loaded", r.rows_in, r.rows_loaded, r.rows_quarantined, r.reasons) for r in again
    ]


def test_changed_batch_is_refused(loaded, tmp_path) -> None:
    data_dir, generated, _ = loaded
    part = next((data_dir.landing / "dsr" / generated.batch_id).glob("part-*"))
    original = part.read_bytes()
    try:
        part.write_bytes(original + b'{"request_id":"x"}\n')
        with pytest.raises(LandingError, match=f"Batch dsr/{generated.batch_id} changed since it was loaded"):
            ingest(data_dir, "dsr")
    finally:
        part.write_bytes(original)


def test_quarantine_reasons_have_messages_without_values(loaded) -> None:
    data_dir, _, _ = loaded
    with _warehouse(data_dir) as con:
        rows = con.execute(
            "select reason, message from ingest.quarantine where source = 'events' "
            "and reason = 'unknown_enum_value' limit 1"
        ).fetchall()

    assert rows == [
        (
            "unknown_enum_value",
            "column event_type is not one of: view, like, comment, share, "
            "follow, add_to_cart, purchase, review, group_buy_join, bargain_help, coupon_claim, "
            "live_watch, exposure",
        )
    ]


def test_consent_ledger_filled_from_clean_rows(loaded) -> None:
    data_dir, _, results = loaded
    consent = next(r for r in results if r.source == "consent")
    with _warehouse(data_dir) as con:
        assert con.execute("select count(*) from consent.ledger").fetchone()[0] == consent.rows_loaded
        held = con.execute("select count(*) from consent.intervals where status = 'granted'").fetchone()[0]
    assert held > 0


def test_raw_columns_follow_the_contract(loaded) -> None:
    data_dir, _, _ = loaded
    with _warehouse(data_dir) as con:
        events = [r[0] for r in con.execute("describe raw.events").fetchall()]
        users = [r[0] for r in con.execute("describe raw.users").fetchall()]

    assert {"user_token", "device_token", "ip_prefix", "device_family"} <= set(events)
    assert not {"user_id", "device_id", "ip", "user_agent"} & set(events)
    assert users[:8] == [
        "user_token",
        "phone_token",
        "email_token",
        "age_band",
        "region",
        "country_code",
        "locale",
        "signup_at",
    ]
    assert json.dumps(users).count("name") == 0
