"""Marts against the generator's planted truth: A/B effect, fraud rings, top KOLs, campaigns."""

import duckdb
import pytest


@pytest.fixture(scope="module")
def con(built):
    with duckdb.connect(str(built.data_dir.warehouse), read_only=True) as connection:
        yield connection


def test_ab_mart_recovers_the_true_effect_within_its_interval(built, con) -> None:
    for experiment, truth in built.truth["experiments"].items():
        low, high, lift = con.execute(
            "select lift_ci_low, lift_ci_high, purchase_given_cart_lift from marts.mart_ab_results "
            "where experiment_id = ? and variant = 'treatment'",
            [experiment],
        ).fetchone()
        true_lift = truth["true_relative_lift_on_purchase_given_cart"]
        assert low <= true_lift <= high, (experiment, low, lift, high)
    # The real effect is detected (its interval excludes zero); the null one is not.
    badge_low = con.execute(
        "select lift_ci_low from marts.mart_ab_results "
        "where experiment_id = 'exp_friends_badge' and variant = 'treatment'"
    ).fetchone()[0]
    assert badge_low > 0


def test_ab_arms_come_from_exposures_with_valid_intervals(con) -> None:
    rows = con.execute(
        "select conversion_ci_low, conversion_rate, conversion_ci_high, exposed_users from marts.mart_ab_results"
    ).fetchall()
    assert len(rows) == 4
    for low, rate, high, exposed in rows:
        assert 0 <= low <= rate <= high <= 1 and exposed > 100


def test_fraud_mart_flags_the_planted_rings(built, con) -> None:
    ring = {built.user_token(u) for r in built.truth["fraud_rings"] for u in r["members"]}
    flagged = {r[0] for r in con.execute("select user_token from marts.mart_fraud_signals where is_flagged").fetchall()}
    hits = len(ring & flagged)
    assert hits / len(ring) >= 0.9, (hits, len(ring))
    assert hits / len(flagged) >= 0.8, (hits, len(flagged))


def test_kol_mart_ranks_the_constructed_top_kols_first(built, con) -> None:
    consenting = {
        r[0]
        for r in con.execute(
            "select user_token from marts.dim_consent where purpose = 'analytics' and is_current and status = 'granted'"
        ).fetchall()
    }
    top = [t for t in (built.user_token(u) for u in built.truth["top_kols"]) if t in consenting]
    ranked = [
        r[0] for r in con.execute("select kol_token from marts.mart_kol_influence order by influence_rank").fetchall()
    ]
    assert len(top) >= 5
    assert set(ranked[: len(top)]) == set(top)
    assert not set(built.user_token(u) for u in built.truth["top_kols"]) - consenting & set(ranked)


def test_group_buy_and_bargain_outcomes_match_the_generator(built, con) -> None:
    filled, expired = con.execute(
        "select count(*) filter (where is_filled), count(*) filter (where not is_filled) "
        "from intermediate.int_group_buy_outcomes"
    ).fetchone()
    completed, lapsed = con.execute(
        "select count(*) filter (where is_completed), count(*) filter (where not is_completed) "
        "from intermediate.int_bargain_chains"
    ).fetchone()
    assert (filled, expired) == (built.truth["group_buys"]["filled"], built.truth["group_buys"]["expired"])
    assert (completed, lapsed) == (built.truth["bargains"]["completed"], built.truth["bargains"]["lapsed"])


def test_circular_shares_stay_out_of_cascades(con) -> None:
    unrooted_in_marts = con.execute(
        "select count(*) from marts.mart_share_cascades m join intermediate.int_share_cascades s "
        "on s.root_share_id = m.campaign_id where s.is_unrooted"
    ).fetchone()[0]
    circular = con.execute("select sum(circular_shares) from marts.mart_fraud_signals").fetchone()[0]
    assert unrooted_in_marts == 0 and circular > 0
