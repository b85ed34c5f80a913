"""Day two: a world's first batch and its `--continue` batch both load (no duplicate ids), pass
the raw gate and build the warehouse; the quarter the data moved past is released once, and the
quarter still open only with --provisional."""

from dataclasses import dataclass
from datetime import date

import duckdb
import pytest

from weir import dp, pipeline
from weir.config import DataDir, resolve_data_dir
from weir.dbt import DbtRun
from weir.demo import _demo_batch
from weir.dp_periods import closed_periods
from weir.errors import DpSpecError
from weir.generate import GenerateConfig, GenerateResult, plan
from weir.ingest import LoadResult
from weir.publish import published_db

# Two days before a quarter's end, then the first day of the next quarter: 2026Q3 closes.
DAY_ONE = GenerateConfig(users=300, days=2, seed=11, bad_rate=0.0, start=date(2026, 9, 29))
RELEASE = "daily_active_users"


@dataclass(frozen=True)
class TwoDays:
    data_dir: DataDir
    first: GenerateResult
    second: GenerateResult
    loads: list[LoadResult]
    gate: dict[str, str]
    run: DbtRun


@pytest.fixture(scope="module")
def two_days(tmp_path_factory: pytest.TempPathFactory) -> TwoDays:
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("day-two"))
    first = pipeline.generate_stage(data_dir, DAY_ONE, "test")
    pipeline.ingest_stage(data_dir, "test")
    second = pipeline.generate_stage(data_dir, plan(data_dir.landing, cont=True), "test")
    loads = pipeline.ingest_stage(data_dir, "test")
    gate = pipeline.raw_gate_stage(data_dir, "test", second.batch_id)
    run = pipeline.warehouse_stage(data_dir, "test")
    pipeline.publish_stage(data_dir, "test")
    return TwoDays(data_dir, first, second, loads, gate, run)


def test_the_next_day_continues_the_world_and_loads_without_duplicates(two_days: TwoDays) -> None:
    second = two_days.second

    assert second.batch_id == "20261001-1d-s11"
    assert second.rows["assignments"] == 0  # arms came on day one; users: new sign-ups only
    assert second.rows["users"] <= DAY_ONE.users / 50
    assert second.rows["events"] > 0 and second.rows["consent"] > 0
    assert {(r.batch_id, r.status) for r in two_days.loads} == {
        (b, "already_loaded" if b == two_days.first.batch_id else "loaded")
        for b in (two_days.first.batch_id, second.batch_id)
    }
    assert all(r.rows_in == r.rows_loaded + r.rows_quarantined for r in two_days.loads)
    assert all(r.reasons == {} for r in two_days.loads if r.batch_id == second.batch_id)  # no duplicate_id
    assert set(two_days.gate.values()) == {"loaded"}
    with duckdb.connect(str(two_days.data_dir.warehouse), read_only=True) as con:
        reasons = con.execute("select distinct reason from ingest.quarantine").fetchall()
        day_two_users = con.execute(
            "select count(distinct user_token), count(distinct user_token) filter "
            "(where user_token in (select user_token from raw.users)) from raw.events where _batch_id = ?",
            [second.batch_id],
        ).fetchone()
    assert reasons == []
    assert day_two_users[0] > 50 and day_two_users[0] == day_two_users[1]  # the same users, on day two


def test_the_warehouse_builds_on_both_days(two_days: TwoDays) -> None:
    assert two_days.run.ok, two_days.run.failed()
    with duckdb.connect(str(two_days.data_dir.warehouse), read_only=True) as con:
        days = con.execute("select distinct event_date from marts.dp_events order by 1").fetchall()
    assert [d for (d,) in days] == [date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 1)]


def test_a_rerun_demo_lands_the_next_day_instead_of_rewriting(two_days: TwoDays) -> None:
    steps: list[str] = []

    following = _demo_batch(two_days.data_dir, DAY_ONE, steps.append)

    assert (following.batch_id, following.origin) == ("20261002-1d-s11", DAY_ONE.start)
    assert steps == ["batch 20260929-2d-s11 is already landed: landing the next day of its world (20261002-1d-s11)"]
    assert not (two_days.data_dir.landing / "events" / following.batch_id).exists()  # nothing generated yet


def _spends(data_dir: DataDir) -> int:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select count(*) from dp.budget_spends").fetchone()[0]


def test_a_closed_quarter_is_released_once_an_open_one_only_provisionally(two_days: TwoDays) -> None:
    data_dir = two_days.data_dir
    assert closed_periods(data_dir, RELEASE) == ["2026Q3"]

    closed = pipeline.dp_release_closed_stage(data_dir, "test", RELEASE)
    nothing_new = pipeline.dp_release_closed_stage(data_dir, "test", RELEASE)
    again = pipeline.dp_release_stage(data_dir, "test", [RELEASE], "2026Q3")
    spends = _spends(data_dir)
    with pytest.raises(DpSpecError, match=r"for 2026Q4: the period is still open \(data up to 2026-10-01, it ends"):
        dp.release(data_dir, RELEASE, "test", "2026Q4")
    refused_spends = _spends(data_dir)
    (provisional,) = pipeline.dp_release_stage(data_dir, "test", [RELEASE], "2026Q4", provisional=True)

    assert [(r.period, r.reused, r.provisional) for r in closed] == [("2026Q3", False, False)]
    assert nothing_new == [] and closed_periods(data_dir, RELEASE) == []
    assert (again[0].release_id, again[0].reused) == (closed[0].release_id, True)
    assert refused_spends == spends  # a refusal spends nothing
    assert (provisional.period, provisional.reused, provisional.provisional) == ("2026Q4", False, True)
    assert provisional.budget.spent.rho > 0 and _spends(data_dir) == spends + 1
    with duckdb.connect(str(published_db(data_dir)), read_only=True) as pub:
        catalogue = pub.execute("select period, provisional from dp_releases where release_name = ?", [RELEASE])
        assert sorted(catalogue.fetchall()) == [("2026Q3", False), ("2026Q4", True)]
