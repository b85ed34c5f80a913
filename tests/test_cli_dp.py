"""`weir dp release --period`: a quarter outside the data's years is a clear error, not a traceback."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from weir.cli import app

runner = CliRunner()


def flat(output: str) -> str:
    """Output without rich's box drawing and line wrapping."""
    return " ".join(output.replace("│", " ").split())


@pytest.mark.parametrize("period", ["0000Q1", "9999Q4", "1999Q4", "3000Q1"])
def test_out_of_range_period_names_the_flag_and_the_allowed_quarters(tmp_path: Path, period: str) -> None:
    result = runner.invoke(
        app, ["dp", "release", "daily_active_users", "--period", period, "--data-dir", str(tmp_path)]
    )

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert flat(result.output) == (
        f'Error: --period "{period}" is out of range: pass a quarter from 2000Q1 to 2999Q4, written like 2026Q4.'
    )


def test_period_at_the_edges_is_accepted(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["dp", "release", "daily_active_users", "--period", "2999Q4", "--data-dir", str(tmp_path)]
    )

    assert result.exit_code == 1
    assert "build the warehouse first (`weir dbt build`)" in flat(result.output)
