"""Every number in the auditor's report equals its ledger, recomputed here from the warehouse."""

import base64
import io
import json
import os
import re
import stat
from collections import Counter
from datetime import UTC, datetime, timedelta
from html import escape

import duckdb
import pypdfium2
import pytest
from PIL import Image

from privacy._dp_spec import load_catalog
from weir import audit
from weir.contract import all_contracts, load_contract
from weir.policy import load_policy
from weir.publish import published_tables
from weir.report import Section, Table, fmt
from weir.ropa import record_of_processing

from .conftest import PERIOD, World


def section(world: World, key: str) -> Section:
    return next(s for s in world.written.report.sections if s.key == key)


def table(world: World, key: str, title: str) -> Table:
    return next(t for t in section(world, key).tables if t.title.startswith(title))


def rows(world: World, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(world.data_dir.warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()


def in_period(ts: datetime) -> bool:
    start, end = PERIOD.bounds
    return start <= ts < end


def monday(ts: datetime) -> str:
    day = ts.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def test_first_page_verifies_the_chain_against_the_witness(world: World) -> None:
    chain = world.written.report.chain
    entries = rows(world, "select count(*) from audit.log")[0][0]
    head = audit.read_witness(world.data_dir.audit_witness)[-1]

    assert (chain.status, chain.summary) == ("ok", f"verified: {entries} entries, chain, signatures and witness intact")
    assert dict(chain.tables[0].rows)["seq"] == str(head["seq"])
    assert dict(chain.tables[0].rows)["entry_hash"] == head["entry_hash"]


def test_consent_weekly_grants_and_withdrawals(world: World) -> None:
    counted: Counter = Counter()
    for status, ts in rows(world, "select status, ts from consent.ledger"):
        if in_period(ts):
            counted[(monday(ts), status)] += 1

    got = {
        (r[0], s): n
        for r in table(world, "consent", "Grants and withdrawals").rows
        for s, n in (("granted", r[1]), ("withdrawn", r[2]))
        if n
    }
    assert got == dict(counted)
    assert section(world, "consent").status == "ok"
    assert table(world, "consent", "Users processed without a basis").rows == []


def test_consent_coverage_is_the_share_of_active_users_consenting_at_week_end(world: World) -> None:
    start, end = PERIOD.bounds
    active: dict[str, set] = {}
    for user, ts in rows(world, "select user_token, ts from raw.events where ts >= ? and ts < ?", [start, end]):
        active.setdefault(monday(ts), set()).add(user)
    intervals = rows(
        world, "select user_token, purpose, valid_from, valid_to from consent.intervals where status = 'granted'"
    )
    expected = {}
    for week, users in active.items():
        at = min(datetime.fromisoformat(week).replace(tzinfo=UTC) + timedelta(days=7), end)
        for (purpose,) in rows(world, "select distinct purpose from consent.ledger"):
            # 'infinity' (consent still holds) comes back as a naive datetime.max
            holding = {
                u
                for u, p, since, until in intervals
                if p == purpose and since <= at and (until.tzinfo is None or at < until)
            } & users
            expected[(week, purpose)] = (len(users), len(holding))

    got = {(r[0], r[1]): (r[2], r[3]) for r in table(world, "consent", "Consent coverage").rows}
    assert got == expected
    assert all(r[4] == round(r[3] / r[2], 4) for r in table(world, "consent", "Consent coverage").rows)


def test_each_imported_batch_shows_its_purposes_and_lawful_bases(world: World) -> None:
    loaded = [
        r
        for r in rows(
            world, "select source, batch_id, rows_loaded, loaded_at from ingest.load_ledger where status = 'loaded'"
        )
        if in_period(r[3])
    ]
    policy = load_policy()["purposes"]

    got = table(world, "consent", "Lawful bases of the datasets imported").rows
    assert sorted((r[0], r[1], r[3]) for r in got) == sorted(r[:3] for r in loaded) and got
    for source, *_, purposes, bases in got:
        declared = sorted({p for c in load_contract(source).kept for p in c.purposes})
        assert purposes.split(", ") == declared
        assert bases.split(", ") == sorted({policy[p]["legal_basis"] for p in declared})
    per_source = table(world, "ropa", "Lawful basis per source").rows
    assert {r[0] for r in per_source} == {c.source for c in all_contracts()}


def test_requests_by_type_and_the_overdue_one(world: World) -> None:
    requests = rows(world, "select request_id, request_type, status, deadline_at from dsr.requests")
    by_type = Counter((r[1], r[2]) for r in requests)
    overdue = sorted(
        r[0] for r in requests if r[2] not in ("completed", "refused", "no_data") and r[3] < datetime.now(UTC)
    )

    assert {(r[0], r[1]): r[2] for r in table(world, "dsr", "Requests by type").rows} == dict(by_type)
    assert sorted(r[0] for r in table(world, "dsr", "Overdue").rows) == overdue
    assert len(overdue) == 1
    assert section(world, "dsr").status == "attention"


def test_budget_spent_vs_limit_and_releases(world: World) -> None:
    spent: Counter = Counter()
    for dataset, period, rho in rows(world, "select dataset, period, rho from dp.budget_spends"):
        spent[(dataset, period)] += rho
    limits = {b.dataset: b.total.rho for b in load_catalog().budgets.values()}
    released = [r for r in rows(world, "select release_name, released_at from dp.releases") if in_period(r[1])]

    got = table(world, "budget", "Budget spent").rows
    assert {(r[0], r[1]): r[2] for r in got} == pytest.approx(dict(spent))
    assert all(r[3] == limits[r[0]] for r in got)
    assert sorted(r[0] for r in table(world, "budget", "Releases").rows) == sorted(r[0] for r in released)
    assert len(released) >= 1


def test_each_release_links_to_its_budget_spend_and_audit_entry(world: World) -> None:
    got = table(world, "budget", "Releases").rows
    spends = {r[0]: r[1:] for r in rows(world, "select spend_id, release_name, period, rho from dp.budget_spends")}
    entries = {r[0]: r[1:] for r in rows(world, "select seq, action, inputs, entry_hash from audit.log")}

    assert got
    for name, period, _, rho, *_, release_id, spend_id, spend_rho, seq, entry in got:
        assert spends[spend_id] == (name, period, pytest.approx(rho)) and spend_rho == pytest.approx(rho)
        action, inputs, entry_hash = entries[seq]
        assert action == "dp_release" and json.loads(inputs)["release_id"] == release_id
        assert entry_hash.startswith(entry)
    assert world.written.report.chain.status == "ok"  # and the audit entries themselves verify
    assert section(world, "budget").status == "ok"


def test_quality_pass_rates_and_quarantine(world: World) -> None:
    runs: Counter = Counter()
    passed: Counter = Counter()
    for suite, at, blocked in rows(world, "select suite, checked_at, blocked from quality.runs"):
        if in_period(at):
            runs[(suite, at.astimezone(UTC).date().isoformat())] += 1
            passed[(suite, at.astimezone(UTC).date().isoformat())] += not blocked
    loaded = {(r[0], r[1]): r[2] for r in rows(world, "select source, batch_id, loaded_at from ingest.load_ledger")}
    reasons = Counter(
        r[2]
        for r in rows(world, "select source, batch_id, reason from ingest.quarantine")
        if in_period(loaded[(r[0], r[1])])
    )

    got = table(world, "quality", "Gate pass rate").rows
    assert {(r[0], r[1]): (r[2], r[3]) for r in got} == {k: (runs[k], passed[k]) for k in runs}
    assert dict(table(world, "quality", "Quarantine").rows) == dict(reasons)


def test_pii_scan_covers_every_published_table_and_finds_nothing(world: World) -> None:
    scanned = table(world, "pii", "Published tables scanned").rows

    assert sorted(r[0] for r in scanned) == sorted(published_tables(world.data_dir))
    assert table(world, "pii", "PII detector").rows == []
    assert table(world, "pii", "Published values that are landing").rows == []
    assert section(world, "pii").status == "ok"


def test_keys_list_every_key_file_owner_only(world: World) -> None:
    keys = world.data_dir.keys
    expected = sorted(
        (str(p.relative_to(keys)), oct(stat.S_IMODE(p.stat().st_mode))) for p in keys.rglob("*") if p.is_file()
    )
    rotations = rows(world, "select count(*) from audit.log where action = 'keys_rotate'")[0][0]

    assert table(world, "keys", "Key files").rows == expected
    assert len(table(world, "keys", "Key rotations").rows) == rotations
    assert section(world, "keys").status == "ok"


def test_lineage_and_records_come_from_the_declarations(world: World) -> None:
    nodes = {r[0] for r in table(world, "lineage", "Lineage nodes").rows}
    pia = table(world, "ropa", "Personal-information impact").rows

    assert {f"published.{m}" for m in published_tables(world.data_dir)} <= nodes
    assert {f"dp.{name}" for name in load_catalog().releases} <= nodes
    assert len(table(world, "ropa", "Record of processing").rows) == record_of_processing().height
    assert sorted(r[0] for r in pia) == sorted(load_policy()["purposes"])


def test_html_shows_every_number_and_is_self_contained(world: World) -> None:
    text = world.written.html.read_text()

    for s in world.written.report.sections:
        for t in s.tables:
            for row in t.rows:
                assert "".join(f"<td>{escape(fmt(v))}</td>" for v in row) in text, (s.key, t.title, row)
    assert re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}|<script|<link|@import|url\(", text, re.IGNORECASE) is None
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == sum(len(s.charts) for s in world.written.report.sections)
    for data in images:  # each chart a real, non-blank PNG (a raster image references nothing)
        picture = Image.open(io.BytesIO(base64.b64decode(data)))
        assert picture.format == "PNG" and sum(picture.convert("L").histogram()[:200]) > 200


def test_pdf_pages_all_render_with_ink(world: World) -> None:
    document = pypdfium2.PdfDocument(str(world.written.pdf))
    first = document[0].get_textpage().get_text_range()

    for index in range(len(document)):
        image = document[index].render(scale=0.5).to_pil().convert("L")
        inked = sum(image.histogram()[:200])  # pixels darker than light grey
        assert inked > 200, f"page {index + 1} is blank"
    for s in [world.written.report.chain, *world.written.report.sections]:
        assert s.title.split()[0] in first
    assert len(document) >= 5


def test_report_files_are_owner_only(world: World) -> None:
    assert stat.S_IMODE(world.written.html.stat().st_mode) == 0o600
    assert stat.S_IMODE(world.written.pdf.stat().st_mode) == 0o600
    assert stat.S_IMODE(os.stat(world.written.html.parent).st_mode) == 0o700
