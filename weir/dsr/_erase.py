"""Erasure, one system at a time: each function deletes the user from one place and returns
figures for its step (counts, never values). Every function is idempotent: run twice, the
second run finds nothing and says so, which is what makes a crashed erasure resumable.

Order matters: the suppression list goes first (a re-ingest racing the erasure cannot bring
the user back), the vault goes last (its decrypted contact values are what the quarantine and
the file scan look for, and a resumed run still needs them).
"""

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
from cryptography.exceptions import InvalidTag

from privacy import _vault
from privacy._keyring import SecretKey, publish_salt
from privacy._pseudonymise import token
from weir import row_tokens
from weir.config import DataDir
from weir.dsr import _scan
from weir.dsr._store import subject_hash
from weir.publish import published_dir, update_published
from weir.sql import ident

DERIVED = ("staging", "intermediate", "marts", "snapshots", "test_failures")
# Handled by their own step, or never erased: the audit log is the evidence of the erasure
# (it never holds a token), dsr.* is the request record itself.
OWN_STEP = ("raw", "consent", "vault", "audit", "dsr", *DERIVED)
# Under the data dir but not scanned as files: landing batches are write-once evidence (the
# suppression list keeps their rows out, landing retention deletes them); keys hold no user
# data; DuckDB files are erased and checked through SQL.
NOT_FILES = ("landing", "keys")
DUCKDB_SUFFIXES = (".duckdb", ".duckdb.wal")
# Quarantined raw text is split into candidate identifiers this way to attribute it.
CANDIDATE = re.compile(r"[A-Za-z0-9_.@+\-]{3,64}")
VAULT_FIELDS = ("phone", "email")
DP_NOTE = (
    "DP releases already published are not retracted: their guarantee bounds what any one user's "
    "data changes in them; later releases are computed without this user."
)


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing one user needs: the warehouse connection, keys, and the user's values."""

    con: duckdb.DuckDBPyConnection
    data_dir: DataDir
    hmac_key: SecretKey
    master: SecretKey
    request_id: str
    user_token: str

    def raw_values(self) -> list[str]:
        """The user's contact values from the vault (empty once it is shredded)."""
        values = []
        for field in VAULT_FIELDS:
            try:
                values.append(_vault.read(self.con, self.master, self.user_token, field))
            except _vault.VaultError:
                continue
        return values


def suppress(e: Erasure) -> dict:
    e.con.execute(
        "insert or ignore into dsr.suppressed values (?, ?, ?, now())",
        [subject_hash(e.user_token), e.hmac_key.version, e.request_id],
    )
    return {"key_version": e.hmac_key.version}


def _erase_schemas(e: Erasure, schemas: tuple[str, ...] | None, skip: tuple[str, ...] = ()) -> dict:
    database = e.con.execute("select current_database()").fetchone()[0]
    figures = {}
    for table in _scan.base_tables(e.con, database, schemas):
        if table.split(".")[0] in skip or table == "ingest.quarantine":
            continue
        deleted, blanked = _scan.erase_in(e.con, database, table, e.user_token)
        if deleted or blanked:
            figures[table] = {"deleted": deleted, "blanked": blanked}
    return {"tables": figures}


def raw(e: Erasure) -> dict:
    return _erase_schemas(e, ("raw",))


def derived(e: Erasure) -> dict:
    """Intermediate and mart tables, incremental ones included: targeted deletes, no rebuild."""
    return {**_erase_schemas(e, DERIVED), "dp_releases": DP_NOTE}


def other(e: Erasure) -> dict:
    """Every other schema (ops, quality findings, ingest, main): anything that kept a token."""
    return _erase_schemas(e, None, skip=OWN_STEP)


def consent(e: Erasure) -> dict:
    """Delete the user's consent history; the proof of erasure is this request's record."""
    if "ledger" not in {t.split(".")[1] for t in _scan.base_tables(e.con, _db(e), ("consent",))}:
        return {"events_deleted": 0}
    deleted = e.con.execute("delete from consent.ledger where user_token = ?", [e.user_token]).fetchone()[0]
    return {"events_deleted": deleted}


def _db(e: Erasure) -> str:
    return e.con.execute("select current_database()").fetchone()[0]


def quarantine(e: Erasure) -> dict:
    """Delete the user's quarantined rows: parsed ones by token in their sanitised text;
    unparsable ones by decrypting them and testing each identifier-like part (its user token
    under the current key, or one of the user's contact values). Rows that do not decrypt
    cannot be attributed to anyone and are deleted too: no one can read them any more."""
    if "ingest.quarantine" not in _scan.base_tables(e.con, _db(e), ("ingest",)):
        return {"parsed_deleted": 0, "unparsable_deleted": 0}
    parsed = e.con.execute(
        "delete from ingest.quarantine where contains(sanitised_text, ?)", [e.user_token]
    ).fetchone()[0]
    values = set(e.raw_values())
    doomed = []
    rows = e.con.execute(
        "select source, batch_id, file, line, encrypted_raw from ingest.quarantine where encrypted_raw is not null"
    ).fetchall()
    for source, batch, file, line, sealed in rows:  # unparsable rows only: a small set
        try:
            text = _vault._open(e.master.material, sealed, f"quarantine|{source}|{file}|{line}".encode()).decode(
                errors="replace"
            )
        except InvalidTag:
            doomed.append((source, batch, file, line))
            continue
        parts = set(CANDIDATE.findall(text))
        if parts & values or any(token(e.hmac_key, "user", p) == e.user_token for p in parts):
            doomed.append((source, batch, file, line))
    for key in doomed:
        e.con.execute("delete from ingest.quarantine where source = ? and batch_id = ? and file = ? and line = ?", key)
    return {"parsed_deleted": parsed, "unparsable_deleted": len(doomed)}


def vault(e: Erasure) -> dict:
    """Crypto-shred: delete the user's data key (backups of the vault become unreadable too)
    and the ciphertexts keyed by their token."""
    shredded = _vault.shred(e.con, e.user_token)
    contacts = e.con.execute("delete from vault.contacts where user_token = ?", [e.user_token]).fetchone()[0]
    return {"key_shredded": shredded, "contacts_deleted": contacts}


def published(e: Erasure) -> dict:
    """Delete the user from a new published version, swap it in, and remove every older one."""
    root = published_dir(e.data_dir)
    if not (root / "current").is_symlink():
        return {"tables": {}, "versions_removed": 0}
    changed: dict[str, dict] = {}

    def write(con: duckdb.DuckDBPyConnection) -> list[str]:
        for table in _scan.base_tables(con, "pub"):
            deleted, blanked = _scan.erase_in(con, "pub", table, e.user_token)
            if deleted or blanked:
                changed[table] = {"deleted": deleted, "blanked": blanked}
        # rows published with row-bound pseudonyms hold no token to match: recompute them
        for table, users in row_tokens.erase(con, "pub", publish_salt(e.data_dir.keys), [e.user_token]).items():
            deleted, blanked = users[e.user_token]
            changed[table] = {"deleted": deleted, "blanked": blanked}
        if "main.published_marts" in _scan.base_tables(con, "pub"):
            for table in changed:
                name = table.split(".")[1]
                con.execute(
                    f"update pub.main.published_marts set row_count = (select count(*) from pub.main.{ident(name)}) "
                    "where mart = ?",
                    [name],
                )
        return [t.split(".")[1] for t in changed]

    update_published(e.con, e.data_dir, write)
    current = (root / "current").resolve().name
    compact_attached(e.con, root / "versions" / current / "published.duckdb")
    removed = 0
    for folder in (root / "versions").iterdir():  # older versions still hold the user
        if folder.name != current:
            shutil.rmtree(folder)
            removed += 1
    return {"tables": changed, "versions_removed": removed}


def compact_attached(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Rewrite a DuckDB file that `con` does not have open: deleted rows stay in a DuckDB file's
    blocks until they are reused, so an erased token would still be in its bytes."""
    fresh = path.with_name(f".{path.name}.compact")
    fresh.unlink(missing_ok=True)
    con.execute("attach ? as dsr_compact_src (read_only)", [str(path)])
    con.execute("attach ? as dsr_compact_new", [str(fresh)])
    try:
        con.execute("copy from database dsr_compact_src to dsr_compact_new")
    finally:
        con.execute("detach dsr_compact_src")
        con.execute("detach dsr_compact_new")
    fresh.chmod(path.stat().st_mode & 0o777)
    os.replace(fresh, path)  # readers holding the old file keep their snapshot


def compact_warehouse(path: Path) -> tuple[int, int]:
    """Rewrite the warehouse file (closed by the caller) without the blocks of deleted rows;
    returns (bytes before, bytes after). Tables, views and constraints are copied whole."""
    fresh = path.with_name(f".{path.name}.compact")
    fresh.unlink(missing_ok=True)
    before = path.stat().st_size
    with duckdb.connect(str(path)) as con:
        con.execute("checkpoint")
        name = con.execute("select current_database()").fetchone()[0]
        con.execute("attach ? as dsr_compact_new", [str(fresh)])
        con.execute(f"copy from database {ident(name)} to dsr_compact_new")
        con.execute("detach dsr_compact_new")
    fresh.chmod(0o600)
    os.replace(fresh, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)  # checkpointed above: nothing pending
    return before, path.stat().st_size


def files(e: Erasure) -> dict:
    """Delete every file under the data dir that holds the token or a contact value of the
    user (dbt artefacts, GX validation results and Data Docs pages, earlier access packages,
    logs); the next dbt run or docs build writes them again without the user."""
    needles = [n.encode() for n in (e.user_token, *e.raw_values())]
    removed = []
    for path in _walk(e.data_dir.root):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if any(n in data for n in needles):
            path.unlink()
            removed.append(str(path.relative_to(e.data_dir.root)))
    return {"files_deleted": sorted(removed)}


def _walk(root: Path) -> list[Path]:
    found = []
    for folder, dirs, names in os.walk(root):
        if Path(folder) == root:
            dirs[:] = [d for d in dirs if d not in NOT_FILES]
        found += [Path(folder) / n for n in names if not n.endswith(DUCKDB_SUFFIXES)]
    return [p for p in found if p.is_file() and not p.is_symlink()]


def residue(e: Erasure) -> dict[str, int]:
    """Where the user can still be found: table -> rows, file -> 1 (empty means verified)."""
    needles = [e.user_token, *e.raw_values()]
    found = _scan.traces(e.con, _db(e), needles, skip=("audit.log", "dsr.requests", "dsr.steps", "dsr.suppressed"))
    pub = published_dir(e.data_dir) / "published.duckdb"
    if pub.exists():
        e.con.execute("attach ? as pub_check (read_only)", [str(pub)])
        try:
            found |= {f"published:{t}": n for t, n in _scan.traces(e.con, "pub_check", needles).items()}
            bound = row_tokens.traces(e.con, "pub_check", publish_salt(e.data_dir.keys), [e.user_token])
            found |= {f"published:{t}": n for t, n in bound.items()}
        finally:
            e.con.execute("detach pub_check")
    encoded = [n.encode() for n in needles]
    for path in _walk(e.data_dir.root):
        if any(n in path.read_bytes() for n in encoded):
            found[str(path.relative_to(e.data_dir.root))] = 1
    return found


SYSTEMS = (
    ("suppress", suppress),
    ("quarantine", quarantine),
    ("raw", raw),
    ("consent", consent),
    ("derived", derived),
    ("other", other),
    ("published", published),
    ("files", files),
    ("vault", vault),
)
