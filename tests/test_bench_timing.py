"""The benchmarks' shared timing (issue 22): repeats alternate their order, ratios are paired
per repeat, "target met" rests on the worst repeat, and every script takes `--repeat`."""

import ast
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _timing  # noqa: E402  (benchmarks/ is not a package: scripts import it as a sibling)


def test_each_repeat_starts_with_the_next_side_after_one_warm_up_each() -> None:
    # Arrange
    calls: list[str] = []
    sides = {name: (lambda n=name: calls.append(n)) for name in ("weir", "plain", "naive")}

    # Act
    _timing.alternate(4, sides, warmup=True)

    # Assert
    assert calls[:3] == ["weir", "plain", "naive"]  # warm-up
    rounds = [calls[i : i + 3] for i in range(3, len(calls), 3)]
    assert [r[0] for r in rounds] == ["weir", "plain", "naive", "weir"]
    assert all(sorted(r) == ["naive", "plain", "weir"] for r in rounds)


def test_self_timed_sides_report_their_own_seconds() -> None:
    times = _timing.alternate(3, {"a": lambda: 2.0, "b": lambda: 4.0}, self_timed=True)

    assert times == {"a": [2.0, 2.0, 2.0], "b": [4.0, 4.0, 4.0]}


def test_the_ratio_line_carries_the_median_and_the_verdict_the_worst_repeat(capsys) -> None:
    # Median 1.0 meets <= 1.5, but one repeat (2.0) does not: the target is missed.
    values = _timing.ratio_lines("weir vs plain", [1.0, 2.0, 3.0], [1.0, 1.0, 3.0], target=("<=", 1.5))

    out = capsys.readouterr().out.splitlines()
    assert values == [1.0, 2.0, 1.0]
    assert out[0] == "ratio weir vs plain: 1.00  (min-max 1.00-2.00)"
    assert out[1] == "worst repeat weir vs plain: 2.00  (target <= 1.5: MISSED)"


def test_a_lower_bound_target_is_met_only_when_every_repeat_reaches_it(capsys) -> None:
    _timing.ratio_lines("recall", [0.99, 1.0], [1.0, 1.0], target=(">=", 0.99))
    _timing.ratio_lines("recall", [0.98, 1.0], [1.0, 1.0], target=(">=", 0.99))

    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith("target met)") and out[3].endswith("MISSED)")


@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("bench_*.py")), ids=lambda p: p.name)
def test_every_benchmark_takes_repeat(script: Path) -> None:
    calls = [
        node
        for node in ast.walk(ast.parse(script.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "add_repeat"
    ]
    assert calls, f"{script.name} does not call _timing.add_repeat (no --repeat)"
