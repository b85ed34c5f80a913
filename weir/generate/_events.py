"""Turn session plans into event rows and purchase events into orders (all vectorised)."""

import numpy as np
import polars as pl

from weir.generate._cascades import SHARE_DELAY_MS

VIEW_GAP_MS = 40_000
# Order of actions inside a session, after the views; offsets are rank * STAGE_GAP_MS.
STAGES = {
    "live_watch": 0,
    "like": 1,
    "comment": 2,
    "coupon_claim": 3,
    "group_buy_join": 4,
    "bargain_help": 4,
    "add_to_cart": 5,
    "purchase": 6,
}
STAGE_GAP_MS = 25_000
# Actions that open the session: a live stream starts playing, and a join or help link is
# acted on at once, so the app's acceptance time (checked against expiry) is the event time.
AT_SESSION_START = {"live_watch", "group_buy_join", "bargain_help"}


def _stage(plan: pl.DataFrame, mask: pl.Expr, event_type: str) -> pl.DataFrame:
    offset = pl.col("n_view") * VIEW_GAP_MS + STAGES[event_type] * STAGE_GAP_MS
    if event_type in AT_SESSION_START:
        offset = pl.lit(0, pl.Int64)
    return plan.filter(mask).select("session_idx", event_type=pl.lit(event_type), ts_ms=pl.col("start_ms") + offset)


def expand(rng: np.random.Generator, plan: pl.DataFrame) -> pl.DataFrame:
    """One row per event with session_idx, event_type and ts_ms; attributes are joined later."""
    views = plan.select("session_idx", "start_ms", "n_view").filter(pl.col("n_view") > 0)
    reps = views["n_view"].to_numpy()
    session = np.repeat(views["session_idx"].to_numpy(), reps)
    k = np.arange(len(session)) - np.repeat(np.cumsum(reps) - reps, reps)
    view_ms = (
        np.repeat(views["start_ms"].to_numpy(), reps)
        + k * VIEW_GAP_MS
        + rng.integers(0, VIEW_GAP_MS // 2, len(session))
    )
    parts = [
        pl.DataFrame({"session_idx": session, "event_type": "view", "ts_ms": view_ms}),
        _stage(plan, pl.col("live_idx") >= 0, "live_watch"),
        _stage(plan, pl.col("is_like"), "like"),
        _stage(plan, pl.col("is_comment"), "comment"),
        _stage(plan, pl.col("is_coupon"), "coupon_claim"),
        _stage(plan, pl.col("group_buy") >= 0, "group_buy_join"),
        _stage(plan, pl.col("kind") == "bargain_help", "bargain_help"),
        _stage(plan, pl.col("is_cart"), "add_to_cart"),
        _stage(plan, pl.col("is_purchase"), "purchase"),
        plan.filter(pl.col("is_share")).select(
            "session_idx", event_type=pl.lit("share"), ts_ms=pl.col("start_ms") + SHARE_DELAY_MS
        ),
    ]
    return pl.concat(parts, how="vertical_relaxed")


def orders(rng: np.random.Generator, purchases: pl.DataFrame, price_cents: np.ndarray) -> pl.DataFrame:
    """One order per purchase event: quantity, amount after coupon, status."""
    n = purchases.height
    quantity = np.minimum(rng.geometric(0.7, n), 9)
    item = purchases["item_idx"].to_numpy()
    # A claimed coupon takes 10% off; bargains end at a steep discount (that is the point of them).
    discount = np.where(purchases["is_coupon"].to_numpy(), 0.9, 1.0)
    discount = np.where(purchases["bargain"].to_numpy() >= 0, 0.3, discount)
    amount = (price_cents[item] * quantity * discount).astype(np.int64)
    return purchases.with_columns(quantity=quantity, amount_cents=amount)
