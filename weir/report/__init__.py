"""The auditor's report: one HTML and one PDF file, for a period, from the warehouse's own ledgers.

Each section is plain SQL over a ledger (consent, DSR, DP budget, quality, audit log, model registry)
or the repo's declarations (contracts, policy, release specs, dbt manifest). A section that cannot
be computed is marked failed with its reason on the first page; the report is always written.
"""

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from weir.config import DataDir, make_private_dir, write_private
from weir.report._charts import render
from weir.report._gather import gather
from weir.report._html import fmt, html
from weir.report._model import Chart, Period, Report, Section, Table
from weir.report._pdf import pdf

DEFAULT_DAYS = 90  # the default look-back: one quarter, the DP budget period


@dataclass(frozen=True, slots=True)
class Written:
    html: Path
    pdf: Path
    report: Report


def report_dir(data_dir: DataDir) -> Path:
    return data_dir.root / "reports"


def default_period(today: date, start: date | None = None, end: date | None = None) -> Period:
    end = end or today
    return Period(start or end - timedelta(days=DEFAULT_DAYS - 1), end)


def write_report(data_dir: DataDir, period: Period, now: datetime | None = None) -> Written:
    """Gather, render and write `reports/report.html` and `reports/report.pdf` (owner-only)."""
    drawn: dict[int, Future[bytes]] = {}
    # Charts are drawn in one worker thread as each section is gathered: matplotlib runs while
    # DuckDB (which releases the GIL) answers the next section's queries. One thread only, so no
    # two figures are ever drawn at once.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-charts") as painter:

        def draw(section: Section) -> None:
            drawn.update({id(chart): painter.submit(render, chart) for chart in section.charts})

        report = gather(data_dir, period, now or datetime.now(UTC), draw)
        images = {key: future.result() for key, future in drawn.items()}
    folder = make_private_dir(report_dir(data_dir))
    paths = folder / "report.html", folder / "report.pdf"
    for path, body in zip(paths, (html(report, images).encode(), pdf(report, images)), strict=True):
        tmp = path.with_suffix(".tmp")
        write_private(tmp, body)
        tmp.replace(path)  # atomic: a reader sees the old report or the new one, never half
    return Written(paths[0], paths[1], report)


def write_default(data_dir: DataDir) -> Written:
    """The report for the last DEFAULT_DAYS days up to today (what the DAG and the demo write)."""
    now = datetime.now(UTC)
    return write_report(data_dir, default_period(now.date()), now)


__all__ = [
    "Chart",
    "Period",
    "Report",
    "Section",
    "Table",
    "Written",
    "default_period",
    "write_default",
    "fmt",
    "report_dir",
    "write_report",
]
