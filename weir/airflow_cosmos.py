"""The warehouse DAG's dbt task group: Cosmos's watcher mode wired the way Weir needs it.

One `dbt build` (the producer task) and one light task per model that shows that model's
result; every task shares the DuckDB writer pool; mart tasks update `weir://warehouse/marts/<mart>`.
Cosmos renders the tasks from the dbt manifest (`weir dbt parse` writes it), so building the
group never runs dbt. Imported only by `dags/weir_warehouse.py`: Cosmos loads only there.
"""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow.sdk import Asset, BaseOperator
from airflow.sdk.exceptions import AirflowRescheduleException, AirflowSkipException
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import DbtResourceType, ExecutionMode, LoadMode, TestBehavior, TestIndirectSelection
from cosmos.operators._watcher.state import is_dbt_node_status_skipped, is_dbt_node_status_success

from weir.airflow_dbt_build import build_like_weir
from weir.config import DataDir
from weir.dbt import DBT_PROJECT, PROFILE, TARGET, connection_env, dbt_executable, manifest_path
from weir.errors import ConfigError, DbtRunError

GROUP_ID = "dbt"


def _skip(**_: object) -> None:
    """Exposures and the on-run-end hook are not tasks (dbt runs the hook once per build)."""
    return None


def warehouse_manifest(data_dir: DataDir) -> Path:
    """The manifest the group renders from; a clear error (at DAG parse) when it is missing."""
    manifest = manifest_path(data_dir)
    if not manifest.exists():
        raise ConfigError(f"No dbt manifest at {manifest}: run `weir dbt parse` (or `weir demo`) to write it.")
    return manifest


def dbt_task_group(data_dir: DataDir, pool: str) -> DbtTaskGroup:
    """The `dbt` task group: one `dbt build` watched per model, producer first, marts named."""
    group = DbtTaskGroup(
        group_id=GROUP_ID,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT,
            manifest_path=warehouse_manifest(data_dir),
            env_vars=connection_env(data_dir, actor="airflow:dbt"),
            install_dbt_deps=False,
        ),
        profile_config=ProfileConfig(
            profile_name=PROFILE, target_name=TARGET, profiles_yml_filepath=DBT_PROJECT / "profiles.yml"
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
            # No test tasks: the one `dbt build` runs every test (build_like_weir puts them back
            # in the producer's build), and a failed test fails the producer; each task is a
            # process start (~1-3 s), and test tasks were half of them (42 of 92).
            test_behavior=TestBehavior.NONE,
            # Detached tests would wait forever in the watcher mode (the producer reports tests
            # per model): the build runs them, and a failure fails the producer task.
            should_detach_multiple_parents_tests=False,
            node_converters={DbtResourceType.EXPOSURE: _skip, DbtResourceType("operation"): _skip},
        ),
        # Sensors poke (no triggerer needed); Cosmos's per-model datasets would be machine paths.
        operator_args={"pool": pool, "deferrable": False, "emit_datasets": False},
    )
    build_like_weir(build_task(group), data_dir)
    watchers_follow_build(group)
    name_mart_assets(group)
    watchers_outside_pool(group)
    return group


def watchers_outside_pool(group: DbtTaskGroup) -> None:
    """Only the producer writes DuckDB: the per-model tasks read its results from XCom, so they
    leave the one-slot writer pool and run side by side, following the build.
    A model task cleared in the UI re-runs its model with dbt alone (Cosmos), outside the pool."""
    for task in group.iter_tasks():
        if hasattr(task, "producer_task_id"):
            task.pool = "default_pool"


def mart_asset(mart: str) -> Asset:
    """The Asset a mart's dbt task updates: named by what it is, never by a file path."""
    return Asset(f"weir://warehouse/marts/{mart}")


def name_mart_assets(group: DbtTaskGroup) -> list[Asset]:
    """Make each mart's dbt `run` task update its `mart_asset` (Cosmos's own per-model
    datasets are off: their URIs are `duckdb:///<machine path>`)."""
    assets = []
    for uid, node in group.dbt_graph.filtered_nodes.items():
        if not (node.fqn and "marts" in node.fqn[1:-1]) or uid not in group.tasks_map:
            continue
        member = group.tasks_map[uid]  # a (run, test) task group, or the run task alone
        tasks = list(member.children.values()) if hasattr(member, "children") else [member]
        for run in (t for t in tasks if t.task_id.endswith(("_run", ".run"))):
            run.outlets = [*run.outlets, mart_asset(node.resource_name)]
            assets.append(run.outlets[-1])
    return assets


def dbt_failures(context: dict, group_id: str = GROUP_ID) -> list[str]:
    """The tasks of a task group that failed in this run (from the API: no DB access)."""
    ti = context["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, task_group_id=group_id, run_ids=[ti.run_id])
    failed = ("failed", "upstream_failed")
    return sorted(t for t, s in states.get(ti.run_id, {}).items() if s in failed)


def watchers_follow_build(group: DbtTaskGroup) -> None:
    """Let the per-model tasks follow the `dbt build` while it runs, not start after it.

    The model tasks keep the dbt graph's order among themselves, but the producer is not
    upstream of them: the roots start beside the build, and each model's task ends as soon as the
    build reports that model (a 6-level chain of scheduler round trips no longer comes after the
    build). A model task that starts while the build is queued waits beside it; one that starts
    while the build waits for the writer pool (or `airflow dags test`, which runs one task at a
    time, has not reached it) gives its slot back and comes again 15 s later (a reschedule, not a
    retry), so it can never wait on a build that cannot start. A model the
    build never reached (it failed first) is skipped, never run on its own: the producer's failure
    fails the run. The producer goes first among tasks that are ready at once."""
    producer = build_task(group)
    producer.priority_weight, producer.weight_rule = 1000, "absolute"
    for task in group.iter_tasks():
        if hasattr(task, "producer_task_id"):
            task.poke_interval = WATCH_POKE_S
            task.retries = 0  # a retry would make Cosmos run the model alone, outside the build
            task.poke = _guarded_poke(task, task.poke)


def build_task(group: DbtTaskGroup) -> BaseOperator:
    """The producer: the task that runs the one `dbt build` (it fails when any model or test
    fails, so what follows the build need not wait for the per-model tasks)."""
    return next(t for t in group.iter_tasks() if t.task_id.endswith(".dbt_producer_watcher"))


WATCHER_NICENESS = 10
WATCH_POKE_S = 2  # a poke while the build runs asks the API for the model's result (and the build's state)
# The build is queued: it holds an executor slot and starts within seconds, so a model task waits
# beside it. Giving the slot back (a reschedule) every time raced Airflow 3.3's scheduler: the
# executor's "finished" event for the rescheduled try, read after the task was already scheduled
# again and while every slot was taken, failed the task (apache/airflow#71172).
STARTING = frozenset({"queued"})
# The build waits for the writer pool (or for `airflow dags test` to reach it): the model task
# gives its slot back, for long enough that the executor's event for this try comes first.
NOT_STARTED = frozenset({"None", "none", "scheduled", "up_for_retry", "up_for_reschedule", "restarting"})
REQUEUE_S = 15
ENDED_BADLY = frozenset({"failed", "upstream_failed", "skipped", "removed"})


def _guarded_poke(sensor, poke):  # noqa: ANN001, ANN202 - Cosmos's sensor and its bound poke
    """One API call per poke while the build runs (Cosmos's poke makes five: every model task
    pokes beside the build, on the same two cores)."""

    def guarded(context: dict) -> bool:
        # A model task only watches: the build it watches goes first for the CPU.
        os.setpriority(os.PRIO_PROCESS, 0, max(WATCHER_NICENESS, os.getpriority(os.PRIO_PROCESS, 0)))
        ti = context["ti"]
        if ti.try_number > 1:  # cleared in the UI: Cosmos runs the model on its own
            return poke(context)
        status = sensor._get_node_status(ti, context)
        if status is None:
            state = str(sensor._get_producer_task_status(context))
            if state in NOT_STARTED:
                raise AirflowRescheduleException(datetime.now(UTC) + timedelta(seconds=REQUEUE_S))
            if state in STARTING:
                return False
            if state in ENDED_BADLY or state == "success":
                status = sensor._get_node_status(ti, context)  # reported just before the build ended?
            if status is None and state in ENDED_BADLY:
                raise AirflowSkipException(
                    f"The dbt build ended ({state}) before it reached this model: see the "
                    f"{sensor.producer_task_id} task's log."
                )
            if status is None and state == "success":
                raise AirflowSkipException(f"The dbt build did not report this model: see {sensor.producer_task_id}.")
            if status is None:
                return False
        if is_dbt_node_status_skipped(status):
            raise AirflowSkipException(f"dbt skipped {sensor.model_unique_id}: see {sensor.producer_task_id}.")
        if not is_dbt_node_status_success(status):
            raise DbtRunError(f"{sensor.model_unique_id} ended '{status}': see {sensor.producer_task_id}.")
        sensor._cache_compiled_sql(ti, context)  # the model's SQL in the task's rendered template
        return True

    return guarded
