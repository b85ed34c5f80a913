"""Models in data-subject requests: an access package lists the versions trained on the user; an
erasure retires them (a retrain runs without the user), forgets the user's membership and their
published score, and leaves a second user's memberships alone. Versions are registered through
the registry's own API with real (small) weights, and scores are written by `weir model score`'s
function, so no training run is needed."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np

from federated import registry, task
from federated.scores import score
from privacy._keyring import current_hmac_key, vault_master_key
from tests.dsr.conftest import Person, busiest
from weir import dsr
from weir.config import DataDir, resolve_data_dir
from weir.dsr import _erase
from weir.publish import published_db


def scored_users(data_dir: DataDir) -> set[str]:
    with duckdb.connect(str(published_db(data_dir)), read_only=True) as pub:
        return {r[0] for r in pub.execute("select user_token from model_scores").fetchall()}


def register(data_dir: DataDir, versions: dict[str, list[str]]) -> None:
    """Register each version (oldest first) as current, trained on the given user tokens."""
    start = datetime.now(UTC) - timedelta(days=len(versions))
    with duckdb.connect(str(data_dir.warehouse)) as con:
        for n, (version, tokens) in enumerate(versions.items()):
            artefact = registry.write_artefact(data_dir, version, np.zeros(task.dimension()))
            members = [task.token_digest(t) for t in tokens]
            registry.register_in(con, version, start + timedelta(days=n), artefact, None, {"v": version}, members)


def two_scored_people(data_dir: DataDir) -> tuple[Person, Person]:
    """Two busy users with contact data who both get a published score."""
    scored = scored_users(data_dir)
    chosen = [p for p in (busiest(data_dir, rank) for rank in range(19)) if p.token(data_dir) in scored]
    return chosen[0], chosen[1]


def step_detail(data_dir: DataDir, request_id: str, system: str) -> dict:
    _, steps = dsr.show_request(data_dir, request_id)
    return json.loads(next(s for s in steps if s.system == system).detail)


def test_access_lists_the_models_and_erasure_retires_them_drops_the_score_and_spares_the_other_user(
    copy_dir: DataDir,
) -> None:
    everyone = [busiest(copy_dir, rank) for rank in range(20)]
    register(copy_dir, {"v-old": [p.token(copy_dir) for p in everyone], "v-new": [everyone[-1].token(copy_dir)]})
    score(copy_dir, "test")  # scores of v-new, the latest current version
    person, other = two_scored_people(copy_dir)
    mine, theirs = person.token(copy_dir), other.token(copy_dir)
    access = dsr.submit_request(copy_dir, "access", person.user_id, "test").request_id
    dsr.run_requests(copy_dir, "test", access)
    package = json.loads((Path(dsr.show_request(copy_dir, access)[0].package_path) / "package.json").read_text())

    erasure = dsr.submit_request(copy_dir, "erasure", person.user_id, "test").request_id
    (outcome,) = dsr.run_requests(copy_dir, "test", erasure)

    assert [(m["version"], m["status"]) for m in package["data"]["ml.model_versions"]] == [("v-old", "current")]
    assert outcome.status == "completed"
    assert step_detail(copy_dir, erasure, "models") == {
        "versions": ["v-old"],
        "superseded": ["v-old"],
        "members_deleted": 1,
        "retrain": "requested: the next training runs without the user",
    }
    with duckdb.connect(str(copy_dir.warehouse)) as con:  # the registry's reads ensure its schema
        statuses = con.execute("select version, status, superseded_reason from ml.model_versions order by 1").fetchall()
        assert registry.models_trained_on(con, mine) == []
        assert registry.models_trained_on(con, theirs) == ["v-old"]  # kept for the other user's access
    assert statuses == [("v-new", "current", None), ("v-old", "superseded", _erase.RETRAIN_REASON)]
    assert mine not in scored_users(copy_dir) and theirs in scored_users(copy_dir)


def test_the_models_step_creates_no_registry_where_no_model_was_trained(tmp_path: Path) -> None:
    data_dir = resolve_data_dir(tmp_path)
    con = duckdb.connect(":memory:")
    subjects = (_erase.Subject("dsr-1", "tk1_" + "a" * 64),)
    erasure = _erase.Erasure(con, data_dir, current_hmac_key(data_dir.keys), vault_master_key(data_dir.keys), subjects)

    figures = _erase.models(erasure)

    assert figures == {"dsr-1": {"versions": [], "superseded": [], "members_deleted": 0}}
    assert "ml" not in {s for (s,) in con.execute("select schema_name from duckdb_schemas()").fetchall()}
