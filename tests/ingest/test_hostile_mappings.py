"""A hostile mapping or export, through the real CLI: refused with the fix, or loaded as plain
data; never SQL. After each attempt the keys appear in no file and no output, and the tables
already in the warehouse are as they were."""

import re
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.ingest._hostile import EVENTS, files_holding_keys, flat, run, snapshot, write_jsonl
from weir.ingest import _read

BASE = {
    "source": "events",
    "format": "jsonl",
    "columns": ["eid", "uid", "kind", "time", "via"],
    "rename": {"eid": "event_id", "uid": "user_id", "kind": "event_type", "time": "ts", "via": "channel"},
    "timestamps": {"ts": {"format": "%Y-%m-%d %H:%M:%S", "timezone": "Asia/Shanghai"}},
}
DROP = "'); drop table raw.events; --"


def _mapping(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "mapping.yml"
    path.write_text(yaml.safe_dump({**BASE, **changes}))
    return path


def _world_rows(data_dir) -> tuple[tuple, int]:
    """raw.events' columns and the generated batch's row count there."""
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        columns = tuple(r[0] for r in con.execute("describe raw.events").fetchall())
        rows = con.execute("select count(*) from raw.events where _batch_id not like 'byo-%'").fetchone()[0]
    return columns, rows


def _landing(data_dir) -> set[Path]:
    return set(data_dir.landing.rglob("*"))


def test_a_plain_mapping_loads_its_rows(world, tmp_path: Path) -> None:
    export = write_jsonl(tmp_path / "export.jsonl", EVENTS)

    result = run(world, "ingest", "--mapping", str(_mapping(tmp_path)), str(export), "--json")

    assert result.exit_code == 0, result.output
    assert '"rows_in": 3, "rows_loaded": 3, "rows_quarantined": 0' in result.output


def test_json_field_names_are_not_sql(world, tmp_path: Path, monkeypatch) -> None:
    """The reported exploit: a JSONL column name closing the JSON path literal, then
    statements that copy the HMAC key out and drop raw.events."""
    monkeypatch.chdir(tmp_path)  # relative paths keep the name under the identifier limit
    out = tmp_path / "stolen.csv"
    payload = (
        "x\"'])) as _f from lines) select 1); "
        "copy (select content from read_blob('data/keys/hmac/v1.key')) to 'stolen.csv' (header false); "
        "drop table raw.events; --"
    )
    export = write_jsonl(tmp_path / "export.jsonl", EVENTS)
    before = _world_rows(world)

    result = run(
        world, "ingest", "--mapping", str(_mapping(tmp_path, columns=[*BASE["columns"], payload])), str(export)
    )

    assert not out.exists()
    assert _world_rows(world) == before
    assert result.exit_code == 0, result.output
    assert "3 3 0" in flat(result.output)  # rows in, loaded, quarantined: the odd field is just absent
    assert files_holding_keys([tmp_path], world, result.output) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"constants": {"variant": "control" + DROP}}, "unknown_enum_value"),
        ({"value_maps": {"event_type": {"view": "view" + DROP}}}, "unknown_enum_value"),
        # The format matches nothing: times stay as written (ISO, so they still load).
        ({"timestamps": {"ts": {"format": "%d.%m.%Y" + DROP}}}, None),
        # A rename of a column the export lacks is refused with the mapping, before anything lands.
        ({"rename": {**BASE["rename"], 'uid"' + DROP: "user_id", "uid": "session_id"}}, "refused"),
    ],
    ids=["constant", "value_map", "timestamp_format", "rename_source"],
)
def test_mapping_values_stay_values(world, tmp_path: Path, changes: dict, reason: str | None) -> None:
    export = write_jsonl(tmp_path / "export.jsonl", EVENTS)
    before = _world_rows(world)

    result = run(world, "ingest", "--mapping", str(_mapping(tmp_path, **changes)), str(export), "--json")

    assert result.exit_code == (0 if reason is None else 1), result.output  # 1: a batch loaded nothing
    if reason == "refused":
        assert "`rename` names" in result.output and "rename only columns the export has" in result.output
    elif reason is None:
        assert '"rows_in": 3, "rows_loaded": 3, "rows_quarantined": 0' in result.output
    else:
        assert f'"rows_in": 3, "rows_loaded": 0, "rows_quarantined": 3, "reasons": {{"{reason}": 3}}' in result.output
    assert _world_rows(world) == before
    assert files_holding_keys([tmp_path], world, result.output) == []


def test_csv_header_names_are_not_sql(world, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    header = f"event_id,user_id,event_type,ts,x{DROP}"
    export.write_text(header + "\n" + "".join(f"X{i},U10000001,view,2026-10-01T00:00:0{i}Z,1\n" for i in range(3)))
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(yaml.safe_dump({"source": "events", "format": "csv"}))
    before = _world_rows(world)

    result = run(world, "ingest", "--mapping", str(mapping), str(export), "--json")

    assert result.exit_code == 0, result.output
    assert '"rows_in": 3, "rows_loaded": 3, "rows_quarantined": 0' in result.output
    assert _world_rows(world) == before
    assert files_holding_keys([tmp_path], world, result.output) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "csv", "delimiter": "'"}, "delimiter \"'\" is not allowed; use one of ',' \\(comma\\)"),
        ({"quote": "'"}, "Mapping .* is invalid: .*unknown key `quote`; valid keys here: source, format"),
        (
            {"timestamps": {"ts": {"format": "%Y", "timezone": "UTC" + DROP}}},
            'timestamps.ts.timezone "UTC\'\\); drop table raw.events; --" is not an IANA time zone',
        ),
        ({"rename": {"uid": "user_id" + DROP}}, "`rename` names \"user_id'\\); drop .*, not column\\(s\\) of source"),
        (
            {"derive_id": {"column": "event_id", "hash_of": ["ts" + DROP]}},
            "`derive_id` names .*not column\\(s\\) of source events",
        ),
        (
            {"columns": ["eid", "uid\nx", "kind"]},
            "SQL identifier of 5 characters holds control or unassigned character\\(s\\) at position\\(s\\) 4",
        ),
    ],
    ids=["delimiter", "quote", "timezone", "rename_target", "derive_id", "control_character"],
)
def test_unsafe_mappings_are_refused_before_anything_lands(world, tmp_path: Path, changes: dict, message: str) -> None:
    export = write_jsonl(tmp_path / "export.jsonl", EVENTS)
    before, landing = snapshot(world), _landing(world)

    result = run(world, "ingest", "--mapping", str(_mapping(tmp_path, **changes)), str(export))

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert re.search(message, flat(result.output)), result.output
    assert snapshot(world) == before
    assert _landing(world) == landing
    assert files_holding_keys([tmp_path], world, result.output) == []


@pytest.mark.parametrize("source", ["../../escape", "ABSOLUTE"], ids=["relative", "absolute"])
def test_source_cannot_name_a_path(world, tmp_path: Path, source: str) -> None:
    target = tmp_path / "outside"
    source = str(target) if source == "ABSOLUTE" else "../../outside"  # data dir is tmp_path/data
    export = write_jsonl(tmp_path / "export.jsonl", EVENTS)
    before, landing = snapshot(world), _landing(world)

    result = run(world, "ingest", "--mapping", str(_mapping(tmp_path, source=source)), str(export))

    assert result.exit_code == 1
    assert f"source '{source}' is not a Weir source; use one of: assignments, bargains" in flat(result.output)
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "export.jsonl", "mapping.yml"]
    assert (snapshot(world), _landing(world)) == (before, landing)
    assert files_holding_keys([tmp_path], world, result.output) == []


@pytest.mark.parametrize(
    "stolen",
    [
        "(select hex(content) from read_blob('{keys}/hmac/v1.key'))",
        "(select content from read_text('{keys}/vault_master.key'))",
        "(select count(*)::varchar from read_parquet('{other}'))",
        "(select count(*)::varchar from glob('{keys}/*'))",
    ],
    ids=["read_blob_key", "read_text_key", "other_batch", "glob_keys"],
)
def test_even_injected_sql_cannot_reach_the_keys(world, tmp_path: Path, monkeypatch, stolen: str) -> None:
    """Defence in depth: were a mapping to get SQL through, the connection that reads the
    batch can open no file but the batch's own parts."""
    other = next(world.landing.glob("follows/*/part-*.parquet"))
    sql = stolen.format(keys=world.keys, other=other)
    original = _read.projection_sql
    monkeypatch.setattr(_read, "projection_sql", lambda *a: original(*a) + f", {sql} as _stolen")
    export = write_jsonl(tmp_path / "export.jsonl", EVENTS)
    before = {t: v for t, v in snapshot(world).items() if t.startswith("raw.")}

    result = run(world, "ingest", "--mapping", str(_mapping(tmp_path)), str(export))

    assert result.exit_code == 1
    assert "file system operations are disabled by configuration" in flat(result.output)
    assert {t: v for t, v in snapshot(world).items() if t.startswith("raw.")} == before
    assert files_holding_keys([tmp_path], world, result.output) == []


def test_part_file_linking_to_a_key_is_refused(world) -> None:
    folder = world.landing / "events" / "linked-1"
    folder.mkdir()
    (folder / "part-0000.jsonl").symlink_to(world.keys / "hmac" / "v1.key")

    result = run(world, "ingest", "events", "--batch", "linked-1")
    later = run(world, "ingest")

    assert result.exit_code == 1
    assert later.exit_code == 0, later.output  # recorded as failed: it does not block later runs
    assert "part-0000.jsonl links to" in flat(result.output)
    assert "outside its batch folder; copy the data into the batch instead" in flat(result.output)
    assert files_holding_keys([world.root], world, result.output) == []


def test_locked_down_connection_reads_only_its_batch(world, tmp_path: Path) -> None:
    own = next(world.landing.glob("follows/*/part-*.parquet"))
    other = next(world.landing.glob("impressions/*/part-*.parquet"))
    con = duckdb.connect(str(world.warehouse))
    try:
        _read.lock_down(con, own.parent)

        rows = con.execute("select count(*) from read_parquet(?)", [str(own.resolve())]).fetchone()[0]
        refused = []
        for sql in [
            f"select count(*) from read_parquet('{other}')",
            f"select * from read_blob('{world.keys}/hmac/v1.key')",
            f"copy (select 1) to '{tmp_path}/out.csv'",
            "set enable_external_access = true",
            "set allowed_paths = ['/']",
        ]:
            with pytest.raises(duckdb.Error) as caught:
                con.execute(sql)
            refused.append(str(caught.value).split(":")[0])
        con.execute("create table raw.scratch_probe as select 1 as x")  # the warehouse itself stays writable
    finally:
        con.close()
    assert rows > 0
    assert refused == ["Permission Error"] * 3 + ["Invalid Input Error"] * 2
    assert not (tmp_path / "out.csv").exists()
