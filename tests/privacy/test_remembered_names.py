"""Names given by one batch are redacted from the free text of later batches (privacy/_names.py)."""

from pathlib import Path

import duckdb

from privacy._keyring import current_hmac_key, vault_master_key
from privacy._names import NAME_FIELD, remembered
from privacy._pseudonymise import key_params, token_sql
from weir.config import resolve_data_dir
from weir.dsr import _access, _rectify
from weir.ingest import ingest
from weir.landing import land_export

USERS = (
    "user_id,name,signup_at\n"
    "u1,Dallas Whitfield,2026-09-01T00:00:00Z\n"
    "u2,王小明,2026-09-01T00:00:00Z\n"
    "u3,Ann Lee,2026-09-01T00:00:00Z\n"
)
REVIEWS = (  # a later export without any name column
    "review_id,user_id,item_id,rating,text,created_at\n"
    'r1,u1,i1,5,"Dallas here: the Whitfield family loves it",2026-10-01T10:00:00Z\n'
    "r2,u2,i1,4,王小明说很好,2026-10-01T10:00:00Z\n"
    'r3,u4,i2,4,"Ann Lee from support was kind",2026-10-01T10:00:00Z\n'
)


def _land(data_dir, folder: Path, source: str, text: str, extra: str = "") -> None:
    folder.mkdir(parents=True)
    (folder / "map.yml").write_text(f"source: {source}\nformat: csv\n{extra}")
    (folder / "export.csv").write_text(text)
    _, batch_id = land_export(data_dir.landing, folder / "map.yml", folder / "export.csv")
    assert ingest(data_dir, source, batch_id)[0].status == "loaded"


def _token(data_dir, user_id: str) -> str:
    key = current_hmac_key(data_dir.keys)
    return duckdb.execute(f"select {token_sql('$v', 'user')}", {**key_params(key), "v": user_id}).fetchone()[0]


def test_a_later_batch_has_its_authors_names_redacted(tmp_path: Path) -> None:
    data_dir = resolve_data_dir(tmp_path / "weir")
    _land(data_dir, tmp_path / "users", "users", USERS)
    _land(data_dir, tmp_path / "reviews", "reviews", REVIEWS)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        texts = dict(con.execute("select user_token, text from raw.reviews").fetchall())
    assert texts[_token(data_dir, "u1")] == "<NAME> here: the <NAME> family loves it"
    assert texts[_token(data_dir, "u2")] == "<NAME>说很好"
    # The dictionary is the batch's people (their names redacted in any of its texts), not
    # everyone ever seen: u3 wrote nothing in this batch.
    assert texts[_token(data_dir, "u4")] == "Ann Lee from support was kind"


def test_names_are_merged_accessible_and_rectifiable(tmp_path: Path) -> None:
    data_dir = resolve_data_dir(tmp_path / "weir")
    _land(data_dir, tmp_path / "users", "users", USERS)
    nick = "review_id,user_id,item_id,rating,text,created_at,Nick\nr9,u1,i1,5,great,2026-10-02T10:00:00Z,Dal W\n"
    _land(data_dir, tmp_path / "nick", "reviews", nick, "names: [Nick]\n")
    u1 = _token(data_dir, "u1")
    master, hmac_key = vault_master_key(data_dir.keys), current_hmac_key(data_dir.keys)
    with duckdb.connect(str(data_dir.warehouse)) as con:
        assert sorted(remembered(con, master, [u1])) == ["Dal W", "Dallas Whitfield"]
        held = _access.collect(con, master, u1)["vault.contacts"]
        assert {"field": NAME_FIELD, "value": "Dal W\nDallas Whitfield"} in held
        assert _rectify.refusal(con, master, u1, NAME_FIELD) is None
        assert _rectify.apply(con, hmac_key, master, u1, NAME_FIELD, " Dee Whitfield ") == {"vault": NAME_FIELD}
        assert remembered(con, master, [u1]).to_list() == ["Dee Whitfield"]
        # Nothing of the names in any table but the vault's ciphertext.
        for (table,) in con.execute("select schema_name || '.' || table_name from duckdb_tables()").fetchall():
            dump = str(con.execute(f"select * from {table}").fetchall())
            assert "Whitfield" not in dump and "Dal W" not in dump, table
