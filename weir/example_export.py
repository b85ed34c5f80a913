"""A made-up export in the Taobao user-behaviour layout, for trying `weir ingest --mapping`.

The README's "Bring your own data" walk-through needs a file a clone has: the public Taobao
sample is not in the repo, so this writes one with the same layout (no header; user_id,
item_id, category_id, behavior_type, timestamp in Unix seconds) and a similar mix of
behaviours (about 90% views). Every value is invented; same seed, same bytes.
"""

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

BEHAVIOURS = ("pv", "cart", "fav", "buy")
WEIGHTS = (0.90, 0.055, 0.022, 0.023)  # the public sample: pv 8,520 · cart 518 · fav 203 · buy 195


def write_taobao_example(
    path: Path, users: int = 200, days: int = 9, seed: int = 7, start: datetime = datetime(2017, 11, 25, tzinfo=UTC)
) -> int:
    """Write the export to `path`; return its row count. Each user's rows are contiguous and in
    time order, as in the original."""
    rng = np.random.default_rng(seed)
    per_user = rng.integers(20, 150, size=users)
    user = np.repeat(np.arange(1_000_001, 1_000_001 + users), per_user)
    rows = len(user)
    first = int(start.timestamp())
    ts = first + rng.integers(0, days * 86_400, size=rows)
    category = rng.integers(1, 60, size=rows) * 48_611
    frame = pl.DataFrame(
        {
            "user_id": user,
            "item_id": rng.integers(1, 5_000_000, size=rows),
            "category_id": category,
            "behavior_type": np.asarray(BEHAVIOURS)[rng.choice(len(BEHAVIOURS), size=rows, p=WEIGHTS)],
            "timestamp": ts,
        }
    ).sort("user_id", "timestamp")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, include_header=False)
    return rows
