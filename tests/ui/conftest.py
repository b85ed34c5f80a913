"""The real Airflow stack (scheduler, DAG processor, api-server on a free port over a temp data
dir), started once for the browser test and the scheduler-restart test."""

import pytest

from weir import airflow_stack
from weir.config import resolve_data_dir

DAGS = ["weir_platform", "weir_warehouse", "weir_dp_releases"]  # training and DSR stay paused


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory):
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("ui") / "data")
    running = airflow_stack.start(data_dir, DAGS)
    yield running
    running.stop()
