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
from tests.dsr.conftest import Person, people
from weir import dsr
from weir.config import DataDir, resolve_data_dir
from weir.dsr import _erase
from weir.dsr._store import subject_hash
from weir.publish import published_db


def scored_users(data_dir: DataDir) -> set[str]:
    with duckdb.connect(str(published_db(data_dir)), read_only=True) as pub:
        return {r[0] for r in pub.execute("select user_token from model_scores").fetchall()}


def register(data_dir: DataDir, versions: dict[str, list[str]]) -> None:
    """Register each version as current (newer than any before), trained on the given user tokens."""
    start = datetime.now(UTC) - timedelta(minutes=10)
    with duckdb.connect(str(data_dir.warehouse)) as con:
        for n, (version, tokens) in enumerate(versions.items()):
            artefact = registry.write_artefact(data_dir, version, np.zeros(task.dimension()))
            members = [task.token_digest(t) for t in tokens]
            registry.register_in(con, version, start + timedelta(minutes=n), artefact, None, {"v": version}, members)


def device_sharers(data_dir: DataDir, scored: set[str]) -> tuple[Person, Person]:
    """Two users with contact data whose events share a device, the first with a published score."""
    everyone = {p.token(data_dir): p for p in people(data_dir).values() if p.phone and p.email}
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        pairs = con.execute(
            "select a.user_token, b.user_token from raw.events a join raw.events b "
            "on a.device_token = b.device_token and a.user_token <> b.user_token group by all order by 1, 2"
        ).fetchall()
    a, b = next((a, b) for a, b in pairs if a in scored and a in everyone and b in everyone)
    return everyone[a], everyone[b]


def rows_of(data_dir: DataDir, user_token: str, devices: list[str]) -> tuple[int, int]:
    """(events, events on the given devices) of one user in `raw`."""
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute(
            "select count(*), count(*) filter (where device_token in (select unnest(?))) from raw.events "
            "where user_token = ?",
            [devices, user_token],
        ).fetchone()


def shared_devices(data_dir: DataDir, first: str, second: str) -> list[str]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        rows = con.execute(
            "select device_token from raw.events where user_token in (?, ?) group by 1 "
            "having count(distinct user_token) = 2",
            [first, second],
        )
        return [d for (d,) in rows.fetchall()]


def step_detail(data_dir: DataDir, request_id: str, system: str) -> dict:
    _, steps = dsr.show_request(data_dir, request_id)
    return json.loads(next(s for s in steps if s.system == system).detail)


def test_access_lists_the_models_and_erasure_retires_them_drops_the_score_and_spares_a_device_sharer(
    copy_dir: DataDir,
) -> None:
    register(copy_dir, {"v-old": []})  # scoring needs a current version: members come below
    score(copy_dir, "test")
    person, other = device_sharers(copy_dir, scored_users(copy_dir))
    mine, theirs = person.token(copy_dir), other.token(copy_dir)
    with duckdb.connect(str(copy_dir.warehouse)) as con:  # v-old was trained on both of them
        con.execute(
            "insert into ml.model_members select 'v-old', unnest(?)", [[subject_hash(mine), subject_hash(theirs)]]
        )
    register(copy_dir, {"v-new": [theirs]})
    devices = shared_devices(copy_dir, mine, theirs)
    their_rows, scored_before = rows_of(copy_dir, theirs, devices), scored_users(copy_dir)
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
        assert registry.models_trained_on(con, theirs) == ["v-new", "v-old"]  # their access still finds both
    assert statuses == [("v-new", "current", None), ("v-old", "superseded", _erase.RETRAIN_REASON)]
    assert scored_users(copy_dir) == scored_before - {mine} and mine in scored_before
    assert rows_of(copy_dir, theirs, devices) == their_rows and their_rows[1] > 0  # the shared device's rows stay


def test_the_models_step_creates_no_registry_where_no_model_was_trained(tmp_path: Path) -> None:
    data_dir = resolve_data_dir(tmp_path)
    con = duckdb.connect(":memory:")
    subjects = (_erase.Subject("dsr-1", "tk1_" + "a" * 64),)
    erasure = _erase.Erasure(con, data_dir, current_hmac_key(data_dir.keys), vault_master_key(data_dir.keys), subjects)

    figures = _erase.models(erasure)

    assert figures == {"dsr-1": {"versions": [], "superseded": [], "members_deleted": 0}}
    assert "ml" not in {s for (s,) in con.execute("select schema_name from duckdb_schemas()").fetchall()}
