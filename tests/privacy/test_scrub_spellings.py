"""Scrubber: the spellings issue 22 added to the tuning set (spelt-out and internationalised
e-mails, digits set off one by one, Chinese numerals, ID and card groupings, 15-digit IDs),
their look-alikes, and the SQL guard that hands them to the detector in the gates."""

import duckdb
import numpy as np
import polars as pl
import pytest
import sqlalchemy

from privacy._scrub import kinds_found, register_sql, scrub, sql_guard, valid_id15_numbers, valid_luhn

FORMS = [
    ("write liu.yang at 163 dot com pls", "write <EMAIL> pls", "email"),
    ("mail LIU [AT] 163 [DOT] COM", "mail <EMAIL>", "email"),
    ("liu(at)sina.cn，谢谢", "<EMAIL>,谢谢", "email"),
    ("邮箱 王芳@邮件.中国 ok", "邮箱 <EMAIL> ok", "email"),
    ("感谢@李雷.很好", "感谢@<MENTION>.很好", "mention"),  # no e-mail: not a known top-level domain
    ("号码 1 5 8 2 2 2 2 3 3 3 3 谢谢", "号码 <PHONE> 谢谢", "phone"),
    ("tel1.8.6.0.0.0.0.1.1.1.1", "tel<PHONE>", "phone"),
    ("电话幺八六零零零零幺幺幺幺", "电话<PHONE>", "phone"),
    ("手机 一三九 〇〇〇〇 一二三四。", "手机 <PHONE>。", "phone"),
    ("身份证 1101-0519-4912-3100-2X", "身份证 <ID_NUMBER>", "id_number"),
    ("ID 110105 1949 1231 002X ok", "ID <ID_NUMBER> ok", "id_number"),
    ("老身份证110105491231002", "老身份证<ID_NUMBER>", "id_number"),
    ("证件号 110105 491231 002", "证件号 <ID_NUMBER>", "id_number"),
    ("card 6212-2612-3456-7890-128", "card <BANK_CARD>", "bank_card"),
    ("amex 3714 496353 98431.", "amex <BANK_CARD>.", "bank_card"),
]


@pytest.mark.parametrize(("text", "expected", "kind"), FORMS)
def test_issue_22_spellings_are_scrubbed_and_detected(text: str, expected: str, kind: str) -> None:
    assert scrub(pl.Series([text])).to_list() == [expected]
    assert kinds_found(pl.Series([text])).to_list() == [[kind]]


@pytest.mark.parametrize(
    "text",
    [
        "look at this dot product",  # spelt-out, but no top-level domain
        "bought it at jd.com",  # a bare "at" needs a spelt-out dot
        "排名 一三五七九 二四六八",  # numerals, too few in a row
        "1 3 8 0 0 1 3 8 0 0 0 0",  # twelve set-off digits: a list, not a phone
        "运单 110105491231002",  # a 15-digit number with no ID word
        "ID 110105491331002",  # month 13
        "waybill 622848001234567",  # 15 digits, Luhn-valid, not an Amex prefix
        "礼品卡 8870-0888-9542-1529",  # a dashed code holding a landline's shape
        "code 8628-8206-9678",  # a bare 86 glued to an area code
        "记录 3714 4963 5398 4 条",
    ],
)
def test_issue_22_look_alikes_survive(text: str) -> None:
    assert scrub(pl.Series([text])).to_list() == [text]
    assert kinds_found(pl.Series([text])).to_list() == [[]]


def test_extensions_after_a_dash_and_phones_after_a_dash_still_count() -> None:
    texts = pl.Series(["010-12345678-801", "tel-13812345678", "13812345678-13912345678"])
    assert scrub(texts).to_list() == ["<PHONE>-801", "tel-<PHONE>", "<PHONE>-<PHONE>"]


def test_checksums_of_15_digit_ids_and_amex_prefixes() -> None:
    np.testing.assert_equal(
        valid_id15_numbers(np.array(["110105491231002", "990105491231002", "110105491232002", "11010549123100"])),
        [True, False, False, False],
    )
    np.testing.assert_equal(valid_luhn(np.array(["371449635398431", "622848001234567"])), [True, False])


def test_the_guard_passes_them_to_the_duckdb_detector_even_in_compatibility_forms() -> None:
    # Kangxi radicals and full-width letters and brackets turn into the forms above under NFKC.
    texts = [t for t, _, _ in FORMS] + [
        "电话⼀⼋六零零零零⼀⼀⼀⼀",
        "ｌｉｕ ａｔ １６３ ｄｏｔ ｃｏｍ",
        "liu［at］sina.cn",
    ]
    con = duckdb.connect()
    register_sql(con)
    con.register("t", pl.DataFrame({"text": texts}).to_arrow())

    rows = con.execute("select regexp_matches(text, ?), len(weir_pii_kinds(text)) from t", [sql_guard()]).fetchall()

    assert rows == [(True, 1)] * len(texts)


def test_the_guard_in_sql_text_holds_no_sqlalchemy_bind_parameter() -> None:
    # The gates put the guard into SQL text that GX hands to SQLAlchemy, which reads ":name"
    # (after anything but a word character) as a bind parameter, quotes or not.
    clause = sqlalchemy.text(f"select regexp_matches(x, '{sql_guard()}')")
    assert clause._bindparams == {}
