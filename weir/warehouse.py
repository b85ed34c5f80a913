"""Open the warehouse DuckDB file (one writer at a time, as DuckDB requires)."""

import os
import time
from pathlib import Path

import duckdb

from weir.config import PRIVATE_FILE_MODE

LOCK_WAIT_S = 30.0  # another Weir process may hold the single-writer lock briefly


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Connect, waiting a little if another process holds the write lock."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as err:
            if "lock" not in str(err).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        else:
            if not read_only:
                keep_private(path)
            return con


def keep_private(path: Path) -> None:
    """Owner-only modes on the warehouse file and its write-ahead log (DuckDB uses the umask)."""
    for file in (path, path.with_name(path.name + ".wal")):
        if file.exists() and file.stat().st_mode & 0o777 != PRIVATE_FILE_MODE:
            os.chmod(file, PRIVATE_FILE_MODE)


def tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    """Names of the tables in `schema` (empty when the schema does not exist)."""
    rows = con.execute("select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()
    return {r[0] for r in rows}


DERIVED_SCHEMAS = ("intermediate", "marts", "test_failures")  # built by dbt from raw


def drop_derived(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what dbt derived from raw, so the next build recomputes it in full.

    Incremental models only append new batches; after raw rows are re-tokenised (key
    rotation) or deleted/cleared (retention), their copies must not survive downstream.
    """
    for schema in DERIVED_SCHEMAS:
        con.execute(f"drop schema if exists {schema} cascade")
    # Their watermarks go too: the next build is a first build, and its tests check every row.
    con.execute("drop table if exists ops.build_watermarks")
