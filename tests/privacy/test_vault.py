"""Vault: round-trips, nothing readable at rest, crypto-shredding, tamper detection."""

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy._keyring import SecretKey
from privacy._vault import VaultError, read, read_many, shred, shred_many, store

MASTER = SecretKey(1, b"m" * 32)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:")


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_round_trip(value: str) -> None:
    con = duckdb.connect(":memory:")
    store(con, MASTER, [("tk1_a", "email", value)])

    assert read(con, MASTER, "tk1_a", "email") == value


def test_plaintext_never_at_rest(con) -> None:
    store(con, MASTER, [("tk1_a", "email", "wang.li88@qq.com"), ("tk1_a", "phone", "13812345678")])

    dump = repr(con.execute("select * from vault.contacts, vault.data_keys").fetchall())
    assert "wang.li88" not in dump and "13812345678" not in dump


def test_shredding_makes_ciphertext_unreadable(con) -> None:
    store(con, MASTER, [("tk1_a", "email", "a@b.cn"), ("tk1_b", "email", "c@d.cn")])

    assert shred(con, "tk1_a") is True
    with pytest.raises(VaultError, match="No vault key for user token tk1_a: the user was erased"):
        read(con, MASTER, "tk1_a", "email")
    assert read(con, MASTER, "tk1_b", "email") == "c@d.cn"
    assert con.execute("select count(*) from vault.contacts where user_token = 'tk1_a'").fetchone() == (1,)


def test_swapped_ciphertext_is_detected(con) -> None:
    store(con, MASTER, [("tk1_a", "email", "a@b.cn"), ("tk1_b", "email", "c@d.cn")])
    con.execute("""update vault.contacts set ciphertext = (select ciphertext from vault.contacts
                   where user_token = 'tk1_b') where user_token = 'tk1_a'""")

    with pytest.raises(VaultError, match="fails authentication"):
        read(con, MASTER, "tk1_a", "email")


def test_wrong_master_key_cannot_unwrap(con) -> None:
    store(con, MASTER, [("tk1_a", "email", "a@b.cn")])

    with pytest.raises(VaultError, match="does not unwrap with master key version 1"):
        read(con, SecretKey(1, b"x" * 32), "tk1_a", "email")


def test_read_many_decrypts_a_batch_and_leaves_out_shredded_and_missing_values(con) -> None:
    store(con, MASTER, [("tk1_a", "email", "a@b.cn"), ("tk1_a", "phone", "13812345678"), ("tk1_b", "email", "c@d.cn")])
    shred(con, "tk1_b")

    found = read_many(con, MASTER, ["tk1_a", "tk1_b", "tk1_c"], ("phone", "email"))

    assert found == {("tk1_a", "email"): "a@b.cn", ("tk1_a", "phone"): "13812345678"}


def test_read_many_skips_values_that_fail_authentication(con) -> None:
    store(con, MASTER, [("tk1_a", "email", "a@b.cn"), ("tk1_b", "email", "c@d.cn")])
    con.execute("""update vault.contacts set ciphertext = (select ciphertext from vault.contacts
                   where user_token = 'tk1_b') where user_token = 'tk1_a'""")

    assert read_many(con, MASTER, ["tk1_a", "tk1_b"], ("email",)) == {("tk1_b", "email"): "c@d.cn"}


def test_shred_many_deletes_only_the_given_keys_and_names_those_it_found(con) -> None:
    store(con, MASTER, [("tk1_a", "email", "a@b.cn"), ("tk1_b", "email", "c@d.cn"), ("tk1_c", "email", "e@f.cn")])

    shredded = shred_many(con, ["tk1_a", "tk1_c", "tk1_x"])

    assert shredded == {"tk1_a", "tk1_c"}
    assert con.execute("select user_token from vault.data_keys").fetchall() == [("tk1_b",)]
    assert read_many(con, MASTER, ["tk1_a", "tk1_b", "tk1_c"], ("email",)) == {("tk1_b", "email"): "c@d.cn"}
