"""Reviews whose free text sometimes carries PII, and recommendation impressions."""

from typing import NamedTuple

import numpy as np
import polars as pl

from weir.generate import _people
from weir.generate import _reference as ref
from weir.generate._behaviour import Behaviour
from weir.generate._events_table import ident, iso

# Share of reviews whose text carries each kind of personal data (the scrubber's test set).
PII_P = {"email": 0.07, "phone": 0.07, "id_number": 0.05, "bank_card": 0.04}
PII_PHRASE = {
    "en": {"email": "email me at ", "phone": "call ", "id_number": "my ID is ", "bank_card": "refund to card "},
    "zh-CN": {"email": "邮箱 ", "phone": "电话 ", "id_number": "身份证 ", "bank_card": "退款卡号 "},
}
REVIEW_P, FRAUD_REVIEW_P = 0.3, 0.8  # fake orders come with glowing fake reviews


class Reviews(NamedTuple):
    table: pl.DataFrame
    events: pl.DataFrame
    pii: pl.DataFrame  # review_idx, pii_type, value: the planted truth for scrubbing


def reviews(
    rng: np.random.Generator,
    events: pl.DataFrame,
    beh: Behaviour,
    users: pl.DataFrame,
    end_ms: int,
    tag: str,
) -> Reviews:
    fraud = beh.ring_members["user_idx"].implode()
    buys = events.filter(pl.col("event_type") == "purchase")
    p = np.where(buys["user_idx"].is_in(fraud).to_numpy(), FRAUD_REVIEW_P, REVIEW_P)
    buys = buys.filter(pl.Series(rng.random(buys.height) < p)).with_row_index("review_idx")
    n = buys.height
    user = buys["user_idx"].to_numpy()
    locale = users["locale"].to_numpy()[user]
    is_en = locale == "en"
    tmpl_en = np.asarray(ref.REVIEW_TEMPLATES_EN)[rng.integers(0, len(ref.REVIEW_TEMPLATES_EN), n)]
    tmpl_cn = np.asarray(ref.REVIEW_TEMPLATES_CN)[rng.integers(0, len(ref.REVIEW_TEMPLATES_CN), n)]
    kind = rng.choice(len(PII_P) + 1, n, p=[*PII_P.values(), 1 - sum(PII_P.values())])
    kinds = np.asarray([*PII_P, ""])[kind]
    values = {
        "email": users["email"].gather(user),
        "phone": users["phone"].gather(user),
        "id_number": _people.chinese_id_numbers(rng, users["birth_date"].gather(user)),
        "bank_card": _people.luhn_card_numbers(rng, n),
    }
    frame = pl.DataFrame({"kind": kinds, "is_en": is_en, "text": np.where(is_en, tmpl_en, tmpl_cn)})
    phrase = pl.lit("")
    value = pl.lit("")
    for name in PII_P:  # four PII kinds, not rows
        prefix = (
            pl.when(pl.col("is_en")).then(pl.lit(PII_PHRASE["en"][name])).otherwise(pl.lit(PII_PHRASE["zh-CN"][name]))
        )
        phrase = pl.when(pl.col("kind") == name).then(prefix + values[name]).otherwise(phrase)
        value = pl.when(pl.col("kind") == name).then(values[name]).otherwise(value)
    mention = users["name"].gather(rng.integers(0, users.height, n))
    frame = frame.with_columns(pii_text=phrase, pii_value=value, mention=mention).with_columns(
        text=pl.col("text")
        .str.replace("{pii}", pl.col("pii_text"), literal=True)
        .str.replace("{mention}", pl.col("mention"), literal=True)
        .str.replace("{category}", pl.lit("this"), literal=True)
        .str.strip_chars()
    )
    # A template without a {pii} slot still gets the PII appended, so the planted value is present.
    frame = frame.with_columns(
        text=pl.when((pl.col("pii_value") != "") & ~pl.col("text").str.contains(pl.col("pii_value"), literal=True))
        .then(pl.col("text") + " " + pl.col("pii_text"))
        .otherwise(pl.col("text"))
    )
    created = np.minimum(buys["ts_ms"].to_numpy() + rng.exponential(2 * 86_400_000, n).astype(np.int64), end_ms - 1)
    rating = np.where(
        buys["user_idx"].is_in(fraud).to_numpy(), 5, rng.choice([1, 2, 3, 4, 5], n, p=[0.05, 0.05, 0.12, 0.3, 0.48])
    )
    user_ids = users["user_id"]
    table = buys.select(
        review_id=ident(f"R{tag}-", pl.col("review_idx").cast(pl.Int64)),
        user_id=pl.lit(user_ids).gather(pl.col("user_idx")),
        item_id=pl.lit(beh.items["item_id"]).gather(pl.col("item_idx")),
        order_id=ident(f"O{tag}-", pl.col("order_idx")),
        rating=pl.lit(rating),
        text=frame["text"],
        created_at=iso(pl.lit(created)),
    )
    review_events = buys.select(
        "user_idx",
        "item_idx",
        "order_idx",
        "device_id",
        "ip",
        "user_agent",
        "channel",
        review_idx=pl.col("review_idx").cast(pl.Int64),
        session_idx=pl.lit(-1, pl.Int64),
        event_type=pl.lit("review"),
        ts_ms=pl.lit(created),
    )
    pii = pl.DataFrame({"review_idx": np.arange(n), "pii_type": kinds, "value": frame["pii_value"]})
    return Reviews(table, review_events, pii.filter(pl.col("pii_type") != ""))


# Planted social-proof effect: click-through with and without a "friends bought" badge.
CTR_PLAIN, CTR_BADGE = 0.04, 0.07


def impressions(
    rng: np.random.Generator,
    events: pl.DataFrame,
    beh: Behaviour,
    user_ids: pl.Series,
    start_ms: int,
    days: int,
    tag: str,
) -> pl.DataFrame:
    """Feed impressions; items a followee bought carry a 'friends_bought' badge."""
    end_ms = start_ms + days * 86_400_000
    buys = events.filter(pl.col("event_type") == "purchase").select("user_idx", "item_idx", "ts_ms")
    social = beh.graph.join(buys, left_on="followee_idx", right_on="user_idx")
    social = social.filter(pl.Series(rng.random(social.height) < 0.2))
    social = (
        social.group_by("follower_idx", "item_idx")
        .agg(pl.len().alias("friends_count"), pl.col("ts_ms").max())
        .sort("follower_idx", "item_idx")
    )
    n_social = social.height
    social_ms = social["ts_ms"].to_numpy() + rng.exponential(86_400_000, n_social).astype(np.int64)
    n_plain = max(1, beh.plan.height // 2)
    # Active users see more of the feed: weight by their number of sessions.
    weight = np.bincount(beh.plan["user_idx"].to_numpy(), minlength=len(beh.weight))[: beh.n_honest] + 0.01
    plain_user = rng.choice(beh.n_honest, n_plain, p=weight / weight.sum())
    popularity = beh.items["popularity"].to_numpy()
    frame = (
        pl.DataFrame(
            {
                "user_idx": np.concatenate([social["follower_idx"].to_numpy(), plain_user]),
                "item_idx": np.concatenate(
                    [social["item_idx"].to_numpy(), rng.choice(len(popularity), n_plain, p=popularity)]
                ),
                "ts_ms": np.concatenate([social_ms, start_ms + rng.integers(0, days * 86_400_000, n_plain)]),
                "friends_count": np.concatenate([social["friends_count"].to_numpy(), np.zeros(n_plain, np.int64)]),
            }
        )
        .filter(pl.col("ts_ms") < end_ms)
        .sort("ts_ms", "user_idx", "item_idx")
        .with_row_index("idx")
    )
    badge = frame["friends_count"].to_numpy() > 0
    clicked = rng.random(frame.height) < np.where(badge, CTR_BADGE, CTR_PLAIN)
    return frame.select(
        impression_id=ident(f"IM{tag}-", pl.col("idx").cast(pl.Int64)),
        user_id=pl.lit(user_ids).gather(pl.col("user_idx")),
        item_id=pl.lit(beh.items["item_id"]).gather(pl.col("item_idx")),
        shown_at=iso(pl.col("ts_ms")),
        position=pl.lit(rng.integers(1, 21, frame.height)),
        badge=pl.when(pl.lit(badge)).then(pl.lit("friends_bought")),
        friends_count=pl.col("friends_count").cast(pl.Int64),
        is_clicked=pl.lit(clicked),
    )
