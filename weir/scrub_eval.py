"""A labelled free-text set for the PII scrubber, and precision/recall per PII kind.

Texts mix review phrasing (Chinese and English) with exactly one planted value of a known
kind, or none; every text also carries look-alikes that must survive (order numbers,
tracking codes, prices, dates, SKU codes).
"""

import numpy as np
import polars as pl

from privacy._scrub import PLACEHOLDERS, scrub
from weir.generate import _people

KINDS = ["email", "phone", "id_number", "bank_card", "mention"]
PREFIX = {
    "email": "联系邮箱 ",
    "phone": "call me ",
    "id_number": "身份证号",
    "bank_card": "退款到卡 ",
    "mention": "thanks ",
}


def labelled_set(n: int, seed: int = 0) -> pl.DataFrame:
    """n texts with columns text, kind (or null) and value (the planted string)."""
    rng = np.random.default_rng(seed)
    users = _people.users(rng, n, 1_790_000_000_000, "U")
    kind_idx = rng.integers(0, len(KINDS) + 1, n)  # the last index means "no PII"
    values = {
        "email": users["email"],
        "phone": users["phone"],
        "id_number": _people.chinese_id_numbers(rng, users["birth_date"]),
        "bank_card": _people.luhn_card_numbers(rng, n),
        "mention": "@" + users["name"],
    }
    kind = pl.Series(np.asarray([*KINDS, ""])[kind_idx]).replace("", None)
    value = pl.select(pl.coalesce([pl.when(kind == k).then(values[k]) for k in KINDS])).to_series()
    order = "order " + pl.Series(rng.integers(10**17, 2 * 10**17, n)).cast(pl.Utf8)  # 18 digits, starts with 1
    tracking = " 快递单号 " + pl.Series(rng.integers(10**11, 10**12, n)).cast(pl.Utf8)
    noise = (
        order
        + tracking
        + " ¥"
        + pl.Series(rng.integers(1, 9999, n)).cast(pl.Utf8)
        + ".00 on 2026-10-0"
        + pl.Series(rng.integers(1, 9, n)).cast(pl.Utf8)
        + " SKU-"
        + pl.Series(rng.integers(1000, 9999, n)).cast(pl.Utf8)
    )
    prefix = kind.replace_strict(PREFIX, default="")
    text = pl.select(
        pl.when(kind.is_null()).then(noise).otherwise(pl.lit("质量很好 ") + prefix + value + pl.lit("，") + noise)
    ).to_series()
    return pl.DataFrame({"text": text, "kind": kind, "value": value})


def evaluate(labelled: pl.DataFrame) -> pl.DataFrame:
    """Per kind: planted, found (planted value gone and its placeholder present), precision, recall."""
    scrubbed = labelled.with_columns(scrubbed=scrub(labelled["text"]))
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
