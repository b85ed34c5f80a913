"""weir.airflow_stack's process handling, on real processes (the stack itself runs in tests/ui)."""

import socket
import subprocess
import sys
import time

import pytest

from weir import airflow_env, airflow_stack
from weir.config import resolve_data_dir
from weir.errors import AirflowRunError


def test_the_demo_takes_another_free_port_when_airflows_is_taken() -> None:
    with socket.socket() as taken:
        try:
            taken.bind((airflow_env.LOCAL_HOST, int(airflow_env.API_PORT)))
        except OSError:
            pass  # someone else holds it already: the same situation
        port = airflow_stack.preferred_port()

        assert port != int(airflow_env.API_PORT)
    with socket.socket() as check:
        check.bind((airflow_env.LOCAL_HOST, port))  # it was free


def test_a_component_that_exits_while_starting_fails_naming_it_and_its_log(tmp_path) -> None:
    stack = airflow_stack.Stack(resolve_data_dir(tmp_path), airflow_stack.free_port())
    stack.processes["api-server"] = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    stack.processes["api-server"].wait()

    with pytest.raises(
        AirflowRunError, match=r"Airflow api-server exited \(code 3\) while starting; see .*api-server\.log"
    ):
        airflow_stack._healthy(stack)


def test_stop_ends_each_component_and_the_tasks_it_started(tmp_path) -> None:
    stack = airflow_stack.Stack(resolve_data_dir(tmp_path), airflow_stack.free_port())
    pid_file = tmp_path / "child.pid"
    # A component that ignores SIGTERM and has a child of its own (as the scheduler's tasks are).
    script = f"trap '' TERM; sleep 600 & echo $! > {pid_file}; wait"
    stack.processes["scheduler"] = subprocess.Popen(["bash", "-c", script], start_new_session=True)
    while not pid_file.exists() or not pid_file.read_text().strip():
        time.sleep(0.05)
    child = int(pid_file.read_text())

    stack.stop(timeout=1)

    assert stack.processes == {}
    assert not running(child)  # the grandchild went with its group


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan is reaped by PID 1, which may take a moment or never)."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_an_api_call_before_login_says_to_start_first(tmp_path) -> None:
    stack = airflow_stack.Stack(resolve_data_dir(tmp_path), 1)

    with pytest.raises(AirflowRunError, match=r"not logged in: call start\(\) first"):
        airflow_stack.runs(stack, "weir_platform")


def test_the_scheduler_preloads_what_every_task_would_load_again(tmp_path) -> None:
    """Tasks are forks of the scheduler: what it loads, they inherit (weir.airflow_preload)."""
    check = (
        "import sys\n"
        "from weir.airflow_preload import preload\n"
        "preload()\n"
        "from airflow.sdk import plugins_manager\n"
        "assert plugins_manager._get_plugins.cache_info().currsize == 1, 'plugins not loaded'\n"
        "names = [p.name for p in plugins_manager._get_plugins()[0]]\n"
        "assert 'cosmos' in names, names\n"
        "loaded = {'great_expectations', 'weir.pipeline', 'cosmos', 'dbt.cli.main', 'dbt.adapters.duckdb'}\n"
        "assert loaded <= set(sys.modules), loaded - set(sys.modules)\n"
    )
    env = airflow_env.airflow_env(resolve_data_dir(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", check],
        env=env,
        cwd=airflow_env.DAGS_FOLDER.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
