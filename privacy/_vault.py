"""Contact-data vault: AES-256-GCM per user, each user's data key wrapped by the master key.

Erasure deletes the user's wrapped key (crypto-shredding): the ciphertext stays but can
never be read again. Encryption is one AEAD call per value; the vault holds one row per
user and contact field, so this is a bounded, per-user set, not an event-scale loop.
"""

import os
from collections.abc import Iterable

import duckdb
import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy._keyring import SecretKey
from weir.errors import WeirError

NONCE_BYTES = 12  # GCM standard nonce; random per encryption
DDL = """
create schema if not exists vault;
create table if not exists vault.data_keys (
    user_token varchar primary key, wrapped_key blob not null, master_version integer not null);
create table if not exists vault.contacts (
    user_token varchar not null, field varchar not null, ciphertext blob not null,
    primary key (user_token, field));
"""


class VaultError(WeirError):
    """A vault value cannot be read (erased, tampered with, or never stored)."""


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)


def _data_key(con: duckdb.DuckDBPyConnection, master: SecretKey, user_token: str) -> bytes:
    row = con.execute("select wrapped_key from vault.data_keys where user_token = ?", [user_token]).fetchone()
    if row is None:
        raise VaultError(
            f"No vault key for user token {user_token}: the user was erased (crypto-shredded) or never stored."
        )
    return _unwrap(master, user_token, row[0])


def _unwrap(master: SecretKey, user_token: str, wrapped: bytes) -> bytes:
    try:
        return _open(master.material, wrapped, user_token.encode())
    except InvalidTag as err:
        raise VaultError(
            f"The data key of user token {user_token} does not unwrap with master key "
            f"version {master.version}; is WEIR_KEYS_DIR pointing at the right keys?"
        ) from err


def store(con: duckdb.DuckDBPyConnection, master: SecretKey, values: Iterable[tuple[str, str, str]]) -> int:
    """Encrypt (user_token, field, value) triples; re-storing a field replaces it. Returns count.

    Keys are looked up and written in bulk (one statement each); only the AEAD calls are
    per value.
    """
    con.execute(DDL)
    triples = list(values)
    tokens = sorted({t for t, _, _ in triples})
    con.register("_vault_tokens", pa.table({"user_token": tokens}))
    wrapped = dict(
        con.execute(
            "select k.user_token, k.wrapped_key from vault.data_keys k join _vault_tokens t using (user_token)"
        ).fetchall()
    )
    keys, new_keys = {}, []
    for token_ in tokens:  # per user: unwrap an existing key or make a new one
        if token_ in wrapped:
            keys[token_] = _unwrap(master, token_, wrapped[token_])
        else:
            keys[token_] = AESGCM.generate_key(bit_length=256)
            new_keys.append((token_, _seal(master.material, keys[token_], token_.encode())))
    sealed = [_seal(keys[t], v.encode(), f"{t}|{f}".encode()) for t, f, v in triples]
    con.register(
        "_vault_new_keys",
        pa.table(
            {"user_token": [k[0] for k in new_keys], "wrapped_key": pa.array([k[1] for k in new_keys], pa.binary())}
        ),
    )
    con.execute("insert into vault.data_keys select user_token, wrapped_key, ? from _vault_new_keys", [master.version])
    con.register(
        "_vault_rows",
        pa.table(
            {
                "user_token": [t for t, _, _ in triples],
                "field": [f for _, f, _ in triples],
                "ciphertext": pa.array(sealed, pa.binary()),
            }
        ),
    )
    con.execute("insert or replace into vault.contacts select user_token, field, ciphertext from _vault_rows")
    for name in ("_vault_tokens", "_vault_new_keys", "_vault_rows"):
        con.unregister(name)
    return len(triples)


def read(con: duckdb.DuckDBPyConnection, master: SecretKey, user_token: str, field: str) -> str:
    """Decrypt one contact value for an operational use (e.g. a consented marketing send)."""
    con.execute(DDL)
    row = con.execute(
        "select ciphertext from vault.contacts where user_token = ? and field = ?", [user_token, field]
    ).fetchone()
    if row is None:
        raise VaultError(f"No {field} stored for user token {user_token}.")
    key = _data_key(con, master, user_token)
    try:
        return _open(key, row[0], f"{user_token}|{field}".encode()).decode()
    except InvalidTag as err:
        raise VaultError(
            f"The stored {field} of user token {user_token} fails authentication "
            "(tampered with or moved to another user)."
        ) from err


def read_many(
    con: duckdb.DuckDBPyConnection, master: SecretKey, user_tokens: list[str], fields: tuple[str, ...]
) -> dict[tuple[str, str], str]:
    """Decrypt the given contact fields of many users with one lookup: (token, field) -> value,
    leaving out what is not stored or no longer readable (shredded key, failed authentication)."""
    con.execute(DDL)
    rows = con.execute(
        "select c.user_token, c.field, c.ciphertext, k.wrapped_key from vault.contacts c "
        "join vault.data_keys k using (user_token) "
        "where c.user_token in (select unnest($tokens)) and c.field in (select unnest($fields))",
        {"tokens": user_tokens, "fields": list(fields)},
    ).fetchall()
    found = {}
    for user_token, field, sealed, wrapped in rows:  # one AEAD call per user and per field
        try:
            key = _open(master.material, wrapped, user_token.encode())
            found[(user_token, field)] = _open(key, sealed, f"{user_token}|{field}".encode()).decode()
        except InvalidTag:
            continue
    return found


def shred(con: duckdb.DuckDBPyConnection, user_token: str) -> bool:
    """Delete the user's data key: every ciphertext of that user becomes unreadable."""
    return user_token in shred_many(con, [user_token])


def shred_many(con: duckdb.DuckDBPyConnection, user_tokens: list[str]) -> set[str]:
    """Delete many users' data keys in one statement; returns the tokens that had one."""
    con.execute(DDL)
    deleted = con.execute(
        "delete from vault.data_keys where user_token in (select unnest(?)) returning user_token", [user_tokens]
    ).fetchall()
    return {t for (t,) in deleted}


def retoken(con: duckdb.DuckDBPyConnection, master: SecretKey, mapping: dict[str, str]) -> int:
    """Move vault entries from old to new user tokens (key rotation); re-seal under the new AAD."""
    con.execute(DDL)
    keys = con.execute("select user_token, wrapped_key from vault.data_keys").fetchall()
    contacts = con.execute("select user_token, field, ciphertext from vault.contacts").fetchall()
    new_keys, new_contacts, plain_keys = [], [], {}
    for old, wrapped in keys:  # one AEAD call per user and per contact field
        new = mapping.get(old, old)
        plain_keys[old] = _unwrap(master, old, wrapped)
        new_keys.append((new, _seal(master.material, plain_keys[old], new.encode())))
    for old, field_, sealed in contacts:
        new = mapping.get(old, old)
        value = _open(plain_keys[old], sealed, f"{old}|{field_}".encode())
        new_contacts.append((new, field_, _seal(plain_keys[old], value, f"{new}|{field_}".encode())))
    con.execute("delete from vault.contacts")
    con.execute("delete from vault.data_keys")
    con.register("_vk", pa.table({"t": [k[0] for k in new_keys], "w": pa.array([k[1] for k in new_keys], pa.binary())}))
    con.execute("insert into vault.data_keys select t, w, ? from _vk", [master.version])
    con.register(
        "_vc",
        pa.table(
            {
                "t": [c[0] for c in new_contacts],
                "f": [c[1] for c in new_contacts],
                "c": pa.array([c[2] for c in new_contacts], pa.binary()),
            }
        ),
    )
    con.execute("insert into vault.contacts select t, f, c from _vc")
    con.unregister("_vk")
    con.unregister("_vc")
    return len(new_keys)
