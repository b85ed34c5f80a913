"""A withdrawal reaches the published propensity scores at once: the ingest that loads it deletes
the user's score (not the next `weir model score`), as a new published version, audited.

The model is registered through the real registry without a Flower run (scoring needs only a
current version), so this module costs no Ray start-up."""

import json
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pytest

from federated import registry, task
from federated.scores import TABLE, forget_withdrawn, score
from tests.federated.conftest import copy_world
from weir import pipeline
from weir.config import DataDir
from weir.publish import published_db, published_dir

BATCH, WITHDRAWING = "withdrawal-1", 6


def scored_tokens(data_dir: DataDir) -> set[str]:
    with duckdb.connect(str(published_db(data_dir)), read_only=True) as pub:
        return {r[0] for r in pub.execute(f"select user_token from {TABLE}").fetchall()}


def audit_rows(data_dir: DataDir) -> list[dict]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        rows = con.execute("select figures from audit.log where action = 'model_scores_withdrawal' order by seq")
        return [json.loads(r[0]) for r in rows.fetchall()]


def steady_users(landing, purpose: str) -> list[str]:  # noqa: ANN001
    """Users the generated world granted `purpose` and never withdrew it (raw ids, landing only)."""
    rows = [json.loads(line) for f in (landing / "consent").glob("*/part-*.jsonl") for line in f.open()]
    granted = {r["user_id"] for r in rows if r["purpose"] == purpose and r["status"] == "granted"}
    return sorted(granted - {r["user_id"] for r in rows if r["purpose"] == purpose and r["status"] == "withdrawn"})


def land_withdrawals(data_dir: DataDir, users: dict[str, str]) -> None:
    folder = data_dir.landing / "consent" / BATCH
    folder.mkdir(parents=True)
    ts = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        json.dumps(
            {
                "consent_id": f"W-{i}",
                "user_id": user,
                "purpose": purpose,
                "status": "withdrawn",
                "ts": ts,
                "policy_version": "2025-06",
                "source": "app_settings",
            }
        )  # fmt: skip
        for i, (user, purpose) in enumerate(users.items())
    ]
    (folder / "part-0000.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def world(fed_world, tmp_path_factory) -> DataDir:  # noqa: ANN001
    data_dir = copy_world(fed_world, tmp_path_factory.mktemp("scores") / "w")
    version = f"{registry.MODEL}-scoretest"
    artefact = registry.write_artefact(data_dir, version, np.linspace(-1.0, 1.0, task.dimension()))
    with duckdb.connect(str(data_dir.warehouse)) as con:
        registry.register_in(con, version, datetime.now(UTC), artefact, None, {"model": registry.MODEL}, [])
    score(data_dir, "test")
    return data_dir


@pytest.fixture(scope="module")
def withdrawn(world, fed_world) -> tuple[set[str], set[str]]:  # noqa: ANN001
    """Among users holding both purposes (the mart keeps model_training-consenting users only),
    six withdraw personalization and six others model_training. Not every one of them is active
    enough to be in the mart, so not every one has a score. Returns (scores before, purpose -> tokens)."""
    both = set(steady_users(fed_world.landing, "personalization"))
    steady = [u for u in steady_users(fed_world.landing, "model_training") if u in both]
    leaving = dict.fromkeys(steady[:WITHDRAWING], "personalization")
    leaving |= dict.fromkeys(steady[WITHDRAWING : 2 * WITHDRAWING], "model_training")
    before = scored_tokens(world)
    land_withdrawals(world, leaving)
    results = pipeline.ingest_stage(world, "test", source="consent", batch_id=BATCH)
    assert [(r.status, r.rows_loaded) for r in results] == [("loaded", 2 * WITHDRAWING)]
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        rows = con.execute("select purpose, user_token from consent.ledger where batch_id = ?", [BATCH]).fetchall()
    tokens = {p: {t for q, t in rows if q == p} for p in ("personalization", "model_training")}
    return before, tokens


def test_the_ingest_that_loads_a_withdrawal_deletes_the_users_published_scores(world, withdrawn):
    before, tokens = withdrawn

    after = scored_tokens(world)

    assert all(t & before for t in tokens.values())  # some under each purpose had a score
    assert after == before - tokens["personalization"] - tokens["model_training"]
    with duckdb.connect(str(published_db(world)), read_only=True) as pub:
        catalogued = pub.execute("select row_count from published_marts where mart = ?", [TABLE]).fetchone()[0]
        parquet = published_dir(world) / "parquet" / f"{TABLE}.parquet"
        exported = pub.execute("select count(*) from read_parquet(?)", [str(parquet)]).fetchone()[0]
    assert catalogued == exported == len(after)


def test_the_deletion_is_audited_and_a_second_pass_changes_nothing(world, withdrawn):
    before, tokens = withdrawn
    gone = len(before & (tokens["personalization"] | tokens["model_training"]))
    version = published_db(world).resolve()

    removed = forget_withdrawn(world, "test")

    assert audit_rows(world) == [{"rows_deleted": gone}]
    assert removed == 0 and published_db(world).resolve() == version  # no new version, no entry


def test_the_next_score_run_agrees_with_the_deletion(world, withdrawn):
    after = scored_tokens(world)

    score(world, "test")

    assert scored_tokens(world) == after
    assert not (withdrawn[1]["personalization"] | withdrawn[1]["model_training"]) & after


def test_without_published_scores_nothing_is_written(fed_world, tmp_path):  # noqa: ANN001
    data_dir = copy_world(fed_world, tmp_path / "w")

    assert forget_withdrawn(data_dir, "test") == 0
    assert not published_db(data_dir).exists() and audit_rows(data_dir) == []
