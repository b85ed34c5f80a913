"""`weir demo`: run the platform and warehouse DAGs through embedded Airflow on generated data."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from privacy._dp_spec import load_catalog
from weir import airflow_env, dbt, dp, pipeline
from weir.audit import VerifyReport
from weir.config import DataDir, ensure_writable
from weir.dp_periods import closed_periods
from weir.errors import AuditChainError, LandingError
from weir.generate import GenerateConfig, plan, refuse_existing
from weir.ingest import LoadResult, load_ledger
from weir.publish import published_tables


@dataclass(frozen=True, slots=True)
class DemoResult:
    run: airflow_env.DagRunResult
    audit: VerifyReport
    landing: Path
    manifest: Path
    airflow_log: Path
    loads: list[LoadResult]
    warehouse_run: airflow_env.DagRunResult
    published: dict[str, int]
    docs: Path
    dp_run: airflow_env.DagRunResult
    releases: list[dp.Released]
    model_run: airflow_env.DagRunResult
    model: Any  # federated.registry.Version: the version the training DAG registered (None if it failed)
    report: Path | None = None  # the auditor's report (HTML; the PDF sits beside it)


def run_demo(
    data_dir: DataDir, config: GenerateConfig, step: Callable[[str], None], scheduler: bool = True
) -> DemoResult:
    """Run the DAGs with this config through Airflow, check the runs and the audit chain.

    With `scheduler` (the default, `make demo`), the real scheduler, DAG processor and
    api-server run in the background: the platform run's Assets start the warehouse, DP and
    training runs, and their task logs stay for the UI (`make airflow`). Without, each DAG runs
    once through `airflow dags test` (one process, one task at a time), as tests do."""
    ensure_writable(data_dir)
    config = _demo_batch(data_dir, config, step)
    conf = {
        "continue": config.origin is not None,
        "users": config.users,
        "days": config.days,
        "seed": config.seed,
        "bad_rate": config.bad_rate,
        "start": config.start.isoformat(),
    }
    if scheduler:
        run, warehouse_run, dp_run, model_run, log = _scheduled_runs(data_dir, conf, step)
    else:
        run, warehouse_run, dp_run, model_run, log = _test_runs(data_dir, conf, step)
    # Asking again for the latest closed quarter returns the stored releases: nothing is spent twice.
    releases = [
        released
        for name in sorted(load_catalog().releases)
        for period in closed_periods(data_dir, name, unreleased=False)[-1:]
        for released in pipeline.dp_release_stage(data_dir, "demo", [name], period)
    ]
    step("generating the dbt docs")
    docs_path = dbt.docs(data_dir)
    step("verifying the audit chain")
    report = pipeline.verify_audit(data_dir)
    if not report.ok:
        raise AuditChainError(f"Audit chain broken at entry {report.first_bad_seq}: {report.reason}")
    step("writing the auditor's report (HTML + PDF)")
    from weir.report import write_default  # deferred: matplotlib and fpdf2 load only here

    written = write_default(data_dir)
    manifest = data_dir.manifests / config.batch_id / "manifest.json"
    return DemoResult(
        run,
        report,
        data_dir.landing,
        manifest,
        log,
        load_ledger(data_dir, config.batch_id),
        warehouse_run,
        published_tables(data_dir),
        docs_path,
        dp_run,
        releases,
        model_run,
        _latest_model(data_dir),
        written.html,
    )


RunResults = tuple[
    airflow_env.DagRunResult, airflow_env.DagRunResult, airflow_env.DagRunResult, airflow_env.DagRunResult, Path
]


def _scheduled_runs(data_dir: DataDir, conf: dict, step: Callable[[str], None]) -> RunResults:
    """Trigger the platform DAG on the running stack; its Assets start the other three."""
    from weir import airflow_stack  # deferred: only the scheduler path needs it

    dags = [airflow_env.DAG_ID, airflow_env.WAREHOUSE_DAG_ID, airflow_env.DP_DAG_ID, airflow_env.MODEL_DAG_ID]
    step("starting Airflow (scheduler, DAG processor, api-server) in the background")
    stack = airflow_stack.start(data_dir, dags, port=airflow_stack.preferred_port())
    try:
        started = datetime.now(UTC)
        step(f"running DAG weir_platform through the scheduler (UI: {stack.url})")
        airflow_stack.wait_for_run(stack, airflow_env.DAG_ID, airflow_stack.trigger(stack, airflow_env.DAG_ID, conf))
        step("running DAG weir_warehouse (started by the raw Asset: dbt via Cosmos, the publish gate, publish)")
        airflow_stack.wait_for_run(stack, airflow_env.WAREHOUSE_DAG_ID, after=started)
        step("running DAGs weir_dp_releases and weir_model_training (started by the published Asset)")
        airflow_stack.wait_for_run(stack, airflow_env.DP_DAG_ID, after=started)
        airflow_stack.wait_for_run(stack, airflow_env.MODEL_DAG_ID, after=started, timeout=1800)
    finally:
        stack.stop()
    runs = [airflow_env.latest_run(data_dir, d) for d in dags]
    return runs[0], runs[1], runs[2], runs[3], stack.log_dir


def _test_runs(data_dir: DataDir, conf: dict, step: Callable[[str], None]) -> RunResults:
    """Each DAG once through `airflow dags test`, in the order their Assets would start them."""
    step("migrating the Airflow metadata DB")
    log = airflow_env.prepare(data_dir)
    step("running DAG weir_platform through Airflow")
    run = airflow_env.run_dag(data_dir, conf, log)
    step("running DAG weir_warehouse (dbt via Cosmos, the publish gate, then publish)")
    warehouse_run = airflow_env.run_dag(data_dir, {}, log, airflow_env.WAREHOUSE_DAG_ID)
    step("running DAG weir_dp_releases (OpenDP releases under the privacy budget)")
    dp_run = airflow_env.run_dag(data_dir, {}, log, airflow_env.DP_DAG_ID)
    step("running DAG weir_model_training (Flower: SecAgg+, user-level DP, registry, scores)")
    model_run = airflow_env.run_dag(data_dir, {}, log, airflow_env.MODEL_DAG_ID)
    return run, warehouse_run, dp_run, model_run, log


def _demo_batch(data_dir: DataDir, config: GenerateConfig, step: Callable[[str], None]) -> GenerateConfig:
    """The demo's batch, or the next day of its world when it was landed by an earlier demo
    (landed batches are never rewritten), so `make demo` can run again on the same data dir."""
    try:
        refuse_existing(data_dir.landing, config.batch_id)
        return config
    except LandingError:
        following = plan(data_dir.landing, cont=True, seed=config.seed, bad_rate=config.bad_rate)
        step(f"batch {config.batch_id} is already landed: landing the next day of its world ({following.batch_id})")
        return following


def _latest_model(data_dir: DataDir) -> Any:
    from federated import registry  # deferred: Flower loads only once training ran
    from weir.warehouse import connect

    con = connect(data_dir.warehouse)
    try:
        return registry.latest_current(con)
    finally:
        con.close()
