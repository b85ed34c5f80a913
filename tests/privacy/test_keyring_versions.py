"""Pseudonymisation keys are versioned, created 0600 and never shown."""

import stat
from pathlib import Path

from privacy._keyring import current_hmac_key, hmac_keys, new_hmac_key, vault_master_key


def test_first_use_creates_v1_then_rotation_adds_v2(tmp_path: Path) -> None:
    first = current_hmac_key(tmp_path)
    second = new_hmac_key(tmp_path)

    assert (first.version, second.version) == (1, 2)
    assert first.material != second.material
    assert current_hmac_key(tmp_path) == second
    assert list(hmac_keys(tmp_path)) == [1, 2]
    for path in (tmp_path / "hmac").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "hmac").stat().st_mode) == 0o700


def test_vault_master_key_is_stable(tmp_path: Path) -> None:
    assert vault_master_key(tmp_path) == vault_master_key(tmp_path)
    assert stat.S_IMODE((tmp_path / "vault_master.key").stat().st_mode) == 0o600
