"""Continue a world: the next batch of the world whose latest batch is in the landing zone.

The landed manifests are the state: each names its world's seed, size and origin, so the
next batch follows from them and the seed alone (no other state file to keep in step)."""

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from weir.errors import LandingError
from weir.generate import _people

DAY_MS = 86_400_000
# New sign-ups per day, as a share of the world's users: the world's sign-ups spread over three
# years (~0.09% a day), and a growing app signs up a few times that now (2,000 users: ~5 a day).
SIGNUP_SHARE_PER_DAY = 1 / 365


def latest_manifest(landing: Path, seed: int | None = None) -> dict | None:
    """The manifest of the landed batch that ends last (of the world of `seed`, if given)."""
    best, best_key = None, None
    for path in sorted((landing / "_manifests").glob("*/manifest.json")):  # one per batch: few
        manifest = json.loads(path.read_text())
        config = manifest["config"]
        if seed is not None and config["seed"] != seed:
            continue
        start = date.fromisoformat(config["start"])
        key = (start + timedelta(days=config["days"]), start)
        if best_key is None or key > best_key:
            best, best_key = manifest, key
    return best


def next_window(manifest: dict, start: date | None = None) -> tuple[date, date]:
    """(origin, start) of the batch after `manifest`'s; refuse a start inside a landed window."""
    config = manifest["config"]
    previous = date.fromisoformat(config["start"])
    end = previous + timedelta(days=config["days"])
    origin = date.fromisoformat(config.get("origin") or config["start"])
    if start is not None and start < end:
        raise LandingError(
            f"--start {start} falls inside landed batch {manifest['batch_id']} (up to {end - timedelta(days=1)}); "
            f"a continuation starts on {end} or later."
        )
    return origin, start or end


def newcomers(seed: int, n_users: int, start_ms: int, days: int, tag: str) -> pl.DataFrame:
    """Users who sign up inside a continuation's window (a Poisson trickle), as `_people.users`
    makes them; ids carry the seed and the window (`tag`), so no batch or seed repeats one."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, start_ms, 7]))
    n = int(rng.poisson(n_users * days * SIGNUP_SHARE_PER_DAY))
    people = _people.users(rng, n, start_ms, f"U{seed}-N{tag}-")
    return people.with_columns(signup_ms=pl.Series(start_ms + rng.integers(0, days * DAY_MS, n), dtype=pl.Int64))
