"""Generator throughput against the ceiling: polars writing the same rows of random data.

Usage: python benchmarks/bench_generate.py [--events 10000000]
Prints events/s for `weir generate` (all sources, JSONL events) and the ratio to polars
writing the same number of random event rows as NDJSON. Target ratio >= 0.33.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from weir.generate import GenerateConfig, generate

EVENTS_PER_USER_DAY = 4.1  # measured on the default model; used to size the run


def ceiling(n: int, out: Path) -> float:
    """Seconds for polars alone to make and write n random rows shaped like events."""
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({
        "event_id": pl.Series(np.arange(n)).cast(pl.Utf8),
        "event_type": np.asarray(["view", "like", "share", "purchase"])[rng.integers(0, 4, n)],
        "ts": pl.from_epoch(pl.Series(rng.integers(1_790_000_000_000, 1_791_000_000_000, n)), "ms")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        "user_id": pl.Series(rng.integers(0, 10**7, n)).cast(pl.Utf8),
        "device_id": pl.Series(rng.integers(0, 10**10, n)).cast(pl.Utf8),
        "session_id": pl.Series(rng.integers(0, 10**8, n)).cast(pl.Utf8),
        "channel": np.asarray(["feed", "live", "search"])[rng.integers(0, 3, n)],
        "ip": pl.Series(rng.integers(0, 2**32, n)).cast(pl.Utf8),
        "item_id": pl.Series(rng.integers(0, 10**6, n)).cast(pl.Utf8),
        "dwell_ms": rng.integers(0, 60_000, n),
    })
    frame.write_ndjson(out / "ceiling.jsonl")
    return time.perf_counter() - start


def weir_run(events: int, out: Path) -> tuple[float, int]:
    days = 30
    users = int(events / (EVENTS_PER_USER_DAY * days))
    start = time.perf_counter()
    result = generate(GenerateConfig(users=users, days=days, seed=1), out)
    return time.perf_counter() - start, result.rows["events"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="target number of events")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        ceiling(10_000, out)  # warm-up
        weir_times, n_events = [], 0
        for _ in range(args.repeat):
            seconds, n_events = weir_run(args.events, out / "weir")
            weir_times.append(seconds)
        ceiling_s = min(ceiling(n_events, out) for _ in range(args.repeat))
    weir_s = min(weir_times)
    print(f"{'run':<28}{'events':>12}{'seconds':>10}{'events/s':>14}")
    print(f"{'weir generate (all sources)':<28}{n_events:>12,}{weir_s:>10.1f}{n_events / weir_s:>14,.0f}")
    print(f"{'polars random rows (ceiling)':<28}{n_events:>12,}{ceiling_s:>10.1f}{n_events / ceiling_s:>14,.0f}")
    print(f"generate events: {n_events} events")
    print(f"generate throughput: {n_events / weir_s:.0f} events/s")
    print(f"ceiling throughput: {n_events / ceiling_s:.0f} events/s")
    print(f"ratio generate vs polars random ceiling: {ceiling_s / weir_s:.2f}")


if __name__ == "__main__":
    main()
