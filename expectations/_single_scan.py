"""Weir's custom GX expectation, apart from the suites so that building or reading a suite does
not import Great Expectations (seconds per Airflow task that only records or releases)."""

from typing import ClassVar

import great_expectations.expectations as gxe


class ExpectNoFailingChecks(gxe.UnexpectedRowsExpectation):
    """Weir's custom expectation: its query scans the batch once and returns one row per failing
    check (`check_id`, `n`); it passes when no row comes back.

    GX's UnexpectedRowsExpectation runs its query twice, once for the rows and once to count
    them; this reads the rows once and counts them, halving the gate's cost.
    """

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.table",)

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine=None) -> dict:  # type: ignore[no-untyped-def]
        rows = metrics["unexpected_rows_query.table"]
        return {"success": not rows, "result": {"observed_value": len(rows), "details": {"unexpected_rows": rows}}}
