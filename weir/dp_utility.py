"""How useful the DP releases are: released values against the exact answers on the same data.

For engineers tuning bounds and budgets on generated data, never for downstream teams: it
reads the exact (non-private) answers. The error includes both the noise and the bias that
contribution bounding adds (truncated rows, clamped values).
"""

from dataclasses import dataclass

import duckdb
import polars as pl

from privacy._dp_spec import ROWS, Catalog, ReleaseSpec, parse_period
from weir.dp import Released, sql_literal

MIN_USERS = 1_000  # the target: median relative error < 5% for groups this large


@dataclass(frozen=True, slots=True)
class Utility:
    release: str
    measure: str
    groups: int  # groups with at least `min_users` users
    median_relative_error: float | None


def exact(con: duckdb.DuckDBPyConnection, spec: ReleaseSpec, period: str) -> pl.DataFrame:
    """The exact answer per group: users, and every count/sum measure without bounds or noise."""
    chosen = parse_period(period)
    keys = ", ".join(k.column for k in spec.keys)
    # With one row per user and group, a count counts users; otherwise it counts rows.
    users = spec.bounds.max_rows_per_group == 1 and not spec.combine_per_user
    count = "count(distinct user_token)" if users or spec.combine_per_user else "count(*)"
    exact_of = {m.name: count if m.kind == "count" else _sum(m.column) for m in spec.measures if m.kind != "mean"}
    measures = [
        f"{exact_of[m.name]} as {m.name}"
        if m.kind != "mean"
        else f"{exact_of[m.sum]} / {exact_of[m.count]} as {m.name}"
        for m in spec.measures
    ]
    filters = [f"{spec.date_column} >= $start and {spec.date_column} < $end"]
    for column, values in spec.where:
        filters.append(f"{column} in ({', '.join(sql_literal(v) for v in values)})")
    sql = (
        f"select {keys}, count(distinct user_token) as _group_users, {', '.join(measures)} "
        f"from marts.{spec.input} where {' and '.join(filters)} group by all"
    )
    arrow = con.sql(sql, params={"start": chosen.start, "end": chosen.end}).to_arrow_table()
    return pl.DataFrame(pl.from_arrow(arrow))


def _sum(column: str | None) -> str:
    return "count(*)" if column == ROWS else f"sum({column})"


def utility(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, released: Released, min_users: int = MIN_USERS
) -> list[Utility]:
    """Median relative error per measure over the groups with at least `min_users` users."""
    spec = catalog.release(released.name)
    truth = exact(con, spec, released.period)
    keys = [k.column for k in spec.keys]
    joined = truth.filter(pl.col("_group_users") >= min_users).join(released.table, on=keys, suffix="_dp")
    results = []
    for m in spec.measures:
        error = ((pl.col(f"{m.name}_dp") - pl.col(m.name)).abs() / pl.col(m.name)).median()
        value = joined.select(error).item() if joined.height else None
        results.append(Utility(spec.name, m.name, joined.height, value))
    return results
