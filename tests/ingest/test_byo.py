"""Bring your own data: the real Taobao sample, and the ways real exports are messy."""

from pathlib import Path

import duckdb
import pytest

from privacy._keyring import current_hmac_key
from privacy._pseudonymise import token
from weir.config import resolve_data_dir
from weir.errors import ConfigError
from weir.ingest import ingest
from weir.landing import land_export

ROOT = Path(__file__).parents[2]
TAOBAO = ROOT.parent / "shared" / "data" / "taobao_userbehavior_sample" / "UserBehavior.csv"
TAOBAO_MAPPING = ROOT / "weir" / "mappings" / "taobao_userbehavior.yml"


def _load(tmp_path: Path, mapping: Path, export: Path):
    data_dir = resolve_data_dir(tmp_path)
    source, batch_id = land_export(data_dir.landing, mapping, export)
    return data_dir, ingest(data_dir, source, batch_id)[0]


@pytest.mark.skipif(not TAOBAO.exists(), reason="shared Taobao sample not present")
def test_taobao_sample_loads_in_place_with_its_published_profile(tmp_path: Path) -> None:
    data_dir, result = _load(tmp_path, TAOBAO_MAPPING, TAOBAO)

    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (9436, 9436, 0)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        types = dict(con.execute("select event_type, count(*) from raw.events group by 1").fetchall())
        users, items = con.execute(
            "select count(distinct user_token), count(distinct item_id) from raw.events"
        ).fetchone()
        first, last = con.execute(
            "select strftime(min(ts), '%Y-%m-%d %H:%M:%S'), strftime(max(ts), '%Y-%m-%d %H:%M:%S') from raw.events"
        ).fetchone()
        raw_id = con.execute("select count(*) from raw.events where user_token = '999477'").fetchone()[0]
    # The figures SOURCE.md publishes for this file.
    assert types == {"view": 8520, "add_to_cart": 518, "like": 203, "purchase": 195}
    assert (users, items) == (109, 7255)
    assert (first, last) == ("2017-11-24 08:45:57", "2017-12-03 15:59:28")
    assert raw_id == 0


MESSY = (
    b"1001,5001,77,pv,1511848894\r\n"  # Windows line ending
    b"1001,5001,77,pv,1511848894\r\n"  # exact duplicate row
    b",5002,77,buy,1511848900\r\n"  # blank user id
    b"1002.0,5003.0,77,cart,1511848901\r\n"  # ids written as floats
    b"1003,5004,77,teleport,1511848902\r\n"  # unknown behaviour
    b"1004,5005,77,pv,yesterday\r\n"  # unparsable time
    b"1005,5006,77,pv"  # truncated last line, no final newline
)


def test_messy_export_each_case_handled_or_quarantined(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes(MESSY)

    data_dir, result = _load(tmp_path / "weir", TAOBAO_MAPPING, export)

    assert (result.rows_in, result.rows_loaded) == (7, 2)
    assert result.reasons == {
        "duplicate_id": 1,
        "missing_required": 1,
        "unknown_enum_value": 1,
        "wrong_type": 1,
        "malformed_line": 1,
    }
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        tokens = {r[0] for r in con.execute("select user_token from raw.events").fetchall()}
        lines = dict(con.execute("select _line, item_id from raw.events").fetchall())
    key = current_hmac_key(data_dir.keys)
    assert tokens == {token(key, "user", "1001"), token(key, "user", "1002")}  # "1002.0" is user 1002
    assert lines == {1: "5001", 4: "5003"}


def test_landing_the_same_export_twice_is_one_batch(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes(MESSY)
    data_dir, first = _load(tmp_path / "weir", TAOBAO_MAPPING, export)

    _, again = _load(tmp_path / "weir", TAOBAO_MAPPING, export)

    assert again.status == "already_loaded" and again.batch_id == first.batch_id


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("source: events\nformat: csv\nheader: false\n", "`header: false` needs `columns:`"),
        ("source: events\nformat: xlsx\n", "Mapping .* is invalid"),
        ("source: events\nformat: csv\ndelimiter: ';;'\n", "delimiter ';;' is not allowed; use one of ',' \\(comma\\)"),
    ],
)
def test_bad_mappings_are_refused_with_the_fix(tmp_path: Path, text: str, message: str) -> None:
    mapping = tmp_path / "m.yml"
    mapping.write_text(text)

    with pytest.raises(ConfigError, match=message):
        land_export(tmp_path / "landing", mapping, TAOBAO_MAPPING)


def test_missing_mapping_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Mapping file .*nope.yml does not exist"):
        land_export(tmp_path, tmp_path / "nope.yml", tmp_path)
