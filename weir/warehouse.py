"""Open the warehouse DuckDB file (one writer at a time, as DuckDB requires)."""

import time
from pathlib import Path

import duckdb

LOCK_WAIT_S = 30.0  # another Weir process may hold the single-writer lock briefly


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Connect, waiting a little if another process holds the write lock."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as err:
            if "lock" not in str(err).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
