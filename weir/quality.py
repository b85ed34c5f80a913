"""Run the raw suites (expectations/) over loaded batches and keep every result in the warehouse.

This checks what is already in `raw` (per landing batch, or everything); the gate *before*
commit (weir/ingest/_gate.py) and the publish gate (weir/mart_gate.py) record here too.
Results go to `quality.runs` (one row per suite and batch) and `quality.findings` (one row per
failed check), so pass rates can be charted over time.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from expectations import GateResult, build_docs, raw_suite, validate
from weir.config import DataDir
from weir.contract import all_contracts
from weir.warehouse import connect, tables

DDL = """
create schema if not exists quality;
create table if not exists quality.runs (
    suite varchar not null, batch_id varchar, checked_at timestamptz not null,
    evaluated integer not null, failed_error integer not null, failed_warn integer not null, blocked boolean not null
);
create table if not exists quality.findings (
    suite varchar not null, batch_id varchar, checked_at timestamptz not null,
    expectation varchar not null, column_name varchar, severity varchar not null, observed varchar
);
"""


@dataclass(frozen=True)
class Checked:
    source: str
    batch_id: str | None
    result: GateResult


def check_raw(data_dir: DataDir, batch_id: str | None = None) -> list[Checked]:
    """Validate every raw table (only `batch_id`'s rows when given) and record the results."""
    con = connect(data_dir.warehouse, read_only=True)
    try:
        present = tables(con, "raw")
    finally:
        con.close()
    checked = []
    for contract in all_contracts():
        if contract.source not in present:
            continue
        where = " where _batch_id = '" + batch_id.replace("'", "''") + "'" if batch_id else ""
        query = f"select * from raw.{contract.source}{where}"
        result = validate(data_dir.warehouse, raw_suite(contract), query, docs=data_dir.quality)
        checked.append(Checked(contract.source, batch_id, result))
    record(data_dir, checked)
    build_docs(data_dir.quality)
    return checked


def record(data_dir: DataDir, checked: list[Checked]) -> None:
    """Keep every run and finding in the warehouse (quality.runs / quality.findings)."""
    con = connect(data_dir.warehouse)
    try:
        con.execute("begin transaction")
        record_runs(con, checked)
        con.execute("commit")
    finally:
        con.close()


def record_runs(con: duckdb.DuckDBPyConnection, checked: list[Checked]) -> None:
    """Insert the runs and findings; the caller owns the transaction (ingest commits them with the batch)."""
    now = datetime.now(UTC)
    con.execute(DDL)
    for c in checked:
        errors = sum(f.severity == "error" for f in c.result.findings)
        warns = len(c.result.findings) - errors
        con.execute(
            "insert into quality.runs values (?, ?, ?, ?, ?, ?, ?)",
            [c.result.suite, c.batch_id, now, c.result.evaluated, errors, warns, c.result.blocked],
        )
        for f in c.result.findings:
            con.execute(
                "insert into quality.findings values (?, ?, ?, ?, ?, ?, ?)",
                [f.suite, c.batch_id, now, f.expectation, f.column, f.severity, str(f.observed)],
            )


def pass_rates(data_dir: DataDir) -> list[tuple]:
    """Per suite: runs, runs blocked, and the share of expectations that passed (for reports)."""
    con = connect(data_dir.warehouse, read_only=True)
    try:
        if "runs" not in tables(con, "quality"):
            return []
        return con.execute(
            "select suite, count(*), count(*) filter (where blocked), "
            "1 - sum(failed_error + failed_warn) / sum(evaluated), max(checked_at) "
            "from quality.runs group by suite order by suite"
        ).fetchall()
    finally:
        con.close()
