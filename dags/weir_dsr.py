"""Weir data-subject requests DAG: daily (and on demand), take every open request to its end,
then fail loudly if any is still open past its deadline.

Each task calls one `weir.dsr` function. Runs resume where a crashed run stopped (the steps
table says which systems are done), so retries are safe. Erasure writes the warehouse and the
published layer: the tasks share the warehouse pool (DuckDB has one writer).
"""

from airflow.sdk import Asset, dag, task

from weir import airflow_defaults

PUBLISHED = Asset("weir://published")  # erasure swaps in a published version without the user
POOL = airflow_defaults.POOL  # one slot: the DuckDB single writer


@dag(
    **airflow_defaults.dag_kwargs(
        "weir_dsr",
        __doc__,
        schedule="@daily",  # deadlines are in days; trigger by hand for an urgent request
        tags=["weir", "privacy", "dsr"],
    )
)
def weir_dsr():
    @task(pool=POOL, outlets=[PUBLISHED])
    def run_requests() -> list[dict]:
        from weir import dsr

        return [
            {"request": o.request_id, "status": o.status}
            for o in dsr.run_requests(airflow_defaults.data_dir(), "airflow:dsr")
        ]

    @task(trigger_rule="all_done", pool=POOL)
    def check_deadlines() -> int:
        """Fails the run naming every open request past its deadline (the auditor report shows them too)."""
        from weir import dsr

        return dsr.fail_if_overdue(airflow_defaults.data_dir())

    run_requests() >> check_deadlines()


weir_dsr()
