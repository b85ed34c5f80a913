"""Statistics decide which columns are searched for an erased user's values; nothing held is missed."""

import duckdb
import pytest

from weir.dsr import _reach, _scan

TOKEN = "tk1_" + "ab" * 16
OTHER = "tk1_" + "cd" * 16
PHONE = "13812345678"


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("create schema raw")
    con.execute(
        "create table raw.events (user_token varchar, event_type varchar, event_id varchar, note varchar, "
        "extra json, tags varchar[], amount integer)"
    )
    con.execute(
        "insert into raw.events values "
        "(?, 'view', ?, 'fine', '{}', ['a'], 1), "
        "(?, 'like', ?, ?, ?, ['b'], 2), "
        "(?, 'share', ?, 'nothing here at all', '{}', [?], 3)",
        [OTHER, TOKEN, OTHER, OTHER, f"call {PHONE}", f'{{"ref": "{TOKEN}"}}', OTHER, OTHER, TOKEN],
    )
    return con


def plan_of(con: duckdb.DuckDBPyConnection, needles: list[str]) -> dict[str, tuple[tuple, tuple]]:
    cols = _scan.columns(con, "memory", "raw.events")
    found = _reach.bounds(con, '"raw"."events"', cols)
    return {r.column.name: (r.equal, r.search) for r in _reach.plan(cols, found, needles)}


def test_short_columns_are_left_out_token_shaped_ones_compared_whole_the_rest_searched(con) -> None:
    plan = plan_of(con, [TOKEN, PHONE])

    assert plan == {
        "user_token": ((TOKEN, PHONE), ()),  # named as a token: compared whole
        "event_id": ((TOKEN,), ()),  # every value tk1_ + 32 hex: equal to a token or not it
        "note": ((), (PHONE,)),  # longest value 19 bytes: cannot hold a 36-byte token
        "extra": ((), (TOKEN, PHONE)),
        "tags": ((), (TOKEN, PHONE)),  # lists have no length statistics: always searched
    }  # event_type (5 bytes at most) and amount (a number) cannot hold either


def test_traces_finds_every_value_wherever_it_is_and_nothing_else(con) -> None:
    found = _scan.traces(con, "memory", [TOKEN, PHONE, "nobody@example.com"])

    assert found == {"raw.events": {TOKEN: 3, PHONE: 1}}


def test_a_raw_value_leaked_into_a_token_column_breaks_its_shape_and_is_searched(con) -> None:
    con.execute("update raw.events set event_id = ? where event_type = 'view'", [f"x{PHONE}"])

    assert plan_of(con, [TOKEN, PHONE])["event_id"] == ((TOKEN,), (PHONE,))
    assert _scan.traces(con, "memory", [PHONE]) == {"raw.events": {PHONE: 2}}


def test_erase_in_deletes_rows_holding_the_token_in_any_column_and_keeps_the_others(con) -> None:
    erased = _scan.erase_in(con, "memory", "raw.events", [TOKEN])

    assert erased == {TOKEN: (3, 0)}
    assert con.execute("select count(*) from raw.events").fetchone() == (0,)


def test_an_empty_table_is_not_searched(con) -> None:
    con.execute("delete from raw.events")
    con.execute("create table raw.empty (note varchar)")

    assert _scan.traces(con, "memory", [TOKEN]) == {}
    assert _reach.bounds(con, '"raw"."empty"', _scan.columns(con, "memory", "raw.empty")) is None
