"""Group buys (fill or expire) and bargain-help chains (complete or lapse)."""

import numpy as np
import polars as pl

from weir.generate._sessions import plan_frame

CAMPAIGN_TTL_MS = 24 * 3_600_000  # both campaign kinds expire 24 hours after they start
GROUP_INIT_P = {"group_chat": 0.45}  # P(a purchase starts a group buy) by channel
GROUP_INIT_DEFAULT_P = 0.10
BARGAIN_START_P = 0.18  # P(a cart without purchase starts a bargain)


def _pick_users(rng: np.random.Generator, weight: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(len(weight), n, p=weight / weight.sum())


def group_buys(
    rng: np.random.Generator, plan: pl.DataFrame, user_weight: np.ndarray, end_ms: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Start group buys from purchases; add join sessions. Returns (plan, group_buys, joins)."""
    init_p = plan["channel"].replace_strict(GROUP_INIT_P, default=GROUP_INIT_DEFAULT_P).to_numpy()
    starts = plan["is_purchase"].to_numpy() & (rng.random(plan.height) < init_p)
    group = np.where(starts, np.cumsum(starts) - 1, -1)
    plan = plan.with_columns(group_buy=group)
    init = plan.filter(pl.col("group_buy") >= 0)
    g = init.height
    required = rng.integers(2, 6, g)
    created = init["start_ms"].to_numpy()
    # Invitees arrive over hours; some groups draw too few before the 24 h expiry.
    invitees = rng.poisson(required * rng.uniform(0.4, 1.6, g))
    gid = np.repeat(np.arange(g), invitees)
    join_ms = created[gid] + rng.exponential(7 * 3_600_000, len(gid)).astype(np.int64)
    in_time = (join_ms < created[gid] + CAMPAIGN_TTL_MS) & (join_ms < end_ms)
    gid, join_ms = gid[in_time], join_ms[in_time]
    # Joins beyond the required size are refused by the app: keep the first (required - 1).
    order = np.lexsort((join_ms, gid))
    gid, join_ms = gid[order], join_ms[order]
    rank = np.arange(len(gid)) - np.searchsorted(gid, gid)
    accepted = rank < required[gid] - 1
    gid, join_ms = gid[accepted], join_ms[accepted]
    joined = np.bincount(gid, minlength=g) + 1
    filled = joined >= required
    table = pl.DataFrame(
        {
            "group_buy_idx": np.arange(g),
            "initiator_idx": init["user_idx"].to_numpy(),
            "item_idx": init["item_idx"].to_numpy(),
            "required_size": required,
            "created_ms": created,
            "expires_ms": created + CAMPAIGN_TTL_MS,
            "is_filled": filled,
            "filled_ms": np.full(g, -1),
        }
    )
    last_join = (
        pl.DataFrame({"group_buy_idx": gid, "join_ms": join_ms}).group_by("group_buy_idx").agg(pl.col("join_ms").max())
    )
    table = (
        table.join(last_join, on="group_buy_idx", how="left")
        .with_columns(filled_ms=pl.when(pl.col("is_filled")).then(pl.col("join_ms")).otherwise(None))
        .drop("join_ms")
        .sort("group_buy_idx")
    )
    joins = plan_frame(
        user_idx=_pick_users(rng, user_weight, len(gid)),
        start_ms=join_ms,
        channel=np.full(len(gid), "group_chat"),
        item_idx=init["item_idx"].to_numpy()[gid],
        group_buy=gid,
        force_purchase=np.ones(len(gid), bool),
        kind=np.full(len(gid), "group_join"),
    )
    return plan, table, joins


def bargains(
    rng: np.random.Generator,
    plan: pl.DataFrame,
    user_weight: np.ndarray,
    end_ms: int,
    first_idx: int = 0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Start bargains from abandoned carts; add helper and completion sessions."""
    starts = (plan["is_cart"] & ~plan["is_purchase"]).to_numpy() & (rng.random(plan.height) < BARGAIN_START_P)
    init = plan.filter(starts)
    b = init.height
    needed = rng.integers(5, 26, b)
    created = init["start_ms"].to_numpy() + 60_000
    helpers = rng.poisson(needed * rng.uniform(0.3, 1.6, b))
    return bargain_frames(
        rng,
        init["user_idx"].to_numpy(),
        init["item_idx"].to_numpy(),
        needed,
        created,
        helpers,
        user_weight,
        end_ms,
        first_idx,
    )


def bargain_frames(
    rng: np.random.Generator,
    initiator: np.ndarray,
    item: np.ndarray,
    needed: np.ndarray,
    created: np.ndarray,
    helpers: np.ndarray,
    user_weight: np.ndarray | None,
    end_ms: int,
    first_idx: int,
    helper_users: np.ndarray | None = None,
    help_gap_mean_ms: float = 3_600_000,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bargain table plus helper and completion sessions; shared with the bargain farms."""
    b = len(initiator)
    bid = np.repeat(np.arange(b), helpers)
    help_ms = created[bid] + rng.exponential(help_gap_mean_ms, len(bid)).astype(np.int64)
    keep = (help_ms < created[bid] + CAMPAIGN_TTL_MS) & (help_ms < end_ms)
    bid, help_ms = bid[keep], help_ms[keep]
    if helper_users is None:
        helper = _pick_users(rng, user_weight, len(bid))
    else:
        helper = helper_users[keep]
    order = np.lexsort((help_ms, bid))
    bid, help_ms, helper = bid[order], help_ms[order], helper[order]
    rank = np.arange(len(bid)) - np.searchsorted(bid, bid)
    done_at = rank == needed[bid] - 1
    completed_ms = np.full(b, -1, dtype=np.int64)
    completed_ms[bid[done_at]] = help_ms[done_at]
    table = pl.DataFrame(
        {
            "bargain_idx": np.arange(b) + first_idx,
            "initiator_idx": initiator,
            "item_idx": item,
            "helps_needed": needed,
            "created_ms": created,
            "expires_ms": created + CAMPAIGN_TTL_MS,
            "completed_ms": completed_ms,
        }
    ).with_columns(pl.col("completed_ms").replace(-1, None))
    help_sessions = plan_frame(
        user_idx=helper,
        start_ms=help_ms,
        channel=np.full(len(bid), "group_chat"),
        item_idx=item[bid],
        bargain=bid + first_idx,
        n_view=np.zeros(len(bid), np.int64),
        kind=np.full(len(bid), "bargain_help"),
    )
    done = completed_ms >= 0
    buy_sessions = plan_frame(
        user_idx=initiator[done],
        start_ms=completed_ms[done] + 30_000,
        channel=np.full(int(done.sum()), "group_chat"),
        item_idx=item[done],
        bargain=np.arange(b)[done] + first_idx,
        n_view=np.zeros(int(done.sum()), np.int64),
        force_purchase=np.ones(int(done.sum()), bool),
        kind=np.full(int(done.sum()), "bargain_buy"),
    )
    return table, pl.concat([help_sessions, buy_sessions])
