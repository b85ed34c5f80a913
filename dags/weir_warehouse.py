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
from datetime import datetime

from airflow.sdk import Asset, dag, get_current_context, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import DbtResourceType, ExecutionMode, LoadMode, TestBehavior, TestIndirectSelection

from weir import airflow_defaults
from weir.config import resolve_data_dir
from weir.dbt import DBT_PROJECT, connection_env, dbt_executable, manifest_path

RAW = Asset("weir://warehouse/raw")
PUBLISHED = Asset("weir://published")
POOL = "weir_warehouse"  # one slot: the DuckDB single writer

DATA_DIR = resolve_data_dir(os.environ.get("WEIR_DATA_DIR"))
MANIFEST = manifest_path(DATA_DIR)
if not MANIFEST.exists():
    raise FileNotFoundError(f"No dbt manifest at {MANIFEST}: run `weir dbt parse` (or `weir demo`) to write it.")


def _skip(**_: object) -> None:
    """Exposures and the on-run-end hook are not tasks (dbt runs the hook once per build)."""
    return None


@dag(
    dag_id="weir_warehouse",
    schedule=[RAW],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=airflow_defaults.DEFAULT_ARGS,
    doc_md=airflow_defaults.dag_doc(__doc__),
    tags=["weir", "dbt"],
)
def weir_warehouse():
    @task(pool=POOL)
    def check_policy() -> int:
        from weir import policy

        return policy.enforce_manifest(MANIFEST)

    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT,
            manifest_path=MANIFEST,
            env_vars=connection_env(DATA_DIR, actor="airflow:dbt"),
            install_dbt_deps=False,
        ),
        profile_config=ProfileConfig(
            profile_name="weir", target_name="dev", profiles_yml_filepath=DBT_PROJECT / "profiles.yml"
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,  # one `dbt build`; see README "One dbt process per build"
            dbt_executable_path=dbt_executable(),
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
            # Cosmos skips a retried producer (no second build): a failed build fails the run.
            setup_operator_args={"retries": 0},
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH,  # the watcher mode has no per-model `build` task
            # Detached tests would wait forever in the watcher mode (the producer reports tests
            # per model): the build runs them, and a failure fails the producer task.
            should_detach_multiple_parents_tests=False,
            node_converters={DbtResourceType.EXPOSURE: _skip, DbtResourceType("operation"): _skip},
        ),
        # Sensors poke (no triggerer needed); Cosmos's per-model datasets would be machine paths.
        operator_args={"pool": POOL, "deferrable": False, "emit_datasets": False},
    )
    airflow_defaults.producer_first(dbt)  # the build runs before the model tasks read it
    airflow_defaults.name_mart_assets(dbt)

    @task.short_circuit(trigger_rule="all_done")
    def dbt_succeeded() -> bool:
        """False (gate and publish skipped, not passed) when any dbt task failed."""
        return not airflow_defaults.dbt_failures(get_current_context(), "dbt")

    @task(trigger_rule="one_failed")
    def dbt_failed() -> None:
        """Runs only when a dbt task failed: fails the run naming them (a skipped publish alone
        would leave the run green)."""
        from weir.errors import DbtRunError

        failed = airflow_defaults.dbt_failures(get_current_context(), "dbt")
        raise DbtRunError(f"dbt failed ({', '.join(failed)}): gate and publish skipped; see those task logs.")

    @task(pool=POOL)
    def gate_marts() -> dict:
        """The publish gate: GX suites on every built mart; fails naming each blocking check."""
        from weir import pipeline

        checked = pipeline.gate_marts_stage(DATA_DIR, "airflow:gate_marts", fail_on_block=True)
        return {c.source: len(c.result.findings) for c in checked}

    @task(outlets=[PUBLISHED], trigger_rule="all_done", pool=POOL)  # publishes the marts the gate passed
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
    built >> dbt_succeeded() >> gate_marts() >> publish_marts()


weir_warehouse()
