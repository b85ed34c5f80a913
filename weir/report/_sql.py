"""Plain SQL against the warehouse, read-only; a missing table is a named, one-line failure."""

import duckdb

from weir.errors import WeirError
from weir.report._model import Table
from weir.warehouse import tables


class ReportInputMissing(WeirError):
    """A table the report reads is missing from the warehouse; run the stage that writes it."""


def require(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Raise ReportInputMissing naming the first `schema.table` that does not exist."""
    for name in names:
        schema, table = name.split(".")
        if table not in tables(con, schema):
            raise ReportInputMissing(f"table {name} is missing from the warehouse (its stage has not run here)")


def has(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, table = name.split(".")
    return table in tables(con, schema)


def query(con: duckdb.DuckDBPyConnection, title: str, sql: str, params: dict | list | None = None) -> Table:
    """Run one query (parameters bound, never formatted into the text) into a titled table."""
    cursor = con.execute(sql, params or [])
    columns = tuple(d[0] for d in cursor.description)
    return Table(title, columns, cursor.fetchall())
