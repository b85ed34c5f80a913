"""The name stage: the dataset's own people redacted from its free text, common words kept."""

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from privacy._names import PLACEHOLDER, redact_names
from weir.scrub_eval_names import name_report


def test_the_labelled_name_set_meets_the_scrubbers_floor() -> None:
    report = name_report()
    assert report["recall"][0] >= 0.99 and report["precision"][0] >= 0.99, report["wrong"][0].to_list()


def test_null_and_empty_texts_pass_through() -> None:
    out = redact_names(pl.Series([None, "", "fine"], dtype=pl.Utf8), pl.Series(["Dallas Smith"]))
    assert out.to_list() == [None, "", "fine"]


@given(st.text(alphabet=st.characters(categories=["L", "Zs", "P"]), max_size=60))
def test_no_name_survives_in_any_surrounding_text(around: str) -> None:
    text = f"{around} Dallas {around}"
    out = redact_names(pl.Series([text]), pl.Series(["Dallas Smith"]))[0]
    # The name itself is gone unless glued to letters (then it is part of another word).
    glued = (around[-1:].isalpha()) or (around[:1].isalpha())
    assert glued or "Dallas" not in out.replace(PLACEHOLDER, "")
