"""The events source: session events plus exposures, follows and reviews, with string ids."""

import numpy as np
import polars as pl

from weir.generate import _events, _people_extra
from weir.generate._behaviour import Behaviour


def iso(ms: pl.Expr) -> pl.Expr:
    """Epoch milliseconds -> ISO 8601 UTC text, as apps log it."""
    return pl.from_epoch(ms, time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")


def ident(prefix: str, idx: pl.Expr) -> pl.Expr:
    """Batch-scoped id text (`prefix` + number), null where idx is null or negative."""
    return pl.when(idx >= 0).then(pl.lit(prefix) + idx.cast(pl.Utf8))


def session_network(rng: np.random.Generator, beh: Behaviour, n_users: int) -> pl.DataFrame:
    """Device and IP per session: mostly the user's main device and home network."""
    plan = beh.plan
    user = plan["user_idx"].to_numpy()
    primary, second = _people_extra.primary_devices(rng, n_users)
    use_second = (second[user] >= 0) & (rng.random(plan.height) < 0.3)
    device = np.where(use_second, second[user], primary[user])
    device = np.where(plan["device_idx"].to_numpy() >= 0, plan["device_idx"].to_numpy(), device)
    home = _people_extra.user_networks(rng, n_users)
    n_devices = int(device.max()) + 1
    agents = _people_extra.user_agents(rng, n_devices)
    # Honest sessions use the home network or mobile data; ring accounts sit behind one
    # proxy subnet per ring device (a /24 that many accounts share).
    on_mobile = pl.Series(rng.random(plan.height) < 0.3)
    is_ring = pl.Series(plan["device_idx"].to_numpy() >= 0)  # only ring plans pin a device
    ring_octets = np.column_stack(
        [np.full(plan.height, 185), np.full(plan.height, 220), device % 256, rng.integers(1, 255, plan.height)]
    )
    ip = pl.select(
        pl.when(is_ring)
        .then(_people_extra.ipv4(ring_octets))
        .when(on_mobile)
        .then(_people_extra.mobile_ips(rng, plan.height))
        .otherwise(home.gather(user))
    ).to_series()
    return pl.DataFrame(
        {
            "session_idx": plan["session_idx"],
            "device_id": _people_extra.device_ids(device),
            "user_agent": agents.gather(device),
            "ip": ip,
        }
    )


def extra_events(beh: Behaviour, user_ids: pl.Series) -> pl.DataFrame:
    """Exposure events (first session of each assigned user) and follow events in the window."""
    first = (
        beh.plan.group_by("user_idx")
        .agg(pl.col("session_idx").sort_by("start_ms", "session_idx").first(), pl.col("start_ms").min())
        .sort("user_idx")
    )
    exposures = first.join(beh.assignments, on="user_idx").select(
        "session_idx", "user_idx", "experiment_id", "variant", event_type=pl.lit("exposure"), ts_ms=pl.col("start_ms")
    )
    follows = beh.follows.filter(pl.col("in_window")).select(
        session_idx=pl.lit(-1, pl.Int64),
        user_idx="follower_idx",
        event_type=pl.lit("follow"),
        ts_ms="followed_ms",
        target_user_id=pl.lit(user_ids).gather(pl.col("followee_idx")),
    )
    return pl.concat([exposures, follows], how="diagonal_relaxed")


def session_events(rng: np.random.Generator, beh: Behaviour) -> pl.DataFrame:
    """Expanded session events with the plan columns they need."""
    attrs = beh.plan.select(
        "session_idx",
        "user_idx",
        "channel",
        "item_idx",
        "live_idx",
        "via_share",
        "share_idx",
        "parent_share",
        "group_buy",
        "bargain",
        "is_coupon",
    )
    events = _events.expand(rng, beh.plan).join(attrs, on="session_idx", how="left")
    etype = pl.col("event_type")
    carries = etype.is_in(["purchase"])
    return events.with_columns(
        share_idx=pl.when(etype == "share").then("share_idx").otherwise("via_share"),
        parent_share=pl.when(etype == "share").then("parent_share").otherwise(-1),
        group_buy=pl.when((etype == "group_buy_join") | carries).then("group_buy").otherwise(-1),
        bargain=pl.when((etype == "bargain_help") | carries).then("bargain").otherwise(-1),
        coupon=pl.when(((etype == "coupon_claim") | carries) & pl.col("is_coupon")).then("item_idx").otherwise(-1),
        dwell_ms=pl.when(etype == "view")
        .then(pl.lit(1_000) + pl.col("ts_ms") % 59_000)
        .when(etype == "live_watch")
        .then(pl.lit(60_000) + pl.col("ts_ms") % 2_400_000),
    ).drop("via_share", "is_coupon")
