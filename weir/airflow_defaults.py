"""What every Weir DAG shares: owner, retries with backoff for transient errors only, a
failure callback that writes the failure to the audit chain, docs, and quiet task logs.

A DAG applies them with `default_args=airflow_defaults.DEFAULT_ARGS` and
`doc_md=airflow_defaults.dag_doc(__doc__)`. Importing this module (every DAG file does, so
every task process does) installs the log filter for Great Expectations' start-up noise.
"""

import logging
import os
from datetime import datetime, timedelta

import httpx  # the task SDK imports it anyway
from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy

from weir.airflow_env import WAREHOUSE_POOL
from weir.errors import WarehouseLocked, WeirError
from weir.log_filters import install_log_filters

OWNER = "weir-data-platform"
# Errors that go away by themselves: the api-server still starting (httpx.ReadTimeout from
# the task SDK), a network blip, another writer holding the DuckDB lock for a moment.
TRANSIENT = (TimeoutError, ConnectionError, httpx.TransportError, WarehouseLocked)
# dbt (through Cosmos) reports a locked warehouse only in its message: DuckDB's own words.
LOCK_MESSAGES = ("Could not set lock on file", "Conflicting lock is held")
REASON_CHARS = 200
log = logging.getLogger(__name__)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it was raised from (Cosmos and Weir wrap the original)."""
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def is_transient(exc: BaseException) -> bool:
    """Whether a retry may succeed: a timeout, a connection error or a locked warehouse.
    Everything else (a failed gate, a dbt test, a policy violation, a bad spec) is a data
    error: retrying it gives the same answer, so it fails at once."""
    import duckdb  # deferred: only a failing task needs it

    for cause in _causes(exc):
        if isinstance(cause, TRANSIENT):
            return True
        if isinstance(cause, httpx.HTTPStatusError) and cause.response.status_code in (429, 502, 503, 504):
            return True
        if isinstance(cause, duckdb.IOException | WeirError | RuntimeError) and any(
            m in str(cause) for m in LOCK_MESSAGES
        ):
            return True
    return False


class TransientOnly(RetryPolicy):
    """Retry (with the task's exponential backoff) only what `is_transient` says may pass."""

    def evaluate(self, exception, try_number, max_tries, context=None) -> RetryDecision:  # noqa: ANN001 - Airflow's signature
        name = type(exception).__name__
        if is_transient(exception):
            return RetryDecision.retry(reason=f"transient {name}: retrying with backoff")
        return RetryDecision.fail(reason=f"{name} is a data error: not retried")


def one_line_reason(exc: BaseException | None) -> str:
    """A reason safe for the audit log: Weir's own messages (written to name no personal value)
    keep their first line; anything else only its class, since its text may quote data."""
    if exc is None:
        return "no exception recorded (killed or timed out); see the task log"
    if isinstance(exc, WeirError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return first[:REASON_CHARS]
    return f"{type(exc).__name__}; see the task log"


def failure_entry(context: dict) -> tuple[dict, dict]:
    """The audit entry's inputs and figures for a failed task (ids, error class, reason)."""
    ti = context["ti"]
    exc = context.get("exception")
    inputs = {"dag_id": ti.dag_id, "task_id": ti.task_id, "run_id": ti.run_id, "try_number": ti.try_number}
    figures = {
        "error_class": type(exc).__name__ if exc is not None else "unknown",
        "transient": bool(exc is not None and is_transient(exc)),
        "reason": one_line_reason(exc),
    }
    return inputs, figures


def audit_failure(context: dict) -> None:
    """on_failure_callback: append `task_failed` to the audit chain. Never raises: a failing
    callback must not hide the task's own error (a locked warehouse is logged instead)."""
    from weir import pipeline
    from weir.config import resolve_data_dir

    try:
        inputs, figures = failure_entry(context)
        data_dir = resolve_data_dir(os.environ.get("WEIR_DATA_DIR"))
        pipeline.record(data_dir, f"airflow:{inputs['task_id']}", "task_failed", inputs, figures)
    except Exception as err:  # noqa: BLE001 - see docstring
        log.error("Could not audit the failure of %s: %s", context["ti"].task_id, type(err).__name__)


def note_resumed_attempt(context: dict) -> None:
    """Say in a task's log when an earlier attempt did not finish (a failure, or a scheduler
    restart that ended its process): Weir's tasks resume safely, and the log says why."""
    ti = context["ti"]
    if ti.try_number > 1:
        log.warning(
            "Attempt %d of %s: attempt %d did not finish (it failed, or its process ended with a "
            "scheduler restart; see it in the task's attempts). Resuming: what it committed stays "
            "(loaded batches are skipped), what it left uncommitted was rolled back.",
            ti.try_number,
            ti.task_id,
            ti.try_number - 1,
        )


# One slot: DuckDB has one writer, and a reader in another process blocks it too. Every task that
# opens the warehouse (any DAG) takes it, so DAG runs that overlap take turns.
POOL = WAREHOUSE_POOL

DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 3,
    "retry_delay": timedelta(seconds=10),
    "retry_exponential_backoff": 2.0,  # 10 s, 20 s, 40 s: covers an api-server start-up
    "max_retry_delay": timedelta(minutes=5),
    "retry_policy": TransientOnly(),
    "on_failure_callback": audit_failure,
    "pre_execute": note_resumed_attempt,
}

DOC_LINKS = """
**Owner:** {owner} · **Runbook:** README "Running it day to day".

| What | Where (under the data dir, `$WEIR_DATA_DIR`) | Command |
|---|---|---|
| Data Docs (quality gates) | `quality/gx/uncommitted/data_docs/local_site/index.html` | `weir quality report` |
| dbt docs (models, lineage) | `dbt/target/static_index.html` | `weir dbt docs` |
| DP budget left | `dp.budget_spends` in `warehouse.duckdb` | `weir dp budget` |
| Audit chain | `warehouse.duckdb` (`audit.log`) | `weir audit verify` |

Failures: transient errors (timeouts, the api-server starting, a locked warehouse) retry
with exponential backoff; data errors fail at once. Every failure is written to the audit
chain as `task_failed` (task, run, error class, one-line reason).
"""


def dag_doc(module_doc: str | None) -> str:
    """The DAG's `doc_md`: its module docstring, then links to the docs and the budget."""
    return f"{(module_doc or '').strip()}\n{DOC_LINKS.format(owner=OWNER)}"


def data_dir():  # noqa: ANN201 - weir.config's DataDir, imported when a task runs
    """The data dir a task works in ($WEIR_DATA_DIR), resolved in the task, not at DAG parse."""
    from weir.config import resolve_data_dir

    return resolve_data_dir(os.environ.get("WEIR_DATA_DIR"))


def dag_kwargs(dag_id: str, module_doc: str | None, **extra: object) -> dict:
    """The `@dag` arguments every Weir DAG shares (start, no catch-up, one run at a time,
    default args, docs), plus the DAG's own (`schedule`, `tags`, `params`, ...)."""
    return {
        "dag_id": dag_id,
        "start_date": datetime(2026, 1, 1),
        "catchup": False,
        "max_active_runs": 1,  # the DuckDB warehouse has one writer
        "default_args": DEFAULT_ARGS,
        "doc_md": dag_doc(module_doc),
        **extra,
    }


install_log_filters()
