"""Assemble every session plan: organic, cascades, group buys, bargains, fraud rings."""

from dataclasses import dataclass

import numpy as np
import polars as pl

from weir.generate import _campaigns, _cascades, _catalog, _fraud, _sessions, _social

# (experiment id, true relative lift on P(purchase | cart) for the treatment arm).
# One real effect and one null effect, so the A/B mart can be checked both ways.
EXPERIMENTS = [("exp_friends_badge", 0.25), ("exp_checkout_copy", 0.0)]


@dataclass(frozen=True, slots=True)
class Behaviour:
    plan: pl.DataFrame  # one row per session, session_idx = row number
    weight: np.ndarray
    followers: np.ndarray
    follows: pl.DataFrame  # edges of this batch: the whole graph in a world's first batch, new ones after
    graph: pl.DataFrame  # follower_idx, followee_idx of the world's graph (social proof reads it)
    items: pl.DataFrame
    streams: pl.DataFrame
    group_buys: pl.DataFrame
    bargains: pl.DataFrame
    ring_members: pl.DataFrame
    assignments: pl.DataFrame  # user_idx, experiment_id, variant
    n_honest: int


def _assign(rng: np.random.Generator, n_users: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Assign every user to an arm of each experiment; return arms and per-user buy-rate lift."""
    frames, lift = [], np.ones(n_users)
    for experiment_id, effect in EXPERIMENTS:  # two experiments, not rows
        treated = rng.random(n_users) < 0.5
        lift *= np.where(treated, 1 + effect, 1.0)
        frames.append(
            pl.DataFrame(
                {
                    "user_idx": np.arange(n_users),
                    "experiment_id": experiment_id,
                    "variant": np.where(treated, "treatment", "control"),
                }
            )
        )
    return pl.concat(frames), lift


def build(
    rng_seq: list[np.random.Generator], n_honest: int, start_ms: int, days: int, world: tuple[int, int] | None = None
) -> Behaviour:
    """Run the whole behaviour model for n_honest users plus the fraud rings.

    `world` is (seed, origin_ms) when the batch continues a world that began at origin_ms: its
    follows are then the edges first made inside this batch's window."""
    r = iter(rng_seq)
    end_ms = start_ms + days * _catalog.DAY_MS
    sizes = _fraud.ring_sizes(next(r), n_honest)
    n_users = n_honest + int(sizes.sum())
    weight = np.concatenate([_social.influence(next(r), n_honest), np.full(int(sizes.sum()), 0.01)])
    follows = _social.follows(next(r), weight, start_ms, days)  # the pairs do not depend on the window
    graph = follows.select("follower_idx", "followee_idx")
    if world is not None:
        follows = _social.new_follows(world[0], weight, graph, world[1], start_ms, days)
    followers = np.bincount(graph["followee_idx"].to_numpy(), minlength=n_users)
    items = _catalog.items(next(r), max(300, n_honest // 4))
    hosts = _social.top_kols(weight[:n_honest], max(5, n_honest // 200))
    streams = _catalog.live_streams(next(r), hosts, items.height, start_ms, days)
    rate = _sessions.activity(next(r), n_users)
    rate[n_honest:] = 0.05  # ring accounts are dormant apart from their fraud
    share_p = np.clip(0.02 + 0.03 * np.log1p(followers), 0, 0.5)
    organic = _sessions.organic_sessions(
        next(r), rate, share_p, items["popularity"].to_numpy(), streams, start_ms, days
    )
    plan = _cascades.grow(next(r), organic, followers, rate, end_ms)
    assignments, lift = _assign(next(r), n_users)
    rng = next(r)
    plan = _sessions.cart_and_purchase(rng, plan, lift)
    plan, group_buys, joins = _campaigns.group_buys(rng, plan, rate, end_ms)
    bargains, bargain_sessions = _campaigns.bargains(rng, plan, rate, end_ms)
    fraud_plan, fraud_bargains, members = _fraud.ring_plans(
        rng,
        sizes,
        n_honest,
        2 * n_users,
        items,
        start_ms,
        days,
        first_share=int(plan["share_idx"].max() or 0) + 1,
        first_bargain=bargains.height,
    )
    extra = _sessions.cart_and_purchase(rng, pl.concat([joins, bargain_sessions, fraud_plan]), lift)
    plan = pl.concat([plan, extra], how="diagonal_relaxed").with_row_index("session_idx")
    plan = plan.with_columns(pl.col("session_idx").cast(pl.Int64))
    return Behaviour(
        plan,
        weight,
        followers,
        follows,
        graph,
        items,
        streams,
        group_buys,
        pl.concat([bargains, fraud_bargains]),
        members,
        assignments,
        n_honest,
    )
