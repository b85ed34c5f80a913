"""The model, features and metrics in federated/task.py (plain numpy; no Flower)."""

from datetime import UTC, datetime

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import mannwhitneyu

from federated import task
from federated.client_app import SiloClient
from tests.federated.conftest import copy_world, withdraw


def test_auc_equals_the_mann_whitney_statistic_with_ties():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300).astype(float)
    score = np.round(rng.random(300) + 0.3 * y, 1)  # rounded: many ties

    expected = mannwhitneyu(score[y == 1], score[y == 0]).statistic / ((y == 1).sum() * (y == 0).sum())

    assert task.auc(y, score) == pytest.approx(expected, abs=1e-12)


def test_auc_from_histograms_matches_the_exact_auc_of_binned_scores():
    rng = np.random.default_rng(4)
    split = task.Split(task.squash(rng.integers(0, 30, (400, len(task.FEATURES)))), rng.integers(0, 2, 400) * 1.0)
    w = rng.normal(size=task.dimension())
    binned = np.minimum((task.predict(w, split.x) * task.BINS).astype(int), task.BINS - 1)

    assert task.auc_from_histogram(task.score_histogram(w, split)) == pytest.approx(task.auc(split.y, binned), 1e-12)


def test_attack_advantage_is_the_best_tpr_minus_fpr():
    members = np.array([3.0, 1.0, 0.0, 0.0])  # losses mostly in the lowest bin
    non_members = np.array([1.0, 1.0, 1.0, 1.0])

    assert task.attack_advantage(members, non_members) == pytest.approx(1.0 - 0.5)
    assert task.attack_advantage(non_members, non_members) == 0.0


@settings(max_examples=50, deadline=None)
@given(
    arrays(float, (20, 5), elements=st.floats(-1e6, 1e6)),
    st.floats(0.01, 10),
)
def test_clipping_bounds_every_users_gradient(grads, clip):
    norms = np.linalg.norm(task.clip_rows(grads, clip), axis=1)

    assert (norms <= clip * (1 + 1e-9)).all()


def test_features_are_squashed_into_the_unit_interval_with_an_intercept():
    raw = np.array([[0, 10**9, 5, 1, 2, 3, 4, 5, 6]], dtype=float)

    x = task.squash(raw)

    assert x.shape == (1, task.dimension())
    assert x.min() >= 0 and x.max() <= 1 and x[0, 1] == 1.0 and x[0, -1] == 1.0


def test_a_silo_reads_only_its_region_and_only_users_consenting_now(fed_world, tmp_path):
    world = copy_world(fed_world, tmp_path / "w")
    con = duckdb.connect(str(world.warehouse))
    region, count = con.execute(
        "select region, count(*) from marts.mart_user_features group by 1 order by 2 desc limit 1"
    ).fetchone()
    leaving = [r[0] for r in con.execute(
        "select user_token from marts.mart_user_features where region = ? order by 1 limit 5", [region]
    ).fetchall()]  # fmt: skip
    con.close()
    withdraw(world, leaving)
    con = duckdb.connect(str(world.warehouse), read_only=True)

    partition, members = task.load_partition(con, region, datetime.now(UTC), None)

    assert partition.train.rows + partition.holdout.rows == count - 5
    assert partition.test.rows == 0  # no split date: nobody is held out by time
    assert not {task.token_digest(t) for t in leaving} & set(members)


def test_the_test_set_is_the_newer_users_by_first_activity(fed_world):
    con = duckdb.connect(str(fed_world.warehouse), read_only=True)
    cut = task.split_date(con)
    region = con.execute("select min(region) from marts.mart_user_features").fetchone()[0]
    newer = con.execute(
        "select count(*) from marts.mart_user_features where region = ? and first_active_date >= ?", [region, cut]
    ).fetchone()[0]

    partition, _ = task.load_partition(con, region, datetime.now(UTC), cut)

    assert partition.test.rows == newer > 0


def test_a_silo_with_no_consented_users_contributes_nothing(fed_world, tmp_path):
    world = copy_world(fed_world, tmp_path / "w")
    with duckdb.connect(str(world.warehouse)) as con:
        region = con.execute("select min(region) from marts.mart_user_features").fetchone()[0]
        everyone = [r[0] for r in con.execute(
            "select user_token from marts.mart_user_features where region = ?", [region]
        ).fetchall()]  # fmt: skip
    withdraw(world, everyone)
    config = {"consent-at": datetime.now(UTC).isoformat(), "split-date": "", "dp": True, "clip-norm": 1.0}
    config |= {"local-steps": 3, "learning-rate": 0.5, "l2": 0.0}

    weights, rows, metrics = SiloClient(world.warehouse, region).fit([np.ones(task.dimension())], config)

    assert rows == 0 and metrics == {"region": region}
    np.testing.assert_equal(weights[0], np.zeros(task.dimension()))
