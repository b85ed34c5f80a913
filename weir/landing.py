"""Read the landing zone layout: landing/<source>/<batch_id>/part-*.{jsonl,csv,parquet}."""

import hashlib
import re
import shutil
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
        raise LandingError(
            f"No landing folder at {landing}. Run `weir generate` first, "
            "or pass --data-dir pointing at a data dir that has one."
        )
    batches = []
    for source in sorted(p for p in landing.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for batch in sorted(p for p in source.iterdir() if p.is_dir()):
            parts = [f for f in batch.iterdir() if f.name.startswith("part-") and f.suffix in PART_SUFFIXES]
            if parts:
                batches.append(Batch(source.name, batch.name, len(parts), sum(f.stat().st_size for f in parts)))
    return batches


def inside(root: Path, path: Path) -> Path:
    """`path` resolved, refused unless it lies inside `root` (no `..`, no absolute escape)."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise LandingError(f"Path {path} lies outside {root}; landing paths stay inside the data dir.")
    return resolved


def land_export(landing: Path, mapping_path: Path, export: Path) -> tuple[str, str]:
    """Check an export (a file or a folder of files), then copy it into the landing zone with
    its mapping.

    Everything is checked before anything is written: the mapping (its source must be a
    known one, so it cannot name a path), and each file (not empty, UTF-8, safe column
    names). The batch id is derived from the content, so landing the same export twice is
    one batch. Returns (source, batch_id).
    """
    from weir.ingest._read import check_export  # deferred: keeps `weir landing` light
    from weir.mapping import MAPPING_FILE, load_mapping

    mapping = load_mapping(mapping_path)
    if not export.exists():
        raise LandingError(f"Export {export} does not exist; pass the file or folder to load.")
    files = sorted(p for p in export.iterdir() if p.is_file()) if export.is_dir() else [export]
    if not files:
        raise LandingError(f"Export folder {export} holds no files.")
    digest = hashlib.sha256(mapping_path.read_bytes())
    for path in files:
        digest.update(hashlib.sha256(check_export(path, mapping)).digest())
    stem = re.sub(r"[^A-Za-z0-9]+", "-", export.stem).strip("-").lower() or "export"
    batch_id = f"byo-{stem}-{digest.hexdigest()[:10]}"
    folder = inside(landing, landing / mapping.source / batch_id)
    folder.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(files):
        shutil.copyfile(path, folder / f"part-{i:04d}.{mapping.format}")
    shutil.copyfile(mapping_path, folder / MAPPING_FILE)
    return mapping.source, batch_id
