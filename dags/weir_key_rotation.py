"""Weir key rotation DAG: on demand, create a new pseudonymisation key version and re-tokenise
the whole warehouse under it (`weir keys rotate`): every token column, the vault, the consent
ledger, the quarantine and the DSR suppression list move in one transaction with its audit
entry, and the old key is deleted. Derived schemas are dropped with it, so the raw Asset is
updated and the warehouse DAG rebuilds and republishes under the new tokens.

Trigger it when the rotation period is due or a key may be exposed. The task holds the
warehouse pool (DuckDB has one writer), so no build or load runs during the rotation.
"""

from airflow.sdk import Asset, dag, task

from weir import airflow_defaults

RAW = Asset("weir://warehouse/raw")  # re-tokenised: the warehouse DAG rebuilds and republishes
POOL = airflow_defaults.POOL  # one slot: the DuckDB single writer


@dag(
    **airflow_defaults.dag_kwargs(
        "weir_key_rotation",
        __doc__,
        schedule=None,  # on demand: rotation rewrites every token and needs a rebuild after it
        tags=["weir", "privacy", "keys"],
    )
)
def weir_key_rotation():
    @task(pool=POOL, outlets=[RAW])
    def rotate_keys() -> dict:
        from weir import pipeline

        result = pipeline.rotate_stage(airflow_defaults.data_dir(), "airflow:key_rotation")
        return {"old_version": result.old_version, "new_version": result.new_version, "tokens": result.tokens_mapped}

    rotate_keys()


weir_key_rotation()
