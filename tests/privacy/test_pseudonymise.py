"""Tokens in DuckDB equal Python's hmac, are stable per key, unlinkable across keys."""

import hashlib
import hmac
import re

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy._keyring import SecretKey
from privacy._pseudonymise import KINDS, RECORD_KINDS, TOKEN_PATTERN, build_token_map, key_params, token, token_sql

KEY_1 = SecretKey(1, bytes(range(32)))
KEY_2 = SecretKey(2, bytes(range(1, 33)))
ids = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40)
    .map(str.strip)
    .filter(bool)
)


def sql_token(key: SecretKey, kind: str, value: str) -> str:
    con = duckdb.connect()
    return con.execute(f"select {token_sql('$value', kind)}", {**key_params(key), "value": value}).fetchone()[0]


@settings(max_examples=60, deadline=None)
@given(ids, st.sampled_from(["user", "device", *RECORD_KINDS]))
def test_sql_token_equals_python_hmac(value: str, kind: str) -> None:
    assert sql_token(KEY_1, kind, value) == token(KEY_1, kind, value)


@settings(max_examples=60, deadline=None)
@given(
    st.binary(min_size=1, max_size=100),  # past 64 bytes HMAC hashes the key first (RFC 2104)
    st.integers(1, 999),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40).filter(
        lambda v: v == v.strip()  # normalisation is trim: compare on values it leaves alone
    ),
    st.sampled_from(KINDS[:2] + RECORD_KINDS),
)
def test_sql_token_equals_reference_hmac_for_any_key_and_value(
    material: bytes, version: int, value: str, kind: str
) -> None:
    key = SecretKey(version, material)

    expected = f"tk{version}_" + hmac.new(material, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    assert sql_token(key, kind, value) == token(key, kind, value) == expected


@settings(max_examples=40, deadline=None)
@given(ids)
def test_token_is_stable_differs_across_keys_and_hides_input(value: str) -> None:
    first, again, other = token(KEY_1, "user", value), token(KEY_1, "user", value), token(KEY_2, "user", value)

    assert first == again
    assert first != other and other.startswith("tk2_")
    assert value not in first[4:] or len(value) < 3
    assert re.fullmatch(TOKEN_PATTERN, first)


@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [
        ("phone", "+86 138 1234 5678", "13812345678"),
        ("phone", "+86-138-1234-5678", "138 1234 5678"),
        ("email", "Wang.Li88@QQ.com ", "wang.li88@qq.com"),
    ],
)
def test_formatting_variants_give_one_token(kind: str, a: str, b: str) -> None:
    assert sql_token(KEY_1, kind, a) == sql_token(KEY_1, kind, b)


def test_kinds_are_domain_separated() -> None:
    assert sql_token(KEY_1, "user", "12345") != sql_token(KEY_1, "device", "12345")
    # an order id and a share id that happen to be equal never share a token
    assert len({token(KEY_1, kind, "O261001s42-0") for kind in KINDS}) == len(KINDS)


def test_token_map_covers_distinct_values_and_keeps_key_out_of_sql() -> None:
    con = duckdb.connect()
    con.execute("create table t as select * from (values ('U1'), ('U2'), ('U1'), (null)) v(user_id)")

    build_token_map(con, "tok", "select user_id from t", "user", KEY_1)

    rows = dict(con.execute("select value, token from tok").fetchall())
    assert rows == {"U1": token(KEY_1, "user", "U1"), "U2": token(KEY_1, "user", "U2")}
    # The padded key forms are bound parameters: no statement text in DuckDB's catalog holds them.
    sql_text = " ".join(r[0] or "" for r in con.execute("select sql from duckdb_tables()").fetchall())
    assert KEY_1.material.hex() not in sql_text and "\\x" not in sql_text


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown identifier kind 'name'; use one of user, device"):
        token_sql("x", "name")


def test_key_repr_hides_material() -> None:
    assert repr(KEY_1) == "SecretKey(version=1, material=<hidden>)"
    assert KEY_1.material.hex() not in str(KEY_1)
