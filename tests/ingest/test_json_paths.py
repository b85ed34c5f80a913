"""A JSONL field name becomes a bound JSON path that selects exactly that key, whatever it holds."""

import json

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.ingest._read import json_path

NAMES = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=4, unique=True))
def test_json_path_selects_exactly_its_key(names: list[str]) -> None:
    line = json.dumps({name: f"v{i}" for i, name in enumerate(names)} | {"other": "x"})

    with duckdb.connect() as con:
        found = con.execute(
            "select json_extract_string(?, ?::varchar[])", [line, [json_path(n) for n in names]]
        ).fetchone()[0]

    assert found == [f"v{i}" for i in range(len(names))]
