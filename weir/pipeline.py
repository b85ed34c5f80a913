"""Pipeline stages as plain functions: the CLI, the Airflow DAG and the tests call these."""

import logging
import os
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expectations import Finding, build_docs
from privacy import load_or_create_signing_key
from weir import audit, dbt, policy, retention
from weir.config import DataDir, ensure_writable
from weir.dp_periods import closed_periods
from weir.errors import ConfigError, LandingError, QualityGateBlocked
from weir.generate import GenerateConfig, GenerateResult, generate, latest_manifest, plan
from weir.ingest import LoadResult, RotationResult, failure_message, ingest, load_ledger, release, rotate_keys
from weir.mart_gate import gate_marts
from weir.publish import PublishResult, publish, published_dir
from weir.quality import Checked
from weir.retention import RetentionResult, apply_retention
from weir.warehouse import connect, tables

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # weir.dp loads OpenDP (and scikit-learn): only the DP stage needs it
    from weir import dp


def record(data_dir: DataDir, actor: str, action: str, inputs: dict, figures: dict) -> audit.AuditEntry:
    """Append one audit entry to the warehouse log (its own transaction) and witness it."""
    con = connect(data_dir.warehouse)
    try:
        key = signing_key(data_dir, con)
        return audit.append(con, key, data_dir.audit_witness, actor, action, inputs, figures)
    finally:
        con.close()


def signing_key(data_dir: DataDir, con: duckdb.DuckDBPyConnection | None = None) -> Ed25519PrivateKey:
    """The audit signing key; created only while nothing was ever signed with one.

    Without `con`, the warehouse is opened read-only to look for entries."""
    signed = data_dir.audit_witness.exists()
    if not signed and con is not None:
        signed = audit.has_entries(con)
    elif not signed and data_dir.warehouse.exists():
        with connect(data_dir.warehouse, read_only=True) as reader:
            signed = audit.has_entries(reader)
    return load_or_create_signing_key(data_dir.keys, create=not signed)


def witness_committed(data_dir: DataDir, key: Ed25519PrivateKey) -> None:
    """Witness the log's head after writers that put their entries in their own transactions."""
    if data_dir.warehouse.exists():
        with connect(data_dir.warehouse, read_only=True) as con:
            audit.witness_head(con, key, data_dir.audit_witness)


def generate_stage(
    data_dir: DataDir,
    config: GenerateConfig,
    actor: str,
    progress: Callable[[str], None] | None = None,
) -> GenerateResult:
    """Generate a batch into the landing zone and evidence it in the audit log."""
    ensure_writable(data_dir)
    result = generate(config, data_dir.landing, progress)
    record(
        data_dir,
        actor,
        "generate",
        inputs={
            "config": {
                "users": config.users,
                "days": config.days,
                "seed": config.seed,
                "bad_rate": config.bad_rate,
                "start": config.start.isoformat(),
                "origin": config.origin.isoformat() if config.origin else None,
            },
            "manifest_sha256": audit.file_fingerprint(result.manifest),
        },
        figures={
            "batch_id": result.batch_id,
            "rows": result.rows,
            "injected": {s: sum(c.values()) for s, c in result.injected.items()},
        },
    )
    return result


def config_from_params(
    params: dict, landing: Path | None = None, interval: tuple[datetime, datetime] | None = None
) -> GenerateConfig:
    """Build a generator config from DAG params / CLI values (strings allowed; None: derived).

    With `continue` (the DAG's default) and a world landed in `landing`, the batch is that world's
    next one; a scheduled run's data interval gives its start and days, so each day lands once."""
    start, days = params.get("start") or None, params.get("days")
    if interval is not None and interval[1] > interval[0] and start is None:
        start, days = interval[0].date(), days or max(1, (interval[1] - interval[0]).days)
    seed = None if params.get("seed") is None else int(params["seed"])
    cont = bool(params.get("continue")) and landing is not None and latest_manifest(landing, seed) is not None
    return plan(
        landing or Path("."),
        cont=cont,
        users=None if params.get("users") is None else int(params["users"]),
        days=None if days is None else int(days),
        seed=seed,
        bad_rate=float(params.get("bad_rate") or 0.0),
        start=None if start is None else date.fromisoformat(str(start)),
    )


def verify_audit(data_dir: DataDir) -> audit.VerifyReport:
    """Verify the audit chain of the warehouse and its witness against the data dir's signing key.

    Reads only: a missing warehouse or table is reported (with a witness present), not created."""
    entries, loads = None, 0
    if data_dir.warehouse.exists():
        with connect(data_dir.warehouse, read_only=True) as con:
            entries = audit.read_entries(con)
            if "load_ledger" in tables(con, "ingest"):
                loads = con.execute("select count(*) from ingest.load_ledger").fetchone()[0]
    copies = tuple(p for p in [witness_copy(data_dir)] if p.exists())
    if not entries and not data_dir.audit_witness.exists() and not copies:
        if loads:  # batches were loaded, and every load is evidenced: the log and witness were wiped
            return audit.VerifyReport(
                0,
                None,
                f"the audit log and its witness are gone but ingest.load_ledger records {loads} batch(es) "
                "(log and witness wiped); restore them from backup",
            )
        return audit.VerifyReport(0, None, None)  # nothing was ever recorded here
    key = load_or_create_signing_key(data_dir.keys, create=False)
    return audit.verify(entries, key.public_key(), data_dir.audit_witness, copies)


def witness_copy(data_dir: DataDir) -> Path:
    """Where the published layer keeps its copy of the audit witness."""
    return published_dir(data_dir) / "audit_witness.jsonl"


def load_figures(result: LoadResult) -> dict:
    """A load's status and counts, as its audit entry records them."""
    return {
        "status": result.status,
        "rows_in": result.rows_in,
        "rows_loaded": result.rows_loaded,
        "rows_quarantined": result.rows_quarantined,
    }


def load_evidence(
    key: Ed25519PrivateKey, actor: str, action: str, **inputs: str
) -> Callable[[duckdb.DuckDBPyConnection, LoadResult], None]:
    """The audit entry of one batch's load or release, written inside its transaction (the rows,
    the ledger line and the entry commit together); `inputs` adds e.g. a release's reason."""

    def evidence(con: duckdb.DuckDBPyConnection, result: LoadResult) -> None:
        batch = f"{result.source}/{result.batch_id}"
        figures = {**load_figures(result), "reasons": result.reasons}
        if result.bases:  # lawful bases other than consent, declared by the export's mapping
            figures["lawful_bases"] = result.bases
        audit.append_in(con, key, actor, action, inputs={"batch": batch, **inputs}, figures=figures)

    return evidence


def ingest_stage(
    data_dir: DataDir,
    actor: str,
    source: str | None = None,
    batch_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    stop_on_reject: bool = True,
    retry: str | None = None,
) -> list[LoadResult]:
    """Load landing batches into `raw` and evidence every load in the audit log.

    Each source's raw gate runs before its commit; a rejected batch stays out of `raw`. With
    `stop_on_reject` the stage then fails with the findings; Airflow leaves that to `gate_raw`.
    A batch that failed to load (recorded `failed`, the others still load) fails the stage.
    """
    key = signing_key(data_dir)
    evidence = load_evidence(key, actor, "ingest_batch")

    def cleanup(con: duckdb.DuckDBPyConnection, views: list[str]) -> None:
        # Views of landing files an earlier ingest left in the warehouse (dropped in this transaction).
        audit.append_in(con, key, actor, "drop_leaked_views", inputs={"views": views}, figures={"dropped": len(views)})

    try:
        results = ingest(data_dir, source, batch_id, progress, evidence=evidence, retry=retry, cleanup_evidence=cleanup)
    finally:
        witness_committed(data_dir, key)  # also when a later batch failed: earlier ones committed
    # Withdrawals reach the published scores now, not at the next score run. Every ingest checks
    # (it writes nothing when no row has to go), so one that failed here is caught by the next.
    from federated.scores import forget_withdrawn  # lazy: federated imports this module

    forget_withdrawn(data_dir, actor)
    if (data_dir.quality / "gx").exists():
        build_docs(data_dir.quality)  # the raw gates' runs, before a failure stops the pipeline
    failed = failure_message(results)
    if failed:
        raise LandingError(failed)
    rejected = [r for r in results if r.status == "rejected"]
    if rejected and stop_on_reject:
        raise QualityGateBlocked(rejection_message(data_dir, rejected))
    return results


MAX_REASON = 500  # a reviewer's note, not a document


def release_stage(data_dir: DataDir, actor: str, batch_id: str, reason: str) -> list[LoadResult]:
    """Release a held batch after review (`weir ingest --release`): every source it moves into
    raw is audited with the reason, in the transaction that moves it."""
    reason = " ".join(reason.split())
    if not reason:
        raise ConfigError("--release needs --reason: say why the held batch may load (e.g. the review's outcome).")
    if len(reason) > MAX_REASON:
        raise ConfigError(f"--reason is {len(reason)} characters; keep it to {MAX_REASON} (link to the review).")
    key = signing_key(data_dir)
    try:
        results = release(data_dir, batch_id, load_evidence(key, actor, "ingest_release", reason=reason))
    finally:
        witness_committed(data_dir, key)
    failed = failure_message(results)
    if failed:
        raise LandingError(failed)
    return results


def raw_gate_stage(data_dir: DataDir, actor: str, batch_id: str) -> dict[str, str]:
    """The raw gate's verdict on a landing batch: source -> loaded | rejected, evidenced; fails
    naming suite, check, column and observed value when any source was rejected before commit."""
    results = load_ledger(data_dir, batch_id)
    verdicts = {r.source: r.status for r in results}
    record(data_dir, actor, "quality_gate_raw", inputs={"batch_id": batch_id}, figures=verdicts)
    rejected = [r for r in results if r.status == "rejected"]
    if rejected:
        raise QualityGateBlocked(rejection_message(data_dir, rejected))
    return verdicts


def rejection_message(data_dir: DataDir, rejected: list[LoadResult]) -> str:
    """Which batches the raw gate kept out of `raw`, and the error findings that did it."""
    con = connect(data_dir.warehouse, read_only=True)
    try:
        lines = []
        for r in rejected:
            findings = con.execute(
                "select expectation, column_name, observed from quality.findings "
                "where suite = ? and batch_id = ? and severity = 'error' order by checked_at, expectation",
                [f"raw_{r.source}", r.batch_id],
            ).fetchall()
            found = [str(Finding(f"raw_{r.source}", e, c, o, "error")) for e, c, o in findings]
            lines.append(f"{r.source}/{r.batch_id}:\n" + "\n".join(f"  {f}" for f in found))
    finally:
        con.close()
    batches = " ".join(sorted({r.batch_id for r in rejected}))
    return (
        f"{len(rejected)} batch(es) failed the quality gate and were kept out of raw "
        "(their rows are in ingest.quarantine as gate_rejected; the batch's other sources are held "
        f"out of raw until review: `weir ingest --release BATCH --reason TEXT`, batch {batches}):\n" + "\n".join(lines)
    )


def rotate_stage(data_dir: DataDir, actor: str) -> RotationResult:
    """Rotate the pseudonymisation key, re-tokenising the warehouse; the audit entry commits in
    the rotation's transaction."""
    key = signing_key(data_dir)

    def evidence(con: duckdb.DuckDBPyConnection, result: RotationResult) -> None:
        audit.append_in(
            con,
            key,
            actor,
            "keys_rotate",
            inputs={"old_version": result.old_version},
            figures={
                "new_version": result.new_version,
                "tokens_mapped": result.tokens_mapped,
                "columns_rewritten": result.columns_rewritten,
            },
        )

    try:
        return rotate_keys(data_dir, evidence)
    finally:
        witness_committed(data_dir, key)


def retention_stage(data_dir: DataDir, actor: str, now: datetime) -> list[RetentionResult]:
    """Enforce the contracts' retention periods on the warehouse, then remove the expired landing
    batches (weir.retention.remove_landing); each audit entry commits in the
    same transaction as the deletions."""
    con = connect(data_dir.warehouse)
    try:
        key = signing_key(data_dir, con)

        def evidence(con: duckdb.DuckDBPyConnection, results: list[RetentionResult]) -> None:
            figures = {
                r.source: {"rows_deleted": r.rows_deleted, "columns_cleared": r.columns_cleared} for r in results
            }
            audit.append_in(con, key, actor, "retention", inputs={"as_of": now.isoformat()}, figures=figures)

        days = retention.landing_days(os.environ.get(retention.LANDING_ENV))  # refused before any change
        results = apply_retention(con, now, evidence)

        def landing_evidence(con: duckdb.DuckDBPyConnection, expired: list[tuple[str, str]]) -> None:
            batches = [f"{s}/{b}" for s, b in expired]
            audit.append_in(
                con, key, actor, "retention_landing", {"as_of": now.isoformat(), "days": days}, {"batches": batches}
            )

        removed = retention.remove_landing(con, data_dir.landing, now, days, landing_evidence)
        results = retention.with_landing(results, removed)
        audit.witness_head(con, key, data_dir.audit_witness)
    finally:
        con.close()
    return results


def warehouse_stage(
    data_dir: DataDir, actor: str, full_refresh: bool = False, progress: Callable[[str], None] | None = None
) -> dbt.DbtRun:
    """Check the marts against the policy, then `dbt build`. dbt's on-run-end hook writes the
    build's audit entry with its results, in one transaction; the head is witnessed after."""
    policy.enforce_manifest(dbt.parse(data_dir))
    key = signing_key(data_dir)  # created here on a first run; never by dbt once something is signed
    try:
        return dbt.build(data_dir, full_refresh=full_refresh, progress=progress, actor=actor)
    finally:
        witness_committed(data_dir, key)


def gate_marts_stage(data_dir: DataDir, actor: str, fail_on_block: bool = False) -> list[Checked]:
    """Run the publish gate on the publishable marts; evidence the verdicts. With `fail_on_block`
    (the Airflow task), a blocked mart fails the stage naming suite, check, column and observed."""
    checked = gate_marts(data_dir)
    record(
        data_dir,
        actor,
        "quality_gate_marts",
        inputs={"marts": [c.source for c in checked]},
        figures={c.source: {"blocked": c.result.blocked, "failed": len(c.result.findings)} for c in checked},
    )
    blocked = [c.result.message() for c in checked if c.result.blocked]
    if blocked and fail_on_block:
        raise QualityGateBlocked("Marts held back from publishing:\n" + "\n".join(blocked))
    return checked


def publish_stage(data_dir: DataDir, actor: str, since: datetime | None = None, gate: bool = True) -> PublishResult:
    """Gate (unless a separate task just did), then publish the marts that passed; evidence what
    was published and what was held back."""
    if gate:
        gate_marts_stage(data_dir, actor)
    result = publish(data_dir, since)
    record(
        data_dir,
        actor,
        "publish",
        inputs={"since": since.isoformat() if since else None},
        figures={
            "published": result.published,
            "blocked": {b.mart: b.reason for b in result.blocked},
            "versions_removed": result.versions_removed,
            "empty": result.empty,
        },
    )
    for mart, why in result.empty.items():
        log.info("published %s empty: %s", mart, why)  # the Airflow task log says what it needs
    audit.copy_witness(data_dir.audit_witness, witness_copy(data_dir))  # heads up to this publish
    return result


def dp_release_stage(
    data_dir: DataDir,
    actor: str,
    names: list[str],
    period: str | None = None,
    re_release: bool = False,
    provisional: bool = False,
) -> "list[dp.Released]":
    """Run DP releases in order; each spend, its stored release and its audit entry commit in one
    transaction (a reused release spends and records nothing)."""
    from weir import dp

    key = signing_key(data_dir)

    def evidence(con: duckdb.DuckDBPyConnection, released: "dp.Released") -> None:
        audit.append_in(
            con,
            key,
            actor,
            "dp_release",
            inputs={
                "release": released.name,
                "period": released.period,
                "release_id": released.release_id,
                "provisional": released.provisional,
            },
            figures={
                "rows": released.table.height,
                "budget_spent_rho": released.budget.spent.rho,
                "budget_remaining_rho": released.budget.remaining.rho,
                "budget_spent_delta": released.budget.spent.delta,
            },
        )

    results = []
    try:
        for name in names:
            results.append(
                dp.release(data_dir, name, actor, period, re_release, evidence=evidence, provisional=provisional)
            )
    finally:
        witness_committed(data_dir, key)
    return results


def dp_release_closed_stage(data_dir: DataDir, actor: str, name: str) -> "list[dp.Released]":
    """Release `name` for each period that closed since its last final release, oldest first
    (the DP DAG's task: new data closes a quarter, and its release follows)."""
    return [r for period in closed_periods(data_dir, name) for r in dp_release_stage(data_dir, actor, [name], period)]
