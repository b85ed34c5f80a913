"""Raw-batch quality gate (GX on DuckDB) vs the same checks as plain DuckDB SQL.

Usage: python benchmarks/bench_gates.py --warehouse PATH [--source events] [--rows 1000000 10000000]
Runs the contract-derived raw suite (expectations._suites.raw_suite) on the first N rows of
raw.<source> in an existing warehouse (e.g. the one `bench_dp_utility.py --data-dir` keeps),
and the same checks written as one `count(*) filter (where ...)` query. Target: ratio <= 2,
and gate time growing linearly with rows.
"""

import argparse
from pathlib import Path

import duckdb
from _timing import timed

from expectations import raw_suite, validate
from weir.contract import load_contract


def plain_sql(warehouse: Path, suite, batch: str) -> list[int]:
    """Each unexpected-rows check as a filtered count, all in one scan."""
    counts = ", ".join(f"count(*) filter (where {c.where})" for c in suite.checks)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return list(con.execute(f"select count(*), {counts} from ({batch})").fetchone())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--source", default="events")
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    suite = raw_suite(load_contract(args.source))
    batches = {rows: f"select * from raw.{args.source} limit {rows}" for rows in args.rows}
    # Plain SQL first: after GX has opened the file through duckdb-engine, this process cannot
    # open it with DuckDB's default configuration again.
    sql_times = {rows: timed(lambda b=batch: plain_sql(args.warehouse, suite, b)) for rows, batch in batches.items()}
    for rows, batch in batches.items():
        gate_s = timed(lambda b=batch: validate(args.warehouse, suite, b))
        sql_s = sql_times[rows]
        print(f"{rows:,} rows, {suite.size} expectations: gate {gate_s:.2f} s, plain SQL {sql_s:.2f} s")
        print(f"ratio gate / plain SQL: {gate_s / sql_s:.2f}  (target <= 2)")


if __name__ == "__main__":
    main()
