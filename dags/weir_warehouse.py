"""Weir warehouse DAG: when new raw data lands, check the policy, build the dbt project
through Cosmos (one task per model, running the model with its tests), run the publish gate
(Great Expectations suites on the marts), then publish the marts that passed both.

Triggered by the `weir://warehouse/raw` Asset that the platform DAG's `gate_raw` task updates.
Cosmos renders the task group from the dbt manifest (`weir dbt` / `weir demo` write it), so
parsing this file never runs dbt. All dbt tasks share one pool slot: DuckDB allows one writer.
"""

import os
from datetime import datetime

from airflow.sdk import Asset, dag, get_current_context, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import DbtResourceType, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection

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
    """Exposures and the on-run-end hook are not tasks (dbt runs the hook in every task)."""
    return None


@dag(
    dag_id="weir_warehouse",
    schedule=[RAW],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
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
            dbt_project_path=DBT_PROJECT, manifest_path=MANIFEST, env_vars=connection_env(DATA_DIR, actor="airflow:dbt")
        ),
        profile_config=ProfileConfig(
            profile_name="weir", target_name="dev", profiles_yml_filepath=DBT_PROJECT / "profiles.yml"
        ),
        execution_config=ExecutionConfig(
            dbt_executable_path=dbt_executable(),
            invocation_mode=InvocationMode.DBT_RUNNER,
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            # A test on two models (relationships) gets its own task after both are built.
            should_detach_multiple_parents_tests=True,
            node_converters={DbtResourceType.EXPOSURE: _skip, DbtResourceType("operation"): _skip},
        ),
        operator_args={"pool": POOL, "install_deps": False},
    )

    @task(trigger_rule="all_done", pool=POOL)
    def gate_marts() -> dict:
        """The publish gate: GX suites on every built mart; fails naming each blocking check."""
        from weir import pipeline

        checked = pipeline.gate_marts_stage(DATA_DIR, "airflow:gate_marts", fail_on_block=True)
        return {c.source: len(c.result.findings) for c in checked}

    @task(outlets=[PUBLISHED], trigger_rule="all_done", pool=POOL)
    def publish_marts() -> dict:
        from weir import pipeline
        from weir.errors import PublishError

        started = get_current_context()["dag_run"].start_date
        result = pipeline.publish_stage(DATA_DIR, "airflow:publish_marts", since=started, gate=False)
        if result.blocked:
            held = "\n".join(f"  {b.mart}: {b.reason}" for b in result.blocked)
            raise PublishError(f"Published {len(result.published)} marts; held back (last good version kept):\n{held}")
        return result.published

    check_policy() >> dbt >> gate_marts() >> publish_marts()


weir_warehouse()
