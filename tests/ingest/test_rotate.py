"""Key rotation: every old token is gone, joins survive, vault and consent still work."""

import duckdb
import pytest
from typer.testing import CliRunner

from privacy import _vault
from privacy._keyring import hmac_keys, vault_master_key
from tests._pii_scan import haystack_hits
from weir.cli import app
from weir.config import resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest


def _token_values(con: duckdb.DuckDBPyConnection) -> set[str]:
    columns = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where column_name like '%token%' and data_type = 'VARCHAR'"
    ).fetchall()
    values = set()
    for schema, table, column in columns:
        values |= {
            r[0]
            for r in con.execute(
                f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'
            ).fetchall()
        }
    return values


@pytest.fixture(scope="module")
def rotated(tmp_path_factory):
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("rotate"))
    generate(GenerateConfig(users=300, days=2, seed=4, bad_rate=0.01), data_dir.landing)
    ingest(data_dir)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        before = _token_values(con)
        joins = con.execute("select count(*) from raw.events e join raw.users u using (user_token)").fetchone()[0]
    result = CliRunner().invoke(app, ["keys", "rotate", "--data-dir", str(data_dir.root)])
    return data_dir, before, joins, result


def test_rotation_reports_and_keeps_only_the_new_key(rotated) -> None:
    data_dir, _, _, result = rotated

    assert result.exit_code == 0, result.output
    assert "Rotated pseudonymisation key v1 -> v2" in result.output
    assert list(hmac_keys(data_dir.keys)) == [2]


def test_no_old_token_left_anywhere(rotated) -> None:
    data_dir, before, _, _ = rotated
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        after = _token_values(con)
        quarantine = " ".join(
            r[0]
            for r in con.execute(
                "select sanitised_text from ingest.quarantine where sanitised_text is not null"
            ).fetchall()
        )

    assert before and all(t.startswith("tk1_") for t in before)
    assert after and all(t.startswith("tk2_") for t in after)
    assert "tk1_" not in quarantine and "tk2_" in quarantine


def test_no_old_token_in_any_column_or_file(rotated) -> None:
    """Every column of every table (any name, any type) and every file under the data dir: no
    version-1 token survives a rotation, not in quarantine text, audit details, GX results or logs."""
    data_dir, before, _, _ = rotated

    hits = haystack_hits(data_dir.root, ["tk1_"], skip=(data_dir.keys, data_dir.landing))
    new = haystack_hits(data_dir.root, ["tk2_"], skip=(data_dir.keys, data_dir.landing))

    assert len(before) > 1000
    assert hits == {}
    assert sum(new.values()) > 1000  # the scan reads what the rotation wrote


def test_joins_survive_and_vault_still_opens(rotated) -> None:
    data_dir, _, joins, _ = rotated
    with duckdb.connect(str(data_dir.warehouse)) as con:
        joined = con.execute("select count(*) from raw.events e join raw.users u using (user_token)").fetchone()[0]
        token = con.execute("select user_token from vault.contacts where field = 'email' limit 1").fetchone()[0]
        email = _vault.read(con, vault_master_key(data_dir.keys), token, "email")
        consent_tokens = con.execute(
            "select count(*) from consent.ledger c join raw.users u using (user_token)"
        ).fetchone()[0]

    assert joined == joins > 0
    assert "@" in email
    assert consent_tokens > 0


def test_new_batches_use_the_new_key(rotated) -> None:
    data_dir, _, _, _ = rotated
    generate(
        GenerateConfig(users=300, days=1, seed=4, start=__import__("datetime").date(2026, 10, 3)), data_dir.landing
    )

    ingest(data_dir, "events")

    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        versions = {r[0] for r in con.execute("select distinct left(user_token, 4) from raw.events").fetchall()}
        linked = con.execute(
            "select count(*) from raw.events e join raw.users u using (user_token) where e._batch_id like '20261003%'"
        ).fetchone()[0]
    assert versions == {"tk2_"}
    assert linked > 0


def test_record_id_tokens_are_rotated_and_still_join(rotated) -> None:
    data_dir, _, _, _ = rotated
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        ids = {
            column: {
                r[0]
                for r in con.execute(f"select distinct {column} from {table} where {column} is not null").fetchall()
            }
            for table, column in [
                ("raw.orders", "order_id"),
                ("raw.events", "event_id"),
                ("raw.events", "share_id"),
                ("raw.reviews", "review_id"),
                ("consent.ledger", "consent_id"),
            ]
        }
        orders = con.execute(
            "select count(*) from raw.events e join raw.orders o using (order_id) where e.event_type = 'purchase'"
        ).fetchone()[0]

    assert all(values and all(v.startswith("tk2_") for v in values) for values in ids.values()), ids.keys()
    assert orders > 0  # a purchase event still finds its order: both ids rotated to the same token


def test_a_failed_rotation_leaves_no_key_behind_and_the_next_one_works(tmp_path) -> None:
    # Prepare: a loaded warehouse whose dsr batch has gone missing (rotation re-reads landed files).
    data_dir = resolve_data_dir(tmp_path)
    generate(GenerateConfig(users=120, days=1, seed=6, bad_rate=0.0), data_dir.landing)
    ingest(data_dir)
    moved = tmp_path / "dsr-aside"
    (data_dir.landing / "dsr").rename(moved)

    # Execute
    failed = CliRunner().invoke(app, ["keys", "rotate", "--data-dir", str(data_dir.root)])
    keys_after_failure = sorted(hmac_keys(data_dir.keys))
    moved.rename(data_dir.landing / "dsr")
    retried = CliRunner().invoke(app, ["keys", "rotate", "--data-dir", str(data_dir.root)])

    # Assert: the failure kept v1 alone; the retry moved every token to v2.
    assert failed.exit_code != 0
    assert keys_after_failure == [1]
    assert retried.exit_code == 0, retried.output
    assert sorted(hmac_keys(data_dir.keys)) == [2]
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert {t[:4] for t in _token_values(con)} == {"tk2_"}


def test_rotation_refuses_a_key_set_with_several_versions(tmp_path) -> None:
    data_dir = resolve_data_dir(tmp_path)
    generate(GenerateConfig(users=60, days=1, seed=7, bad_rate=0.0), data_dir.landing)
    ingest(data_dir)
    stray = data_dir.keys / "hmac" / "v2.key"
    stray.write_bytes((data_dir.keys / "hmac" / "v1.key").read_bytes()[::-1])
    stray.chmod(0o600)

    result = CliRunner().invoke(app, ["keys", "rotate", "--data-dir", str(data_dir.root)])

    assert result.exit_code == 1
    assert "Several pseudonymisation keys (v1, v2)" in " ".join(result.output.split())
    assert sorted(hmac_keys(data_dir.keys)) == [1, 2]
