"""Open the warehouse DuckDB file (one writer at a time, as DuckDB requires)."""

import os
import re
import time
from pathlib import Path

import duckdb

from weir.config import PRIVATE_FILE_MODE
from weir.errors import WarehouseLocked

LOCK_WAIT_S = 30.0  # another Weir process may hold the single-writer lock briefly
# DuckDB names the holder: 'Conflicting lock is held in /usr/bin/python3 (PID 4242) by user ...'
LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
# Programs whose hold on the lock ends by itself (a Weir command, its dbt child, an Airflow
# task, a test run): worth waiting for. Anything else (a DuckDB shell, a notebook, a BI tool)
# holds it until someone closes it, so waiting only delays the error.
WEIR_PROGRAMS = ("weir", "dbt", "airflow", "celery", "pytest")


def _holder(err: duckdb.IOException) -> tuple[str, int] | None:
    match = LOCK_HOLDER.search(str(err))
    return (match["program"], int(match["pid"])) if match else None


def _is_weir_process(pid: int) -> bool:
    """Whether the process runs a Weir command (True when it cannot be told: keep waiting)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True
    # Base names only: a data dir path that happens to contain "weir" says nothing. Airflow
    # retitles its task processes ("airflow task runner: ..."), hence substrings.
    names = [Path(a.decode(errors="replace")).name.lower() for a in argv]
    return any(program in name for name in names for program in WEIR_PROGRAMS)


def _locked(path: Path, err: duckdb.IOException, waited: float) -> WarehouseLocked:
    holder = _holder(err)
    who = f"{holder[0]} (PID {holder[1]})" if holder else "another process"
    kill = f"`kill {holder[1]}`" if holder else "stop it"
    if waited:
        return WarehouseLocked(
            f"Warehouse {path} is still locked after {waited:.0f} s by {who}, a running Weir command; "
            f"wait for it to finish (or stop it: {kill}), then run again."
        )
    return WarehouseLocked(
        f"Warehouse {path} is locked by {who}. Close that program's connection to the warehouse "
        f"(a DuckDB shell, notebook or BI tool; downstream readers should use the published layer) "
        f"or stop it ({kill}), then run again."
    )


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Connect; wait up to LOCK_WAIT_S while a Weir process holds the lock, else fail at once.

    Raises:
        WarehouseLocked: naming the holder's program and PID and what to do.
    """
    start = time.monotonic()
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as err:
            if "lock" not in str(err).lower():
                raise
            holder = _holder(err)
            if holder is not None and not _is_weir_process(holder[1]):
                raise _locked(path, err, 0) from err
            if time.monotonic() - start > LOCK_WAIT_S:
                raise _locked(path, err, LOCK_WAIT_S) from err
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
