"""Warehouses written by an earlier ingest may hold `main._lines_*` views of landing files
(a Parquet part registered with `to_view`, fixed since): ingest drops them on opening the
warehouse, evidenced in the audit log, and leaves every other view alone."""

import json

import duckdb

from weir import audit, pipeline
from weir.ingest import ingest
from weir.ingest._run import drop_leaked_views


def _views(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select view_name from duckdb_views() where schema_name = 'main' and not internal order by view_name"
    ).fetchall()
    return [r[0] for r in rows]


def test_ingest_drops_leaked_lines_views_once_and_audits_it(world) -> None:
    part = next((world.landing / "events").rglob("part-*"))
    con = duckdb.connect(str(world.warehouse))
    # What the old code left: a persistent view reading a landing file (here its lines as text).
    con.execute(f"create view main._lines_4242 as select * from read_text('{part}')")
    con.execute("create view main._lines_7 as select 1 as x")
    con.execute("create view main._lines_notes as select 1 as x")  # not ingest's: kept
    con.execute("create view main.my_report as select 1 as x")
    con.close()

    pipeline.ingest_stage(world, "test")

    con = duckdb.connect(str(world.warehouse), read_only=True)
    try:
        assert _views(con) == ["_lines_notes", "my_report"]
        dropped = [e for e in audit.read_entries(con) or [] if e.action == "drop_leaked_views"]
    finally:
        con.close()
    assert len(dropped) == 1
    assert json.loads(dropped[0].inputs) == {"views": ["_lines_4242", "_lines_7"]}
    assert json.loads(dropped[0].figures) == {"dropped": 2}

    def must_not_run(con: duckdb.DuckDBPyConnection, views: list[str]) -> None:
        raise AssertionError(f"nothing left to drop, yet evidenced {views}")

    # Idempotent: a later ingest finds nothing, writes nothing.
    assert [r.status for r in ingest(world, "users", cleanup_evidence=must_not_run)] == ["already_loaded"]
    assert drop_leaked_views(world) == []
