"""Landing retention: `weir retention apply` removes loaded batch folders past the landing
retention (audited, idempotent), never a held or unloaded one, and a key rotation still works."""

import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from weir import audit, pipeline
from weir.config import resolve_data_dir
from weir.errors import ConfigError
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest, rotate_keys
from weir.retention import LANDING_ENV, landing_days

LATER = datetime(2032, 6, 1, tzinfo=UTC)  # past 5 years after a load today: consent and dsr (10) stay


def _folders(landing) -> set[str]:  # noqa: ANN001
    return {f"{p.parent.name}/{p.name}" for p in landing.glob("*/*") if p.is_dir() and not p.parent.name[0] == "_"}


def test_loaded_batches_past_retention_go_held_and_unloaded_stay(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = resolve_data_dir(tmp_path)
    generate(GenerateConfig(users=80, days=1, seed=4), data_dir.landing)
    ingest(data_dir)
    with duckdb.connect(str(data_dir.warehouse)) as con:
        held = con.execute("select source, batch_id from ingest.load_ledger where source = 'users'").fetchone()
        con.execute("update ingest.load_ledger set status = 'held' where source = ? and batch_id = ?", list(held))
    unloaded = data_dir.landing / "events" / "late-batch"
    shutil.copytree(next((data_dir.landing / "events").iterdir()), unloaded)
    before = _folders(data_dir.landing)

    monkeypatch.setenv(LANDING_ENV, "three years")
    with pytest.raises(ConfigError, match=LANDING_ENV):
        pipeline.retention_stage(data_dir, "test", LATER)
    assert _folders(data_dir.landing) == before  # refused before any change
    monkeypatch.delenv(LANDING_ENV)

    assert not any(r.landing_batches_removed for r in pipeline.retention_stage(data_dir, "test", datetime.now(UTC)))
    results = pipeline.retention_stage(data_dir, "test", LATER)
    again = pipeline.retention_stage(data_dir, "test", LATER)

    kept = {f"{held[0]}/{held[1]}", "events/late-batch", *(f for f in before if f.split("/")[0] in ("consent", "dsr"))}
    assert _folders(data_dir.landing) == kept
    assert sum(r.landing_batches_removed for r in results) == len(before) - len(kept) > 0
    assert not any(r.landing_batches_removed for r in again)
    with duckdb.connect(str(data_dir.warehouse)) as con:
        logged = con.execute("select figures from audit.log where action = 'retention_landing'").fetchall()
        entries = audit.read_entries(con)
    assert len(logged) == 1 and f"{held[0]}/{held[1]}" not in logged[0][0]
    assert audit.verify(entries, _public(data_dir), data_dir.audit_witness).ok
    rotate_keys(data_dir)  # rotation skips the removed batches instead of asking to restore them


def _public(data_dir):  # noqa: ANN001, ANN202
    from privacy import load_or_create_signing_key

    return load_or_create_signing_key(data_dir.keys, create=False).public_key()


def test_landing_retention_is_never_shorter_than_the_contracts() -> None:
    default = landing_days(None)
    assert default["events"] == 730 and default["consent"] == 3650
    assert landing_days("1") == default
    assert landing_days("2000")["events"] == 2000 and landing_days("2000")["consent"] == 3650
    for bad in ("soon", "-3", "1.5"):
        with pytest.raises(ConfigError, match=LANDING_ENV):
            landing_days(bad)
