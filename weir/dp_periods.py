"""Which periods of a DP release are closed: the input's data has moved past the period's end.

A release of a closed period is final (re-running it returns the stored release); a release of
an open period is provisional (its numbers will change as data arrives), so it needs
`--provisional`, spends budget like any other, and is labelled so in the published catalogue.
The DP DAG releases each period that closed since the release's last final one.
"""

from datetime import date

import duckdb

from privacy._dp_spec import Catalog, Period, ReleaseSpec, load_catalog, period_of
from weir.config import DataDir
from weir.errors import DpSpecError
from weir.sql import ident
from weir.warehouse import connect, tables


def latest_day(con: duckdb.DuckDBPyConnection, spec: ReleaseSpec) -> date | None:
    """The newest day in the release's input mart (the data's watermark)."""
    if spec.input not in tables(con, "marts"):
        raise DpSpecError(f'Release "{spec.name}": input mart "{spec.input}" is not built; run the warehouse first.')
    return con.execute(f"select max({ident(spec.date_column)})::date from marts.{ident(spec.input)}").fetchone()[0]


def is_closed(con: duckdb.DuckDBPyConnection, spec: ReleaseSpec, period: Period) -> bool:
    """The input holds data after the period's last day, so no more of the period will come."""
    latest = latest_day(con, spec)
    return latest is not None and latest >= period.end


def closed_periods(data_dir: DataDir, name: str, unreleased: bool = True, catalog: Catalog | None = None) -> list[str]:
    """The closed periods with data in the input of release `name`, oldest first; with
    `unreleased`, only those without a final (non-provisional) release of the current spec."""
    spec = (catalog or load_catalog()).release(name)
    con = connect(data_dir.warehouse, read_only=True)
    try:
        latest = latest_day(con, spec)
        days = con.execute(
            f"select distinct date_trunc('quarter', {ident(spec.date_column)})::date "
            f"from marts.{ident(spec.input)} where {ident(spec.date_column)} is not null"
        ).fetchall()
        done = set()
        if unreleased and "releases" in tables(con, "dp"):
            columns = {r[0] for r in con.execute("describe dp.releases").fetchall()}
            final = "not provisional" if "provisional" in columns else "true"
            done = {
                r[0]
                for r in con.execute(
                    f"select period from dp.releases where release_name = ? and fingerprint = ? and {final}",
                    [spec.name, spec.fingerprint],
                ).fetchall()
            }
    finally:
        con.close()
    periods = sorted((period_of(d) for (d,) in days), key=lambda p: p.start)
    return [p.label for p in periods if latest is not None and latest >= p.end and p.label not in done]
