"""Ingest every (or one) source and batch found in the landing zone, users first.

Each batch is loaded on its own connection, locked down to that batch's files (see
`_read.lock_down`), so SQL that a hostile export might smuggle in cannot reach the keys or
another batch. A batch that fails to load is recorded as `failed` in the load ledger with its
error and skipped by later runs until `weir ingest --retry BATCH`: one bad export does not
block every later ingest.
"""

import json
from collections.abc import Callable
from pathlib import Path

import duckdb

from privacy._consent import ensure_ledger
from privacy._keyring import SecretKey, current_hmac_key, vault_master_key
from weir.config import DataDir
from weir.contract import load_contract
from weir.errors import LandingError, WeirError
from weir.ingest._hold import hold_incomplete, into_held, restore_held
from weir.ingest._load import DDL, Evidence, LoadResult, load_batch
from weir.ingest._read import lock_down, part_files
from weir.ingest._transform import raw_ddl
from weir.landing import Batch, list_batches
from weir.sql import ident
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
# Views an earlier ingest left in the warehouse (a Parquet part registered with `to_view`, fixed
# since): each reads a landing file, so any warehouse reader could query raw rows through it.
LEAKED_VIEW = "_lines_[0-9]+"
# Records, in the transaction that drops them, which leaked views were removed (weir.audit).
CleanupEvidence = Callable[[duckdb.DuckDBPyConnection, list[str]], None]


def ingest(
    data_dir: DataDir,
    source: str | None = None,
    batch_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    evidence: Evidence | None = None,
    retry: str | None = None,
    cleanup_evidence: CleanupEvidence | None = None,
) -> list[LoadResult]:
    """Load matching batches; already-loaded batches are reported, not loaded again.

    A batch recorded as failed is skipped (status `skipped_failed`) unless it is `retry`; a
    folder of no known source is skipped too (`skipped_unknown`). `evidence` writes each
    batch's audit entry inside that batch's transaction (a failed batch's too);
    `cleanup_evidence` the entry for views an earlier ingest leaked (`drop_leaked_views`).
    """
    if source is not None and source not in SOURCE_ORDER:
        raise LandingError(f"Unknown source {source!r}; use one of {', '.join(SOURCE_ORDER)}.")
    if retry is not None and batch_id not in (None, retry):
        raise LandingError(f"--retry {retry} and --batch {batch_id} name different batches; pass just --retry.")
    batch_id = retry or batch_id
    batches = [
        b
        for b in list_batches(data_dir.landing)
        if (source is None or b.source == source) and (batch_id is None or b.batch_id == batch_id)
    ]
    if not batches:
        what = (f"batch {batch_id}" if batch_id else "batch") + (f" of source {source}" if source else "")
        raise LandingError(f"No {what} in {data_dir.landing}; list the batches with `weir landing`.")
    batches.sort(key=lambda b: (SOURCE_ORDER.index(b.source) if b.source in SOURCE_ORDER else 99, b.batch_id))
    drop_leaked_views(data_dir, cleanup_evidence)
    create_raw_tables(data_dir)
    hmac_key, master = current_hmac_key(data_dir.keys), vault_master_key(data_dir.keys)
    results = []
    for batch in batches:  # batches, not rows
        if progress:
            progress(f"ingest {batch.source}/{batch.batch_id}")
        if batch.source not in SOURCE_ORDER:
            error = (
                f"landing/{batch.source} is not a Weir source (no data contract); "
                f"move it out of {data_dir.landing}, or land exports with `weir ingest --mapping`."
            )
            results.append(LoadResult(batch.source, batch.batch_id, "skipped_unknown", 0, 0, 0, error=error))
            continue
        results.append(_ingest_batch(data_dir, batch, hmac_key, master, batch.batch_id == retry, evidence))
    return _hold(data_dir, results, evidence)


def create_raw_tables(data_dir: DataDir) -> None:
    """Every source's raw table, empty until a batch loads: an export of one source (events
    only) builds the warehouse, its marts over absent sources coming out empty."""
    con = connect(data_dir.warehouse)
    try:
        con.execute(DDL)
        ensure_ledger(con)  # consent.ledger and consent.bases: dim_consent reads the latter
        for source in SOURCE_ORDER:
            con.execute(raw_ddl(load_contract(source)))
    finally:
        con.close()


def drop_leaked_views(data_dir: DataDir, evidence: CleanupEvidence | None = None) -> list[str]:
    """Drop every `main._lines_*` view an earlier ingest left in the warehouse; their names.

    Idempotent (nothing found: nothing written); a drop is evidenced in its own transaction."""
    if not data_dir.warehouse.exists():
        return []
    con = connect(data_dir.warehouse)
    try:
        names = [
            r[0]
            for r in con.execute(
                "select view_name from duckdb_views() where database_name = current_database() "
                "and schema_name = 'main' and not temporary and regexp_full_match(view_name, ?) order by view_name",
                [LEAKED_VIEW],
            ).fetchall()
        ]
        if names:
            con.begin()
            for name in names:
                con.execute(f"drop view main.{ident(name)}")
            if evidence is not None:
                evidence(con, names)
            con.commit()
    finally:
        con.close()
    return names


def _hold(data_dir: DataDir, results: list[LoadResult], evidence: Evidence | None) -> list[LoadResult]:
    """Hold every batch of this run that has a rejected source out of raw (see `_hold`); a
    source loaded on its own after another of its batch was rejected is held too."""
    rejected = sorted({r.batch_id for r in results if r.status in ("rejected", "loaded")})
    if not any(r.status == "rejected" for r in results) and not _any_rejected(data_dir, rejected):
        return results
    con = connect(data_dir.warehouse)
    try:
        held = {(r.source, r.batch_id): r for b in rejected for r in hold_incomplete(con, b, evidence)}
    finally:
        con.close()
    return [held.get((r.source, r.batch_id), r) for r in results]


def _any_rejected(data_dir: DataDir, batch_ids: list[str]) -> bool:
    if not batch_ids:
        return False
    con = connect(data_dir.warehouse)
    try:
        found = con.execute(
            "select 1 from ingest.load_ledger where status = 'rejected' and list_contains(?, batch_id) limit 1",
            [batch_ids],
        ).fetchone()
    finally:
        con.close()
    return found is not None


def release(data_dir: DataDir, batch_id: str, evidence: Evidence | None = None) -> list[LoadResult]:
    """Load a held batch after review: its rejected sources load with the gate's findings waived
    into the held tables (one transaction each), then every held source moves into raw in one
    transaction. Nothing reaches raw before the whole batch does; running it again finishes a
    release that stopped half-way."""
    con = connect(data_dir.warehouse)
    try:
        con.execute(DDL)
        statuses = dict(
            con.execute("select source, status from ingest.load_ledger where batch_id = ?", [batch_id]).fetchall()
        )
    finally:
        con.close()
    if not {"rejected", "held"} & set(statuses.values()):
        raise LandingError(
            f"Batch {batch_id} is not held (no source of it was rejected by the raw gate); nothing to release. "
            "Held batches are those with status held or rejected in `weir ingest --json` / ingest.load_ledger."
        )
    hmac_key, master = current_hmac_key(data_dir.keys), vault_master_key(data_dir.keys)
    for source in [s for s in SOURCE_ORDER if statuses.get(s) == "rejected"]:  # users first
        batch = Batch(source, batch_id, 0, 0)
        loaded = _ingest_batch(data_dir, batch, hmac_key, master, False, into_held(evidence), release=True)
        if loaded.status != "loaded":  # e.g. its folder became a link: stop before anything moves
            raise LandingError(
                f"Releasing {source}/{batch_id} stopped: {loaded.error or loaded.status}. Nothing of the batch "
                f"is in raw; fix it, then run `weir ingest --release {batch_id}` again."
            )
    con = connect(data_dir.warehouse)
    try:
        return restore_held(con, batch_id, evidence)
    finally:
        con.close()


def _ingest_batch(
    data_dir: DataDir,
    batch: Batch,
    hmac_key: SecretKey,
    master: SecretKey,
    retry: bool,
    evidence: Evidence | None,
    release: bool = False,
) -> LoadResult:
    """Load one batch on a connection of its own, locked down to the batch's files."""
    folder = Path(data_dir.landing) / batch.source / batch.batch_id
    con = connect(data_dir.warehouse)
    try:
        con.execute(DDL)
        failed = con.execute(
            "select error from ingest.load_ledger where source = ? and batch_id = ? and status = 'failed'",
            [batch.source, batch.batch_id],
        ).fetchone()
        if failed is not None and not retry:
            error = (
                f"failed earlier ({failed[0].rstrip('.')}); fix it, then run `weir ingest --retry {batch.batch_id}`."
            )
            return LoadResult(batch.source, batch.batch_id, "skipped_failed", 0, 0, 0, error=error)
        if failed is not None:
            con.execute(
                "delete from ingest.load_ledger where source = ? and batch_id = ?", [batch.source, batch.batch_id]
            )
        try:
            lock_down(con, folder)
            contract = load_contract(batch.source)
            return load_batch(con, contract, folder, data_dir.landing, hmac_key, master, evidence, release)
        except Exception as err:  # any error: one bad batch never blocks the others
            if _recorded(con, batch) and not _refused(folder):  # e.g. its files changed since it loaded
                raise
            if _recorded(con, batch):  # loaded when its folder was a real one: the ledger keeps that
                error = f"{str(err).splitlines()[0].rstrip('.')} (loaded earlier: its rows stay in raw)."
                return LoadResult(batch.source, batch.batch_id, "failed", 0, 0, 0, error=error)
            # The first line only: messages come from our code, DuckDB or a library, never a value.
            error = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if not isinstance(err, (WeirError, duckdb.Error)):
                error = f"{type(err).__name__}: {error}"
            result = LoadResult(batch.source, batch.batch_id, "failed", 0, 0, 0, error=error)
            _record_failure(con, result, hmac_key.version, evidence)
            return result
    finally:
        con.close()


def _refused(folder: Path) -> bool:
    """The batch folder is now a link, or under one (e.g. its whole source folder)."""
    try:
        part_files(folder)
    except LandingError:
        return True
    return False


def _recorded(con: duckdb.DuckDBPyConnection, batch: Batch) -> bool:
    where = "source = ? and batch_id = ?"
    return (
        con.execute(f"select 1 from ingest.load_ledger where {where}", [batch.source, batch.batch_id]).fetchone()
        is not None
    )


def _record_failure(
    con: duckdb.DuckDBPyConnection, result: LoadResult, key_version: int, evidence: Evidence | None
) -> None:
    """A `failed` ledger line (nothing loaded: all counts 0) that later runs skip, evidenced with it."""
    con.begin()  # load_batch rolled its own transaction back
    con.execute(
        "insert or replace into ingest.load_ledger (source, batch_id, fingerprint, status, rows_in, rows_loaded, "
        "rows_quarantined, reasons, key_version, loaded_at, error) "
        "values (?, ?, ?, 'failed', 0, 0, 0, '{}', ?, now(), ?)",
        # No fingerprint: --retry reads the batch afresh, and its parts may be what failed
        # (a link to a file elsewhere must not even be hashed).
        [result.source, result.batch_id, "", key_version, (result.error or "")[:2000]],
    )
    if evidence is not None:
        evidence(con, result)
    con.commit()


def failure_message(results: list[LoadResult]) -> str | None:
    """One line naming each batch that failed in this run, its error, and how to retry it."""
    failed = [r for r in results if r.status == "failed"]
    if not failed:
        return None
    each = "; ".join(f"{r.source}/{r.batch_id}: {(r.error or '').rstrip('.')}" for r in failed)
    retry = " / ".join(f"`weir ingest --retry {r.batch_id}`" for r in failed)
    return (
        f"{len(failed)} batch(es) failed and were not loaded (recorded as failed, skipped by later runs): "
        f"{each}. Fix the export, then run {retry}."
    )


def load_ledger(data_dir: DataDir, batch_id: str | None = None) -> list[LoadResult]:
    """The load ledger as recorded in the warehouse (read-only), in source order."""
    con = connect(data_dir.warehouse, read_only=True)
    try:
        # A ledger written before failed batches were recorded has no `error` column.
        columns = {r[0] for r in con.execute("describe ingest.load_ledger").fetchall()}
        error = "error" if "error" in columns else "null"
        rows = con.execute(
            f"select source, batch_id, status, rows_in, rows_loaded, rows_quarantined, reasons, {error} "
            "from ingest.load_ledger where ? is null or batch_id = ?",
            [batch_id, batch_id],
        ).fetchall()
    finally:
        con.close()
    results = [LoadResult(s, b, st, i, lo, q, json.loads(r), e) for s, b, st, i, lo, q, r, e in rows]
    return sorted(results, key=lambda r: (SOURCE_ORDER.index(r.source), r.batch_id))
