"""`weir quality ...`: Great Expectations gates on raw batches and marts, their pass rates and Data Docs."""

from collections.abc import Callable
from datetime import UTC
from typing import Annotated

import typer
from rich.table import Table

from weir.cli_common import DataDirOption, console
from weir.cli_common import data_dir as _data_dir
from weir.cli_common import fail as _fail
from weir.config import DataDir
from weir.errors import WeirError

quality_app = typer.Typer(
    help="Great Expectations quality gates: raw batches and publishable marts (suites in expectations/).",
    no_args_is_help=True,
)


@quality_app.command("check")
def quality_check(
    batch: Annotated[str | None, typer.Option(help="Check only this landing batch's rows.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run the raw suites over the loaded data; record results in quality.*; exit 1 on an error-level failure.

    Example:
        weir quality check --batch 20261001-7d-s42
    """
    from weir.quality import check_raw

    _run_and_report(lambda: check_raw(_data_dir(data_dir), batch))


@quality_app.command("gate")
def quality_gate(data_dir: DataDirOption = None) -> None:
    """Run the publish gate on the publishable marts (what `weir publish` does first); exit 1 if any is blocked.

    Example:
        weir quality gate
    """
    from weir import pipeline

    _run_and_report(lambda: pipeline.gate_marts_stage(_data_dir(data_dir), "cli:quality_gate"))


def _run_and_report(run: Callable[[], list]) -> None:
    """Print each suite's verdict; exit 1 when any blocked."""
    try:
        checked = run()
    except WeirError as err:
        raise _fail(err) from err
    for c in checked:
        console.print(c.result.message(), highlight=False, soft_wrap=True)
    if any(c.result.blocked for c in checked):
        raise typer.Exit(1)


@quality_app.command("report")
def quality_report(data_dir: DataDirOption = None) -> None:
    """Summarise the recorded quality checks per suite, rebuild the Data Docs and print their path.

    Example:
        weir quality report
    """
    print_quality(_data_dir(data_dir))


def print_quality(directory: DataDir) -> None:
    """The pass-rate table and the Data Docs link (also shown by `weir demo`)."""
    from expectations import build_docs
    from weir.quality import pass_rates

    table = Table(title="Quality gates")
    table.add_column("suite", no_wrap=True)
    for name in ("runs", "blocked", "passed"):
        table.add_column(name, justify="right")
    table.add_column("last run (UTC)", no_wrap=True)
    for suite, runs, blocked, rate, last in pass_rates(directory):
        table.add_row(suite, str(runs), str(blocked), f"{rate:.1%}", f"{last.astimezone(UTC):%Y-%m-%d %H:%M}")
    console.print(table)
    if (directory.quality / "gx").exists():
        console.print(f"Data Docs:      {build_docs(directory.quality).as_uri()}  (open in a browser)", soft_wrap=True)
    else:
        console.print("Data Docs:      none yet: run `weir ingest`, `weir publish` or `weir quality check` first")
