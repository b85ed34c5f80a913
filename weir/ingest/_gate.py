"""The raw-batch quality gate, run on the staged batch before it commits.

The rows that passed the contract checks are validated in place by the source's Great
Expectations suite (expectations/): they sit in an in-memory database attached to the load's
connection, which GX reads through a cursor, before the load's transaction begins. (Copying
them out first, to Parquet or Arrow, cost 1.2 and 0.4 µs per row.) An error-level failure
turns every staged good row into a quarantine row (`gate_rejected`): the batch never reaches
`raw`, nothing is lost (rows_in = rows_loaded + rows_quarantined still holds), and the
findings are kept in `quality.runs` / `quality.findings` with the ledger line (status
`rejected`).
"""

from pathlib import Path

import duckdb

from expectations import GateResult, raw_suite, validate
from expectations._suites import VOLUME_MIN_ROWS, Baseline, event_time_column
from weir.contract import Contract
from weir.quality import Checked, record_runs
from weir.sql import ident
from weir.warehouse import tables

REJECTED = "gate_rejected"
# Ledger lines written before lineages were recorded: exports' batch ids start with byo-.
LINEAGE_SQL = "coalesce(lineage, case when batch_id like 'byo-%' then 'mapping:unknown' else 'generator' end)"


def gate_staged(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    checked: str,
    docs: Path | None = None,
    lineage: tuple[str, bool] = ("generator", True),
) -> GateResult | None:
    """Validate the good rows of the `checked` table; None when there are none (nothing would
    be loaded). Runs are kept for Data Docs in the GX project at `docs`. `lineage`: the
    batch's dataset and whether its volume is compared with that dataset's previous batch."""
    if con.execute(f"select count(*) from {checked} where reason is null").fetchall()[0][0] == 0:
        return None
    columns = ", ".join(f"{ident('o_' + c.out_name)} as {ident(c.out_name)}" for c in contract.kept)
    suite = raw_suite(contract, baseline(con, contract, *lineage))
    return validate(None, suite, f"select {columns} from {checked} where reason is null", docs=docs, connection=con)


def baseline(
    con: duckdb.DuckDBPyConnection, contract: Contract, lineage: str = "generator", compare: bool = True
) -> Baseline | None:
    """The rows per day of the previous loaded batch of this source and dataset lineage (a real
    export is never compared with generated batches), and raw's newest event time."""
    event_time = event_time_column(contract)
    if not event_time or contract.source not in tables(con, "raw"):
        return None
    previous = con.execute(
        "select batch_id from ingest.load_ledger where source = ? and status = 'loaded' and rows_loaded >= ? "
        f"and {LINEAGE_SQL} = ? order by loaded_at desc limit 1",
        [contract.source, VOLUME_MIN_ROWS, lineage],
    ).fetchall()
    rows_per_day = None
    if previous and compare and contract.volume == "steady":
        rows_per_day = con.execute(
            f"select count(*) / greatest(count(distinct date_trunc('day', {event_time})), 1) "
            f"from raw.{contract.source} where _batch_id = ?",
            [previous[0][0]],
        ).fetchall()[0][0]
    newest = con.execute(f"select max({event_time}) from raw.{contract.source}").fetchall()[0][0]
    return Baseline(rows_per_day or None, newest)


def reject(con: duckdb.DuckDBPyConnection, checked: str, result: GateResult) -> None:
    """Quarantine every staged good row, naming the failed checks."""
    failed = [f for f in result.findings if f.severity == "error"]
    message = f"batch rejected by quality gate {result.suite}: " + "; ".join(
        f"{f.expectation} (column {f.column}): observed {f.observed}" for f in failed
    )
    con.execute(f"update {checked} set reason = ?, message = ? where reason is null", [REJECTED, message[:2000]])


def record(con: duckdb.DuckDBPyConnection, source: str, batch_id: str, result: GateResult | None) -> None:
    """Keep the run and every finding (error and warn) in quality.*; the caller's transaction commits it."""
    if result is not None:
        record_runs(con, [Checked(source, batch_id, result)])
