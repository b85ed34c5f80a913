"""Privacy budget and quality: what was released at what privacy loss, and whether the gates held."""

import duckdb

from privacy._dp_spec import Catalog
from weir.report._model import Chart, Period, Section, Table
from weir.report._sql import has, query, require

SPENT = """
select dataset, period, sum(rho) as rho_spent, sum(delta) as delta_spent, count(*) as spends
from dp.budget_spends group by all order by 1, 2
"""
# Each release with the budget spend it charged and the audit entry that evidences both (one
# transaction wrote all three): an auditor follows release -> spend -> audit seq -> `weir audit verify`.
RELEASES = """
select releases.release_name, releases.period, releases.dataset, round(releases.rho, 6) as rho,
    round(releases.epsilon_at_delta, 6) as epsilon, releases.delta, releases.row_count, releases.is_current,
    strftime(releases.released_at, '%Y-%m-%d %H:%M') as released, releases.release_id, releases.spend_id,
    round(spends.rho, 6) as spend_rho, log.seq as audit_seq, left(log.entry_hash, 16) as audit_entry
from dp.releases as releases
left join dp.budget_spends as spends on spends.spend_id = releases.spend_id
left join (select seq, entry_hash, json_extract_string(inputs, '$.release_id') as release_id from audit.log
    where action = 'dp_release') as log on log.release_id = releases.release_id
where releases.released_at >= $start and releases.released_at < $end order by releases.released_at, release_name
"""
TRAININGS = """
select versions.version, spends.dataset, spends.period, round(spends.rho, 6) as rho, spends.delta,
    strftime(versions.created_at, '%Y-%m-%d %H:%M') as trained
from ml.model_versions as versions join dp.budget_spends as spends on spends.spend_id = versions.spend_id
where versions.created_at >= $start and versions.created_at < $end order by versions.created_at
"""


def budget_section(con: duckdb.DuckDBPyConnection, period: Period, catalog: Catalog) -> Section:
    require(con, "dp.budget_spends")
    start, end = period.bounds
    params = {"start": start, "end": end}
    limits = {b.dataset: b.total for b in catalog.budgets.values()}
    spent = query(con, "", SPENT)
    rows = [(*r[:2], r[2], limits[r[0]].rho if r[0] in limits else None, r[3], r[4]) for r in spent.rows]
    table = Table(
        "Budget spent vs limit per dataset and period (zCDP ρ)",
        ("dataset", "period", "rho_spent", "rho_limit", "delta_spent", "spends"),
        rows,
    )
    releases = (
        query(con, "Releases in the period, each with its budget spend and audit entry", RELEASES, params)
        if has(con, "dp.releases") and has(con, "audit.log")
        else Table("Releases in the period", (), [])
    )
    # A release whose spend or audit entry is missing (or charged another loss) breaks the chain.
    unlinked = [r for r in releases.rows if r[11] is None or r[12] is None or r[11] != r[3]]
    trainings = (
        query(con, "Model trainings in the period", TRAININGS, params)
        if has(con, "ml.model_versions")
        else Table("Model trainings in the period (no model registry)", (), [])
    )
    over = [r for r in rows if r[3] is not None and r[2] > r[3] * (1 + 1e-9)]
    status = "failed" if over or unlinked else "ok"
    summary = (
        f"{len(rows)} budget period(s), {len(over)} over limit; {len(releases.rows)} release(s), "
        f"{len(unlinked)} without a matching spend and audit entry; {len(trainings.rows)} training(s) in the period"
    )
    chart = Chart(
        "Privacy budget spent vs limit",
        "bar",
        [f"{r[0]} {r[1]}" for r in rows],
        {"spent ρ": [r[2] for r in rows], "limit ρ": [r[3] or 0.0 for r in rows]},
        "ρ (zCDP)",
    )
    return Section("budget", "Privacy budget", status, summary, [table, releases, trainings], [chart])


RUNS = """
select suite, strftime(checked_at, '%Y-%m-%d') as day, count(*) as runs,
    count(*) filter (where not blocked) as passed, round(count(*) filter (where not blocked) / count(*), 4) as pass_rate
from quality.runs where checked_at >= $start and checked_at < $end group by all order by 1, 2
"""
HELD = """
select runs.suite, runs.batch_id, strftime(runs.checked_at, '%Y-%m-%d %H:%M') as checked,
    coalesce(string_agg(distinct findings.expectation || coalesce(' on ' || findings.column_name, ''), '; '
        order by findings.expectation || coalesce(' on ' || findings.column_name, '')), '') as reasons
from quality.runs as runs left join quality.findings as findings
    on findings.suite = runs.suite and findings.checked_at = runs.checked_at
    and findings.batch_id is not distinct from runs.batch_id and findings.severity = 'error'
where runs.blocked and runs.checked_at >= $start and runs.checked_at < $end
group by all order by 3, 1
"""
REJECTED = """
select source, batch_id, status, coalesce(error, '') as reason, rows_in from ingest.load_ledger
where status in ('rejected', 'failed') and loaded_at >= $start and loaded_at < $end order by loaded_at, source
"""
QUARANTINE = """
select quarantine.reason, count(*) as rows_quarantined from ingest.quarantine as quarantine
join ingest.load_ledger as ledger on ledger.source = quarantine.source and ledger.batch_id = quarantine.batch_id
where ledger.loaded_at >= $start and ledger.loaded_at < $end group by 1 order by 2 desc, 1
"""


def quality_section(con: duckdb.DuckDBPyConnection, period: Period) -> Section:
    require(con, "quality.runs", "quality.findings", "ingest.load_ledger", "ingest.quarantine")
    params = dict(zip(("start", "end"), period.bounds, strict=True))
    runs = query(con, "Gate pass rate per suite and day", RUNS, params)
    held = query(con, "Held batches and marts (gate failed) with reasons", HELD, params)
    rejected = query(con, "Rejected or failed loads", REJECTED, params)
    quarantine = query(con, "Quarantine volume by reason", QUARANTINE, params)
    status = "attention" if held.rows or rejected.rows else "ok" if runs.rows else "attention"
    summary = (
        f"{sum(r[2] for r in runs.rows)} gate run(s), {len(held.rows)} held, {len(rejected.rows)} load(s) "
        f"rejected or failed, {sum(r[1] for r in quarantine.rows)} row(s) quarantined"
    )
    suites = sorted({r[0] for r in runs.rows})
    rate = {s: sum(r[3] for r in runs.rows if r[0] == s) / sum(r[2] for r in runs.rows if r[0] == s) for s in suites}
    charts = [
        Chart("Gate pass rate per suite", "bar", suites, {"pass rate": [rate[s] for s in suites]}, "share passed"),
        Chart(
            "Quarantine by reason",
            "bar",
            [r[0] for r in quarantine.rows],
            {"rows": [r[1] for r in quarantine.rows]},
            "rows",
        ),
    ]
    return Section("quality", "Quality gates", status, summary, [runs, held, rejected, quarantine], charts)
