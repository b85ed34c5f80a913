"""dbt runs are evidenced in the transaction that records their results, whoever runs dbt:
`weir dbt build` and a bare dbt invocation such as an Airflow Cosmos task."""

import json
import os
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest

from privacy import signing_key_path
from weir import dbt, pipeline
from weir.config import DataDir
from weir.generate import GenerateConfig

CONFIG = GenerateConfig(users=60, days=1, seed=7, bad_rate=0.0, start=date(2026, 10, 1))


def _entries(data_dir: DataDir, action: str) -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute(
            "select actor, inputs, figures from audit.log where action = ? order by seq", [action]
        ).fetchall()


def _results(data_dir: DataDir, invocation_id: str) -> int:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select count(*) from ops.dbt_results where invocation_id = ?", [invocation_id]).fetchone()[
            0
        ]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    data_dir = DataDir(tmp_path_factory.mktemp("dbt_audit") / "data")
    pipeline.generate_stage(data_dir, CONFIG, "test")
    pipeline.ingest_stage(data_dir, "test", stop_on_reject=False)
    pipeline.warehouse_stage(data_dir, "test:build")
    return data_dir


def test_weir_dbt_build_writes_its_entry_with_its_results(built: DataDir) -> None:
    [(actor, inputs, figures)] = _entries(built, "dbt_build")

    invocation = json.loads(inputs)["invocation_id"]
    assert actor == "test:build"
    assert json.loads(figures)["nodes"] == _results(built, invocation) > 50
    assert pipeline.verify_audit(built).ok


def test_a_bare_dbt_run_like_a_cosmos_task_is_evidenced(built: DataDir) -> None:
    env = {**os.environ, **dbt.connection_env(built, actor="airflow:dbt"), "DBT_PROFILES_DIR": str(dbt.DBT_PROJECT)}
    env["DBT_TARGET_PATH"] = str(built.root / "cosmos-target")

    subprocess.run(
        [dbt.dbt_executable(), "build", "--select", "stg_users", "--quiet"],
        cwd=dbt.DBT_PROJECT,
        env=env,
        check=True,
        capture_output=True,
    )

    actor, inputs, figures = _entries(built, "dbt_build")[-1]
    assert actor == "airflow:dbt"
    assert json.loads(inputs)["select"] == ["stg_users"]
    assert json.loads(figures) == {
        "nodes": _results(built, json.loads(inputs)["invocation_id"]),
        "ok": True,
        "failed": [],
    }
    report = pipeline.verify_audit(built)  # not witnessed yet: the chain still verifies
    assert report.ok and report.entries == len(_entries(built, "ingest_batch")) + 3


def test_dbt_never_creates_a_new_signing_key(built: DataDir, tmp_path: Path) -> None:
    path = signing_key_path(built.keys)
    kept = tmp_path / "kept.key"
    path.rename(kept)
    try:
        run = dbt.run(built, ["build", "--select", "stg_users"], check=False)
    finally:
        kept.rename(path)

    assert run.returncode != 0 and not (built.keys / "audit_signing_ed25519.key.tmp").exists()
    assert "is missing, but the audit log already holds signed entries" in run.log.read_text()
    assert pipeline.verify_audit(built).ok
