"""A bad export is refused before it lands; a batch that fails at load is recorded `failed`
and skipped by later runs until `weir ingest --retry BATCH`; neither blocks other batches."""

from pathlib import Path

import duckdb
import pytest
import yaml

from tests.ingest._hostile import EVENTS, flat, run, snapshot, write_jsonl

GOOD_CSV = "event_id,user_id,event_type,ts\n" + "".join(
    f"F{i},U10000001,view,2026-10-01T00:00:0{i}Z\n" for i in range(3)
)


def _ledger(data_dir, batch_id: str) -> tuple:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute(
            "select status, rows_in, error from ingest.load_ledger where batch_id = ?", [batch_id]
        ).fetchone()


@pytest.mark.parametrize(
    ("mapping", "export", "message"),
    [
        ({"source": "events", "format": "csv"}, b"", "is empty; export the data again"),
        ({"source": "events", "format": "csv"}, b"\n\n", "is empty; export the data again"),
        ({"source": "events", "format": "jsonl"}, b"{}\n", "format jsonl needs `columns:` naming the fields"),
        ({"source": "clicks", "format": "csv"}, GOOD_CSV.encode(), "source 'clicks' is not a Weir source"),
        ({"source": "events", "format": "csv"}, b"event_id,,ts\n1,2,3\n", "header column(s) 2 have no name"),
    ],
    ids=["empty", "blank_lines", "jsonl_without_columns", "unknown_source", "unnamed_column"],
)
def test_bad_export_is_refused_before_anything_lands(
    world, tmp_path: Path, mapping: dict, export: bytes, message: str
) -> None:
    (tmp_path / "m.yml").write_text(yaml.safe_dump(mapping))
    (tmp_path / "export.csv").write_bytes(export)
    before, landing = snapshot(world), set(world.landing.rglob("*"))

    result = run(world, "ingest", "--mapping", str(tmp_path / "m.yml"), str(tmp_path / "export.csv"))

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert message in flat(result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ")  # one line
    assert (snapshot(world), set(world.landing.rglob("*"))) == (before, landing)


def test_failed_batch_is_recorded_skipped_then_retried(world) -> None:
    folder = world.landing / "events" / "hand-dropped-1"
    folder.mkdir()
    (folder / "part-0000.csv").write_text("id,who\n1,2\n")  # not the events layout

    first = run(world, "ingest")
    second = run(world, "ingest")
    (folder / "part-0000.csv").unlink()  # the fixed export
    (folder / "part-0000.jsonl").write_text(
        "".join(
            f'{{"event_id": "F{i}", "user_id": "U10000001", "event_type": "view", "ts": "2026-10-01"}}\n'
            for i in range(3)
        )
    )
    still_skipped = run(world, "ingest")
    retried = run(world, "ingest", "--retry", "hand-dropped-1", "--json")

    assert first.exit_code == 1
    assert (
        "1 batch(es) failed and were not loaded (recorded as failed, skipped by later runs): "
        "events/hand-dropped-1: events/hand-dropped-1/part-0000.csv: header lacks column(s) event_id, event_type"
    ) in flat(first.output)
    assert "run `weir ingest --retry hand-dropped-1`" in flat(first.output)
    assert second.exit_code == 0, second.output
    assert "events/hand-dropped-1 skipped_failed: failed earlier (events/hand-dropped-1/part-0000.csv: header" in (
        flat(second.output)
    )
    assert still_skipped.exit_code == 0 and "skipped_failed" in still_skipped.output
    assert retried.exit_code == 0, retried.output
    assert '"status": "loaded", "rows_in": 3, "rows_loaded": 3, "rows_quarantined": 0' in retried.output
    assert _ledger(world, "hand-dropped-1") == ("loaded", 3, None)


def test_failed_batch_ledger_line_names_the_error(world) -> None:
    folder = world.landing / "events" / "hand-dropped-2"
    folder.mkdir()
    (folder / "part-0000.csv").write_text("id,who\n1,2\n")

    run(world, "ingest")

    status, rows_in, error = _ledger(world, "hand-dropped-2")
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        evidenced = con.execute(
            "select json_extract_string(figures, '$.status') from audit.log "
            "where action = 'ingest_batch' and json_extract_string(inputs, '$.batch') = ?",
            ["events/hand-dropped-2"],
        ).fetchall()
    assert (status, rows_in) == ("failed", 0)
    assert evidenced == [("failed",)]  # the failed ledger line and its audit entry commit together
    assert error.startswith("events/hand-dropped-2/part-0000.csv: header lacks column(s) event_id, event_type, ts")


def test_folder_of_no_known_source_is_skipped_not_fatal(world, tmp_path: Path) -> None:
    folder = world.landing / "clicks" / "b1"
    folder.mkdir(parents=True)
    (folder / "part-0000.csv").write_text("a\n1\n")
    export = write_jsonl(tmp_path / "export.jsonl", EVENTS)
    mapping = tmp_path / "m.yml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "source": "events",
                "format": "jsonl",
                "columns": ["eid", "uid", "kind", "time"],
                "rename": {"eid": "event_id", "uid": "user_id", "kind": "event_type", "time": "ts"},
            }
        )
    )

    result = run(world, "ingest", "--mapping", str(mapping), str(export))
    everything = run(world, "ingest")

    assert result.exit_code == 0, result.output
    assert everything.exit_code == 0, everything.output
    assert "clicks/b1 skipped_unknown: landing/clicks is not a Weir source (no data contract)" in flat(
        everything.output
    )


def test_parquet_mapping_without_columns_reads_the_file_schema(world, tmp_path: Path) -> None:
    export = tmp_path / "export.parquet"
    with duckdb.connect() as con:
        con.execute(
            "copy (select 'P' || i as eid, 'U10000001' as uid, 'view' as kind, "
            "timestamptz '2026-10-01 00:00:00+00' + to_seconds(i) as ts from range(3) t(i)) to ? (format parquet)",
            [str(export)],
        )
    mapping = tmp_path / "m.yml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "source": "events",
                "format": "parquet",
                "rename": {"eid": "event_id", "uid": "user_id", "kind": "event_type"},
            }
        )
    )

    result = run(world, "ingest", "--mapping", str(mapping), str(export), "--json")

    assert result.exit_code == 0, result.output
    assert '"rows_in": 3, "rows_loaded": 3, "rows_quarantined": 0' in result.output
