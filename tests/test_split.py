"""split_off: one generated world cut in time into history and a daily batch, nothing lost."""

import shutil
from datetime import timedelta
from pathlib import Path

import polars as pl

from weir.generate import SOURCES, GenerateConfig
from weir.generate._split import split_off

CLEAN = GenerateConfig(users=800, days=4, seed=5, bad_rate=0.0)  # the clean_dir fixture's batch
BATCH = CLEAN.batch_id


def _content(paths: list[Path]) -> list:
    """JSON lines as text (they must move byte for byte), other formats as sorted rows."""
    if paths[0].suffix == ".jsonl":
        return sorted(line for p in paths for line in p.read_text().splitlines())
    read = {".csv": lambda p: pl.read_csv(p, infer_schema=False), ".parquet": pl.read_parquet}[paths[0].suffix]
    return pl.concat([read(p) for p in paths]).sort(pl.all(), nulls_last=True).rows()


def test_split_moves_the_last_day_and_keeps_every_row(clean_dir: Path, tmp_path: Path) -> None:
    landing, held = tmp_path / "landing", tmp_path / "held"
    shutil.copytree(clean_dir, landing)
    cut = CLEAN.start + timedelta(days=CLEAN.days - 1)
    parts = {s: sorted((landing / s / BATCH).glob("part-*")) for s in SOURCES}
    before = {s: _content(p) for s, p in parts.items() if p}

    daily = split_off(landing, BATCH, cut, held)

    for source, content in before.items():
        after = sorted((landing / source / BATCH).glob("part-*")) + sorted((held / source / daily).glob("part-*"))
        assert _content(after) == content, source
    assert [p.name for p in (held / "events" / daily).glob("part-*")] == [f"part-{cut}.jsonl"]
    orders = pl.read_csv(next((held / "orders" / daily).glob("part-*")), infer_schema=False)
    assert orders.height > 0 and (orders["ordered_at"].str.slice(0, 10) >= str(cut)).all()
    kept = pl.read_csv(next((landing / "orders" / BATCH).glob("part-*")), infer_schema=False)
    assert (kept["ordered_at"].str.slice(0, 10) < str(cut)).all()
