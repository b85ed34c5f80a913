"""Raw-batch quality gate (GX on DuckDB) vs the same checks as plain DuckDB SQL.

Usage: python benchmarks/bench_gates.py --warehouse PATH [--source events] [--rows 1000000 10000000]
Runs the contract-derived raw suite (expectations._suites.raw_suite) on the first N rows of
raw.<source> in an existing warehouse (e.g. the one `bench_dp_utility.py --data-dir` keeps),
and the same checks as plain DuckDB SQL: the very queries the suite compiles to, run directly
(so the ratio is what Great Expectations adds), and, for reference, the naive form with one
`count(*) filter (where ...)` per check. Target: ratio <= 2, and gate time linear in rows.
"""

import argparse
from pathlib import Path

import duckdb
from _timing import timed

from expectations import raw_suite, validate
from weir.contract import load_contract


def naive_sql(warehouse: Path, suite, batch: str) -> list[int]:
    """Each row check as a filtered count, all in one scan (no guards)."""
    counts = ", ".join(f"count(*) filter (where {c.where})" for c in suite.checks)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return list(con.execute(f"select count(*), {counts} from ({batch})").fetchone())


def compiled_sql(warehouse: Path, suite, batch: str) -> list:
    """The suite's own queries (row count, then the single-scan checks), without GX."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        out = [con.execute(f"select count(*) from ({batch})").fetchall()]
        for expectation in suite.compiled():
            query = getattr(expectation, "unexpected_rows_query", None)
            if query:
                query = query.replace("{batch}", f"({batch}) as b").replace("{{", "{").replace("}}", "}")
                out.append(con.execute(query).fetchall())
        return out


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
    sql_times = {rows: timed(lambda b=batch: compiled_sql(args.warehouse, suite, b)) for rows, batch in batches.items()}
    naive_times = {rows: timed(lambda b=batch: naive_sql(args.warehouse, suite, b)) for rows, batch in batches.items()}
    for rows, batch in batches.items():
        gate_s = timed(lambda b=batch: validate(args.warehouse, suite, b))
        sql_s = sql_times[rows]
        print(
            f"{rows:,} rows, {suite.size} expectations: gate {gate_s:.2f} s, plain SQL {sql_s:.2f} s "
            f"(naive, one regex per check: {naive_times[rows]:.2f} s)"
        )
        print(f"ratio gate / plain SQL: {gate_s / sql_s:.2f}  (target <= 2); {rows / gate_s / 1e6:.2f}M rows/s")


if __name__ == "__main__":
    main()
