"""Weir retention DAG: daily, enforce the contracts' retention periods on `raw` (`weir retention
apply`): null each column past its period, delete rows past all of them, audited in the same
transaction. When anything expired, the derived schemas were dropped with it, so the raw Asset
is updated and the warehouse DAG rebuilds (and republishes) without the expired values.

Ages are measured from the end of the run's data interval (re-running a day gives that day's
answer), or from the `as_of` date given at trigger time. The task holds the warehouse pool.
"""

from airflow.sdk import Asset, Param, dag, get_current_context, task

from weir import airflow_defaults

RAW = Asset("weir://warehouse/raw")  # derived tables were dropped: the warehouse DAG rebuilds them
POOL = airflow_defaults.POOL  # one slot: the DuckDB single writer


@dag(
    **airflow_defaults.dag_kwargs(
        "weir_retention",
        __doc__,
        schedule="@daily",  # retention periods are in days
        params={
            "as_of": Param(
                None,
                type=["null", "string"],
                format="date",
                description="Measure ages from this date (UTC); empty: the run's date.",
            ),
        },
        tags=["weir", "privacy", "retention"],
    )
)
def weir_retention():
    @task(pool=POOL)
    def apply_retention() -> dict:
        from weir import pipeline, retention

        context = get_current_context()
        as_of = retention.as_of(context["params"]["as_of"], context.get("data_interval_end"))
        results = pipeline.retention_stage(airflow_defaults.data_dir(), "airflow:retention", as_of)
        return retention.summary(results)

    @task.short_circuit
    def anything_expired(summary: dict) -> bool:
        return bool(summary["changed"])

    @task(outlets=[RAW])
    def request_rebuild(summary: dict) -> int:
        """Updates the raw Asset only when rows or values expired (the short circuit skips it otherwise)."""
        return sum(summary["rows_deleted"].values())

    summary = apply_retention()
    anything_expired(summary) >> request_rebuild(summary)


weir_retention()
