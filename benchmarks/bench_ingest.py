"""Ingest throughput against a plain DuckDB load of the same files (the ceiling).

Usage: python benchmarks/bench_ingest.py [--events 10000000] [--users 1000000]
Full ingest = contract checks + quarantine + pseudonymise + generalise + load, for JSONL and
for the same events as Parquet. Targets: ratio <= 3; pseudonymisation >= 1.5M rows/s.
"""

import argparse
import tempfile
from pathlib import Path

import duckdb
from _timing import timed

from privacy._keyring import SecretKey
from privacy._pseudonymise import build_token_map
from weir.config import resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest

EVENTS_PER_USER_DAY = 3.7


def plain_load(files: str, reader: str, db: Path) -> float:
    con = duckdb.connect(str(db))
    seconds = timed(lambda: con.execute(f"create or replace table plain as select * from {reader}('{files}')"))
    con.close()
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
    args = parser.parse_args()
    days = max(1, round(args.events / (args.users * EVENTS_PER_USER_DAY)))
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = resolve_data_dir(Path(tmp) / "jsonl")
        batch = generate(GenerateConfig(users=args.users, days=days, seed=2), data_dir.landing)
        events = batch.rows["events"]
        jsonl = str(data_dir.landing / "events" / batch.batch_id / "*.jsonl")
        # The same events as Parquet, in a second data dir (so neither run sees duplicates).
        parquet_home = resolve_data_dir(Path(tmp) / "parquet")
        parquet_dir = parquet_home.landing / "events" / batch.batch_id
        parquet_dir.mkdir(parents=True)
        (parquet_home.landing / "users").symlink_to(data_dir.landing / "users")
        duckdb.execute(
            f"copy (select * from read_json('{jsonl}', format='newline_delimited')) "
            f"to '{parquet_dir / 'part-0000.parquet'}'"
        )
        ingest(data_dir, "users")
        ingest(parquet_home, "users")
        ceiling_jsonl = plain_load(jsonl, "read_json", Path(tmp) / "plain_jsonl.duckdb")
        weir_jsonl = timed(lambda: ingest(data_dir, "events"))
        ceiling_parquet = plain_load(str(parquet_dir / "*.parquet"), "read_parquet", Path(tmp) / "plain_pq.duckdb")
        weir_parquet = timed(lambda: ingest(parquet_home, "events"))
        user_rate = pseudonymise_rate(Path(tmp) / "plain_pq.duckdb", events, [("user_id", "user")])
        both_rate = pseudonymise_rate(
            Path(tmp) / "plain_pq.duckdb", events, [("user_id", "user"), ("device_id", "device")]
        )
        token_rate = hmac_rate(Path(tmp) / "plain_pq.duckdb", events)
    print(f"{'run':<26}{'events':>12}{'seconds':>10}{'rows/s':>14}")
    for name, seconds in [
        ("weir ingest JSONL", weir_jsonl),
        ("plain DuckDB load JSONL", ceiling_jsonl),
        ("weir ingest Parquet", weir_parquet),
        ("plain DuckDB load Parquet", ceiling_parquet),
    ]:
        print(f"{name:<26}{events:>12,}{seconds:>10.1f}{events / seconds:>14,.0f}")
    print(f"ingest events: {events} events")
    print(f"ingest jsonl throughput: {events / weir_jsonl:.0f} rows/s")
    print(f"ingest parquet throughput: {events / weir_parquet:.0f} rows/s")
    print(f"pseudonymisation throughput (user id): {user_rate:.0f} rows/s")
    print(f"pseudonymisation throughput (user + device id): {both_rate:.0f} rows/s")
    print(f"token HMAC throughput (distinct event ids): {token_rate:.0f} values/s")
    print(f"ratio ingest jsonl vs plain load: {weir_jsonl / ceiling_jsonl:.2f}")
    print(f"ratio ingest parquet vs plain load: {weir_parquet / ceiling_parquet:.2f}")


if __name__ == "__main__":
    main()
