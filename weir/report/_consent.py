"""Consent and data-subject requests: who may be processed for what, and how fast requests were served."""

from datetime import datetime

import duckdb

from privacy._pseudonymise import TOKEN_PATTERN
from weir.policy import load_policy
from weir.report._model import Chart, Period, Section, Table
from weir.report._sql import query, require
from weir.ropa import lawful_bases
from weir.sql import qualified
from weir.warehouse import tables

WEEKLY = """
select strftime(date_trunc('week', ts), '%Y-%m-%d') as week,
    count(*) filter (where status = 'granted') as grants,
    count(*) filter (where status = 'withdrawn') as withdrawals
from consent.ledger where ts >= $start and ts < $end group by 1 order by 1
"""
# Share of the users active in a week (any event) whose consent for the purpose holds at the
# week's end (or the period's end, for the last partial week).
COVERAGE = """
with active as (
    select distinct date_trunc('week', ts) as week, user_token from raw.events where ts >= $start and ts < $end
), purposes as (select distinct purpose from consent.ledger)
select strftime(active.week, '%Y-%m-%d') as week, purposes.purpose,
    count(distinct active.user_token) as active_users,
    count(distinct intervals.user_token) as consenting_users,
    round(count(distinct intervals.user_token) / count(distinct active.user_token), 4) as coverage
from active cross join purposes
left join consent.intervals as intervals
    on intervals.user_token = active.user_token and intervals.purpose = purposes.purpose
    and intervals.status = 'granted'
    and intervals.valid_from <= least(active.week + interval 7 day, $end)
    and intervals.valid_to > least(active.week + interval 7 day, $end)
group by all order by 1, 2
"""


def consent_section(con: duckdb.DuckDBPyConnection, period: Period, published: dict[str, str]) -> Section:
    """`published`: mart -> purpose of the published tables, checked for users without a basis."""
    require(con, "consent.ledger", "raw.events")
    start, end = period.bounds
    params = {"start": start, "end": end}
    weekly = query(con, "Grants and withdrawals per week", WEEKLY, params)
    coverage = query(con, "Consent coverage per purpose and week (active users)", COVERAGE, params)
    bases = Table(
        "Lawful basis declared per purpose (weir/policy.yml)",
        ("purpose", "legal_basis"),
        sorted((p, body["legal_basis"]) for p, body in load_policy()["purposes"].items()),
    )
    without = unbased(con, published)
    imported = imported_bases(con, params)
    charts = [_coverage_chart(coverage), _weekly_chart(weekly)]
    status = "failed" if without.rows else "ok" if weekly.rows else "attention"
    summary = (
        f"{len(without.rows)} published table(s) hold users without a basis"
        if without.rows
        else f"0 users processed without a basis; {sum(r[1] for r in weekly.rows)} grants, "
        f"{sum(r[2] for r in weekly.rows)} withdrawals in the period"
        + ("" if weekly.rows else " (no consent events in the period)")
    )
    tables = [coverage, weekly, without, imported, declared_bases(con), bases]
    return Section("consent", "Consent", status, summary, tables, charts)


IMPORTED = """
select source, batch_id, strftime(loaded_at, '%Y-%m-%d %H:%M') as loaded, rows_loaded from ingest.load_ledger
where status = 'loaded' and loaded_at >= $start and loaded_at < $end order by loaded_at, source, batch_id
"""


def imported_bases(con: duckdb.DuckDBPyConnection, params: dict) -> Table:
    """Each batch loaded in the period with its source contract's purposes and their lawful bases
    (`weir.ropa.lawful_bases`: raises, failing the section, if a purpose has none)."""
    require(con, "ingest.load_ledger")
    bases = lawful_bases()
    declared = _declared_bases(con)
    rows = []
    for r in con.execute(IMPORTED, params).fetchall():
        by_purpose = {**bases[r[0]], **declared.get((r[0], r[1]), {})}
        rows.append((*r, ", ".join(by_purpose), ", ".join(sorted(set(by_purpose.values())))))
    columns = ("source", "batch_id", "loaded", "rows_loaded", "purposes", "lawful_bases")
    title = "Lawful bases of the datasets imported in the period (contracts + policy, overridden by export mappings)"
    return Table(title, columns, rows)


def _declared_bases(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], dict[str, str]]:
    """(source, batch) -> purpose -> the basis an export's mapping declared (consent.bases)."""
    if "bases" not in tables(con, "consent"):
        return {}
    found: dict[tuple[str, str], dict[str, str]] = {}
    for source, batch, purpose, basis in con.execute(
        "select distinct source, batch_id, purpose, basis from consent.bases order by all"
    ).fetchall():
        found.setdefault((source, batch), {})[purpose] = basis
    return found


def declared_bases(con: duckdb.DuckDBPyConnection) -> Table:
    """Every basis other than consent an export's mapping declared, with its justification."""
    rows = []
    if "bases" in tables(con, "consent"):
        rows = con.execute(
            "select source, batch_id, purpose, basis, justification, count(distinct user_token) "
            "from consent.bases group by all order by all"
        ).fetchall()
    columns = ("source", "batch_id", "purpose", "basis", "justification", "users")
    return Table("Lawful bases other than consent declared by export mappings (weir ingest --mapping)", columns, rows)


def unbased(con: duckdb.DuckDBPyConnection, published: dict[str, str]) -> Table:
    """Per published mart whose purpose rests on consent: users in it whose consent does not hold now.

    Only values shaped like warehouse tokens name a user here; a row-bound pseudonym (published
    row-level marts, keyed per row) links to no token without the publish salt, and the publish
    gate checks those rows' consent on the warehouse mart before they are published."""
    consent_purposes = {p for p, body in load_policy()["purposes"].items() if body["legal_basis"] == "consent"}
    rows = []
    for mart, purpose in sorted(published.items()):
        columns = con.execute(
            "select column_name from information_schema.columns where table_catalog = 'pub' and table_name = ?", [mart]
        ).fetchall()
        if purpose not in consent_purposes or ("user_token",) not in columns:
            continue
        count = con.execute(
            f"select count(distinct user_token) from {qualified('pub', 'main', mart)} "
            "where regexp_full_match(user_token, $token) and user_token not in (select user_token "
            "from consent.intervals where purpose = $purpose and status = 'granted' "
            "and valid_to = 'infinity'::timestamptz)",
            {"token": TOKEN_PATTERN[1:-1], "purpose": purpose},
        ).fetchone()[0]
        if count:
            rows.append((mart, purpose, count))
    return Table("Users processed without a basis (must be empty)", ("table", "purpose", "users"), rows)


def _coverage_chart(coverage: Table) -> Chart:
    weeks = sorted({r[0] for r in coverage.rows})
    series: dict[str, list[float]] = {}
    for purpose in sorted({r[1] for r in coverage.rows}):
        share = {r[0]: float(r[4] or 0) for r in coverage.rows if r[1] == purpose}
        series[purpose] = [share.get(w, 0.0) for w in weeks]
    return Chart("Consent coverage per purpose", "line", weeks, series, "share of active users")


def _weekly_chart(weekly: Table) -> Chart:
    return Chart(
        "Grants and withdrawals per week",
        "bar",
        [r[0] for r in weekly.rows],
        {"grants": [r[1] for r in weekly.rows], "withdrawals": [r[2] for r in weekly.rows]},
        "events",
    )


DSR_BY_TYPE = """
select request_type, status, count(*) as requests from dsr.requests
where received_at >= $start and received_at < $end group by all order by 1, 2
"""
DSR_TIMES = """
select request_id, request_type, status, strftime(received_at, '%Y-%m-%d') as received,
    round(epoch(updated_at - received_at) / 86400, 2) as days_taken,
    round(epoch(deadline_at - received_at) / 86400, 2) as days_allowed
from dsr.requests where received_at >= $start and received_at < $end and status in ('completed', 'refused', 'no_data')
order by received_at, request_id
"""
DSR_OVERDUE = """
select request_id, request_type, status, strftime(deadline_at, '%Y-%m-%d %H:%M') as deadline, reason
from dsr.requests where status not in ('completed', 'refused', 'no_data') and deadline_at < $now
and received_at < $end order by deadline_at, request_id
"""


def dsr_section(con: duckdb.DuckDBPyConnection, period: Period, now: datetime) -> Section:
    require(con, "dsr.requests")
    start, end = period.bounds
    by_type = query(con, "Requests by type and status", DSR_BY_TYPE, {"start": start, "end": end})
    times = query(con, "Time to completion against the deadline", DSR_TIMES, {"start": start, "end": end})
    overdue = query(con, "Overdue requests (open past their deadline)", DSR_OVERDUE, {"now": now, "end": end})
    late = [r for r in times.rows if r[4] > r[5]]
    status = "attention" if overdue.rows or late else "ok"
    summary = (
        f"{sum(r[2] for r in by_type.rows)} request(s) received; {len(times.rows)} closed, {len(late)} late; "
        f"{len(overdue.rows)} overdue"
    )
    chart = Chart(
        "Days to close each request vs deadline",
        "bar",
        [r[0] for r in times.rows],
        {"days taken": [float(r[4]) for r in times.rows], "days allowed": [float(r[5]) for r in times.rows]},
        "days",
    )
    return Section("dsr", "Data-subject requests", status, summary, [by_type, times, overdue], [chart])
