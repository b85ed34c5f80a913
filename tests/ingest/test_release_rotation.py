"""A held batch through a failed release and a key rotation: a release that stops half-way
leaves nothing of the batch in raw, the rotation re-tokenises the held tables, and the release
that follows loads the whole batch under the new key, joined to the rest."""

from dataclasses import dataclass

import duckdb
import pytest

from tests.ingest.test_gate import _leak_email_into_reviews, _raw_rows
from weir import pipeline
from weir.config import DataDir, resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.ingest import LoadResult, release

DAY_ONE = GenerateConfig(users=200, days=1, seed=8, bad_rate=0.0)


class Boom(RuntimeError):
    """A failure injected into a release's transaction (through its evidence hook)."""


@dataclass(frozen=True)
class Scenario:
    data_dir: DataDir
    batch_id: str
    after_failures: list[tuple[dict[str, int], dict[str, str]]]  # raw rows, ledger statuses
    held_tokens: set[str]  # token prefixes in the held tables after the rotation
    released: list[LoadResult]


def _failing_on(source: str, status: str):
    def evidence(con: duckdb.DuckDBPyConnection, result: LoadResult) -> None:
        if (result.source, result.status) == (source, status):
            raise Boom(f"injected failure at {source}/{status}")

    return evidence


def _state(data_dir: DataDir, batch_id: str) -> tuple[dict[str, int], dict[str, str]]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        statuses = con.execute("select source, status from ingest.load_ledger where batch_id = ?", [batch_id])
        ledger = dict(statuses.fetchall())
        return _raw_rows(con, batch_id), ledger


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("release-rotation"))
    batch_id = generate(DAY_ONE, data_dir.landing).batch_id
    _leak_email_into_reviews(data_dir.landing)
    pipeline.ingest_stage(data_dir, "test", stop_on_reject=False)  # reviews rejected, the rest held
    after_failures = []
    # The rejected source's own load fails; then the move of the held sources into raw fails midway.
    for source, status in (("reviews", "held"), ("orders", "loaded")):
        with pytest.raises(Boom):
            release(data_dir, batch_id, _failing_on(source, status))
        after_failures.append(_state(data_dir, batch_id))
    pipeline.rotate_stage(data_dir, "test")
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        held_tokens = {
            r[0][:4]
            for table in ("held_events", "held_users", "held_reviews", "held_consent_ledger")
            for r in con.execute(f"select distinct user_token from ingest.{table}").fetchall()
        }
    released = pipeline.release_stage(data_dir, "test", batch_id, "reviewed: test data")
    return Scenario(data_dir, batch_id, after_failures, held_tokens, released)


def test_a_release_that_fails_midway_leaves_nothing_of_the_batch_in_raw(scenario: Scenario) -> None:
    (raw_first, first), (raw_second, second) = scenario.after_failures

    assert set(raw_first.values()) == {0} and set(raw_second.values()) == {0}
    assert first["reviews"] == "rejected"  # its load rolled back: still rejected
    assert set(second.values()) == {"held"}  # reviews loaded into held; the move to raw rolled back
    with duckdb.connect(str(scenario.data_dir.warehouse), read_only=True) as con:
        consent = con.execute("select count(*) from consent.ledger").fetchone()[0]
    assert consent == 0 or scenario.released  # consent rows went to raw only with the whole batch


def test_rotation_retokenises_the_held_tables(scenario: Scenario) -> None:
    assert scenario.held_tokens == {"tk2_"}


def test_the_release_after_the_rotation_loads_the_whole_batch_joined_under_the_new_key(scenario: Scenario) -> None:
    with duckdb.connect(str(scenario.data_dir.warehouse), read_only=True) as con:
        raw = _raw_rows(con, scenario.batch_id)
        tokens = {r[0][:4] for r in con.execute("select distinct user_token from raw.events").fetchall()}
        orphans = con.execute(
            "select count(*) from raw.events e anti join raw.users u using (user_token) where e._batch_id = ?",
            [scenario.batch_id],
        ).fetchone()[0]
        held = con.execute(
            "select count(*) from ingest.held_events union all select count(*) from ingest.held_reviews"
        ).fetchall()

    assert {r.status for r in scenario.released} == {"loaded"}
    assert {r.source: r.rows_loaded for r in scenario.released} == {s: raw[s] for s in raw if raw[s]}
    assert raw["reviews"] > 0 and tokens == {"tk2_"} and orphans == 0
    assert held == [(0,), (0,)]
