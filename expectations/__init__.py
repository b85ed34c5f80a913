"""Great Expectations quality gates: suites as code, run inside DuckDB."""

from expectations._gate import Finding, GateResult, build_docs, validate
from expectations._suites import raw_suite

__all__ = ["Finding", "GateResult", "build_docs", "raw_suite", "validate"]
