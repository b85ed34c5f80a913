"""dbt warehouse build: full build, then an incremental daily batch on top of it.

Usage: python benchmarks/bench_warehouse.py [--events 10000000] [--days 30]
Generates `days` + 1 days of behaviour (about `events` events in the first `days`) and cuts off
the last day as a daily batch of its own (same people; only that day's events, orders, sign-ups
and consent changes). Ingests and builds the history with `dbt build --full-refresh` (models,
contracts, data tests, unit tests); then lands the daily batch, ingests it and runs `dbt build`
again (incremental). Target: incremental <= 15% of full.
Also runs every model's compiled SELECT directly in DuckDB, to show dbt's own overhead, and
measures dbt's fixed cost: the same daily build on a 200-user world, where the SQL is almost
free (process start-up, parsing and about 0.03 s per node).
"""

import argparse
import json
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import duckdb
from _timing import timed

from weir import dbt
from weir.config import resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.generate._split import split_off
from weir.ingest import ingest

EVENTS_PER_USER_DAY = 4.3


def build(data_dir, full_refresh: bool = False) -> tuple[float, float, list[tuple[float, str]]]:
    """Seconds for `dbt build`, dbt's own elapsed time (the rest is process start-up: imports,
    parse check, manifest), and every node's execution time from run_results, slowest first."""

    def work() -> None:
        run = dbt.build(data_dir, full_refresh=full_refresh)
        if not run.ok:
            raise SystemExit(f"dbt build failed: {[r.unique_id for r in run.failed()]}")

    seconds = timed(work)
    run_results = json.loads((dbt.dbt_dir(data_dir) / "target" / "run_results.json").read_text())
    nodes = sorted(((r["execution_time"], r["unique_id"]) for r in run_results["results"]), reverse=True)
    return seconds, run_results["elapsed_time"], nodes


def _events(data_dir) -> int:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select count(*) from raw.events").fetchone()[0]


def direct_sql(data_dir) -> tuple[float, dict[str, float]]:
    """Each non-view model's compiled SELECT, run straight in DuckDB over the built warehouse."""
    compiled = dbt.dbt_dir(data_dir) / "target" / "compiled" / "weir" / "models"
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    per_model = {}
    for path in sorted(compiled.glob("*/*.sql")):
        if path.parent.name == "staging":
            continue  # views: no work at build time
        sql = path.read_text()
        per_model[path.stem] = timed(lambda sql=sql: con.execute(f"select count(*) from ({sql})").fetchall())
    con.close()
    return sum(per_model.values()), per_model


def fixed_cost(root: Path) -> float:
    """Seconds of a daily `dbt build` (same nodes, same flags) on a 200-user, 2-day world."""
    data_dir = resolve_data_dir(root)
    generate(GenerateConfig(users=200, days=2, seed=21), data_dir.landing)
    ingest(data_dir)
    build(data_dir, full_refresh=True)
    return build(data_dir)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    users = max(100, round(args.events / (args.days * EVENTS_PER_USER_DAY)))
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = resolve_data_dir(Path(tmp))
        world = GenerateConfig(users=users, days=args.days + 1, seed=21)
        batch = generate(world, data_dir.landing)
        held = Path(tmp) / "held"
        daily = split_off(data_dir.landing, world.batch_id, world.start + timedelta(days=args.days), held)
        ingest(data_dir)
        history = _events(data_dir)
        full, full_elapsed, full_nodes = build(data_dir, full_refresh=True)
        direct, per_model = direct_sql(data_dir)
        for folder in held.glob(f"*/{daily}"):
            shutil.move(folder, data_dir.landing / folder.parent.name / daily)
        ingest(data_dir)
        day = _events(data_dir) - history
        incremental, incremental_elapsed, incremental_nodes = build(data_dir)
        floor = fixed_cost(Path(tmp) / "tiny")
        print(f"history: {history:,} events, {users:,} users, {args.days} days (generated {batch.rows['events']:,})")
        print(f"daily batch: {day:,} events ({day / history:.1%})")
        print(f"full dbt build:          {full:7.1f} s")
        print(f"incremental dbt build:   {incremental:7.1f} s")
        print(f"ratio incremental/full:  {incremental / full:7.2f}  (target <= 0.15)")
        print(f"dbt's fixed cost (daily build, 200-user world): {floor:.1f} s = {floor / full:.2f} of the full build")
        print(f"models' SQL run directly in DuckDB: {direct:.1f} s (dbt build overhead: {full - direct:.1f} s)")
        for name, seconds in sorted(per_model.items(), key=lambda kv: -kv[1])[:8]:
            print(f"  {name:32s} {seconds:6.2f} s")
        runs = (
            ("full", full, full_elapsed, full_nodes),
            ("incremental", incremental, incremental_elapsed, incremental_nodes),
        )
        for label, wall, elapsed, nodes in runs:
            kinds = {}
            for seconds, node in nodes:
                kinds.setdefault(node.split(".")[0], []).append(seconds)
            per_kind = ", ".join(f"{len(v)} {k}s {sum(v):.1f} s" for k, v in kinds.items())
            print(f"{label}: start-up {wall - elapsed:.1f} s; {per_kind}; slowest:")
            for seconds, node in nodes[:6]:
                print(f"  {node:60s} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
