"""README's "For analysts" queries run as written against the published layer, and each answer
equals the same figure computed another way: with Polars from the published Parquet copies."""

import math
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from weir.publish import published_db, published_dir

README = Path(__file__).resolve().parents[2] / "README.md"


def _queries() -> list[str]:
    text = README.read_text()
    section = text.split("## For analysts", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


def test_readme_has_analyst_queries() -> None:
    assert len(_queries()) >= 5


def _funnel(read) -> pl.DataFrame:
    by = read("mart_funnel_by_channel").group_by("channel").agg(pl.col("viewers").sum(), pl.col("purchasers").sum())
    return by.with_columns(r=pl.col("purchasers") / pl.col("viewers")).sort("r", descending=True)


def _demand(read) -> pl.DataFrame:
    by = read("mart_daily_demand").group_by("order_date", "category")
    out = by.agg(pl.col("orders").sum(), pl.col("gmv_cents").sum() / 100.0)
    return out.sort(["order_date", "gmv_cents"], descending=[False, True])


def _ab(read) -> pl.DataFrame:
    cols = ["experiment_id", "purchase_given_cart_lift", "lift_ci_low", "lift_ci_high"]
    return read("mart_ab_results").filter(pl.col("variant") == "treatment").select(cols)


def _kol(read) -> pl.DataFrame:
    cols = ["follower_tier", "accounts", "followers", "share_reached_users", "attributed_orders"]
    return read("mart_kol_tiers").select(cols).sort("follower_tier", descending=True)


def _cascades(read) -> pl.DataFrame:
    cols = ["campaign_id", "category", "shares", "max_depth", "breadth", "reached_users", "k_factor"]
    return read("mart_share_cascades").select(cols).sort("reached_users", descending=True)


def _retention(read) -> pl.DataFrame:
    cols = ["cohort_week", "week_number", "cohort_users", "retention_rate"]
    return read("mart_retention_cohorts").select(cols).sort(["cohort_week", "week_number"])


# The README query's first line -> the same answer in Polars (unrounded), its decimals, and how
# many leading columns identify a row (rows are compared by that key: ties make order moot).
OTHER_WAY = {
    "-- Conversion from view to purchase per channel": (_funnel, 4, 1),
    "-- Daily GMV by category: the input to demand forecasting": (_demand, 6, 2),
    "-- Did the friends-bought badge work? Lift of purchase-given-cart with its 95% interval": (_ab, 3, 1),
    "-- What KOLs bring, by audience size (per-account KOL rows are not published)": (_kol, 0, 1),
    "-- The share campaigns that travelled furthest": (_cascades, 2, 1),
    "-- Weekly retention of each cohort": (_retention, 3, 2),
}


def _same(a: object, b: object, decimals: int) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), abs_tol=10**-decimals)
    return a == b


def test_every_readme_query_has_a_second_computation() -> None:
    assert sorted(q.splitlines()[0] for q in _queries()) == sorted(OTHER_WAY)


@pytest.mark.parametrize("query", _queries(), ids=lambda q: q.splitlines()[0][3:40])
def test_analyst_query_answers_what_polars_computes_from_the_parquet_copies(built, query: str) -> None:
    with duckdb.connect(str(published_db(built.data_dir)), read_only=True) as con:
        rows = con.execute(query).fetchall()
    other, decimals, key = OTHER_WAY[query.splitlines()[0]]
    parquet = published_dir(built.data_dir) / "parquet"
    expected = other(lambda mart: pl.read_parquet(parquet / f"{mart}.parquet")).rows()

    assert rows
    if "limit 10" in query:  # ties in the sort key: compare the key, and that each row is a real one
        assert [r[5] for r in rows] == [e[5] for e in expected[:10]]
        assert all(any(all(_same(a, b, decimals) for a, b in zip(r, e, strict=True)) for e in expected) for r in rows)
        return
    assert len(rows) == len(expected)
    for got, want in zip(sorted(rows, key=lambda r: r[:key]), sorted(expected, key=lambda r: r[:key]), strict=True):
        assert all(_same(a, b, decimals) for a, b in zip(got, want, strict=True)), (got, want)
