"""`weir quality ...`: Great Expectations checks on the raw tables and their pass rates."""

from typing import Annotated

import typer
from rich.table import Table

from weir.cli_common import DataDirOption, console
from weir.cli_common import data_dir as _data_dir
from weir.cli_common import fail as _fail
from weir.errors import WeirError

quality_app = typer.Typer(
    help="Great Expectations checks on the raw tables (suites in expectations/).", no_args_is_help=True
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

    try:
        checked = check_raw(_data_dir(data_dir), batch)
    except WeirError as err:
        raise _fail(err) from err
    for c in checked:
        console.print(c.result.message(), highlight=False, soft_wrap=True)
    if any(c.result.blocked for c in checked):
        raise typer.Exit(1)


@quality_app.command("report")
def quality_report(data_dir: DataDirOption = None) -> None:
    """Summarise the recorded quality checks: runs, blocked runs and pass rate per suite.

    Example:
        weir quality report
    """
    from weir.quality import pass_rates

    table = Table("suite", "runs", "blocked", "expectations passed", "last run", title="Quality checks")
    for suite, runs, blocked, rate, last in pass_rates(_data_dir(data_dir)):
        table.add_row(suite, str(runs), str(blocked), f"{rate:.1%}", last.isoformat(timespec="seconds"))
    console.print(table)
