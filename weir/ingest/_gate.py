"""The raw-batch quality gate, run on the staged batch before it commits.

The rows that passed the contract checks are written to a Parquet file and validated there
by the source's Great Expectations suite (expectations/), inside an in-memory DuckDB, so
nothing uncommitted has to be visible to another connection. An error-level failure turns
every staged good row into a quarantine row (`gate_rejected`): the batch never reaches `raw`,
nothing is lost (rows_in = rows_loaded + rows_quarantined still holds), and the findings are
kept in `ingest.gate_findings` with the ledger line (status `rejected`).
"""

import json
from pathlib import Path

import duckdb

from expectations import GateResult, raw_suite, validate
from weir.contract import Contract

DDL = """
create table if not exists ingest.gate_findings (
    source varchar not null, batch_id varchar not null, suite varchar not null, expectation varchar not null,
    column_name varchar, severity varchar not null, observed varchar);
"""
REJECTED = "gate_rejected"


def gate_staged(con: duckdb.DuckDBPyConnection, contract: Contract, work_dir: Path) -> GateResult | None:
    """Validate the good staged rows; None when there are none (nothing would be loaded)."""
    if con.execute("select count(*) from _checked where reason is null").fetchone()[0] == 0:
        return None
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / f".gate_{contract.source}.parquet"
    columns = ", ".join(f'"o_{c.out_name}" as "{c.out_name}"' for c in contract.kept)
    con.execute(f"copy (select {columns} from _checked where reason is null) to '{path}' (format parquet)")
    try:
        return validate(None, raw_suite(contract), f"select * from read_parquet('{path}')")
    finally:
        path.unlink(missing_ok=True)


def reject(con: duckdb.DuckDBPyConnection, result: GateResult) -> None:
    """Quarantine every staged good row, naming the failed checks."""
    failed = [f for f in result.findings if f.severity == "error"]
    message = f"batch rejected by quality gate {result.suite}: " + "; ".join(
        f"{f.expectation} (column {f.column}): observed {f.observed}" for f in failed
    )
    con.execute("update _checked set reason = ?, message = ? where reason is null", [REJECTED, message[:2000]])


def record(con: duckdb.DuckDBPyConnection, source: str, batch_id: str, result: GateResult | None) -> None:
    """Keep every finding (error and warn) with the batch; the caller's transaction commits it."""
    con.execute(DDL)
    for f in result.findings if result else []:
        con.execute(
            "insert into ingest.gate_findings values (?, ?, ?, ?, ?, ?, ?)",
            [source, batch_id, f.suite, f.expectation, f.column, f.severity, json.dumps(f.observed, default=str)],
        )
