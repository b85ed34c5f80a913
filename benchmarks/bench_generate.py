"""Generator throughput against the ceiling: polars writing the same rows of random data.

Usage: python benchmarks/bench_generate.py [--events 10000000] [--repeat 3]
Prints events/s for `weir generate` (all twelve sources, JSONL events) and the ratio to
polars writing the same number of random rows of the events schema as NDJSON (the ceiling).
Target ratio >= 0.33. Both run --repeat times in alternating order (a small run warms up
imports first); the ratio line is the median of the per-repeat ratios.
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from _timing import add_repeat, alternate, ratio_lines, summary

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


def weir_run(events: int, out: Path) -> int:
    """Generate about `events` events into a fresh folder; the number of events made."""
    days = 30
    users = int(events / (EVENTS_PER_USER_DAY * days))
    shutil.rmtree(out, ignore_errors=True)
    return generate(GenerateConfig(users=users, days=days, seed=1), out).rows["events"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="target number of events")
    add_repeat(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        sample = GenerateConfig(users=500, days=3)  # warm-up, and the shape of an events row
        shape = build(sample.seed, sample.users, sample.start_ms, sample.days, "w").sources["events"]
        made: list[int] = []  # repeat 0 runs Weir first, so the ceiling always knows the count
        times = alternate(
            args.repeat,
            {
                "weir": lambda: made.append(weir_run(args.events, out / "weir")),
                "ceiling": lambda: ceiling(made[-1], shape, out),
            },
        )
    n_events = made[-1]
    weir_s, ceiling_s = times["weir"], times["ceiling"]
    print(f"{'run (median (min-max) of ' + str(args.repeat) + ')':<30}{'events':>12}{'seconds':>20}")
    print(f"{'weir generate (all sources)':<30}{n_events:>12,}{summary(weir_s, '.1f'):>20}")
    print(f"{'polars random rows (ceiling)':<30}{n_events:>12,}{summary(ceiling_s, '.1f'):>20}")
    print(f"generate events: {n_events} events")
    print(f"generate throughput: {summary([n_events / s for s in weir_s], '.0f')} events/s")
    print(f"ceiling throughput: {summary([n_events / s for s in ceiling_s], '.0f')} events/s")
    ratio_lines("generate vs polars random ceiling", ceiling_s, weir_s, target=(">=", 0.33))


if __name__ == "__main__":
    main()
