"""`weir dsr ...`: data-subject requests (access, erasure, rectification) and their deadlines."""

import json
from typing import Annotated

import typer
from rich.table import Table

from weir.cli_common import DataDirOption, console, data_dir, fail
from weir.errors import WeirError

dsr_app = typer.Typer(
    help="Data-subject requests: access, erasure and rectification, tracked to completion.", no_args_is_help=True
)
TIME = "%Y-%m-%d %H:%M UTC"


@dsr_app.command("submit")
def submit(
    request_type: Annotated[str, typer.Option("--type", help="access, erasure or rectification.")],
    user_id: Annotated[str, typer.Option("--user-id", help="The user's id in the source system (tokenised at once).")],
    field: Annotated[
        str | None, typer.Option(help="Rectification: the field to correct (phone, email, name, city, birth_date).")
    ] = None,
    value: Annotated[str | None, typer.Option(help="Rectification: the corrected value.")] = None,
    data_dir_: DataDirOption = None,
) -> None:
    """Record a data-subject request; the user id is tokenised and never stored.

    Example:
        weir dsr submit --type erasure --user-id U42-10000518
    """
    from weir.dsr import submit_request

    try:
        done = submit_request(data_dir(data_dir_), request_type, user_id, "cli:dsr_submit", field, value)
    except WeirError as err:
        raise fail(err) from err
    if done.duplicate_of:
        console.print(f"Request {done.request_id} refused: duplicate of open request {done.duplicate_of}.")
        return
    console.print(
        f"Request {done.request_id} ({request_type}) received; deadline {done.deadline_at:{TIME}}. "
        "Run `weir dsr run` to act on it.",
        highlight=False,
        soft_wrap=True,
    )


@dsr_app.command("run")
def run(
    request_id: Annotated[str | None, typer.Argument(help="Run only this request [default: every open one].")] = None,
    data_dir_: DataDirOption = None,
) -> None:
    """Import new requests from the dsr source and take every open one to completion; exit 1 if any is overdue.

    Example:
        weir dsr run
    """
    from weir.dsr import list_requests, run_requests

    directory = data_dir(data_dir_)
    try:
        outcomes = run_requests(directory, "cli:dsr_run", request_id)
        late = list_requests(directory, overdue_only=True)
    except WeirError as err:
        raise fail(err) from err
    for o in outcomes:
        console.print(f"{o.request_id} {o.request_type}: {o.status}" + (f" ({o.reason})" if o.reason else ""))
    if late:
        console.print(
            f"{len(late)} request(s) still open past their deadline: " + ", ".join(r.request_id for r in late)
        )
        raise typer.Exit(1)


@dsr_app.command("list")
def list_(
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open requests past their deadline.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON with stable keys instead of a table.")] = False,
    data_dir_: DataDirOption = None,
) -> None:
    """List data-subject requests with their status and deadline.

    Example:
        weir dsr list --overdue
    """
    from weir.dsr import list_requests, now_utc

    try:
        requests = list_requests(data_dir(data_dir_), overdue_only=overdue)
    except WeirError as err:
        raise fail(err) from err
    now = now_utc()
    if as_json:
        console.print_json(json.dumps([r.as_json(now) for r in requests]))
        return
    table = Table(
        "request", "type", "status", "received", "deadline", "overdue", "reason", title="Data-subject requests"
    )
    for r in requests:
        table.add_row(
            r.request_id,
            r.request_type,
            r.status,
            f"{r.received_at:{TIME}}",
            f"{r.deadline_at:{TIME}}",
            "yes" if r.overdue(now) else "",
            r.reason or "",
        )
    console.print(table)


@dsr_app.command("show")
def show(
    request_id: Annotated[str, typer.Argument(help="The request id (from `weir dsr list`).")],
    data_dir_: DataDirOption = None,
) -> None:
    """Show one request: its status, deadline, package path and every step.

    Example:
        weir dsr show dsr-3f2a9c0d1e4b5a6c
    """
    from weir.dsr import show_request

    try:
        request, steps = show_request(data_dir(data_dir_), request_id)
    except WeirError as err:
        raise fail(err) from err
    console.print(
        f"{request.request_id} {request.request_type}: {request.status}"
        + (f" ({request.reason})" if request.reason else "")
        + f"; deadline {request.deadline_at:{TIME}}",
        highlight=False,
        soft_wrap=True,
    )
    if request.package_path:
        console.print(f"Package: {request.package_path}", highlight=False, soft_wrap=True)
    if request.notes:
        console.print(f"Note: {request.notes}", highlight=False, soft_wrap=True)
    table = Table("at (UTC)", "system", "status", "detail", title="Steps")
    for s in steps:
        table.add_row(f"{s.at:%Y-%m-%d %H:%M:%S}", s.system, s.status, s.detail or "")
    console.print(table)
