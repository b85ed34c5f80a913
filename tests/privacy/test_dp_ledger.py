"""The budget ledger: zCDP spends add up, never past the budget, and a refused spend records nothing."""

import math
from datetime import UTC, datetime

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import _dp_ledger as ledger
from privacy._dp_spec import Budget, Loss
from weir.errors import BudgetExceeded

BUDGET = Budget("social_commerce", "quarter", Loss(rho=1.0, delta=1e-6))
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _spend(con, loss: Loss, period: str = "2026Q4", release: str = "r") -> str:
    return ledger.spend(con, BUDGET, period, release, "f" * 64, loss, "test", NOW)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1e-4, max_value=0.6), min_size=1, max_size=12))
def test_spends_never_exceed_the_budget_and_refusals_change_nothing(asks: list[float]) -> None:
    con = duckdb.connect()
    accepted = 0.0
    for i, rho in enumerate(asks):
        before = ledger.state(con, BUDGET, "2026Q4")
        try:
            ledger.spend(
                con, BUDGET, "2026Q4", f"r{i}", "f", Loss(rho), "test", datetime(2026, 11, 25, 0, 0, i, tzinfo=UTC)
            )
            accepted += rho
        except BudgetExceeded:
            assert ledger.state(con, BUDGET, "2026Q4") == before  # nothing recorded
            assert before.spent.rho + rho > BUDGET.total.rho
    state = ledger.state(con, BUDGET, "2026Q4")
    assert state.spent.rho == pytest.approx(accepted)
    assert state.spent.rho <= BUDGET.total.rho * (1 + 1e-9)


def test_refusal_message_gives_requested_and_remaining() -> None:
    con = duckdb.connect()
    _spend(con, Loss(0.75))

    with pytest.raises(BudgetExceeded) as err:
        _spend(con, Loss(0.5), release="weekly_counts")

    assert str(err.value).startswith(
        'Privacy budget exceeded for release "weekly_counts" on dataset "social_commerce", period 2026Q4: '
        "requested rho=0.5000, delta=0.00e+00; remaining rho=0.2500, delta=1.00e-06."
    )
    assert "nothing was spent" in str(err.value)
    assert ledger.state(con, BUDGET, "2026Q4").releases == 1


def test_delta_composes_and_is_capped_separately() -> None:
    con = duckdb.connect()
    _spend(con, Loss(0.1, 6e-7))

    with pytest.raises(
        BudgetExceeded, match=r"requested rho=0.1000, delta=6.00e-07; remaining rho=0.9000, delta=4.00e-07"
    ):
        _spend(con, Loss(0.1, 6e-7))
    assert ledger.state(con, BUDGET, "2026Q4").spent == Loss(0.1, 6e-7)


def test_budgets_renew_per_period() -> None:
    con = duckdb.connect()
    _spend(con, Loss(1.0), period="2026Q3")
    _spend(con, Loss(1.0), period="2026Q4")

    assert ledger.state(con, BUDGET, "2026Q3").remaining.rho == 0.0
    assert ledger.periods(con, "social_commerce") == ["2026Q3", "2026Q4"]


def test_epsilon_conversion_follows_bun_steinke() -> None:
    assert ledger.epsilon_of(0.5, 1e-6) == pytest.approx(0.5 + 2 * math.sqrt(0.5 * math.log(1e6)))
    assert ledger.epsilon_of(0.0, 1e-6) == 0.0
    assert ledger.epsilon_of(0.1, 0.0) == math.inf
    state = ledger.BudgetState("d", "2026Q4", Loss(1.0, 1e-6), Loss(0.5), 1)
    assert state.epsilon_spent == pytest.approx(5.7565, abs=1e-3)
