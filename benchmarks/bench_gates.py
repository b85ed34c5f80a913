"""Raw-batch quality gate (GX on DuckDB) vs the same checks as plain DuckDB SQL.

Usage: python benchmarks/bench_gates.py --warehouse PATH [--build] [--source events]
       [--rows 1000000 10000000] [--no-naive] [--repeat 3]
Runs the contract-derived raw suite (expectations._suites.raw_suite) on the first N rows of
raw.<source>, and the same checks as plain DuckDB SQL: the very queries the suite compiles to,
run directly (so the ratio is what Great Expectations adds), and, for reference, the naive form
with one `count(*) filter (where ...)` per check. Target: ratio <= 2, and gate time linear in rows.

Every measurement runs in a fresh child process (neither side inherits the other's warm
caches or open connections), after a warm-up on 1,000 rows in that child; the sides alternate
which goes first between repeats.

--build makes the warehouse first (the data set of the recorded figures): a generated world
(1,500 users x 7 days, seed 3), ingested, then raw.events repeated with new event ids (same
token format) up to the largest --rows.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
from _timing import add_repeat, alternate, ratio_lines, spread_line, summary, timed

from expectations import raw_suite, validate
from privacy._scrub import register_sql
from weir.config import resolve_data_dir
from weir.contract import load_contract
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest

WORLD = GenerateConfig(users=1500, days=7, seed=3, bad_rate=0.0)
SIDES = ("gate", "sql", "naive")


def naive_sql(warehouse: Path, suite, batch: str) -> list[int]:
    """Each row check as a filtered count, all in one scan (no guards)."""
    counts = ", ".join(f"count(*) filter (where {c.where})" for c in suite.checks)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        register_sql(con)  # the PII checks call the scrubber's detector, as in the gate
        return list(con.execute(f"select count(*), {counts} from ({batch})").fetchone())


def compiled_sql(warehouse: Path, suite, batch: str) -> list:
    """The suite's own queries (row count, then the single-scan checks), without GX."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        register_sql(con)
        out = [con.execute(f"select count(*) from ({batch})").fetchall()]
        for expectation in suite.compiled():
            query = getattr(expectation, "unexpected_rows_query", None)
            if query:
                query = query.replace("{batch}", f"({batch}) as b").replace("{{", "{").replace("}}", "}")
                out.append(con.execute(query).fetchall())
        return out


def build_warehouse(target: Path, rows: int) -> Path:
    """Generate and ingest WORLD, then grow raw.events to `rows` rows with new event ids."""
    data_dir = resolve_data_dir(target)
    if not data_dir.warehouse.exists():
        generate(WORLD, data_dir.landing)
        ingest(data_dir)
    with duckdb.connect(str(data_dir.warehouse)) as con:
        have = con.execute("select count(*) from raw.events").fetchone()[0]
        if have < rows:
            con.execute("create temp table base as select * from raw.events")
            # A new id keeps the token's prefix ("tk1_") and length; its hex comes from sha256.
            con.execute(
                "insert into raw.events select base.* replace (left(event_id, strpos(event_id, '_')) || "
                "left(sha256(event_id || ':' || i), length(event_id) - strpos(event_id, '_')) as event_id) "
                "from base, range(1, ?) t(i) limit ?",
                [rows // have + 2, rows - have],
            )
    print(f"warehouse {data_dir.warehouse}: raw.events grown from {have:,} rows to >= {rows:,}")
    return data_dir.warehouse


def measure_one(side: str, warehouse: Path, source: str, rows: int) -> float:
    """One side's seconds on the first `rows` rows, after a warm-up on 1,000 rows (child process)."""
    suite = raw_suite(load_contract(source))
    runs = {
        "gate": lambda b: validate(warehouse, suite, b),
        "sql": lambda b: compiled_sql(warehouse, suite, b),
        "naive": lambda b: naive_sql(warehouse, suite, b),
    }
    runs[side](f"select * from raw.{source} limit 1000")
    return timed(lambda: runs[side](f"select * from raw.{source} limit {rows}"))


def in_child(side: str, warehouse: Path, source: str, rows: int) -> float:
    argv = [sys.executable, __file__, "--child", side, "--warehouse", str(warehouse)]
    out = subprocess.run([*argv, "--source", source, "--rows", str(rows)], capture_output=True, text=True)
    if out.returncode:
        errors = [line for line in out.stderr.splitlines() if "Error" in line or "Exception" in line]
        raise SystemExit(f"{side} run failed: {(errors or out.stderr.splitlines() or ['?'])[-1]}")
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, help="a warehouse.duckdb (or, with --build, a data dir)")
    parser.add_argument("--build", action="store_true", help="build the benchmark warehouse first")
    parser.add_argument("--source", default="events")
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-naive", action="store_true", help="leave out the naive SQL reference (~10 min a repeat at 10M rows)"
    )
    add_repeat(parser)
    args = parser.parse_args()
    if args.child:
        print(measure_one(args.child, args.warehouse, args.source, args.rows[0]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = args.warehouse
        if args.build or warehouse is None:
            warehouse = build_warehouse(warehouse or Path(tmp), max(args.rows))
        suite = raw_suite(load_contract(args.source))
        sides = [s for s in SIDES if not (args.no_naive and s == "naive")]
        for rows in args.rows:
            times = alternate(
                args.repeat,
                {side: lambda s=side, n=rows: in_child(s, warehouse, args.source, n) for side in sides},
                self_timed=True,
            )
            print(f"{rows:,} rows, {suite.size} expectations (each in its own process):")
            print(spread_line("  gate (GX)", times["gate"]))
            print(spread_line("  plain SQL (the suite's queries)", times["sql"]))
            if "naive" in times:
                print(spread_line("  naive SQL (one regex per check)", times["naive"]))
            ratio_lines(f"gate vs plain SQL at {rows:,} rows", times["gate"], times["sql"], target=("<=", 2))
            print(f"gate throughput: {summary([rows / s / 1e6 for s in times['gate']])}M rows/s")


if __name__ == "__main__":
    main()
