"""The dbt project builds on generated data: every model, contract, data test and unit test."""

import json

import duckdb

from weir import dbt
from weir.dbt import manifest_path
from weir.manifest import marts


def test_build_passes_every_node(built) -> None:
    assert built.run.ok, [f"{r.unique_id}: {r.message}" for r in built.run.failed()]
    kinds = {r.unique_id.split(".")[0] for r in built.run.results}
    assert {"model", "test", "unit_test"} <= kinds
    assert all(r.status in ("success", "pass", "no-op") for r in built.run.results)


def test_every_mart_has_purpose_contract_and_documented_columns(built) -> None:
    manifest = json.loads(manifest_path(built.data_dir).read_text())
    found = marts(manifest)
    assert len(found) >= 14
    for node in found:
        assert node["config"]["contract"]["enforced"], node["name"]
        assert node["config"]["meta"]["purpose"], node["name"]
        assert node["description"], node["name"]
        for name, column in node["columns"].items():
            assert column["description"] and column["data_type"], f"{node['name']}.{name}"


def test_every_model_and_column_is_described(built) -> None:
    manifest = json.loads(manifest_path(built.data_dir).read_text())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert {n["fqn"][1] for n in models} == {"staging", "intermediate", "marts"}
    for node in models:
        assert node["description"], node["name"]
        assert node["columns"], node["name"]
        assert all(c["description"] for c in node["columns"].values()), node["name"]


def test_staging_has_one_model_per_source(built) -> None:
    with duckdb.connect(str(built.data_dir.warehouse), read_only=True) as con:
        raw = {
            r[0]
            for r in con.execute("select table_name from information_schema.tables where table_schema='raw'").fetchall()
        }
        staging = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema='staging'"
            ).fetchall()
        }
    assert staging == {f"stg_{name}" for name in raw}


def test_results_are_recorded_for_publishing(built) -> None:
    with duckdb.connect(str(built.data_dir.warehouse), read_only=True) as con:
        statuses = dict(con.execute("select resource_type, count(*) from ops.dbt_results group by all").fetchall())
    assert statuses["model"] >= 30 and statuses["test"] >= 100 and statuses["unit_test"] >= 4


def test_parse_is_skipped_while_the_project_code_is_unchanged(warehouse_copy) -> None:
    parsed = dbt.parse(warehouse_copy).stat().st_mtime_ns  # the build's policy check parsed this code
    assert dbt.parse(warehouse_copy).stat().st_mtime_ns == parsed, "same code: no new dbt process"
    dbt.parsed_marker(warehouse_copy).write_text("the fingerprint of older code")
    assert dbt.parse(warehouse_copy).stat().st_mtime_ns > parsed, "changed code is parsed again"
    assert dbt.parsed_marker(warehouse_copy).read_text() == dbt.project_fingerprint()
