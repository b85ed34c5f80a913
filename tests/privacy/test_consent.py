"""Consent at a time: latest event wins, none means no, ties and disorder handled."""

from datetime import UTC, datetime

import duckdb
import pytest

from privacy._consent import ensure_ledger, holds


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("set timezone = 'UTC'")
    ensure_ledger(con)
    rows = [  # loaded out of order on purpose
        ("c3", "tk1_a", "marketing", "granted", at(5)),
        ("c1", "tk1_a", "marketing", "granted", at(1)),
        ("c2", "tk1_a", "marketing", "withdrawn", at(3)),
        ("c4", "tk1_b", "analytics", "granted", at(2)),
        ("c5", "tk1_b", "analytics", "withdrawn", at(2)),  # same instant: withdrawal wins
    ]
    con.executemany("insert into consent.ledger values (?, ?, ?, ?, ?, 'v1', 'app', 'b1')", rows)
    return con


@pytest.mark.parametrize(
    ("user", "purpose", "when", "expected"),
    [
        ("tk1_a", "marketing", at(1), True),
        ("tk1_a", "marketing", at(2), True),
        ("tk1_a", "marketing", at(3), False),
        ("tk1_a", "marketing", at(4), False),
        ("tk1_a", "marketing", at(6), True),
        ("tk1_a", "marketing", datetime(2026, 9, 30, tzinfo=UTC), False),  # before any event
        ("tk1_a", "analytics", at(6), False),  # never asked
        ("tk1_b", "analytics", at(2, 1), False),
        ("tk1_x", "analytics", at(6), False),  # unknown user
    ],
)
def test_holds(con, user: str, purpose: str, when: datetime, expected: bool) -> None:
    assert holds(con, user, purpose, when) is expected


def test_unknown_purpose_is_refused(con) -> None:
    with pytest.raises(ValueError, match="Unknown purpose 'ads'; use one of analytics, personalization"):
        holds(con, "tk1_a", "ads", at(1))


def test_ledger_rejects_unknown_status(con) -> None:
    with pytest.raises(duckdb.ConstraintException):
        con.execute("insert into consent.ledger values ('c9', 'tk1_a', 'marketing', 'maybe', now(), 'v1', 'app', 'b1')")
