"""The warehouse DAG's build task runs Weir's build and reports each model to its task."""

import os
from pathlib import Path
from types import SimpleNamespace

from weir import airflow_dbt_build, dbt
from weir.airflow_dbt_build import ModelReporter, seed_partial_parse, without_resource_types
from weir.config import resolve_data_dir


def test_the_build_keeps_every_flag_but_the_resource_types_that_drop_the_tests() -> None:
    cosmos = ["--resource-type", "model", "--resource-type", "snapshot", "--vars", "{}", "--resource-type", "seed"]
    assert without_resource_types(cosmos) == ["--vars", "{}"]
    assert without_resource_types([]) == []


def test_the_partial_parse_state_comes_from_the_data_dir_unless_the_cache_is_newer(tmp_path) -> None:
    data_dir = resolve_data_dir(tmp_path / "data")
    target = dbt.dbt_dir(data_dir) / "target"
    target.mkdir(parents=True)
    (target / "partial_parse.msgpack").write_bytes(b"ours")
    (target / "manifest.json").write_text("{}")
    cache = tmp_path / "cache"

    seed_partial_parse(data_dir, cache)
    assert (cache / "target" / "partial_parse.msgpack").read_bytes() == b"ours"
    assert (cache / "target" / "manifest.json").read_text() == "{}"

    newer = cache / "target" / "partial_parse.msgpack"
    newer.write_bytes(b"the last build's")
    later = (target / "partial_parse.msgpack").stat().st_mtime + 60
    os.utime(newer, (later, later))
    seed_partial_parse(data_dir, cache)
    assert newer.read_bytes() == b"the last build's"  # a build's own state is not overwritten


class _Ti:
    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value


def _finished(unique_id: str, resource_type: str, status: str, node_path: str = "") -> SimpleNamespace:
    node = SimpleNamespace(unique_id=unique_id, resource_type=resource_type, node_status=status, node_path=node_path)
    info = SimpleNamespace(name="NodeFinished", level="debug", msg="")
    return SimpleNamespace(info=info, data=SimpleNamespace(node_info=node))


def test_each_finished_model_is_pushed_with_its_sql_and_tests_are_not(tmp_path: Path) -> None:
    compiled = tmp_path / "target" / "compiled" / "weir" / "models" / "marts" / "mart_x.sql"
    compiled.parent.mkdir(parents=True)
    compiled.write_text("select 1\n")
    ti = _Ti()
    reporter = ModelReporter(ti, tmp_path)
    reporter.on_event(SimpleNamespace(info=SimpleNamespace(name="MainReportVersion", level="info", msg="dbt 1.11")))
    reporter.on_event(_finished("model.weir.mart_x", "model", "success", "marts/mart_x.sql"))
    reporter.on_event(_finished("test.weir.not_null_mart_x_id.abc", "test", "pass"))
    reporter.on_event(_finished("model.weir.mart_y", "model", "error", "marts/mart_y.sql"))
    reporter.close()  # waits for every push: the task's end must not come before them

    assert ti.pushed == {
        "model__weir__mart_x_status": {"status": "success", "outlet_uris": []},
        "model__weir__mart_x_compiled_sql": "select 1",
        "model__weir__mart_y_status": {"status": "error", "outlet_uris": []},
    }
    assert not reporter.thread.is_alive()


def test_the_producer_runs_weirs_build_plan(tmp_path) -> None:
    """The flags are decided when the task runs, not when the DAG file is parsed."""
    data_dir = resolve_data_dir(tmp_path)
    calls = []

    class Producer:
        dbt_cmd_flags = ["--resource-type", "model"]
        full_refresh = False

        def build_and_run_cmd(self, context, cmd_flags=None, **kwargs):  # noqa: ANN001, ANN201
            calls.append(cmd_flags)

        def add_cmd_flags(self) -> list[str]:
            return [*self.dbt_cmd_flags, *(["--full-refresh"] if self.full_refresh else [])]

    producer = Producer()
    airflow_dbt_build.build_like_weir(producer, data_dir)
    dbt.dbt_dir(data_dir).mkdir(parents=True, exist_ok=True)  # `weir dbt parse` made it
    producer.build_and_run_cmd({})  # a first build: unit tests run
    assert dbt.unit_tested_marker(data_dir).read_text() == dbt.project_fingerprint()
    producer.build_and_run_cmd({})  # the next: they are skipped while the project is the same
    assert calls == [[], ["--exclude-resource-type", "unit_test"]]
    assert dbt.full_refreshed_marker(data_dir).exists()
