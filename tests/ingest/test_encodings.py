"""Byte-order marks are not part of a header; a GBK file is refused once, whole, with the fix;
a UTF-8 file with a few broken lines keeps its per-line quarantine."""

import json
from pathlib import Path

import yaml

from tests.ingest._hostile import flat, run, snapshot

HEADER = "event_id,user_id,event_type,ts,category\n"
MAPPING = {"source": "events", "format": "csv"}


def _rows(n: int, category: str = "dress") -> str:
    return "".join(f"G{i},U10000001,view,2026-10-01T00:00:{i % 60:02d}Z,{category}{i}\n" for i in range(n))


def _jsonl(n: int, category: str = "dress") -> str:
    """Events as a generated batch writes them (JSONL: absent fields are null)."""
    return "".join(
        json.dumps(
            {
                "event_id": f"J{i}",
                "user_id": "U10000001",
                "event_type": "view",
                "ts": f"2026-10-01T00:00:{i % 60:02d}Z",
                "category": f"{category}{i}",
            },
            ensure_ascii=False,
        )
        + "\n"
        for i in range(n)
    )


def _ingest_export(world, tmp_path: Path, data: bytes):
    (tmp_path / "m.yml").write_text(yaml.safe_dump(MAPPING))
    (tmp_path / "export.csv").write_bytes(data)
    return run(world, "ingest", "--mapping", str(tmp_path / "m.yml"), str(tmp_path / "export.csv"), "--json")


def test_bom_prefixed_header_loads_every_row(world, tmp_path: Path) -> None:
    result = _ingest_export(world, tmp_path, b"\xef\xbb\xbf" + (HEADER + _rows(5)).encode())

    assert result.exit_code == 0, result.output
    assert '"rows_in": 5, "rows_loaded": 5, "rows_quarantined": 0' in result.output


def test_bom_in_a_landed_batch_is_stripped(world) -> None:
    folder = world.landing / "events" / "bom-1"
    folder.mkdir()
    (folder / "part-0000.jsonl").write_bytes(b"\xef\xbb\xbf" + _jsonl(4).encode())

    result = run(world, "ingest", "events", "--batch", "bom-1", "--json")

    assert result.exit_code == 0, result.output
    assert '"rows_in": 4, "rows_loaded": 4, "rows_quarantined": 0' in result.output


def test_gbk_export_is_refused_once_with_the_fix(world, tmp_path: Path) -> None:
    data = (HEADER + _rows(50, category="服装")).encode("gbk")
    before, landing = snapshot(world), set(world.landing.rglob("*"))

    result = _ingest_export(world, tmp_path, data)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert (
        f"{tmp_path / 'export.csv'} is not UTF-8: 50 of its first 50 lines with non-ASCII bytes are invalid "
        "UTF-8 and read as GBK/GB18030. Re-encode the export to UTF-8 "
        "(e.g. `iconv -f GBK -t UTF-8 export.csv > utf8-export.csv`) and land it again; nothing was loaded."
    ) in flat(result.output)
    assert (snapshot(world), set(world.landing.rglob("*"))) == (before, landing)


def test_gbk_batch_in_the_landing_zone_fails_whole(world) -> None:
    folder = world.landing / "events" / "gbk-1"
    folder.mkdir()
    (folder / "part-0000.jsonl").write_bytes(_jsonl(20, category="服装").encode("gbk"))
    before = snapshot(world)["raw.events"]

    result = run(world, "ingest", "events", "--batch", "gbk-1")

    assert result.exit_code == 1
    assert "events/gbk-1/part-0000.jsonl is not UTF-8: 20 of its first 20 lines" in flat(result.output)
    assert "`weir ingest --retry gbk-1`" in flat(result.output)
    assert snapshot(world)["raw.events"] == before


def test_a_few_broken_lines_in_utf8_are_quarantined_per_line(world, tmp_path: Path) -> None:
    good = (HEADER + _rows(20, category="女装")).encode()
    broken = "".join(f"B{i},U10000001,view,2026-10-01T00:00:00Z,服装\n" for i in range(2)).encode("gbk")

    result = _ingest_export(world, tmp_path, good + broken)

    assert result.exit_code == 0, result.output
    assert '"rows_in": 22, "rows_loaded": 20, "rows_quarantined": 2, "reasons": {"invalid_encoding": 2}' in (
        result.output
    )
