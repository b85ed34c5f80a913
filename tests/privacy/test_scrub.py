"""Scrubber: each PII kind replaced by its placeholder; look-alikes survive."""

import numpy as np
import polars as pl
import pytest

from privacy._scrub import scrub, valid_id_numbers, valid_luhn
from weir.scrub_eval import KINDS, evaluate, labelled_set


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email me at wang.li88@qq.com thanks", "email me at <EMAIL> thanks"),
        ("身份证 510104198211154171 ok", "身份证 <ID_NUMBER> ok"),
        ("my id 11010519491231002X.", "my id <ID_NUMBER>."),
        ("card 6236462073334323 refund", "card <BANK_CARD> refund"),
        ("card 6222 0202 0000 1235", "card <BANK_CARD>"),
        ("电话13812345678", "电话<PHONE>"),
        ("电话 +86 138 1234 5678", "电话 <PHONE>"),
        ("+44 7700 900123 or +1 415-555-0134, +65 8123 4567", "<PHONE> or <PHONE>, <PHONE>"),
        ("感谢 @王芳 分享", "感谢 @<MENTION> 分享"),
        (
            "order 202610011234567890 costs ¥1299.00 on 2026-10-01",
            "order 202610011234567890 costs ¥1299.00 on 2026-10-01",
        ),
        ("tracking 773012345678 SKU-1234", "tracking 773012345678 SKU-1234"),
        ("card 6236462073334324 (bad check digit)", "card 6236462073334324 (bad check digit)"),
    ],
)
def test_scrub_examples(text: str, expected: str) -> None:
    assert scrub(pl.Series([text])).to_list() == [expected]


def test_nulls_stay_null() -> None:
    assert scrub(pl.Series([None, "a"], dtype=pl.Utf8)).to_list() == [None, "a"]


def test_checksums() -> None:
    np.testing.assert_equal(
        valid_id_numbers(np.array(["11010519491231002X", "110105194912310021", "12345"])), [True, False, False]
    )
    np.testing.assert_equal(
        valid_luhn(np.array(["4111111111111111", "4111111111111112", "2111111111111117"])), [True, False, False]
    )


def test_recall_and_precision_on_the_labelled_set() -> None:
    report = evaluate(labelled_set(5_000, seed=3))

    assert report["kind"].to_list() == KINDS
    assert report["planted"].min() > 700
    assert report["recall"].min() >= 0.99
    assert report["precision"].min() >= 0.99
