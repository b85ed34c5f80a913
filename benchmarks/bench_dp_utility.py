"""Utility of the shipped DP releases at their default budgets, on generated data.

Usage: python benchmarks/bench_dp_utility.py [--users 60000] [--days 30] [--min-users 1000] [--data-dir DIR]
       [--repeat 3]
Generates, ingests and builds a warehouse, runs every release in privacy/releases.yml, and
prints the median relative error per release and measure over groups with at least
--min-users users (error = noise + contribution-bounding bias). Target: below 5%.
Each release runs --repeat times (fresh noise each time): the median, min and max of the
median relative error over the repeats, and "target met" only when the worst repeat is below 5%.
"""

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import duckdb
from _timing import add_repeat, summary

from privacy._dp_spec import SPEC_FILE, Loss, load_catalog
from weir import dp, pipeline
from weir.config import resolve_data_dir
from weir.dp_utility import utility
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=60_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--min-users", type=int, default=1_000)
    parser.add_argument("--data-dir", help="keep the built warehouse here and reuse it on the next run")
    parser.add_argument("--spec", type=Path, default=SPEC_FILE, help="release specs to evaluate")
    add_repeat(parser)
    args = parser.parse_args()
    specs = load_catalog(args.spec)
    # Evaluation re-releases on the same data: give it room (the shipped budgets are not tested here).
    catalog = replace(specs, budgets={n: replace(b, total=Loss(1e6, 0.5)) for n, b in specs.budgets.items()})
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = resolve_data_dir(args.data_dir or tmp)
        if not data_dir.warehouse.exists():
            generate(GenerateConfig(users=args.users, days=args.days, seed=11, bad_rate=0.0), data_dir.landing)
            ingest(data_dir)
            if not pipeline.warehouse_stage(data_dir, "bench").ok:
                raise SystemExit("dbt build failed")
        print(f"{args.users:,} users x {args.days} days; groups with >= {args.min_users:,} users; x{args.repeat}")
        errors: dict[tuple[str, str], list[float]] = defaultdict(list)
        groups: dict[tuple[str, str], int] = {}
        seconds: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.repeat):
            for name in sorted(catalog.releases):
                start = time.perf_counter()
                released = dp.release(data_dir, name, "bench", re_release=True, catalog=catalog, provisional=True)
                seconds[name].append(time.perf_counter() - start)
                with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
                    for u in utility(con, catalog, released, args.min_users):
                        groups[u.release, u.measure] = u.groups
                        if u.median_relative_error is not None:
                            errors[u.release, u.measure].append(u.median_relative_error)
        report(errors, groups, seconds)


def report(errors: dict, groups: dict, seconds: dict) -> None:
    """One row per release and measure: the median relative error's median (min-max) over repeats."""
    head = "median rel. error, median (min-max)"
    print(f"{'release':<24} {'measure':<18} {'groups':>6} {head:>36} {'release s':>10}")
    worst = 0.0
    for (release, measure), n in sorted(groups.items()):
        values = [100 * e for e in errors.get((release, measure), [])]
        shown = f"{summary(values)} %" if values else "n/a"
        worst = max([worst, *values])
        print(f"{release:<24} {measure:<18} {n:>6} {shown:>36} {statistics.median(seconds[release]):>10.2f}")
    print(f"worst repeat median relative error: {worst:.2f}%  (target < 5%: {'target met' if worst < 5 else 'MISSED'})")


if __name__ == "__main__":
    main()
