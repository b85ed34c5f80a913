"""Erasure reaches every copy: tables of every schema, the published layer, files under the data
dir; a replayed batch and a key rotation afterwards do not bring the user back."""

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from privacy import _vault
from privacy._keyring import vault_master_key
from tests.dsr.conftest import Person, busiest, landing_batch
from weir import dsr, pipeline
from weir.config import DataDir
from weir.dsr import _erase
from weir.ingest import ingest
from weir.publish import published_dir


def erase(data_dir: DataDir, person: Person) -> str:
    submitted = dsr.submit_request(data_dir, "erasure", person.user_id, "test")
    dsr.run_requests(data_dir, "test", submitted.request_id)
    return submitted.request_id


def table_hits(con: duckdb.DuckDBPyConnection, database: str, needles: list[str]) -> dict[str, int]:
    """Every base table of `database`, every column cast to text: rows holding any needle."""
    hits = {}
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ?", [database]
    ).fetchall()
    for schema, table in tables:
        cols = [
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where database_name = ? and schema_name = ? "
                "and table_name = ?",
                [database, schema, table],
            ).fetchall()
        ]
        where = " or ".join(f'contains(cast("{c}" as varchar), $n)' for c in cols)
        for needle in needles:
            n = con.execute(f'select count(*) from "{database}"."{schema}"."{table}" where {where}', {"n": needle})
            count = n.fetchone()[0]
            if count:
                hits[f"{schema}.{table}:{needle[:6]}"] = count
    return hits


def file_hits(root: Path, needles: list[str], skip: tuple[str, ...]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file() or path.relative_to(root).parts[0] in skip:
            continue
        data = path.read_bytes()
        found += [f"{path.relative_to(root)}:{n[:6]}" for n in needles if n.encode() in data]
    return found


def test_an_erased_user_is_in_no_table_of_any_schema_no_published_table_and_no_file(copy_dir: DataDir) -> None:
    person = busiest(copy_dir)
    user_token = person.token(copy_dir)
    needles = [user_token, *person.raw_values]  # id, name, phone, email
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        assert table_hits(con, con.execute("select current_database()").fetchone()[0], [user_token])

    request_id = erase(copy_dir, person)

    request, steps = dsr.show_request(copy_dir, request_id)
    assert (request.status, request.reason) == ("completed", None)
    assert [s.system for s in steps] == [
        "received", "resolve", *(name for name, _ in _erase.SYSTEMS), "executed", "verify", "completed", "compact",
    ]  # fmt: skip
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        assert table_hits(con, con.execute("select current_database()").fetchone()[0], needles) == {}
        con.execute("attach ? as pub (read_only)", [str(published_dir(copy_dir) / "published.duckdb")])
        assert table_hits(con, "pub", needles) == {}
        for part in (published_dir(copy_dir) / "parquet").glob("*.parquet"):
            text = con.execute("select cast(columns(*) as varchar) from read_parquet(?)", [str(part)]).fetchall()
            assert not [n for n in needles if n in repr(text)], part.name
    versions = sorted(p.name for p in (published_dir(copy_dir) / "versions").iterdir())
    assert versions == [(published_dir(copy_dir) / "current").resolve().name]
    # Landing is write-once evidence (landing retention deletes it); every other file, DuckDB ones
    # included (deleted rows linger in a DuckDB file's blocks until it is rewritten):
    assert file_hits(copy_dir.root, needles, skip=("landing",)) == []


def test_the_request_record_keeps_only_the_token_hash_and_says_dp_releases_stand(copy_dir: DataDir) -> None:
    person = busiest(copy_dir)
    user_token = person.token(copy_dir)

    request_id = erase(copy_dir, person)

    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        row = con.execute(
            "select user_token, subject_hash, notes from dsr.requests where request_id = ?", [request_id]
        ).fetchone()
        suppressed = con.execute("select token_hash, request_id from dsr.suppressed").fetchall()
        actions = [
            r[0]
            for r in con.execute(
                "select action from audit.log where inputs like ? order by seq", [f"%{request_id}%"]
            ).fetchall()
        ]
    digest = hashlib.sha256(user_token.encode()).hexdigest()
    assert row == (None, digest, _erase.DP_NOTE)
    assert suppressed == [(digest, request_id)]
    assert actions == [f"dsr_{s}" for s in ("received", "resolve", *(n for n, _ in _erase.SYSTEMS))] + [
        "dsr_executed",
        "dsr_verify",
        "dsr_completed",
        "dsr_compact",
    ]


def replay(data_dir: DataDir, source: str) -> str:
    """Land an exact copy of the source's first batch under a new batch id (a replayed file)."""
    original = landing_batch(data_dir, source)
    copy = original.with_name(original.name + "-replay")
    shutil.copytree(original, copy)
    return copy.name


def test_a_replayed_old_batch_leaves_the_erased_user_out_counted_as_quarantined(copy_dir: DataDir) -> None:
    person = busiest(copy_dir)
    user_token = person.token(copy_dir)
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        theirs = con.execute("select count(*) from raw.events where user_token = ?", [user_token]).fetchone()[0]
    erase(copy_dir, person)
    batch = replay(copy_dir, "events")

    (result,) = ingest(copy_dir, "events", batch)

    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        back = con.execute("select count(*) from raw.events where user_token = ?", [user_token]).fetchone()[0]
        kept = con.execute(
            "select count(*), count(sanitised_text) from ingest.quarantine "
            "where batch_id = ? and reason = 'erased_user'",
            [batch],
        ).fetchone()
    assert back == 0
    assert result.reasons["erased_user"] == theirs == kept[0]
    assert kept[1] == 0  # quarantined without their text: no token kept
    assert result.rows_in == result.rows_loaded + result.rows_quarantined


def test_a_key_rotation_after_erasure_keeps_the_user_suppressed(copy_dir: DataDir) -> None:
    person = busiest(copy_dir)
    erase(copy_dir, person)

    pipeline.rotate_stage(copy_dir, "test")
    batch = replay(copy_dir, "events")
    (result,) = ingest(copy_dir, "events", batch)

    new_token = person.token(copy_dir)
    assert new_token.startswith("tk2_")
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        versions = con.execute("select key_version from dsr.suppressed order by 1").fetchall()
        hashed = con.execute(
            "select count(*) from dsr.suppressed where token_hash = ?", [hashlib.sha256(new_token.encode()).hexdigest()]
        ).fetchone()[0]
        back = con.execute("select count(*) from raw.events where user_token = ?", [new_token]).fetchone()[0]
    assert versions == [(1,), (2,)]
    assert hashed == 1
    assert back == 0
    assert result.reasons["erased_user"] > 0


def test_an_erasure_that_crashes_midway_resumes_from_the_systems_not_done(
    copy_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = busiest(copy_dir)
    submitted = dsr.submit_request(copy_dir, "erasure", person.user_id, "test")

    def crash(_: _erase.Erasure) -> dict:
        raise RuntimeError("simulated crash in the published step")

    real = _erase.SYSTEMS
    monkeypatch.setattr(_erase, "SYSTEMS", tuple((n, crash if n == "published" else f) for n, f in real))
    with pytest.raises(RuntimeError, match="simulated crash in the published step"):
        dsr.run_requests(copy_dir, "test", submitted.request_id)
    mid, steps = dsr.show_request(copy_dir, submitted.request_id)
    monkeypatch.setattr(_erase, "SYSTEMS", real)

    (outcome,) = dsr.run_requests(copy_dir, "test", submitted.request_id)

    assert mid.status == "resolved"
    # every system before the crashed one ran once, in order
    before_crash = [name for name, _ in real][: [name for name, _ in real].index("published")]
    assert [s.system for s in steps] == ["received", "resolve", *before_crash]
    assert "models" in before_crash  # models go before published and vault
    _, after = dsr.show_request(copy_dir, submitted.request_id)
    systems = [s.system for s in after]
    assert outcome.status == "completed"
    assert {name: systems.count(name) for name, _ in real} == {name: 1 for name, _ in real}
    raw_step = next(s for s in after if s.system == "raw")
    assert json.loads(raw_step.detail)["tables"]["raw.users"] == {"deleted": 1, "blanked": 0}


def test_after_erasure_the_audit_chain_verifies_and_the_next_build_and_publish_leave_the_user_out(
    copy_dir: DataDir,
) -> None:
    person = busiest(copy_dir)
    user_token = person.token(copy_dir)
    erase(copy_dir, person)

    pipeline.warehouse_stage(copy_dir, "test")
    pipeline.publish_stage(copy_dir, "test")

    assert pipeline.verify_audit(copy_dir).ok
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        assert table_hits(con, con.execute("select current_database()").fetchone()[0], [user_token]) == {}
        con.execute("attach ? as pub (read_only)", [str(published_dir(copy_dir) / "published.duckdb")])
        assert table_hits(con, "pub", [user_token]) == {}


def test_requests_from_the_dsr_source_are_imported_once_with_the_stricter_deadline(copy_dir: DataDir) -> None:
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        source = con.execute(
            "select request_id, request_type, least(deadline_at, received_at + interval 15 day) from raw.dsr"
        ).fetchall()

    first = dsr.run_requests(copy_dir, "test")
    again = dsr.run_requests(copy_dir, "test")

    listed = {r.request_id: r for r in dsr.list_requests(copy_dir)}
    assert {o.request_id for o in first} == {r[0] for r in source}
    assert {o.status for o in first} == {"completed"}
    assert again == []  # nothing left open, nothing imported twice
    for request_id, request_type, due in source:
        assert (listed[request_id].request_type, listed[request_id].origin) == (request_type, "raw.dsr")
        assert listed[request_id].deadline_at.replace(tzinfo=None) == due.replace(tzinfo=None)


def test_unparsable_quarantined_lines_are_decrypted_and_deleted_only_when_they_are_the_users(
    copy_dir: DataDir,
) -> None:
    from privacy import _vault
    from privacy._keyring import vault_master_key

    person, other = busiest(copy_dir, 0), busiest(copy_dir, 1)
    master = vault_master_key(copy_dir.keys)
    lines = {
        1: f'{{"user_id": "{person.user_id}", "event_type": "view", broken',
        2: f'{{"user_id": "{other.user_id}", "event_type": "view", broken',
        3: f"{person.email},garbled",
    }
    with duckdb.connect(str(copy_dir.warehouse)) as con:
        for line, text in lines.items():
            sealed = _vault._seal(master.material, text.encode(), f"quarantine|events|bad.jsonl|{line}".encode())
            con.execute(
                "insert into ingest.quarantine values ('events', 'b1', 'bad.jsonl', ?, 'malformed_line', 'm', null, ?)",
                [line, sealed],
            )

    erase(copy_dir, person)

    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        left = con.execute("select line from ingest.quarantine where batch_id = 'b1' order by line").fetchall()
    assert left == [(2,)]


def test_a_failed_verification_sends_the_erasure_through_every_system_again(
    copy_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = busiest(copy_dir)
    submitted = dsr.submit_request(copy_dir, "erasure", person.user_id, "test")
    real = _erase.residue
    monkeypatch.setattr(_erase, "residue", lambda e: {s.request_id: {"ops.some_table": 1} for s in e.subjects})
    (first,) = dsr.run_requests(copy_dir, "test", submitted.request_id)
    monkeypatch.setattr(_erase, "residue", real)

    (second,) = dsr.run_requests(copy_dir, "test", submitted.request_id)

    _, steps = dsr.show_request(copy_dir, submitted.request_id)
    failed = next(s for s in steps if s.system == "verify" and s.status == "failed")
    assert (first.status, second.status) == ("resolved", "completed")
    assert json.loads(failed.detail) == {"residue": {"ops.some_table": 1}}
    assert [s.system for s in steps].count("raw") == 2


def test_verification_still_looks_for_contact_values_after_the_vault_is_shredded(
    copy_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = busiest(copy_dir)
    with duckdb.connect(str(copy_dir.warehouse)) as con:
        phone = _vault.read(con, vault_master_key(copy_dir.keys), person.token(copy_dir), "phone")

    def leak(e: _erase.Erasure) -> dict:  # a copy no system removes, written once the vault is shredded
        e.con.execute("create table main.leak as select ? as note", [f"call {phone} after six"])
        return e.each({})

    monkeypatch.setattr(_erase, "SYSTEMS", (*_erase.SYSTEMS, ("leak", leak)))
    submitted = dsr.submit_request(copy_dir, "erasure", person.user_id, "test")

    (outcome,) = dsr.run_requests(copy_dir, "test", submitted.request_id)

    _, steps = dsr.show_request(copy_dir, submitted.request_id)
    failed = next(s for s in steps if s.system == "verify" and s.status == "failed")
    assert outcome.status == "resolved"
    assert json.loads(failed.detail) == {"residue": {"main.leak": 1}}
