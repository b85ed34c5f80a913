"""Files at rest: landing batches (raw personal data) and the warehouse are owner-only, like the keys."""

import os
import stat
from datetime import date
from pathlib import Path

import duckdb

from weir import pipeline
from weir.config import DataDir, ensure_writable
from weir.generate import GenerateConfig
from weir.warehouse import connect


def _modes(root: Path) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {"dirs": set(), "files": set()}
    for folder, dirs, files in os.walk(root):
        found["dirs"] |= {stat.S_IMODE(os.stat(os.path.join(folder, d)).st_mode) for d in dirs}
        found["files"] |= {stat.S_IMODE(os.stat(os.path.join(folder, f)).st_mode) for f in files}
    return found


def test_generated_landing_batch_is_owner_only(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "data")

    pipeline.generate_stage(data_dir, GenerateConfig(users=50, days=1, start=date(2026, 10, 1)), "test")

    assert stat.S_IMODE(data_dir.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(data_dir.landing.stat().st_mode) == 0o700
    assert _modes(data_dir.landing) == {"dirs": {0o700}, "files": {0o600}}


def test_warehouse_file_is_owner_only_even_when_created_with_a_loose_umask(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).execute("create table t as select 1 as a").close()
    os.chmod(path, 0o644)

    connect(path).close()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_data_dir_holding_the_warehouse_is_owner_only(tmp_path: Path) -> None:
    # DuckDB recreates its write-ahead log with the process umask; the folder keeps it private.
    data_dir = DataDir(tmp_path / "data")

    ensure_writable(data_dir)
    connect(data_dir.warehouse).close()

    assert stat.S_IMODE(data_dir.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(data_dir.warehouse.stat().st_mode) == 0o600
