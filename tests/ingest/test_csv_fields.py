"""The CSV splitter against Python's csv module: any fields, quoted where they must be (or
always), come back as written; lines without a quote take the plain split, the rest the
quote-aware patterns, and both must agree with the writer."""

import csv
import io
from pathlib import Path

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.ingest._lines import lines_table
from weir.ingest._read import _csv_select
from weir.sql import Params

FIELD = st.text(alphabet=st.sampled_from(list('ab 1,"é;')), max_size=6)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=1, max_size=8), quote_all=st.booleans())
def test_fields_come_back_as_the_csv_writer_wrote_them(
    tmp_path_factory, rows: list[list[str]], quote_all: bool
) -> None:
    path = Path(tmp_path_factory.mktemp("csv")) / "export.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    path.write_text(buffer.getvalue())
    params, con = Params(), duckdb.connect()
    con.register("_lines", lines_table(path, "export.csv"))
    lines = "lines as (select _line, case when _text is null then _raw end as _raw, _text from _lines)"
    select = _csv_select(None, path, "export.csv", lines, params, ",", None)
    staged = con.execute(f"select _parse_ok, a, b, c from ({select}) order by _line", params.values).fetchall()
    assert [s[0] for s in staged] == [True] * len(rows)
    assert [list(s[1:]) for s in staged] == [[f or None for f in r] for r in rows]  # empty fields are null
