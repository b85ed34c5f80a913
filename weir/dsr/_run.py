"""Run open requests to their end: resolve the user, execute per system, verify, complete.

One warehouse connection for the whole run (DuckDB has one writer); each step commits on its
own with its audit entry, and the head is witnessed at the end, as the other stages do.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from privacy._keyring import SecretKey, current_hmac_key, vault_master_key
from weir.config import DataDir
from weir.contract import all_contracts
from weir.dsr import _access, _compact, _erase, _intake, _rectify, _store
from weir.dsr._store import Recorder
from weir.sql import ident
from weir.warehouse import connect, tables

NO_DATA = "no data held about this user"


@dataclass(frozen=True, slots=True)
class Outcome:
    request_id: str
    request_type: str
    status: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class Context:
    rec: Recorder
    data_dir: DataDir
    hmac_key: SecretKey
    master: SecretKey

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.rec.con


def open_session(data_dir: DataDir, actor: str) -> tuple[duckdb.DuckDBPyConnection, Context]:
    from weir.pipeline import signing_key  # deferred: weir.pipeline imports the whole platform

    con = connect(data_dir.warehouse)
    _store.ensure(con)
    key = signing_key(data_dir, con)
    ctx = Context(Recorder(con, key, actor), data_dir, current_hmac_key(data_dir.keys), vault_master_key(data_dir.keys))
    return con, ctx


def close_session(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """Witness the head; after erasures, rewrite the warehouse file without their deleted rows
    (each erased request then gets its `compact` step, so a crash here is redone next run)."""
    from weir import audit

    try:
        pending = _uncompacted(con)
        if pending:
            con.close()
            before, after = _compact.compact_warehouse(ctx.data_dir.warehouse)
            con = connect(ctx.data_dir.warehouse)
            figures = {"bytes_before": before, "bytes_after": after}
            Recorder(con, ctx.rec.key, ctx.rec.actor).steps(pending, "compact", lambda: dict.fromkeys(pending, figures))
        audit.witness_head(con, ctx.rec.key, ctx.data_dir.audit_witness)
    finally:
        con.close()


def _uncompacted(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Erasures that reached the vault step but whose deleted rows may still be in the file."""
    rows = con.execute(
        "select distinct request_id from dsr.steps where system = 'vault' and status = 'done' "
        "and request_id not in (select request_id from dsr.steps where system = 'compact') order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def run_open(ctx: Context, days: dict[str, int], only: str | None = None) -> list[Outcome]:
    """Import new source requests, then take every open request (or just `only`) to its end.

    Rectifications run one by one; the run's access requests run as one batch (one read of
    each table for all of them), and so do its erasures (each system once for all of them, one
    published version, one file scan, one verification), each request still getting its own
    steps and audit entries."""
    _intake.import_raw(ctx.rec, days)
    chosen = [r for r in _store.all_requests(ctx.con) if r.status in _store.OPEN and only in (None, r.request_id)]
    _resolve_all(ctx, [r for r in chosen if r.status == "received"])
    erasures = [r.request_id for r in chosen if r.request_type == "erasure"]
    for request in chosen:
        if request.request_type == "rectification":
            _advance_rectification(ctx, request.request_id)
    _run_accesses(ctx, [r.request_id for r in chosen if r.request_type == "access"])
    known = _execute_erasures(ctx, _in_state(ctx, erasures, "resolved"))
    _verify_erasures(ctx, _in_state(ctx, erasures, "executed"), known)
    ctx.rec.steps(_in_state(ctx, erasures, "verified"), "completed", state="completed")
    now = {r.request_id: r for r in _store.all_requests(ctx.con)}  # one read for the whole run
    return [Outcome(r.request_id, r.request_type, now[r.request_id].status, now[r.request_id].reason) for r in chosen]


def _in_state(ctx: Context, request_ids: list[str], status: str) -> list[str]:
    now = _store.column_of(ctx.con, "status", request_ids)
    return [r for r in request_ids if now.get(r) == status]


def _advance_rectification(ctx: Context, request_id: str) -> None:
    """Move one rectification request on from wherever it stopped."""
    request = _store.get(ctx.con, request_id)
    if request.status == "received" and not _resolve(ctx, request):
        return
    request = _store.get(ctx.con, request_id)
    if request.status == "resolved":
        if not _execute(ctx, request):
            return
    request = _store.get(ctx.con, request_id)
    if request.status == "executed" and not _verify(ctx, request):
        return
    if _store.get(ctx.con, request_id).status == "verified":  # refused or no_data: already final
        ctx.rec.step(request_id, "completed", state="completed")


def _held_about(con: duckdb.DuckDBPyConnection, ids: list[str]) -> set[str]:
    """The requests whose user any raw table names (in any user-token column: an export of
    events alone has no users source) or a declared lawful basis covers."""
    if not ids:
        return set()
    raw = tables(con, "raw")
    named = [
        f"select {ident(c.out_name)} from raw.{ident(contract.source)}"
        for contract in sorted(all_contracts(), key=lambda c: c.source != "users")
        if contract.source in raw
        for c in contract.kept
        if c.kind == "user" and c.treatment == "token"
    ]
    if "bases" in tables(con, "consent"):
        named.append("select user_token from consent.bases")
    found: set[str] = set()
    for sql in named:  # users first: it names nearly everyone, and a hit skips the larger tables
        rest = [i for i in ids if i not in found]
        if not rest:
            break
        rows = con.execute(
            f"select request_id from dsr.requests where request_id in (select unnest(?)) and user_token in ({sql})",
            [rest],
        ).fetchall()
        found.update(r[0] for r in rows)
    return found


def _resolve_all(ctx: Context, requests: list[_store.Request]) -> None:
    """Resolve the run's received requests with one lookup: the unknown ones end as no_data, the
    known erasures are resolved together; rectifications also check their field one by one."""
    ids = [r.request_id for r in requests]
    known = _held_about(ctx.con, ids)
    ctx.rec.steps([i for i in ids if i not in known], "resolve", state="no_data", reason=NO_DATA, status="no_data")
    for request in requests:
        if request.request_id in known and request.request_type == "rectification":
            _resolve(ctx, request)
    plain = [r.request_id for r in requests if r.request_id in known and r.request_type != "rectification"]
    ctx.rec.steps(plain, "resolve", state="resolved")


def _resolve(ctx: Context, request: _store.Request) -> bool:
    user_token = _store.user_token_of(ctx.con, request.request_id)
    if not _held_about(ctx.con, [request.request_id]):
        ctx.rec.step(request.request_id, "resolve", state="no_data", reason=NO_DATA, status="no_data")
        return False
    if request.request_type == "rectification":
        refused = _rectify.refusal(ctx.con, ctx.master, user_token, request.field or "")
        if refused:
            ctx.rec.step(request.request_id, "resolve", state="refused", reason=refused, status="refused")
            return False
    ctx.rec.step(request.request_id, "resolve", state="resolved")
    return True


def _execute(ctx: Context, request: _store.Request) -> bool:
    _execute_rectification(ctx, request.request_id, _store.user_token_of(ctx.con, request.request_id))
    ctx.rec.step(request.request_id, "executed", state="executed")
    return True


def _batch(ctx: Context, request_ids: list[str]) -> tuple[_erase.Subject, ...]:
    tokens = _store.column_of(ctx.con, "user_token", request_ids)
    return tuple(_erase.Subject(r, tokens[r]) for r in request_ids)


def _execute_erasures(ctx: Context, request_ids: list[str]) -> tuple[tuple[str, str], ...]:
    """Each system once for every request not done with it (a crashed batch resumes at each
    request's first system not done); then every request is `executed`. Returns the values
    to verify against, read before the vault is shredded (a run resumed after the vault step
    no longer has its users' contact values: its verification looks for their tokens)."""
    subjects = _batch(ctx, request_ids)
    if not subjects:
        return ()
    known = tuple(_erase.Erasure(ctx.con, ctx.data_dir, ctx.hmac_key, ctx.master, subjects).needles().items())
    outside = {"published", "files"}  # their own swap / plain files: not in a DuckDB transaction
    done = _store.done_by_request(ctx.con, request_ids)  # this run is the only writer: read once
    for system, erase in _erase.SYSTEMS:
        todo = tuple(s for s in subjects if system not in done[s.request_id])
        if todo:
            batch = _erase.Erasure(ctx.con, ctx.data_dir, ctx.hmac_key, ctx.master, todo, known)
            ids = [s.request_id for s in todo]
            ctx.rec.steps(ids, system, lambda e=erase, b=batch: e(b), transactional=system not in outside)

    def note() -> dict[str, dict]:
        ctx.con.execute(
            "update dsr.requests set notes = ? where request_id in (select unnest(?))", [_erase.DP_NOTE, request_ids]
        )
        return {}

    ctx.rec.steps(request_ids, "executed", note, state="executed")
    return known


def _run_accesses(ctx: Context, request_ids: list[str]) -> None:
    """Access requests from wherever each stopped: the resolved ones' packages written together
    (one step per request in one transaction), then each package checked and the request completed."""
    _execute_accesses(ctx, _in_state(ctx, request_ids, "resolved"))
    ctx.rec.steps(_in_state(ctx, request_ids, "resolved"), "executed", state="executed")
    executed = _in_state(ctx, request_ids, "executed")
    paths = _store.column_of(ctx.con, "package_path", executed)
    written = [r for r in executed if paths.get(r) and (Path(paths[r]) / "package.json").is_file()]
    ctx.rec.steps([r for r in executed if r not in written], "verify", status="failed")
    ctx.rec.steps(written, "verify", state="verified")
    ctx.rec.steps(_in_state(ctx, request_ids, "verified"), "completed", state="completed")


def _execute_accesses(ctx: Context, request_ids: list[str]) -> None:
    """Each request's package (`access_package`), read for all of them at once; a request whose
    package step is done (a run that crashed after it) is not packaged again."""
    done = _store.done_by_request(ctx.con, request_ids)
    todo = [r for r in request_ids if "access_package" not in done[r]]
    if not todo:
        return
    tokens = _store.column_of(ctx.con, "user_token", todo)

    def change() -> dict[str, dict]:
        held = _access.collect_many(ctx.con, ctx.master, sorted(set(tokens.values())))
        figures = {}
        for request_id in todo:
            theirs = held[tokens[request_id]]
            folder = _access.write_package(ctx.data_dir, request_id, theirs)
            ctx.con.execute("update dsr.requests set package_path = ? where request_id = ?", [str(folder), request_id])
            figures[request_id] = {"tables": {t: len(r) for t, r in theirs.items()}}
        return figures

    ctx.rec.steps(todo, "access_package", change)


def _execute_rectification(ctx: Context, request_id: str, user_token: str) -> None:
    def change() -> dict:
        pending = _intake.unseal_value(ctx.con, ctx.master, request_id)
        if pending is None:  # applied by a run that crashed before its step committed: cannot happen
            return {"applied": False}  # in one transaction, kept for safety of re-runs
        field, value = pending
        changed = _rectify.apply(ctx.con, ctx.hmac_key, ctx.master, user_token, field, value)
        ctx.con.execute("update dsr.requests set sealed_value = null where request_id = ?", [request_id])
        return {"applied": True, **changed}

    if "rectify" not in _store.done_systems(ctx.con, request_id):
        ctx.rec.step(request_id, "rectify", change)


def _verify_erasures(ctx: Context, request_ids: list[str], known: tuple[tuple[str, str], ...]) -> None:
    """One residue scan for the batch (tokens, and the contact values in `known`). A request with
    residue goes back to `resolved` (the next run erases it from every system again); the others
    forget the user's token and are verified."""
    subjects = _batch(ctx, request_ids)
    if not subjects:
        return
    left = _erase.residue(_erase.Erasure(ctx.con, ctx.data_dir, ctx.hmac_key, ctx.master, subjects, known))
    failed = [s.request_id for s in subjects if left.get(s.request_id)]
    residue = {r: {"residue": left[r]} for r in failed}
    ctx.rec.steps(failed, "verify", lambda: residue, state="resolved", status="failed")
    clean = [s for s in subjects if s.request_id not in failed]

    def forget() -> dict[str, dict]:  # each erased user's token goes from every request about them
        tokens = [s.user_token for s in clean]
        ctx.con.execute("update dsr.requests set user_token = null where user_token in (select unnest(?))", [tokens])
        return {s.request_id: {"residue": {}} for s in clean}

    ctx.rec.steps([s.request_id for s in clean], "verify", forget, state="verified")


def _verify(ctx: Context, request: _store.Request) -> bool:
    ok = _intake.unseal_value(ctx.con, ctx.master, request.request_id) is None  # the value went in
    if not ok:
        ctx.rec.step(request.request_id, "verify", status="failed")
        return False
    ctx.rec.step(request.request_id, "verify", state="verified")
    return True


def overdue(requests: list[_store.Request], now: datetime) -> list[_store.Request]:
    return [r for r in requests if r.overdue(now)]
