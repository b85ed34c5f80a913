"""A labelled free-text set for the PII scrubber, and precision/recall per PII kind.

Texts mix review phrasing (Chinese and English) with exactly one planted value of a known
kind, or none. Planted values come in the forms people type to get past filters (issue 15):
phones with +86 / 0086 / 86, spaces, dots, dashes and parentheses, glued to "tel", "wx",
"vx", "phone:", and in full-width digits; e-mails with a full-width "＠"; ID and card numbers
in full-width digits or in groups. Every text also carries look-alikes that must survive:
order numbers, 18-digit tracking numbers, a mobile-shaped run inside a longer id,
millisecond timestamps, prices, dates and SKU codes.
"""

import numpy as np
import polars as pl

from privacy._scrub import PLACEHOLDERS, scrub
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
MOBILE_PREFIXES = ["130", "135", "138", "139", "147", "150", "158", "166", "177", "186", "188", "199"]
FULL_WIDTH = dict(zip("0123456789+@.-", "０１２３４５６７８９＋＠．－", strict=True))


def full_width(texts: pl.Series | pl.Expr) -> pl.Series | pl.Expr:
    """Digits, "+", "@", "." and "-" in their full-width forms (NFKC maps them back)."""
    return texts.str.replace_many(list(FULL_WIDTH), list(FULL_WIDTH.values()))


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
    ]
    pick = pl.Series(rng.integers(0, len(forms), n))
    frame = pl.DataFrame({f"f{i}": f for i, f in enumerate(forms)} | {"pick": pick})
    expr = pl.col("f0")
    for i in range(1, len(forms)):
        expr = pl.when(pl.col("pick") == i).then(pl.col(f"f{i}")).otherwise(expr)
    return frame.select(expr).to_series()


def _some(rng: np.random.Generator, values: pl.Series, variant: pl.Series, share: float) -> pl.Series:
    """`variant` in a `share` of rows, `values` elsewhere."""
    return pl.select(pl.when(pl.Series(rng.random(len(values)) < share)).then(variant).otherwise(values)).to_series()


def look_alikes(rng: np.random.Generator, n: int) -> pl.Series:
    """Text that must survive scrubbing: ids, tracking numbers, timestamps, prices, dates."""

    def digits(width: int) -> pl.Series:
        return _people._digits(rng, n, width)

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
    ]
    pick = pl.Series(rng.integers(0, len(candidates), n))
    frame = pl.DataFrame({f"c{i}": c for i, c in enumerate(candidates)} | {"pick": pick})
    expr = pl.col("c0")
    for i in range(1, len(candidates)):
        expr = pl.when(pl.col("pick") == i).then(pl.col(f"c{i}")).otherwise(expr)
    return frame.select(expr).to_series()


def labelled_set(n: int, seed: int = 0) -> pl.DataFrame:
    """n texts with columns text, kind (or null) and value (the planted string)."""
    rng = np.random.default_rng(seed)
    users = _people.users(rng, n, 1_790_000_000_000, "U")
    kind_idx = rng.integers(0, len(KINDS) + 1, n)  # the last index means "no PII"
    ids = _people.chinese_id_numbers(rng, users["birth_date"])
    cards = _people.luhn_card_numbers(rng, n)
    grouped = cards.str.replace_all(r"(\d{4})(\d{4})(\d{4})(\d{4})", "$1 $2 $3 $4")
    values = {
        "email": _some(rng, users["email"], users["email"].str.replace("@", "＠", literal=True), 0.25),
        "phone": phone_forms(rng, users["phone"]),
        "id_number": _some(rng, ids, full_width(ids), 0.25),
        "bank_card": _some(rng, cards, _some(rng, grouped, full_width(cards), 0.5), 0.4),
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

    Scrubbed text is NFKC-normalised, so "gone" is checked against the normalised value: a
    full-width phone must not survive as its ASCII digits either.
    """
    scrubbed = labelled.with_columns(scrubbed=scrub(labelled["text"]), value=pl.col("value").str.normalize("NFKC"))
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
                "recall": counts["hit"] / max(1, counts["planted"]),
                "precision": counts["hit"] / max(1, counts["flagged"]),
            }
        )
    return pl.DataFrame(rows)
