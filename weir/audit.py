"""Append-only, hash-chained, Ed25519-signed audit log in the warehouse.

Each entry stores the SHA-256 of the previous entry, its own SHA-256 over a canonical JSON
encoding, and a signature of that hash. A signed head file outside the database records the
latest entry, so deleting entries from the end is detected too.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from cryptography.exceptions import InvalidSignature
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


def append(
    con: duckdb.DuckDBPyConnection,
    key: Ed25519PrivateKey,
    head_file: Path,
    actor: str,
    action: str,
    inputs: dict[str, Any],
    figures: dict[str, Any],
    now: datetime | None = None,
) -> AuditEntry:
    """Append one signed entry in a transaction and move the signed head."""
    con.execute(DDL)
    con.execute("begin transaction")
    try:
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
        digest = entry_hash(fields)
        entry = AuditEntry(**fields, entry_hash=digest, signature=key.sign(digest.encode()).hex())
        con.execute(
            "insert into audit.log values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [getattr(entry, f) for f in AuditEntry.__slots__],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    _write_head(head_file, key, entry)
    return entry


def _head_message(seq: int, digest: str) -> bytes:
    return f"weir-audit-head:{seq}:{digest}".encode()


def _write_head(path: Path, key: Ed25519PrivateKey, entry: AuditEntry) -> None:
    head = {
        "seq": entry.seq,
        "entry_hash": entry.entry_hash,
        "signature": key.sign(_head_message(entry.seq, entry.entry_hash)).hex(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(canonical(head))
    tmp.replace(path)


def read_entries(con: duckdb.DuckDBPyConnection) -> list[AuditEntry]:
    con.execute(DDL)
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


def verify(entries: list[AuditEntry], public: Ed25519PublicKey, head_file: Path) -> VerifyReport:
    """Check sequence, links, hashes, signatures and the signed head; report the first break."""
    prev = GENESIS
    for position, entry in enumerate(entries, start=1):
        reason = _check_entry(entry, position, prev, public)
        if reason:
            return VerifyReport(len(entries), entry.seq, reason)
        prev = entry.entry_hash
    if not head_file.exists():
        if entries:
            return VerifyReport(len(entries), None, f"signed head file {head_file} is missing")
        return VerifyReport(0, None, None)
    head = json.loads(head_file.read_text())
    try:
        public.verify(bytes.fromhex(head["signature"]), _head_message(head["seq"], head["entry_hash"]))
    except (InvalidSignature, ValueError, KeyError):
        return VerifyReport(len(entries), None, "signed head file has an invalid signature")
    last_seq = entries[-1].seq if entries else 0
    if head["seq"] != last_seq or head["entry_hash"] != prev:
        return VerifyReport(
            len(entries),
            min(head["seq"], last_seq + 1),
            f"log ends at entry {last_seq} but the signed head names entry {head['seq']} "
            "(entries deleted from the end)",
        )
    return VerifyReport(len(entries), None, None)
