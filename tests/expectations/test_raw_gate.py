"""The raw-batch gate: a clean batch passes; each violation blocks with a message naming the
suite, the expectation, the column and what was observed; warn-level failures do not block."""

from datetime import UTC, datetime

import great_expectations.expectations as gxe
import polars as pl
import pytest

from expectations import raw_suite, validate
from expectations._suites import Baseline, Suite
from privacy._scrub import scrub
from weir.contract import load_contract

from .conftest import CLEAN_ROWS

BATCH = "select * from raw.reviews"


def _with(row_change: dict) -> list[tuple]:
    columns = ["review_id", "user_token", "item_id", "order_id", "rating", "text", "created_at"]
    bad = dict(zip(columns, CLEAN_ROWS[0], strict=True)) | row_change
    return [*CLEAN_ROWS, tuple(bad[c] for c in columns)]


def test_clean_batch_passes(warehouse) -> None:
    result = validate(warehouse(), raw_suite(load_contract("reviews")), BATCH)

    assert not result.blocked and result.findings == []
    assert result.evaluated == 15
    assert result.message() == "Quality gate raw_reviews passed: 15 expectations, 0 failed."


@pytest.mark.parametrize(
    ("change", "expectation", "column"),
    [
        ({"text": "mail me at li.wei@qq.com"}, "no raw email in text", "text"),
        ({"text": "call 138 1234 5678 after six"}, "no raw phone in text", "text"),
        ({"item_id": "11010519491231002X"}, "no raw id_number in item_id", "item_id"),
        ({"order_id": "O261001s42-0"}, "order_id holds pseudonymous tokens only", "order_id"),
        ({"text": "refund to 6236462073334323"}, "no raw bank_card in text", "text"),
        ({"text": "thanks @王芳 for the link"}, "no raw mention in text", "text"),
        # forms the old gate let through (issue 15)
        ({"text": "加我 +8613812345678"}, "no raw phone in text", "text"),
        ({"text": "tel13912345678"}, "no raw phone in text", "text"),
        ({"text": "call 138.1234.5678"}, "no raw phone in text", "text"),
        ({"text": "电话１３８１２３４５６７８"}, "no raw phone in text", "text"),
        ({"text": "wx13812345678 加好友"}, "no raw phone in text", "text"),
        ({"text": "邮箱 wang＠qq．com"}, "no raw email in text", "text"),
        ({"user_token": "u_12345"}, "user_token holds pseudonymous tokens only", "user_token"),
        ({"created_at": "2099-01-01 00:00:00+00"}, "created_at is not in the future", "created_at"),
    ],
)
def test_each_violation_blocks_naming_suite_expectation_column_and_observed(
    warehouse, change: dict, expectation: str, column: str
) -> None:
    result = validate(warehouse(_with(change)), raw_suite(load_contract("reviews")), BATCH)

    assert result.blocked
    assert [(f.suite, f.expectation, f.column, f.observed, f.severity) for f in result.findings] == [
        ("raw_reviews", expectation, column, 1, "error")
    ]
    assert f"error: suite raw_reviews, expectation '{expectation}' (column {column}): observed 1" in result.message()


@pytest.mark.parametrize(
    "text",
    [
        "快递单号 773012345678901234 到了",  # 18 digits, no ID checksum: the old gate blocked the batch
        "order 202610011234567890, tracking 861381234567812345",
        "ts 1790012345678, ¥1388.00 on 2026-10-01 13:45",
        "scrubbed: <PHONE>, <EMAIL>, @<MENTION>, <ID_NUMBER>, <BANK_CARD>",
    ],
)
def test_look_alikes_the_scrubber_keeps_pass_the_gate(warehouse, text: str) -> None:
    result = validate(warehouse(_with({"text": text})), raw_suite(load_contract("reviews")), BATCH)

    assert not result.blocked and result.findings == []


def test_the_gate_checks_what_the_scrubber_leaves(warehouse) -> None:
    texts = ["tel13912345678 快递单号 773012345678901234", "邮箱 wang＠qq．com，卡 6236462073334323"]
    rows = [
        (f"tk1_{i:032x}", "tk1_" + "d" * 32, "item-9", None, 5, t, "2026-10-04 10:00:00+00")
        for i, t in enumerate(texts)
    ]
    with_leftovers = validate(warehouse([*CLEAN_ROWS, *rows]), raw_suite(load_contract("reviews")), BATCH)
    scrubbed = [(*r[:5], scrub(pl.Series([r[5]])).item(), r[6]) for r in rows]

    after_scrub = validate(warehouse([*CLEAN_ROWS, *scrubbed]), raw_suite(load_contract("reviews")), BATCH)

    assert sorted(f.expectation for f in with_leftovers.findings) == [
        "no raw bank_card in text",
        "no raw email in text",
        "no raw phone in text",
    ]
    assert after_scrub.findings == []


def test_empty_batch_is_blocked(warehouse) -> None:
    result = validate(warehouse([]), raw_suite(load_contract("reviews")), BATCH)

    assert result.blocked
    assert [(f.expectation, f.observed) for f in result.findings] == [("expect_table_row_count_to_be_between", 0)]


def test_warn_level_failure_is_recorded_but_does_not_block(warehouse) -> None:
    suite = Suite(
        "raw_reviews_style",
        [gxe.ExpectColumnValuesToBeBetween(column="rating", min_value=4, max_value=5, meta={"severity": "warn"})],
    )

    result = validate(warehouse(), suite, BATCH)

    assert not result.blocked
    assert [(f.severity, f.column, f.observed) for f in result.findings] == [("warn", "rating", 1)]
    assert result.message().startswith("Quality gate raw_reviews_style passed: 1 expectations, 1 failed.")


@pytest.mark.parametrize(
    ("rows_per_day", "blocked", "observed"),
    [(1.0, False, None), (0.3, False, None), (10.0, True, 1), (0.1, True, 1)],  # the clean batch: 1 row per day
)
def test_volume_change_against_the_previous_batch(warehouse, rows_per_day: float, blocked: bool, observed) -> None:
    suite = raw_suite(load_contract("reviews"), Baseline(rows_per_day=rows_per_day, newest=None))

    result = validate(warehouse(), suite, BATCH)

    assert result.blocked is blocked
    if blocked:
        [finding] = result.findings
        assert finding.expectation.startswith("rows per day of created_at between")
        assert finding.column == "created_at" and finding.observed == observed


def test_stale_batch_is_a_warning(warehouse) -> None:
    newest = datetime(2026, 10, 20, tzinfo=UTC)  # raw already holds events 17 days newer than this batch
    suite = raw_suite(load_contract("reviews"), Baseline(rows_per_day=None, newest=newest))

    result = validate(warehouse(), suite, BATCH)

    assert not result.blocked
    [finding] = result.findings
    assert finding.severity == "warn" and finding.column == "created_at"
    assert 16.5 < finding.observed < 17.5  # days older than raw's newest
