"""The registry's unlearning hooks (for withdrawals and the DSR code), on an in-memory warehouse."""

import os
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pytest

from federated import registry
from federated.task import token_digest
from privacy._consent import ensure_ledger
from weir.config import resolve_data_dir
from weir.errors import ArtefactTampered

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(":memory:")
    ensure_ledger(con)
    data_dir = resolve_data_dir(tmp_path)
    for user in ("alice", "bob", "carol"):
        con.execute(
            "insert into consent.ledger values (?, ?, 'model_training', 'granted', ?, 'v1', 'app', 'b1')",
            [f"c-{user}", f"tok-{user}", NOW - timedelta(days=30)],
        )
    for version, users in (("v1", ["alice", "bob"]), ("v2", ["bob", "carol"])):
        artefact = registry.write_artefact(data_dir, version, np.arange(3.0))
        members = [token_digest(f"tok-{u}") for u in users]
        registry.register_in(con, version, NOW - timedelta(days=1), artefact, None, {"v": version}, members)
    return con


def test_models_trained_on_a_user_are_found_by_token(con):
    assert registry.models_trained_on(con, "tok-bob") == ["v1", "v2"]
    assert registry.models_trained_on(con, "tok-alice") == ["v1"]
    assert registry.models_trained_on(con, "tok-nobody") == []


def test_erasure_supersedes_the_users_versions_and_forgets_the_user(con):
    marked = registry.supersede_for_users(con, ["tok-alice"], "erasure DSR-1", NOW)

    assert marked == ["v1"]
    assert registry.models_trained_on(con, "tok-alice") == []
    assert [(v.version, v.status, v.superseded_reason) for v in registry.versions(con)] == [
        ("v1", "superseded", "erasure DSR-1"),
        ("v2", "current", None),
    ]


def test_a_withdrawal_supersedes_only_versions_trained_on_that_user(con):
    con.execute(
        "insert into consent.ledger values ('w-carol', 'tok-carol', 'model_training', 'withdrawn', ?, 'v1', "
        "'app', 'b2')",
        [NOW - timedelta(hours=1)],
    )

    marked = registry.supersede_withdrawn(con, "withdrawal", NOW)

    assert marked == ["v2"]
    assert registry.latest_current(con).version == "v1"
    assert registry.models_trained_on(con, "tok-carol") == ["v2"]  # kept: access requests still find it


def test_a_model_file_that_changed_or_vanished_is_refused(con):
    path = con.execute("select artefact_path from ml.model_versions where version = 'v2'").fetchone()[0]
    np.testing.assert_equal(registry.load_weights(con, "v2"), np.arange(3.0))

    with open(path, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ArtefactTampered, match=r"of version v2 fails its checksum \(expected sha256 [0-9a-f]{12}"):
        registry.load_weights(con, "v2")
    os.remove(path)
    with pytest.raises(ArtefactTampered, match=r"got missing…\); it was changed or removed"):
        registry.load_weights(con, "v2")
