"""Great Expectations 1.x on DuckDB: the one workaround Weir needs, in one place.

GX's SQL engine runs each metric query inside `with get_connection()` and returns the live
cursor result; the connection closes when the block ends. duckdb-engine (0.17, DuckDB 2.x)
then yields no rows, so every SQL metric fails with `MetricResolutionError: list index out
of range` and every expectation reports failure with an empty result (great_expectations
issue 11579). Buffering the rows before the connection closes (`freeze()`) fixes it.
tests/expectations/test_duckdb_workaround.py pins both the bug and the fix.
"""

from collections.abc import Mapping

import pyarrow as pa
import sqlalchemy
from great_expectations.execution_engine.sqlalchemy_execution_engine import SqlAlchemyExecutionEngine

_ORIGINAL = SqlAlchemyExecutionEngine.execute_query


def _buffered_execute_query(self, query):  # type: ignore[no-untyped-def]
    with self.get_connection() as connection:
        return self._execute_query_with_recovery(connection, query).freeze()()


def install() -> None:
    """Make GX buffer query results before closing the connection (idempotent)."""
    SqlAlchemyExecutionEngine.execute_query = _buffered_execute_query


def uninstall() -> None:
    """Restore GX's own behaviour (tests use it to show the bug is still there)."""
    SqlAlchemyExecutionEngine.execute_query = _ORIGINAL


def register_on_connect(engine: sqlalchemy.Engine, tables: Mapping[str, pa.Table]) -> None:
    """Make the Arrow `tables` readable by name on every DuckDB connection `engine` opens.

    An in-memory DuckDB lives and dies with its connection, so the tables are registered as
    each one opens (connections opened before this are closed first). Registering is zero-copy.
    """
    if not tables:
        return
    engine.dispose()

    def register(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        for name, table in tables.items():
            dbapi_connection.register(name, table)

    sqlalchemy.event.listen(engine, "connect", register)
