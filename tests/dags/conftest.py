"""Shared by the DAG tests: the DAG folder parsed once per module with Airflow's DagBag."""

import pytest

from weir import dbt
from weir.airflow_env import DAGS_FOLDER, airflow_env
from weir.config import resolve_data_dir


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("dagbag"))
    dbt.parse(data_dir)  # the warehouse DAG renders its dbt tasks from the manifest
    with pytest.MonkeyPatch.context() as patch:
        for name, value in airflow_env(data_dir).items():
            if name.startswith("AIRFLOW") or name == "WEIR_DATA_DIR":
                patch.setenv(name, value)
        from airflow.dag_processing.dagbag import DagBag

        yield DagBag(dag_folder=str(DAGS_FOLDER))
