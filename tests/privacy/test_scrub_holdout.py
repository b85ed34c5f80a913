"""The scrubber on the hand-written labelled set (weir/scrub_holdout.py), apart from the
generated tuning set: floors, not targets. The misses are recorded in benchmarks/README.md
(bench_scrub.py prints both sets); raise a floor when the scrubber learns a new spelling."""

import polars as pl
import pytest

from privacy._scrub import scrub
from weir.scrub_eval import KINDS, evaluate
from weir.scrub_holdout import HOLDOUT, holdout_set

# Measured 2026-12-04 (session 13). Recall floors per kind; precision must stay >= 0.8.
RECALL_FLOOR = {"email": 0.75, "phone": 0.9, "id_number": 0.6, "bank_card": 0.75, "mention": 1.0}


@pytest.fixture(scope="module")
def report() -> dict[str, dict]:
    return {row["kind"]: row for row in evaluate(holdout_set()).iter_rows(named=True)}


def test_the_holdout_set_covers_every_kind_and_negatives() -> None:
    labelled = holdout_set()
    assert set(labelled["kind"].drop_nulls()) == set(KINDS)
    assert labelled["kind"].null_count() >= 10
    for text, kind, value in HOLDOUT:  # labels point at what is really in the text
        assert (kind is None) == (value is None) and (value is None or value in text), text


@pytest.mark.parametrize("kind", KINDS)
def test_recall_and_precision_hold_their_floor(report, kind: str) -> None:
    assert report[kind]["recall"] >= RECALL_FLOOR[kind], report[kind]
    assert report[kind]["precision"] >= 0.8, report[kind]


def test_look_alikes_survive_unchanged() -> None:
    negatives = holdout_set().filter(pl.col("kind").is_null())["text"]
    changed = [t for t, s in zip(negatives, scrub(negatives), strict=True) if "<" in s and "<" not in t]
    assert changed == []
