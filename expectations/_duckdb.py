"""Great Expectations 1.x on DuckDB: the one workaround Weir needs, in one place.

GX's SQL engine runs each metric query inside `with get_connection()` and returns the live
cursor result; the connection closes when the block ends. duckdb-engine (0.17, DuckDB 2.x)
then yields no rows, so every SQL metric fails with `MetricResolutionError: list index out
of range` and every expectation reports failure with an empty result (great_expectations
issue 11579). Buffering the rows before the connection closes (`freeze()`) fixes it.
tests/expectations/test_duckdb_workaround.py pins both the bug and the fix.
"""

import duckdb
import sqlalchemy
from duckdb_engine import ConnectionWrapper
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


def use_connection(execution_engine: SqlAlchemyExecutionEngine, connection: duckdb.DuckDBPyConnection) -> None:
    """Run GX's queries on cursors of an open DuckDB connection instead of a new database.

    A fluent SQL datasource only takes a connection string, and a new connection to the same
    DuckDB file would need the same configuration (and could not see an attached in-memory
    database): the engine GX built is swapped for one whose connections are cursors.
    """
    execution_engine.engine = sqlalchemy.create_engine(
        "duckdb:///:memory:", creator=lambda: ConnectionWrapper(connection.cursor())
    )
