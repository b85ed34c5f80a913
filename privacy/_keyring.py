"""Key files under the data directory: created at first use with 0600, never printed.

Production points WEIR_KEYS_DIR at a folder its secrets manager mounts; the layout is the same.
"""

import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from weir.config import make_private_dir
from weir.errors import KeyringError

SIGNING_KEY_FILE = "audit_signing_ed25519.key"
SIGNING_KEY_ENV = "WEIR_AUDIT_SIGNING_KEY_FILE"  # production: a path managed by a secrets store
HMAC_DIR = "hmac"
VAULT_MASTER_FILE = "vault_master.key"
# The published layer's own salt: row-bound pseudonyms (weir/row_tokens.py) are keyed with it,
# not with the pseudonymisation key, so nothing published is a warehouse token of anyone.
PUBLISH_SALT_FILE = "publish_salt.key"
KEY_BYTES = 32  # 256-bit keys: HMAC-SHA256 and AES-256-GCM


@dataclass(frozen=True, slots=True)
class SecretKey:
    """Key material with a version; its repr never shows the bytes."""

    version: int
    material: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"SecretKey(version={self.version}, material=<hidden>)"

    __str__ = __repr__


def _read_key(path: Path, version: int) -> SecretKey:
    _check_private(path)
    raw = path.read_bytes()
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"Key file {path} holds {len(raw)} bytes, not {KEY_BYTES}; restore it from backup.")
    return SecretKey(version, raw)


def hmac_keys(keys_dir: Path) -> dict[int, SecretKey]:
    """All pseudonymisation key versions present, oldest first."""
    folder = keys_dir / HMAC_DIR
    found = {}
    for path in folder.glob("v*.key") if folder.is_dir() else []:
        match = re.fullmatch(r"v(\d+)\.key", path.name)
        if match:
            found[int(match.group(1))] = _read_key(path, int(match.group(1)))
    return dict(sorted(found.items()))


def current_hmac_key(keys_dir: Path) -> SecretKey:
    """The newest pseudonymisation key; version 1 is created on first use."""
    keys = hmac_keys(keys_dir)
    if keys:
        return keys[max(keys)]
    return new_hmac_key(keys_dir)


def new_hmac_key(keys_dir: Path) -> SecretKey:
    """Create the next key version (used by first run and by `weir keys rotate`)."""
    version = max(hmac_keys(keys_dir), default=0) + 1
    material = secrets.token_bytes(KEY_BYTES)
    _write_private(keys_dir / HMAC_DIR / f"v{version}.key", material)
    return SecretKey(version, material)


def vault_master_key(keys_dir: Path) -> SecretKey:
    """The master key that wraps every per-user vault key; created on first use."""
    path = keys_dir / VAULT_MASTER_FILE
    if not path.exists():
        _write_private(path, secrets.token_bytes(KEY_BYTES))
    return _read_key(path, 1)


def publish_salt(keys_dir: Path) -> SecretKey:
    """The key of the published layer's row-bound pseudonyms; created on first use."""
    path = keys_dir / PUBLISH_SALT_FILE
    if not path.exists():
        _write_private(path, secrets.token_bytes(KEY_BYTES))
    return _read_key(path, 1)


def _check_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyringError(
            f"Key file {path} has permissions {mode:o}; it must be readable by its owner only. "
            f"Fix it with: chmod 600 {path}"
        )


def _write_private(path: Path, data: bytes) -> None:
    """Write a new key file (O_EXCL, 0600); its folder and any folder made for it are 0700."""
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def signing_key_path(keys_dir: Path) -> Path:
    override = os.environ.get(SIGNING_KEY_ENV)
    return Path(override) if override else keys_dir / SIGNING_KEY_FILE


def load_or_create_signing_key(keys_dir: Path, create: bool = True) -> Ed25519PrivateKey:
    """The audit-log signing key; created (0600) on first use unless an override path is set.

    Pass `create=False` once anything was signed (an audit entry or a witnessed head): a new key
    would not verify them, so a missing key is an error to fix from backup, never replaced.
    """
    path = signing_key_path(keys_dir)
    if not path.exists():
        if os.environ.get(SIGNING_KEY_ENV):
            raise KeyringError(
                f"{SIGNING_KEY_ENV} points to {path}, which does not exist. "
                "Create the key there or unset the variable to use the data dir."
            )
        if not create:
            raise KeyringError(
                f"The audit signing key {path} is missing, but the audit log already holds signed entries. "
                "Restore the key from backup (or point "
                f"{SIGNING_KEY_ENV} at it); a new key would not verify them, so none is created."
            )
        key = Ed25519PrivateKey.generate()
        _write_private(
            path,
            key.private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
            ),
        )
        return key
    _check_private(path)
    raw = path.read_bytes()
    if len(raw) != 32:
        raise KeyringError(f"Key file {path} is not a 32-byte Ed25519 key; restore it from backup.")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key(private: Ed25519PrivateKey) -> Ed25519PublicKey:
    return private.public_key()
