"""Items, shops and the live-stream schedule."""

import numpy as np
import polars as pl

from weir.generate import _reference as ref

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
# Local time is UTC+8 for the generated app; evening live streams run 19:00-23:00 local.
LOCAL_OFFSET_MS = 8 * HOUR_MS


def items(rng: np.random.Generator, n_items: int) -> pl.DataFrame:
    """One row per item: id, shop, category, list price and a Zipf-like popularity weight."""
    n_shops = max(5, n_items // 20)
    category_idx = rng.integers(0, len(ref.CATEGORIES), n_items)
    # Category price levels differ (snacks cheap, digital dear): log-normal around a per-category median.
    median_yuan = np.exp(rng.uniform(np.log(15), np.log(800), len(ref.CATEGORIES)))
    price_cents = (median_yuan[category_idx] * rng.lognormal(0, 0.5, n_items) * 100).astype(np.int64)
    popularity = 1.0 / (rng.permutation(n_items) + 10.0) ** 1.1
    return pl.DataFrame(
        {
            "item_id": "I" + pl.Series(np.arange(n_items) + 500_000).cast(pl.Utf8),
            "shop_id": "S" + pl.Series(rng.integers(0, n_shops, n_items) + 7_000).cast(pl.Utf8),
            "category": pl.Series(np.asarray(ref.CATEGORIES)[category_idx]),
            "price_cents": np.maximum(price_cents, 100),
            "popularity": popularity / popularity.sum(),
        }
    )


def live_streams(rng: np.random.Generator, hosts: np.ndarray, n_items: int, start_ms: int, days: int) -> pl.DataFrame:
    """One row per live stream: host (a KOL), featured item, start and end time (evenings)."""
    per_day = max(2, len(hosts) // 3)
    n = per_day * days
    day = np.repeat(np.arange(days), per_day)
    start_local_hour = rng.uniform(19, 22, n)
    begin = start_ms + day * DAY_MS + (start_local_hour * HOUR_MS).astype(np.int64) - LOCAL_OFFSET_MS
    length = rng.integers(45, 180, n) * 60_000
    return pl.DataFrame(
        {
            "live_idx": np.arange(n),
            "host_idx": rng.choice(hosts, n),
            "item_idx": rng.integers(0, n_items, n),
            "started_ms": begin,
            "ended_ms": begin + length,
        }
    )
