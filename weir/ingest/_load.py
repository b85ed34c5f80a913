"""Load one landing batch: contract checks, privacy treatments, quarantine, ledger.

Everything the batch writes (raw rows, quarantine rows, vault entries, consent ledger rows,
the ledger line) commits in one transaction, so a crash leaves nothing visible and the next
run loads the batch whole. A batch already in the ledger is not loaded again.
"""

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from expectations import GateResult
from privacy import _names, _scrub, _vault
from privacy._consent import ensure_ledger
from privacy._keyring import SecretKey
from weir.contract import NAME_CATEGORY, Contract
from weir.errors import LandingError
from weir.ingest import _checks, _gate, _read, _transform
from weir.mapping import MAPPING_FILE, LawfulBasis, load_mapping
from weir.sql import ident as _q
from weir.warehouse import tables

# The checked batch lives in an in-memory database attached to the load's connection (not a
# temp table): the quality gate's Great Expectations run reads it in place through a cursor.
SCRATCH = "weir_scratch"
CHECKED = f"{SCRATCH}._checked"
GENERATOR = "generator"  # the lineage of batches `weir generate` lands (no mapping)
PAUSE_ENV = "WEIR_INGEST_PAUSE_BEFORE_COMMIT_S"  # fault injection for the crash test only
DDL = """
create schema if not exists raw;
create schema if not exists ingest;
create table if not exists ingest.load_ledger (
    source varchar not null, batch_id varchar not null, fingerprint varchar not null,
    status varchar not null, rows_in bigint not null, rows_loaded bigint not null,
    rows_quarantined bigint not null, reasons json not null, key_version integer not null,
    loaded_at timestamptz not null, primary key (source, batch_id),
    check (rows_in = rows_loaded + rows_quarantined));
alter table ingest.load_ledger add column if not exists error varchar;  -- why a `failed` batch failed
-- The dataset a batch belongs to (weir.mapping lineage, or `generator`): volume compares within it.
alter table ingest.load_ledger add column if not exists lineage varchar;
create table if not exists ingest.quarantine (
    source varchar not null, batch_id varchar not null, file varchar not null, line bigint not null,
    reason varchar not null, message varchar not null,
    sanitised_text varchar,   -- parsed rows, after tokenising/generalising/scrubbing
    encrypted_raw blob,       -- unparsable rows: AES-GCM under the vault master key
    primary key (source, batch_id, file, line));
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    source: str
    batch_id: str
    status: str  # loaded | already_loaded | rejected (quality gate) | failed | skipped_failed | skipped_unknown
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # failed / skipped: what went wrong and the fix
    bases: dict[str, str] = field(default_factory=dict)  # purpose -> lawful basis its mapping declares


# Writes the batch's audit entry on the load's connection, inside its transaction (weir.audit).
Evidence = Callable[[duckdb.DuckDBPyConnection, LoadResult], None]


def fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for part in sorted(folder.glob("part-*")):
        digest.update(part.name.encode())
        with part.open("rb") as handle:  # streamed: no second copy of a large file in memory
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def _check(con: duckdb.DuckDBPyConnection, contract: Contract, hmac_key: SecretKey) -> None:
    """Create the CHECKED table: staged rows with treated values, reason and message."""
    staged = {r[0] for r in con.execute("describe _stage").fetchall()}
    rule, codes, messages = _checks.reason_sql(contract, filtered="_keep" in staged)
    # Carry only what later steps read: position, the text of bad lines, and vault inputs.
    vaulted = [_q(c.name) for c in contract.columns if c.treatment == "vault" or c.category == NAME_CATEGORY]
    vaulted += ["_names"] if "_names" in staged else []  # a mapping's name columns (privacy/_names.py)
    carried = ", ".join(["s._file", "s._line", "s._text", "s._raw", "s._parse_ok", *(f"s.{v}" for v in vaulted)])
    if "_attributes" in staged:  # kept export columns, scrubbed like free text
        _scrub.register_sql(con)
        carried += f", {_transform.scrubbed_attributes_sql('s._attributes')} as o_attributes"
    # Reason and message are set in the same pass (an added column and an update cost a
    # rewrite of both columns per batch); the lists are indexed for broken rows only.
    reason, message = (f"case when _rule is not null then {names}[_rule] end" for names in (codes, messages))
    con.execute(
        f"create or replace table {CHECKED} as select *, {reason} as reason, {message} as message "
        f"from (select {carried}, {_transform.output_columns(contract)}, {rule} as _rule "
        f"from _stage s {_transform.joins_sql(contract)})",
        _transform.output_params(contract, hmac_key),  # a primary key's token is computed in the row
    )
    _mark_duplicates(con, contract)
    if contract.known_user:
        token = _q("o_" + contract.column(contract.known_user).out_name)
        con.execute(f"""update {CHECKED} set reason = 'unknown_user',
            message = 'column {contract.known_user} names a user that is not in the users source'
            where reason is null and {token} not in (select user_token from raw.users)""")
    _suppress_erased(con, contract)


def _mark_duplicates(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Quarantine as `duplicate_id` every good row whose primary key an earlier row of the batch
    (file and line order) or raw already holds. The in-batch ranking runs only when a count of
    distinct keys finds a repeat: a hash count, where ranking every row is a sort."""
    keys = ", ".join(_q("o_" + contract.column(k).out_name) for k in contract.key_columns)
    message = f"primary key ({', '.join(contract.key_columns)}) already seen in this or an earlier batch"
    distinct, good = con.execute(
        f"select count(distinct ({keys})), count(*) from {CHECKED} where reason is null"
    ).fetchone()
    if distinct != good:
        con.execute(
            f"""update {CHECKED} set reason = 'duplicate_id', message = ?
            where reason is null and (_file, _line) in (
                select (_file, _line) from (select _file, _line, row_number() over (
                    partition by {keys} order by _file, _line) as n from {CHECKED} where reason is null)
                where n > 1)""",
            [message],
        )
    if contract.source in tables(con, "raw"):
        raw_keys = ", ".join(_q(contract.column(k).out_name) for k in contract.key_columns)
        con.execute(
            f"update {CHECKED} set reason = 'duplicate_id', message = ? "
            f"where reason is null and ({keys}) in (select ({raw_keys}) from raw.{contract.source})",
            [message],
        )


def _suppress_erased(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """A row naming a user erased by a data-subject request (weir.dsr's suppression list holds
    the SHA-256 of their token under every key version) is quarantined as `erased_user`,
    whatever else is wrong with it, and keeps no text: a replayed batch never brings them back."""
    users = [_q("o_" + c.out_name) for c in contract.kept if c.treatment == "token" and c.kind == "user"]
    if not users or "suppressed" not in tables(con, "dsr"):
        return
    hit = " or ".join(f"sha256({u}) in (select token_hash from dsr.suppressed)" for u in users)
    con.execute(f"""update {CHECKED} set reason = 'erased_user',
        message = 'the row names a user erased by a data-subject request' where {hit}""")


def _encrypt_unparsable(con: duckdb.DuckDBPyConnection, master: SecretKey, source: str) -> None:
    """Encrypt the raw bytes of rows that could not be parsed (their text may hold PII)."""
    rows = con.execute(
        f"select _file, _line, coalesce(_raw, encode(_text)) from {CHECKED} "
        "where reason in ('invalid_encoding', 'malformed_line')"
    ).fetchall()
    sealed = [
        _vault._seal(master.material, bytes(raw), f"quarantine|{source}|{f}|{n}".encode()) for f, n, raw in rows
    ]  # bad rows only: a small set
    con.register(
        "_sealed",
        pa.table({"file": [r[0] for r in rows], "line": [r[1] for r in rows], "sealed": pa.array(sealed, pa.binary())}),
    )


def _store_vault(con: duckdb.DuckDBPyConnection, contract: Contract, master: SecretKey) -> None:
    """Contact fields, and the names the loaded rows give their users (privacy/_names.py: kept
    so that later batches' free text has them redacted too), in one vault write: one key
    unwrap per user for all of them."""
    entries = []
    user = _q("o_" + contract.column(contract.key_columns[0]).out_name)
    for column in (c for c in contract.kept if c.treatment == "vault"):  # a couple of contact fields
        rows = con.execute(
            f"select {user}, {_q(column.name)} from {CHECKED} where reason is null and {_q(column.name)} is not null"
        ).fetchall()
        entries += [(token, column.name, value) for token, value in rows]
    names = _name_pairs(con, contract)
    if names is not None:
        entries += _names.name_entries(con, master, names)
    if entries:
        _vault.store(con, master, entries)


def _name_pairs(con: duckdb.DuckDBPyConnection, contract: Contract) -> pl.DataFrame | None:
    """(user_token, name) for every name the loaded rows give the user they are about."""
    person = contract.person
    carried = {r[0] for r in con.execute(f"describe {CHECKED}").fetchall()}
    named = [_q(c.name) for c in contract.columns if c.category == NAME_CATEGORY]
    named += ["unnest(_names)"] if "_names" in carried else []
    if person is None or not named:
        return None
    token = _q("o_" + person.out_name)
    union = " union all ".join(
        f"select {token} as user_token, {n} as name from {CHECKED} where reason is null" for n in named
    )
    return pl.from_arrow(con.sql(union).to_arrow_table())


def _previous_load(
    con: duckdb.DuckDBPyConnection, source: str, batch_id: str, digest: Callable[[], str]
) -> LoadResult | None:
    """The ledger's result for this batch, if it was loaded; refuses a batch that changed."""
    done = con.execute(
        "select fingerprint, rows_in, rows_loaded, rows_quarantined, reasons, status "
        "from ingest.load_ledger where source = ? and batch_id = ?",
        [source, batch_id],
    ).fetchone()
    if done is None:
        return None
    if done[0] != digest():
        raise LandingError(
            f"Batch {source}/{batch_id} changed since it was loaded; land changed data under a new batch id."
        )
    # A rejected batch stays rejected, a held one held (until `weir ingest --release`).
    status = done[5] if done[5] in ("rejected", "held") else "already_loaded"
    return LoadResult(source, batch_id, status, done[1], done[2], done[3], json.loads(done[4]))


def _write_all(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    result: LoadResult,
    digest: str,
    hmac_key: SecretKey,
    master: SecretKey,
    bases: dict[str, LawfulBasis],
    lineage_of: str = GENERATOR,
) -> None:
    """Every write of the batch; the caller wraps this in one transaction."""
    columns = ", ".join(_q(c.out_name) for c in contract.kept)
    values = ", ".join(_q("o_" + c.out_name) for c in contract.kept)
    con.execute(_transform.raw_ddl(contract))
    if "o_attributes" in {r[0] for r in con.execute(f"describe {CHECKED}").fetchall()}:
        columns, values = f"{columns}, {_transform.ATTRIBUTES}", f"{values}, o_attributes"
        con.execute(_transform.ATTRIBUTES_DDL.format(source=contract.source))
    con.execute(
        f"insert into raw.{contract.source} ({columns}, _batch_id, _file, _line, _loaded_at) "
        f"select {values}, ?, _file, _line, now() from {CHECKED} where reason is null",
        [result.batch_id],
    )
    con.execute(
        f"""insert into ingest.quarantine select ?, ?, c._file, c._line, c.reason, c.message,
        case when c._parse_ok and c.reason <> 'erased_user' then {_transform.sanitised_json_sql(contract)} end,
        q.sealed from {CHECKED} c left join _sealed q on q.file = c._file and q.line = c._line
        where c.reason is not null""",
        [contract.source, result.batch_id],
    )
    _store_vault(con, contract, master)
    _declare_bases(con, contract, result, bases)
    if contract.source == "consent":
        ensure_ledger(con)
        con.execute(
            "insert into consent.ledger select o_consent_id, o_user_token, o_purpose, o_status, "
            f"o_ts, o_policy_version, o_source, ? from {CHECKED} where reason is null",
            [result.batch_id],
        )
    con.execute(
        "insert into ingest.load_ledger (source, batch_id, fingerprint, status, rows_in, rows_loaded, "
        "rows_quarantined, reasons, key_version, loaded_at, lineage) values (?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
        [
            contract.source,
            result.batch_id,
            digest,
            result.status,
            result.rows_in,
            result.rows_loaded,
            result.rows_quarantined,
            json.dumps(result.reasons),
            hmac_key.version,
            lineage_of,
        ],
    )


def _declare_bases(
    con: duckdb.DuckDBPyConnection, contract: Contract, result: LoadResult, bases: dict[str, LawfulBasis]
) -> None:
    """Record the lawful basis the batch's mapping declares per purpose for every user the
    loaded rows name (consent.bases): the consent gates read it as a grant (privacy/_consent.py)."""
    users = [c.out_name for c in contract.kept if c.kind == "user"]
    if not bases or not users:
        return
    ensure_ledger(con)
    named = " union ".join(f"select {_q('o_' + u)} as user_token from {CHECKED} where reason is null" for u in users)
    for purpose, declared in sorted(bases.items()):
        con.execute(
            "insert or ignore into consent.bases select user_token, ?, ?, ?, ?, ?, now() "
            f"from ({named}) where user_token is not null",
            [purpose, declared.basis, declared.justification, contract.source, result.batch_id],
        )


def _pause_for_crash_test(label: str) -> None:
    pause = float(os.environ.get(PAUSE_ENV, "0"))
    if pause:
        print(f"pausing {pause:g}s before commit of {label}", file=sys.stderr, flush=True)
        time.sleep(pause)


def _stage_and_check(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    folder: Path,
    landing: Path,
    hmac_key: SecretKey,
    master: SecretKey,
    waive: bool = False,
) -> tuple[LoadResult, GateResult | None]:
    """Stage the batch, apply the contract and the treatments, run the quality gate (whose
    findings are kept but block nothing when `waive`: a reviewed release)."""
    rows_in = _read.stage_batch(con, contract, folder, landing)
    _transform.prepare_maps(con, contract, hmac_key, master)
    _check(con, contract, hmac_key)
    _encrypt_unparsable(con, master, contract.source)
    gate = _gate.gate_staged(con, contract, CHECKED, docs=landing.parent / "quality", lineage=lineage(folder))
    blocked = gate is not None and gate.blocked and not waive
    if blocked:
        _gate.reject(con, CHECKED, gate)
    reasons = dict(
        con.execute(
            f"select reason, count(*) from {CHECKED} where reason is not null group by reason order by reason"
        ).fetchall()
    )
    rows_loaded = con.execute(f"select count(*) from {CHECKED} where reason is null").fetchall()[0][0]
    status = "rejected" if blocked else "loaded"
    result = LoadResult(contract.source, folder.name, status, rows_in, rows_loaded, sum(reasons.values()), reasons)
    return result, gate


def lineage(folder: Path) -> tuple[str, bool]:
    """(the batch's dataset lineage, whether its volume is compared batch over batch)."""
    path = folder / MAPPING_FILE
    if not path.exists():
        return GENERATOR, True
    mapping = load_mapping(path)
    return mapping.lineage(), mapping.cadence != "irregular"


def _declared_bases(folder: Path) -> dict[str, LawfulBasis]:
    mapping = folder / MAPPING_FILE
    return load_mapping(mapping).declared_bases() if mapping.exists() else {}


def load_batch(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    folder: Path,
    landing: Path,
    hmac_key: SecretKey,
    master: SecretKey,
    evidence: Evidence | None = None,
    release: bool = False,
) -> LoadResult:
    """Load one batch folder of one source; see the module docstring for the guarantees.

    With `release`, a batch the gate rejected is loaded anyway (its findings waived after review):
    its quarantine rows and ledger line are replaced in the load's transaction."""
    con.execute(DDL)
    con.execute(f"attach if not exists ':memory:' as {SCRATCH}")
    batch_id = folder.name
    with ThreadPoolExecutor(max_workers=1) as hasher:  # hashing releases the GIL: it overlaps staging
        digest = hasher.submit(fingerprint, folder)
        previous = _previous_load(con, contract.source, batch_id, digest.result)
        if previous is not None and not (release and previous.status == "rejected"):
            return previous
        result, gate = _stage_and_check(con, contract, folder, landing, hmac_key, master, waive=release)
        digest_value = digest.result()
    _scrub.register_sql(con)  # the scrubber for quarantine text
    con.execute("begin transaction")
    try:
        if release:  # the rejected load's rows and line give way to this one
            where = "where source = ? and batch_id = ?"
            con.execute(f"delete from ingest.quarantine {where}", [contract.source, batch_id])
            con.execute(f"delete from ingest.load_ledger {where}", [contract.source, batch_id])
        bases = _declared_bases(folder)
        result = replace(result, bases={p: b.basis for p, b in sorted(bases.items())})
        _write_all(con, contract, result, digest_value, hmac_key, master, bases, lineage(folder)[0])
        _gate.record(con, contract.source, batch_id, gate)
        if evidence is not None:
            evidence(con, result)
        _pause_for_crash_test(f"{contract.source}/{batch_id}")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        # The checked batch (bad lines' text included) is not kept in memory past its load.
        con.execute(f"drop table if exists {CHECKED}")
    return result
