"""Key files under the data directory: created at first use with 0600, never printed."""

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from weir.errors import KeyringError

SIGNING_KEY_FILE = "audit_signing_ed25519.key"
SIGNING_KEY_ENV = "WEIR_AUDIT_SIGNING_KEY_FILE"  # production: a path managed by a secrets store


def _check_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyringError(
            f"Key file {path} has permissions {mode:o}; it must be readable by its owner only. "
            f"Fix it with: chmod 600 {path}")


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def signing_key_path(keys_dir: Path) -> Path:
    override = os.environ.get(SIGNING_KEY_ENV)
    return Path(override) if override else keys_dir / SIGNING_KEY_FILE


def load_or_create_signing_key(keys_dir: Path) -> Ed25519PrivateKey:
    """The audit-log signing key; created (0600) on first use unless an override path is set."""
    path = signing_key_path(keys_dir)
    if not path.exists():
        if os.environ.get(SIGNING_KEY_ENV):
            raise KeyringError(f"{SIGNING_KEY_ENV} points to {path}, which does not exist. "
                               "Create the key there or unset the variable to use the data dir.")
        key = Ed25519PrivateKey.generate()
        _write_private(path, key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()))
        return key
    _check_private(path)
    raw = path.read_bytes()
    if len(raw) != 32:
        raise KeyringError(f"Key file {path} is not a 32-byte Ed25519 key; restore it from backup.")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key(private: Ed25519PrivateKey) -> Ed25519PublicKey:
    return private.public_key()
