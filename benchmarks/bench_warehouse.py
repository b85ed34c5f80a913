"""dbt warehouse build: does a daily build cost what its batch costs, however long the history?

Usage: python benchmarks/bench_warehouse.py [--events 10000000 30000000] [--days 30] [--repeat 3]
Builds two histories of one population: `days` days (about the first `--events` events) and a
longer one (about the second, same users, more days), each with the same daily batch cut off
its last day (same people; only that day's events, orders, sign-ups and consent changes).
For each: ingest, `dbt build --full-refresh`; then, `--repeat` times and alternating which
history goes first, restore the built warehouse, land and ingest the daily batch, `dbt build`.
Prints (issue 21):
- ratio daily at long vs daily at short history, median of the paired repeats with its
  min-max and worst repeat (target <= 1.25: cost follows the batch);
- ratio daily SQL vs full SQL: summed node execution times from run_results (target <= 0.10);
- ratio full at long vs full at short (expect about the history ratio: linear);
- dbt's fixed cost: the same daily build on a 200-user world, and its share of the full build;
- ratio dbt build vs direct SQL: the short full build against every model's compiled SELECT
  run straight in DuckDB and written into a copy of the warehouse file (target <= 2);
- peak RSS of the dbt processes (the long full build is the largest).
Iterate small with `--events 1000000 3000000`.
"""

import argparse
import json
import resource
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
from _timing import add_repeat, alternate, ratio_lines, spread_line, timed

from weir import dbt
from weir.config import resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.generate._split import split_off
from weir.ingest import ingest

EVENTS_PER_USER_DAY = 4.3
CHUNK_EVENTS = 4_000_000  # per generated batch: well inside 24 GiB


@dataclass(frozen=True)
class Build:
    seconds: float  # wall time of `dbt build`
    elapsed: float  # dbt's own elapsed time (the rest is start-up: imports, parse check)
    nodes: list[tuple[float, str]]  # every node's execution time, slowest first

    def sql(self, kind: str = "model") -> float:
        """Summed execution time of the nodes of one kind (what DuckDB did for them)."""
        return sum(s for s, node in self.nodes if node.startswith(kind + "."))


@dataclass(frozen=True)
class World:
    history: int
    day: int
    days: int
    full: Build
    daily: Build
    peak_rss_mib: float


def build(data_dir, full_refresh: bool = False) -> Build:
    def work() -> None:
        run = dbt.build(data_dir, full_refresh=full_refresh)
        if not run.ok:
            raise SystemExit(f"dbt build failed: {[r.unique_id for r in run.failed()]}")

    seconds = timed(work)
    run_results = json.loads((dbt.dbt_dir(data_dir) / "target" / "run_results.json").read_text())
    nodes = sorted(((r["execution_time"], r["unique_id"]) for r in run_results["results"]), reverse=True)
    return Build(seconds, run_results["elapsed_time"], nodes)


def _events(data_dir) -> int:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select count(*) from raw.events").fetchone()[0]


def _peak_rss_mib() -> float:
    """Largest resident set of any finished child process so far (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


@dataclass
class History:
    """A built history, kept to run its daily batch again from the same state."""

    root: Path
    base: Path  # the data dir as the full build left it
    daily_batch: str
    history: int
    full: Build
    peak_rss_mib: float
    dailies: list[Build]
    day: int = 0


def history(
    root: Path, users: int, days: int, start: date, direct: bool
) -> tuple[History, tuple[float, dict[str, float]] | None]:
    """History of `days` days and its full build; the day after is held back as a daily batch."""
    data_dir = resolve_data_dir(root)
    last = generate_chunked(users, days + 1, start, data_dir.landing)
    daily = split_off(
        data_dir.landing, last.batch_id, start + timedelta(days=days), root.with_name(root.name + "-held")
    )
    ingest(data_dir)
    # The loaded history's landing files are not needed again (a daily ingest reads only new
    # batches): removing them keeps a 30M-event world on the disk and its copies small.
    shutil.rmtree(data_dir.landing)
    events = _events(data_dir)
    full = build(data_dir, full_refresh=True)
    peak = _peak_rss_mib()
    outside = direct_sql(data_dir) if direct else None
    base = root.with_name(root.name + "-base")
    shutil.copytree(root, base)
    return History(root, base, daily, events, full, peak, []), outside


def generate_chunked(users: int, days: int, start: date, landing: Path) -> GenerateConfig:
    """`days` days of one world in batches of about CHUNK_EVENTS events (each continues the one
    before, as `weir generate --continue` does); the generator holds a batch in memory, and a
    30M-event world in one batch needs more than this machine's 24 GiB. The last batch has at
    least two days (its last day is split off as the daily batch). Returns the last batch."""
    chunk = max(2, round(CHUNK_EVENTS / (users * EVENTS_PER_USER_DAY)))
    parts = max(1, -(-days // chunk))
    sizes = [days // parts + (i < days % parts) for i in range(parts)]
    first = start
    for size in sizes:
        config = GenerateConfig(users=users, days=size, seed=21, start=start, origin=None if start == first else first)
        generate(config, landing)
        start += timedelta(days=size)
    return config


def daily_build(h: History) -> float:
    """Restore the history as its full build left it, land and ingest the daily batch, build."""
    shutil.rmtree(h.root)
    shutil.copytree(h.base, h.root)
    data_dir = resolve_data_dir(h.root)
    held = h.root.with_name(h.root.name + "-held")
    for folder in held.glob(f"*/{h.daily_batch}"):
        shutil.copytree(folder, data_dir.landing / folder.parent.name / h.daily_batch)
    ingest(data_dir)
    h.day = _events(data_dir) - h.history
    h.dailies.append(build(data_dir))
    return h.dailies[-1].seconds


def world(h: History, days: int) -> World:
    """The history's figures, with its median daily build (by wall time)."""
    middle = sorted(h.dailies, key=lambda b: b.seconds)[len(h.dailies) // 2]
    return World(h.history, h.day, days, h.full, middle, h.peak_rss_mib)


def direct_sql(data_dir) -> tuple[float, dict[str, float]]:
    """Each non-view model's compiled SELECT run straight in DuckDB over the built warehouse and
    written into the file, as dbt writes it (a table in a scratch schema of a copy of the
    warehouse, committed). Counting the rows instead (`select count(*) from (...)`, the form used
    up to session 19) lets DuckDB drop every column no count needs: int_events' copy took 0.00 s
    that way against 4-10 s written."""
    compiled = dbt.dbt_dir(data_dir) / "target" / "compiled" / "weir" / "models"
    copy = data_dir.warehouse.parent / "direct-sql" / data_dir.warehouse.name  # same catalog name as dbt's SQL
    shutil.rmtree(copy.parent, ignore_errors=True)  # a crashed run's copy
    copy.parent.mkdir()
    shutil.copyfile(data_dir.warehouse, copy)
    per_model = {}
    try:
        with duckdb.connect(str(copy)) as con:
            con.execute("create schema direct_sql")
            for path in sorted(compiled.glob("*/*.sql")):
                if path.parent.name == "staging":
                    continue  # views: no work at build time
                sql = path.read_text()
                table = f"direct_sql.{path.stem}"
                per_model[path.stem] = timed(lambda sql=sql, table=table: con.execute(f"create table {table} as {sql}"))
            per_model["(final checkpoint)"] = timed(lambda: con.execute("checkpoint"))  # dbt's close does it too
    finally:
        shutil.rmtree(copy.parent)
    return sum(per_model.values()), per_model


def fixed_cost(root: Path) -> float:
    """Seconds of a daily `dbt build` (same nodes, same flags) on a 200-user, 2-day world."""
    data_dir = resolve_data_dir(root)
    generate(GenerateConfig(users=200, days=2, seed=21), data_dir.landing)
    ingest(data_dir)
    build(data_dir, full_refresh=True)
    return build(data_dir).seconds


def report_nodes(label: str, run: Build) -> None:
    kinds: dict[str, list[float]] = {}
    for seconds, node in run.nodes:
        kinds.setdefault(node.split(".")[0], []).append(seconds)
    per_kind = ", ".join(f"{len(v)} {k}s {sum(v):.1f} s" for k, v in kinds.items())
    print(f"{label}: {run.seconds:.1f} s; start-up {run.seconds - run.elapsed:.1f} s; {per_kind}; slowest:")
    for seconds, node in run.nodes[:8]:
        print(f"  {node:60s} {seconds:6.2f} s")


def report(
    short: World,
    long: World,
    floor: float,
    direct: float,
    per_model: dict[str, float],
    sizes: list[int],
    dailies: dict[str, list[float]],
) -> None:
    at_short, at_long = (f"{n / 1e6:g}M" for n in sizes)  # the sizes asked for, as the issue names them
    for w in (short, long):
        print(f"history: {w.history:,} events, {w.days} days; daily batch {w.day:,} events ({w.day / w.history:.1%})")
        report_nodes(f"  full ({w.days} d)", w.full)
        report_nodes(f"  daily ({w.days} d, median repeat)", w.daily)
    print(f"models' SQL run directly in DuckDB ({short.days} d): {direct:.1f} s")
    for name, seconds in sorted(per_model.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {name:32s} {seconds:6.2f} s")
    print(f"full build at {short.history:,}: {short.full.seconds:.1f} s")
    print(f"full build at {long.history:,}: {long.full.seconds:.1f} s")
    print(spread_line(f"daily build at {short.history:,}", dailies["short"], ".1f"))
    print(spread_line(f"daily build at {long.history:,}", dailies["long"], ".1f"))
    print(f"dbt fixed cost: {floor:.1f} s")
    print(f"dbt fixed cost share of full build: {floor / short.full.seconds:.2f}")
    print(f"peak RSS of the full build at {at_long}: {long.peak_rss_mib:,.0f} MiB")
    ratio_lines(f"daily at {at_long} vs daily at {at_short}", dailies["long"], dailies["short"], target=("<=", 1.25))
    # Models and data tests: unit tests test code, and a daily build skips them by design.
    daily_sql = short.daily.sql("model") + short.daily.sql("test")
    full_sql = short.full.sql("model") + short.full.sql("test")
    print(f"ratio daily SQL vs full SQL: {daily_sql / full_sql:.2f}  (target <= 0.10; models and data tests)")
    print(f"ratio daily model SQL vs full model SQL: {short.daily.sql() / short.full.sql():.2f}")
    print(f"ratio dbt build vs direct SQL: {short.full.seconds / direct:.2f}  (target <= 2)")
    print(f"ratio dbt models vs direct SQL: {short.full.sql() / direct:.2f}")
    print(
        f"ratio full at {at_long} vs full at {at_short}: {long.full.seconds / short.full.seconds:.2f}  "
        f"(history ratio {long.history / short.history:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs=2, default=[10_000_000, 30_000_000], metavar=("SHORT", "LONG"))
    parser.add_argument("--days", type=int, default=30, help="days of the short history")
    add_repeat(parser)
    args = parser.parse_args()
    short_events, long_events = args.events
    users = max(100, round(short_events / (args.days * EVENTS_PER_USER_DAY)))
    long_days = round(args.days * long_events / short_events)  # same users: the daily batch stays the same size
    # Both worlds end before today: the generator makes no events in the future.
    start = date.today() - timedelta(days=long_days + 2)
    with tempfile.TemporaryDirectory() as tmp:
        short, (direct, per_model) = history(Path(tmp) / "short", users, args.days, start, direct=True)
        long, _ = history(Path(tmp) / "long", users, long_days, start, direct=False)
        sides = {"short": lambda: daily_build(short), "long": lambda: daily_build(long)}
        dailies = alternate(args.repeat, sides, self_timed=True)
        floor = fixed_cost(Path(tmp) / "tiny")
    report(world(short, args.days), world(long, long_days), floor, direct, per_model, args.events, dailies)


if __name__ == "__main__":
    main()
