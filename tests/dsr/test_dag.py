"""The weir_dsr DAG only wires weir.dsr: run the requests, then check deadlines (in the warehouse pool)."""

from tests.dags.conftest import dagbag  # noqa: F401  # the shared DagBag fixture


def test_dsr_dag_runs_requests_then_checks_deadlines_daily(dagbag) -> None:  # noqa: F811
    dag = dagbag.dags["weir_dsr"]

    assert {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} == {
        "run_requests": ["check_deadlines"],
        "check_deadlines": [],
    }
    assert {t.pool for t in dag.tasks} == {"weir_warehouse"}
    assert [o.name for o in dag.get_task("run_requests").outlets] == ["weir://published"]
    assert dagbag.import_errors == {}
