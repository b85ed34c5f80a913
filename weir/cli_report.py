"""`weir report ...`: the auditor's report (HTML + PDF) for a period."""

from datetime import UTC, date, datetime
from typing import Annotated

import typer

from weir.cli_common import DataDirOption, console, data_dir

report_app = typer.Typer(
    help="The auditor's report: consent, requests, privacy loss, quality, lineage.", no_args_is_help=True
)


def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2026-10-01.", param_hint=flag) from err


@report_app.command("audit")
def report_audit(
    start: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD) [default: 90 days before --to].")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, included (YYYY-MM-DD) [default: today].")] = None,
    data_dir_: DataDirOption = None,
) -> None:
    """Write report.html and report.pdf under the data dir's reports/ folder (owner-only).

    A section that cannot be computed (missing ledger, unreadable table, broken audit chain) is
    marked failed with its reason on the first page; the report is written anyway.

    Example:
        weir report audit --from 2026-10-01 --to 2026-12-31
    """
    from weir.report import default_period, write_report

    first, last = _day(start, "--from"), _day(end, "--to")
    period = default_period(datetime.now(UTC).date(), first, last)
    if period.start > period.end:
        raise typer.BadParameter(f"--from {period.start} is after --to {period.end}; swap them.", param_hint="--from")
    written = write_report(data_dir(data_dir_), period)
    for section in [written.report.chain, *written.report.sections]:
        console.print(f"{section.status:>9}  {section.title}: {section.summary}", highlight=False, soft_wrap=True)
    console.print(f"Report ({written.report.status}): {written.html}\n                 {written.pdf}", highlight=False)
