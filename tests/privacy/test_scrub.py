"""Scrubber: each PII kind replaced by its placeholder; look-alikes survive."""

import re

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy._scrub import detect, kinds_found, register_sql, scrub, sql_guard, valid_id_numbers, valid_luhn
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # the forms that passed the scrubber and the raw gate (issue 15)
        ("+8613812345678", "<PHONE>"),
        ("tel13912345678", "tel<PHONE>"),
        ("138.1234.5678", "<PHONE>"),
        ("１３８１２３４５６７８", "<PHONE>"),
        ("wx13812345678", "wx<PHONE>"),
        ("vx:13812345678 加我", "vx:<PHONE> 加我"),
        ("phone:138-1234-5678", "phone:<PHONE>"),
        ("0086 138 1234 5678", "<PHONE>"),
        ("0086-138-1234-5678", "<PHONE>"),
        ("86 13812345678", "<PHONE>"),
        ("(+86) 138 1234 5678", "<PHONE>"),
        ("(86)138-1234-5678", "<PHONE>"),
        ("(138) 1234-5678", "<PHONE>"),
        ("1381 234 5678", "<PHONE>"),
        ("mobile13812345678 or phone:13912345678", "mobile<PHONE> or phone:<PHONE>"),
        ("＋８６ １３８ １２３４ ５６７８", "<PHONE>"),
        ("１３８－１２３４－５６７８", "<PHONE>"),
        ("电话13812345678，13912345678,13712345678", "电话<PHONE>,<PHONE>,<PHONE>"),
        ("邮箱 wang＠qq．com", "邮箱 <EMAIL>"),
        ("身份证 １１０１０５１９４９１２３１００２Ｘ", "身份证 <ID_NUMBER>"),
    ],
)
def test_adversarial_forms_are_scrubbed(text: str, expected: str) -> None:
    assert scrub(pl.Series([text])).to_list() == [expected]


@pytest.mark.parametrize(
    "text",
    [  # look-alikes: a mobile-shaped run inside a longer digit run is not a phone
        "快递单号 138123456789012345",
        "快递单号 861381234567812345",
        "订单 20261381234567801",
        "ts 1790012345678",
        "uid 1234567890123456789012",
        "4111111111111111111111 (22 digits, its first 16 pass Luhn)",
        "at 2026-10-01 13:45:12, ¥1388.00, batch 138.12, 1234.5",
        "1381234567 (ten digits)",
        "tk1_2f41a13812345678b0c9d8e7f6a5b4c3",  # a token's hex
        "550e8400-e29b-41d4-a716-a13812345678",  # a UUID
    ],
)
def test_look_alikes_survive(text: str) -> None:
    assert scrub(pl.Series([text])).to_list() == [text]
    assert kinds_found(pl.Series([text])).to_list() == [[]]


# Forms that passed the scrubber and the raw/publish gates after issue 15 (security review).
REVIEW_FORMS = [
    ("138\u200b1234\u200b5678", "<PHONE>", ["phone"]),  # zero-width space
    ("tel138\u200c1234\u200d5678 ok", "tel<PHONE> ok", ["phone"]),  # ZWNJ, ZWJ
    ("138\u00ad1234\u20605678", "<PHONE>", ["phone"]),  # soft hyphen, word joiner
    ("\ufeff13812345678", "<PHONE>", ["phone"]),  # BOM
    ("身份证 11010519491231002\u200bX", "身份证 <ID_NUMBER>", ["id_number"]),
    ("card 4111\u200b1111\u200b1111\u200b1111", "card <BANK_CARD>", ["bank_card"]),
    ("card 4111\u200b111111111111", "card <BANK_CARD>", ["bank_card"]),
    ("138/1234/5678", "<PHONE>", ["phone"]),
    ("138_1234_5678", "<PHONE>", ["phone"]),
    ("138,1234,5678", "<PHONE>", ["phone"]),
    ("1381/234/5678", "<PHONE>", ["phone"]),
    ("+86/138/1234/5678", "<PHONE>", ["phone"]),
    ("13812345678call", "<PHONE>call", ["phone"]),
    ("13812345678abc", "<PHONE>abc", ["phone"]),
    ("wx13812345678a", "wx<PHONE>a", ["phone"]),
    ("abc13812345678 加我", "abc<PHONE> 加我", ["phone"]),
    ("١٣٨١٢٣٤٥٦٧٨", "<PHONE>", ["phone"]),  # Arabic-Indic digits
    ("۱۳۸۱۲۳۴۵۶۷۸", "<PHONE>", ["phone"]),  # extended Arabic-Indic (Persian)
    ("१३८१२३४५६७८", "<PHONE>", ["phone"]),  # Devanagari
    ("ID ١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "ID <ID_NUMBER>", ["id_number"]),
    ("110105 19491231 002X", "<ID_NUMBER>", ["id_number"]),
    ("110105-19491231-002X", "<ID_NUMBER>", ["id_number"]),
    ("my ID is 110105 19491231 002x.", "my ID is <ID_NUMBER>.", ["id_number"]),
    ("4111.1111.1111.1111", "<BANK_CARD>", ["bank_card"]),
    ("卡号:6222.0202.0000.1235", "卡号:<BANK_CARD>", ["bank_card"]),
]


@pytest.mark.parametrize(("text", "expected", "kinds"), REVIEW_FORMS)
def test_review_forms_are_scrubbed_and_detected(text: str, expected: str, kinds: list[str]) -> None:
    assert scrub(pl.Series([text])).to_list() == [expected]
    assert kinds_found(pl.Series([text])).to_list() == [kinds]


def test_review_forms_reach_the_detector_through_the_sql_guard_and_the_duckdb_function() -> None:
    con = duckdb.connect()
    register_sql(con)
    con.register("t", pl.DataFrame({"text": [text for text, _, _ in REVIEW_FORMS]}).to_arrow())

    rows = con.execute("select regexp_matches(text, ?), weir_pii_kinds(text) from t", [sql_guard()]).fetchall()

    assert rows == [(True, kinds) for _, _, kinds in REVIEW_FORMS]


@pytest.mark.parametrize(
    "text",
    [  # look-alikes of the review forms: they stay untouched
        "¥1,234,567 and 12,345,678 units",
        "on 2026/10/01 and 2026_10_01, at 13/12/2026",
        "sizes 139, 1234, 5678",  # a prose list: a comma with a space is not a phone separator
        "550e8400-e29b-41d4-a716-13812345678f",  # a UUID whose last group holds a mobile
        "f47ac10b-58cc-4372-a567-0e02b2c3d479",
        "sha 13812345678abcdef0123456789abcdef",  # a hex hash starting with a mobile
        "deadbeef13812345678cafe",
        "快递单号 13812345678901234\u200b5",  # a tracking number with a zero-width space
        "110105 19491231 0021 (bad check character)",
        "4111.1111.1111.1112 (bad check digit)",
        "order 202610011234567890 ts 1790012345678",
        "\u200b\u00ad\ufeff",
    ],
)
def test_review_look_alikes_survive(text: str) -> None:
    normalised = text.replace("\u200b", "").replace("\u00ad", "").replace("\ufeff", "")
    assert scrub(pl.Series([text])).to_list() == [normalised]
    assert kinds_found(pl.Series([text])).to_list() == [[]]


# Left open after the second review: a dashed phone glued to hex letters, Chinese landlines.
LANDLINE_FORMS = [
    ("0086-138-1234-5678abc", "<PHONE>abc"),
    ("call 010-12345678 ok", "call <PHONE> ok"),
    ("电话0755-1234567", "电话<PHONE>"),
    ("(010)12345678", "<PHONE>"),
    ("(0755) 8765 4321", "<PHONE>"),
    ("021 6123 4567", "<PHONE>"),
    ("+86 10 12345678", "<PHONE>"),
    ("+86-755-1234567", "<PHONE>"),
    ("0086 571 8765 4321", "<PHONE>"),
    ("+86(10)12345678", "<PHONE>"),
    ("tel0571-87654321x", "tel<PHONE>x"),
    ("０１０－１２３４５６７８", "<PHONE>"),  # full-width
]


@pytest.mark.parametrize(("text", "expected"), LANDLINE_FORMS)
def test_landlines_and_a_dashed_phone_glued_to_hex_letters_are_scrubbed(text: str, expected: str) -> None:
    assert scrub(pl.Series([text])).to_list() == [expected]
    assert kinds_found(pl.Series([text])).to_list() == [["phone"]]


def test_the_sql_guard_has_no_colon_before_a_digit() -> None:
    # SQLAlchemy, under GX, would read ":0" in the gate's SQL as a bind parameter.
    assert re.search(r":[0-9]", sql_guard()) is None


def test_landlines_reach_the_detector_through_the_sql_guard_and_the_duckdb_function() -> None:
    con = duckdb.connect()
    register_sql(con)
    con.register("t", pl.DataFrame({"text": [text for text, _ in LANDLINE_FORMS]}).to_arrow())

    rows = con.execute("select regexp_matches(text, ?), weir_pii_kinds(text) from t", [sql_guard()]).fetchall()

    assert rows == [(True, ["phone"])] * len(LANDLINE_FORMS)


@pytest.mark.parametrize(
    "text",
    [  # look-alikes of landlines: they stay untouched
        "room 0755-12345, ext 010-123",  # locals too short
        "010-1234567890",  # too long: part of a longer run
        "SF075512345678",  # a code not set off from the digits that follow
        "on 2026-01-15 09:30-17:30",
        "ISBN 978-7-5086-1234-5",
        "80bb0778-8317-4888-a138-a18616074867",  # a UUID holding a landline shape
        "version 010-02345678",  # a local number never starts with 0
    ],
)
def test_landline_look_alikes_survive(text: str) -> None:
    assert scrub(pl.Series([text])).to_list() == [text]
    assert kinds_found(pl.Series([text])).to_list() == [[]]


def test_format_characters_are_dropped_and_unicode_digits_become_ascii() -> None:
    assert scrub(pl.Series(["a\u200bb ١٢ ok"])).to_list() == ["ab 12 ok"]


def test_scrubbed_text_is_nfkc_normalised() -> None:
    assert scrub(pl.Series(["ｏｋ！（好）"])).to_list() == ["ok!(好)"]


def test_detect_names_each_kind_once_in_scrub_order() -> None:
    texts = pl.Series(["a li.wei@qq.com b", "tel13912345678 @王芳", "card 6236462073334323", "none 12", None])

    found = detect(texts)

    assert found.columns == ["email", "id_number", "bank_card", "phone", "mention"]
    assert kinds_found(texts).to_list() == [["email"], ["phone", "mention"], ["bank_card"], [], []]


def test_nothing_is_found_in_scrubbed_text() -> None:
    labelled = labelled_set(3_000, seed=5)

    scrubbed = scrub(labelled["text"])

    assert scrub(scrubbed).to_list() == scrubbed.to_list()
    assert detect(scrubbed).select(pl.any_horizontal(pl.all()).sum()).item() == 0


# Digits (ASCII, full-width, Arabic-Indic), separators, format characters, "+", "@", hex and
# other letters, CJK: the characters phones, cards, IDs and their look-alikes are made of.
PII_ALPHABET = st.sampled_from(
    list("0123456789０１３８١٣+＋-－. ()@abcfxtelwv中，/_,") + ["86", "138", "0086", "\u200b", "\u00ad"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(PII_ALPHABET, max_size=40).map("".join), min_size=1, max_size=20))
def test_scrub_is_idempotent_and_leaves_nothing_the_detector_or_the_guard_would_flag(texts: list[str]) -> None:
    scrubbed = scrub(pl.Series(texts, dtype=pl.Utf8))
    found = detect(pl.Series(texts, dtype=pl.Utf8)).select(pl.any_horizontal(pl.all())).to_series()
    con = duckdb.connect()
    con.register("t", pl.DataFrame({"text": texts, "found": found}).to_arrow())

    assert scrub(scrubbed).to_list() == scrubbed.to_list()
    assert not detect(scrubbed).select(pl.any_horizontal(pl.all())).to_series().any()
    assert con.execute(
        "select count(*) from t where found and not regexp_matches(text, ?)", [sql_guard()]
    ).fetchone() == (0,)


def test_the_sql_guard_matches_every_text_the_detector_finds_something_in() -> None:
    labelled = labelled_set(3_000, seed=6)
    texts = pl.concat([labelled["text"], pl.Series(["１", "wx１３８", "138－1234－5678", "a＠b"])])
    found = detect(texts).select(pl.any_horizontal(pl.all())).to_series()
    con = duckdb.connect()
    con.register("t", pl.DataFrame({"text": texts, "found": found}).to_arrow())

    missed = con.execute("select count(*) from t where found and not regexp_matches(text, ?)", [sql_guard()]).fetchone()

    assert found.sum() > 2_000
    assert missed == (0,)


def test_the_detector_as_a_duckdb_function_on_a_connection_and_its_cursors() -> None:
    con = duckdb.connect()
    register_sql(con)
    register_sql(con)  # registering again replaces it

    rows = con.cursor().execute(
        "select weir_pii_kinds(t) from (values ('tel13912345678'), ('tracking 861381234567812345'), (null)) v(t)"
    )

    assert rows.fetchall() == [(["phone"],), ([],), (None,)]


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
