"""User-level DP accounting: the noise scale and composed rho are OpenDP's own numbers."""

import math

import numpy as np
import opendp.prelude as dp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federated import dp as fdp
from privacy._dp_ledger import epsilon_of

dp.enable_features("contrib")
PLAN = fdp.DpPlan(rounds=10, steps=5, clip_norm=1.0, noise_multiplier=5.0, dimension=10)


def test_the_noise_std_is_the_multiplier_times_one_users_bound_over_a_round():
    assert PLAN.sensitivity == 5.0
    assert PLAN.noise_std == 25.0
    # zCDP of a Gaussian with scale s at distance 1 is 1 / (2 s^2): the mechanism's scale is 25
    assert fdp.round_measurement(PLAN).map(1.0) == pytest.approx(1 / (2 * 25.0**2), rel=1e-12)


def test_one_round_costs_what_opendps_gaussian_mechanism_says():
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False), size=10), dp.l2_distance(T=float)
    opendp_rho = dp.m.make_gaussian(*space, scale=25.0).map(5.0)

    assert fdp.round_measurement(PLAN).map(PLAN.sensitivity) == opendp_rho == pytest.approx(1 / (2 * 5.0**2))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 8), st.floats(0.1, 4.0), st.floats(0.5, 20.0))
def test_the_runs_rho_is_opendps_composition_of_its_rounds(rounds, steps, clip, multiplier):
    plan = fdp.DpPlan(rounds, steps, clip, multiplier, 10)
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False), size=10), dp.l2_distance(T=float)
    gaussian = dp.m.make_gaussian(*space, scale=multiplier * steps * clip)
    composed = dp.c.make_composition([gaussian] * rounds).map(steps * clip)

    loss = fdp.training_loss(plan)

    assert loss.delta == 0.0
    assert loss.rho == pytest.approx(composed, rel=1e-12)  # the same mechanism, up to float rounding
    assert loss.rho == pytest.approx(rounds / (2 * multiplier**2), rel=1e-9)


def test_epsilon_is_converted_as_the_release_ledger_converts_it():
    loss = fdp.training_loss(PLAN)

    assert fdp.epsilon(loss, 1e-6) == epsilon_of(loss.rho, 1e-6)
    assert fdp.epsilon(loss, 1e-6) == pytest.approx(0.2 + 2 * math.sqrt(0.2 * math.log(1e6)))


def test_the_server_adds_noise_of_the_planned_scale():
    draws = np.stack([fdp.add_noise(np.zeros(PLAN.dimension), PLAN) for _ in range(300)])

    assert draws.mean() == pytest.approx(0.0, abs=3 * PLAN.noise_std / math.sqrt(draws.size) * 2)
    assert draws.std() == pytest.approx(PLAN.noise_std, rel=0.08)


def test_a_dp_run_takes_one_clipped_step_per_round_whatever_local_steps_says():
    from federated.settings import TrainSettings
    from federated.train import TrainRequest, run_config

    config = run_config(TrainRequest(dp=True)) | {"local-steps": 5}
    settings = TrainSettings.from_run_config(config)

    assert settings.client_config(1)["local-steps"] == 1
    assert settings.dp_plan().sensitivity == settings.clip_norm
    plain = TrainSettings.from_run_config(config | {"dp": False})
    assert plain.client_config(1)["local-steps"] == 5


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    users=st.integers(2, 40),
    clip=st.floats(0.05, 5.0),
)
def test_removing_one_user_moves_a_dp_rounds_summed_update_by_at_most_the_clip_norm(seed, users, clip):
    from federated import task

    rng = np.random.default_rng(seed)
    d = task.dimension()
    split = task.Split(rng.random((users, d)), rng.integers(0, 2, users).astype(float))
    w = rng.normal(size=d)
    without = task.Split(split.x[1:], split.y[1:])

    def summed(s: task.Split) -> np.ndarray:  # what the server un-averages before noising
        return -task.local_update(w, s, 1, 1.0, 0.0, clip) * s.rows

    assert np.linalg.norm(summed(split) - summed(without)) <= clip * (1 + 1e-9)


def test_a_dp_run_steps_with_its_own_learning_rate_and_server_momentum():
    from federated.settings import TrainSettings
    from federated.train import TrainRequest, run_config

    config = run_config(TrainRequest(dp=True)) | {"learning-rate": 0.5, "dp-learning-rate": 1.5}
    private = TrainSettings.from_run_config(config | {"dp-server-momentum": 0.8})
    plain = TrainSettings.from_run_config(config | {"dp": False, "dp-server-momentum": 0.8})

    assert private.client_config(1)["learning-rate"] == private.step_learning_rate == 1.5
    assert private.server_momentum == 0.8
    assert plain.client_config(1)["learning-rate"] == 0.5 and plain.server_momentum == 0.0
    assert private.quantisation_range >= 2 * 1.5 * private.clip_norm  # SecAgg+ range fits the larger step


def test_the_server_carries_momentum_across_rounds_of_noised_updates():
    from flwr.common import Code, FitRes, Status, ndarrays_to_parameters

    from federated.settings import TrainSettings
    from federated.strategy import WeirFedAvg
    from federated.train import TrainRequest, run_config

    config = run_config(TrainRequest(dp=True)) | {"dp-server-momentum": 0.5, "noise-multiplier": 1e-9}
    strategy = WeirFedAvg(TrainSettings.from_run_config(config))
    change = np.full(strategy.outcome.weights.shape, 0.01)
    fit = FitRes(Status(Code.OK, ""), ndarrays_to_parameters([change]), 1000, {})

    strategy.aggregate_fit(1, [(None, fit)], [])
    first = strategy.outcome.weights.copy()
    strategy.aggregate_fit(2, [(None, fit)], [])

    assert first == pytest.approx(change, abs=1e-6)  # round 1: the (almost noiseless) update itself
    assert strategy.outcome.weights - first == pytest.approx(1.5 * change, abs=1e-6)  # 0.5 * previous + new
