"""The request store: `dsr.requests`, `dsr.steps` and the suppression list `dsr.suppressed`.

A request's life is received -> resolved -> executed (one step per system) -> verified ->
completed, or it ends as refused / no_data with a reason. Every change of state and every
system step is one transaction with its `dsr.steps` row and its audit entry, so the steps
table always says which systems are done and a crashed run resumes where it stopped.

The store never holds a raw identifier: a request names its user by token, and once an
erasure completes only `subject_hash` (the SHA-256 of the token) stays, which is what the
suppression list holds too. It proves which request erased whom to someone who already has
the token, and links to nothing: no other table holds the token any more.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from weir import audit
from weir.errors import WeirError

TYPES = ("access", "erasure", "rectification")
OPEN = ("received", "resolved", "executed", "verified")
TERMINAL = ("completed", "refused", "no_data")
# GDPR Art. 12(3): answer "without undue delay and in any event within one month". PIPL
# Art. 50 asks for a timely answer without a fixed period. 15 days is the stricter reading
# both laws allow, and the period several PIPL implementation guides name; override per type
# with WEIR_DSR_DEADLINE_DAYS (e.g. "access=10,erasure=15").
DEFAULT_DEADLINE_DAYS = {"access": 15, "erasure": 15, "rectification": 15}
DEADLINE_ENV = "WEIR_DSR_DEADLINE_DAYS"
DDL = """
create schema if not exists dsr;
create table if not exists dsr.requests (
    request_id varchar primary key,
    request_type varchar not null,
    user_token varchar,              -- cleared when an erasure completes; subject_hash stays
    subject_hash varchar not null,   -- sha256 of the user token
    origin varchar not null,         -- raw.dsr | cli
    channel varchar,
    field varchar,                   -- rectification: the field to replace
    sealed_value blob,               -- rectification: the new value, AES-GCM under the vault master key
    status varchar not null,
    reason varchar,
    received_at timestamptz not null,
    deadline_at timestamptz not null,
    updated_at timestamptz not null,
    package_path varchar,            -- access: where the package was written
    notes varchar
);
create table if not exists dsr.steps (
    request_id varchar not null, system varchar not null, status varchar not null,
    "at" timestamptz not null, detail varchar);
create table if not exists dsr.suppressed (
    token_hash varchar primary key, key_version integer not null,
    request_id varchar not null, added_at timestamptz not null);
"""


class DsrError(WeirError):
    """A data-subject request cannot be submitted or found."""


class DsrOverdue(DsrError):
    """Open data-subject requests are past their deadline; run `weir dsr run` and see why they stopped."""


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    request_type: str
    status: str
    reason: str | None
    received_at: datetime
    deadline_at: datetime
    updated_at: datetime
    origin: str
    field: str | None
    package_path: str | None
    notes: str | None

    def overdue(self, now: datetime) -> bool:
        return self.status not in TERMINAL and self.deadline_at < now

    def as_json(self, now: datetime) -> dict:
        return {
            "request_id": self.request_id,
            "type": self.request_type,
            "status": self.status,
            "reason": self.reason,
            "received_at": self.received_at.isoformat(),
            "deadline_at": self.deadline_at.isoformat(),
            "overdue": self.overdue(now),
            "origin": self.origin,
            "field": self.field,
            "package_path": self.package_path,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class Step:
    system: str
    status: str
    at: datetime
    detail: str | None


COLUMNS = (
    "request_id, request_type, status, reason, received_at, deadline_at, updated_at, origin, field, package_path, notes"
)


def subject_hash(user_token: str) -> str:
    """What the store keeps of an erased user: the SHA-256 of the token (hex)."""
    return hashlib.sha256(user_token.encode()).hexdigest()


def deadline_days(spec: str | None) -> dict[str, int]:
    """Parse "type=days,..." over the defaults; refuse unknown types and non-positive days."""
    days = dict(DEFAULT_DEADLINE_DAYS)
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        name, _, value = part.partition("=")
        if name not in TYPES or not value.isdigit() or int(value) < 1:
            raise DsrError(
                f"{DEADLINE_ENV} entry {part!r} is invalid; write type=days with a type of "
                f"{', '.join(TYPES)} and a whole number of days >= 1, e.g. erasure=15."
            )
        days[name] = int(value)
    return days


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def new_request_id() -> str:
    return f"dsr-{uuid.uuid4().hex[:16]}"


def open_duplicate(
    con: duckdb.DuckDBPyConnection, user_token: str, request_type: str, field: str | None = None
) -> str | None:
    """The id of an open request of the same type (and field) for the same user, if any."""
    row = con.execute(
        "select request_id from dsr.requests where user_token = ? and request_type = ? "
        "and field is not distinct from ? and status in (select unnest(?)) order by received_at limit 1",
        [user_token, request_type, field, list(OPEN)],
    ).fetchone()
    return row[0] if row else None


def insert(
    con: duckdb.DuckDBPyConnection,
    request_id: str,
    request_type: str,
    user_token: str,
    origin: str,
    received_at: datetime,
    deadline_at: datetime,
    channel: str | None = None,
    field: str | None = None,
    sealed_value: bytes | None = None,
) -> None:
    con.execute(
        "insert into dsr.requests (request_id, request_type, user_token, subject_hash, origin, channel, field, "
        "sealed_value, status, received_at, deadline_at, updated_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, now())",
        [
            request_id,
            request_type,
            user_token,
            subject_hash(user_token),
            origin,
            channel,
            field,
            sealed_value,
            received_at,
            deadline_at,
        ],
    )


def get(con: duckdb.DuckDBPyConnection, request_id: str) -> Request:
    ensure(con)
    row = con.execute(f"select {COLUMNS} from dsr.requests where request_id = ?", [request_id]).fetchone()
    if row is None:
        raise DsrError(f"No data-subject request {request_id!r}; `weir dsr list` shows the known ids.")
    return Request(*row)


def user_token_of(con: duckdb.DuckDBPyConnection, request_id: str) -> str | None:
    return con.execute("select user_token from dsr.requests where request_id = ?", [request_id]).fetchone()[0]


def all_requests(con: duckdb.DuckDBPyConnection) -> list[Request]:
    ensure(con)
    rows = con.execute(f"select {COLUMNS} from dsr.requests order by received_at, request_id").fetchall()
    return [Request(*r) for r in rows]


def steps(con: duckdb.DuckDBPyConnection, request_id: str) -> list[Step]:
    ensure(con)
    rows = con.execute(
        'select system, status, "at", detail from dsr.steps where request_id = ? order by "at", rowid', [request_id]
    ).fetchall()
    return [Step(*r) for r in rows]


def done_systems(con: duckdb.DuckDBPyConnection, request_id: str) -> set[str]:
    """Systems done since the request's last failed verification (a failure redoes them all)."""
    rows = con.execute(
        "select system from dsr.steps where request_id = $r and status = 'done' and \"at\" > coalesce(("
        "select max(\"at\") from dsr.steps where request_id = $r and system = 'verify' and status = 'failed'), "
        "'-infinity'::timestamptz)",
        {"r": request_id},
    )
    return {r[0] for r in rows.fetchall()}


def done_by_request(con: duckdb.DuckDBPyConnection, request_ids: list[str]) -> dict[str, set[str]]:
    """`done_systems` of many requests in one query."""
    rows = con.execute(
        "select s.request_id, s.system from dsr.steps s where s.request_id in (select unnest($ids)) "
        'and s.status = \'done\' and s."at" > coalesce((select max(f."at") from dsr.steps f '
        "where f.request_id = s.request_id and f.system = 'verify' and f.status = 'failed'), "
        "'-infinity'::timestamptz)",
        {"ids": request_ids},
    ).fetchall()
    done: dict[str, set[str]] = {r: set() for r in request_ids}
    for request_id, system in rows:
        done[request_id].add(system)
    return done


def column_of(con: duckdb.DuckDBPyConnection, column: str, request_ids: list[str]) -> dict[str, str | None]:
    """One column (`user_token`, `status` or `package_path`) of many requests in one query."""
    if column not in ("user_token", "status", "package_path"):
        raise ValueError(column)
    rows = con.execute(
        f"select request_id, {column} from dsr.requests where request_id in (select unnest(?))", [request_ids]
    ).fetchall()
    return dict(rows)


@dataclass(frozen=True, slots=True)
class Recorder:
    """Writes a step (and optionally a state change) with its audit entry, in one transaction."""

    con: duckdb.DuckDBPyConnection
    key: Ed25519PrivateKey
    actor: str

    def step(
        self,
        request_id: str,
        system: str,
        change: Callable[[], dict] | None = None,
        state: str | None = None,
        reason: str | None = None,
        status: str = "done",
        transactional: bool = True,
    ) -> dict:
        """Run `change` (returns the step's figures), record the step, move the request to `state`.

        A change that is not `transactional` (files, the published layer's own swap) runs
        first; a crash before its step commits only means the idempotent change runs again."""
        batch = (lambda: {request_id: change()}) if change is not None else None
        return self.steps([request_id], system, batch, state, reason, status, transactional).get(request_id, {})

    def steps(
        self,
        request_ids: list[str],
        system: str,
        change: Callable[[], dict[str, dict]] | None = None,
        state: str | None = None,
        reason: str | None = None,
        status: str = "done",
        transactional: bool = True,
    ) -> dict[str, dict]:
        """`step` for a batch of requests: one change (returning each request's figures), then
        each request's step row, state and audit entry, all in the one transaction."""
        if not request_ids:
            return {}
        figures = change() if change is not None and not transactional else {}
        self.con.execute("begin transaction")
        try:
            if change is not None and transactional:
                figures = change()
            self._record_all(request_ids, system, figures, state, reason, status)
            self.con.execute("commit")
        except Exception:
            self.con.execute("rollback")
            raise
        return figures

    def _record_all(
        self, request_ids: list[str], system: str, figures: dict, state: str | None, reason: str | None, status: str
    ) -> None:
        """Set-based: every request's step row in one insert, the state change in one update,
        and one signed, chained audit entry per request in one insert."""
        details = [json.dumps(figures.get(r, {}), sort_keys=True, default=str) for r in request_ids]
        self.con.execute(
            "insert into dsr.steps select r, ?, ?, now(), d from (select unnest(?) as r, unnest(?) as d)",
            [system, status, request_ids, details],
        )
        if state is not None:
            self.con.execute(
                "update dsr.requests set status = ?, reason = coalesce(?, reason), updated_at = now() "
                "where request_id in (select unnest(?))",
                [state, reason, request_ids],
            )
        entries = [  # never the user token: the audit log is never erased
            ({"request_id": r}, {"status": status, "state": state, "reason": reason, **figures.get(r, {})})
            for r in request_ids
        ]
        append_many_in(self.con, self.key, self.actor, f"dsr_{system}", entries)


def append_many_in(
    con: duckdb.DuckDBPyConnection,
    key: Ed25519PrivateKey,
    actor: str,
    action: str,
    entries: list[tuple[dict, dict]],
) -> None:
    """`audit.append_in` for many (inputs, figures) entries: each sealed and chained to the one
    before, all inserted by one statement in the caller's transaction."""
    con.execute(audit.DDL)
    last = con.execute("select seq, entry_hash from audit.log order by seq desc limit 1").fetchone()
    seq, prev = last if last else (0, audit.GENESIS)
    rows = []
    for inputs, figures in entries:
        seq += 1
        fields = {
            "seq": seq,
            "recorded_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "inputs": audit.canonical(inputs),
            "figures": audit.canonical(figures),
            "prev_hash": prev,
        }
        prev, signature = audit.seal(key, fields)
        rows.append([*fields.values(), prev, signature])
    columns = [list(c) for c in zip(*rows, strict=True)]
    con.execute("insert into audit.log select " + ", ".join(["unnest(?)"] * len(columns)), columns)


def now_utc() -> datetime:
    return datetime.now(UTC)


def deadline(received_at: datetime, request_type: str, days: dict[str, int]) -> datetime:
    return received_at + timedelta(days=days[request_type])
