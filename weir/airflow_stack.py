"""The real Airflow stack on this machine: scheduler, DAG processor and api-server as
background processes over the embedded metadata DB, driven through the REST API.

`weir demo` runs its DAGs here (so the UI shows their task logs), the browser test drives
the UI of one, and bench_orchestration times the scheduler against direct calls. Each
component is its own process group, so `stop` ends it and every task it started; all die
with the process that started them, even on kill -9 (no DuckDB writer left behind).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx

from weir import airflow_env
from weir.config import DataDir
from weir.dbt import die_with_parent
from weir.errors import AirflowRunError

COMPONENTS = ("scheduler", "dag-processor", "api-server")
DONE = ("success", "failed")
# A local stack serves one data engineer: short scheduler loops start Asset-triggered runs
# within seconds; DAG files change only with a new checkout, so they are parsed rarely.
TUNING = {
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    # Sixteen slots on two cores: the dbt model tasks (niced, mostly asleep between pokes) hold
    # up to fifteen while the build runs, and the tasks after the build must not wait for one
    # of them to end (with eight they did: ~2 s per step). The DuckDB pool still admits one writer.
    "AIRFLOW__CORE__PARALLELISM": "16",
    "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",  # Cosmos renders ~190 dbt nodes on a busy machine
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "300",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "300",
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
    "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
    # A restarted scheduler re-queues the tasks a dead one left running once its heartbeat is
    # 30 s old (scheduler_health_check_threshold): look every 20 s, not every 5 min.
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "20",
    "AIRFLOW__API__WORKERS": "1",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    # Paused until `start` unpauses what the caller runs: the daily DSR DAG would otherwise
    # start at once and, through the published Asset, the DP and training DAGs with it.
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
}


def preferred_port() -> int:
    """Airflow's usual port ($AIRFLOW__API__PORT, else 8080) when free, else any free one."""
    with socket.socket() as sock:
        try:
            sock.bind((airflow_env.LOCAL_HOST, int(airflow_env.API_PORT)))
        except OSError:
            return free_port()
    return int(airflow_env.API_PORT)


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((airflow_env.LOCAL_HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    """A running stack: its URL, the admin's API client and the component processes."""

    data_dir: DataDir
    port: int
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    client: httpx.Client | None = None

    @property
    def url(self) -> str:
        return f"http://{airflow_env.LOCAL_HOST}:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir.airflow_home / "components"

    def api(self) -> httpx.Client:
        if self.client is None:
            raise AirflowRunError("The Airflow stack is not logged in: call start() first.")
        return self.client

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM each component's process group, SIGKILL what is left after `timeout`."""
        tasks = {name: _descendant_groups(proc.pid) for name, proc in self.processes.items()}  # while linked
        for proc in self.processes.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, proc in self.processes.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL, tasks[name])  # the leader, or tasks it left behind
            proc.wait()
            _wait_group_gone(proc.pid)
        if self.client is not None:
            self.client.close()
        self.processes.clear()


def _signal_group(proc: subprocess.Popen, sig: int, tasks: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    """Signal the component's group (its executor workers) and `tasks`, the groups of the tasks
    under it: each task runs in a process group of its own (Airflow's supervisor sets it)."""
    for group in {proc.pid, *tasks}:
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            pass


def _descendant_groups(pid: int) -> set[int]:
    """Process groups of every live descendant of `pid` (from /proc: ppid and pgrp)."""
    children: dict[int, list[int]] = {}
    groups: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        groups[int(entry.name)] = int(fields[2])
    found, todo = set(), list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.add(groups[child])
        todo.extend(children.get(child, []))
    return found


def _wait_group_gone(pgid: int, seconds: float = 10) -> None:
    """Until no live member of the group is left (a killed process dies asynchronously)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def stack_env(data_dir: DataDir, port: int) -> dict[str, str]:
    """Airflow's environment for a stack whose api-server listens on `port`."""
    env = {**airflow_env.airflow_env(data_dir), **TUNING, "AIRFLOW__API__PORT": str(port)}
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://{airflow_env.LOCAL_HOST}:{port}/execution/"
    return env


def start(data_dir: DataDir, dag_ids: list[str], port: int | None = None, timeout: float = 300) -> Stack:
    """Prepare Airflow, start its components in the background, log in as admin and wait
    until the DAG processor has parsed `dag_ids`, which are then unpaused (the others stay paused)."""
    airflow_env.prepare(data_dir)
    stack = Stack(data_dir, port or free_port())
    stack.log_dir.mkdir(exist_ok=True)
    try:
        for name in COMPONENTS:
            _spawn(stack, name)
        _wait(lambda: _healthy(stack), timeout, f"the api-server on {stack.url}", stack)
        # The api-server builds the task execution API on its first request (~3 s, which the
        # first task of every run would wait for): build it now, while the stack starts.
        httpx.get(f"{stack.url}/execution/health", timeout=60)
        stack.client = login(stack.url, admin_password(data_dir))
        wait_for_dags(stack, dag_ids, timeout)
        for dag_id in dag_ids:
            set_paused(stack, dag_id, False)
    except BaseException:
        stack.stop()
        raise
    return stack


def _spawn(stack: Stack, name: str, extra_env: dict[str, str] | None = None) -> None:
    """Start one component in the background, appending to its log under `stack.log_dir`."""
    env = {**stack_env(stack.data_dir, stack.port), **(extra_env or {})}
    airflow = [str(Path(sys.executable).parent / "airflow")]
    if name == "scheduler":  # its tasks are forks of it: see weir.airflow_preload
        airflow = [sys.executable, "-m", "weir.airflow_preload"]
    with (stack.log_dir / f"{name}.log").open("a") as out:
        stack.processes[name] = subprocess.Popen(
            [*airflow, name],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group per component: stop() reaches its tasks
            preexec_fn=die_with_parent(os.getpid()),  # noqa: PLW1509 - prctl and getppid only
        )


def restart(stack: Stack, name: str, kill: bool = False, extra_env: dict[str, str] | None = None) -> None:
    """Restart one component: SIGTERM (or, with `kill`, SIGKILL: a crash) its process group,
    the tasks it runs included, then start it again (with `extra_env` on top of the stack's)."""
    proc = stack.processes.pop(name)
    tasks = _descendant_groups(proc.pid)
    _signal_group(proc, signal.SIGKILL if kill else signal.SIGTERM, tasks if kill else set())
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(proc, signal.SIGKILL, tasks)  # what is left, its tasks included
    _wait_group_gone(proc.pid)
    _spawn(stack, name, extra_env)


def task_log(stack: Stack, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    """A task attempt's log as the UI shows it (its lines' events, joined)."""
    path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/logs/{try_number}"
    response = stack.api().get(path, params={"full_content": True})
    response.raise_for_status()
    content = response.json().get("content", [])
    return "\n".join(line.get("event", "") if isinstance(line, dict) else str(line) for line in content)


def task_instance(stack: Stack, dag_id: str, run_id: str, task_id: str) -> dict:
    response = stack.api().get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}")
    response.raise_for_status()
    return response.json()


def admin_password(data_dir: DataDir) -> str:
    """The UI password the simple auth manager generated for `admin` (passwords.json, 0600)."""
    path = data_dir.airflow_home / airflow_env.PASSWORDS_FILE
    return json.loads(path.read_text())[airflow_env.UI_USER]


def login(url: str, password: str) -> httpx.Client:
    """An API client with the admin's bearer token."""
    response = httpx.post(f"{url}/auth/token", json={"username": airflow_env.UI_USER, "password": password})
    response.raise_for_status()
    token = response.json()["access_token"]
    return httpx.Client(base_url=f"{url}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _healthy(stack: Stack) -> bool:
    for name, proc in stack.processes.items():
        if proc.poll() is not None:
            raise AirflowRunError(
                f"Airflow {name} exited (code {proc.returncode}) while starting; see {stack.log_dir / name}.log"
            )
    try:
        return httpx.get(f"{stack.url}/api/v2/monitor/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _wait(ready: Callable[[], object], timeout: float, what: str, stack: Stack | None = None) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := ready():
            return value
        time.sleep(1)
    where = f"; component logs in {stack.log_dir}" if stack else ""
    raise AirflowRunError(f"Timed out after {timeout:.0f} s waiting for {what}{where}.")


def wait_for_dags(stack: Stack, dag_ids: list[str], timeout: float = 300) -> None:
    """Wait until the DAG processor has parsed every DAG (a trigger before that is refused)."""

    def parsed() -> bool:
        return all(stack.api().get(f"/dags/{d}").status_code == 200 for d in dag_ids)

    _wait(parsed, timeout, f"the DAG processor to parse {', '.join(dag_ids)}", stack)


def set_paused(stack: Stack, dag_id: str, paused: bool) -> None:
    """Pause or unpause a DAG (a paused Asset-scheduled DAG starts no run)."""
    stack.api().patch(f"/dags/{dag_id}", json={"is_paused": paused}).raise_for_status()


def trigger(stack: Stack, dag_id: str, conf: dict, logical_date: datetime | None = None) -> str:
    """Start a run of `dag_id` now; return its run id."""
    body = {"conf": conf, "logical_date": (logical_date or datetime.now(UTC)).isoformat()}
    response = stack.api().post(f"/dags/{dag_id}/dagRuns", json=body)
    if response.status_code >= 400:
        raise AirflowRunError(f"Could not trigger {dag_id} ({response.status_code}): {response.text[:300]}")
    return response.json()["dag_run_id"]


def runs(stack: Stack, dag_id: str) -> list[dict]:
    """The DAG's runs, newest first."""
    response = stack.api().get(f"/dags/{dag_id}/dagRuns", params={"order_by": "-run_after", "limit": 50})
    response.raise_for_status()
    return response.json()["dag_runs"]


def wait_for_run(
    stack: Stack, dag_id: str, run_id: str | None = None, after: datetime | None = None, timeout: float = 900
) -> dict:
    """Wait for a run to finish: `run_id`, or the first run queued after `after` (an
    Asset-triggered one). Returns the run; raises naming its failed tasks if it failed."""

    def finished() -> dict | None:
        for run in runs(stack, dag_id):
            match = run["dag_run_id"] == run_id if run_id else _parse(run["run_after"]) >= after
            if match and run["state"] in DONE:
                return run
        return None

    run = _wait(finished, timeout, f"a finished run of {dag_id}", stack)
    if run["state"] != "success":
        raise AirflowRunError(
            f"DAG run {run['dag_run_id']} of {dag_id} ended {run['state']}; failed tasks: "
            f"{', '.join(failed_tasks(stack, dag_id, run['dag_run_id'])) or 'none'} (see their logs in the UI)."
        )
    return run


def failed_tasks(stack: Stack, dag_id: str, run_id: str) -> list[str]:
    response = stack.api().get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})
    response.raise_for_status()
    return sorted(
        t["task_id"] for t in response.json()["task_instances"] if t["state"] in ("failed", "upstream_failed")
    )


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
