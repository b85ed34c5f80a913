"""Weir key rotation DAG: on demand, create a new pseudonymisation key version and re-tokenise
the whole warehouse under it (`weir keys rotate`): every token column, the vault, the consent
ledger, the quarantine and the DSR suppression list move in one transaction with its audit
entry, and the old key is deleted. Derived schemas are dropped with it, so the raw Asset is
updated and the warehouse DAG rebuilds and republishes under the new tokens.

Trigger it when the rotation period is due or a key may be exposed. The task holds the
warehouse pool (DuckDB has one writer), so no build or load runs during the rotation.
"""

import os
from datetime import datetime

from airflow.sdk import Asset, dag, task

from weir import airflow_defaults

RAW = Asset("weir://warehouse/raw")  # re-tokenised: the warehouse DAG rebuilds and republishes
POOL = "weir_warehouse"  # one slot: the DuckDB single writer


def _data_dir():
    from weir.config import resolve_data_dir  # deferred: keep DAG parsing cheap

    return resolve_data_dir(os.environ.get("WEIR_DATA_DIR"))


@dag(
    dag_id="weir_key_rotation",
    schedule=None,  # on demand: rotation rewrites every token and needs a rebuild after it
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=airflow_defaults.DEFAULT_ARGS,
    doc_md=airflow_defaults.dag_doc(__doc__),
    tags=["weir", "privacy", "keys"],
)
def weir_key_rotation():
    @task(pool=POOL, outlets=[RAW])
    def rotate_keys() -> dict:
        from weir import pipeline

        result = pipeline.rotate_stage(_data_dir(), "airflow:key_rotation")
        return {"old_version": result.old_version, "new_version": result.new_version, "tokens": result.tokens_mapped}

    rotate_keys()


weir_key_rotation()
