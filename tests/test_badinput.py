"""Every injected bad row is in the file where the manifest says, and looks the part."""

import json
from pathlib import Path

import polars as pl
import pytest

from weir.generate import BAD_CLASSES, GenerateResult


def _line(landing: Path, file: str, line: int) -> bytes:
    return (landing / file).read_bytes().split(b"\n")[line - 1]


def _field(raw: bytes, file: str, field: str, landing: Path) -> str | None:
    if file.endswith(".jsonl"):
        return json.loads(raw).get(field)
    header = (landing / file).read_text(errors="replace").split("\n", 1)[0].split(",")
    values = pl.read_csv(raw, has_header=False, new_columns=header, infer_schema_length=0)
    return values[field][0]


CHECKS = {
    "wrong_type": lambda v: v == "n/a",
    "missing_required": lambda v: v is None,
    "unknown_enum_value": lambda v: v == "teleport",
    "future_timestamp": lambda v: v.startswith("2099-"),
    "ancient_timestamp": lambda v: v.startswith("1970-"),
    "oversize_field": lambda v: len(v) > 10_000,
    "unknown_user": lambda v: v.startswith("U9"),
}


@pytest.fixture(scope="module")
def bad_rows(small_batch: GenerateResult) -> pl.DataFrame:
    return pl.read_parquet(small_batch.manifest.parent / "bad_rows.parquet")


def test_every_class_injected_and_counted(small_batch: GenerateResult, bad_rows: pl.DataFrame) -> None:
    manifest = json.loads(small_batch.manifest.read_text())
    counted = bad_rows.group_by("source", "bad_class").len()

    assert set(bad_rows["bad_class"]) == set(BAD_CLASSES)
    for row in counted.iter_rows(named=True):
        assert manifest["injected"][row["source"]][row["bad_class"]] == row["len"]


def test_each_bad_row_is_what_the_manifest_says(small_batch: GenerateResult, bad_rows: pl.DataFrame) -> None:
    landing = small_batch.landing
    for row in bad_rows.iter_rows(named=True):
        raw = _line(landing, row["file"], row["line"])
        kind = row["bad_class"]
        if kind == "invalid_encoding":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
        elif kind == "malformed_line":
            if row["file"].endswith(".jsonl"):
                with pytest.raises(json.JSONDecodeError):
                    json.loads(raw)
            else:
                assert raw.count(b",") < 3
        elif kind == "duplicate_id":
            previous = _line(landing, row["file"], row["line"] - 1) if row["line"] > 1 else b""
            assert raw == previous or row["row_id"] is not None
        else:
            assert CHECKS[kind](_field(raw, row["file"], row["field"], landing)), (kind, row["file"])


def test_no_unlisted_line_is_broken(small_batch: GenerateResult, bad_rows: pl.DataFrame) -> None:
    listed = {(r["file"], r["line"]) for r in bad_rows.iter_rows(named=True)}
    landing = small_batch.landing
    for path in landing.glob("*/*/part-*.jsonl"):
        rel = str(path.relative_to(landing))
        for number, raw in enumerate(path.read_bytes().split(b"\n")[:-1], start=1):
            if (rel, number) not in listed:
                json.loads(raw.decode("utf-8"))  # raises if an unlisted line is broken


def test_duplicates_repeat_an_earlier_id(small_batch: GenerateResult, bad_rows: pl.DataFrame) -> None:
    dups = bad_rows.filter((pl.col("bad_class") == "duplicate_id") & pl.col("file").str.ends_with(".jsonl"))
    landing = small_batch.landing

    for row in dups.iter_rows(named=True):
        raw = json.loads(_line(landing, row["file"], row["line"]))
        before = json.loads(_line(landing, row["file"], row["line"] - 1))
        assert raw == before
    assert dups.height > 0
