"""Row-bound pseudonyms (weir/row_tokens.py): one person's rows share no published value, and
with the salt Weir still finds, deletes and blanks them."""

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy._keyring import SecretKey, publish_salt
from weir import row_tokens
from weir.publish import CATALOGUE_DDL

BUYER, OTHER, SHARER = ("tk1_" + c * 32 for c in "abc")
NODE = {
    "name": "orders",
    "config": {"meta": {"row_key": "order_id"}},
    "columns": {
        "order_id": {"config": {"meta": {"pseudonym": True}}},
        "user_token": {"config": {"meta": {"category": "user.unique_id"}}},
        "week": {},
        "sharer_token": {"config": {"meta": {"category": "user.unique_id"}}},
    },
}
ROWS = [("o1", BUYER, 1, SHARER), ("o2", BUYER, 2, None), ("o3", OTHER, 1, SHARER), ("o4", BUYER, 3, SHARER)]


def _published(salt: SecretKey) -> duckdb.DuckDBPyConnection:
    """A published file (attached as `pub`) holding the mart as `weir publish` writes it."""
    con = duckdb.connect()
    con.execute("create table orders (order_id varchar, user_token varchar, week int, sharer_token varchar)")
    con.executemany("insert into orders values (?, ?, ?, ?)", ROWS)
    con.execute("attach ':memory:' as pub")
    con.execute(CATALOGUE_DDL)
    select, params = row_tokens.select_sql(NODE, "orders", salt)
    con.execute(f"create table pub.main.orders as {select}", params)
    con.execute(
        "insert into pub.main.published_marts (mart, row_key, row_bound) values ('orders', 'order_id', ?)",
        [row_tokens.bound_columns(NODE)],
    )
    return con


@pytest.fixture
def salt(tmp_path) -> SecretKey:
    return publish_salt(tmp_path / "keys")


def test_a_person_on_several_rows_gets_a_different_pseudonym_on_each_and_no_warehouse_token(salt) -> None:
    con = _published(salt)

    rows = con.execute("select order_id, user_token, week, sharer_token from pub.main.orders order by 1").fetchall()

    assert row_tokens.bound_columns(NODE) == ["user_token", "sharer_token"]
    assert [(r[0], r[2]) for r in rows] == [("o1", 1), ("o2", 2), ("o3", 1), ("o4", 3)]  # the rest as it was
    buyers = [r[1] for r in rows]
    assert len(set(buyers)) == 4 and all(b.startswith("rt1_") and len(b) == 36 for b in buyers)
    sharers = [r[3] for r in rows if r[3] is not None]
    assert len(set(sharers)) == 3 and rows[1][3] is None  # a null stays null
    assert not {*buyers, *sharers} & {BUYER, OTHER, SHARER}


def test_with_the_salt_weir_deletes_a_buyers_rows_and_blanks_them_where_they_are_the_sharer(salt) -> None:
    con = _published(salt)
    assert row_tokens.traces(con, "pub", salt, [BUYER, SHARER]) == {"main.orders": 6}

    erased = row_tokens.erase(con, "pub", salt, [BUYER, SHARER])

    assert erased == {"main.orders": {BUYER: (3, 0), SHARER: (0, 1)}}
    assert con.execute("select order_id, sharer_token from pub.main.orders").fetchall() == [("o3", None)]
    assert row_tokens.traces(con, "pub", salt, [BUYER, SHARER]) == {}
    assert row_tokens.erase(con, "pub", salt, [BUYER, SHARER]) == {}  # a re-run finds nothing


def test_with_the_erased_warehouse_mart_only_rows_that_differ_from_it_are_recomputed(salt) -> None:
    con = _published(salt)
    database = con.execute("select current_database()").fetchone()[0]
    con.execute("create schema marts")
    con.execute("create table marts.orders as select * from orders")  # as published: nothing differs
    assert row_tokens.found(con, "pub", salt, [BUYER, OTHER, SHARER], database) == {}
    # the `derived` step erased BUYER and SHARER from the warehouse mart (deleted, blanked)
    con.execute("delete from marts.orders where user_token = ?", [BUYER])
    con.execute("update marts.orders set sharer_token = null where sharer_token = ?", [SHARER])

    erased = row_tokens.erase(con, "pub", salt, [BUYER, SHARER], database)

    assert erased == {"main.orders": {BUYER: (3, 0), SHARER: (0, 1)}}
    assert con.execute("select order_id, sharer_token from pub.main.orders").fetchall() == [("o3", None)]
    assert row_tokens.traces(con, "pub", salt, [BUYER, SHARER], database) == {}
    assert row_tokens.traces(con, "pub", salt, [BUYER, SHARER]) == {}  # a full recomputation agrees


def test_another_salt_finds_nothing(salt, tmp_path) -> None:
    con = _published(salt)

    assert row_tokens.traces(con, "pub", publish_salt(tmp_path / "other"), [BUYER, OTHER, SHARER]) == {}


def test_the_salt_file_is_the_owners_only_and_stable(salt, tmp_path) -> None:
    path = tmp_path / "keys" / "publish_salt.key"

    assert path.stat().st_mode & 0o777 == 0o600
    assert publish_salt(tmp_path / "keys").material == salt.material
    assert "material=<hidden>" in repr(salt)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=20), min_size=2, max_size=6, unique=True))
def test_the_sql_pseudonym_is_the_hmac_of_column_row_key_and_value(keys) -> None:
    import hashlib
    import hmac

    salt = SecretKey(1, b"s" * 32)
    with duckdb.connect() as con:
        con.execute("create table orders (order_id varchar, user_token varchar, week int, sharer_token varchar)")
        con.executemany("insert into orders values (?, ?, 1, null)", [(k, BUYER) for k in keys])
        select, params = row_tokens.select_sql(NODE, "orders", salt)
        got = dict(con.execute(f"select order_id, user_token from ({select})", params).fetchall())

    expected = {
        k: "rt1_" + hmac.new(salt.material, f"user_token:{k}:{BUYER}".encode(), hashlib.sha256).hexdigest()[:32]
        for k in keys
    }
    assert got == expected
