"""GX on DuckDB: without the workaround every SQL expectation fails; with it, results are real."""

import great_expectations.expectations as gxe
import pytest

from expectations import _duckdb, validate
from expectations._suites import Suite

SUITE = Suite(
    "pins",
    [
        gxe.ExpectColumnValuesToNotBeNull(column="review_id", meta={"severity": "error"}),  # holds
        gxe.ExpectColumnValuesToBeBetween(
            column="rating", min_value=4, max_value=5, meta={"severity": "error"}
        ),  # 1 row fails
    ],
)


@pytest.fixture
def original_gx():
    _duckdb.uninstall()
    yield
    _duckdb.install()


def test_without_the_workaround_even_a_true_expectation_fails(warehouse, original_gx, monkeypatch) -> None:
    monkeypatch.setattr(_duckdb, "install", lambda: None)  # validate() must not re-install it

    result = validate(warehouse(), SUITE, "select * from raw.reviews")

    # The bug (great_expectations issue 11579): both fail, with no observed values.
    assert [f.expectation for f in result.findings] == [
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
    ]
    assert all(str(f.observed).startswith("could not evaluate") for f in result.findings)


def test_with_the_workaround_a_failing_expectation_really_fails(warehouse) -> None:
    result = validate(warehouse(), SUITE, "select * from raw.reviews")

    assert result.evaluated == 2
    assert [(f.expectation, f.column, f.observed) for f in result.findings] == [
        ("expect_column_values_to_be_between", "rating", 1)
    ]
    assert result.blocked
