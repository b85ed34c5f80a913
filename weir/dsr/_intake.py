"""Requests in: from the `dsr` source (already tokenised at ingest) and from `weir dsr submit`.

A submitted raw user id is tokenised at once under the current key and dropped; a
rectification's new value is sealed under the vault master key until it is applied. A
request of the same type for a user who already has one open is recorded as refused
(duplicate of the open one), so the user sees both and nothing runs twice.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from privacy import _vault
from privacy._keyring import SecretKey
from privacy._pseudonymise import token
from weir.dsr import _rectify
from weir.dsr._store import TYPES, DsrError, Recorder, deadline, insert, new_request_id, open_duplicate
from weir.warehouse import tables


@dataclass(frozen=True, slots=True)
class Submitted:
    request_id: str
    status: str  # received | refused (duplicate)
    duplicate_of: str | None
    deadline_at: datetime


def check_submission(request_type: str, field: str | None, value: str | None) -> None:
    """Validate the CLI's combination of options (nothing is stored when it fails)."""
    if request_type not in TYPES:
        raise DsrError(f"--type {request_type!r} is not a request type; use one of {', '.join(TYPES)}.")
    if request_type == "rectification":
        if field is None or value is None:
            raise DsrError("A rectification needs both --field and --value.")
        problem = _rectify.check_value(field, value)
        if problem:
            raise DsrError(problem)
    elif field is not None or value is not None:
        raise DsrError(f"--field and --value apply to rectification only, not to {request_type}.")


def submit(
    rec: Recorder,
    hmac_key: SecretKey,
    master: SecretKey,
    request_type: str,
    user_id: str,
    now: datetime,
    days: dict[str, int],
    field: str | None = None,
    value: str | None = None,
) -> Submitted:
    """Record a request from the CLI; the raw id never leaves this function."""
    check_submission(request_type, field, value)
    user_token = token(hmac_key, "user", user_id.strip())
    request_id = new_request_id()
    sealed = None
    if value is not None:
        sealed = _vault._seal(master.material, value.encode(), f"dsr|{request_id}|{field}".encode())
    return _record(
        rec, request_id, request_type, user_token, "cli", now, deadline(now, request_type, days), None, field, sealed
    )


def _record(
    rec: Recorder,
    request_id: str,
    request_type: str,
    user_token: str,
    origin: str,
    received_at: datetime,
    deadline_at: datetime,
    channel: str | None,
    field: str | None = None,
    sealed: bytes | None = None,
) -> Submitted:
    duplicate = open_duplicate(rec.con, user_token, request_type, field)

    def change() -> dict:
        insert(rec.con, request_id, request_type, user_token, origin, received_at, deadline_at, channel, field, sealed)
        return {"type": request_type, "origin": origin, "duplicate_of": duplicate}

    if duplicate is None:
        rec.step(request_id, "received", change, state="received")
        return Submitted(request_id, "received", None, deadline_at)
    reason = f"duplicate of open request {duplicate}"
    rec.step(request_id, "duplicate", change, state="refused", reason=reason, status="refused")
    return Submitted(request_id, "refused", duplicate, deadline_at)


def import_raw(rec: Recorder, days: dict[str, int]) -> list[Submitted]:
    """Take new requests from `raw.dsr`; the stricter of the source's and our deadline holds."""
    if "dsr" not in tables(rec.con, "raw"):
        return []
    rows = rec.con.execute(
        "select request_id, user_token, request_type, received_at, deadline_at, channel from raw.dsr "
        "where request_id not in (select request_id from dsr.requests) order by received_at, request_id"
    ).fetchall()
    done = []
    for request_id, user_token, request_type, received_at, deadline_at, channel in rows:
        ours = deadline(_aware(received_at), request_type, days)
        due = min(_aware(deadline_at), ours)
        done.append(_record(rec, request_id, request_type, user_token, "raw.dsr", _aware(received_at), due, channel))
    return done


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def unseal_value(con: duckdb.DuckDBPyConnection, master: SecretKey, request_id: str) -> tuple[str, str] | None:
    """The rectification's (field, new value), or None once it was applied."""
    field, sealed = con.execute(
        "select field, sealed_value from dsr.requests where request_id = ?", [request_id]
    ).fetchone()
    if sealed is None:
        return None
    return field, _vault._open(master.material, sealed, f"dsr|{request_id}|{field}".encode()).decode()
