"""All or nothing per batch: a batch with a source the raw gate rejected is held out of `raw`.

Sources load one at a time (users first: consent is checked against them), so when one source
of a batch is rejected its other sources may already be in `raw`. They are then moved, in one
transaction with their ledger lines (status `held`) and audit entries, into `ingest.held_<source>`
(same columns as raw), so the warehouse never builds on half a batch. After review,
`weir ingest --release BATCH --reason TEXT` loads the rejected sources with the gate's findings
waived straight into their held tables (one transaction each), then moves every held source into
raw in one transaction: a release that stops half-way leaves nothing of the batch in raw, and
running it again finishes it (`gate_raw` fails while anything is held).
"""

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from weir.contract import load_contract
from weir.ingest._load import Evidence, LoadResult
from weir.sql import ident
from weir.warehouse import tables

HELD = "held"


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("begin transaction")
    try:
        yield
    except Exception:
        con.execute("rollback")
        raise
    con.execute("commit")


def _held_table(source: str) -> str:
    return f"ingest.{ident('held_' + source)}"


def _ledger(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict[str, LoadResult]:
    rows = con.execute(
        "select source, status, rows_in, rows_loaded, rows_quarantined from ingest.load_ledger where batch_id = ?",
        [batch_id],
    ).fetchall()
    return {s: LoadResult(s, batch_id, st, i, lo, q) for s, st, i, lo, q in rows}


def _set_status(con: duckdb.DuckDBPyConnection, result: LoadResult, status: str) -> LoadResult:
    con.execute(
        "update ingest.load_ledger set status = ? where source = ? and batch_id = ?",
        [status, result.source, result.batch_id],
    )
    return LoadResult(
        result.source, result.batch_id, status, result.rows_in, result.rows_loaded, result.rows_quarantined
    )


def _move(con: duckdb.DuckDBPyConnection, source: str, batch_id: str, to_held: bool) -> None:
    """Move one batch's rows of a source between raw and its held table (and its consent rows)."""
    raw, held = f"raw.{ident(source)}", _held_table(source)
    con.execute(f"create table if not exists {held} as select * from {raw} limit 0")
    origin, target = (raw, held) if to_held else (held, raw)
    con.execute(f"insert into {target} select * from {origin} where _batch_id = ?", [batch_id])
    con.execute(f"delete from {origin} where _batch_id = ?", [batch_id])
    if source == "consent":  # consent rows also feed the consent ledger that marts read
        con.execute("create table if not exists ingest.held_consent_ledger as select * from consent.ledger limit 0")
        pair = ("consent.ledger", "ingest.held_consent_ledger")
        origin, target = pair if to_held else pair[::-1]
        con.execute(f"insert into {target} select * from {origin} where batch_id = ?", [batch_id])
        con.execute(f"delete from {origin} where batch_id = ?", [batch_id])


def hold_incomplete(con: duckdb.DuckDBPyConnection, batch_id: str, evidence: Evidence | None) -> list[LoadResult]:
    """Hold the loaded sources of `batch_id` if any of its sources was rejected; return them."""
    ledger = _ledger(con, batch_id)
    if not any(r.status == "rejected" for r in ledger.values()):
        return []
    loaded = [r for r in ledger.values() if r.status == "loaded"]
    held = []
    with _transaction(con):
        for result in loaded:  # a dozen sources at most
            _move(con, result.source, batch_id, to_held=True)
            held.append(_set_status(con, result, HELD))
            if evidence is not None:
                evidence(con, held[-1])
    return held


def into_held(evidence: Evidence | None) -> Evidence:
    """Evidence hook for a released source's load: inside its transaction, move the rows it
    just wrote to raw into the held table (status `held`), so they reach raw with the batch."""

    def hook(con: duckdb.DuckDBPyConnection, result: LoadResult) -> None:
        if result.status == "loaded":
            _move(con, result.source, result.batch_id, to_held=True)
            result = _set_status(con, result, HELD)
        if evidence is not None:
            evidence(con, result)

    return hook


def restore_held(con: duckdb.DuckDBPyConnection, batch_id: str, evidence: Evidence | None) -> list[LoadResult]:
    """Move the held sources of `batch_id` back into raw (one transaction); rows naming a user
    erased while they were held stay out, quarantined as `erased_user` without their text."""
    held = [r for r in _ledger(con, batch_id).values() if r.status == HELD]
    restored = []
    with _transaction(con):
        for result in held:
            erased = _drop_erased(con, result.source, batch_id)
            _move(con, result.source, batch_id, to_held=False)
            con.execute(
                "update ingest.load_ledger set rows_loaded = rows_loaded - ?, rows_quarantined = rows_quarantined + ? "
                "where source = ? and batch_id = ?",
                [erased, erased, result.source, batch_id],
            )
            moved = LoadResult(
                result.source,
                batch_id,
                HELD,
                result.rows_in,
                result.rows_loaded - erased,
                result.rows_quarantined + erased,
            )
            restored.append(_set_status(con, moved, "loaded"))
            if evidence is not None:
                evidence(con, restored[-1])
    return restored


def _drop_erased(con: duckdb.DuckDBPyConnection, source: str, batch_id: str) -> int:
    """Quarantine (no text) the held rows naming a user on the DSR suppression list; count them."""
    users = [ident(c.out_name) for c in load_contract(source).kept if c.treatment == "token" and c.kind == "user"]
    if not users or "suppressed" not in tables(con, "dsr"):
        return 0
    held = _held_table(source)
    hit = " or ".join(f"sha256({u}) in (select token_hash from dsr.suppressed)" for u in users)
    erased = con.execute(f"select count(*) from {held} where _batch_id = ? and ({hit})", [batch_id]).fetchone()[0]
    con.execute(
        f"insert into ingest.quarantine select ?, ?, _file, _line, 'erased_user', "
        f"'the row names a user erased by a data-subject request', null, null from {held} "
        f"where _batch_id = ? and ({hit})",
        [source, batch_id, batch_id],
    )
    con.execute(f"delete from {held} where _batch_id = ? and ({hit})", [batch_id])
    if source == "consent" and "held_consent_ledger" in tables(con, "ingest"):
        con.execute(
            "delete from ingest.held_consent_ledger where batch_id = ? "
            "and sha256(user_token) in (select token_hash from dsr.suppressed)",
            [batch_id],
        )
    return int(erased)
