"""DP release speed: OpenDP (Weir's plan) vs the same truncation and aggregation in plain Polars,
and vs the PipelineDP local backend.

Usage: python benchmarks/bench_dp.py [--events 10000000] [--users 1000000] [--pipeline-dp-rows 1000000] [--repeat 3]
Query: user-level; each user keeps at most 3 rows per (event type, day) and at most 10 such
groups; then count and clamped sum of amount by event type and day (public keys).
Targets: OpenDP / plain Polars <= 3 at 10M events; Weir >= 5x faster than PipelineDP at 1M rows.
PipelineDP is in the `bench` dependency group (`uv run --group bench ...`, as `make bench` does).
PipelineDP is built to run on Spark or Beam; its single-process LocalBackend (what is timed
here) is its reference/test backend, so the second ratio says how Weir compares with that
backend on one machine, not with PipelineDP on a cluster. Turning the Polars frame into the
Python tuples PipelineDP takes (`frame.rows()`) is timed apart and left out of its figure.
Each comparison runs once as a warm-up, then --repeat times in alternating order.
"""

import argparse
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import yaml
from _timing import add_repeat, alternate, ratio_lines, spread_line

from privacy import _dp_query
from privacy._dp_ledger import epsilon_of
from privacy._dp_spec import load_catalog, parse_period

EVENT_TYPES = ["view", "like", "share", "add_to_cart", "purchase"]
START = date(2026, 10, 1)
DAYS = 30
ROWS, GROUPS, UPPER, RHO, DELTA = 3, 10, 10_000, 0.5, 1e-6


def events(n: int, users: int, seed: int = 7) -> pl.DataFrame:
    """Most events spread over all users; 10% from a heavy tail of very active users (as in real logs)."""
    rng = np.random.default_rng(seed)
    spread = rng.integers(0, users, n)
    heavy = rng.zipf(1.3, n) % users
    return pl.DataFrame(
        {
            "user_token": np.where(rng.random(n) < 0.9, spread, heavy).astype(np.int64),
            "event_type": pl.Series(np.array(EVENT_TYPES)[rng.integers(0, len(EVENT_TYPES), n)]),
            "event_date": pl.Series([START + timedelta(days=int(d)) for d in range(DAYS)])[
                rng.integers(0, DAYS, n).tolist()
            ],
            "amount": rng.integers(0, 20_000, n),
        }
    ).with_columns(pl.col("user_token").cast(pl.String))


def catalog(folder: Path):
    spec = {
        "budgets": {"bench": {"period": "quarter", "rho": 10.0, "delta": DELTA}},
        "key_sets": {
            "types": {"source": "benchmark", "values": EVENT_TYPES},
            "days": {"source": "calendar", "calendar": True},
        },
        "releases": {
            "bench": {
                "input": "dp_events",
                "dataset": "bench",
                "date_column": "event_date",
                "keys": {"event_type": {"public": "types"}, "event_date": {"public": "days"}},
                "bounds": {"max_rows_per_group": ROWS, "max_groups": GROUPS},
                "measures": [
                    {"name": "events", "kind": "count"},
                    {"name": "amount", "kind": "sum", "column": "amount", "lower": 0, "upper": UPPER},
                ],
                "loss": {"rho": RHO},
            }
        },
    }
    path = folder / "releases.yml"
    path.write_text(yaml.safe_dump(spec))
    loaded = load_catalog(path)
    return loaded, loaded.release("bench")


def opendp_release(cat, spec, source: Path) -> pl.DataFrame:
    planned = _dp_query.plan(spec, cat, parse_period("2026Q4"), pl.scan_parquet(source))
    return _dp_query.run(spec, planned)


def plain_polars(source: Path) -> pl.DataFrame:
    """The same truncation and aggregation, no noise."""
    keys = ["event_type", "event_date"]
    return (
        _dp_query.with_group_order(pl.scan_parquet(source), keys)
        .filter(pl.int_range(pl.len()).over("user_token", *keys) < ROWS)
        .filter(pl.struct(_dp_query.GROUP_ORDER, *keys).rank("dense").over("user_token") < GROUPS + 1)
        .group_by(keys)
        .agg(pl.len().alias("events"), pl.col("amount").clip(0, UPPER).sum())
        .collect()
    )


def pipeline_dp_release(rows: list[tuple]) -> list:
    import pipeline_dp

    accountant = pipeline_dp.NaiveBudgetAccountant(total_epsilon=epsilon_of(RHO, DELTA), total_delta=DELTA)
    engine = pipeline_dp.DPEngine(accountant, pipeline_dp.LocalBackend())
    params = pipeline_dp.AggregateParams(
        metrics=[pipeline_dp.Metrics.COUNT, pipeline_dp.Metrics.SUM],
        noise_kind=pipeline_dp.NoiseKind.GAUSSIAN,
        max_partitions_contributed=GROUPS,
        max_contributions_per_partition=ROWS,
        min_value=0,
        max_value=UPPER,
    )
    extractors = pipeline_dp.DataExtractors(
        privacy_id_extractor=lambda row: row[0],
        partition_extractor=lambda row: (row[1], row[2]),
        value_extractor=lambda row: row[3],
    )
    keys = [(t, START + timedelta(days=d)) for t in EVENT_TYPES for d in range(DAYS)]
    result = engine.aggregate(rows, params, extractors, public_partitions=keys)
    accountant.compute_budgets()
    return list(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--pipeline-dp-rows", type=int, default=1_000_000)
    add_repeat(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cat, spec = catalog(folder)
        big, small = folder / "events.parquet", folder / "small.parquet"
        frame = events(args.events, args.users)
        frame.write_parquet(big)
        frame.head(args.pipeline_dp_rows).write_parquet(small)
        print(f"{args.events:,} events, {frame['user_token'].n_unique():,} users")

        times = alternate(
            args.repeat,
            {"plain": lambda: plain_polars(big), "opendp": lambda: opendp_release(cat, spec, big)},
            warmup=True,
        )
        print(spread_line("plain Polars (truncate + aggregate, no noise)", times["plain"]))
        print(spread_line("OpenDP release (plan + noisy release)", times["opendp"]))
        ratio_lines("OpenDP vs plain Polars", times["opendp"], times["plain"], target=("<=", 3))

        small_frame = frame.head(args.pipeline_dp_rows)
        rows = small_frame.rows()
        times = alternate(
            args.repeat,
            {
                "weir": lambda: opendp_release(cat, spec, small),
                "pipeline_dp": lambda: pipeline_dp_release(rows),
                "rows": lambda: small_frame.rows(),
            },
            warmup=True,
        )
        print(f"{args.pipeline_dp_rows:,} rows (PipelineDP is built for Spark/Beam; this is its local backend):")
        print(spread_line("  Weir (OpenDP)", times["weir"]))
        print(spread_line("  PipelineDP local backend (aggregate)", times["pipeline_dp"]))
        print(spread_line("  frame.rows() conversion for PipelineDP (not counted)", times["rows"]))
        ratio_lines("PipelineDP local backend vs Weir", times["pipeline_dp"], times["weir"], target=(">=", 5))


if __name__ == "__main__":
    main()
