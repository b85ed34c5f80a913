"""Session plans: who is active when, on which channel, looking at which item.

A plan row is one session; `_events.expand` turns plans into event rows. Keeping the plan
as one frame lets cascades, group buys and bargains add sessions with the same shape.
"""

import numpy as np
import polars as pl

from weir.generate._catalog import DAY_MS, HOUR_MS, LOCAL_OFFSET_MS

# Relative session starts per local hour: a lunch peak and a larger evening peak.
DIURNAL = np.array([2, 1, 0.6, 0.4, 0.3, 0.4, 1, 2, 3, 3.5, 3.5, 4, 5, 4.5, 3.5, 3.5, 3.5, 4, 5, 6, 7, 7.5, 6.5, 4])
ORGANIC_CHANNELS = ["feed", "search", "live", "group_chat"]
ORGANIC_CHANNEL_P = [0.50, 0.20, 0.18, 0.12]
# P(add_to_cart | session) and P(purchase | cart) per channel.
CART_P = {"feed": 0.10, "search": 0.22, "live": 0.16, "group_chat": 0.14, "share_link": 0.18}
BUY_GIVEN_CART_P = 0.38

PLAN_SCHEMA = {
    "user_idx": pl.Int64,
    "start_ms": pl.Int64,
    "channel": pl.Utf8,
    "item_idx": pl.Int64,
    "live_idx": pl.Int64,
    "via_share": pl.Int64,
    "n_view": pl.Int64,
    "is_share": pl.Boolean,
    "share_idx": pl.Int64,
    "parent_share": pl.Int64,
    "group_buy": pl.Int64,
    "bargain": pl.Int64,
    "force_purchase": pl.Boolean,
    "device_idx": pl.Int64,
    "kind": pl.Utf8,
}


def empty_plan() -> pl.DataFrame:
    return pl.DataFrame(schema=PLAN_SCHEMA)


def plan_frame(**columns: object) -> pl.DataFrame:
    """A plan with the given columns and defaults (-1 / False / 'organic') for the rest."""
    n = len(next(iter(columns.values())))  # type: ignore[arg-type]
    defaults = {
        "live_idx": -1,
        "via_share": -1,
        "n_view": 1,
        "is_share": False,
        "share_idx": -1,
        "parent_share": -1,
        "group_buy": -1,
        "bargain": -1,
        "force_purchase": False,
        "device_idx": -1,
        "kind": "organic",
        "item_idx": -1,
    }
    data = {name: columns.get(name, np.full(n, defaults.get(name))) for name in PLAN_SCHEMA}
    return pl.DataFrame(data).cast(PLAN_SCHEMA)  # type: ignore[arg-type]


def activity(rng: np.random.Generator, n_users: int) -> np.ndarray:
    """Mean sessions per day per user: log-normal, so most users are light and a few heavy."""
    return rng.lognormal(-0.7, 1.0, n_users)


def organic_sessions(
    rng: np.random.Generator,
    rate: np.ndarray,
    share_p: np.ndarray,
    popularity: np.ndarray,
    streams: pl.DataFrame,
    start_ms: int,
    days: int,
) -> pl.DataFrame:
    """Sessions users start on their own (feed, search, live, group chat)."""
    counts = rng.poisson(rate * days)
    user = np.repeat(np.arange(len(rate), dtype=np.int64), counts)
    n = len(user)
    day = rng.integers(0, days, n)
    hour = rng.choice(24, n, p=DIURNAL / DIURNAL.sum())
    start = start_ms + day * DAY_MS + hour * HOUR_MS - LOCAL_OFFSET_MS + rng.integers(0, HOUR_MS, n)
    start = np.clip(start, start_ms, start_ms + days * DAY_MS - 1)
    channel = np.asarray(ORGANIC_CHANNELS)[rng.choice(4, n, p=ORGANIC_CHANNEL_P)]
    item = rng.choice(len(popularity), n, p=popularity)
    # Live sessions join a stream of the same day, at a time inside the stream.
    live = channel == "live"
    stream = rng.integers(0, streams.height, n)
    s_begin = streams["started_ms"].to_numpy()[stream]
    s_end = streams["ended_ms"].to_numpy()[stream]
    start = np.where(live, s_begin + (rng.random(n) * (s_end - s_begin)).astype(np.int64), start)
    item = np.where(live, streams["item_idx"].to_numpy()[stream], item)
    return plan_frame(
        user_idx=user,
        start_ms=start,
        channel=channel,
        item_idx=item,
        live_idx=np.where(live, stream, -1),
        n_view=1 + rng.geometric(0.35, n) - 1,
        is_share=rng.random(n) < share_p[user],
    )


def cart_and_purchase(rng: np.random.Generator, plan: pl.DataFrame, lift: np.ndarray) -> pl.DataFrame:
    """Decide add-to-cart and purchase per session; `lift` multiplies each user's buy rate."""
    n = plan.height
    cart_p = plan["channel"].replace_strict(CART_P, default=0.1).to_numpy()
    user = plan["user_idx"].to_numpy()
    is_cart = (rng.random(n) < cart_p) & plan["kind"].is_in(["organic", "cascade"]).to_numpy()
    buy = is_cart & (rng.random(n) < BUY_GIVEN_CART_P * lift[user])
    return plan.with_columns(
        is_cart=is_cart,
        is_purchase=buy | plan["force_purchase"].to_numpy(),
        is_like=rng.random(n) < 0.2,
        is_comment=rng.random(n) < 0.05,
        is_coupon=rng.random(n) < 0.06,
    )
