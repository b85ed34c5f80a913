"""Data-subject rights: access, erasure and rectification requests, tracked to completion.

Requests come from the `dsr` source and from `weir dsr submit`; `run` takes each open one
through received -> resolved -> executed (per system) -> verified -> completed, every step
audited in the transaction of its change. See README "Data-subject requests" for deadlines.
"""

import os
from datetime import datetime

from weir.config import DataDir
from weir.dsr._intake import Submitted, check_submission
from weir.dsr._run import Outcome, close_session, open_session, overdue, run_open
from weir.dsr._store import (
    DEADLINE_ENV,
    DEFAULT_DEADLINE_DAYS,
    OPEN,
    TYPES,
    DsrError,
    DsrOverdue,
    Request,
    Step,
    deadline_days,
    now_utc,
    subject_hash,
)

__all__ = [
    "DEADLINE_ENV",
    "DEFAULT_DEADLINE_DAYS",
    "TYPES",
    "DsrError",
    "DsrOverdue",
    "Outcome",
    "Request",
    "Step",
    "Submitted",
    "deadline_days",
    "fail_if_overdue",
    "list_requests",
    "now_utc",
    "run_requests",
    "show_request",
    "submit_request",
    "subject_hash",
]


def _days(days: dict[str, int] | None) -> dict[str, int]:
    return days if days is not None else deadline_days(os.environ.get(DEADLINE_ENV))


def submit_request(
    data_dir: DataDir,
    request_type: str,
    user_id: str,
    actor: str,
    field: str | None = None,
    value: str | None = None,
    now: datetime | None = None,
    days: dict[str, int] | None = None,
) -> Submitted:
    """Record a request; the raw `user_id` is tokenised at once and never stored."""
    from weir.dsr import _intake

    check_submission(request_type, field, value)  # before anything is opened or created
    deadlines = _days(days)
    con, ctx = open_session(data_dir, actor)
    try:
        return _intake.submit(
            ctx.rec, ctx.hmac_key, ctx.master, request_type, user_id, now or now_utc(), deadlines, field, value
        )
    finally:
        close_session(con, ctx)


def run_requests(
    data_dir: DataDir, actor: str, request_id: str | None = None, days: dict[str, int] | None = None
) -> list[Outcome]:
    """Import source requests and run every open one (or one) as far as it goes."""
    deadlines = _days(days)
    _prepare_aggregates(data_dir)
    con, ctx = open_session(data_dir, actor)
    try:
        if request_id is not None:
            from weir.dsr._store import get

            get(con, request_id)  # unknown id: a clear error before anything runs
        return run_open(ctx, deadlines, request_id)
    finally:
        close_session(con, ctx)


def _prepare_aggregates(data_dir: DataDir) -> None:
    """Compile the aggregate models' SQL before the run opens the warehouse (dbt needs the file)
    when the run may erase: once per dbt project version."""
    from weir.dsr import _aggregates
    from weir.warehouse import connect

    if not data_dir.warehouse.exists():
        return
    with connect(data_dir.warehouse, read_only=True) as con:
        needed = _aggregates.needed(con)
    if needed:
        _aggregates.prepare(data_dir)


def list_requests(data_dir: DataDir, overdue_only: bool = False, now: datetime | None = None) -> list[Request]:
    """Every request (or the overdue open ones), oldest first."""
    from weir.dsr._store import all_requests, ensure
    from weir.warehouse import connect

    with connect(data_dir.warehouse) as con:
        ensure(con)
        requests = all_requests(con)
    return overdue(requests, now or now_utc()) if overdue_only else requests


def fail_if_overdue(data_dir: DataDir, now: datetime | None = None) -> int:
    """Raise DsrOverdue naming each open request past its deadline; else return how many are open."""
    moment = now or now_utc()
    requests = list_requests(data_dir, now=moment)
    late = overdue(requests, moment)
    if late:
        listed = ", ".join(f"{r.request_id} ({r.request_type}, due {r.deadline_at:%Y-%m-%d})" for r in late)
        raise DsrOverdue(f"{len(late)} data-subject request(s) open past their deadline: {listed}. Run `weir dsr run`.")
    return sum(r.status in OPEN for r in requests)


def show_request(data_dir: DataDir, request_id: str) -> tuple[Request, list[Step]]:
    """One request and its steps."""
    from weir.dsr._store import get, steps
    from weir.warehouse import connect

    with connect(data_dir.warehouse) as con:
        return get(con, request_id), steps(con, request_id)
