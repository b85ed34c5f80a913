"""Weir platform DAG: generate a landing batch, ingest it into `raw`, record the run.

Later stages (quality gates, dbt, publish, DP, federated training) join this DAG.
Each task calls one function in `weir.pipeline`; nothing else happens here.
"""

import os
from datetime import datetime

from airflow.sdk import Asset, dag, get_current_context, task

LANDING = Asset("weir://landing")
RAW = Asset("weir://warehouse/raw")  # consumed by the quality gate and dbt (issues 4, 5)


def _data_dir():
    from weir.config import resolve_data_dir  # deferred: keep DAG parsing cheap

    return resolve_data_dir(os.environ.get("WEIR_DATA_DIR"))


@dag(
    dag_id="weir_platform",
    schedule=None,  # the demo triggers it; production schedules it daily
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"users": 2000, "days": 7, "seed": 42, "bad_rate": 0.0, "start": "2026-10-01"},
    tags=["weir"],
)
def weir_platform():
    @task(outlets=[LANDING])
    def generate_batch() -> dict:
        from weir import pipeline

        context = get_current_context()
        config = pipeline.config_from_params(context["params"])
        result = pipeline.generate_stage(_data_dir(), config, actor=f"airflow:{context['ti'].task_id}")
        return {"batch_id": result.batch_id, "rows": result.rows}

    @task(outlets=[RAW])
    def ingest_batch(generated: dict) -> dict:
        from weir import pipeline

        results = pipeline.ingest_stage(_data_dir(), "airflow:ingest_batch", batch_id=generated["batch_id"])
        return {
            **generated,
            "loaded": {r.source: r.rows_loaded for r in results},
            "quarantined": {r.source: r.rows_quarantined for r in results},
        }

    @task
    def record_run(summary: dict) -> int:
        from weir import pipeline

        context = get_current_context()
        entry = pipeline.record(
            _data_dir(),
            "airflow:record_run",
            "dag_run",
            {"dag_id": "weir_platform", "run_id": context["run_id"]},
            summary,
        )
        return entry.seq

    record_run(ingest_batch(generate_batch()))


weir_platform()
