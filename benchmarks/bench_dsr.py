"""Erasure of N users against a full rebuild of the tables they are in.

Usage: python benchmarks/bench_dsr.py [--users 1000000] [--events 10000000] [--erase 100] [--world DIR]
Setup (not timed): generate, ingest, dbt build, publish, the aggregate models' SQL compiled
(once per project version), the source's own requests in raw.dsr run to their end (so the timed
run erases exactly the N users), the N erasure requests submitted. Timed: `weir dsr run` erasing the N
busiest users (targeted deletes in every copy, verification scan, one compaction) against
`dbt build --full-refresh` of the derived tables plus a publish, the rebuild erasure avoids.
Target: ratio erasure vs rebuild <= 0.1. Each side of each repeat (--repeat, order alternated,
benchmarks/_timing.py) runs on a fresh copy of the world, made before its clock starts.
With --world DIR the built world is kept in DIR/base and reused by the next run of the same size.
The erasure's own seconds per system (and for verification and compaction) are printed after,
and the ratio without the warehouse compaction (a copy of the whole file; not the target's figure).
"""

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
from _timing import add_repeat, alternate, ratio_lines, spread_line, timed

from weir import dsr, pipeline
from weir.config import resolve_data_dir
from weir.dsr import _aggregates, _compact, _erase, _run
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest

EVENTS_PER_USER_DAY = 3.7


def busiest_ids(data_dir, count: int) -> list[str]:
    """Raw ids of the `count` users with the most events (read from the landing users file)."""
    import csv

    from privacy._keyring import current_hmac_key
    from privacy._pseudonymise import token

    key = current_hmac_key(data_dir.keys)
    ids = {}
    for path in (data_dir.landing / "users").glob("*/part-*.csv"):
        with path.open(encoding="utf-8") as handle:
            ids |= {token(key, "user", r["user_id"]): r["user_id"] for r in csv.DictReader(handle)}
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        ranked = con.execute("select user_token from raw.events group by 1 order by count(*) desc limit ?", [count])
        return [ids[t] for (t,) in ranked.fetchall()]


def prepare(base, users: int, days: int) -> None:
    """Generate, ingest, build and publish once; a marker says the world in `base` is whole."""
    marker = base.root / ".bench-world"
    if marker.exists() and marker.read_text() == f"{users} {days}":
        return
    if base.root.exists():
        shutil.rmtree(base.root)
    base = resolve_data_dir(base.root)
    generate(GenerateConfig(users=users, days=days, seed=2), base.landing)
    ingest(base)
    pipeline.warehouse_stage(base, "bench")
    pipeline.publish_stage(base, "bench")
    marker.write_text(f"{users} {days}")


def profiled(spent: dict[str, float]) -> None:
    """Time each erasure system, the verification scan and the compaction into `spent`."""

    def clock(name, work):  # noqa: ANN001, ANN202
        def run(*args):  # noqa: ANN002, ANN202
            start = time.perf_counter()
            try:
                return work(*args)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - start

        return run

    _erase.SYSTEMS = tuple((name, clock(name, erase)) for name, erase in _erase.SYSTEMS)
    _run._erase.residue = clock("verify", _erase.residue)
    _run._compact.compact_warehouse = clock("compact", _compact.compact_warehouse)


def fresh_copy(base, target) -> None:  # noqa: ANN001
    """A new copy of the built world (neither side reads landing files): an erasure or a
    rebuild changes its data dir, so every repeat starts from its own copy (not timed)."""
    if target.root.exists():
        shutil.rmtree(target.root)
    shutil.copytree(base.root, target.root, symlinks=True, ignore=shutil.ignore_patterns("landing"))
    for path in (target.root / "published").rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(0o644)  # copies of read-only published files must be replaceable


def sides(base, tmp: Path, victims: list[str], spent: dict[str, float], compactions: list[float]) -> dict:  # noqa: ANN001
    """The two timed sides; each copies the world and (erasure) submits its requests untimed.
    Each erasure's compaction seconds go to `compactions` (paired with its repeat's rebuild)."""
    erasing, rebuilding = (resolve_data_dir(tmp / n) for n in ("erase", "rebuild"))

    def erase() -> float:
        fresh_copy(base, erasing)
        for user_id in victims:  # intake is not erasure: submitted before the clock starts
            dsr.submit_request(erasing, "erasure", user_id, "bench")
        compacted = spent.get("compact", 0.0)
        start = time.perf_counter()
        outcomes = dsr.run_requests(erasing, "bench")
        seconds = time.perf_counter() - start
        compactions.append(spent.get("compact", 0.0) - compacted)
        assert sum(o.status == "completed" and o.request_id.startswith("dsr-") for o in outcomes) == len(victims)
        return seconds

    def rebuild() -> float:
        fresh_copy(base, rebuilding)
        start = time.perf_counter()
        pipeline.warehouse_stage(rebuilding, "bench", full_refresh=True)
        pipeline.publish_stage(rebuilding, "bench")
        return time.perf_counter() - start

    return {"erasure": erase, "rebuild": rebuild}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--erase", type=int, default=100)
    parser.add_argument("--world", type=Path, help="keep the built world here and reuse it")
    parser.add_argument("--prepare-only", action="store_true", help="build the --world and stop")
    add_repeat(parser, default=1)
    args = parser.parse_args()
    if args.world:
        args.world.mkdir(parents=True, exist_ok=True)
    days = max(1, round(args.events / (args.users * EVENTS_PER_USER_DAY)))
    with tempfile.TemporaryDirectory(dir=args.world) as tmp:
        base = resolve_data_dir((args.world or Path(tmp)) / "base")
        prepare(base, args.users, days)
        _aggregates.prepare(base)  # once per dbt project version, not per erasure: setup
        settled = timed(lambda: dsr.run_requests(base, "bench-setup"))  # the source's own requests (raw.dsr)
        print(f"set-up: the source's own requests settled in {settled:.1f} s ({_request_counts(base)})", flush=True)
        if args.prepare_only:
            return
        with duckdb.connect(str(base.warehouse), read_only=True) as con:
            events = con.execute("select count(*) from raw.events").fetchone()[0]
        victims = busiest_ids(base, args.erase)
        spent: dict[str, float] = {}
        compactions: list[float] = []
        profiled(spent)
        times = alternate(args.repeat, sides(base, Path(tmp), victims, spent, compactions), self_timed=True)
    report(times, spent, compactions, events, len(victims), args.repeat)


def _request_counts(base) -> str:  # noqa: ANN001
    with duckdb.connect(str(base.warehouse), read_only=True) as con:
        rows = con.execute("select request_type, status, count(*) from dsr.requests group by all order by all")
        return ", ".join(f"{t} {s} {n}" for t, s, n in rows.fetchall())


def report(
    times: dict[str, list[float]],
    spent: dict[str, float],
    compactions: list[float],
    events: int,
    erased: int,
    repeat: int,
) -> None:
    erase_s, rebuild_s = (statistics.median(times[n]) for n in ("erasure", "rebuild"))
    print(f"{'run':<34}{'events':>12}{'users':>8}{'seconds':>10}")
    print(f"{'weir dsr run (erasure)':<34}{events:>12,}{erased:>8}{erase_s:>10.1f}")
    print(f"{'dbt build --full-refresh + publish':<34}{events:>12,}{'-':>8}{rebuild_s:>10.1f}")
    print(spread_line("erasure", times["erasure"]))
    print(spread_line("rebuild", times["rebuild"]))
    print(f"dsr events: {events} events")
    print(f"dsr erased users: {erased} users")
    print(f"dsr erasure per user: {erase_s / erased:.2f} s")
    ratio_lines("erasure vs rebuild", times["erasure"], times["rebuild"], target=("<=", 0.1))
    # Not the target's figure: what the erasure costs besides rewriting the warehouse file, which
    # is a copy of every table holding users (all of their row groups hold erased rows).
    rest = [e - c for e, c in zip(times["erasure"], compactions, strict=True)]
    ratio_lines("erasure without the warehouse compaction vs rebuild", rest, times["rebuild"])
    inside = sum(spent.values()) / max(1, repeat)
    print(
        "erasure seconds per system (mean of repeats): "
        + ", ".join(f"{k} {v / max(1, repeat):.1f}" for k, v in spent.items())
    )
    print(f"erasure seconds outside the systems (resolve, step records, audit, witness): {erase_s - inside:.1f}")


if __name__ == "__main__":
    main()
