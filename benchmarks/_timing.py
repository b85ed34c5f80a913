"""Shared by the benchmark scripts (run as `python benchmarks/bench_*.py`)."""

import time
from collections.abc import Callable


def timed(work: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start
