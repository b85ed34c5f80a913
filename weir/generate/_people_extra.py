"""Devices, IP addresses and user agents: the technical identifiers behind each session."""

import numpy as np
import polars as pl

from weir.generate import _reference as ref

HOUSEHOLD_SHARE = 0.03  # honest users who share their main device with another user
SECOND_DEVICE_SHARE = 0.25


def device_ids(idx: np.ndarray) -> pl.Series:
    """Stable device ids: an affine bijection mod 10^10 hides the running index."""
    scrambled = (idx.astype(np.int64) * 2_654_435_761 + 1_234_567) % 10**10
    return "D" + pl.Series(scrambled).cast(pl.Utf8).str.zfill(10)


def ipv4(octets: np.ndarray) -> pl.Series:
    cols = [pl.Series(octets[:, i]).cast(pl.Utf8) for i in range(4)]
    return cols[0] + "." + cols[1] + "." + cols[2] + "." + cols[3]


def ipv6(rng: np.random.Generator, n: int) -> pl.Series:
    # polars has no int->hex cast, so format the random groups through a 64 Ki lookup table.
    table = np.array([format(i, "x") for i in range(65536)])
    groups = table[rng.integers(0, 65536, (n, 3))]
    out = pl.Series(np.where(rng.random(n) < 0.5, "240e:", "2408:"))
    for i in range(3):  # three columns, not rows
        out = out + pl.Series(groups[:, i]) + ":"
    return out + ":1"


def user_networks(rng: np.random.Generator, n_users: int) -> pl.Series:
    """Each user's home address: mostly IPv4 (Chinese and international ranges), 12% IPv6."""
    octets = np.column_stack(
        [
            rng.choice([36, 58, 101, 112, 117, 183, 203, 81, 92], n_users),
            rng.integers(0, 256, (n_users, 2)),
            rng.integers(1, 255, n_users),
        ]
    )
    v4 = ipv4(octets)
    v6 = ipv6(rng, n_users)
    use_v6 = pl.Series(rng.random(n_users) < 0.12)
    return pl.select(pl.when(use_v6).then(v6).otherwise(v4)).to_series()


def mobile_ips(rng: np.random.Generator, n: int) -> pl.Series:
    """Carrier-grade NAT addresses used when a session is on mobile data."""
    octets = np.column_stack(
        [rng.choice([39, 106, 223, 120], n), rng.integers(0, 256, (n, 2)), rng.integers(1, 255, n)]
    )
    return ipv4(octets)


def primary_devices(rng: np.random.Generator, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """Main device per user (some households share one) and an optional second device (-1)."""
    primary = np.arange(n_users)
    shares = rng.random(n_users) < HOUSEHOLD_SHARE
    primary[shares] = rng.integers(0, n_users, int(shares.sum()))
    has_second = rng.random(n_users) < SECOND_DEVICE_SHARE
    second = np.where(has_second, n_users + np.cumsum(has_second) - 1, -1)
    return primary, second


def user_agents(rng: np.random.Generator, n_devices: int) -> pl.Series:
    return pl.Series(np.asarray(ref.USER_AGENTS)[rng.integers(0, len(ref.USER_AGENTS), n_devices)])
