"""Training end to end on the simulation engine: SecAgg+ with a silo dropping mid-round, user-level
DP spending the ledger, the registry, unlearning on withdrawal, scores, and every refusal.

Ray's start-up is the cost here, so two runs are shared by all assertions (module scope)."""

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import duckdb
import numpy as np
import pytest
from flwr.client import ClientApp
from typer.testing import CliRunner

from federated import dp, registry, simulation, task
from federated.client_app import secagg_when_asked, simulated_client_fn
from federated.scores import score
from federated.train import TrainRequest, train
from privacy import _dp_ledger as ledger
from tests.federated.conftest import copy_world, withdraw
from weir.cli import app
from weir.errors import ArtefactTampered, BudgetExceeded, ConfigError, EmptyTrainingSet, TrainingFailed
from weir.publish import published_db

DROPPED_PARTITION, DROP_ROUND = 0, 2


def drop_mid_round(msg, context, call_next):  # noqa: ANN001, ANN201
    """Silo 0 goes away in round 2 after sharing its SecAgg+ keys, before sending its masked update."""
    stage = msg.content.config_records.get("secaggplus_configs", {}).get("stage")
    fit_round = msg.content.config_records.get("fitins.config", {}).get("server-round")
    if context.node_config["partition-id"] == DROPPED_PARTITION and stage == "collect_masked_vectors":
        if fit_round == DROP_ROUND:
            raise ConnectionError("silo went away")
    return secagg_when_asked(msg, context, call_next)


def dropping_engine(warehouse, regions, config, flwr_home):  # noqa: ANN001, ANN201
    client = ClientApp(client_fn=partial(simulated_client_fn, warehouse, regions), mods=[drop_mid_round])
    simulation.run(warehouse, regions, config, flwr_home, client=client)


@dataclass
class Runs:
    world: object
    first: object
    second: object
    leaving: list[str]
    regions: int


def spends(world) -> list[tuple]:  # noqa: ANN001
    with duckdb.connect(str(world.warehouse)) as con:
        ledger.ensure(con)
        return con.execute("select release_name, rho, dataset from dp.budget_spends order by spent_at").fetchall()


def registered(world) -> list[tuple]:  # noqa: ANN001
    with duckdb.connect(str(world.warehouse)) as con:
        registry.ensure(con)
        return con.execute("select version, status from ml.model_versions order by created_at").fetchall()


@pytest.fixture(scope="module")
def runs(fed_world, tmp_path_factory) -> Runs:  # noqa: ANN001
    world = copy_world(fed_world, tmp_path_factory.mktemp("train") / "w")
    first = train(world, "test", TrainRequest(dp=True, rounds=3), engine=dropping_engine)
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        regions = con.execute("select count(distinct region) from marts.mart_user_features").fetchone()[0]
        leaving = [r[0] for r in con.execute(
            "select user_token from marts.mart_user_features order by user_token limit 200"
        ).fetchall()]  # fmt: skip
    # Users that trained the first version withdraw; the retrain must leave them out.
    trained = [t for t in leaving if registry.models_trained_on(duckdb.connect(str(world.warehouse)), t)][:4]
    withdraw(world, trained)
    second = train(world, "test", TrainRequest(rounds=2, reason="withdrawal"))
    return Runs(world, first, second, trained, regions)


def test_a_secagg_round_completes_without_the_silo_that_dropped_mid_round(runs):
    log = runs.first.card["training"]["round_log"]

    assert [r["clients"] for r in log] == [runs.regions, runs.regions - 1, runs.regions]
    assert runs.first.card["training"]["secagg"] is True


def test_the_dp_run_spends_opendps_composed_rho_in_the_ledger(runs):
    plan = dp.DpPlan(3, 5, 1.0, 5.0, task.dimension())
    rho = dp.training_loss(plan).rho

    assert spends(runs.world) == [(runs.first.version, pytest.approx(rho), "model_training")]
    assert runs.first.card["privacy"]["rho"] == pytest.approx(rho)
    assert runs.first.card["privacy"]["epsilon"] == pytest.approx(dp.epsilon(dp.training_loss(plan), 1e-6))


def test_the_card_records_data_clients_rounds_privacy_metrics_and_code(runs):
    card = runs.second.card

    assert card["data"]["clients"] == runs.regions
    assert sum(card["data"]["rows_per_client"].values()) == card["data"]["rows_total"] > 0
    assert card["training"]["rounds"] == 2 and card["privacy"]["dp"] is False
    assert 0.0 <= card["metrics"]["auc_federated"] <= 1.0 and 0.0 <= card["metrics"]["auc_centralised"] <= 1.0
    assert set(card["metrics"]["auc_per_client"]) == set(card["data"]["rows_per_client"])
    assert 0.0 <= card["metrics"]["mia_advantage"] <= 1.0
    assert len(card["code"]["uv_lock_sha256"]) == 64
    assert card["data"]["consent_snapshot_at"].startswith(str(datetime.now(UTC).year))


def test_withdrawn_users_are_absent_from_the_retrain_and_the_old_version_is_superseded(runs):
    with duckdb.connect(str(runs.world.warehouse)) as con:
        trained_on = [registry.models_trained_on(con, t) for t in runs.leaving]
        reason = con.execute("select superseded_reason from ml.model_versions where version = ?",
                             [runs.first.version]).fetchone()[0]  # fmt: skip

    assert runs.leaving and trained_on == [[runs.first.version]] * len(runs.leaving)
    assert runs.second.superseded == [runs.first.version]
    assert reason.startswith("withdrawal: ") and runs.second.version in reason
    assert registered(runs.world) == [(runs.first.version, "superseded"), (runs.second.version, "current")]


def test_every_training_is_audited_in_the_chain(runs):
    with duckdb.connect(str(runs.world.warehouse), read_only=True) as con:
        rows = con.execute("select inputs from audit.log where action = 'model_train' order by seq").fetchall()

    assert [json.loads(r[0])["version"] for r in rows] == [runs.first.version, runs.second.version]


def test_scores_are_published_only_for_users_consenting_to_personalization_not_withdrawn_from_training(runs):
    result = score(runs.world, "test")

    with duckdb.connect(str(published_db(runs.world)), read_only=True) as pub:
        scored = {r[0] for r in pub.execute("select user_token from model_scores").fetchall()}
    with duckdb.connect(str(runs.world.warehouse), read_only=True) as con:
        consenting = {r[0] for r in con.execute(
            f"select user_token from marts.mart_user_features as m "
            f"where {task.holds_sql('m.user_token', chr(39) + 'personalization' + chr(39), 'now()')}"
        ).fetchall()}  # fmt: skip
        # Users who withdrew model_training (the model learnt from them) get no score either.
        left = {t for (t, s) in con.execute(
            "select user_token, arg_max(status, ts) from consent.ledger where purpose = 'model_training' group by 1"
        ).fetchall() if s == "withdrawn"}  # fmt: skip
    assert result.version == runs.second.version
    assert set(runs.leaving) <= left and scored == consenting - left
    assert 0 < len(scored) < runs.second.card["data"]["rows_total"] * 2


def test_an_overspending_run_is_refused_before_it_starts_and_spends_nothing(runs):
    before = (spends(runs.world), registered(runs.world))
    left = 0.9 - dp.training_loss(dp.DpPlan(3, 5, 1.0, 5.0, task.dimension())).rho

    with pytest.raises(BudgetExceeded, match=rf"requested rho=5\.0000 \(100 rounds, noise multiplier 3\.1\d*\); "
                       rf"remaining rho={left:.4f}\. Use fewer --rounds"):  # fmt: skip
        train(runs.world, "test", TrainRequest(dp=True, rounds=100, overrides=(("noise-multiplier", 10**0.5),)))
    assert (spends(runs.world), registered(runs.world)) == before


def test_a_tampered_model_file_is_refused_at_load_and_scoring_stops(runs):
    with duckdb.connect(str(runs.world.warehouse)) as con:
        path = con.execute("select artefact_path from ml.model_versions where version = ?",
                           [runs.second.version]).fetchone()[0]  # fmt: skip
    original = open(path, "rb").read()
    try:
        with open(path, "r+b") as handle:
            handle.seek(len(original) - 1)
            handle.write(bytes([original[-1] ^ 1]))
        with pytest.raises(
            ArtefactTampered, match=rf"Model file .* of version {runs.second.version} fails its checksum"
        ):
            score(runs.world, "test")
    finally:
        with open(path, "wb") as handle:
            handle.write(original)
    with duckdb.connect(str(runs.world.warehouse)) as con:
        np.testing.assert_equal(registry.load_weights(con, runs.second.version).shape, (task.dimension(),))


def test_a_run_whose_engine_fails_registers_and_spends_nothing(runs):
    before = (spends(runs.world), registered(runs.world))

    def crashing(*_args):  # noqa: ANN002, ANN202
        raise RuntimeError("An error was encountered. Ending simulation.")

    with pytest.raises(TrainingFailed, match=r"did not finish \(RuntimeError: An error was encountered.*nothing was "
                       r"registered or spent"):  # fmt: skip
        train(runs.world, "test", TrainRequest(dp=True, rounds=1), engine=crashing)
    assert (spends(runs.world), registered(runs.world)) == before


def test_an_empty_feature_mart_is_refused_with_one_line(fed_world, tmp_path):
    world = copy_world(fed_world, tmp_path / "w")
    with duckdb.connect(str(world.warehouse)) as con:
        con.execute("delete from marts.mart_user_features")

    with pytest.raises(EmptyTrainingSet, match=r"^No user with model_training consent in marts\.mart_user_features"):
        train(world, "test", TrainRequest(dp=True))
    assert spends(world) == []


def test_deployment_mode_without_the_deployment_engine_is_a_clear_error(fed_world, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "federated.deployment", None)  # an install without it
    world = copy_world(fed_world, tmp_path / "w")

    with pytest.raises(ConfigError, match=r"--mode deployment needs federated/deployment\.py"):
        train(world, "test", TrainRequest(mode="deployment", rounds=1))


def test_the_cli_lists_versions_prints_cards_and_names_an_unknown_version(runs):
    runner = CliRunner()
    listed = runner.invoke(app, ["model", "list", "--data-dir", str(runs.world.root)])
    card = runner.invoke(app, ["model", "card", runs.second.version, "--data-dir", str(runs.world.root)])
    unknown = runner.invoke(app, ["model", "card", "nope", "--data-dir", str(runs.world.root)])

    assert listed.exit_code == 0 and "superseded" in listed.output and "current" in listed.output
    assert card.exit_code == 0 and json.loads(card.output)["version"] == runs.second.version
    assert unknown.exit_code == 1 and 'No model version "nope"' in unknown.output
