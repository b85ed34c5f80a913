"""Generator throughput against the ceiling: polars writing the same rows of random data.

Usage: python benchmarks/bench_generate.py [--events 10000000]
Prints events/s for `weir generate` (all twelve sources, JSONL events) and the ratio to
polars writing the same number of random rows of the events schema as NDJSON (the ceiling).
Target ratio >= 0.33.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from weir.generate import GenerateConfig, generate
from weir.generate._world import build

EVENTS_PER_USER_DAY = 3.7  # measured on the default model (30 days); sizes the run


def ceiling(n: int, shape: pl.DataFrame, out: Path) -> float:
    """Seconds for polars alone to make and write n random rows shaped like `shape`.

    Same columns, types, null rates and median text lengths as the generated events, so the
    ceiling writes the same amount of JSON as Weir does.
    """
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    columns = {}
    for name, dtype in shape.schema.items():  # columns, not rows
        values = pl.Series(rng.integers(0, 10**9, n))
        if dtype == pl.Utf8:
            width = int(shape[name].str.len_chars().median() or 1)
            values = pl.select(pl.lit("x" * max(0, width - 9)) + pl.lit(values).cast(pl.Utf8)).to_series()
        null_rate = shape[name].null_count() / shape.height
        columns[name] = pl.select(pl.when(pl.lit(rng.random(n) >= null_rate)).then(pl.lit(values))).to_series()
    pl.DataFrame(columns).write_ndjson(out / "ceiling.jsonl")
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
        sample = GenerateConfig(users=500, days=3)  # warm-up, and the shape of an events row
        shape = build(sample.seed, sample.users, sample.start_ms, sample.days, "w").sources["events"]
        weir_times, n_events = [], 0
        for _ in range(args.repeat):
            seconds, n_events = weir_run(args.events, out / "weir")
            weir_times.append(seconds)
        ceiling_s = min(ceiling(n_events, shape, out) for _ in range(args.repeat))
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
