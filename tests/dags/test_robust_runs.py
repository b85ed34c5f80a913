"""Robust runs under a real embedded Airflow: transient errors retry with backoff and pass,
data errors fail at once and are written to the audit chain, a failed dbt build skips the
gate and publish (not passes them) and fails the run."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from weir import airflow_env
from weir.config import resolve_data_dir

# A DAG that wires only weir.airflow_defaults: `startup_race` meets the api-server still
# starting (httpx.ReadTimeout) on its first try; `bad_batch` meets a data error whose text
# quotes a raw value, which must not reach the audit log.
PROBE_DAG = """
from datetime import datetime, timedelta

import httpx
from airflow.sdk import dag, get_current_context, task

from weir import airflow_defaults
from weir.errors import QualityGateBlocked

ARGS = {**airflow_defaults.DEFAULT_ARGS, "retry_delay": timedelta(seconds=1)}


@dag(dag_id="weir_probe", schedule=None, start_date=datetime(2026, 1, 1), default_args=ARGS)
def weir_probe():
    @task
    def startup_race() -> int:
        if get_current_context()["ti"].try_number == 1:
            raise httpx.ReadTimeout("timed out")
        return 1

    @task
    def bad_batch() -> None:
        raise ValueError("phone 13800138000 is not valid") from QualityGateBlocked("gate blocked")

    @task
    def gate_blocked() -> None:
        raise QualityGateBlocked("Batch users/b1 blocked: rows per day observed 10.\\nDetails below")

    startup_race()
    bad_batch()
    gate_blocked()


weir_probe()
"""


def _dags_test(data_dir, dag_id: str, dags_folder: Path) -> None:
    env = {**airflow_env.airflow_env(data_dir), "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder)}
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "dags", "test", dag_id], env=env, capture_output=True, check=False, timeout=600)


def _task_rows(data_dir, dag_id: str) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(data_dir.airflow_home / "airflow.db") as con:
        rows = con.execute("select task_id, state, try_number from task_instance where dag_id = ?", (dag_id,))
        return {task: (state, tries) for task, state, tries in rows}


def _failures(data_dir) -> list[tuple[str, dict, dict]]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        rows = con.execute("select actor, inputs, figures from audit.log where action = 'task_failed' order by seq")
        return [(actor, json.loads(inputs), json.loads(figures)) for actor, inputs, figures in rows.fetchall()]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("robust"))
    airflow_env.prepare(data_dir)  # metadata DB, pool, dbt manifest; no raw data is loaded
    probes = tmp_path_factory.mktemp("probe_dags")
    (probes / "weir_probe.py").write_text(PROBE_DAG)
    _dags_test(data_dir, "weir_probe", probes)
    _dags_test(data_dir, "weir_warehouse", airflow_env.DAGS_FOLDER)  # dbt fails: `raw` is empty
    return data_dir


def test_transient_error_retries_and_succeeds(world) -> None:
    assert _task_rows(world, "weir_probe")["startup_race"] == ("success", 2)


def test_data_errors_fail_at_once_and_are_audited_without_values(world) -> None:
    tasks = _task_rows(world, "weir_probe")
    failures = {inputs["task_id"]: (actor, figures) for actor, inputs, figures in _failures(world)}

    assert tasks["bad_batch"] == ("failed", 1) and tasks["gate_blocked"] == ("failed", 1)  # 3 retries unused
    assert failures["bad_batch"] == (
        "airflow:bad_batch",
        {"error_class": "ValueError", "transient": False, "reason": "ValueError; see the task log"},
    )
    assert failures["gate_blocked"][1]["reason"] == "Batch users/b1 blocked: rows per day observed 10."
    assert "startup_race" not in failures
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        assert not con.execute(
            "select count(*) from audit.log where inputs || figures like '%13800138000%'"
        ).fetchone()[0]


def test_failed_dbt_build_skips_gate_and_publish_and_fails_the_run(world) -> None:
    tasks = _task_rows(world, "weir_warehouse")
    with sqlite3.connect(world.airflow_home / "airflow.db") as con:
        (run_state,) = con.execute("select state from dag_run where dag_id = 'weir_warehouse'").fetchone()

    assert tasks["check_policy"][0] == "success"
    assert tasks["dbt.dbt_producer_watcher"] == ("failed", 1)  # a data error: not retried
    assert tasks["gate_marts"][0] == "skipped" and tasks["publish_marts"][0] == "skipped"
    assert tasks["dbt_succeeded"][0] == "success" and tasks["dbt_failed"][0] == "failed"
    assert run_state == "failed"
    audited = {inputs["task_id"]: figures for _, inputs, figures in _failures(world)}
    assert audited["dbt_failed"]["error_class"] == "DbtRunError"
    assert "dbt.dbt_producer_watcher" in audited["dbt_failed"]["reason"]
    assert "dbt.dbt_producer_watcher" in audited
