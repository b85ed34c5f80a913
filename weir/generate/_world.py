"""Build every landing source as a typed frame plus the planted truth."""

from dataclasses import dataclass

import numpy as np
import polars as pl

from weir.generate import _behaviour, _consent, _continue, _events, _people, _people_extra, _reviews, _social
from weir.generate._behaviour import Behaviour
from weir.generate._events_table import extra_events, ident, iso, session_events, session_network
from weir.generate._reference import CITY_REGION

EVENT_COLUMNS = [
    "event_id",
    "event_type",
    "ts",
    "user_id",
    "device_id",
    "session_id",
    "channel",
    "ip",
    "user_agent",
    "item_id",
    "shop_id",
    "category",
    "dwell_ms",
    "live_stream_id",
    "share_id",
    "parent_share_id",
    "group_buy_id",
    "bargain_id",
    "coupon_id",
    "order_id",
    "review_id",
    "target_user_id",
    "experiment_id",
    "variant",
]


# Sort keys that order events totally, so the same seed always writes the same bytes.
TIE_BREAK = ["ts_ms", "session_idx", "event_type", "user_idx", "experiment_id", "review_idx"]


@dataclass(frozen=True, slots=True)
class World:
    sources: dict[str, pl.DataFrame]
    truth: dict[str, object]


def _item_cols(items: pl.DataFrame, idx: str = "item_idx") -> list[pl.Expr]:
    return [
        pl.lit(items["item_id"]).gather(pl.col(idx).clip(0)).alias("item_id"),
        pl.lit(items["shop_id"]).gather(pl.col(idx).clip(0)).alias("shop_id"),
        pl.lit(items["category"]).gather(pl.col(idx).clip(0)).alias("category"),
    ]


# Streams drawn once per world (ring sizes, influence, follower graph, catalogue, activity, A/B
# arms, sign-up consent): a continuation batch draws them from the world's origin, so its users,
# graph, items and experiment arms are those of the world's first batch. The rest is per batch.
WORLD_STREAMS = {0, 1, 2, 3, 5, 8}  # and 15's first draws (sign-up consent): see _streams


def _streams(seed: int, start_ms: int, origin_ms: int) -> tuple[list[np.random.Generator], np.random.Generator]:
    """The batch's random streams, and the world's stream for sign-up consent."""
    world = np.random.SeedSequence([seed, origin_ms]).spawn(16)
    day = world if origin_ms == start_ms else np.random.SeedSequence([seed, start_ms]).spawn(16)
    rngs = [np.random.default_rng(world[i] if i in WORLD_STREAMS else day[i]) for i in range(16)]
    return rngs, rngs[15] if origin_ms == start_ms else np.random.default_rng(world[15])


def build(seed: int, n_users: int, start_ms: int, days: int, tag: str, origin_ms: int | None = None) -> World:
    """Generate all sources for one batch; `tag` makes batch-scoped ids unique.

    With `origin_ms` before `start_ms` the batch continues the world that began then: the same
    users, graph and arms; only what happened inside the window (no users or arms again)."""
    origin_ms = start_ms if origin_ms is None else origin_ms
    first = origin_ms == start_ms
    people_rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    rngs, signup_rng = _streams(seed, start_ms, origin_ms)
    beh = _behaviour.build(rngs[:10], n_users, start_ms, days, None if first else (seed, origin_ms))
    total = int(beh.weight.shape[0])
    # The seed is part of the id: worlds of different seeds never share a user id.
    users = _people.users(people_rng, total, origin_ms, f"U{seed}-")
    user_ids = users["user_id"]
    events = pl.concat([session_events(rngs[10], beh), extra_events(beh, user_ids)], how="diagonal_relaxed")
    end_ms = start_ms + days * 86_400_000
    # Actions of a session that starts just before midnight on the last day stay in this batch.
    events = events.with_columns(pl.col("ts_ms").clip(upper_bound=end_ms - 1))
    network = session_network(rngs[11], beh, total)
    events = events.join(network, on="session_idx", how="left").sort(
        *TIE_BREAK[:-1], nulls_last=True, maintain_order=True
    )
    events = events.with_columns(
        order_idx=pl.when(pl.col("event_type") == "purchase")
        .then(pl.col("event_type").eq("purchase").cum_sum() - 1)
        .otherwise(-1)
    )
    reviews = _reviews.reviews(rngs[12], events, beh, users, end_ms, tag)
    events = (
        pl.concat([events, reviews.events], how="diagonal_relaxed")
        .sort(*TIE_BREAK, nulls_last=True, maintain_order=True)
        .with_row_index("event_idx")
    )
    orders = _orders(rngs[13], events, beh, users, tag)
    sources = {
        "users": _users_source(users, start_ms),
        "follows": beh.follows.select(
            follower_id=pl.lit(user_ids).gather(pl.col("follower_idx")),
            followee_id=pl.lit(user_ids).gather(pl.col("followee_idx")),
            followed_at=iso(pl.col("followed_ms")),
        ),
        "events": _events_source(events, beh, user_ids, tag),
        "orders": orders,
        "reviews": reviews.table,
        "group_buys": beh.group_buys.select(
            group_buy_id=ident(f"G{tag}-", pl.col("group_buy_idx")),
            initiator_user_id=pl.lit(user_ids).gather(pl.col("initiator_idx")),
            item_id=pl.lit(beh.items["item_id"]).gather(pl.col("item_idx")),
            required_size="required_size",
            created_at=iso(pl.col("created_ms")),
            expires_at=iso(pl.col("expires_ms")),
        ),
        "bargains": beh.bargains.select(
            bargain_id=ident(f"B{tag}-", pl.col("bargain_idx")),
            initiator_user_id=pl.lit(user_ids).gather(pl.col("initiator_idx")),
            item_id=pl.lit(beh.items["item_id"]).gather(pl.col("item_idx")),
            helps_needed="helps_needed",
            created_at=iso(pl.col("created_ms")),
            expires_at=iso(pl.col("expires_ms")),
        ),
        "live_streams": beh.streams.select(
            live_stream_id=ident(f"L{tag}-", pl.col("live_idx")),
            host_user_id=pl.lit(user_ids).gather(pl.col("host_idx")),
            item_id=pl.lit(beh.items["item_id"]).gather(pl.col("item_idx")),
            started_at=iso(pl.col("started_ms")),
            ended_at=iso(pl.col("ended_ms")),
        ),
        "assignments": beh.assignments.select(
            "experiment_id",
            user_id=pl.lit(user_ids).gather(pl.col("user_idx")),
            variant="variant",
            assigned_at=iso(pl.lit(start_ms)),
        ),
        "impressions": _reviews.impressions(rngs[14], events, beh, user_ids, start_ms, days, tag),
        **_consent.consent_and_dsr(rngs[15], users, beh.n_honest, start_ms, days, tag, signup_rng),
    }
    if not first:  # profiles and arms were landed with the world's first batch; new sign-ups only
        joined = _continue.newcomers(seed, n_users, start_ms, days, tag)
        grants = _consent.signup_grants(np.random.default_rng([seed, start_ms, 8]), joined, tag)
        sources["users"], sources["assignments"] = _users_source(joined, start_ms), sources["assignments"].clear()
        sources["consent"] = pl.concat([sources["consent"], grants.select(sources["consent"].columns)])
    return World(sources, _truth(beh, events, user_ids, reviews.pii))


def _users_source(users: pl.DataFrame, start_ms: int) -> pl.DataFrame:
    return users.select(
        "user_id",
        "name",
        "phone",
        "email",
        birth_date=pl.col("birth_date").dt.strftime("%Y-%m-%d"),
        city="city",
        country_code="country_code",
        locale="locale",
        signup_at=iso(pl.col("signup_ms")),
    )


def _events_source(events: pl.DataFrame, beh: Behaviour, user_ids: pl.Series, tag: str) -> pl.DataFrame:
    return (
        events.with_columns(*_item_cols(beh.items))
        .with_columns(
            event_id=pl.lit(f"E{tag}-") + pl.col("event_idx").cast(pl.Utf8),
            ts=iso(pl.col("ts_ms")),
            user_id=pl.lit(user_ids).gather(pl.col("user_idx")),
            session_id=ident(f"SS{tag}-", pl.col("session_idx")),
            channel=pl.col("channel").fill_null("feed"),
            live_stream_id=ident(f"L{tag}-", pl.col("live_idx")),
            share_id=ident(f"SH{tag}-", pl.col("share_idx")),
            parent_share_id=ident(f"SH{tag}-", pl.col("parent_share")),
            group_buy_id=ident(f"G{tag}-", pl.col("group_buy")),
            bargain_id=ident(f"B{tag}-", pl.col("bargain")),
            coupon_id=ident("CP-", pl.col("coupon")),
            order_id=ident(f"O{tag}-", pl.col("order_idx")),
            review_id=ident(f"R{tag}-", pl.col("review_idx")),
        )
        .with_columns(
            # Events without an item (follows, exposures) carry no item columns.
            [pl.when(pl.col("item_idx") >= 0).then(pl.col(c)) for c in ("item_id", "shop_id", "category")]
        )
        .select(EVENT_COLUMNS)
    )


def _orders(
    rng: np.random.Generator, events: pl.DataFrame, beh: Behaviour, users: pl.DataFrame, tag: str
) -> pl.DataFrame:
    """One row per purchase event with amount, status and referral attribution (last touch)."""
    sharers = beh.plan.filter(pl.col("is_share")).select("share_idx", sharer_idx="user_idx")
    plan = beh.plan.select("session_idx", "is_coupon", via="via_share")
    purchases = (
        events.filter(pl.col("event_type") == "purchase")
        .join(plan, on="session_idx", how="left")
        .join(sharers, left_on="via", right_on="share_idx", how="left")
    )
    purchases = _events.orders(rng, purchases, beh.items["price_cents"].to_numpy())
    unfilled = beh.group_buys.filter(~pl.col("is_filled"))["group_buy_idx"].implode()
    moved = pl.Series(rng.random(purchases.height) < 0.1)  # gifts and office deliveries
    cities = pl.Series(list(CITY_REGION))
    other_city = cities.gather(rng.integers(0, len(CITY_REGION), purchases.height))
    user_ids = users["user_id"]
    return purchases.with_columns(*_item_cols(beh.items)[:2]).select(
        order_id=ident(f"O{tag}-", pl.col("order_idx")),
        user_id=pl.lit(user_ids).gather(pl.col("user_idx")),
        item_id="item_id",
        shop_id="shop_id",
        quantity="quantity",
        amount_cents="amount_cents",
        currency=pl.lit("CNY"),
        ordered_at=iso(pl.col("ts_ms")),
        status=pl.when(pl.col("group_buy").is_in(unfilled)).then(pl.lit("refunded")).otherwise(pl.lit("paid")),
        channel="channel",
        device_id="device_id",
        shipping_city=pl.when(moved).then(other_city).otherwise(pl.lit(users["city"]).gather(pl.col("user_idx"))),
        referrer_share_id=ident(f"SH{tag}-", pl.col("via")),
        referrer_user_id=pl.when(pl.col("sharer_idx").is_not_null()).then(
            pl.lit(user_ids).gather(pl.col("sharer_idx").fill_null(0))
        ),
        group_buy_id=ident(f"G{tag}-", pl.col("group_buy")),
        bargain_id=ident(f"B{tag}-", pl.col("bargain")),
        coupon_id=ident("CP-", pl.col("coupon")),
    )


def _truth(beh: Behaviour, events: pl.DataFrame, user_ids: pl.Series, pii: pl.DataFrame) -> dict:
    """What the generator planted, so later stages can be checked against it."""
    rings = beh.ring_members.group_by("ring").agg("user_idx", "device_idx").sort("ring")
    return {
        "experiments": _experiment_truth(beh, events),
        "fraud_rings": [
            {
                "ring": int(r["ring"]),
                "members": user_ids.gather(r["user_idx"]).to_list(),
                "device_ids": sorted(set(_people_extra.device_ids(np.asarray(r["device_idx"])).to_list())),
            }
            for r in rings.iter_rows(named=True)
        ],
        "top_kols": user_ids.gather(_social.top_kols(beh.weight[: beh.n_honest], 10)).to_list(),
        "review_pii_counts": dict(pii.group_by("pii_type").len().sort("pii_type").iter_rows()),
        "social_proof_ctr": {"plain": _reviews.CTR_PLAIN, "friends_bought": _reviews.CTR_BADGE},
        "group_buys": {
            "filled": int(beh.group_buys["is_filled"].sum()),
            "expired": int((~beh.group_buys["is_filled"]).sum()),
        },
        "bargains": {
            "completed": int(beh.bargains["completed_ms"].is_not_null().sum()),
            "lapsed": int(beh.bargains["completed_ms"].is_null().sum()),
        },
    }


def _experiment_truth(beh: Behaviour, events: pl.DataFrame) -> dict:
    """Planted lift per experiment plus the realised conversion of exposed users per arm."""
    exposed = events.filter(pl.col("event_type") == "exposure").select(
        "user_idx", "experiment_id", "variant", exposed_ms="ts_ms"
    )
    buyers = (
        events.filter(pl.col("event_type") == "purchase").group_by("user_idx").agg(last_buy_ms=pl.col("ts_ms").max())
    )
    arms = (
        exposed.join(buyers, on="user_idx", how="left")
        .with_columns(converted=pl.col("last_buy_ms").fill_null(0) > pl.col("exposed_ms"))
        .group_by("experiment_id", "variant")
        .agg(exposed=pl.len(), converted=pl.col("converted").sum())
        .sort("experiment_id", "variant")
    )
    out: dict = {
        e: {"true_relative_lift_on_purchase_given_cart": lift, "arms": {}} for e, lift in _behaviour.EXPERIMENTS
    }
    for row in arms.iter_rows(named=True):  # a handful of arms
        out[row["experiment_id"]]["arms"][row["variant"]] = {
            "exposed": row["exposed"],
            "converted": row["converted"],
            "conversion_rate": round(row["converted"] / row["exposed"], 6),
        }
    return out
