"""The warehouse DAG's one `dbt build` (Cosmos's watcher producer), run as `weir dbt build` runs it.

- The same build: data tests and (when due) unit tests, the weekly full refresh, and the markers
  that remember them (`weir.dbt.plan_build` / `record_build`). Cosmos's producer would leave the
  tests out: with no test tasks rendered it adds `--resource-type model ...` to the build.
- Light reporting: dbt runs in the task's process (dbtRunner); Cosmos turns every one of dbt's
  events into JSON and makes ~6 API calls per node inside dbt's own thread, which doubled the
  build. Here the callback looks at an event's name only, and a thread of its own pushes each
  model's status and compiled SQL (what the per-model tasks read) while dbt goes on.
- dbt's partial parse state: the data dir's own (written by `weir dbt parse`, same profile), kept
  per data dir rather than in Cosmos's machine-wide cache, where another data dir's file makes
  dbt parse the whole project again.
"""

import contextlib
import logging
import queue
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cosmos.operators._watcher.state import get_compiled_sql_xcom_key, get_status_xcom_key, safe_xcom_push
from cosmos.operators.local import DbtLocalBaseOperator
from cosmos.operators.watcher import _StdoutFilter

from weir import dbt
from weir.config import DataDir

log = logging.getLogger(__name__)
REPORTED = frozenset({"model", "seed", "snapshot"})  # what has a task; tests are the build's own
LOGGED_LEVELS = frozenset({"info", "warn", "error"})


def build_like_weir(producer: DbtLocalBaseOperator, data_dir: DataDir) -> None:
    """Make Cosmos's producer task run Weir's build (see the module docstring)."""
    base_flags = without_resource_types(producer.dbt_cmd_flags or [])
    producer.dbt_cmd_flags = base_flags
    producer.cache_dir = dbt.dbt_dir(data_dir) / "cosmos"
    build_and_run = producer.build_and_run_cmd

    def planned(context: dict, cmd_flags: list[str] | None = None, **kwargs: Any) -> Any:
        plan = dbt.plan_build(data_dir)
        if plan.weekly:
            log.info("Weekly full refresh: the last one here is over %s days old.", dbt.full_refresh_days())
        producer.full_refresh = plan.full_refresh
        producer.dbt_cmd_flags = [*base_flags, *(f for f in plan.flags() if f != "--full-refresh")]
        seed_partial_parse(data_dir, producer.cache_dir)
        ok = False
        try:
            result = build_and_run(context=context, cmd_flags=producer.add_cmd_flags(), **kwargs)
            ok = True
            return result
        finally:
            dbt.record_build(data_dir, plan, ok)

    producer.build_and_run_cmd = planned  # the flags are decided per run, not at DAG parse
    producer.run_dbt_runner = _reporting_runner(producer)


def without_resource_types(flags: list[str]) -> list[str]:
    """The flags without any `--resource-type X` pair (a `dbt build` then runs every test)."""
    kept, skip = [], False
    for flag in flags:
        if skip:
            skip = False
        elif flag == "--resource-type":
            skip = True
        else:
            kept.append(flag)
    return kept


def seed_partial_parse(data_dir: DataDir, cache_dir: Path) -> None:
    """Give the build the data dir's newest partial parse state (Cosmos copies it into the
    project copy it builds in, and writes the build's own back after a success)."""
    ours = dbt.dbt_dir(data_dir) / "target" / "partial_parse.msgpack"
    cached = cache_dir / "target" / ours.name
    if ours.exists() and (not cached.exists() or cached.stat().st_mtime < ours.stat().st_mtime):
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ours, cached)
        shutil.copy2(ours.with_name("manifest.json"), cached.with_name("manifest.json"))


def _reporting_runner(producer: DbtLocalBaseOperator) -> Callable[..., Any]:
    def run_dbt_runner(command: list[str], env: dict[str, str], cwd: str, **kwargs: Any) -> Any:
        context = kwargs.get("context")
        if context is None:  # dbt deps and the like: nothing to report
            return DbtLocalBaseOperator.run_dbt_runner(producer, command, env, cwd, **kwargs)
        reporter = ModelReporter(context["ti"], Path(cwd))
        producer._dbt_runner_callbacks = [reporter.on_event]
        try:
            with contextlib.redirect_stdout(_StdoutFilter()):  # dbt's JSON lines: the callback logs them
                return DbtLocalBaseOperator.run_dbt_runner(producer, command, env, cwd, **kwargs)
        finally:
            producer._dbt_runner_callbacks = []
            reporter.close()

    return run_dbt_runner


class ModelReporter:
    """Logs dbt's messages and hands each finished model to a thread that pushes its status and
    compiled SQL to XCom; `close` waits until every push is done (before the task's end says so)."""

    def __init__(self, ti: Any, project_dir: Path) -> None:
        self.ti, self.project_dir = ti, project_dir
        self.finished: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._push_all, name="weir-dbt-reporter", daemon=True)
        self.thread.start()

    def on_event(self, event: Any) -> None:
        info = event.info
        if info.level in LOGGED_LEVELS and info.msg:
            log.log(logging.WARNING if info.level != "info" else logging.INFO, "%s", info.msg)
        if info.name == "NodeFinished":
            node = event.data.node_info
            if node.resource_type in REPORTED:
                self.finished.put((node.unique_id, node.node_status, node.node_path, node.resource_type))

    def close(self) -> None:
        self.finished.put(None)
        self.thread.join()

    def _push_all(self) -> None:
        while (item := self.finished.get()) is not None:
            unique_id, status, node_path, resource_type = item
            try:
                safe_xcom_push(self.ti, get_status_xcom_key(unique_id), {"status": status, "outlet_uris": []})
                if sql := self._compiled_sql(unique_id, node_path, resource_type):
                    safe_xcom_push(self.ti, get_compiled_sql_xcom_key(unique_id), sql)
            except Exception:  # a lost push: that model's task is skipped naming the build, never hung
                log.exception("Could not report %s's result to its task", unique_id)

    def _compiled_sql(self, unique_id: str, node_path: str, resource_type: str) -> str | None:
        if resource_type != "model" or not node_path:
            return None
        package = unique_id.split(".", 2)[1]
        path = self.project_dir / "target" / "compiled" / package / "models" / node_path
        if not path.exists():
            return None
        return path.read_text(encoding="utf-8").strip() or None
