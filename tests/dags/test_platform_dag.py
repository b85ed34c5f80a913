"""The DAG folder imports cleanly, and a real embedded Airflow run succeeds end to end."""

import re
import sqlite3
from datetime import date
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives import serialization

from privacy import load_or_create_signing_key
from privacy._dp_spec import load_catalog
from privacy._keyring import current_hmac_key, vault_master_key
from weir.config import resolve_data_dir
from weir.demo import run_demo
from weir.generate import GenerateConfig
from weir.publish import published_tables


def test_dags_import_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {
        "weir_platform",
        "weir_warehouse",
        "weir_dp_releases",
        "weir_dsr",
        "weir_model_training",
        "weir_retention",
        "weir_key_rotation",
    }


def test_model_training_dag_trains_then_scores_after_each_publish(dagbag) -> None:
    dag = dagbag.dags["weir_model_training"]

    assert [a.name for a in dag.timetable.asset_condition.objects] == ["weir://published"]
    assert dag.get_task("score_users").upstream_task_ids == {"train_model"}
    assert [a.name for a in dag.get_task("train_model").outlets] == ["weir://models/purchase_propensity"]
    assert dag.params["dp"] is True


def test_platform_dag_tasks_and_assets(dagbag) -> None:
    dag = dagbag.dags["weir_platform"]

    assert sorted(dag.task_ids) == ["audit_report", "gate_raw", "generate_batch", "ingest_batch", "record_run"]
    assert dag.get_task("generate_batch").downstream_task_ids == {"ingest_batch"}
    assert dag.get_task("ingest_batch").downstream_task_ids == {"gate_raw"}
    assert dag.get_task("gate_raw").downstream_task_ids == {"record_run"}
    assert dag.get_task("record_run").downstream_task_ids == {"audit_report"}
    assert [a.name for a in dag.get_task("generate_batch").outlets] == ["weir://landing"]
    assert dag.get_task("ingest_batch").outlets == []
    assert [a.name for a in dag.get_task("gate_raw").outlets] == ["weir://warehouse/raw"]  # dbt waits for the gate
    # Each task opens the warehouse: the dbt build the gate starts must wait for the record and report.
    assert {t.pool for t in dag.tasks} == {"weir_warehouse"}


def test_warehouse_dag_is_one_dbt_build_watched_per_model_then_gate_then_publish(dagbag) -> None:
    dag = dagbag.dags["weir_warehouse"]
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    models = {t.task_id.split(".")[1].removesuffix("_run") for t in dbt_tasks if t.task_id.endswith("run")}
    producers = [t for t in dbt_tasks if t.__class__.__name__ == "DbtProducerWatcherOperator"]

    assert [a.name for a in dag.timetable.asset_condition.objects] == ["weir://warehouse/raw"]
    assert {"stg_events", "int_events", "dim_consent", "mart_funnel_by_channel", "mart_user_features"} <= models
    assert [p.task_id for p in producers] == ["dbt.dbt_producer_watcher"]  # one `dbt build` per run
    assert producers[0].retries == 0  # Cosmos skips a retried producer: no silent second build
    assert "--resource-type" not in producers[0].dbt_cmd_flags  # Cosmos's would leave the tests out
    watchers = [t for t in dbt_tasks if t.task_id.endswith("run")]
    assert {t.__class__.__name__ for t in watchers} == {"DbtRunWatcherOperator"}
    assert producers[0].pool == "weir_warehouse"  # DuckDB: one writer at a time
    assert {t.pool for t in watchers} == {"default_pool"}  # they read the build's results from XCom
    # The model tasks follow the build while it runs: the roots start beside the producer (which
    # goes first), keep the dbt order among themselves, never retry (Cosmos would run the model
    # alone) and give their slot back while the build has not started (airflow_cosmos).
    roots = dag.get_task("check_policy").downstream_task_ids
    assert {"dbt.dbt_producer_watcher", "dbt.stg_events_run", "dbt.stg_users_run"} <= roots
    assert (
        "dbt.int_events_run" not in roots
        and "dbt.stg_events_run" in dag.get_task("dbt.int_events_run").upstream_task_ids
    )
    assert producers[0].priority_weight > max(t.priority_weight for t in watchers)
    assert {(t.retries, t.poke_interval, t.poke.__name__) for t in watchers} == {(0, 2, "guarded")}
    assert not [t for t in dbt_tasks if "test" in t.task_id]  # the build runs the tests
    check = dag.get_task("dbt_succeeded")
    # The build's task fails on any failed model or test: the gate follows it, not the model tasks.
    assert check.upstream_task_ids == {"dbt.dbt_producer_watcher"} and check.trigger_rule == "all_done"
    assert dag.get_task("dbt_failed").upstream_task_ids >= {"dbt.mart_kol_tiers_run"}  # and every leaf
    assert check.downstream_task_ids == {"gate_marts"}
    assert dag.get_task("dbt_failed").trigger_rule == "one_failed" and not dag.get_task("dbt_failed").downstream_list
    gate = dag.get_task("gate_marts")
    assert gate.downstream_task_ids == {"publish_marts"} and gate.trigger_rule == "all_success"
    publish = dag.get_task("publish_marts")
    assert publish.trigger_rule == "all_done"  # a gate block still publishes the marts that passed
    assert [a.name for a in publish.outlets] == ["weir://published"]


def test_dp_dag_runs_every_release_after_publish(dagbag) -> None:
    dag = dagbag.dags["weir_dp_releases"]
    names = sorted(load_catalog().releases)

    assert [a.name for a in dag.timetable.asset_condition.objects] == ["weir://published"]
    assert sorted(dag.task_ids) == sorted([*(f"release_{n}" for n in names), "report_budget"])
    assert all(dag.get_task(f"release_{n}").downstream_task_ids == {"report_budget"} for n in names)
    assert dag.get_task("report_budget").trigger_rule == "all_done"
    assert {t.pool for t in dag.tasks} == {"weir_warehouse"}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("demo"))
    steps: list[str] = []
    # Across a quarter's end: the DP DAG releases the closed 2026Q3.
    result = run_demo(
        data_dir,
        GenerateConfig(users=300, days=2, bad_rate=0.01, start=date(2026, 9, 30)),
        steps.append,
        scheduler=False,
    )
    return data_dir, result, steps


def test_embedded_run_succeeds_and_is_recorded(demo_run) -> None:
    data_dir, result, steps = demo_run

    with sqlite3.connect(data_dir.airflow_home / "airflow.db") as con:
        states = con.execute("select state from dag_run where dag_id = 'weir_platform'").fetchall()
    assert states == [("success",)]
    assert result.run.task_states == {
        "generate_batch": "success",
        "ingest_batch": "success",
        "gate_raw": "success",
        "record_run": "success",
        "audit_report": "success",
    }
    assert {r.source: r.rows_in == r.rows_loaded + r.rows_quarantined for r in result.loads} == {
        r.source: True for r in result.loads
    }
    assert len(result.loads) == 12
    assert len(steps) == 8
    assert result.report == data_dir.root / "reports" / "report.html" and result.report.exists()
    assert result.warehouse_run.state == "success"
    states = dict(result.warehouse_run.task_states)
    assert states.pop("dbt_failed") == "skipped"  # runs only when a dbt task failed
    assert set(states.values()) == {"success"}
    assert len(result.warehouse_run.task_states) >= 35
    assert {"mart_funnel_by_channel", "mart_ab_results", "mart_kol_tiers"} <= set(result.published)
    assert result.docs.exists() and result.docs.stat().st_size > 100_000
    assert result.warehouse_run.task_states["gate_marts"] == "success"
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        built = con.execute(
            "select count(*) filter (resource_type = 'model'), count(*) filter (resource_type = 'test'), "
            "count(*) filter (resource_type = 'unit_test') from ops.dbt_results group by invocation_id"
        ).fetchall()
    assert built == [(45, 159, 5)]  # the DAG's one build: every model, data test and (a first build) unit test
    assert (data_dir.quality / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()
    assert result.dp_run.state == "success"
    assert set(result.dp_run.task_states.values()) == {"success"}
    # The demo asks again for the closed quarter: stored results come back, nothing is spent twice.
    assert {r.period for r in result.releases} == {"2026Q3"}
    assert [r.reused for r in result.releases] == [True] * len(load_catalog().releases)
    spent = sum(spec.loss.rho for spec in load_catalog().releases.values())
    assert result.releases[-1].budget.spent.rho == pytest.approx(spent)
    # Training ran after the publish: a DP model registered, its scores published.
    assert result.model_run.task_states == {"train_model": "success", "score_users": "success"}
    assert result.model.status == "current" and result.model.card["privacy"]["dp"] is True
    assert 0 < result.model.card["privacy"]["epsilon"] < 8
    assert "model_scores" in published_tables(data_dir)


def test_audit_chain_covers_the_run(demo_run) -> None:
    data_dir, result, _ = demo_run
    import duckdb

    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        actions = con.execute("select actor, action from audit.log order by seq").fetchall()
    dbt_runs = [a for a in actions if a[1].startswith("dbt_")]
    pipeline_steps = [a for a in actions if not a[1].startswith("dbt_")]
    batches = len(result.loads)
    assert result.audit.ok and result.audit.entries == len(actions)
    # One entry per ingested batch, each in its batch's transaction; one per Cosmos dbt task,
    # written by dbt's on-run-end hook with the task's results.
    assert pipeline_steps[: batches + 5] == [
        ("airflow:generate_batch", "generate"),
        *[("airflow:ingest_batch", "ingest_batch")] * batches,
        ("airflow:gate_raw", "quality_gate_raw"),
        ("airflow:record_run", "dag_run"),
        ("airflow:gate_marts", "quality_gate_marts"),
        ("airflow:publish_marts", "publish"),
    ]
    assert dbt_runs and {a[0] for a in dbt_runs} == {"airflow:dbt"}
    assert {a[1] for a in dbt_runs} <= {"dbt_build", "dbt_test", "dbt_generate"}
    # The DP release tasks run in the order Airflow picks; each spends and is evidenced once.
    assert sorted(pipeline_steps[batches + 5 : -2]) == [
        (f"airflow:dp_release:{name}", "dp_release") for name in sorted(load_catalog().releases)
    ]
    # Then the training DAG: the registered version (with its spend), then the published scores.
    assert pipeline_steps[-2:] == [("airflow:model_train", "model_train"), ("airflow:model_score", "model_score")]


def test_no_key_material_in_logs(demo_run) -> None:
    data_dir, _, _ = demo_run
    signing = load_or_create_signing_key(data_dir.keys).private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    secrets = [signing, current_hmac_key(data_dir.keys).material, vault_master_key(data_dir.keys).material]
    # Every file Airflow wrote: its log, config and metadata DB (XComs, task results).
    logs = [p for p in Path(data_dir.airflow_home).rglob("*") if p.is_file()]

    assert {p.name for p in logs} >= {"weir-airflow.log", "airflow.db", "airflow.cfg"}
    for path in logs:
        data = path.read_bytes()
        for secret in secrets:
            assert secret not in data and secret.hex().encode() not in data, path


class _Sensor:
    producer_task_id = "dbt.dbt_producer_watcher"
    model_unique_id = "model.weir.int_events"

    def __init__(self, state: str | None, status: str | None) -> None:
        self.state, self.status, self.calls, self.sql_cached = state, status, 0, False

    def _get_producer_task_status(self, context: dict) -> str | None:
        self.calls += 1
        return self.state

    def _get_node_status(self, ti: object, context: dict) -> str | None:
        self.calls += 1
        return self.status

    def _cache_compiled_sql(self, ti: object, context: dict) -> None:
        self.sql_cached = True


class _Ti:
    def __init__(self, try_number: int = 1) -> None:
        self.try_number = try_number


@pytest.mark.parametrize(
    ("state", "status", "outcome"),
    [
        (None, None, "reschedule"),  # `airflow dags test` ran the model task first
        ("scheduled", None, "reschedule"),  # its slot goes back while the build waits for the pool
        ("queued", None, False),  # the build holds a slot and starts soon: wait beside it
        ("running", None, False),  # not built yet: poke again
        ("running", "success", True),  # built: one API call, the build's state not asked
        ("success", "success", True),
        ("failed", "success", True),  # built before the failure: its own result
        ("failed", None, "skip: ended (failed) before it reached this model"),  # never run alone
        ("running", "skipped", "skip: dbt skipped"),
        ("success", None, "skip: did not report this model"),
        ("failed", "error", "fail"),
    ],
)
def test_a_model_task_follows_the_build_without_holding_a_slot(state, status, outcome, monkeypatch) -> None:
    from airflow.sdk.exceptions import AirflowRescheduleException, AirflowSkipException

    from weir import airflow_cosmos
    from weir.airflow_cosmos import _guarded_poke
    from weir.errors import DbtRunError

    niced = []
    monkeypatch.setattr(airflow_cosmos.os, "setpriority", lambda *args: niced.append(args[-1]))

    sensor = _Sensor(state, status)
    guarded = _guarded_poke(sensor, lambda context: "cosmos")
    context = {"ti": _Ti()}
    if outcome == "reschedule":
        with pytest.raises(AirflowRescheduleException):
            guarded(context)
    elif outcome == "fail":
        with pytest.raises(DbtRunError, match="model.weir.int_events ended 'error'"):
            guarded(context)
    elif isinstance(outcome, str):
        with pytest.raises(AirflowSkipException, match=re.escape(outcome.removeprefix("skip: "))):
            guarded(context)
    else:
        assert guarded(context) is outcome and sensor.sql_cached is outcome
    if status == "success":
        assert sensor.calls == 1
    assert niced and min(niced) >= 10  # a watcher leaves the CPU to the build it watches
    # A model task cleared in the UI (a second try) is Cosmos's: it runs the model on its own.
    assert _guarded_poke(_Sensor(state, status), lambda context: "cosmos")({"ti": _Ti(2)}) == "cosmos"
