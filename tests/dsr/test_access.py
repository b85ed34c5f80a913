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


def test_a_runs_access_requests_read_together_give_each_user_what_a_lone_request_gives(copy_dir: DataDir) -> None:
    """A follower, the user they follow and a third user ask in one run: each package holds what
    that user's own collection holds (the follow edge is in both; no row of another requester)."""
    from privacy._keyring import vault_master_key
    from weir.dsr import _access

    # The source's own requests first: their erasures delete files naming the erased, packages too.
    dsr.run_requests(copy_dir, "test")
    by_token = {p.token(copy_dir): p.user_id for p in people(copy_dir).values()}
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        a, b = con.execute(
            "select follower_token, followee_token from raw.follows where follower_token <> followee_token "
            "order by 1, 2 limit 1"
        ).fetchone()
        (c,) = con.execute("select min(user_token) from raw.events where user_token not in (?, ?)", [a, b]).fetchone()
    with duckdb.connect(str(copy_dir.warehouse)) as con:
        alone = {t: _access.collect(con, vault_master_key(copy_dir.keys), t) for t in (a, b, c)}
    submitted = {t: dsr.submit_request(copy_dir, "access", by_token[t], "test").request_id for t in (a, b, c)}

    outcomes = dsr.run_requests(copy_dir, "test")

    assert {o.request_id: o.status for o in outcomes if o.request_id in submitted.values()} == dict.fromkeys(
        submitted.values(), "completed"
    )

    def rows(held: dict) -> dict[str, list[str]]:  # order-free: each table's rows as sorted JSON
        return {t: sorted(json.dumps(r, default=str, sort_keys=True) for r in rs) for t, rs in held.items()}

    for user_token, request_id in submitted.items():
        request, _ = dsr.show_request(copy_dir, request_id)
        package = json.loads((Path(request.package_path) / "package.json").read_text())
        assert rows(package["data"]) == rows(json.loads(json.dumps(alone[user_token], default=str))), user_token
        assert package["tables"] == {t: len(r) for t, r in alone[user_token].items()}
    for user_token in (a, b):
        edges = {(r["follower_token"], r["followee_token"]) for r in alone[user_token]["raw.follows"]}
        assert (a, b) in edges and all(user_token in edge for edge in edges)
