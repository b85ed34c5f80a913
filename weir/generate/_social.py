"""Follower graph with heavy-tailed in-degree, so a few KOLs exist."""

import numpy as np
import polars as pl

DAY_MS = 86_400_000


def influence(rng: np.random.Generator, n_users: int) -> np.ndarray:
    """Per-user attractiveness as a followee: Pareto(1.1) gives a heavy tail of KOLs."""
    return rng.pareto(1.1, n_users) + 0.05


def follows(rng: np.random.Generator, weight: np.ndarray, start_ms: int, days: int) -> pl.DataFrame:
    """One row per (follower, followee) edge; about 5% of edges are made inside the window."""
    n = len(weight)
    out_degree = np.minimum(rng.geometric(1 / 12, n), 300)
    follower = np.repeat(np.arange(n, dtype=np.int64), out_degree)
    followee = rng.choice(n, size=len(follower), p=weight / weight.sum())
    edges = (
        pl.DataFrame({"follower_idx": follower, "followee_idx": followee})
        .filter(pl.col("follower_idx") != pl.col("followee_idx"))
        .unique(maintain_order=True)
    )
    m = edges.height
    in_window = rng.random(m) < 0.05
    followed_ms = np.where(
        in_window,
        start_ms + rng.integers(0, days * DAY_MS, m),
        start_ms - rng.integers(DAY_MS, 700 * DAY_MS, m),
    )
    return edges.with_columns(followed_ms=followed_ms, in_window=in_window)


# A continuation batch's new follows come from a pool of edges planned for the world, 30 days per
# block, each block from its own seed: the same day always gets the same edges, whichever batch
# asks, and a pair is followed once (the first time it is drawn).
BLOCK_DAYS = 30
NEW_EDGES_PER_DAY = 0.002  # share of the graph's edges made per day (a graph growing ~0.2% a day)


def new_follows(
    seed: int, weight: np.ndarray, graph: pl.DataFrame, origin_ms: int, start_ms: int, days: int
) -> pl.DataFrame:
    """Edges first made in [start_ms, start_ms + days) of a world whose graph at origin is `graph`."""
    n, end_ms = len(weight), start_ms + days * DAY_MS
    blocks = -(-(end_ms - origin_ms) // (BLOCK_DAYS * DAY_MS))
    frames = [graph.select("follower_idx", "followee_idx", followed_ms=pl.lit(-1, pl.Int64))]
    for block in range(blocks):  # one block a month of the world's life: a few
        rng = np.random.default_rng(np.random.SeedSequence([seed, origin_ms, 2, block]))
        k = int(rng.poisson(NEW_EDGES_PER_DAY * BLOCK_DAYS * graph.height))
        frames.append(
            pl.DataFrame(
                {
                    "follower_idx": rng.integers(0, n, k),
                    "followee_idx": rng.choice(n, size=k, p=weight / weight.sum()),
                    "followed_ms": origin_ms + block * BLOCK_DAYS * DAY_MS + rng.integers(0, BLOCK_DAYS * DAY_MS, k),
                }
            )
        )
    edges = pl.concat(frames).filter(pl.col("follower_idx") != pl.col("followee_idx"))
    edges = edges.unique(["follower_idx", "followee_idx"], keep="first", maintain_order=True)
    window = pl.col("followed_ms").is_between(start_ms, end_ms - 1)
    return edges.filter(window).sort("followed_ms", "follower_idx").with_columns(in_window=pl.lit(True))


def top_kols(weight: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k users with the highest influence weight, highest first."""
    return np.argsort(-weight, kind="stable")[:k]
