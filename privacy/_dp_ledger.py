"""The privacy-budget ledger: every spend, per dataset and period, in the warehouse (schema `dp`).

Composition is zCDP: the rho of every release on a dataset and period adds up, and so do the
deltas of DP partition selection. A spend is checked and recorded in one transaction with the
release it pays for (weir.dp), so no result is stored or published without its spend; the
caller holds the ledger lock (weir.dp) so two processes cannot both see the same remaining
budget.
"""

import math
from dataclasses import dataclass
from datetime import datetime

import duckdb

from privacy._dp_spec import Budget, Loss
from weir.errors import BudgetExceeded

DDL = """
create schema if not exists dp;
create table if not exists dp.budget_spends (
    spend_id varchar primary key,
    dataset varchar not null,
    period varchar not null,
    release_name varchar not null,
    fingerprint varchar not null,
    rho double not null,
    delta double not null,
    actor varchar not null,
    spent_at timestamptz not null
);
"""


@dataclass(frozen=True, slots=True)
class BudgetState:
    dataset: str
    period: str
    total: Loss
    spent: Loss
    releases: int

    @property
    def remaining(self) -> Loss:
        return Loss(max(self.total.rho - self.spent.rho, 0.0), max(self.total.delta - self.spent.delta, 0.0))

    @property
    def epsilon_spent(self) -> float:
        """The epsilon that the spent rho amounts to at the budget's delta (0 when nothing is spent)."""
        return epsilon_of(self.spent.rho, self.total.delta)


def epsilon_of(rho: float, delta: float) -> float:
    """rho-zCDP implies (rho + 2 sqrt(rho ln(1/delta)), delta)-DP (Bun & Steinke 2016, Prop. 1.3)."""
    if rho <= 0:
        return 0.0
    if not 0 < delta < 1:
        return math.inf
    return rho + 2 * math.sqrt(rho * math.log(1 / delta))


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def state(con: duckdb.DuckDBPyConnection, budget: Budget, period: str) -> BudgetState:
    ensure(con)
    rho, delta, count = con.execute(
        "select coalesce(sum(rho), 0), coalesce(sum(delta), 0), count(*) from dp.budget_spends "
        "where dataset = ? and period = ?",
        [budget.dataset, period],
    ).fetchall()[0]  # fetch to the end: a half-read result would block con.register() after it
    return BudgetState(budget.dataset, period, budget.total, Loss(rho, delta), count)


def periods(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    ensure(con)
    rows = con.execute("select distinct period from dp.budget_spends where dataset = ? order by 1", [dataset])
    return [r[0] for r in rows.fetchall()]


def check(con: duckdb.DuckDBPyConnection, budget: Budget, period: str, release: str, loss: Loss) -> None:
    """Raise BudgetExceeded when `loss` does not fit in what is left (changes nothing)."""
    left = state(con, budget, period).remaining
    # A tiny tolerance: OpenDP's proven loss may differ from the spec's in the last bits.
    if loss.rho > left.rho * (1 + 1e-9) or loss.delta > left.delta * (1 + 1e-9):
        raise BudgetExceeded(
            f'Privacy budget exceeded for release "{release}" on dataset "{budget.dataset}", period {period}: '
            f"requested rho={loss.rho:.4f}, delta={loss.delta:.2e}; remaining rho={left.rho:.4f}, "
            f"delta={left.delta:.2e}. Lower the release's loss in privacy/releases.yml or wait for the "
            "next period; nothing was spent."
        )


def spend_in(
    con: duckdb.DuckDBPyConnection,
    budget: Budget,
    period: str,
    release: str,
    fingerprint: str,
    loss: Loss,
    actor: str,
    now: datetime,
) -> str:
    """Check and record the spend inside the caller's open transaction (weir.dp stores the
    release and its audit entry in the same one)."""
    ensure(con)
    check(con, budget, period, release, loss)
    spend_id = f"{release}:{period}:{now.isoformat(timespec='microseconds')}"
    con.execute(
        "insert into dp.budget_spends values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [spend_id, budget.dataset, period, release, fingerprint, loss.rho, loss.delta, actor, now],
    )
    return spend_id


def spend(
    con: duckdb.DuckDBPyConnection,
    budget: Budget,
    period: str,
    release: str,
    fingerprint: str,
    loss: Loss,
    actor: str,
    now: datetime,
) -> str:
    """Record the spend if it fits in what is left, in its own transaction; otherwise raise and
    record nothing."""
    ensure(con)
    con.execute("begin transaction")
    try:
        spend_id = spend_in(con, budget, period, release, fingerprint, loss, actor, now)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return spend_id
