"""Embedded Airflow: metadata DB and config under the data dir, DAGs from this repo."""

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from weir import TELEMETRY_OFF
from weir.config import DATA_DIR_ENV, PRIVATE_FILE_MODE, DataDir, make_private_dir
from weir.dbt import die_with_parent
from weir.errors import AirflowRunError

DAG_ID = "weir_platform"
WAREHOUSE_DAG_ID = "weir_warehouse"  # scheduled on the raw Asset that weir_platform updates
DP_DAG_ID = "weir_dp_releases"  # scheduled on the published Asset that weir_warehouse updates
MODEL_DAG_ID = "weir_model_training"  # scheduled on the same published Asset
WAREHOUSE_POOL = "weir_warehouse"
DAGS_FOLDER = Path(__file__).resolve().parent.parent / "dags"
UI_USER = "admin"
PASSWORDS_FILE = "passwords.json"  # the simple auth manager's generated UI passwords
# The UI and API listen on this machine only unless WEIR_AIRFLOW_HOST (or Airflow's own
# AIRFLOW__API__HOST) says otherwise: the simple auth manager is for local use.
HOST_ENV = "WEIR_AIRFLOW_HOST"
LOCAL_HOST = "127.0.0.1"
API_PORT = os.environ.get("AIRFLOW__API__PORT", "8080")


def api_host() -> str:
    """Where the api-server binds: $WEIR_AIRFLOW_HOST, else $AIRFLOW__API__HOST, else 127.0.0.1."""
    return os.environ.get(HOST_ENV) or os.environ.get("AIRFLOW__API__HOST") or LOCAL_HOST


def _client_host() -> str:
    host = api_host()
    return LOCAL_HOST if host in ("0.0.0.0", "::") else host  # noqa: S104 - compared, not bound


def airflow_env(data_dir: DataDir) -> dict[str, str]:
    """Environment for every Airflow command Weir runs (SQLite, no examples, our DAGs)."""
    home = data_dir.airflow_home
    bin_dir = str(Path(sys.executable).parent)  # `airflow standalone` starts `airflow` by name
    return {
        **os.environ,
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{UI_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS_FILE),
        "AIRFLOW__API__HOST": api_host(),
        # Tasks reach the API where it listens ("localhost" may resolve to ::1 first).
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{_client_host()}:{API_PORT}/execution/",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        **TELEMETRY_OFF,  # offline, and no usage data leaves the platform
        DATA_DIR_ENV: str(data_dir.root),
    }


def _airflow(data_dir: DataDir, args: list[str], log: Path) -> None:
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    with log.open("a") as out:
        done = subprocess.run(
            command,
            env=airflow_env(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(os.getpid()),  # noqa: PLW1509 - a killed demo leaves no writer behind
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise AirflowRunError(
            f"`airflow {' '.join(args[:2])}` failed (exit {done.returncode}). Full log: {log}\nLast lines:\n{tail}"
        )


def prepare(data_dir: DataDir) -> Path:
    """Create AIRFLOW_HOME, migrate the SQLite metadata DB, create the DuckDB writer pool and
    write the dbt manifest the warehouse DAG renders from; return the log path."""
    from weir import dbt  # deferred: only needed here

    home = make_private_dir(data_dir.airflow_home)  # its DB holds XComs and run configs
    private_passwords(home / PASSWORDS_FILE)
    log = home / "weir-airflow.log"
    _airflow(data_dir, ["db", "migrate"], log)
    _airflow(data_dir, ["pools", "set", WAREHOUSE_POOL, "1", "DuckDB allows one writer"], log)
    dbt.parse(data_dir)
    return log


def private_passwords(path: Path) -> Path:
    """Create the UI passwords file owner-only before Airflow writes it (Airflow keeps the
    mode of an existing file but creates a new one world-readable); tighten an old one."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE_MODE)
    os.close(fd)
    os.chmod(path, PRIVATE_FILE_MODE)
    return path


@dataclass(frozen=True, slots=True)
class DagRunResult:
    run_id: str
    state: str
    task_states: dict[str, str]


def run_dag(data_dir: DataDir, conf: dict, log: Path, dag_id: str = DAG_ID) -> DagRunResult:
    """Run a DAG once through `airflow dags test`; read the result from the DB."""
    _airflow(data_dir, ["dags", "test", dag_id, "--conf", json.dumps(conf)], log)
    result = latest_run(data_dir, dag_id)
    if result.state != "success":
        raise AirflowRunError(
            f"DAG run {result.run_id} ended in state {result.state}: "
            f"{result.task_states}. Task logs: {data_dir.airflow_home / 'logs'}"
        )
    return result


def latest_run(data_dir: DataDir, dag_id: str = DAG_ID) -> DagRunResult:
    """The newest run of a DAG as the metadata DB records it."""
    db = data_dir.airflow_home / "airflow.db"
    with sqlite3.connect(db) as con:
        row = con.execute(
            "select run_id, state from dag_run where dag_id = ? order by id desc limit 1", (dag_id,)
        ).fetchone()
        if row is None:
            raise AirflowRunError(f"No run of {dag_id} recorded in {db}; run `weir demo` first.")
        tasks = con.execute(
            "select task_id, state from task_instance where dag_id = ? and run_id = ?", (dag_id, row[0])
        ).fetchall()
    return DagRunResult(row[0], row[1], dict(tasks))


def serve(data_dir: DataDir) -> int:
    """Run the Airflow UI and scheduler locally (`airflow standalone`) until interrupted."""
    prepare(data_dir)
    command = [str(Path(sys.executable).parent / "airflow"), "standalone"]
    # The UI's processes stop with `weir airflow`, even on kill -9.
    arm = die_with_parent(os.getpid())
    return subprocess.run(command, env=airflow_env(data_dir), preexec_fn=arm).returncode  # noqa: PLW1509
