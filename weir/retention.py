"""Retention from the contracts: null each column past its retention, delete rows past all.

A row's age is measured from the source's first timestamp column (its event time). A
column kept for less time than the row (an IP prefix for 90 days inside a 2-year event) is
nulled once it expires; the row is deleted when every kept column has expired.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import duckdb

from weir.contract import Contract, all_contracts
from weir.errors import ConfigError
from weir.warehouse import drop_derived


@dataclass(frozen=True, slots=True)
class RetentionResult:
    source: str
    columns_cleared: dict[str, int]
    rows_deleted: int

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
    }


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
