"""The audit log records each change in the change's own transaction, and its key is never
silently replaced: ingest batches (even when a later batch fails or the run is killed) and
the signing key's lifecycle."""

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from privacy import signing_key_path
from weir import pipeline
from weir.config import DataDir, ensure_writable
from weir.errors import KeyringError, LandingError
from weir.generate import GenerateConfig
from weir.ingest import _load

CONFIG = GenerateConfig(users=200, days=1, seed=3, bad_rate=0.0, start=date(2026, 10, 1))
SCRIPT = (
    "from weir import pipeline; from weir.config import DataDir; from pathlib import Path; "
    "pipeline.ingest_stage(DataDir(Path({root!r})), 'test', stop_on_reject=False)"
)


def _rows(data_dir: DataDir, sql: str) -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _batches_in_ledger_and_log(data_dir: DataDir) -> tuple[list[str], list[str]]:
    ledger = _rows(data_dir, "select source || '/' || batch_id from ingest.load_ledger order by loaded_at")
    log = _rows(data_dir, "select inputs ->> '$.batch' from audit.log where action = 'ingest_batch' order by seq")
    return [r[0] for r in ledger], [r[0] for r in log]


@pytest.fixture
def generated(tmp_path: Path) -> DataDir:
    data_dir = DataDir(tmp_path / "data")
    pipeline.generate_stage(data_dir, CONFIG, "test")
    return data_dir


def test_each_ingested_batch_has_its_entry(generated: DataDir) -> None:
    results = pipeline.ingest_stage(generated, "test", stop_on_reject=False)

    ledger, log = _batches_in_ledger_and_log(generated)
    assert log == ledger == [f"{r.source}/{r.batch_id}" for r in results]
    assert pipeline.verify_audit(generated).ok


def test_a_failing_later_batch_keeps_the_earlier_batches_entries(generated: DataDir, monkeypatch) -> None:
    def fail_on_orders(label: str) -> None:
        if label.startswith("orders/"):
            raise RuntimeError("disk full")

    monkeypatch.setattr(_load, "_pause_for_crash_test", fail_on_orders)

    with pytest.raises(LandingError, match=r"orders/\S+: RuntimeError: disk full"):
        pipeline.ingest_stage(generated, "test", stop_on_reject=False)

    # The failed batch is recorded (and evidenced) as failed; the batches after it still load.
    ledger, log = _batches_in_ledger_and_log(generated)
    status = dict(_rows(generated, "select source, status from ingest.load_ledger"))
    assert log == ledger and ledger[:4] == [f"{s}/{CONFIG.batch_id}" for s in ("users", "follows", "events", "orders")]
    assert status["orders"] == "failed" and status["users"] == "loaded" and len(ledger) > 4
    report = pipeline.verify_audit(generated)
    assert (report.ok, report.entries) == (True, 1 + len(ledger))  # generate + every batch, all witnessed


def test_kill_9_mid_run_leaves_an_entry_for_every_committed_batch(generated: DataDir) -> None:
    env = {**os.environ, _load.PAUSE_ENV: "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(root=str(generated.root))], env=env, stderr=subprocess.PIPE, text=True
    )
    pauses = [proc.stderr.readline() for _ in range(3)]  # the third batch is inside its transaction

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    assert pauses[2].startswith(f"pausing 1s before commit of events/{CONFIG.batch_id}")
    ledger, log = _batches_in_ledger_and_log(generated)
    assert log == ledger == [f"{s}/{CONFIG.batch_id}" for s in ("users", "follows")]
    assert pipeline.verify_audit(generated).ok  # entries past the last witnessed head still chain


def test_a_missing_signing_key_is_an_error_not_a_new_key(generated: DataDir) -> None:
    path = signing_key_path(generated.keys)
    path.unlink()
    message = f"The audit signing key {path} is missing, but the audit log already holds signed entries."

    with pytest.raises(KeyringError, match=message):
        pipeline.record(generated, "test", "x", {}, {})
    with pytest.raises(KeyringError, match=message):
        pipeline.verify_audit(generated)
    with pytest.raises(KeyringError, match=message):
        pipeline.ingest_stage(generated, "test")

    assert not path.exists()


def test_a_missing_key_with_only_the_witness_left_is_an_error(generated: DataDir) -> None:
    signing_key_path(generated.keys).unlink()
    generated.warehouse.unlink()

    with pytest.raises(KeyringError, match="is missing, but the audit log already holds signed entries"):
        pipeline.record(generated, "test", "x", {}, {})


def test_wiping_the_warehouse_fails_verification(generated: DataDir) -> None:
    generated.warehouse.unlink()

    report = pipeline.verify_audit(generated)

    assert report.reason.startswith("the audit.log table is missing but the witness recorded entry 1 at ")


def test_a_fresh_data_dir_creates_its_key_on_first_use(tmp_path: Path) -> None:
    data_dir = ensure_writable(DataDir(tmp_path / "data"))

    entry = pipeline.record(data_dir, "test", "first", {}, {})

    assert entry.seq == 1 and signing_key_path(data_dir.keys).stat().st_mode & 0o777 == 0o600
    assert pipeline.verify_audit(data_dir).ok


def test_rotation_and_retention_commit_with_their_entries(generated: DataDir) -> None:
    pipeline.ingest_stage(generated, "test", stop_on_reject=False)

    rotated = pipeline.rotate_stage(generated, "test")
    pipeline.retention_stage(generated, "test", datetime(2030, 1, 1, tzinfo=UTC))

    [(inputs, figures)] = _rows(generated, "select inputs, figures from audit.log where action = 'keys_rotate'")
    assert json.loads(inputs) == {"old_version": 1}
    assert json.loads(figures)["tokens_mapped"] == rotated.tokens_mapped > 0
    [(retention,)] = _rows(generated, "select figures from audit.log where action = 'retention'")
    assert json.loads(retention)["events"]["rows_deleted"] > 0
    assert pipeline.verify_audit(generated).ok
    assert [json.loads(line)["seq"] for line in generated.audit_witness.read_text().splitlines()][-1] == len(
        _rows(generated, "select seq from audit.log")
    )
