"""Retention from the contracts: null each column past its retention, delete rows past all.

A row's age is measured from the source's first timestamp column (its event time). A
column kept for less time than the row (an IP prefix for 90 days inside a 2-year event) is
nulled once it expires; the row is deleted when every kept column has expired.

Landing batch folders (the only place raw ids live) are removed once loaded and older than the
landing retention, which is never shorter than the longest column retention.
"""

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path

import duckdb

from weir.contract import Contract, all_contracts
from weir.errors import ConfigError
from weir.landing import inside
from weir.warehouse import drop_derived


@dataclass(frozen=True, slots=True)
class RetentionResult:
    source: str
    columns_cleared: dict[str, int]
    rows_deleted: int
    landing_batches_removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.rows_deleted or any(self.columns_cleared.values()))


def as_of(day: str | None, interval_end: datetime | None) -> datetime:
    """When ages are measured from: a given `YYYY-MM-DD` (UTC midnight), else the scheduled
    run's interval end (a re-run of a day gives that day's answer), else now (a manual run)."""
    if day:
        try:
            return datetime.combine(date.fromisoformat(day), time(), UTC)
        except ValueError as err:
            raise ConfigError(f"as_of {day!r} is not a date; write it as YYYY-MM-DD.") from err
    return interval_end or datetime.now(UTC)


def summary(results: list[RetentionResult]) -> dict:
    """What a run of retention did, as counts (small and serialisable, for a task's result)."""
    return {
        "changed": any(r.changed for r in results),
        "rows_deleted": {r.source: r.rows_deleted for r in results},
        "columns_cleared": {r.source: sum(r.columns_cleared.values()) for r in results},
        "landing_batches_removed": {r.source: r.landing_batches_removed for r in results},
    }


def with_landing(results: list[RetentionResult], removed: list[tuple[str, str]]) -> list[RetentionResult]:
    """`results` with each source's count of removed landing batches."""
    counts = {s: sum(1 for r, _ in removed if r == s) for s, _ in removed}
    merged = [replace(r, landing_batches_removed=counts.pop(r.source, 0)) for r in results]
    return merged + [RetentionResult(s, {}, 0, n) for s, n in sorted(counts.items())]


def _event_time(contract: Contract) -> str | None:
    return next((c.out_name for c in contract.kept if c.type == "timestamp"), None)


def apply_retention(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    evidence: Callable[[duckdb.DuckDBPyConnection, list[RetentionResult]], None] | None = None,
) -> list[RetentionResult]:
    """Enforce every contract's retention on `raw.*` as of `now`, in one transaction (with its
    audit entry, written by `evidence`)."""
    present = {
        r[0]
        for r in con.execute("select table_name from information_schema.tables where table_schema = 'raw'").fetchall()
    }
    results = []
    con.execute("begin transaction")
    try:
        for contract in all_contracts():
            clock = _event_time(contract)
            if contract.source not in present or clock is None:
                continue
            longest = max(c.retention_days for c in contract.kept)
            deleted = con.execute(
                f'delete from raw.{contract.source} where "{clock}" < ?::timestamptz - interval ({longest}) day '
                "returning 1",
                [now],
            ).fetchall()
            cleared = {}
            for column in contract.kept:
                if column.retention_days < longest:
                    cleared[column.out_name] = len(
                        con.execute(
                            f'update raw.{contract.source} set "{column.out_name}" = null where '
                            f'"{column.out_name}" is not null and "{clock}" < ?::timestamptz - '
                            f"interval ({column.retention_days}) day returning 1",
                            [now],
                        ).fetchall()
                    )
            results.append(RetentionResult(contract.source, cleared, len(deleted)))
        if any(r.changed for r in results):
            drop_derived(con)  # incremental copies of expired values must go too
        if evidence is not None:
            evidence(con, results)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return results


# --- landing batches ---------------------------------------------------------------------

LANDING_ENV = "WEIR_LANDING_RETENTION_DAYS"
LANDING_DDL = """
create schema if not exists ingest;
create table if not exists ingest.landing_removed (
    source varchar not null, batch_id varchar not null, removed_at timestamptz not null,
    primary key (source, batch_id));
"""


def landing_days(spec: str | None) -> dict[str, int]:
    """Days each source's loaded landing batches are kept: its longest column retention, so every
    row a removed batch loaded has expired from raw first (rows are never younger than their
    load) and no table still needs the batch's raw ids, e.g. for a key rotation.
    WEIR_LANDING_RETENTION_DAYS keeps them longer, never shorter."""
    floor = (spec or "0").strip()
    if not floor.isdigit():
        raise ConfigError(f"{LANDING_ENV}={spec!r} is invalid; give a whole number of days, or unset it.")
    return {c.source: max(int(floor), *(k.retention_days for k in c.kept)) for c in all_contracts()}


def expired_batches(
    con: duckdb.DuckDBPyConnection, landing: Path, now: datetime, days: dict[str, int]
) -> list[tuple[str, str]]:
    """(source, batch) folders to remove: loaded more than their source's days ago (never a held,
    rejected, failed or unloaded batch), or recorded as removed by a run that stopped before."""
    con.execute(LANDING_DDL)
    rows = con.execute(
        "select l.source, l.batch_id from ingest.load_ledger l join (select unnest(?) as source, "
        "unnest(?) as days) d using (source) where l.status = 'loaded' and l.loaded_at < ?::timestamptz "
        "- to_days(d.days) union select source, batch_id from ingest.landing_removed order by 1, 2",
        [list(days), list(days.values()), now],
    ).fetchall()
    return [(s, b) for s, b in rows if (landing / s / b).is_dir()]


def remove_landing(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    now: datetime,
    days: dict[str, int],
    evidence: Callable[[duckdb.DuckDBPyConnection, list[tuple[str, str]]], None],
) -> list[tuple[str, str]]:
    """Record the expired batches with their audit entry (one transaction), then delete their
    folders: a crash in between leaves them recorded, and the next run deletes them."""
    expired = expired_batches(con, landing, now, days)
    if not expired:
        return []
    con.execute("begin transaction")
    try:
        con.execute(
            "insert or ignore into ingest.landing_removed select unnest(?), unnest(?), now()",
            [[s for s, _ in expired], [b for _, b in expired]],
        )
        evidence(con, expired)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    for source, batch_id in expired:
        shutil.rmtree(inside(landing, landing / source / batch_id))
    return expired
