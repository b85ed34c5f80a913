"""The access package holds exactly the user's rows (checked against a user sharing a device)."""

import csv
import json
import stat
from pathlib import Path

import duckdb

from tests.dsr.conftest import people
from weir import dsr
from weir.config import DataDir


def device_sharers(data_dir: DataDir) -> tuple[str, str]:
    """Two user ids whose events share a device token, both with contact data."""
    everyone = {p.token(data_dir): p for p in people(data_dir).values() if p.phone and p.email}
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        pairs = con.execute(
            "select a.user_token, b.user_token from raw.events a join raw.events b "
            "on a.device_token = b.device_token and a.user_token < b.user_token "
            "group by all order by 1, 2"
        ).fetchall()
    a, b = next((a, b) for a, b in pairs if a in everyone and b in everyone)
    return everyone[a].user_id, everyone[b].user_id


def test_an_access_package_holds_exactly_the_users_rows_and_decrypted_contacts(copy_dir: DataDir) -> None:
    first, second = device_sharers(copy_dir)
    person = people(copy_dir)[first]
    mine, theirs = person.token(copy_dir), people(copy_dir)[second].token(copy_dir)
    submitted = dsr.submit_request(copy_dir, "access", first, "test")

    (outcome,) = dsr.run_requests(copy_dir, "test", submitted.request_id)

    request, _ = dsr.show_request(copy_dir, submitted.request_id)
    folder = Path(request.package_path)
    package = json.loads((folder / "package.json").read_text())
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        expected = {
            t: con.execute(f"select count(*) from raw.{t} where user_token = ?", [mine]).fetchone()[0]
            for t in ("users", "events", "orders", "consent")
        }
    assert outcome.status == "completed"
    assert {t: package["tables"].get(f"raw.{t}", 0) for t in expected} == expected
    assert package["data"]["vault.contacts"] == [
        {"field": "phone", "value": person.phone},
        {"field": "email", "value": person.email},
        {"field": "name", "value": person.name},  # kept only to redact it from later free text
    ]
    for table, rows in package["data"].items():
        owners = {r["user_token"] for r in rows if "user_token" in r}
        assert owners <= {mine}, table
    with (folder / "raw.events.csv").open(encoding="utf-8") as handle:
        events = list(csv.DictReader(handle))
    assert len(events) == expected["events"]
    assert {e["user_token"] for e in events} == {mine}
    assert theirs not in (folder / "raw.events.csv").read_text()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
