"""Key material never shows up in errors, logs, audit entries or table contents."""

import base64
import logging
from pathlib import Path

import duckdb
import pytest

from privacy._keyring import current_hmac_key, hmac_keys
from privacy._pseudonymise import build_token_map, key_params
from tests._pii_scan import haystack_hits
from weir.config import resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest


def _forms(key) -> list[str]:
    params = key_params(key)
    return [
        key.material.hex(),
        params["ipad"].hex(),
        params["opad"].hex(),
        repr(key.material),
        repr(params["ipad"])[2:40],
        repr(params["opad"])[2:40],
    ]


def test_failing_token_query_does_not_leak_the_key(tmp_path) -> None:
    key = current_hmac_key(tmp_path)
    con = duckdb.connect()

    with pytest.raises(duckdb.Error) as caught:
        build_token_map(con, "tok", "select no_such_column from range(3)", "user", key)

    text = str(caught.value)
    for form in _forms(key):
        assert form not in text


def _secret_forms(keys_dir: Path) -> tuple[list[bytes], list[str]]:
    """Every key file's material (HMAC, vault master, publish salt, audit signing: 32 raw bytes
    each) and the HMAC pads as raw bytes, and their hex (both cases), base64 and repr."""
    materials = [path.read_bytes() for path in keys_dir.rglob("*.key") if path.stat().st_size == 32]
    pads = [key_params(k)[p] for k in hmac_keys(keys_dir).values() for p in ("ipad", "opad")]
    raw = [*materials, *pads]
    text = [f(m) for m in raw for f in (bytes.hex, lambda m: m.hex().upper(), lambda m: base64.b64encode(m).decode())]
    return raw, text + [repr(m)[2:40] for m in raw]


def test_ingest_outputs_hold_no_key_material(tmp_path, capfd, caplog) -> None:
    # Execute: a whole ingest inside the capture; Weir's loggers at DEBUG, the libraries' at INFO.
    caplog.set_level(logging.INFO)
    for name in ("weir", "privacy", "expectations"):
        caplog.set_level(logging.DEBUG, logger=name)
    data_dir = resolve_data_dir(tmp_path / "data")
    generate(GenerateConfig(users=60, days=1, seed=13, bad_rate=0.05), data_dir.landing)
    results = ingest(data_dir)
    out, err = capfd.readouterr()

    # Assert: no form of any key in stdout/stderr, log records, any file or any table cell.
    raw, text = _secret_forms(data_dir.keys)
    assert len(raw) >= 4 and results  # HMAC v1 and vault master keys, and the two HMAC pads
    logs = caplog.text + "".join(str(r.args) + str(r.exc_text) for r in caplog.records)
    assert len(caplog.records) > 0 and len(out + err + logs) > 0
    assert [f for f in text if f in out or f in err or f in logs] == []
    files = [p for p in data_dir.root.rglob("*") if p.is_file() and not p.is_relative_to(data_dir.keys)]
    assert len(files) > 20
    for path in files:
        data = path.read_bytes()
        assert not any(f in data for f in raw), path.name
        assert not any(f.encode() in data for f in text), path.name
    cells = haystack_hits(data_dir.root, text, skip=(data_dir.keys, data_dir.landing))
    assert cells == {}
