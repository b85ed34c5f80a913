"""Rewrite DuckDB files after erasure: deleted rows stay in a DuckDB file's blocks until those
blocks are reused (DuckDB frees them but does not overwrite them), so an erased token would
still be in the file's bytes. Copying the database into a fresh file leaves them behind.
"""

import os
from pathlib import Path

import duckdb

from weir.sql import ident


def compact_attached(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Rewrite a DuckDB file that `con` does not have open."""
    fresh = path.with_name(f".{path.name}.compact")
    fresh.unlink(missing_ok=True)
    con.execute("attach ? as dsr_compact_src (read_only)", [str(path)])
    con.execute("attach ? as dsr_compact_new", [str(fresh)])
    try:
        con.execute("copy from database dsr_compact_src to dsr_compact_new")
    finally:
        con.execute("detach dsr_compact_src")
        con.execute("detach dsr_compact_new")
    fresh.chmod(path.stat().st_mode & 0o777)
    os.replace(fresh, path)  # readers holding the old file keep their snapshot


def compact_warehouse(path: Path) -> tuple[int, int]:
    """Rewrite the warehouse file (closed by the caller) without the blocks of deleted rows;
    returns (bytes before, bytes after). Tables, views and constraints are copied whole."""
    fresh = path.with_name(f".{path.name}.compact")
    fresh.unlink(missing_ok=True)
    before = path.stat().st_size
    with duckdb.connect(str(path)) as con:
        con.execute("checkpoint")
        name = con.execute("select current_database()").fetchone()[0]
        con.execute("attach ? as dsr_compact_new", [str(fresh)])
        con.execute(f"copy from database {ident(name)} to dsr_compact_new")
        con.execute("detach dsr_compact_new")
    fresh.chmod(0o600)
    os.replace(fresh, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)  # checkpointed above: nothing pending
    return before, path.stat().st_size
