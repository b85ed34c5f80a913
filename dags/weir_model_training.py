"""Weir model training DAG: after the published layer changes (the feature mart was rebuilt and
passed the publish gate), train the federated purchase-propensity model on the regional silos,
register it, then publish scores for personalisation-consenting users.

Triggered by the `weir://published` Asset. Every run re-checks consent at the silos, so users who
withdrew since the last run are left out and the versions trained on them are superseded. With
`dp` (the default) the run spends the `model_training` budget; an overspending run is refused
before it starts. Tasks share the warehouse pool: DuckDB has one writer.
"""

import os

from airflow.sdk import Asset, Param, dag, get_current_context, task

from weir import airflow_defaults
from weir.config import resolve_data_dir

PUBLISHED = Asset("weir://published")
MODELS = Asset("weir://models/purchase_propensity")
POOL = airflow_defaults.POOL  # one slot: the DuckDB single writer

DATA_DIR = resolve_data_dir(os.environ.get("WEIR_DATA_DIR"))


@dag(
    **airflow_defaults.dag_kwargs(
        "weir_model_training",
        __doc__,
        schedule=[PUBLISHED],
        tags=["weir", "federated", "flower"],
        params={
            "dp": Param(
                True, type="boolean", description="Train with user-level DP (spends the model_training budget)."
            ),
            "rounds": Param(
                None, type=["null", "integer"], minimum=1, description="Rounds; empty: the app's num-server-rounds."
            ),
        },
    )
)
def weir_model_training():
    @task(pool=POOL, outlets=[MODELS])
    def train_model() -> dict:
        from federated.train import TrainRequest, train

        params = get_current_context()["params"]
        request = TrainRequest(dp=bool(params["dp"]), rounds=params["rounds"], reason="published data changed")
        result = train(DATA_DIR, "airflow:model_train", request)
        return {"version": result.version, "superseded": result.superseded, **result.card["metrics"]}

    @task(pool=POOL)
    def score_users(trained: dict) -> dict:
        from federated.scores import score

        result = score(DATA_DIR, "airflow:model_score")
        return {"version": result.version, "rows": result.rows}

    score_users(train_model())


weir_model_training()
