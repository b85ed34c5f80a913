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
