"""Audit chain: verifies when intact; each kind of tampering is detected and located, including
wipes, rollbacks and re-signing, which the witness outside the warehouse catches."""

import json
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from weir import audit


@pytest.fixture
def chain(tmp_path: Path) -> tuple[duckdb.DuckDBPyConnection, Ed25519PrivateKey, Path]:
    con = duckdb.connect(":memory:")
    key = Ed25519PrivateKey.generate()
    head = tmp_path / "audit" / "witness.jsonl"
    for i in range(1, 6):
        audit.append(con, key, head, "test", f"step{i}", {"input": i}, {"rows": i * 10})
    return con, key, head


def _verify(con, key, head) -> audit.VerifyReport:
    return audit.verify(audit.read_entries(con), key.public_key(), head)


def test_intact_chain_verifies(chain) -> None:
    report = _verify(*chain)

    assert report.ok and report.entries == 5 and report.first_bad_seq is None


def test_edit_is_detected(chain) -> None:
    con, key, head = chain
    con.execute("""update audit.log set figures = '{"rows":999}' where seq = 3""")

    report = _verify(con, key, head)

    assert (report.first_bad_seq, report.reason) == (3, "content does not match its hash (entry edited)")


def test_deleting_a_middle_entry_is_detected(chain) -> None:
    con, key, head = chain
    con.execute("delete from audit.log where seq = 2")

    report = _verify(con, key, head)

    assert report.first_bad_seq == 3
    assert "deleted or inserted" in report.reason


def test_deleting_the_last_entry_is_detected(chain) -> None:
    con, key, head = chain
    con.execute("delete from audit.log where seq = 5")

    report = _verify(con, key, head)

    assert report.first_bad_seq == 5
    assert report.reason.startswith("log ends at entry 4 but the witness recorded entry 5 at ")
    assert report.reason.endswith("(rolled back to an older state, or entries deleted from the end)")


def test_inserting_an_entry_is_detected(chain) -> None:
    con, key, head = chain
    forger = Ed25519PrivateKey.generate()
    con.execute("update audit.log set seq = seq + 1 where seq >= 3")
    fields = {
        "seq": 3,
        "recorded_at": "2026-01-01T00:00:00",
        "actor": "x",
        "action": "forged",
        "inputs": "{}",
        "figures": "{}",
        "prev_hash": audit.read_entries(con)[1].entry_hash,
    }
    digest = audit.entry_hash(fields)
    con.execute(
        "insert into audit.log values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [*fields.values(), digest, forger.sign(digest.encode()).hex()],
    )

    report = _verify(con, key, head)

    assert report.first_bad_seq == 3
    assert "signature invalid" in report.reason


def test_reordering_is_detected(chain) -> None:
    con, key, head = chain
    con.execute("update audit.log set seq = case seq when 2 then 4 when 4 then 2 else seq end")

    report = _verify(con, key, head)

    assert report.first_bad_seq == 2
    assert "link broken" in report.reason


def test_rehash_without_key_is_detected(chain) -> None:
    con, key, head = chain
    entry = audit.read_entries(con)[-1]
    fields = {f: getattr(entry, f) for f in audit.FIELDS} | {"figures": '{"rows":1}'}
    con.execute(
        "update audit.log set figures = ?, entry_hash = ? where seq = 5", [fields["figures"], audit.entry_hash(fields)]
    )

    report = _verify(con, key, head)

    assert (report.first_bad_seq, report.reason.split(" (")[0]) == (5, "signature invalid")


def test_forged_witness_line_is_detected(chain) -> None:
    con, key, head = chain
    lines = head.read_text().splitlines()
    head.write_text("\n".join([*lines[:-1], json.dumps(json.loads(lines[-1]) | {"seq": 9})]) + "\n")

    report = _verify(con, key, head)

    assert report.reason == f"witness line 5 of {head} has an invalid signature (witness edited)"


def test_every_append_witnesses_the_new_head_with_a_monotonic_counter(chain) -> None:
    con, key, head = chain

    lines = [json.loads(line) for line in head.read_text().splitlines()]

    assert [(line["counter"], line["seq"]) for line in lines] == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]
    assert {line["key_fingerprint"] for line in lines} == {audit.key_fingerprint(key.public_key())}
    assert lines[-1]["entry_hash"] == audit.read_entries(con)[-1].entry_hash
    assert oct(head.stat().st_mode & 0o777) == "0o600"


# --- attacks the chain alone cannot see: the witness catches them --------------------------


def test_deleting_every_row_and_the_old_head_file_fails(chain, tmp_path: Path) -> None:
    con, key, head = chain
    con.execute("delete from audit.log")
    (tmp_path / "audit_head.json").unlink(missing_ok=True)

    report = _verify(con, key, head)

    assert (report.ok, report.entries, report.first_bad_seq) == (False, 0, 1)
    assert report.reason.startswith("the audit log is empty but the witness recorded entry 5 at ")
    assert report.reason.endswith("(log wiped)")


def test_dropping_the_table_fails(chain) -> None:
    con, key, head = chain
    con.execute("drop table audit.log")

    report = audit.verify(audit.read_entries(con), key.public_key(), head)

    assert not report.ok
    assert report.reason.startswith("the audit.log table is missing but the witness recorded entry 5")
    assert "log" not in {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}


def test_rolling_back_to_an_older_state_with_its_signed_head_fails(tmp_path: Path) -> None:
    con = duckdb.connect(":memory:")
    key = Ed25519PrivateKey.generate()
    head = tmp_path / "witness.jsonl"
    for i in range(1, 4):
        audit.append(con, key, head, "test", f"step{i}", {}, {})
    older_log = con.execute("select * from audit.log").fetchall()
    for i in range(4, 6):
        audit.append(con, key, head, "test", f"step{i}", {}, {})
    con.execute("delete from audit.log")
    con.executemany("insert into audit.log values (?, ?, ?, ?, ?, ?, ?, ?, ?)", older_log)

    report = _verify(con, key, head)

    assert (report.entries, report.first_bad_seq) == (3, 4)
    assert report.reason.startswith("log ends at entry 3 but the witness recorded entry 5 at ")


def test_rewriting_a_witnessed_entry_with_a_consistent_chain_fails(chain) -> None:
    con, key, head = chain
    entries = audit.read_entries(con)
    con.execute("delete from audit.log where seq >= 4")
    for seq in (4, 5):  # re-signed with the real key: only the witness knows the old hashes
        prev = audit.read_entries(con)[-1].entry_hash
        fields = {
            "seq": seq,
            "recorded_at": entries[seq - 1].recorded_at,
            "actor": "x",
            "action": "forged",
            "inputs": "{}",
            "figures": "{}",
            "prev_hash": prev,
        }
        digest, signature = audit.seal(key, fields)
        con.execute("insert into audit.log values (?, ?, ?, ?, ?, ?, ?, ?, ?)", [*fields.values(), digest, signature])

    report = _verify(con, key, head)

    assert report.first_bad_seq == 4
    assert report.reason.startswith("entry 4 is not the one witnessed at ")


def test_re_signing_the_chain_with_a_new_key_fails(chain) -> None:
    con, old_key, head = chain
    new_key = Ed25519PrivateKey.generate()
    for entry in audit.read_entries(con):
        con.execute(
            "update audit.log set signature = ? where seq = ?",
            [new_key.sign(entry.entry_hash.encode()).hex(), entry.seq],
        )

    report = _verify(con, new_key, head)

    old, new = audit.key_fingerprint(old_key.public_key()), audit.key_fingerprint(new_key.public_key())
    assert report.reason == (
        f"the signing key (fingerprint {new[:16]}…) is not the witnessed key (fingerprint {old[:16]}… at witness "
        "line 1): the log was re-signed with another key, or the key was replaced; restore the original signing key"
    )


def test_truncating_the_witness_is_detected_by_its_counter(chain) -> None:
    con, key, head = chain
    lines = head.read_text().splitlines()
    head.write_text("\n".join(lines[:2] + lines[3:]) + "\n")

    report = _verify(con, key, head)

    assert report.reason == f"witness line 3 of {head} has counter 4 (witness lines removed or reordered)"


def test_deleting_the_witness_while_the_log_has_entries_fails(chain) -> None:
    con, key, head = chain
    head.unlink()

    report = _verify(con, key, head)

    assert report.reason == f"witness file {head} is missing but the log has 5 entries (witness deleted)"


def test_an_entry_written_in_the_callers_transaction_rolls_back_with_it(tmp_path: Path) -> None:
    con = duckdb.connect(":memory:")
    key = Ed25519PrivateKey.generate()
    con.execute("create table change (x int)")
    con.execute(audit.DDL)

    con.execute("begin transaction")
    con.execute("insert into change values (1)")
    audit.append_in(con, key, "test", "change", {}, {"x": 1})
    con.execute("rollback")
    con.execute("begin transaction")
    con.execute("insert into change values (2)")
    entry = audit.append_in(con, key, "test", "change", {}, {"x": 2})
    con.execute("commit")
    audit.witness_head(con, key, tmp_path / "witness.jsonl")

    assert con.execute("select x from change").fetchall() == [(2,)]
    assert [(e.seq, e.figures) for e in audit.read_entries(con)] == [(1, '{"x":2}')]
    assert entry.seq == 1 and _verify(con, key, tmp_path / "witness.jsonl").ok


def test_entries_never_carry_the_key(chain, tmp_path: Path) -> None:
    con, key, _ = chain
    from cryptography.hazmat.primitives import serialization

    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    dump = json.dumps([list(map(str, e)) for e in con.execute("select * from audit.log").fetchall()])

    assert raw.hex() not in dump


def test_rolling_back_log_and_witness_together_is_caught_by_the_published_copy(tmp_path: Path) -> None:
    con = duckdb.connect(":memory:")
    key = Ed25519PrivateKey.generate()
    head = tmp_path / "audit" / "witness.jsonl"
    for i in range(1, 4):
        audit.append(con, key, head, "test", f"step{i}", {}, {})
    older_log, older_witness = con.execute("select * from audit.log").fetchall(), head.read_bytes()
    for i in range(4, 6):
        audit.append(con, key, head, "test", f"step{i}", {}, {})
    copy = audit.copy_witness(head, tmp_path / "published" / "audit_witness.jsonl")
    con.execute("delete from audit.log")
    con.executemany("insert into audit.log values (?, ?, ?, ?, ?, ?, ?, ?, ?)", older_log)
    head.write_bytes(older_witness)

    alone = _verify(con, key, head)
    report = audit.verify(audit.read_entries(con), key.public_key(), head, (copy,))

    assert alone.ok  # a consistent local rollback: only a copy kept elsewhere can tell
    assert report.reason == (
        f"the witness has 3 heads but its copy {copy} has 5 (witness cut short, with the log rolled back to match)"
    )
    assert oct(copy.stat().st_mode & 0o777) == "0o444"


def test_an_unreadable_witness_line_is_reported(chain) -> None:
    con, key, head = chain
    with head.open("a") as handle:
        handle.write("not json\n")

    report = _verify(con, key, head)

    assert report.reason == f"witness line 6 of {head} is incomplete (witness edited)"


def test_witnessing_an_older_head_after_a_newer_one_adds_nothing(chain) -> None:
    con, key, head = chain
    first = audit.read_entries(con)[0]

    added = audit.witness(head, key, first.seq, first.entry_hash)

    assert added is None and len(head.read_text().splitlines()) == 5
