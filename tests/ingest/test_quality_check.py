"""`weir quality check`: the raw suites pass on a loaded batch with every bad-input class (bad
rows are in quarantine, not raw) and catch raw personal data that slips into raw; results are
recorded for pass-rate reports."""

import shutil
from pathlib import Path

import duckdb

from weir.config import resolve_data_dir
from weir.quality import check_raw, pass_rates


def test_loaded_batch_passes_then_a_leaked_email_is_caught(loaded, tmp_path: Path) -> None:
    # Prepare: a private copy of the loaded data dir.
    source, generated, _ = loaded
    shutil.copytree(source.root, tmp_path / "copy")
    data_dir = resolve_data_dir(tmp_path / "copy")
    batch = generated.batch_id

    # Execute: check the clean load, then leak an e-mail address into one review.
    first = check_raw(data_dir, batch)
    with duckdb.connect(str(data_dir.warehouse)) as con:
        first_review = "(select min(review_id) from raw.reviews)"
        con.execute(f"update raw.reviews set text = 'write to li.wei@qq.com' where review_id = {first_review}")
    second = check_raw(data_dir, batch)

    # Assert
    assert len(first) == 12 and not any(c.result.blocked for c in first)
    blocked = [c for c in second if c.result.blocked]
    assert [c.source for c in blocked] == ["reviews"]
    assert [str(f) for f in blocked[0].result.findings] == [
        "error: suite raw_reviews, expectation 'no raw email in text' (column text): observed 1"
    ]
    rates = {suite: (runs, blocked_runs) for suite, runs, blocked_runs, _, _ in pass_rates(data_dir)}
    # The ingest gate ran once per source before commit, then the two checks here.
    assert rates["raw_reviews"] == (3, 1) and rates["raw_events"] == (3, 0)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        findings = con.execute("select suite, expectation, column_name, observed from quality.findings").fetchall()
    assert findings == [("raw_reviews", "no raw email in text", "text", "1")]
