"""Pipeline stages as plain functions: the CLI, the Airflow DAG and the tests call these."""

from collections.abc import Callable
from datetime import date, datetime

from expectations import Finding, build_docs
from privacy import load_or_create_signing_key
from weir import audit, dbt, dp, policy
from weir.config import DataDir, ensure_writable
from weir.errors import LandingError, QualityGateBlocked
from weir.generate import GenerateConfig, GenerateResult, generate
from weir.ingest import LoadResult, RotationResult, failure_message, ingest, load_ledger, rotate_keys
from weir.mart_gate import gate_marts
from weir.publish import PublishResult, publish
from weir.quality import Checked
from weir.retention import RetentionResult, apply_retention
from weir.warehouse import connect


def record(data_dir: DataDir, actor: str, action: str, inputs: dict, figures: dict) -> audit.AuditEntry:
    """Append one audit entry to the warehouse log."""
    key = load_or_create_signing_key(data_dir.keys)
    con = connect(data_dir.warehouse)
    try:
        return audit.append(con, key, data_dir.audit_head, actor, action, inputs, figures)
    finally:
        con.close()


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


def config_from_params(params: dict) -> GenerateConfig:
    """Build a generator config from DAG params / CLI values (strings allowed)."""
    default = GenerateConfig()
    return GenerateConfig(
        users=int(params.get("users", default.users)),
        days=int(params.get("days", default.days)),
        seed=int(params.get("seed", default.seed)),
        bad_rate=float(params.get("bad_rate", default.bad_rate)),
        start=date.fromisoformat(str(params.get("start", default.start.isoformat()))),
    )


def verify_audit(data_dir: DataDir) -> audit.VerifyReport:
    """Verify the audit chain of the warehouse against the data dir's signing key."""
    key = load_or_create_signing_key(data_dir.keys)
    con = connect(data_dir.warehouse)
    try:
        entries = audit.read_entries(con)
    finally:
        con.close()
    return audit.verify(entries, key.public_key(), data_dir.audit_head)


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
    results = ingest(data_dir, source, batch_id, progress, retry=retry)
    if (data_dir.quality / "gx").exists():
        build_docs(data_dir.quality)  # the raw gates' runs, before a failure stops the pipeline
    loaded = [r for r in results if r.status == "loaded"]
    record(
        data_dir,
        actor,
        "ingest",
        inputs={
            "batches": [f"{r.source}/{r.batch_id}" for r in results],
        },
        figures={
            f"{r.source}/{r.batch_id}": {
                "rows_in": r.rows_in,
                "rows_loaded": r.rows_loaded,
                "rows_quarantined": r.rows_quarantined,
                "reasons": r.reasons,
            }
            for r in loaded
        },
    )
    failed = failure_message(results)
    if failed:
        raise LandingError(failed)
    rejected = [r for r in results if r.status == "rejected"]
    if rejected and stop_on_reject:
        raise QualityGateBlocked(rejection_message(data_dir, rejected))
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
    return (
        f"{len(rejected)} batch(es) failed the quality gate and were kept out of raw "
        "(their rows are in ingest.quarantine as gate_rejected):\n" + "\n".join(lines)
    )


def rotate_stage(data_dir: DataDir, actor: str) -> RotationResult:
    """Rotate the pseudonymisation key, re-tokenising the warehouse, and evidence it."""
    result = rotate_keys(data_dir)
    record(
        data_dir,
        actor,
        "keys_rotate",
        inputs={"old_version": result.old_version},
        figures={
            "new_version": result.new_version,
            "tokens_mapped": result.tokens_mapped,
            "columns_rewritten": result.columns_rewritten,
        },
    )
    return result


def retention_stage(data_dir: DataDir, actor: str, now: datetime) -> list[RetentionResult]:
    """Enforce the contracts' retention periods on the warehouse and evidence it."""
    con = connect(data_dir.warehouse)
    try:
        results = apply_retention(con, now)
    finally:
        con.close()
    record(
        data_dir,
        actor,
        "retention",
        inputs={"as_of": now.isoformat()},
        figures={r.source: {"rows_deleted": r.rows_deleted, "columns_cleared": r.columns_cleared} for r in results},
    )
    return results


def warehouse_stage(
    data_dir: DataDir, actor: str, full_refresh: bool = False, progress: Callable[[str], None] | None = None
) -> dbt.DbtRun:
    """Check the marts against the policy, then `dbt build`; evidence the outcome."""
    policy.enforce_manifest(dbt.parse(data_dir))
    run = dbt.build(data_dir, full_refresh=full_refresh, progress=progress)
    record(
        data_dir,
        actor,
        "dbt_build",
        inputs={"full_refresh": full_refresh},
        figures={"ok": run.ok, "nodes": len(run.results), "failed": [r.unique_id for r in run.failed()]},
    )
    return run


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
        figures={"published": result.published, "blocked": {b.mart: b.reason for b in result.blocked}},
    )
    return result


def dp_release_stage(
    data_dir: DataDir, actor: str, names: list[str], period: str | None = None, re_release: bool = False
) -> list[dp.Released]:
    """Run DP releases in order; evidence each spend (a reused release spends and records nothing)."""
    results = []
    for name in names:
        released = dp.release(data_dir, name, actor, period=period, re_release=re_release)
        if not released.reused:
            record(
                data_dir,
                actor,
                "dp_release",
                inputs={"release": name, "period": released.period, "release_id": released.release_id},
                figures={
                    "rows": released.table.height,
                    "budget_spent_rho": released.budget.spent.rho,
                    "budget_remaining_rho": released.budget.remaining.rho,
                    "budget_spent_delta": released.budget.spent.delta,
                },
            )
        results.append(released)
    return results
