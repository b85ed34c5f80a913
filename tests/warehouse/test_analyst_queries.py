"""README's "For analysts" queries run as written against the published layer."""

import re
from pathlib import Path

import duckdb
import pytest

from weir.publish import published_db

README = Path(__file__).resolve().parents[2] / "README.md"


def _queries() -> list[str]:
    text = README.read_text()
    section = text.split("## For analysts", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


def test_readme_has_analyst_queries() -> None:
    assert len(_queries()) >= 5


@pytest.mark.parametrize("query", _queries(), ids=lambda q: q.splitlines()[0][3:40])
def test_analyst_query_runs_as_written(built, query: str) -> None:
    with duckdb.connect(str(published_db(built.data_dir)), read_only=True) as con:
        rows = con.execute(query).fetchall()
    assert rows
