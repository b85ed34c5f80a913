"""Great Expectations quality gates: suites as code, run inside DuckDB."""

from expectations._gate import Finding, GateResult, validate
from expectations._suites import raw_suite

__all__ = ["Finding", "GateResult", "raw_suite", "validate"]
