"""A scheduler restart mid-run, on the real stack: the scheduler dies (kill -9, the task it
runs with it, as when its host or container restarts) while `ingest_batch` holds an open
warehouse transaction, and a new scheduler starts. The new one re-queues the orphaned task; its
second attempt says in its log (the UI's) why it resumed, the batch loads whole (nothing
half-loaded), no landed batch is rewritten, and the run succeeds.

Runs after the browser test on the same stack (then the platform DAG continues its world), or
alone (a small new world)."""

import hashlib
import time
from datetime import UTC, datetime

import duckdb
import pytest

from weir import airflow_stack
from weir.ingest._load import PAUSE_ENV

pytestmark = pytest.mark.slow
PAUSE_S = 120  # inside the first batch's transaction: long enough to be killed in it


def landed(stack) -> dict[str, str]:
    """sha256 of every landed file: a landed batch is evidence, never rewritten."""
    root = stack.data_dir.landing
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def wait_for(check, seconds: float, what: str):  # noqa: ANN001, ANN201 - a predicate, its value
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def paused_in_transaction(stack, run_id: str) -> bool:
    """The first attempt of ingest_batch has said it is waiting inside its open transaction."""
    try:
        return "before commit of" in airflow_stack.task_log(stack, "weir_platform", run_id, "ingest_batch", 1)
    except Exception:  # noqa: BLE001 - no log yet
        return False


def settled(stack, since: datetime) -> bool:
    """The warehouse run the batch started has ended, and so has the DP run a publish starts:
    while they run, their tasks hold the warehouse file."""
    for dag_id in ("weir_warehouse", "weir_dp_releases"):
        mine = [r for r in airflow_stack.runs(stack, dag_id) if datetime.fromisoformat(r["run_after"]) >= since]
        if any(r["state"] not in airflow_stack.DONE for r in mine):
            return False
        if dag_id == "weir_warehouse" and not [r for r in mine if r["state"] == "success"]:
            return bool(mine)  # ended without a publish: no DP run follows
    return bool(mine)


@pytest.fixture(scope="module")
def restarted(stack):
    before = landed(stack)
    since = datetime.now(UTC)
    airflow_stack.restart(stack, "scheduler", extra_env={PAUSE_ENV: str(PAUSE_S)})
    run_id = airflow_stack.trigger(stack, "weir_platform", {"users": 300, "days": 1, "bad_rate": 0.0})
    wait_for(lambda: paused_in_transaction(stack, run_id), 600, "ingest_batch inside its transaction")
    airflow_stack.restart(stack, "scheduler", kill=True)  # a crash: the task dies with it
    platform = airflow_stack.wait_for_run(stack, "weir_platform", run_id, timeout=900)
    ingest = airflow_stack.task_instance(stack, "weir_platform", run_id, "ingest_batch")
    log = airflow_stack.task_log(stack, "weir_platform", run_id, "ingest_batch", ingest["try_number"])
    wait_for(lambda: settled(stack, since), 900, "the warehouse and DP runs the batch started")
    return before, platform, ingest, log


def test_the_orphaned_task_resumes_and_says_why_in_its_log(restarted) -> None:
    _, platform, ingest, log = restarted

    assert platform["state"] == "success"
    assert ingest["try_number"] == 2  # the killed attempt, then the resumed one
    assert "Attempt 2 of ingest_batch: attempt 1 did not finish" in log
    assert "Done. Returned value was" in log
    assert "scheduler restart" in log


def test_nothing_is_half_loaded_and_no_landed_batch_is_rewritten(stack, restarted) -> None:
    before, *_ = restarted
    after = landed(stack)

    assert {k: after[k] for k in before} == before  # earlier batches untouched
    assert len(after) > len(before)  # the new day landed beside them
    with duckdb.connect(str(stack.data_dir.warehouse), read_only=True) as con:
        ledger = con.execute("select source, batch_id, status, rows_loaded from ingest.load_ledger").fetchall()
        for source, batch_id, status, rows_loaded in ledger:
            in_raw = con.execute(f'select count(*) from raw."{source}" where _batch_id = ?', [batch_id]).fetchone()[0]
            assert (status, in_raw) == ("loaded", rows_loaded), (source, batch_id)
