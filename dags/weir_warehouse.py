"""Weir warehouse DAG: when new raw data lands, check the policy, build the dbt project
with **one `dbt build`** (Cosmos watcher mode: a producer task runs the build, one light task
per model shows that model's result), run the publish gate (Great Expectations suites on the
marts), then publish the marts that passed both.

Triggered by the `weir://warehouse/raw` Asset that the platform DAG's `gate_raw` task updates;
each mart's task updates `weir://warehouse/marts/<mart>`, `publish_marts` updates
`weir://published`. If any dbt task fails, `dbt_succeeded` skips the gate and publish (the
last good marts stay published) and `dbt_failed` fails the run naming the failed tasks.
Cosmos renders the tasks from the dbt manifest (`weir dbt parse` / `weir demo` write it), so
parsing this file never runs dbt. Every task that touches DuckDB shares one pool slot.
"""

import os

from airflow.sdk import Asset, dag, get_current_context, task

from weir import airflow_cosmos, airflow_defaults
from weir.config import resolve_data_dir

RAW = Asset("weir://warehouse/raw")
PUBLISHED = Asset("weir://published")
POOL = airflow_defaults.POOL  # one slot: the DuckDB single writer
# After the build, the gate and publish go before the per-model tasks still finishing beside
# them (those only report what the build did) when both wait for an executor slot.
AFTER_BUILD = {"priority_weight": 1000, "weight_rule": "absolute"}

DATA_DIR = resolve_data_dir(os.environ.get("WEIR_DATA_DIR"))


@dag(**airflow_defaults.dag_kwargs("weir_warehouse", __doc__, schedule=[RAW], tags=["weir", "dbt"]))
def weir_warehouse():
    @task(pool=POOL)
    def check_policy() -> int:
        from weir import policy

        return policy.enforce_manifest(airflow_cosmos.warehouse_manifest(DATA_DIR))

    dbt = airflow_cosmos.dbt_task_group(DATA_DIR, POOL)

    @task.short_circuit(trigger_rule="all_done", **AFTER_BUILD)
    def dbt_succeeded() -> bool:
        """False (gate and publish skipped, not passed) when the build or any dbt task failed."""
        return not airflow_cosmos.dbt_failures(get_current_context())

    @task(trigger_rule="one_failed")
    def dbt_failed() -> None:
        """Runs only when a dbt task failed: fails the run naming them (a skipped publish alone
        would leave the run green)."""
        from weir.errors import DbtRunError

        failed = airflow_cosmos.dbt_failures(get_current_context())
        raise DbtRunError(f"dbt failed ({', '.join(failed)}): gate and publish skipped; see those task logs.")

    @task(pool=POOL, **AFTER_BUILD)
    def gate_marts() -> dict:
        """The publish gate: GX suites on every built mart; fails naming each blocking check."""
        from weir import pipeline

        checked = pipeline.gate_marts_stage(DATA_DIR, "airflow:gate_marts", fail_on_block=True)
        return {c.source: len(c.result.findings) for c in checked}

    @task(outlets=[PUBLISHED], trigger_rule="all_done", pool=POOL, **AFTER_BUILD)  # publishes the marts the gate passed
    def publish_marts() -> dict:
        from weir import pipeline
        from weir.errors import PublishError

        started = get_current_context()["dag_run"].start_date
        result = pipeline.publish_stage(DATA_DIR, "airflow:publish_marts", since=started, gate=False)
        if result.blocked:
            held = "\n".join(f"  {b.mart}: {b.reason}" for b in result.blocked)
            raise PublishError(f"Published {len(result.published)} marts; held back (last good version kept):\n{held}")
        return result.published

    built = check_policy() >> dbt
    built >> dbt_failed()
    # The build's own task fails on any failed model or test: the gate need not wait for the
    # per-model tasks, which finish beside it.
    airflow_cosmos.build_task(dbt) >> dbt_succeeded() >> gate_marts() >> publish_marts()


weir_warehouse()
