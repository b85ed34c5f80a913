"""Read the landing zone layout: landing/<source>/<batch_id>/part-*.{jsonl,csv,parquet}."""

import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import NamedTuple

from weir.config import make_private_dir, write_private
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


def _refuse_links(path: Path, what: str, secret: list[Path]) -> None:
    """Refuse a symlink, or a path inside the data dir's secret parts (keys, warehouse, landing)."""
    if path.is_symlink():
        raise LandingError(f"{what} {path} is a symbolic link; pass the file or folder itself.")
    resolved = path.resolve()
    for root in secret:
        if resolved == root.resolve() or resolved.is_relative_to(root.resolve()):
            raise LandingError(f"{what} {path} lies inside the data dir ({root.name}); pass an export from elsewhere.")


def _read_export(path: Path, secret: list[Path]) -> bytes:
    """The export file's bytes, read through one descriptor opened without following a link.

    Everything after this (the checks, the hash, the landed copy) works on these bytes, so a
    file swapped for another after the path checks (a link or a hard link to a key) cannot
    land: the descriptor is what fstat judges (a regular file, none of the data dir's own).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise LandingError(
            f"Export file {path} cannot be opened as a file ({err.strerror}); pass the file itself."
        ) from err
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise LandingError(f"Export file {path} is not a regular file; pass the file itself.")
        if (info.st_dev, info.st_ino) in _inodes(secret):
            raise LandingError(
                f"Export file {path} is a file of the data dir (a hard link); pass an export from elsewhere."
            )
        return file.read()


def _inodes(roots: list[Path]) -> set[tuple[int, int]]:
    """(device, inode) of every file under `roots` (keys, warehouse, landing)."""
    found = set()
    for root in roots:
        for path in [root, *root.rglob("*")] if root.is_dir() else [root]:
            try:
                info = path.lstat()
            except OSError:
                continue
            found.add((info.st_dev, info.st_ino))
    return found


def _read_no_follow(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as file:
        return file.read()


def land_export(landing: Path, mapping_path: Path, export: Path, keys: Path | None = None) -> tuple[str, str]:
    """Check an export (a file or a folder of files), then copy it into the landing zone with
    its mapping.

    Everything is checked before anything is written: the mapping (its source must be a
    known one, so it cannot name a path), and each file (not empty, UTF-8, safe column
    names). Symbolic links, and paths inside the data dir (keys, warehouse, landing), are
    refused: an export is never a link to a key. The batch id is derived from the content,
    so landing the same export twice is one batch. The landed folder and files are owner-only.
    Returns (source, batch_id).
    """
    from weir.ingest._read import check_export  # deferred: keeps `weir landing` light
    from weir.mapping import MAPPING_FILE, load_mapping

    root = landing.parent
    secret = [keys or root / "keys", root / "warehouse.duckdb", root / "warehouse.duckdb.wal", landing]
    if mapping_path.exists() or mapping_path.is_symlink():  # a missing one: load_mapping says so
        _refuse_links(mapping_path, "Mapping", secret)
    mapping = load_mapping(mapping_path)
    if not export.exists() and not export.is_symlink():
        raise LandingError(f"Export {export} does not exist; pass the file or folder to load.")
    _refuse_links(export, "Export", secret)
    files = sorted(p for p in export.iterdir() if p.is_file() or p.is_symlink()) if export.is_dir() else [export]
    if not files:
        raise LandingError(f"Export folder {export} holds no files.")
    for path in files:
        _refuse_links(path, "Export file", secret)
    digest = hashlib.sha256(mapping_path.read_bytes())
    contents = []
    with tempfile.TemporaryDirectory(prefix="weir-export-") as private:  # 0700
        for path in files:
            data = _read_export(path, secret)  # what is checked, hashed and landed
            copy = Path(private) / path.name
            write_private(copy, data)
            check_export(copy, mapping, shown=path)
            contents.append(data)
            digest.update(hashlib.sha256(data).digest())
    stem = re.sub(r"[^A-Za-z0-9]+", "-", export.stem).strip("-").lower() or "export"
    batch_id = f"byo-{stem}-{digest.hexdigest()[:10]}"
    folder = inside(landing, landing / mapping.source / batch_id)
    make_private_dir(landing / mapping.source)
    make_private_dir(folder)
    for i, data in enumerate(contents):
        write_private(folder / f"part-{i:04d}.{mapping.format}", data)
    write_private(folder / MAPPING_FILE, _read_no_follow(mapping_path))
    return mapping.source, batch_id
