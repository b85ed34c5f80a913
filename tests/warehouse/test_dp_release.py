"""DP releases on the built warehouse: spend once, publish with intervals, refuse overspending
(also from two processes at once), and refuse bad input without spending."""

import copy
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import yaml

from privacy._dp_spec import SPEC_FILE, load_catalog
from weir import dp, pipeline
from weir.config import DataDir
from weir.dp_utility import utility
from weir.errors import BudgetExceeded, DpSpecError
from weir.publish import published_db

SHIPPED = yaml.safe_load(SPEC_FILE.read_text())


def _catalog(tmp_path: Path, rho_total: float = 1.0, release: str = "daily_active_users", **release_edits) -> Path:
    """The shipped spec with a different total budget and edited fields of one release."""
    spec = copy.deepcopy(SHIPPED)
    spec["budgets"]["social_commerce"]["rho"] = rho_total
    spec["releases"][release].update(release_edits)
    path = tmp_path / "releases.yml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _spends(data_dir: DataDir) -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        tables = con.execute("select table_name from information_schema.tables where table_schema = 'dp'").fetchall()
        if ("budget_spends",) not in tables:
            return []  # refused before the ledger was ever touched
        return con.execute("select release_name, rho, delta from dp.budget_spends order by spent_at").fetchall()


def test_release_spends_once_and_publishes_with_intervals(warehouse_copy: DataDir, built) -> None:
    # Execute
    first = pipeline.dp_release_stage(warehouse_copy, "test", ["daily_active_users"], provisional=True)[0]
    again = pipeline.dp_release_stage(warehouse_copy, "test", ["daily_active_users"], provisional=True)[0]

    # Assert: one spend, and the second call returned the stored table.
    assert (first.reused, again.reused) == (False, True)
    assert again.release_id == first.release_id and again.table.equals(first.table)
    assert _spends(warehouse_copy) == [("daily_active_users", 0.1, 0.0)]
    assert first.period == "2026Q4" and first.table.height == 92  # every day of the quarter: public keys
    with duckdb.connect(str(published_db(warehouse_copy)), read_only=True) as con:
        rows = con.execute(
            "select event_date, users, users_ci_low, users_ci_high, users_noise_scale, users_low_accuracy "
            "from dp_daily_active_users where users > 0 order by event_date limit 3"
        ).fetchall()
        catalogue = con.execute("select release_name, period, rho, epsilon, row_count from dp_releases").fetchall()
    assert len(rows) == 3 and all(low <= value <= high for _, value, low, high, _, _ in rows)
    assert catalogue == [("daily_active_users", "2026Q4", 0.1, pytest.approx(2.4508, abs=1e-3), 92)]
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        actions = con.execute("select action from audit.log where action = 'dp_release'").fetchall()
    assert actions == [("dp_release",)]  # the reused release spent nothing and evidences nothing


def test_released_counts_are_close_to_the_truth(warehouse_copy: DataDir) -> None:
    released = dp.release(warehouse_copy, "daily_active_users", "test", provisional=True).table
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        truth = dict(
            con.execute("select event_date, count(distinct user_token) from marts.dp_events group by 1").fetchall()
        )

    for row in released.iter_rows(named=True):
        half = (row["users_ci_high"] - row["users_ci_low"]) / 2
        # Three half-widths (about 6 sigma): a false alarm is a one-in-a-billion event.
        assert abs(row["users"] - truth.get(row["event_date"], 0)) <= 3 * half
    assert set(truth) <= set(released["event_date"])


def test_re_release_spends_again_and_supersedes(warehouse_copy: DataDir) -> None:
    first = dp.release(warehouse_copy, "daily_active_users", "test", provisional=True)
    second = dp.release(warehouse_copy, "daily_active_users", "test", provisional=True, re_release=True)

    assert not second.reused and second.release_id != first.release_id
    assert [s[0] for s in _spends(warehouse_copy)] == ["daily_active_users"] * 2
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        current = con.execute("select release_id from dp.releases where is_current").fetchall()
        rows = con.execute("select count(*) from dp.daily_active_users").fetchone()[0]
    assert current == [(second.release_id,)] and rows == 92


def test_overspending_is_refused_with_the_numbers_and_spends_nothing(warehouse_copy: DataDir, tmp_path: Path) -> None:
    catalog = load_catalog(_catalog(tmp_path, rho_total=0.15))
    dp.release(warehouse_copy, "daily_active_users", "test", provisional=True, catalog=catalog)

    with pytest.raises(BudgetExceeded, match=r"requested rho=0.1000, delta=0.00e\+00; remaining rho=0.0500"):
        dp.release(warehouse_copy, "funnel_by_channel", "test", provisional=True, catalog=catalog)

    assert _spends(warehouse_copy) == [("daily_active_users", 0.1, 0.0)]
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        assert (
            con.execute(
                "select count(*) from information_schema.tables where table_name = 'funnel_by_channel'"
            ).fetchone()[0]
            == 0
        )


def test_two_processes_at_once_cannot_overspend(warehouse_copy: DataDir, tmp_path: Path) -> None:
    # Prepare: room for one of the two releases only.
    spec = _catalog(tmp_path, rho_total=0.15)
    script = textwrap.dedent(f"""
        import sys
        from privacy._dp_spec import load_catalog
        from weir import dp
        from weir.config import resolve_data_dir
        from weir.errors import BudgetExceeded
        try:
            dp.release(resolve_data_dir({str(warehouse_copy.root)!r}), sys.argv[1], "proc", provisional=True,
                       catalog=load_catalog(__import__("pathlib").Path({str(spec)!r})))
            print("released")
        except BudgetExceeded:
            print("refused")
    """)

    # Execute: both start together.
    procs = [
        subprocess.Popen([sys.executable, "-c", script, name], stdout=subprocess.PIPE, text=True)
        for name in ("daily_active_users", "funnel_by_channel")
    ]
    outcomes = sorted(p.communicate(timeout=300)[0].strip().splitlines()[-1] for p in procs)

    # Assert
    assert outcomes == ["refused", "released"]
    assert len(_spends(warehouse_copy)) == 1
    assert sum(s[1] for s in _spends(warehouse_copy)) <= 0.15


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ({"keys": {"weekday": {"public": "days"}}}, r'keys column\(s\) weekday not in mart "dp_events". Its columns:'),
        ({"input": "mart_user_features"}, r"has purpose 'model_training'; DP releases read only marts that keep"),
        ({"input": "dim_consent"}, r"has purpose 'legal_obligation'"),
        ({"input": "dp_nothing"}, r'input mart "dp_nothing" is not in the warehouse. DP inputs: dp_events, '),
        (
            {"input": "mart_daily_demand", "date_column": "order_date", "keys": {"category": {"public": "categories"}}},
            r"date_column column\(s\) user_token not in mart",
        ),
    ],
)
def test_bad_input_is_refused_and_spends_nothing(warehouse_copy: DataDir, tmp_path: Path, edits, message) -> None:
    catalog = load_catalog(_catalog(tmp_path, **edits))

    with pytest.raises(DpSpecError, match=message):
        dp.release(warehouse_copy, "daily_active_users", "test", provisional=True, catalog=catalog)

    assert _spends(warehouse_copy) == []


def test_empty_period_and_unknown_release_are_refused(warehouse_copy: DataDir) -> None:
    with pytest.raises(DpSpecError, match=r'no rows in "dp_events" for 2020Q1 \(2020-01-01 to 2020-04-01\)'):
        dp.release(warehouse_copy, "daily_active_users", "test", provisional=True, period="2020Q1")
    with pytest.raises(DpSpecError, match=r'Unknown release "dau"'):
        dp.release(warehouse_copy, "dau", "test", provisional=True)

    assert _spends(warehouse_copy) == []


def test_budget_report_lists_each_period(warehouse_copy: DataDir) -> None:
    dp.release(warehouse_copy, "friends_bought_items", "test", provisional=True)

    # the analytics budget only: federated training keeps its own (dataset model_training)
    states = {s.period: s for s in dp.budgets(warehouse_copy) if s.dataset != "model_training"}

    assert states["2026Q4"].spent.rho == pytest.approx(0.1) and states["2026Q4"].spent.delta == pytest.approx(1e-7)
    assert states["2026Q4"].remaining.rho == pytest.approx(0.9)
    assert states["2026Q4"].epsilon_spent == pytest.approx(2.4508, abs=1e-3)


def _readme_dp_queries() -> list[str]:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("## Differential privacy releases", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


def test_readme_dp_queries_run_on_the_published_layer(warehouse_copy: DataDir) -> None:
    pipeline.dp_release_stage(warehouse_copy, "test", sorted(load_catalog().releases), provisional=True)

    queries = _readme_dp_queries()
    with duckdb.connect(str(published_db(warehouse_copy)), read_only=True) as con:
        results = [con.execute(query).fetchall() for query in queries]
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}

    assert len(queries) >= 3 and all(results)
    assert {f"dp_{name}" for name in load_catalog().releases} | {"dp_releases"} <= tables
    assert len(results[0]) == len(load_catalog().releases)


def test_utility_report_compares_with_the_exact_answer(warehouse_copy: DataDir) -> None:
    catalog = load_catalog()
    released = dp.release(warehouse_copy, "daily_active_users", "test", provisional=True)

    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        (report,) = utility(con, catalog, released, min_users=300)

    # Seven days with ~700 users each; noise sigma ~21: a median error above 10% is ~3.5 sigma.
    assert (report.release, report.measure, report.groups) == ("daily_active_users", "users", 7)
    assert report.median_relative_error is not None and report.median_relative_error < 0.10


def test_a_changed_spec_is_a_new_release_and_may_change_the_table(warehouse_copy: DataDir, tmp_path: Path) -> None:
    first = dp.release(warehouse_copy, "daily_active_users", "test", provisional=True)
    renamed = load_catalog(_catalog(tmp_path, measures=[{"name": "active_users", "kind": "count"}]))

    second = dp.release(warehouse_copy, "daily_active_users", "test", provisional=True, catalog=renamed)

    assert not second.reused and "active_users_ci_low" in second.table.columns
    assert [s[0] for s in _spends(warehouse_copy)] == ["daily_active_users"] * 2  # a new spec spends
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        current = con.execute("select release_id from dp.releases where is_current").fetchall()
        columns = {r[0] for r in con.execute("describe dp.daily_active_users").fetchall()}
    assert current == [(second.release_id,)] and first.release_id != second.release_id
    assert "active_users" in columns and "users" not in columns


def test_a_heavy_buyer_moves_gmv_by_at_most_the_per_user_bounds(warehouse_copy: DataDir, tmp_path: Path) -> None:
    # Prepare: so much budget that the noise is tiny (sigma ~540 cents on GMV); the bounds show.
    catalog = load_catalog(_catalog(tmp_path, 1e7, "gmv_by_category_region", loss={"rho": 1e6}))
    group = {"category": "beauty", "shipping_region": "East China"}
    before = dp.release(warehouse_copy, "gmv_by_category_region", "test", provisional=True, catalog=catalog).table
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        con.execute(
            "insert into marts.dp_orders select 'heavy-' || i, 'heavy_user_token', timestamptz '2026-10-02 12:00+00', "
            "date '2026-10-02', 'item', 'beauty', 'East China', 'feed', 1000000, false from range(100) t(i)"
        )

    # Execute: the same spec again on the changed data.
    after = dp.release(
        warehouse_copy, "gmv_by_category_region", "test", provisional=True, re_release=True, catalog=catalog
    ).table

    # Assert: 100 orders of 10,000 CNY count as 3 orders and 1,500 CNY.
    def row(table):
        return table.filter(
            (table["category"] == group["category"]) & (table["shipping_region"] == group["shipping_region"])
        ).row(0, named=True)

    assert row(after)["orders"] - row(before)["orders"] == pytest.approx(3, abs=1)
    assert row(after)["gmv_cents"] - row(before)["gmv_cents"] == pytest.approx(150_000, abs=4_000)


def test_a_crash_before_commit_spends_nothing_and_records_nothing(warehouse_copy: DataDir, monkeypatch) -> None:
    def crash(*_args, **_kwargs):
        raise RuntimeError("killed while storing")

    monkeypatch.setattr(dp, "_store_in", crash)

    with pytest.raises(RuntimeError, match="killed while storing"):
        pipeline.dp_release_stage(warehouse_copy, "test", ["daily_active_users"], provisional=True)

    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        entries = con.execute("select count(*) from audit.log where action = 'dp_release'").fetchone()[0]
        releases = con.execute("select count(*) from dp.releases").fetchone()[0]
    assert (_spends(warehouse_copy), releases, entries) == ([], 0, 0)
    assert pipeline.verify_audit(warehouse_copy).ok


def test_a_release_stored_but_not_published_is_published_next_run(warehouse_copy: DataDir, monkeypatch) -> None:
    # Prepare: the process dies after the commit, before the published file is swapped in.
    def crash(*_args, **_kwargs):
        raise RuntimeError("killed while publishing")

    with monkeypatch.context() as patched:
        patched.setattr(dp, "update_published", crash)
        with pytest.raises(RuntimeError, match="killed while publishing"):
            pipeline.dp_release_stage(warehouse_copy, "test", ["daily_active_users"], provisional=True)
    with duckdb.connect(str(warehouse_copy.warehouse), read_only=True) as con:
        stored = con.execute("select release_id from dp.releases").fetchall()
        entries = con.execute("select inputs ->> '$.release_id' from audit.log where action = 'dp_release'").fetchall()
    assert len(stored) == 1 and entries == stored  # spend, release and entry committed together

    # Execute
    again = pipeline.dp_release_stage(warehouse_copy, "test", ["daily_active_users"], provisional=True)[0]

    # Assert
    with duckdb.connect(str(published_db(warehouse_copy)), read_only=True) as con:
        published = con.execute("select release_id from dp_releases").fetchall()
        rows = con.execute("select count(*) from dp_daily_active_users").fetchone()[0]
    assert again.reused and published == stored and rows == again.table.height
    assert _spends(warehouse_copy) == [("daily_active_users", 0.1, 0.0)]
