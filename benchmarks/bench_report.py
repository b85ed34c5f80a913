"""Auditor's report speed: `weir report audit` (gather + charts + HTML + PDF) against the SQL
queries it runs, timed alone on the same warehouse.

Usage: python benchmarks/bench_report.py [--users 1500] [--days 90] [--events 10000000] [--repeat 3]
The queries alone include every SQL statement the report runs (ledgers, PII-scan reads, consent
of published tables, linkability on the published copies). Builds a warehouse (generate,
ingest, dbt, publish gate, publish, one DP release), then grows
raw.events to --events rows by repeating its rows (the report reads raw.events for consent
coverage; the other ledgers keep their real size). Target: ratio report vs its queries <= 2.
After one warm-up of each (fonts, matplotlib, DuckDB caches), the report and its queries run
--repeat times in alternating order; the ratio is paired per repeat (median, min-max, worst).
"""

import argparse
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from _timing import add_repeat, alternate, ratio_lines, spread_line

from weir import mart_gate, pipeline
from weir.config import DataDir, resolve_data_dir
from weir.dsr import submit_request
from weir.generate import GenerateConfig, generate
from weir.report import Period, _consent, _evidence, _ledgers, write_report
from weir.sql import qualified

QUERIES = [
    (_consent.WEEKLY, "period"),
    (_consent.COVERAGE, "period"),
    (_consent.DSR_BY_TYPE, "period"),
    (_consent.DSR_TIMES, "period"),
    (_consent.DSR_OVERDUE, "overdue"),
    (_ledgers.SPENT, None),
    (_ledgers.RELEASES, "period"),
    (_ledgers.RUNS, "period"),
    (_ledgers.HELD, "period"),
    (_ledgers.REJECTED, "period"),
    (_ledgers.QUARANTINE, "period"),
    (_evidence.ROTATIONS, None),
    (_consent.IMPORTED, "period"),
]


def build(root: Path, users: int, days: int, events: int) -> DataDir:
    data_dir = resolve_data_dir(root)
    start = datetime.now(UTC).date() - timedelta(days=days)
    generate(GenerateConfig(users=users, days=days, seed=3, bad_rate=0.01, start=start), data_dir.landing)
    pipeline.ingest_stage(data_dir, "bench", stop_on_reject=False)
    pipeline.warehouse_stage(data_dir, "bench")
    pipeline.gate_marts_stage(data_dir, "bench")
    pipeline.publish_stage(data_dir, "bench")
    pipeline.dp_release_stage(data_dir, "bench", ["funnel_by_channel"], provisional=True)
    users = sorted((data_dir.landing / "users").glob("*/part-*.csv"))[0].read_text(errors="replace").splitlines()
    user = next(line.split(",")[0] for line in users[1:] if line.startswith("U"))
    submit_request(data_dir, "access", user, "bench")  # the DSR ledger exists, as in production
    with duckdb.connect(str(data_dir.warehouse)) as con:
        have = con.execute("select count(*) from raw.events").fetchone()[0]
        copies = max(1, -(-events // have))
        con.execute(
            "create or replace table raw.events as select e.* from raw.events e, range(?) limit ?", [copies, events]
        )
    return data_dir


def queries_alone(data_dir: DataDir, period: Period) -> None:
    """The report's SQL with the report's parameters, results fetched, nothing rendered: the
    ledger queries, the per-table reads of the PII scan, the consent check of each published
    table and the linkability check on the published copies (SQL, run by the publish gate's code)."""
    start, end = period.bounds
    params = {"period": {"start": start, "end": end}, "overdue": {"now": datetime.now(UTC), "end": end}, None: {}}
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute("attach ? as pub (read_only)", [str(data_dir.root / "published" / "published.duckdb")])
        for sql, kind in QUERIES:
            con.execute(sql, params[kind]).fetchall()
        for table, column in con.execute(_evidence.TEXT_COLUMNS).fetchall():
            con.execute(f"select distinct {qualified(column)} from {qualified('pub', 'main', table)}").fetchall()
        published = dict(con.execute("select mart, coalesce(purpose, '') from pub.main.published_marts").fetchall())
        _consent.unbased(con, published)
        mart_gate._linked_values(con, data_dir, sorted(published), where=("pub", "main"))
        con.execute("select mart, column_name, kind, count(*) from _linked group by all").fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1500)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--events", type=int, default=10_000_000)
    add_repeat(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = build(Path(tmp) / "world", args.users, args.days, args.events)
        today = datetime.now(UTC).date()
        period = Period(today - timedelta(days=args.days - 1), today)
        times = alternate(
            args.repeat,
            {"report": lambda: write_report(data_dir, period), "queries": lambda: queries_alone(data_dir, period)},
            warmup=True,
        )
    print(spread_line("weir report audit (all of it)", times["report"]))
    print(spread_line("its SQL queries alone", times["queries"]))
    ratio_lines("report vs its queries", times["report"], times["queries"], target=("<=", 2))


if __name__ == "__main__":
    main()
