"""Ingest throughput against a plain DuckDB load of the same files (the ceiling).

Usage: python benchmarks/bench_ingest.py [--events 10000000] [--users 1000000] [--repeat 1]
Full ingest = contract checks + quarantine + pseudonymise + generalise + load, for JSONL, for
the same events as Parquet, and as a CSV export landed through a source mapping.
Targets: ratio <= 3; pseudonymisation >= 1.5M rows/s.
Each repeat ingests into a data dir of its own (the batch's files hard-linked into it, the
users loaded beforehand, untimed), weir and plain load in alternating order; ratios are paired
per repeat (benchmarks/_timing.py).
"""

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import duckdb
from _timing import add_repeat, alternate, ratio_lines, spread_line, timed

from privacy._keyring import SecretKey
from privacy._pseudonymise import build_token_map
from weir.config import resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest
from weir.landing import land_export

EVENTS_PER_USER_DAY = 3.7


def plain_load(files: str, reader: str, db: Path) -> float:
    con = duckdb.connect(str(db))
    seconds = timed(lambda: con.execute(f"create or replace table plain as select * from {reader}('{files}')"))
    con.close()
    return seconds


def fresh_home(landing: Path, home: Path, sources: list[str]) -> Path:
    """A new data dir whose landing holds hard links to `landing`'s batches of `sources` (not
    symbolic links: ingest refuses those), with the users already ingested."""
    data_dir = resolve_data_dir(home)
    for source in sources:
        for part in (landing / source).rglob("part-*"):
            target = data_dir.landing / part.relative_to(landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(part, target)
    ingest(data_dir, "users")
    return home


def ingest_next(homes: list[Path]) -> float:
    """Seconds to ingest the events of the next fresh data dir (each is used once)."""
    data_dir = resolve_data_dir(homes.pop(0))
    results: list = []
    seconds = timed(lambda: results.extend(ingest(data_dir, "events")))
    if results[0].status != "loaded":
        raise SystemExit(f"events ingest ended {results[0].status}: {results[0].error or results[0].reasons}")
    return seconds


def pseudonymise_rate(db: Path, rows: int, columns: list[tuple[str, str]]) -> float:
    """Rows/s for tokenising the given (column, kind) pairs of every event (distinct, then join)."""
    con = duckdb.connect(str(db))
    key = SecretKey(1, b"b" * 32)

    def work() -> None:
        for column, kind in columns:
            build_token_map(con, f"tok_{column}", f"select {column} from plain", kind, key)
        joins = " ".join(f"left join tok_{c} on tok_{c}.value = p.{c}" for c, _ in columns)
        tokens = ", ".join(f"tok_{c}.token as {c}_token" for c, _ in columns)
        con.execute(f"create or replace temp table tokenised as select {tokens} from plain p {joins}")

    seconds = timed(work)
    con.close()
    return rows / seconds


def hmac_rate(db: Path, rows: int) -> float:
    """Values/s for the token HMAC alone: event ids are all distinct, so this is one HMAC per row.

    Two SHA-256 calls of two blocks each per value (DuckDB cannot start from the padded keys'
    precomputed state): this bounds what any token map or inline token can cost.
    """
    con = duckdb.connect(str(db))
    key = SecretKey(1, b"b" * 32)
    seconds = timed(lambda: build_token_map(con, "tok_event", "select event_id from plain", "event", key))
    con.close()
    return rows / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    add_repeat(parser, default=1)  # a 10M run takes minutes per side
    args = parser.parse_args()
    days = max(1, round(args.events / (args.users * EVENTS_PER_USER_DAY)))
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = resolve_data_dir(Path(tmp) / "jsonl")
        batch = generate(GenerateConfig(users=args.users, days=days, seed=2), data_dir.landing)
        events = batch.rows["events"]
        jsonl = str(data_dir.landing / "events" / batch.batch_id / "*.jsonl")
        # The same events as Parquet, in a landing zone of their own.
        parquet_landing = Path(tmp) / "parquet_landing"
        parquet_dir = parquet_landing / "events" / batch.batch_id
        parquet_dir.mkdir(parents=True)
        duckdb.execute(
            f"copy (select * from read_json('{jsonl}', format='newline_delimited')) "
            f"to '{parquet_dir / 'part-0000.parquet'}'"
        )
        for part in (data_dir.landing / "users").rglob("part-*"):
            (parquet_landing / part.relative_to(data_dir.landing)).parent.mkdir(parents=True, exist_ok=True)
            os.link(part, parquet_landing / part.relative_to(data_dir.landing))
        homes = {
            fmt: [fresh_home(landing, Path(tmp) / f"{fmt}_{i}", ["users", "events"]) for i in range(args.repeat)]
            for fmt, landing in (("jsonl", data_dir.landing), ("parquet", parquet_landing))
        }
        plain_jsonl, plain_pq = Path(tmp) / "plain_jsonl.duckdb", Path(tmp) / "plain_pq.duckdb"
        times = alternate(
            args.repeat,
            # Plain first: with --repeat 1 the order of earlier figures (the first reader of a
            # batch's files may pay for reading them from disk).
            {
                "plain_jsonl": lambda: plain_load(jsonl, "read_json", plain_jsonl),
                "weir_jsonl": lambda: ingest_next(homes["jsonl"]),
            },
            self_timed=True,  # the statements alone, as in earlier sessions' figures
        )
        pq_files = str(parquet_dir / "*.parquet")
        times |= alternate(
            args.repeat,
            {
                "plain_parquet": lambda: plain_load(pq_files, "read_parquet", plain_pq),
                "weir_parquet": lambda: ingest_next(homes["parquet"]),
            },
            self_timed=True,
        )
        times |= csv_times(Path(tmp), pq_files, data_dir.landing, args.repeat)
        user_rate = pseudonymise_rate(plain_pq, events, [("user_id", "user")])
        both_rate = pseudonymise_rate(plain_pq, events, [("user_id", "user"), ("device_id", "device")])
        token_rate = hmac_rate(plain_pq, events)
    report(events, times, user_rate, both_rate, token_rate)


def csv_times(tmp: Path, pq_files: str, landing: Path, repeat: int) -> dict[str, list[float]]:
    """The CSV path: the same events as a CSV export with a header, landed through a source
    mapping (quoted fields, the mapping's projection) into data dirs of their own (users from
    `landing`), against DuckDB's own CSV reader."""
    export, mapping = tmp / "events.csv", tmp / "events_mapping.yml"
    duckdb.execute(f"copy (select * from read_parquet('{pq_files}')) to '{export}' (header)")
    mapping.write_text("source: events\nformat: csv\n")
    homes = [fresh_home(landing, tmp / f"csv_{i}", ["users"]) for i in range(repeat)]
    for home in homes:  # the copy into the landing zone is not timed
        land_export(resolve_data_dir(home).landing, mapping, export)
    return alternate(
        repeat,
        {
            "plain_csv": lambda: plain_load(str(export), "read_csv", tmp / "plain_csv.duckdb"),
            "weir_csv": lambda: ingest_next(homes),
        },
        self_timed=True,
    )


def report(events: int, times: dict[str, list[float]], user_rate: float, both_rate: float, token_rate: float) -> None:
    print(f"{'run':<26}{'events':>12}{'median s':>10}{'rows/s':>14}")
    for name, key in [
        ("weir ingest JSONL", "weir_jsonl"),
        ("plain DuckDB load JSONL", "plain_jsonl"),
        ("weir ingest Parquet", "weir_parquet"),
        ("plain DuckDB load Parquet", "plain_parquet"),
        ("weir ingest CSV (mapping)", "weir_csv"),
        ("plain DuckDB load CSV", "plain_csv"),
    ]:
        seconds = statistics.median(times[key])
        print(f"{name:<26}{events:>12,}{seconds:>10.1f}{events / seconds:>14,.0f}")
    for key, values in times.items():
        print(spread_line(key, values))
    print(f"ingest events: {events} events")
    print(f"pseudonymisation throughput (user id): {user_rate:.0f} rows/s")
    print(f"pseudonymisation throughput (user + device id): {both_rate:.0f} rows/s")
    print(f"token HMAC throughput (distinct event ids): {token_rate:.0f} values/s")
    ratio_lines("ingest jsonl vs plain load", times["weir_jsonl"], times["plain_jsonl"], target=("<=", 3))
    ratio_lines("ingest parquet vs plain load", times["weir_parquet"], times["plain_parquet"], target=("<=", 3))
    ratio_lines("ingest csv (mapping) vs plain load", times["weir_csv"], times["plain_csv"], target=("<=", 3))


if __name__ == "__main__":
    main()
