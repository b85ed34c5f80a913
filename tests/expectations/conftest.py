"""A small warehouse file with one raw table shaped by the reviews contract."""

from pathlib import Path

import duckdb
import pytest

T = "tk1_"  # review and order ids are tokens in raw too (their own kinds)
CLEAN_ROWS = [
    (
        T + "1" * 32,
        T + "a" * 32,
        "item-1",
        T + "4" * 32,
        5,
        "Great quality, fast delivery <PHONE>",
        "2026-10-01 10:00:00+00",
    ),
    (T + "2" * 32, T + "b" * 32, "item-2", None, 3, "ok; asked @<MENTION> about size", "2026-10-02 11:30:00+00"),
    (T + "3" * 32, T + "c" * 32, "item-3", T + "6" * 32, 4, None, "2026-10-03 09:15:00+00"),
]


def make_reviews(path: Path, rows: list[tuple]) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists raw")
        con.execute(
            "create or replace table raw.reviews (review_id varchar, user_token varchar, item_id varchar, "
            "order_id varchar, rating bigint, text varchar, created_at timestamptz)"
        )
        if rows:
            con.executemany("insert into raw.reviews values (?, ?, ?, ?, ?, ?, ?)", rows)
    return path


@pytest.fixture
def warehouse(tmp_path: Path):
    def build(rows: list[tuple] = CLEAN_ROWS) -> Path:
        return make_reviews(tmp_path / "warehouse.duckdb", rows)

    return build
