"""`weir dsr ...` through the CLI: exit codes and exact messages."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.dsr.conftest import busiest
from weir.cli import app
from weir.config import DataDir

runner = CliRunner()
README = Path(__file__).parents[2] / "README.md"


def weir(data_dir: DataDir, *args: str):
    return runner.invoke(app, ["dsr", *args, "--data-dir", str(data_dir.root)])


@pytest.mark.parametrize("command", ["submit", "run", "list", "show"])
def test_every_dsr_command_has_help_with_an_example_and_is_in_the_readme(command: str) -> None:
    result = runner.invoke(app, ["dsr", command, "--help"])

    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"weir dsr {command}" in README.read_text()


def test_submit_run_show_and_list_an_erasure(copy_dir: DataDir) -> None:
    person = busiest(copy_dir)

    submitted = weir(copy_dir, "submit", "--type", "erasure", "--user-id", person.user_id)
    request_id = re.match(r"Request (dsr-[0-9a-f]{16}) \(erasure\) received; deadline ", submitted.output)[1]
    ran = weir(copy_dir, "run")  # the source's requests too: each past its deadline until run
    shown = weir(copy_dir, "show", request_id)
    listed = weir(copy_dir, "list", "--json")

    assert submitted.exit_code == 0
    assert submitted.output.endswith("Run `weir dsr run` to act on it.\n")
    assert ran.exit_code == 0
    assert f"{request_id} erasure: completed" in ran.output.splitlines()
    assert {line.split(": ")[1] for line in ran.output.splitlines()} == {"completed"}
    assert shown.exit_code == 0
    assert shown.output.startswith(f"{request_id} erasure: completed; deadline ")
    assert "Note: DP releases already published are not retracted" in shown.output
    entry = next(r for r in json.loads(listed.output) if r["request_id"] == request_id)
    assert (entry["status"], entry["overdue"], entry["type"]) == ("completed", False, "erasure")
    for output in (submitted.output, ran.output, shown.output, listed.output):
        assert person.user_id not in output and person.token(copy_dir) not in output


def test_a_duplicate_submission_names_the_open_request(copy_dir: DataDir) -> None:
    first = weir(copy_dir, "submit", "--type", "access", "--user-id", "U3-10000001")
    request_id = first.output.split()[1]

    second = weir(copy_dir, "submit", "--type", "access", "--user-id", "U3-10000001")

    assert second.exit_code == 0
    assert re.fullmatch(
        rf"Request dsr-[0-9a-f]{{16}} refused: duplicate of open request\s+{request_id}\.\n", second.output
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--type", "forget", "--user-id", "U1"],
            "Error: --type 'forget' is not a request type; use one of access, erasure, rectification.",
        ),
        (
            ["--type", "rectification", "--user-id", "U1", "--field", "email"],
            "Error: A rectification needs both --field and --value.",
        ),
        (
            ["--type", "erasure", "--user-id", "U1", "--field", "email", "--value", "x@y.z"],
            "Error: --field and --value apply to rectification only, not to erasure.",
        ),
        (
            ["--type", "rectification", "--user-id", "U1", "--field", "birth_date", "--value", "1990/01/01"],
            "Error: --value for birth_date must be a date as YYYY-MM-DD.",
        ),
    ],
)
def test_bad_submissions_exit_1_with_the_fix_and_store_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["dsr", "submit", *args, "--data-dir", str(tmp_path)])

    assert result.exit_code == 1
    assert " ".join(result.output.split()) == message
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_show_of_an_unknown_request_exits_1_naming_it(copy_dir: DataDir) -> None:
    result = weir(copy_dir, "show", "dsr-0000000000000000")

    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        "Error: No data-subject request 'dsr-0000000000000000'; `weir dsr list` shows the known ids."
    )


def test_run_exits_1_while_a_request_is_overdue(copy_dir: DataDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_DSR_DEADLINE_DAYS", "access=1")
    from datetime import UTC, datetime, timedelta

    from weir import dsr
    from weir.dsr import _access

    late = dsr.submit_request(copy_dir, "access", "U3-10000002", "test", now=datetime.now(UTC) - timedelta(days=3))
    real = _access.write_package

    def write_package(data_dir: DataDir, request_id: str, held: dict) -> Path:
        if request_id == late.request_id:  # its package is not written: it fails verification
            return _access.package_dir(data_dir, request_id)
        return real(data_dir, request_id, held)

    monkeypatch.setattr(_access, "write_package", write_package)  # the source's requests finish

    result = weir(copy_dir, "run")

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"1 request(s) still open past their deadline: {late.request_id}"
