"""Key material never shows up in errors, logs, audit entries or table contents."""

import duckdb
import pytest

from privacy._keyring import current_hmac_key, vault_master_key
from privacy._pseudonymise import build_token_map, key_params


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


def test_ingest_outputs_hold_no_key_material(loaded, capfd) -> None:
    data_dir, _, _ = loaded
    keys = [current_hmac_key(data_dir.keys), vault_master_key(data_dir.keys)]
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'ingest', 'audit', 'consent')"
        ).fetchall()
        dump = " ".join(str(con.execute(f'select * from "{s}"."{t}"').fetchall()) for s, t in tables)
    out, err = capfd.readouterr()

    for key in keys:
        for form in _forms(key)[:3]:
            assert form not in dump and form not in out and form not in err
    assert len(dump) > 100_000
