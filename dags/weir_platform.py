"""Weir platform DAG: generate a landing batch, ingest it into `raw` (each source's raw quality
gate runs before its commit), turn the gate's verdict into the pipeline's (`gate_raw`, which
updates the raw Asset that starts the warehouse DAG), record the run, write the auditor's report.
Each task calls one function in `weir.pipeline`; nothing else happens here.
"""

from datetime import datetime

from airflow.sdk import Asset, Param, dag, get_current_context, task

from weir import airflow_defaults

LANDING = Asset("weir://landing")
RAW = Asset("weir://warehouse/raw")  # starts the warehouse DAG (dbt) once the raw gate passed

POOL = airflow_defaults.POOL  # every task opens the warehouse: they take turns with the dbt build


@dag(
    dag_id="weir_platform",
    schedule=None,  # the demo triggers it; production schedules it daily
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "continue": Param(
            True, type="boolean", description="Land the next day(s) of the landed world (off: a new world)."
        ),
        "users": Param(None, type=["null", "integer"], minimum=1, description="Users of a new world [2000]."),
        "days": Param(
            None, type=["null", "integer"], minimum=1, description="Days in the batch [new world 7, next day 1]."
        ),
        "seed": Param(None, type=["null", "integer"], description="Seed of a new world or of the one to continue."),
        "bad_rate": Param(
            0.0, type="number", minimum=0, maximum=1, description="Share of rows with injected bad input."
        ),
        "start": Param(
            None,
            type=["null", "string"],
            description="First day (UTC, YYYY-MM-DD) [the data interval's start, or the day after the last batch].",
        ),
    },
    default_args=airflow_defaults.DEFAULT_ARGS,
    doc_md=airflow_defaults.dag_doc(__doc__),
    tags=["weir"],
)
def weir_platform():
    @task(outlets=[LANDING], pool=POOL)  # its audit entry goes into the warehouse
    def generate_batch() -> dict:
        from weir import pipeline

        context = get_current_context()
        interval = context.get("data_interval_start"), context.get("data_interval_end")
        config = pipeline.config_from_params(
            context["params"], airflow_defaults.data_dir().landing, interval if None not in interval else None
        )
        result = pipeline.generate_stage(airflow_defaults.data_dir(), config, actor=f"airflow:{context['ti'].task_id}")
        return {"batch_id": result.batch_id, "rows": result.rows}

    @task(pool=POOL)
    def ingest_batch(generated: dict) -> dict:
        from weir import pipeline

        results = pipeline.ingest_stage(
            airflow_defaults.data_dir(), "airflow:ingest_batch", batch_id=generated["batch_id"], stop_on_reject=False
        )
        return {
            **generated,
            "loaded": {r.source: r.rows_loaded for r in results},
            "quarantined": {r.source: r.rows_quarantined for r in results},
        }

    @task(outlets=[RAW], pool=POOL)
    def gate_raw(summary: dict) -> dict:
        """The raw gate's verdict (its checks ran before each commit): fails naming suite, check,
        column and observed value, so the raw Asset is not updated and dbt does not run."""
        from weir import pipeline

        verdicts = pipeline.raw_gate_stage(airflow_defaults.data_dir(), "airflow:gate_raw", summary["batch_id"])
        return {**summary, "gate": verdicts}

    @task(pool=POOL)
    def record_run(summary: dict) -> int:
        from weir import pipeline

        context = get_current_context()
        entry = pipeline.record(
            airflow_defaults.data_dir(),
            "airflow:record_run",
            "dag_run",
            {"dag_id": "weir_platform", "run_id": context["run_id"]},
            summary,
        )
        return entry.seq

    @task(pool=POOL)
    def audit_report(seq: int) -> str:
        """The auditor's report (HTML + PDF) over the last 90 days, after the run is recorded."""
        from weir.report import write_default

        return str(write_default(airflow_defaults.data_dir()).html)

    audit_report(record_run(gate_raw(ingest_batch(generate_batch()))))


weir_platform()
