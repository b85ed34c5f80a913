"""Append-only, hash-chained, Ed25519-signed audit log in the warehouse, anchored by a witness.

Each entry stores the SHA-256 of the previous entry, its own SHA-256 over a canonical JSON
encoding, and a signature of that hash. An entry is written with `append_in`, inside the
transaction of the change it records, so a change never commits without its entry.

The chain alone cannot show a wipe, a rollback to an older state, or a chain re-signed with a
new key. So after each commit the head (seq and hash) is also signed into a witness outside the
warehouse: an append-only JSON-lines file with a monotonic counter and the public key's
fingerprint, copied into the published layer for auditors. Verification fails when the log
ends before the last witnessed head, when the log or its table is gone while the witness has
heads, when a witnessed entry changed, or when the signing key is not the witnessed one.
"""

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS = "0" * 64
FIELDS = ("seq", "recorded_at", "actor", "action", "inputs", "figures", "prev_hash")
DDL = """
create schema if not exists audit;
create table if not exists audit.log (
    seq bigint primary key,
    recorded_at varchar not null,
    actor varchar not null,
    action varchar not null,
    inputs varchar not null,
    figures varchar not null,
    prev_hash varchar not null,
    entry_hash varchar not null,
    signature varchar not null
);
"""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    recorded_at: str
    actor: str
    action: str
    inputs: str  # canonical JSON
    figures: str  # canonical JSON
    prev_hash: str
    entry_hash: str
    signature: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int
    first_bad_seq: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.reason is None


def canonical(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: fields[k] for k in FIELDS}).encode()).hexdigest()


def file_fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def append_in(
    con: duckdb.DuckDBPyConnection,
    key: Ed25519PrivateKey,
    actor: str,
    action: str,
    inputs: dict[str, Any],
    figures: dict[str, Any],
    now: datetime | None = None,
) -> AuditEntry:
    """Append one signed entry inside the caller's open transaction (it commits or rolls back
    with the change it records). Witness the head once the caller has committed."""
    con.execute(DDL)
    last = con.execute("select seq, entry_hash from audit.log order by seq desc limit 1").fetchone()
    fields = {
        "seq": (last[0] + 1) if last else 1,
        "recorded_at": (now or datetime.now(UTC)).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "inputs": canonical(inputs),
        "figures": canonical(figures),
        "prev_hash": last[1] if last else GENESIS,
    }
    return _insert(con, key, fields)


def _insert(con: duckdb.DuckDBPyConnection, key: Ed25519PrivateKey, fields: dict[str, Any]) -> AuditEntry:
    digest, signature = seal(key, fields)
    entry = AuditEntry(**fields, entry_hash=digest, signature=signature)
    con.execute(
        "insert into audit.log values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [getattr(entry, f) for f in AuditEntry.__slots__],
    )
    return entry


def append(
    con: duckdb.DuckDBPyConnection,
    key: Ed25519PrivateKey,
    witness_file: Path,
    actor: str,
    action: str,
    inputs: dict[str, Any],
    figures: dict[str, Any],
    now: datetime | None = None,
) -> AuditEntry:
    """Append one signed entry in its own transaction, then witness the new head."""
    con.execute(DDL)
    con.execute("begin transaction")
    try:
        entry = append_in(con, key, actor, action, inputs, figures, now)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    witness(witness_file, key, entry.seq, entry.entry_hash, now)
    return entry


def seal(key: Ed25519PrivateKey, fields: dict[str, Any]) -> tuple[str, str]:
    """Hash and signature of an entry's fields (for writers that insert the row themselves)."""
    digest = entry_hash(fields)
    return digest, key.sign(digest.encode()).hex()


# --- the witness -------------------------------------------------------------------------

WITNESS_FIELDS = ("counter", "seq", "entry_hash", "key_fingerprint", "signed_at")


def key_fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key: names the signing key without revealing anything secret."""
    return hashlib.sha256(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).hexdigest()


def _witness_message(line: dict[str, Any]) -> bytes:
    return ("weir-audit-witness:" + canonical({k: line[k] for k in WITNESS_FIELDS})).encode()


def read_witness(path: Path) -> list[dict[str, Any]]:
    """The witnessed heads, oldest first (empty when there is no witness file)."""
    if not path.exists():
        return []
    heads = []
    for line in path.read_text().splitlines():
        try:
            head = json.loads(line)
        except json.JSONDecodeError:
            head = None
        heads.append(head if isinstance(head, dict) else {"unreadable": line})
    return heads


def witness(
    path: Path, key: Ed25519PrivateKey, seq: int, digest: str, now: datetime | None = None
) -> dict[str, Any] | None:
    """Append a signed head to the witness file (0600); nothing when the witness already holds
    this head or a newer one (another process got there first).

    Call it only after the entry committed: a witnessed head the log never got would read as a
    rollback."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # read the last counter and append as one step
        lines = read_witness(path)
        last = lines[-1] if lines else {}
        if isinstance(last.get("seq"), int) and last["seq"] >= seq:
            return None
        line = {
            "counter": last.get("counter", 0) + 1 if lines else 1,
            "seq": seq,
            "entry_hash": digest,
            "key_fingerprint": key_fingerprint(key.public_key()),
            "signed_at": (now or datetime.now(UTC)).isoformat(timespec="microseconds"),
        }
        line["signature"] = key.sign(_witness_message(line)).hex()
        handle.write(canonical(line) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return line


def copy_witness(witness_file: Path, target: Path) -> Path | None:
    """Copy the witness to `target` (the published layer), atomically; None without a witness.

    Heads hold hashes and signatures only, nothing personal: readers outside Weir may keep it,
    and a local witness later cut short no longer matches their copy."""
    if not witness_file.exists():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.write_bytes(witness_file.read_bytes())
    tmp.chmod(0o444)
    tmp.replace(target)
    return target


def check_copy(heads: list[dict[str, Any]], copy: list[dict[str, Any]], where: Path) -> str | None:
    """Why the local witness is not a continuation of a copy kept elsewhere, or None."""
    if len(copy) > len(heads):
        return (
            f"the witness has {len(heads)} heads but its copy {where} has {len(copy)} "
            "(witness cut short, with the log rolled back to match)"
        )
    for number, (mine, theirs) in enumerate(zip(heads, copy, strict=False), start=1):
        if mine != theirs:
            return f"witness line {number} differs from its copy {where} (witness rewritten)"
    return None


def witness_head(con: duckdb.DuckDBPyConnection, key: Ed25519PrivateKey, path: Path) -> dict[str, Any] | None:
    """Witness the log's committed head (after a writer that used `append_in` committed)."""
    if "log" not in _audit_tables(con):
        return None
    last = con.execute("select seq, entry_hash from audit.log order by seq desc limit 1").fetchone()
    return witness(path, key, last[0], last[1]) if last else None


def _audit_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("select table_name from information_schema.tables where table_schema = 'audit'").fetchall()
    return {r[0] for r in rows}


def has_entries(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the log holds any entry (read-only: creates nothing)."""
    return "log" in _audit_tables(con) and con.execute("select count(*) from audit.log").fetchone()[0] > 0


def read_entries(con: duckdb.DuckDBPyConnection) -> list[AuditEntry] | None:
    """Every entry in order; None when the table does not exist (read-only: creates nothing)."""
    if "log" not in _audit_tables(con):
        return None
    rows = con.execute(f"select {', '.join(AuditEntry.__slots__)} from audit.log order by seq").fetchall()
    return [AuditEntry(*row) for row in rows]


def _check_entry(entry: AuditEntry, position: int, prev: str, public: Ed25519PublicKey) -> str | None:
    """Why this entry breaks the chain, or None when it holds."""
    if entry.seq != position:
        return f"sequence number {entry.seq} where {position} was expected (entry deleted or inserted)"
    if entry.prev_hash != prev:
        return "previous-hash link broken (entries deleted, inserted or reordered)"
    if entry_hash({f: getattr(entry, f) for f in FIELDS}) != entry.entry_hash:
        return "content does not match its hash (entry edited)"
    try:
        public.verify(bytes.fromhex(entry.signature), entry.entry_hash.encode())
    except (InvalidSignature, ValueError):
        return "signature invalid (entry forged or re-hashed without the signing key)"
    return None


def verify(
    entries: list[AuditEntry] | None, public: Ed25519PublicKey, witness_file: Path, copies: tuple[Path, ...] = ()
) -> VerifyReport:
    """Check sequence, links, hashes, signatures, then the log against its witness and the
    witness against its `copies`; report the first break. `entries` is None when the audit
    table does not exist."""
    log = entries or []
    prev = GENESIS
    for position, entry in enumerate(log, start=1):
        reason = _check_entry(entry, position, prev, public)
        if reason:
            return VerifyReport(len(log), entry.seq, reason)
        prev = entry.entry_hash
    heads = read_witness(witness_file)
    reason = _check_witness(heads, public, witness_file)
    for copy in copies if reason is None else ():
        reason = reason or check_copy(heads, read_witness(copy), copy)
    if reason is None and heads:
        reason = _check_against_witness(entries, heads)
    elif reason is None and log:
        reason = f"witness file {witness_file} is missing but the log has {len(log)} entries (witness deleted)"
    if reason is not None:
        return VerifyReport(len(log), _first_bad(log, heads), reason)
    return VerifyReport(len(log), None, None)


def _first_bad(log: list[AuditEntry], heads: list[dict[str, Any]]) -> int | None:
    """The lowest witnessed seq that the log no longer holds as witnessed."""
    by_seq = {e.seq: e.entry_hash for e in log}
    missing = [h["seq"] for h in heads if isinstance(h.get("seq"), int) and by_seq.get(h["seq"]) != h.get("entry_hash")]
    return min(missing) if missing else None


def _check_witness(heads: list[dict[str, Any]], public: Ed25519PublicKey, path: Path) -> str | None:
    """Why the witness itself cannot be trusted, or None."""
    expected = key_fingerprint(public)
    for number, head in enumerate(heads, start=1):
        if not set(WITNESS_FIELDS) | {"signature"} <= set(head):
            return f"witness line {number} of {path} is incomplete (witness edited)"
        if head["key_fingerprint"] != expected:
            return (
                f"the signing key (fingerprint {expected[:16]}…) is not the witnessed key "
                f"(fingerprint {head['key_fingerprint'][:16]}… at witness line {number}): the log was re-signed "
                "with another key, or the key was replaced; restore the original signing key"
            )
        try:
            public.verify(bytes.fromhex(head["signature"]), _witness_message(head))
        except (InvalidSignature, ValueError, TypeError):
            return f"witness line {number} of {path} has an invalid signature (witness edited)"
        if head["counter"] != number:
            return f"witness line {number} of {path} has counter {head['counter']} (witness lines removed or reordered)"
        if number > 1 and head["seq"] < heads[number - 2]["seq"]:
            return f"witness line {number} of {path} names an older head than line {number - 1} (witness edited)"
    return None


def _check_against_witness(entries: list[AuditEntry] | None, heads: list[dict[str, Any]]) -> str | None:
    """Why the log is not a continuation of every witnessed head, or None."""
    last = heads[-1]
    seen = f"the witness recorded entry {last['seq']} at {last['signed_at']}"
    if entries is None:
        return f"the audit.log table is missing but {seen} (log dropped)"
    if not entries:
        return f"the audit log is empty but {seen} (log wiped)"
    if entries[-1].seq < last["seq"]:
        return (
            f"log ends at entry {entries[-1].seq} but {seen} "
            "(rolled back to an older state, or entries deleted from the end)"
        )
    by_seq = {e.seq: e.entry_hash for e in entries}
    for head in heads:
        if by_seq.get(head["seq"]) != head["entry_hash"]:
            return f"entry {head['seq']} is not the one witnessed at {head['signed_at']} (log rewritten)"
    return None
