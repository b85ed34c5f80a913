"""`weir audit verify` against the real CLI: a wiped or dropped log fails with the reason."""

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from weir.cli import app

runner = CliRunner()


def flat(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    result = runner.invoke(app, ["generate", "--data-dir", str(tmp_path), "--users", "100", "--days", "1"])
    assert result.exit_code == 0
    return tmp_path


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        ("delete from audit.log", "the audit log is empty but the witness recorded entry 1 at"),
        ("drop table audit.log", "the audit.log table is missing but the witness recorded entry 1 at"),
    ],
)
def test_wiped_log_fails_verification(generated: Path, attack: str, reason: str) -> None:
    with duckdb.connect(str(generated / "warehouse.duckdb")) as con:
        con.execute(attack)
    (generated / "audit_head.json").unlink(missing_ok=True)

    result = runner.invoke(app, ["audit", "verify", "--data-dir", str(generated)])

    assert result.exit_code == 1
    assert flat(result.output).startswith(f"Audit verification FAILED at entry 1: {reason}")


def test_deleted_warehouse_fails_verification(generated: Path) -> None:
    (generated / "warehouse.duckdb").unlink()

    result = runner.invoke(app, ["audit", "verify", "--data-dir", str(generated)])

    assert result.exit_code == 1
    assert "the audit.log table is missing but the witness recorded entry 1" in flat(result.output)


def test_log_and_witness_wiped_together_fail_verification(generated: Path) -> None:
    assert runner.invoke(app, ["ingest", "--data-dir", str(generated)]).exit_code == 0
    with duckdb.connect(str(generated / "warehouse.duckdb")) as con:
        con.execute("drop table audit.log")
    (generated / "audit" / "witness.jsonl").unlink()

    result = runner.invoke(app, ["audit", "verify", "--data-dir", str(generated)])

    assert result.exit_code == 1
    assert "the audit log and its witness are gone but ingest.load_ledger records 11 batch(es)" in flat(result.output)


def test_published_witness_copy_catches_a_wipe_of_log_and_witness(generated: Path) -> None:
    assert runner.invoke(app, ["ingest", "--data-dir", str(generated)]).exit_code == 0
    (generated / "published").mkdir(exist_ok=True)
    (generated / "published" / "audit_witness.jsonl").write_bytes((generated / "audit" / "witness.jsonl").read_bytes())
    (generated / "warehouse.duckdb").unlink()
    (generated / "audit" / "witness.jsonl").unlink()

    result = runner.invoke(app, ["audit", "verify", "--data-dir", str(generated)])

    assert result.exit_code == 1
    assert "(witness cut short, with the log rolled back to match)" in flat(result.output)
