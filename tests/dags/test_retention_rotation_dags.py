"""The retention and key-rotation DAGs only wire `weir.pipeline`: retention daily, asking the
warehouse DAG for a rebuild only when something expired; rotation on demand; both in the
warehouse pool. The stages themselves are tested in tests/test_audit_pipeline.py."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir import retention
from weir.errors import ConfigError
from weir.retention import RetentionResult

NOON = datetime(2026, 12, 4, 12, tzinfo=UTC)


def test_retention_runs_daily_then_requests_a_rebuild_only_through_a_short_circuit(dagbag) -> None:
    dag = dagbag.dags["weir_retention"]

    assert dag.timetable.expression == "0 0 * * *" and dag.max_active_runs == 1
    assert {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} == {
        "apply_retention": ["anything_expired", "request_rebuild"],
        "anything_expired": ["request_rebuild"],
        "request_rebuild": [],
    }
    assert dag.get_task("anything_expired").__class__.__name__ == "_ShortCircuitDecoratedOperator"
    assert [a.name for a in dag.get_task("request_rebuild").outlets] == ["weir://warehouse/raw"]
    assert dag.get_task("apply_retention").pool == "weir_warehouse" and dag.get_task("apply_retention").outlets == []
    assert dag.params.get_param("as_of").description.startswith("Measure ages from this date")


def test_key_rotation_runs_on_demand_in_the_warehouse_pool_and_requests_a_rebuild(dagbag) -> None:
    dag = dagbag.dags["weir_key_rotation"]

    assert dag.timetable.__class__.__name__ == "NullTimetable" and dag.task_ids == ["rotate_keys"]
    assert dag.get_task("rotate_keys").pool == "weir_warehouse"
    assert [a.name for a in dag.get_task("rotate_keys").outlets] == ["weir://warehouse/raw"]


def test_ages_are_measured_from_the_given_day_else_the_interval_end() -> None:
    assert retention.as_of("2026-11-30", NOON) == datetime(2026, 11, 30, tzinfo=UTC)
    assert retention.as_of(None, NOON) == NOON
    assert retention.as_of("", None).tzinfo == UTC  # a manual run without an interval: now


@given(st.text(max_size=20).filter(lambda s: s.strip() and not s[:1].isdigit()))
def test_an_unreadable_as_of_is_refused_naming_the_format(day: str) -> None:
    with pytest.raises(ConfigError, match=r"is not a date; write it as YYYY-MM-DD\.$"):
        retention.as_of(day, NOON)


def test_the_summary_says_whether_anything_expired() -> None:
    quiet = [RetentionResult("events", {"ip_prefix": 0}, 0), RetentionResult("users", {}, 0)]
    trimmed = [RetentionResult("events", {"ip_prefix": 7}, 0), RetentionResult("orders", {}, 3, 2)]

    assert retention.summary(quiet) == {
        "changed": False,
        "rows_deleted": {"events": 0, "users": 0},
        "columns_cleared": {"events": 0, "users": 0},
        "landing_batches_removed": {"events": 0, "users": 0},
    }
    assert retention.summary(trimmed) == {
        "changed": True,
        "rows_deleted": {"events": 0, "orders": 3},
        "columns_cleared": {"events": 7, "orders": 0},
        "landing_batches_removed": {"events": 0, "orders": 2},
    }
