"""The raw-batch gate runs before commit: a batch that breaks an error-level check never
reaches raw, its rows wait in quarantine (nothing lost), the ledger says `rejected` with the
findings, and the pipeline stops with a message naming suite, check, column and observed value."""

from datetime import date
from pathlib import Path

import duckdb
import pytest

from weir import pipeline
from weir.config import resolve_data_dir
from weir.dsr._store import DDL as DSR_DDL
from weir.errors import ConfigError, LandingError, QualityGateBlocked
from weir.generate import GenerateConfig, generate


def _leak_email_into_reviews(landing: Path) -> None:
    """A plain column the contract accepts (any short text) carrying an e-mail address."""
    (part,) = landing.glob("reviews/*/part-0000.jsonl")
    lines = part.read_text().splitlines()
    first = lines[0]
    item = first.split('"item_id":"', 1)[1].split('"', 1)[0]
    lines[0] = first.replace(f'"item_id":"{item}"', '"item_id":"li.wei@qq.com"')
    part.write_text("\n".join(lines) + "\n")


def test_gate_keeps_a_leaking_batch_out_of_raw(tmp_path: Path) -> None:
    # Prepare
    data_dir = resolve_data_dir(tmp_path)
    generated = generate(GenerateConfig(users=200, days=1, seed=8, bad_rate=0.0), data_dir.landing)
    _leak_email_into_reviews(data_dir.landing)

    # Execute
    with pytest.raises(QualityGateBlocked) as blocked:
        pipeline.ingest_stage(data_dir, "test")
    rerun = pipeline.ingest_stage(data_dir, "test", stop_on_reject=False)  # as the Airflow task calls it
    with pytest.raises(QualityGateBlocked) as verdict:
        pipeline.raw_gate_stage(data_dir, "test", generated.batch_id)  # the gate_raw task

    # Assert: the messages name suite, check, column and what was observed.
    finding = "error: suite raw_reviews, expectation 'no raw email in item_id' (column item_id): observed 1"
    assert f"reviews/{generated.batch_id}:\n  {finding}" in str(blocked.value)
    assert f"reviews/{generated.batch_id}:\n  {finding}" in str(verdict.value)
    assert {r.source: r.status for r in rerun}["reviews"] == "rejected"  # re-run: still rejected, nothing changes
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        ledger = con.execute(
            "select status, rows_in, rows_loaded, rows_quarantined from ingest.load_ledger where source = 'reviews'"
        ).fetchall()
        quarantined = con.execute(
            "select count(*), min(message) from ingest.quarantine where source = 'reviews' and reason = 'gate_rejected'"
        ).fetchone()
        raw_reviews = con.execute("select count(*) from raw.reviews").fetchone()[0]
        findings = con.execute("select suite, expectation, column_name, severity from quality.findings").fetchall()
        others = con.execute("select distinct status from ingest.load_ledger where source <> 'reviews'").fetchall()
    rows_in = generated.rows["reviews"]
    assert ledger == [("rejected", rows_in, 0, rows_in)]
    assert quarantined[0] == rows_in and "no raw email in item_id (column item_id): observed 1" in quarantined[1]
    assert raw_reviews == 0
    assert findings == [("raw_reviews", "no raw email in item_id", "item_id", "error")]
    assert others == [("held",)]  # the other sources passed their gates but wait with the batch


def _raw_rows(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict[str, int]:
    names = [r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()]
    return {
        n: con.execute(f'select count(*) from raw."{n}" where _batch_id = ?', [batch_id]).fetchone()[0] for n in names
    }


def test_a_held_batch_stays_out_of_raw_until_released_then_loads_whole(tmp_path: Path) -> None:
    # Prepare: one batch whose reviews leak an e-mail address (the reviews gate blocks it).
    data_dir = resolve_data_dir(tmp_path)
    generated = generate(GenerateConfig(users=200, days=1, seed=8, bad_rate=0.0), data_dir.landing)
    _leak_email_into_reviews(data_dir.landing)
    with pytest.raises(QualityGateBlocked, match="weir ingest --release BATCH --reason TEXT"):
        pipeline.ingest_stage(data_dir, "test")
    with duckdb.connect(str(data_dir.warehouse)) as con:
        held_raw = _raw_rows(con, generated.batch_id)
        consent_rows = con.execute("select count(*) from consent.ledger").fetchone()[0]
        # A user erased (DSR) while the batch was held: their held rows must not come back.
        erased = con.execute(
            "select user_token from ingest.held_events group by all order by count(*) desc, 1 limit 1"
        ).fetchone()[0]
        erased_rows = con.execute(  # as actor or as target (e.g. of a follow)
            "select count(*) from ingest.held_events where ? in (user_token, target_user_token)", [erased]
        ).fetchone()[0]
        con.execute(DSR_DDL)
        con.execute("insert into dsr.suppressed values (sha256(?), 1, 'DSR-test', now())", [erased])

    # Execute
    with pytest.raises(ConfigError, match="--release needs --reason"):
        pipeline.release_stage(data_dir, "test", generated.batch_id, "  ")
    released = pipeline.release_stage(data_dir, "test", generated.batch_id, "item_id e-mail reviewed: test data")
    rerun = pipeline.ingest_stage(data_dir, "test")
    verdicts = pipeline.raw_gate_stage(data_dir, "test", generated.batch_id)
    with pytest.raises(LandingError, match=f"Batch {generated.batch_id} is not held"):
        pipeline.release_stage(data_dir, "test", generated.batch_id, "again")

    # Assert: nothing of the batch was in raw while held; after release all of it is, counts add up.
    assert set(held_raw.values()) == {0} and consent_rows == 0
    landed = [source for source, rows in generated.rows.items() if rows]  # a one-day world may lack a source
    assert {r.source: r.status for r in released} == dict.fromkeys(landed, "loaded")
    assert {r.status for r in rerun} == {"already_loaded"} and set(verdicts.values()) == {"loaded"}
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        ledger = con.execute(
            "select source, rows_in, rows_loaded, rows_quarantined from ingest.load_ledger where batch_id = ?",
            [generated.batch_id],
        ).fetchall()
        raw = _raw_rows(con, generated.batch_id)
        gate_rejected = con.execute("select count(*) from ingest.quarantine where reason = 'gate_rejected'").fetchone()
        erased_left = con.execute(
            "select (select count(*) from raw.events where user_token = $t), (select count(*) from ingest.quarantine "
            "where source = 'events' and reason = 'erased_user' and sanitised_text is null)",
            {"t": erased},
        ).fetchone()
        audited = con.execute(
            "select count(*), count(distinct json_extract_string(inputs, '$.reason')) from audit.log "
            "where action = 'ingest_release'"
        ).fetchone()
    assert all(rows_in == loaded + quarantined for _, rows_in, loaded, quarantined in ledger)
    assert {s: loaded for s, _, loaded, _ in ledger} == {s: raw[s] for s, _, _, _ in ledger}
    assert gate_rejected == (0,) and erased_left == (0, erased_rows)
    assert audited == (len(landed) + 1, 1)  # reviews: loaded into held, then moved with the batch


def test_a_sudden_drop_in_volume_is_rejected(tmp_path: Path) -> None:
    # Prepare: a normal first batch, then one with a tenth of the users (and of the events per day).
    data_dir = resolve_data_dir(tmp_path)
    first = generate(GenerateConfig(users=600, days=2, seed=8, bad_rate=0.0), data_dir.landing)
    pipeline.ingest_stage(data_dir, "test")
    assert set(pipeline.raw_gate_stage(data_dir, "test", first.batch_id).values()) == {"loaded"}
    later = date(2026, 10, 3)
    generate(GenerateConfig(users=60, days=2, seed=9, bad_rate=0.0, start=later), data_dir.landing)

    # Execute
    with pytest.raises(QualityGateBlocked) as blocked:
        pipeline.ingest_stage(data_dir, "test")

    # Assert: events are held back naming the volume check; raw keeps only the first batch.
    message = " ".join(str(blocked.value).split())
    assert "suite raw_events, expectation 'rows per day of ts between" in message and "(column ts)" in message
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        status = dict(
            con.execute("select source, status from ingest.load_ledger where batch_id like '20261003%'").fetchall()
        )
        days = con.execute("select count(distinct ts::date) from raw.events").fetchone()[0]
    assert status["events"] == "rejected" and days == 2


def test_a_single_withdrawal_is_a_batch_of_its_own(tmp_path: Path) -> None:
    # Prepare: a first consent batch of 1,200 grants on one day, then one user's lone withdrawal.
    data_dir = resolve_data_dir(tmp_path)
    first = generate(GenerateConfig(users=600, days=2, seed=8, bad_rate=0.0), data_dir.landing)
    (generated,) = (data_dir.landing / "consent" / first.batch_id).glob("part-*.jsonl")
    users = sorted({line.split('"user_id":"', 1)[1].split('"', 1)[0] for line in generated.read_text().splitlines()})
    generated.write_text(
        "".join(
            _consent(f"G{i}-{purpose}", user, purpose, "granted", "2026-10-01T09:00:00Z")
            for i, user in enumerate(users)
            for purpose in ("analytics", "marketing")
        )
    )
    pipeline.ingest_stage(data_dir, "test")
    folder = data_dir.landing / "consent" / "withdrawal-1"
    folder.mkdir()
    (folder / "part-0000.jsonl").write_text(_consent("W1", users[0], "analytics", "withdrawn", "2026-10-03T08:00:00Z"))

    # Execute
    results = pipeline.ingest_stage(data_dir, "test", source="consent", batch_id="withdrawal-1")

    # Assert: consent is event-driven, so no volume band holds a one-row batch back.
    assert len(users) * 2 >= 1000
    assert [(r.status, r.rows_loaded) for r in results] == [("loaded", 1)]


def _consent(consent_id: str, user: str, purpose: str, status: str, ts: str) -> str:
    return (
        f'{{"consent_id":"{consent_id}","user_id":"{user}","purpose":"{purpose}","status":"{status}",'
        f'"ts":"{ts}","policy_version":"2025-06","source":"app_settings"}}\n'
    )
