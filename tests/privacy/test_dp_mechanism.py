"""The OpenDP mechanism itself: contribution bounds hold, and the noise has the declared distribution.

OpenDP draws noise from the OS's CSPRNG and cannot be seeded, by design; the data here is
seeded, and the goodness-of-fit test runs at a fixed false-alarm rate (ALPHA), with a power
check that the same samples reject a wrong scale.
"""

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from scipy import stats

from privacy import _dp_query
from privacy._dp_spec import Loss, load_catalog, parse_period

PERIOD = parse_period("2026Q4")
ALPHA = 1e-3  # false-alarm rate of the goodness-of-fit test


def _catalog(tmp_path: Path, rho: float, bounds: dict, groups: int, measures: list | None = None):
    spec = {
        "budgets": {"test": {"period": "quarter", "rho": 1e9, "delta": 1e-6}},
        "key_sets": {"groups": {"source": "test fixture", "values": [f"g{i:04d}" for i in range(groups)]}},
        "releases": {
            "counts": {
                "input": "dp_test",
                "dataset": "test",
                "date_column": "day",
                "keys": {"group": {"public": "groups"}},
                "bounds": bounds,
                "measures": measures or [{"name": "rows", "kind": "count"}],
                "loss": {"rho": rho},
            }
        },
    }
    path = tmp_path / "releases.yml"
    path.write_text(yaml.safe_dump(spec))
    catalog = load_catalog(path)
    return catalog, catalog.release("counts")


def _release(catalog, spec, frame: pl.DataFrame, tmp_path: Path) -> pl.DataFrame:
    source = tmp_path / "input.parquet"
    frame.write_parquet(source)
    planned = _dp_query.plan(spec, catalog, PERIOD, pl.scan_parquet(source))
    return _dp_query.run(spec, planned)


def _users(n: int, group: str, rows_each: int, prefix: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_token": [f"{prefix}{i}" for i in range(n) for _ in range(rows_each)],
            "group": group,
            "amount": pl.Series([10] * (n * rows_each), dtype=pl.Int64),
            "day": date(2026, 10, 1),
        }
    )


def test_a_heavy_user_moves_each_count_by_at_most_the_bound(tmp_path: Path) -> None:
    # Prepare: so much budget that the noise is negligible; the truncation is what we see.
    catalog, spec = _catalog(
        tmp_path,
        rho=1e8,
        bounds={"max_rows_per_group": 3, "max_groups": 2},
        groups=10,
        measures=[
            {"name": "rows", "kind": "count"},
            {"name": "amount", "kind": "sum", "column": "amount", "lower": 0, "upper": 10},
        ],
    )
    honest = pl.concat([_users(50, f"g{g:04d}", 2, f"u{g}_") for g in range(10)])
    # One user with 100x the usual activity, in every group.
    heavy = pl.concat([_users(1, f"g{g:04d}", 200, "heavy") for g in range(10)])

    # Execute
    without = _release(catalog, spec, honest, tmp_path)
    with_heavy = _release(catalog, spec, pl.concat([honest, heavy]), tmp_path)

    # Assert: at most 3 rows in at most 2 groups, so the sum moves by at most 3 x 10 per group.
    moved = (with_heavy["rows"] - without["rows"]).round()
    assert without["rows"].to_list() == [100.0] * 10
    assert moved.max() == 3 and (moved > 0).sum() == 2 and moved.sum() == 6
    assert (with_heavy["amount"] - without["amount"]).round().max() == 30


def _discrete_gaussian_pmf(support: np.ndarray, sigma: float) -> np.ndarray:
    weights = np.exp(-(support.astype(float) ** 2) / (2 * sigma**2))
    return weights / weights.sum()


def _chi_square_p(noise: np.ndarray, sigma: float) -> float:
    """p-value of the noise against a discrete Gaussian with this sigma, on bins of ~equal mass."""
    support = np.arange(-int(12 * sigma), int(12 * sigma) + 1)
    pmf = _discrete_gaussian_pmf(support, sigma)
    edges = np.searchsorted(np.cumsum(pmf), np.linspace(0, 1, 21)[1:-1])
    bins = np.split(np.arange(len(support)), edges)
    expected = np.array([pmf[b].sum() for b in bins if len(b)]) * len(noise)
    index = np.clip(noise + int(12 * sigma), 0, len(support) - 1).astype(int)
    observed = np.array([np.isin(index, b).sum() for b in bins if len(b)])
    return float(stats.chisquare(observed, expected).pvalue)


def test_count_noise_follows_the_declared_discrete_gaussian(tmp_path: Path) -> None:
    # Prepare: 400 groups of exactly 100 users; each release gives 400 noise samples.
    catalog, spec = _catalog(tmp_path, rho=0.01, bounds={"max_rows_per_group": 1, "max_groups": 1}, groups=400)
    frame = pl.concat([_users(100, f"g{g:04d}", 1, f"u{g}_") for g in range(400)])
    source = tmp_path / "input.parquet"
    frame.write_parquet(source)
    planned = _dp_query.plan(spec, catalog, PERIOD, pl.scan_parquet(source))
    sigma = planned.scales["rows"]

    # Execute: five independent draws of the same measurement (2,000 samples).
    data = _dp_query.with_group_order(pl.scan_parquet(source), ["group"])
    noise = np.concatenate([planned.measurement(data).collect()["rows"].to_numpy().astype(int) - 100 for _ in range(5)])

    # Assert: the declared scale is what rho gives: sigma = sensitivity / sqrt(2 rho), where
    # OpenDP 0.16 accounts max_groups + 1 groups (see _dp_query.plan), so sensitivity sqrt(2) ...
    assert sigma == pytest.approx(np.sqrt(2) / np.sqrt(0.02), rel=1e-6)
    assert planned.spent.rho == pytest.approx(0.01)
    # ... the samples fit it, and the same samples reject a 40% wider scale (the test has power).
    assert _chi_square_p(noise, sigma) > ALPHA
    assert _chi_square_p(noise, sigma * 1.4) < ALPHA
    # ... and the published 95% half-width covers about 95% of the noise.
    # (OpenDP's integer accuracy is conservative: at sigma = 10 it covers ~96.8%.)
    assert 0.95 <= np.mean(np.abs(noise) <= planned.accuracy["rows"]) <= 0.985


def test_intervals_and_flags_are_post_processing(tmp_path: Path) -> None:
    # Prepare: a plan's published accuracy, and noisy values as OpenDP might return them.
    catalog, spec = _catalog(
        tmp_path,
        rho=0.16,
        bounds={"max_rows_per_group": 1, "max_groups": 1},
        groups=3,
        measures=[
            {"name": "rows", "kind": "count"},
            {"name": "amount", "kind": "sum", "column": "amount", "lower": 0, "upper": 10},
            {"name": "mean_amount", "kind": "mean", "sum": "amount", "count": "rows"},
        ],
    )
    planned = _dp_query.Plan(
        context=None,
        measurement=None,
        scales={"rows": 2.5, "amount": 25.0},
        accuracy={"rows": 6.0, "amount": 50.0},
        accuracy_bonferroni={"rows": 7.0, "amount": 60.0},
        threshold=None,
        spent=Loss(0.16),
        distribution="Integer Gaussian",
    )
    noisy = pl.DataFrame({"group": ["g0000", "g0001", "g0002"], "rows": [2000, 4, -3], "amount": [20000, 70, -40]})

    # Execute
    rows = _dp_query.with_intervals(spec, planned, noisy).rows(named=True)

    # Assert: value +- accuracy, never below 0 for counts and sums of non-negative values ...
    assert (rows[0]["rows"], rows[0]["rows_ci_low"], rows[0]["rows_ci_high"]) == (2000.0, 1994.0, 2006.0)
    assert (rows[2]["rows"], rows[2]["rows_ci_low"], rows[2]["rows_ci_high"]) == (0.0, 0.0, 3.0)
    assert rows[0]["rows_noise_scale"] == 2.5
    # ... flagged when the interval is wider than the value ...
    assert [r["rows_low_accuracy"] for r in rows] == [False, True, True]
    # ... and a mean from the 97.5% intervals of its sum and count (>= 95% jointly).
    assert rows[0]["mean_amount"] == 10.0
    assert rows[0]["mean_amount_ci_low"] == pytest.approx((20000 - 60) / 2007)
    assert rows[0]["mean_amount_ci_high"] == pytest.approx((20000 + 60) / 1993)
    assert rows[1]["mean_amount_ci_low"] is None and rows[1]["mean_amount_low_accuracy"] is True
