"""A labelled free-text set for the PII scrubber, and precision/recall per PII kind.

Texts mix review phrasing (Chinese and English) with exactly one planted value of a known
kind, or none. Planted values come in the forms people type to get past filters (issue 15):
phones with +86 / 0086 / 86, spaces, dots, dashes and parentheses, glued to "tel", "wx",
"vx", "phone:", and in full-width digits; e-mails with a full-width "＠"; ID and card numbers
in full-width digits or in groups. Since the security review: invisible format characters
(zero-width space, ZWNJ/ZWJ, soft hyphen, word joiner, BOM) between digit groups, "/", "_"
and "," inside phones, phones followed by letters ("13812345678call"), Arabic-Indic and
other Unicode digits, ID numbers grouped 6-8-4 with spaces or dashes, and cards grouped with
dots. Every text also carries look-alikes that must survive: order numbers, 18-digit
tracking numbers, a mobile-shaped run inside a longer id, millisecond timestamps, prices
(also with thousands separators), dates (also with slashes), prose number lists, UUIDs and
hex tokens holding a mobile-shaped run, and SKU codes. Since the next review: Chinese
landlines (010-12345678, (0755) 1234567, +86 10 12345678...) with their look-alikes, and a
dashed phone glued to hex letters (0086-138-1234-5678abc).
"""

import numpy as np
import polars as pl

from privacy._scrub import PLACEHOLDERS, normalise, scrub
from weir.generate import _people

KINDS = ["email", "phone", "id_number", "bank_card", "mention"]
PREFIX = {
    "email": ["联系邮箱 ", "email me at ", "mail:"],
    # Glued to the number on purpose: "tel13912345678" has no word boundary before the digits.
    "phone": ["call me ", "电话", "tel", "wx", "vx", "phone:", "Tel: ", "加微信", "手机 "],
    "id_number": ["身份证号", "my ID is ", "ID:"],
    "bank_card": ["退款到卡 ", "refund to card ", "卡号:"],
    "mention": ["thanks ", "感谢 "],
}
# Area codes of Chinese landlines: Beijing, Guangzhou, Shanghai, Tianjin, Chongqing, Nanjing,
# Wuhan, Xi'an (0 + 2 digits), then Shenzhen, Hangzhou, Suzhou, Changsha, Haikou (0 + 3 digits).
AREA_CODES = ["010", "020", "021", "022", "023", "025", "027", "029", "0755", "0571", "0512", "0731", "0898"]
MOBILE_PREFIXES = ["130", "135", "138", "139", "147", "150", "158", "166", "177", "186", "188", "199"]
FULL_WIDTH = dict(zip("0123456789+@.-", "０１２３４５６７８９＋＠．－", strict=True))
# Zero-width space, ZWNJ, ZWJ, soft hyphen, word joiner, BOM: invisible, kept by NFKC.
FORMAT_CHARS = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff"]
# Decimal digits NFKC leaves alone: Arabic-Indic, extended Arabic-Indic (Persian), Devanagari.
UNICODE_DIGITS = ["٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९"]
# Digits as Chinese numerals: zero as 零 or 〇, one as 一 or (spoken, in phone numbers) 幺.
CN_NUMERALS = ["零一二三四五六七八九", "〇一二三四五六七八九", "零幺二三四五六七八九", "〇幺二三四五六七八九"]


def full_width(texts: pl.Series | pl.Expr) -> pl.Series | pl.Expr:
    """Digits, "+", "@", "." and "-" in their full-width forms (NFKC maps them back)."""
    return texts.str.replace_many(list(FULL_WIDTH), list(FULL_WIDTH.values()))


def unicode_digits(rng: np.random.Generator, texts: pl.Series) -> pl.Series:
    """ASCII digits written in one of UNICODE_DIGITS' scripts, picked per text."""
    return _one_of(rng, [texts.str.replace_many(list("0123456789"), list(script)) for script in UNICODE_DIGITS])


def format_char(rng: np.random.Generator, n: int) -> pl.Series:
    """One of FORMAT_CHARS per text."""
    return pl.Series(_people._pick(rng, FORMAT_CHARS, n), dtype=pl.Utf8)


def _one_of(rng: np.random.Generator, forms: list[pl.Series]) -> pl.Series:
    """Per row, the value of one of `forms` picked at random."""
    pick = pl.Series(rng.integers(0, len(forms), len(forms[0])))
    frame = pl.DataFrame({f"f{i}": f for i, f in enumerate(forms)} | {"pick": pick})
    expr = pl.col("f0")
    for i in range(1, len(forms)):
        expr = pl.when(pl.col("pick") == i).then(pl.col(f"f{i}")).otherwise(expr)
    return frame.select(expr).to_series()


def phone_forms(rng: np.random.Generator, generated: pl.Series) -> pl.Series:
    """One phone per text, in one of the forms people type (the generator's own among them)."""
    n = len(generated)
    p = pl.Series(_people._pick(rng, MOBILE_PREFIXES, n), dtype=pl.Utf8)
    a, b = _people._digits(rng, n, 4), _people._digits(rng, n, 4)
    m = p + a + b
    forms = [
        generated,
        "+86" + m,
        "0086" + m,
        "86" + m,
        "+86 " + p + " " + a + " " + b,
        "0086-" + p + "-" + a + "-" + b,
        "(+86) " + m,
        "(86)" + p + "-" + a + "-" + b,
        p + "." + a + "." + b,
        p + "-" + a + "-" + b,
        "(" + p + ") " + a + "-" + b,
        p + a.str.slice(0, 1) + " " + a.str.slice(1) + " " + b,
        m,
        full_width(m),
        full_width("+86 " + p + " " + a + " " + b),
        full_width(p + "-" + a + "-" + b),
        # The security review's forms.
        p + format_char(rng, n) + a + format_char(rng, n) + b,
        format_char(rng, n) + m + format_char(rng, n),
        p + "/" + a + "/" + b,
        p + "_" + a + "_" + b,
        p + "," + a + "," + b,
        m + pl.Series(_people._pick(rng, ["call", "abc", "cafe", "a", "加我", "dd"], n), dtype=pl.Utf8),
        unicode_digits(rng, m),
        unicode_digits(rng, "+86 " + p + " " + a + " " + b),
        # Left open by the last review: a dashed phone glued to hex letters, and landlines.
        "0086-" + p + "-" + a + "-" + b + pl.Series(_people._pick(rng, ["abc", "ef", "d", "cafe"], n), dtype=pl.Utf8),
        *landline_forms(rng, n),
        # Issue 22: every digit set off, and Chinese numerals digit by digit.
        spread(m, " "),
        spread(m, "."),
        spread(m, "-"),
        chinese_numerals(rng, m),
        chinese_numerals(rng, p + " " + a + " " + b),
    ]
    return _one_of(rng, forms)


def spread(texts: pl.Series, sep: str) -> pl.Series:
    """Every digit set off by `sep` ("1 3 8 ...")."""
    return texts.str.replace_all("([0-9])", "${1}" + sep).str.strip_chars_end(sep)


def chinese_numerals(rng: np.random.Generator, texts: pl.Series) -> pl.Series:
    """ASCII digits as Chinese numerals, one of CN_NUMERALS' spellings per text."""
    return _one_of(rng, [texts.str.replace_many(list("0123456789"), list(script)) for script in CN_NUMERALS])


def landline_forms(rng: np.random.Generator, n: int) -> list[pl.Series]:
    """Landlines as typed: area code and a 7-8 digit local number (8 after a 2-digit code)."""
    area = pl.Series(_people._pick(rng, AREA_CODES, n), dtype=pl.Utf8)
    head = pl.Series(rng.integers(2, 10, n)).cast(pl.Utf8) + _people._digits(rng, n, 3)
    tail = pl.select(
        pl.when(area.str.len_chars() == 3).then(_people._digits(rng, n, 4)).otherwise(_people._digits(rng, n, 3))
    ).to_series()
    local = head + tail
    first, last = local.str.head(-4), local.str.tail(4)  # grouped 4-4 or 3-4, as people say them
    short = area.str.slice(1)  # the area code after +86 loses its 0
    return [
        area + "-" + local,
        "(" + area + ")" + local,
        "(" + area + ") " + local,
        area + " " + first + " " + last,
        "+86 " + short + " " + local,
        "+86-" + short + "-" + local,
        "0086 " + short + " " + first + " " + last,
        "+86(" + short + ")" + local,
        full_width(area + "-" + local),
    ]


def id_forms(rng: np.random.Generator, ids: pl.Series) -> pl.Series:
    """ID numbers as typed: plain, full-width, grouped 6-8-4, with a format character, Unicode digits."""
    region, birth, rest = ids.str.slice(0, 6), ids.str.slice(6, 8), ids.str.slice(14)
    return _one_of(
        rng,
        [
            ids,
            ids,
            full_width(ids),
            region + " " + birth + " " + rest,
            region + "-" + birth + "-" + rest,
            ids.str.slice(0, 17) + format_char(rng, len(ids)) + ids.str.slice(17),
            region + format_char(rng, len(ids)) + birth + format_char(rng, len(ids)) + rest,
            unicode_digits(rng, ids),
            # Issue 22: groups of four or 6-4-4-4, and first-generation 15-digit numbers.
            ids.str.slice(0, 4)
            + "-"
            + ids.str.slice(4, 4)
            + "-"
            + ids.str.slice(8, 4)
            + "-"
            + ids.str.slice(12, 4)
            + "-"
            + ids.str.slice(16),
            region + " " + birth.str.slice(0, 4) + " " + birth.str.slice(4) + " " + rest,
            region + birth.str.slice(2) + rest.str.slice(0, 3),
            region + " " + birth.str.slice(2) + " " + rest.str.slice(0, 3),
        ],
    )


def card_forms(rng: np.random.Generator, cards: pl.Series) -> pl.Series:
    """Card numbers as typed: plain, in groups of four (space, dot), full-width, with format characters."""
    g = [cards.str.slice(i, 4) for i in range(0, 16, 4)]
    fc = [format_char(rng, len(cards)) for _ in range(3)]
    return _one_of(
        rng,
        [
            cards,
            cards,
            g[0] + " " + g[1] + " " + g[2] + " " + g[3],
            full_width(cards),
            g[0] + "." + g[1] + "." + g[2] + "." + g[3],
            g[0] + fc[0] + g[1] + fc[1] + g[2] + fc[2] + g[3],
            g[0] + fc[0] + cards.str.slice(4),
            unicode_digits(rng, cards),
            # Issue 22: dashes, 19-digit cards 4-4-4-4-3, Amex-style 15-digit cards 4-6-5.
            g[0] + "-" + g[1] + "-" + g[2] + "-" + g[3],
            _grouped(luhn_cards(rng, len(cards), "62", 19), [4, 4, 4, 4, 3], " "),
            _grouped(luhn_cards(rng, len(cards), "37", 15), [4, 6, 5], " "),
            _grouped(luhn_cards(rng, len(cards), "34", 15), [4, 6, 5], "-"),
        ],
    )


def _grouped(values: pl.Series, widths: list[int], sep: str) -> pl.Series:
    starts = np.cumsum([0, *widths[:-1]])
    return pl.select(
        pl.concat_str([values.str.slice(s, w) for s, w in zip(starts, widths, strict=True)], separator=sep)
    ).to_series()


def luhn_cards(rng: np.random.Generator, n: int, prefix: str, width: int) -> pl.Series:
    """Card numbers of `width` digits starting with `prefix`, with a valid Luhn check digit."""
    body = rng.integers(0, 10, (n, width - 1))
    body[:, : len(prefix)] = [int(d) for d in prefix]
    doubled = body[:, ::-1].copy()
    doubled[:, ::2] *= 2
    doubled[doubled > 9] -= 9
    check = (10 - doubled.sum(axis=1) % 10) % 10
    digits = np.concatenate([body, check[:, None]], axis=1).astype(np.uint8) + 48
    return pl.Series(np.ascontiguousarray(digits).view(f"S{width}").ravel()).cast(pl.Utf8)


def email_forms(rng: np.random.Generator, emails: pl.Series) -> pl.Series:
    """E-mails as typed: plain, full-width "＠", spelt out ("at"/"dot", bracketed), internationalised."""
    n = len(emails)
    local, domain = emails.str.extract("^(.*)@", 1), emails.str.extract("@(.*)$", 1)
    words = domain.str.replace_all(".", " dot ", literal=True)
    idn = (
        pl.Series(_people._pick(rng, ["张伟", "王芳", "李娜", "刘洋", "陈静", "ivan"], n), dtype=pl.Utf8)
        + _people._digits(rng, n, 2)
        + "@"
        + pl.Series(_people._pick(rng, ["例子", "邮箱", "网易", "почта"], n), dtype=pl.Utf8)
        + "."
        + pl.Series(_people._pick(rng, ["公司", "中国", "网络", "рф", "com"], n), dtype=pl.Utf8)
    )
    return _one_of(
        rng,
        [
            emails,
            emails,
            emails.str.replace("@", "＠", literal=True),
            local + " at " + words,
            (local + " AT " + words).str.to_uppercase(),
            local + "[at]" + domain,
            local + " (at) " + domain.str.replace_all(".", " (dot) ", literal=True),
            local + "{at}" + domain,
            local + " [at] " + domain.str.replace_all(".", "[dot]", literal=True),
            idn,
        ],
    )


def _some(rng: np.random.Generator, values: pl.Series, variant: pl.Series, share: float) -> pl.Series:
    """`variant` in a `share` of rows, `values` elsewhere."""
    return pl.select(pl.when(pl.Series(rng.random(len(values)) < share)).then(variant).otherwise(values)).to_series()


def look_alikes(rng: np.random.Generator, n: int) -> pl.Series:
    """Text that must survive scrubbing: ids, tracking numbers, timestamps, prices, dates."""

    def digits(width: int) -> pl.Series:
        return _people._digits(rng, n, width)

    def hex_digits(width: int) -> pl.Series:
        return digits(width).str.replace_many(list("024689"), list("a0bc8f"))

    def mobile() -> pl.Series:
        return pl.Series(_people._pick(rng, MOBILE_PREFIXES, n), dtype=pl.Utf8) + digits(8)

    mobile_inside = "2026" + pl.Series(_people._pick(rng, MOBILE_PREFIXES, n), dtype=pl.Utf8) + digits(8) + "01"
    candidates = [
        "快递单号 " + pl.Series(_people._pick(rng, ["13", "15", "18", "86"], n), dtype=pl.Utf8) + digits(16),
        "tracking SF" + digits(12),
        "订单 " + mobile_inside,  # a mobile number's digits inside a 17-digit order id
        "ts " + ("17" + digits(11)),  # epoch milliseconds
        "uid " + digits(11) + digits(11),
        "at 2026-10-0" + digits(1) + " 1" + digits(1) + ":" + digits(2) + ":" + digits(2),
        "¥13" + digits(2) + ".00 x" + digits(1),
        "batch 138." + digits(2) + ", " + digits(4) + ".5",
        # Look-alikes of the security review's forms.
        "¥1," + digits(3) + "," + digits(3) + " / " + digits(2) + "," + digits(3) + "," + digits(3) + " units",
        "on 2026/1" + digits(1) + "/0" + digits(1) + " and 2026_10_0" + digits(1),
        "sizes 13" + digits(1) + ", " + digits(4) + ", " + digits(4),  # a prose list
        "uuid " + hex_digits(8) + "-" + hex_digits(4) + "-4" + hex_digits(3) + "-a" + hex_digits(3) + "-a" + mobile(),
        "uuid "
        + hex_digits(8)
        + "-"
        + hex_digits(4)
        + "-4"
        + hex_digits(3)
        + "-b"
        + hex_digits(3)
        + "-"
        + mobile()
        + "e",
        "token tk1_" + hex_digits(6) + "a" + mobile() + "b" + hex_digits(8),
        "sha " + mobile() + "abcdef" + hex_digits(10),
        "快递单号 13" + digits(8) + "\u200b" + digits(8),  # a tracking number with a zero-width space
        # Look-alikes of landlines: short or over-long locals, a code without separator, dates, hours.
        "房间 0755-" + digits(5) + " 分机 010-" + digits(3),
        "运单 SF0" + digits(13) + " 和 010-" + digits(10),
        "on 2026-0" + digits(1) + "-1" + digits(1) + " 09:" + digits(2) + "-17:" + digits(2),
        "ISBN 978-7-50" + digits(2) + "-" + digits(4) + "-" + digits(1),
        # Look-alikes of issue 22's forms: prose "at"/"dot", numerals in prose, a long spaced
        # digit list, 15-digit numbers with no ID word, IP addresses, gift-card codes.
        "look at the dot product, meet at gate " + digits(1) + " dot com booth",
        "名次 " + chinese_numerals(rng, digits(5)) + " 和 " + chinese_numerals(rng, digits(5)),
        "list 1 " + spread(pl.Series(_people._pick(rng, MOBILE_PREFIXES, n), dtype=pl.Utf8) + digits(8), " "),
        "运单 " + digits(15),
        "ip 192.168.1" + digits(2) + ".1" + digits(2),
        "礼品卡 8" + digits(3) + "-" + digits(4) + "-" + digits(4) + "-" + digits(4),
    ]
    return _one_of(rng, candidates)


def labelled_set(n: int, seed: int = 0) -> pl.DataFrame:
    """n texts with columns text, kind (or null) and value (the planted string)."""
    rng = np.random.default_rng(seed)
    users = _people.users(rng, n, 1_790_000_000_000, "U")
    kind_idx = rng.integers(0, len(KINDS) + 1, n)  # the last index means "no PII"
    ids = _people.chinese_id_numbers(rng, users["birth_date"])
    cards = _people.luhn_card_numbers(rng, n)
    values = {
        "email": email_forms(rng, users["email"]),
        "phone": phone_forms(rng, users["phone"]),
        "id_number": id_forms(rng, ids),
        "bank_card": card_forms(rng, cards),
        "mention": "@" + users["name"],
    }
    kind = pl.Series(np.asarray([*KINDS, ""])[kind_idx]).replace("", None)
    value = pl.select(pl.coalesce([pl.when(kind == k).then(values[k]) for k in KINDS])).to_series()
    order = "order " + pl.Series(rng.integers(10**17, 2 * 10**17, n)).cast(pl.Utf8)  # 18 digits, starts with 1
    tracking = " 快递单号 " + pl.Series(rng.integers(10**11, 10**12, n)).cast(pl.Utf8)
    noise = (
        order
        + tracking
        + " "
        + look_alikes(rng, n)
        + " ¥"
        + pl.Series(rng.integers(1, 9999, n)).cast(pl.Utf8)
        + ".00 on 2026-10-0"
        + pl.Series(rng.integers(1, 9, n)).cast(pl.Utf8)
        + " SKU-"
        + pl.Series(rng.integers(1000, 9999, n)).cast(pl.Utf8)
    )
    prefixes = {k: pl.Series(_people._pick(rng, v, n), dtype=pl.Utf8) for k, v in PREFIX.items()}
    prefix = pl.select(pl.coalesce([pl.when(kind == k).then(prefixes[k]) for k in KINDS])).to_series()
    text = pl.select(
        pl.when(kind.is_null()).then(noise).otherwise(pl.lit("质量很好 ") + prefix + value + pl.lit("，") + noise)
    ).to_series()
    return pl.DataFrame({"text": text, "kind": kind, "value": value})


def evaluate(labelled: pl.DataFrame) -> pl.DataFrame:
    """Per kind: planted, found (planted value gone and its placeholder present), precision, recall.

    Scrubbed text is normalised (NFKC, no format characters, ASCII digits), so "gone" is
    checked against the normalised value: a full-width phone must not survive as its ASCII
    digits either.
    """
    scrubbed = labelled.with_columns(scrubbed=scrub(labelled["text"]), value=normalise(labelled["value"]))
    rows = []
    for kind in KINDS:  # five kinds, not rows
        placeholder = PLACEHOLDERS[kind]
        counts = scrubbed.select(
            planted=(pl.col("kind") == kind).sum(),
            hit=(
                (pl.col("kind") == kind)
                & pl.col("scrubbed").str.contains(placeholder, literal=True)
                & ~pl.col("scrubbed").str.contains(pl.col("value"), literal=True)
            ).sum(),
            flagged=pl.col("scrubbed").str.count_matches(placeholder, literal=True).sum(),
        ).row(0, named=True)
        rows.append(
            {
                "kind": kind,
                **counts,
                "recall": counts["hit"] / counts["planted"] if counts["planted"] else None,
                # None when nothing was flagged (a set with no value of this kind): not 0.
                "precision": counts["hit"] / counts["flagged"] if counts["flagged"] else None,
            }
        )
    return pl.DataFrame(rows)
