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


def top_kols(weight: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k users with the highest influence weight, highest first."""
    return np.argsort(-weight, kind="stable")[:k]
