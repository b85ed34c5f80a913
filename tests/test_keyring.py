"""Key files are created with owner-only permissions and refused when exposed."""

import os
import stat
from pathlib import Path

import pytest

from privacy import load_or_create_signing_key
from weir.errors import KeyringError


def test_key_created_owner_only_and_reloaded(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path / "keys")
    path = tmp_path / "keys" / "audit_signing_ed25519.key"

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = load_or_create_signing_key(tmp_path / "keys")
    assert again.public_key().public_bytes_raw() == key.public_key().public_bytes_raw()


def test_exposed_key_file_is_refused(tmp_path: Path) -> None:
    load_or_create_signing_key(tmp_path)
    path = tmp_path / "audit_signing_ed25519.key"
    os.chmod(path, 0o644)

    with pytest.raises(KeyringError, match=r"has permissions 644; .* chmod 600"):
        load_or_create_signing_key(tmp_path)


def test_missing_override_path_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_AUDIT_SIGNING_KEY_FILE", str(tmp_path / "absent.key"))

    with pytest.raises(KeyringError, match="does not exist"):
        load_or_create_signing_key(tmp_path)


def test_every_folder_made_for_a_key_is_owner_only_and_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    from privacy._keyring import _write_private  # shared by the Flower TLS files (federated/_tls.py)

    path = tmp_path / "keys" / "flower" / "tls" / "ca.pem"
    _write_private(path, b"first")

    assert [stat.S_IMODE(p.stat().st_mode) for p in (path, *path.parents[:3])] == [0o600, 0o700, 0o700, 0o700]
    with pytest.raises(FileExistsError):
        _write_private(path, b"second")
    assert path.read_bytes() == b"first"
