"""Ingest every (or one) source and batch found in the landing zone, users first."""

import json
from collections.abc import Callable
from pathlib import Path

from privacy._keyring import current_hmac_key, vault_master_key
from weir.config import DataDir
from weir.contract import load_contract
from weir.errors import LandingError
from weir.ingest._load import Evidence, LoadResult, load_batch
from weir.landing import list_batches
from weir.warehouse import connect

# Users first: consent and DSR rows are checked against known users.
SOURCE_ORDER = [
    "users",
    "follows",
    "events",
    "orders",
    "reviews",
    "group_buys",
    "bargains",
    "live_streams",
    "assignments",
    "impressions",
    "consent",
    "dsr",
]


def ingest(
    data_dir: DataDir,
    source: str | None = None,
    batch_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    evidence: Evidence | None = None,
) -> list[LoadResult]:
    """Load matching batches; already-loaded batches are reported, not loaded again.

    `evidence` writes each batch's audit entry inside that batch's transaction."""
    if source is not None and source not in SOURCE_ORDER:
        raise LandingError(f"Unknown source {source!r}; use one of {', '.join(SOURCE_ORDER)}.")
    batches = [
        b
        for b in list_batches(data_dir.landing)
        if (source is None or b.source == source) and (batch_id is None or b.batch_id == batch_id)
    ]
    if not batches:
        what = (f"batch {batch_id}" if batch_id else "batch") + (f" of source {source}" if source else "")
        raise LandingError(f"No {what} in {data_dir.landing}; list the batches with `weir landing`.")
    batches.sort(key=lambda b: (SOURCE_ORDER.index(b.source) if b.source in SOURCE_ORDER else 99, b.batch_id))
    hmac_key, master = current_hmac_key(data_dir.keys), vault_master_key(data_dir.keys)
    con = connect(data_dir.warehouse)
    try:
        results = []
        for batch in batches:  # batches, not rows
            if progress:
                progress(f"ingest {batch.source}/{batch.batch_id}")
            folder = Path(data_dir.landing) / batch.source / batch.batch_id
            results.append(
                load_batch(con, load_contract(batch.source), folder, data_dir.landing, hmac_key, master, evidence)
            )
        return results
    finally:
        con.close()


def load_ledger(data_dir: DataDir, batch_id: str | None = None) -> list[LoadResult]:
    """The load ledger as recorded in the warehouse (read-only), in source order."""
    con = connect(data_dir.warehouse, read_only=True)
    try:
        rows = con.execute(
            "select source, batch_id, status, rows_in, rows_loaded, rows_quarantined, reasons "
            "from ingest.load_ledger where ? is null or batch_id = ?",
            [batch_id, batch_id],
        ).fetchall()
    finally:
        con.close()
    results = [LoadResult(s, b, st, i, lo, q, json.loads(r)) for s, b, st, i, lo, q, r in rows]
    return sorted(results, key=lambda r: (SOURCE_ORDER.index(r.source), r.batch_id))
