"""Read the landing zone layout: landing/<source>/<batch_id>/part-*.{jsonl,csv,parquet}."""

from pathlib import Path
from typing import NamedTuple

from weir.errors import LandingError

PART_SUFFIXES = {".jsonl", ".csv", ".parquet"}


class Batch(NamedTuple):
    source: str
    batch_id: str
    files: int
    bytes: int


def list_batches(landing: Path) -> list[Batch]:
    """Every (source, batch) folder holding part files, sorted; `_`-folders are metadata."""
    if not landing.is_dir():
        raise LandingError(f"No landing folder at {landing}. Run `weir generate` first, "
                           "or pass --data-dir pointing at a data dir that has one.")
    batches = []
    for source in sorted(p for p in landing.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for batch in sorted(p for p in source.iterdir() if p.is_dir()):
            parts = [f for f in batch.iterdir() if f.name.startswith("part-") and f.suffix in PART_SUFFIXES]
            if parts:
                batches.append(Batch(source.name, batch.name, len(parts), sum(f.stat().st_size for f in parts)))
    return batches
