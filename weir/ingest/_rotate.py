"""Key rotation: re-tokenise the whole warehouse under a new pseudonymisation key.

The warehouse holds no raw identifiers, so the old-token -> new-token map is rebuilt from
the landing batches recorded in the load ledger (the only place raw ids live): each raw
value is tokenised under the old and the new key, and every token column, the vault, the
consent ledger and the quarantine are rewritten in one transaction. Afterwards the old
key file is deleted: no old token is left for it to link.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from privacy import _vault
from privacy._keyring import SecretKey, hmac_keys, new_hmac_key, vault_master_key
from privacy._pseudonymise import TOKEN_HEX_CHARS, build_token_map
from weir.config import DataDir
from weir.contract import load_contract
from weir.dsr._rotation import retoken_requests
from weir.errors import WeirError
from weir.ingest import _read
from weir.retention import LANDING_DDL
from weir.sql import ident
from weir.warehouse import connect, drop_derived, tables

# Batches whose rows may be in the warehouse. A failed batch put nothing in raw; a batch removed by
# landing retention loaded only rows that expired from raw before it (weir.retention.landing_days).
ROTATED = "status <> 'failed' and (source, batch_id) not in (select source, batch_id from ingest.landing_removed)"
TOKEN_RE = re.compile(rf"tk\d+_[0-9a-f]{{{TOKEN_HEX_CHARS}}}")


@dataclass(frozen=True, slots=True)
class RotationResult:
    old_version: int
    new_version: int
    tokens_mapped: int
    columns_rewritten: int


def _token_columns(source: str) -> list[tuple[str, str, str]]:
    """(input column, raw-table column, kind) of every tokenised column of a source."""
    return [(c.name, c.out_name, c.kind) for c in load_contract(source).kept if c.treatment in ("token", "vault")]


def _build_mapping(con: duckdb.DuckDBPyConnection, data_dir: DataDir, old: SecretKey, new: SecretKey) -> None:
    """Temp table _rotation(old_token, new_token) over every raw value in the loaded batches."""
    con.execute("create or replace temp table _rotation (old_token varchar, new_token varchar)")
    # A failed batch put nothing in raw (and may not even stage): no tokens to rotate.
    batches = con.execute(f"select source, batch_id from ingest.load_ledger where {ROTATED}").fetchall()
    for source, batch_id in batches:  # batches, not rows
        columns = _token_columns(source)
        if not columns:
            continue
        if not (data_dir.landing / source / batch_id).is_dir():
            raise WeirError(
                f"Batch {source}/{batch_id} is loaded but no longer in {data_dir.landing}; "
                "rotation re-derives tokens from the landed files, so restore it first."
            )
        _read.stage_batch(con, load_contract(source), data_dir.landing / source / batch_id, data_dir.landing)
        for kind in sorted({k for _, _, k in columns}):
            values = " union all ".join(f"select {ident(name)} from _stage" for name, _, k in columns if k == kind)
            build_token_map(con, "_old", values, kind, old)
            build_token_map(con, "_new", values, kind, new)
            con.execute("insert into _rotation select o.token, n.token from _old o join _new n using (value)")
    con.execute("create or replace temp table _rotation as select distinct * from _rotation")


def _rewrite_quarantine(con: duckdb.DuckDBPyConnection, mapping: dict[str, str]) -> None:
    rows = con.execute(
        "select source, batch_id, file, line, sanitised_text from ingest.quarantine where sanitised_text like '%tk%'"
    ).fetchall()
    fixed = [
        (s, b, f, n, TOKEN_RE.sub(lambda m: mapping.get(m.group(0), m.group(0)), t)) for s, b, f, n, t in rows
    ]  # quarantined rows only: a small set
    con.register(
        "_fixed",
        pa.table({k: [r[i] for r in fixed] for i, k in enumerate(["source", "batch_id", "file", "line", "text"])}),
    )
    con.execute(
        "update ingest.quarantine q set sanitised_text = f.text from _fixed f where "
        "q.source = f.source and q.batch_id = f.batch_id and q.file = f.file and q.line = f.line"
    )


CONSENT_LEDGER_TOKENS = ["user_token", "consent_id"]  # consent ids are tokens too (their own kind)


def _token_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, list[str]]]:
    """(table, token columns) of raw, of the held batches (`ingest.held_*`, same columns as
    raw: a held batch released after the rotation must join the rest) and the consent ledgers."""
    found = [(f"raw.{ident(t)}", [c for _, c, _ in _token_columns(t)]) for t in sorted(tables(con, "raw"))]
    for table in sorted(t for t in tables(con, "ingest") if t.startswith("held_")):
        source = table.removeprefix("held_")
        columns = CONSENT_LEDGER_TOKENS if source == "consent_ledger" else [c for _, c, _ in _token_columns(source)]
        found.append((f"ingest.{ident(table)}", columns))
    if "ledger" in tables(con, "consent"):
        found.append(("consent.ledger", CONSENT_LEDGER_TOKENS))
    if "bases" in tables(con, "consent"):  # users covered by a declared lawful basis
        found.append(("consent.bases", ["user_token"]))
    return found


def _retoken_tables(con: duckdb.DuckDBPyConnection) -> int:
    """Rewrite every token column under the new key (inside the caller's transaction); count them."""
    rewritten = 0
    for table, columns in _token_tables(con):
        for column in columns:
            con.execute(
                f"update {table} t set {ident(column)} = r.new_token from _rotation r "
                f"where t.{ident(column)} = r.old_token"
            )
            rewritten += 1
    return rewritten


def rotate_keys(
    data_dir: DataDir, evidence: Callable[[duckdb.DuckDBPyConnection, RotationResult], None] | None = None
) -> RotationResult:
    """Create the next key version and re-tokenise every table under it, atomically.

    `evidence` writes the rotation's audit entry inside that transaction."""
    keys = hmac_keys(data_dir.keys)
    if not keys:
        raise WeirError("No pseudonymisation key yet: nothing to rotate. Run `weir ingest` first.")
    if len(keys) > 1:
        versions = ", ".join(f"v{v}" for v in sorted(keys))
        raise WeirError(
            f"Several pseudonymisation keys ({versions}) in {data_dir.keys / 'hmac'}: the warehouse's tokens "
            "are under one of them only, and rotating from the newest would orphan the rest. Restore the "
            "key set of the last good rotation before rotating."
        )
    old = keys[max(keys)]
    con = connect(data_dir.warehouse)
    new = None
    try:
        con.execute(LANDING_DDL)
        loaded = con.execute(f"select source, batch_id from ingest.load_ledger where {ROTATED}").fetchall()
        folders = [data_dir.landing / source / batch_id for source, batch_id in loaded]
        _read.lock_down(con, *(f for f in folders if f.is_dir()))  # re-reads landed files: same limits as ingest
        new = new_hmac_key(data_dir.keys)
        _build_mapping(con, data_dir, old, new)
        mapping = dict(con.execute("select old_token, new_token from _rotation").fetchall())
        con.execute("begin transaction")
        try:
            rewritten = _retoken_tables(con)
            _vault.retoken(con, vault_master_key(data_dir.keys), mapping)
            _rewrite_quarantine(con, mapping)
            retoken_requests(con)  # the suppression list gains each erased user's new token
            drop_derived(con)  # derived tables hold old tokens: the next dbt build redoes them
            if evidence is not None:
                evidence(con, RotationResult(old.version, new.version, len(mapping), rewritten))
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    except Exception:
        if new is not None:  # the rotation did not happen: no key of it may stay behind
            (data_dir.keys / "hmac" / f"v{new.version}.key").unlink(missing_ok=True)
        raise
    finally:
        con.close()
    for version in keys:  # retire every old key: no token made with it remains
        (data_dir.keys / "hmac" / f"v{version}.key").unlink()
    return RotationResult(old.version, new.version, len(mapping), rewritten)
