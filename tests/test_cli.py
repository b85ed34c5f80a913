"""CLI: every command documented, user errors are clear and exit non-zero without tracebacks."""

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from weir.cli import app

runner = CliRunner()


def flat(output: str) -> str:
    """Output without rich's box drawing and line wrapping."""
    return " ".join(output.replace("│", " ").split())


COMMANDS = [
    "generate",
    "demo",
    "ingest",
    "landing",
    "airflow",
    "audit",
    "keys",
    "privacy",
    "retention",
    "dp",
    "quality",
    "model",
    "report",
]


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])

    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"│ {name} " in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["generate"],
        ["demo"],
        ["ingest"],
        ["landing"],
        ["airflow"],
        ["audit", "verify"],
        ["keys", "rotate"],
        ["privacy", "ropa"],
        ["dp", "release"],
        ["dp", "budget"],
        ["dp", "list"],
        ["quality", "check"],
        ["quality", "gate"],
        ["quality", "report"],
        ["model", "train"],
        ["model", "retrain"],
        ["model", "list"],
        ["model", "card"],
        ["model", "score"],
        ["report", "audit"],
    ],
)
def test_every_command_has_help_with_example(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])

    assert result.exit_code == 0
    assert "Example:" in result.output


def test_every_command_is_in_the_readme() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()

    for name in COMMANDS:
        assert f"weir {name}" in readme


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--users", "10"], "Invalid value for '--users': 10 is not in the range"),
        (["--bad-rate", "0.5"], "Invalid value for '--bad-rate': 0.5 is not in the range"),
        (["--start", "01/10/2026"], "Invalid value for '--start'"),
    ],
)
def test_bad_flag_values_exit_2_naming_the_flag(args: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "--data-dir", str(tmp_path), *args])

    assert result.exit_code == 2
    assert message in flat(result.output)


def test_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    result = runner.invoke(app, ["generate", "--data-dir", str(blocker / "sub")])

    assert result.exit_code == 1
    assert "is not writable" in result.output and "Pass --data-dir" in result.output
    assert "Traceback" not in result.output


def test_missing_landing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["landing", "--data-dir", str(tmp_path)])

    assert result.exit_code == 1
    assert f"No landing folder at {tmp_path}/landing. Run `weir generate` first" in flat(result.output)


def test_generate_then_list_then_verify(tmp_path: Path) -> None:
    generated = runner.invoke(app, ["generate", "--data-dir", str(tmp_path), "--users", "200", "--days", "2", "--json"])
    listed = runner.invoke(app, ["landing", "--data-dir", str(tmp_path), "--json"])
    verified = runner.invoke(app, ["audit", "verify", "--data-dir", str(tmp_path)])

    summary = json.loads(generated.output.strip().splitlines()[-1])
    assert generated.exit_code == 0 and summary["batch_id"] == "20261001-2d-s42"
    assert {b["source"] for b in json.loads(listed.output)} >= {"events", "users", "consent"}
    assert verified.exit_code == 0 and "1 entries" in verified.output


def test_generate_refuses_a_landed_batch_and_touches_nothing(tmp_path: Path) -> None:
    args = ["generate", "--data-dir", str(tmp_path), "--users", "100", "--days", "1"]
    assert runner.invoke(app, args).exit_code == 0
    landing = tmp_path / "landing"
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in landing.rglob("*") if p.is_file()}

    again = runner.invoke(app, [*args, "--bad-rate", "0.02"])  # same batch id, other content

    assert again.exit_code == 1 and "Traceback" not in again.output
    assert "Batch 20261001-1d-s42 already exists in the landing zone" in flat(again.output)
    assert "never rewritten" in flat(again.output)
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in landing.rglob("*") if p.is_file()} == before
    verified = runner.invoke(app, ["audit", "verify", "--data-dir", str(tmp_path)])
    assert verified.exit_code == 0 and "1 entries" in verified.output  # the refusal generated nothing


def test_generate_continue_lands_the_next_day_and_release_needs_a_reason(tmp_path: Path) -> None:
    assert runner.invoke(app, ["generate", "--data-dir", str(tmp_path), "--users", "100", "--days", "1"]).exit_code == 0

    following = runner.invoke(app, ["generate", "--data-dir", str(tmp_path), "--continue"])
    clash = runner.invoke(app, ["generate", "--data-dir", str(tmp_path), "--continue", "--start", "2026-10-02"])
    no_reason = runner.invoke(app, ["ingest", "--data-dir", str(tmp_path), "--release", "20261001-1d-s42"])

    assert following.exit_code == 0 and "Batch 20261002-1d-s42" in flat(following.output)
    assert clash.exit_code == 1 and "--start 2026-10-02 falls inside landed batch 20261002-1d-s42" in flat(clash.output)
    assert no_reason.exit_code == 1 and "--release needs --reason" in flat(no_reason.output)


def test_verify_fails_after_tampering(tmp_path: Path) -> None:
    runner.invoke(app, ["generate", "--data-dir", str(tmp_path), "--users", "200", "--days", "1"])
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("update audit.log set actor = 'someone else'")

    result = runner.invoke(app, ["audit", "verify", "--data-dir", str(tmp_path)])

    assert result.exit_code == 1
    assert "FAILED at entry 1" in result.output and "entry edited" in result.output


def test_data_dir_from_environment(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["generate", "--users", "100", "--days", "1"], env={"WEIR_DATA_DIR": str(tmp_path / "env-dir")}
    )

    assert result.exit_code == 0
    assert (tmp_path / "env-dir" / "landing" / "events").is_dir()


def test_dp_release_errors_are_clear(tmp_path: Path) -> None:
    no_name = runner.invoke(app, ["dp", "release", "--data-dir", str(tmp_path)])
    unknown = runner.invoke(app, ["dp", "release", "dau", "--data-dir", str(tmp_path)])
    no_warehouse = runner.invoke(app, ["dp", "release", "daily_active_users", "--data-dir", str(tmp_path)])
    bad_period = runner.invoke(
        app, ["dp", "release", "daily_active_users", "--period", "Q4", "--data-dir", str(tmp_path)]
    )

    assert (no_name.exit_code, unknown.exit_code, no_warehouse.exit_code) == (1, 1, 1)
    assert "Name a release (see `weir dp list`) or pass --all." in flat(no_name.output)
    assert 'Unknown release "dau". Known releases: daily_active_users,' in flat(unknown.output)
    assert "build the warehouse first (`weir dbt build`)" in flat(no_warehouse.output)
    assert bad_period.exit_code == 1 and 'Period "Q4" is not a quarter: write it like 2026Q4.' in flat(
        bad_period.output
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "cloud"], '--mode "cloud" is not known; use one of simulation, deployment.'),
        (["--rounds", "0"], "--rounds 0 is out of range; use 1 to 500."),
        (["--timeout", "60"], "--timeout applies to --mode deployment only (a simulation runs in this process)"),
        (["--mode", "deployment", "--timeout", "0"], "--timeout 0 must be a positive number of seconds."),
    ],
)
def test_model_train_refuses_bad_options_before_touching_data(args: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["model", "train", "--data-dir", str(tmp_path), *args])

    assert result.exit_code == 1
    assert message in flat(result.output)
    assert not (tmp_path / "warehouse.duckdb").exists()
