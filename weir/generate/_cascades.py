"""Share cascades: a share brings clicks, some clickers share again (referral fission)."""

import numpy as np
import polars as pl

from weir.generate._sessions import plan_frame

MAX_DEPTH = 8
SHARE_DELAY_MS = 150_000  # a share happens a couple of minutes into the session
RESHARE_P = 0.22  # P(a clicker shares again); with ~2 clicks per share the cascade dies out
CLICK_DELAY_MEAN_MS = 2 * 3_600_000


def root_click_rate(followers: np.ndarray) -> np.ndarray:
    """Expected clicks on a first-level share grows sub-linearly with the sharer's audience."""
    return np.minimum(0.8 + 0.15 * followers**0.6, 300.0)


def grow(
    rng: np.random.Generator,
    organic: pl.DataFrame,
    followers: np.ndarray,
    click_weight: np.ndarray,
    end_ms: int,
) -> pl.DataFrame:
    """Number the organic shares and add cascade sessions (channel share_link), level by level.

    Returns the organic plan (with share ids) followed by all cascade sessions.
    """
    organic = organic.with_columns(
        share_idx=pl.when(pl.col("is_share")).then(pl.col("is_share").cum_sum() - 1).otherwise(-1)
    )
    roots = organic.filter(pl.col("is_share"))
    share_idx = roots["share_idx"].to_numpy()
    share_ms = roots["start_ms"].to_numpy() + SHARE_DELAY_MS
    sharer = roots["user_idx"].to_numpy()
    item = roots["item_idx"].to_numpy()
    rate = root_click_rate(followers[sharer])
    next_share = int(share_idx.max()) + 1 if len(share_idx) else 0
    p_click = click_weight / click_weight.sum()
    levels = [organic]
    for depth in range(MAX_DEPTH):
        clicks = rng.poisson(rate)
        if clicks.sum() == 0:
            break
        parent = np.repeat(np.arange(len(share_idx)), clicks)
        n = len(parent)
        start = share_ms[parent] + rng.exponential(CLICK_DELAY_MEAN_MS, n).astype(np.int64)
        keep = start < end_ms
        parent, start = parent[keep], start[keep]
        n = len(parent)
        clicker = rng.choice(len(p_click), n, p=p_click)
        reshare = (rng.random(n) < RESHARE_P * 0.85**depth) & (clicker != sharer[parent])
        new_idx = np.where(reshare, next_share + np.cumsum(reshare) - 1, -1)
        next_share += int(reshare.sum())
        levels.append(
            plan_frame(
                user_idx=clicker,
                start_ms=start,
                channel=np.full(n, "share_link"),
                item_idx=item[parent],
                via_share=share_idx[parent],
                n_view=1 + rng.geometric(0.5, n) - 1,
                is_share=reshare,
                share_idx=new_idx,
                parent_share=share_idx[parent],
                kind=np.full(n, "cascade"),
            )
        )
        share_idx, sharer, item = new_idx[reshare], clicker[reshare], item[parent][reshare]
        share_ms = start[reshare] + SHARE_DELAY_MS
        rate = np.full(len(share_idx), 1.6)
    return pl.concat(levels)
