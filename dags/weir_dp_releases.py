"""Weir DP releases DAG: after the published layer changes, release every DP release in
privacy/releases.yml (one task each) for each quarter that closed since its last final release
(the data moved past the quarter's end), then report the privacy budget left.

Triggered by the `weir://published` Asset that the warehouse DAG's publish task updates.
A closed quarter already released with the same spec returns its stored result and spends
nothing, so re-runs are safe; an open quarter is released only by hand (`weir dp release
--provisional`). Tasks share the warehouse pool: DuckDB has one writer.
"""

import os

from airflow.sdk import Asset, dag, task

from privacy._dp_spec import load_catalog
from weir import airflow_defaults
from weir.config import resolve_data_dir

PUBLISHED = Asset("weir://published")
DP_RELEASES = Asset("weir://published/dp")
POOL = airflow_defaults.POOL  # one slot: the DuckDB single writer

DATA_DIR = resolve_data_dir(os.environ.get("WEIR_DATA_DIR"))
RELEASES = sorted(load_catalog().releases)  # a small YAML file in the repo: the DAG's shape


@dag(
    **airflow_defaults.dag_kwargs("weir_dp_releases", __doc__, schedule=[PUBLISHED], tags=["weir", "privacy", "opendp"])
)
def weir_dp_releases():
    @task(pool=POOL, outlets=[DP_RELEASES])
    def release(name: str) -> list[dict]:
        from weir import pipeline

        released = pipeline.dp_release_closed_stage(DATA_DIR, f"airflow:dp_release:{name}", name)
        return [{"period": r.period, "release_id": r.release_id, "rows": r.table.height} for r in released]

    @task(trigger_rule="all_done", pool=POOL)
    def report_budget() -> list[dict]:
        from weir import dp

        return [
            {"dataset": s.dataset, "period": s.period, "rho_spent": s.spent.rho, "rho_left": s.remaining.rho}
            for s in dp.budgets(DATA_DIR)
        ]

    [release.override(task_id=f"release_{name}")(name) for name in RELEASES] >> report_budget()


weir_dp_releases()
