"""Shared by the benchmark scripts (run as `python benchmarks/bench_*.py`): repeated,
order-fair timings with their spread.

How to adopt it in a script:

    parser.add_argument(...)
    add_repeat(parser)                       # --repeat N (default 3)
    args = parser.parse_args()
    times = alternate(args.repeat, {"weir": lambda: run_weir(), "plain": lambda: run_plain()},
                      warmup=True)           # warm-up once each where caches matter
    print(spread_line("weir", times["weir"]))
    print(spread_line("plain", times["plain"]))
    ratio_lines("weir vs plain", times["weir"], times["plain"], target=("<=", 3))

`alternate` runs each side once per repeat and rotates which one goes first, so a cold
first run or a neighbour's burst does not always land on the same side. Ratios are paired
per repeat (weir_i / plain_i, both measured back to back); `ratio_lines` prints
`ratio <label>: <median>` (the figure the README records), then the min-max and the worst
repeat, and says "target met" only when the worst repeat meets the target.
"""

import statistics
import time
from collections.abc import Callable


def timed(work: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def add_repeat(parser, default: int = 3) -> None:  # type: ignore[no-untyped-def]
    parser.add_argument("--repeat", type=int, default=default, help=f"repeats, order alternated (default {default})")


def alternate(
    repeat: int, sides: dict[str, Callable[[], object]], warmup: bool = False, self_timed: bool = False
) -> dict[str, list[float]]:
    """Seconds of each side per repeat; repeat i starts with side i mod len(sides).

    With `self_timed`, each side returns its own seconds (e.g. measured inside a child
    process, leaving its start-up out) instead of being timed around the call."""
    names = list(sides)
    if warmup:
        for name in names:
            sides[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(max(1, repeat)):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(float(sides[name]()) if self_timed else timed(sides[name]))  # type: ignore[arg-type]
    return times


def summary(values: list[float], fmt: str = ".2f") -> str:
    """`median (min-max)` of a list of figures."""
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def spread_line(label: str, seconds: list[float], fmt: str = ".2f") -> str:
    return f"{label}: median {summary(seconds, fmt)} s over {len(seconds)} repeats"


def ratios(numerator: list[float], denominator: list[float]) -> list[float]:
    """Per-repeat ratios of paired measurements."""
    return [n / d for n, d in zip(numerator, denominator, strict=True)]


def ratio_lines(
    label: str, numerator: list[float], denominator: list[float], target: tuple[str, float] | None = None
) -> list[float]:
    """Print the median ratio (the recorded figure), its spread and the worst repeat against the target."""
    values = ratios(numerator, denominator)
    print(f"ratio {label}: {statistics.median(values):.2f}  (min-max {min(values):.2f}-{max(values):.2f})")
    if target is None:
        return values
    op, bound = target
    worst = max(values) if op == "<=" else min(values)
    met = worst <= bound if op == "<=" else worst >= bound
    print(f"worst repeat {label}: {worst:.2f}  (target {op} {bound}: {'target met' if met else 'MISSED'})")
    return values
