"""Fraud rings: many accounts behind one or two devices, fake-order bursts, bargain farms,
circular shares. Ring members are extra users appended after the honest ones."""

import numpy as np
import polars as pl

from weir.generate._campaigns import bargain_frames
from weir.generate._sessions import plan_frame

BURST_MS = 20 * 60_000  # fake orders of a ring land within 20 minutes


def ring_sizes(rng: np.random.Generator, n_users: int) -> np.ndarray:
    """Accounts per ring: at least 3 rings, about one per 3,000 honest users, 8-25 accounts each."""
    return rng.integers(8, 26, max(3, n_users // 3000))


def ring_plans(
    rng: np.random.Generator,
    sizes: np.ndarray,
    first_user: int,
    first_device: int,
    items: pl.DataFrame,
    start_ms: int,
    days: int,
    first_share: int,
    first_bargain: int,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Sessions of every ring, bargain rows, and ring membership (user_idx, ring, device_idx)."""
    shop_of_item = items["shop_id"].to_numpy()
    plans, bargain_tables, members = [], [], []
    next_user, next_device, next_share, next_bargain = first_user, first_device, first_share, first_bargain
    window = days * 86_400_000
    for ring, size in enumerate(sizes):  # a loop over rings (tens), never over rows
        users = np.arange(next_user, next_user + size)
        next_user += size
        n_dev = 1 + int(rng.random() < 0.5)
        device = next_device + rng.integers(0, n_dev, size)
        next_device += n_dev
        members.append(pl.DataFrame({"user_idx": users, "ring": np.full(size, ring), "device_idx": device}))
        shop_items = np.flatnonzero(shop_of_item == shop_of_item[rng.integers(0, len(shop_of_item))])
        burst = start_ms + rng.integers(0, window - BURST_MS)
        per_member = rng.integers(1, 4, size)
        buyer = np.repeat(np.arange(size), per_member)
        plans.append(
            plan_frame(
                user_idx=users[buyer],
                start_ms=burst + rng.integers(0, BURST_MS, len(buyer)),
                channel=np.full(len(buyer), "search"),
                item_idx=rng.choice(shop_items, len(buyer)),
                force_purchase=np.ones(len(buyer), bool),
                device_idx=device[buyer],
                kind=np.full(len(buyer), "fraud_order"),
            )
        )
        # Bargain farm: two members start bargains, the rest of the ring helps within minutes.
        starters = rng.choice(size, 2, replace=False)
        created = start_ms + rng.integers(0, max(window - 86_400_000, window // 2), 2)
        helpers = np.array([size - 1, size - 1])
        helper_users = np.concatenate([users[np.arange(size) != s] for s in starters])
        table, sessions = bargain_frames(
            rng,
            users[starters],
            rng.integers(0, items.height, 2),
            np.minimum(helpers, 8),
            created,
            helpers,
            None,
            start_ms + window,
            next_bargain,
            helper_users=helper_users,
            help_gap_mean_ms=180_000,
        )
        next_bargain += 2
        bargain_tables.append(table)
        member_device = dict(zip(users.tolist(), device.tolist(), strict=True))
        plans.append(sessions.with_columns(device_idx=pl.col("user_idx").replace_strict(member_device, default=-1)))
        # Circular shares: each member's share names the previous member's share as parent.
        c = int(rng.integers(3, 6))
        circle = rng.choice(size, c, replace=False)
        share = next_share + np.arange(c)
        next_share += c
        item = rng.integers(0, items.height)
        plans.append(
            plan_frame(
                user_idx=users[circle],
                start_ms=burst + BURST_MS + np.arange(c) * 60_000,
                channel=np.full(c, "share_link"),
                item_idx=np.full(c, item),
                via_share=np.roll(share, 1),
                is_share=np.ones(c, bool),
                share_idx=share,
                parent_share=np.roll(share, 1),
                device_idx=device[circle],
                kind=np.full(c, "fraud_share"),
            )
        )
    return pl.concat(plans), pl.concat(bargain_tables), pl.concat(members)
