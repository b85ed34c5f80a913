"""Audit chain: verifies when intact; each kind of tampering is detected and located."""

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
    head = tmp_path / "head.json"
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

    assert not report.ok
    assert "entries deleted from the end" in report.reason


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


def test_forged_head_is_detected(chain) -> None:
    con, key, head = chain
    data = json.loads(head.read_text())
    head.write_text(json.dumps(data | {"seq": 9}))

    report = _verify(con, key, head)

    assert report.reason == "signed head file has an invalid signature"


def test_entries_never_carry_the_key(chain, tmp_path: Path) -> None:
    con, key, _ = chain
    from cryptography.hazmat.primitives import serialization

    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    dump = json.dumps([list(map(str, e)) for e in con.execute("select * from audit.log").fetchall()])

    assert raw.hex() not in dump
