"""Run DP releases against the warehouse: check the input, spend budget, store, publish, evidence.

The order is what makes the guarantees hold:
1. validate the spec and its input mart (purpose, columns, rows) - a refusal spends nothing;
2. under the ledger lock, publish any release a crash left stored but unpublished, then return
   the stored release if this spec was already released for the period (no silent second
   spend), else check the budget and compute;
3. in one transaction, record the spend, store the noisy table and its catalogue row in `dp.*`
   and write the audit entry (a crash before the commit leaves no spend and no result; the
   noisy table never left the process), then copy them to the published file.
Reading the input: DuckDB writes the period's rows of the dp_* mart to Parquet, which Polars
scans lazily inside the OpenDP plan.
"""

import fcntl
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from privacy import _dp_ledger as ledger
from privacy import _dp_query
from privacy._dp_spec import ROWS, Catalog, Period, ReleaseSpec, load_catalog, parse_period, period_of
from weir.config import PRIVATE_FILE_MODE, DataDir, make_private_dir
from weir.dbt import manifest_path
from weir.dp_periods import is_closed, latest_day
from weir.errors import ConfigError, DpSpecError
from weir.manifest import load, marts, meta
from weir.publish import published_db, update_published
from weir.warehouse import connect

LOCK_WAIT_S = 600.0
INPUT_PURPOSE = "analytics"
# Event times before 2000 are quarantined (DESIGN "Bad input"), so no earlier quarter holds data;
# the upper end keeps quarter arithmetic far from the calendar's year 9999.
FIRST_YEAR, LAST_YEAR = 2000, 2999

CATALOGUE_DDL = """
create table if not exists dp.releases (
    release_id varchar primary key,
    release_name varchar not null,
    period varchar not null,
    dataset varchar not null,
    input_mart varchar not null,
    description varchar,
    spec_json varchar not null,
    fingerprint varchar not null,
    rho double not null,
    delta double not null,
    epsilon double not null,
    epsilon_at_delta double not null,
    bounds_json varchar not null,
    accuracy_json varchar not null,
    partition_threshold integer,
    row_count bigint not null,
    low_accuracy_rows bigint not null,
    spend_id varchar not null,
    released_at timestamptz not null,
    is_current boolean not null,
    provisional boolean not null default false  -- of a period still open: its numbers will change
);
alter table dp.releases add column if not exists provisional boolean default false;
"""


@dataclass(frozen=True)
class Released:
    name: str
    period: str
    release_id: str
    reused: bool  # True: the stored release was returned and nothing was spent
    table: pl.DataFrame
    budget: ledger.BudgetState
    provisional: bool = False  # of a period still open (see weir.dp_periods)


def dp_dir(data_dir: DataDir) -> Path:
    return data_dir.root / "dp"


@contextmanager
def ledger_lock(data_dir: DataDir) -> Iterator[None]:
    """One release at a time per data dir: check-and-spend must not interleave across processes."""
    dp_dir(data_dir).mkdir(parents=True, exist_ok=True)
    with open(dp_dir(data_dir) / "ledger.lock", "w") as handle:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DpSpecError(
                        f"Another DP release has held {handle.name} for {LOCK_WAIT_S:.0f} s; retry when it is done."
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def release(
    data_dir: DataDir,
    name: str,
    actor: str,
    period: str | None = None,
    re_release: bool = False,
    catalog: Catalog | None = None,
    evidence: Callable[[duckdb.DuckDBPyConnection, "Released"], None] | None = None,
    provisional: bool = False,
) -> Released:
    """Release `name` for `period` (default: the quarter of the input's latest day).

    A period still open (weir.dp_periods) needs `provisional`. `evidence` writes the release's
    audit entry inside the transaction that spends and stores."""
    catalog = catalog or load_catalog()
    spec = catalog.release(name)
    asked = period_option(period) if period else None  # validate input before touching anything
    _check_purpose(data_dir, spec)
    with ledger_lock(data_dir):
        con = connect(data_dir.warehouse)
        try:
            ledger.ensure(con)
            con.execute(CATALOGUE_DDL)
            _check_columns(con, spec)
            chosen = asked or _latest_period(con, spec)
            is_open = _refuse_open(con, spec, chosen, provisional)
            pending = pending_releases(con, data_dir)
            stored = None if re_release else _stored(con, spec, chosen.label, final=not is_open)
            if stored is not None:
                if pending:
                    update_published(con, data_dir, lambda c: _publish(c, pending))
                return Released(
                    name,
                    chosen.label,
                    stored,
                    True,
                    _table(con, spec, chosen.label),
                    _state(con, catalog, spec, chosen),
                    _is_provisional(con, stored),
                )
            released = _compute(con, data_dir, catalog, spec, chosen, actor, evidence, is_open)
            update_published(con, data_dir, lambda c: _publish(c, sorted({*pending, spec.name})))
            return released
        finally:
            con.close()


def _refuse_open(con: duckdb.DuckDBPyConnection, spec: ReleaseSpec, period: Period, provisional: bool) -> bool:
    """Whether `period` is still open; refuses an open one unless the release is provisional."""
    is_open = not is_closed(con, spec, period)
    if is_open and not provisional:
        raise DpSpecError(
            f'Release "{spec.name}" for {period.label}: the period is still open (data up to {latest_day(con, spec)}, '
            f"it ends {period.end - timedelta(days=1)}); wait until it closes, or pass --provisional to release "
            "it now (it spends budget and is labelled provisional). Nothing was spent."
        )
    return is_open


def _is_provisional(con: duckdb.DuckDBPyConnection, release_id: str) -> bool:
    return bool(con.execute("select provisional from dp.releases where release_id = ?", [release_id]).fetchone()[0])


def period_option(value: str) -> Period:
    """The quarter a `--period` value names; a year outside the data's range is a ConfigError.

    >>> period_option("2026Q4").start
    datetime.date(2026, 10, 1)
    """
    found = re.fullmatch(r"(\d{4})Q([1-4])", value.strip().upper())
    if found and not FIRST_YEAR <= int(found[1]) <= LAST_YEAR:
        raise ConfigError(
            f'--period "{value}" is out of range: pass a quarter from {FIRST_YEAR}Q1 to {LAST_YEAR}Q4, '
            "written like 2026Q4."
        )
    return parse_period(value)


def _compute(
    con, data_dir: DataDir, catalog: Catalog, spec: ReleaseSpec, period: Period, actor: str, evidence, provisional
) -> Released:
    budget = catalog.budgets[spec.dataset]
    source = _export(con, data_dir, spec, period)
    try:
        planned = _dp_query.plan(spec, catalog, period, pl.scan_parquet(source))
        ledger.check(con, budget, period.label, spec.name, spec.loss)  # refuse before computing
        table = _dp_query.run(spec, planned)
    finally:
        source.unlink(missing_ok=True)
    now = datetime.now(UTC)
    con.register("released", table.to_arrow())
    con.execute("begin transaction")
    try:
        # The spec's loss is what the ledger charges (OpenDP's proven loss is at most that).
        spend_id = ledger.spend_in(con, budget, period.label, spec.name, spec.fingerprint, spec.loss, actor, now)
        release_id = _store_in(con, catalog, spec, period, planned, table, spend_id, now)
        con.execute("update dp.releases set provisional = ? where release_id = ?", [provisional, release_id])
        state = _state(con, catalog, spec, period)
        released = Released(spec.name, period.label, release_id, False, table, state, provisional)
        if evidence is not None:
            evidence(con, released)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("released")
    return released


def _state(con, catalog: Catalog, spec: ReleaseSpec, period: Period) -> ledger.BudgetState:
    return ledger.state(con, catalog.budgets[spec.dataset], period.label)


def _check_purpose(data_dir: DataDir, spec: ReleaseSpec) -> None:
    path = manifest_path(data_dir)
    if not path.exists():
        raise DpSpecError(f"No dbt manifest at {path}: build the warehouse first (`weir dbt build`).")
    nodes = {n["name"]: n for n in marts(load(path))}
    if spec.input not in nodes:
        raise DpSpecError(
            f'Release "{spec.name}": input mart "{spec.input}" is not in the warehouse. '
            f"DP inputs: {', '.join(sorted(n for n in nodes if n.startswith('dp_')))}."
        )
    purpose = meta(nodes[spec.input]).get("purpose")
    if purpose != INPUT_PURPOSE:
        raise DpSpecError(
            f'Release "{spec.name}": input mart "{spec.input}" has purpose {purpose!r}; DP releases read only marts '
            f"that keep {INPUT_PURPOSE}-consented users (meta.purpose: {INPUT_PURPOSE})."
        )


def _check_columns(con: duckdb.DuckDBPyConnection, spec: ReleaseSpec) -> None:
    found = {r[0] for r in con.execute(f"describe marts.{spec.input}").fetchall()}
    needed = {
        "keys": [k.column for k in spec.keys],
        "measures": [m.column for m in spec.measures if m.column and m.column != ROWS],
        "where": [c for c, _ in spec.where],
        "date_column": [spec.date_column, _dp_query.IDENTIFIER],
    }
    for field, columns in needed.items():
        missing = [c for c in columns if c not in found]
        if missing:
            raise DpSpecError(
                f'Release "{spec.name}": {field} column(s) {", ".join(missing)} not in mart "{spec.input}". '
                f"Its columns: {', '.join(sorted(found))} (privacy/releases.yml)."
            )


def _latest_period(con: duckdb.DuckDBPyConnection, spec: ReleaseSpec) -> Period:
    latest = con.execute(f"select max({spec.date_column}) from marts.{spec.input}").fetchone()[0]
    if latest is None:
        raise DpSpecError(f'Release "{spec.name}": input mart "{spec.input}" is empty; load data first.')
    return period_of(latest)


def _export(con: duckdb.DuckDBPyConnection, data_dir: DataDir, spec: ReleaseSpec, period: Period) -> Path:
    """The period's rows, only the needed columns, as Parquet for a lazy Polars scan."""
    keys = [k.column for k in spec.keys]
    summed = sorted({m.column for m in spec.measures if m.column and m.column != ROWS})
    where = f"{spec.date_column} >= ? and {spec.date_column} < ?"
    for column, values in spec.where if spec.combine_per_user else ():
        where += f" and {column} in ({', '.join(sql_literal(v) for v in values)})"  # combined rows lose the column
    # fetchall: a half-read result would block the relation that writes the Parquet below
    rows = con.execute(f"select count(*) from marts.{spec.input} where {where}", [period.start, period.end]).fetchall()
    if rows[0][0] == 0:
        raise DpSpecError(
            f'Release "{spec.name}": no rows in "{spec.input}" for {period.label} '
            f"({period.start} to {period.end}); pick a period with data (--period). Nothing was spent."
        )
    path = dp_dir(data_dir) / f".{spec.name}.{period.label}.parquet"
    if spec.combine_per_user:
        # One row per user and group, each built from that user's rows only: still user-level.
        sums = "".join(f", cast(sum({c}) as bigint) as {c}" for c in summed)
        select = (
            f"select {_dp_query.IDENTIFIER}, {', '.join(keys)}, count(*) as {ROWS}{sums} "
            f"from marts.{spec.input} where {where} group by all"
        )
    else:
        columns = sorted({_dp_query.IDENTIFIER, *keys, *(c for c, _ in spec.where), *summed})
        select = f"select {', '.join(columns)} from marts.{spec.input} where {where}"
    write_private_parquet(con.sql(select, params=[period.start, period.end]), path)
    return path


def write_private_parquet(relation: duckdb.DuckDBPyRelation, path: Path) -> None:
    """Write `relation` as Parquet at `path` (owner-only, in an owner-only folder). The relation
    API takes the path as a value: a quote in the data dir's name is not SQL."""
    make_private_dir(path.parent)
    relation.write_parquet(str(path))
    os.chmod(path, PRIVATE_FILE_MODE)


def sql_literal(value: object) -> str:
    """A spec value (public, from the repo) as a SQL literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + str(value).replace("'", "''") + "'"


def _stored(con: duckdb.DuckDBPyConnection, spec: ReleaseSpec, period: str, final: bool) -> str | None:
    """The current release of this spec for the period; once the period closed, a final one only
    (a provisional release then gives way to the release of the complete period)."""
    rows = con.execute(
        "select release_id from dp.releases where release_name = ? and period = ? and fingerprint = ? and is_current "
        "and not (? and provisional)",
        [spec.name, period, spec.fingerprint, final],
    ).fetchall()
    return rows[0][0] if rows else None


def _table(con: duckdb.DuckDBPyConnection, spec: ReleaseSpec, period: str) -> pl.DataFrame:
    relation = con.sql(
        f"select * exclude (period, release_id) from dp.{spec.name} where period = $period", params={"period": period}
    )
    return pl.DataFrame(pl.from_arrow(relation.to_arrow_table()))


def _store_in(con, catalog, spec: ReleaseSpec, period: Period, planned, table: pl.DataFrame, spend_id, now) -> str:
    """Replace the period's rows of dp.<name> (from the registered `released`) and add the
    catalogue row, inside the caller's transaction."""
    release_id = f"{spec.name}:{period.label}:{now.strftime('%Y%m%dT%H%M%S%f')}"
    flags = [c for c in table.columns if c.endswith("_low_accuracy")]
    low = table.select(pl.any_horizontal(flags).sum()).item() if flags else 0
    accuracy = {
        m: {
            "noise_scale": planned.scales[m],
            "ci95_half_width": planned.accuracy[m],
            "distribution": planned.distribution,
        }
        for m in planned.scales
    }
    if _columns(con, spec.name) not in ([], ["period", "release_id", *table.columns]):
        # The spec's keys or measures changed: the old layout cannot take the new rows.
        # Its releases stay in the catalogue (no longer current); their rows go.
        con.execute(f"drop table dp.{spec.name}")
        con.execute("update dp.releases set is_current = false where release_name = ?", [spec.name])
    con.execute(
        f"create table if not exists dp.{spec.name} as "
        "select ''::varchar as period, ''::varchar as release_id, * from released where false"
    )
    con.execute(f"delete from dp.{spec.name} where period = ?", [period.label])
    con.execute(
        f"insert into dp.{spec.name} by name select ? as period, ? as release_id, * from released",
        [period.label, release_id],
    )
    con.execute(
        "update dp.releases set is_current = false where release_name = ? and period = ?", [spec.name, period.label]
    )
    budget_delta = catalog.budgets[spec.dataset].total.delta
    con.execute(
        "insert into dp.releases values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, true, false)",
        [
            release_id,
            spec.name,
            period.label,
            spec.dataset,
            spec.input,
            spec.description,
            json.dumps(_spec_record(spec)),
            spec.fingerprint,
            spec.loss.rho,
            spec.loss.delta,
            ledger.epsilon_of(spec.loss.rho, budget_delta),
            budget_delta,
            json.dumps(asdict(spec.bounds)),
            json.dumps(accuracy),
            planned.threshold,
            table.height,
            low,
            spend_id,
            now,
        ],
    )
    return release_id


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = 'dp' and table_name = ? "
        "order by ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def _spec_record(spec: ReleaseSpec) -> dict:
    return {
        "keys": {k.column: k.public_set or "private (DP partition selection)" for k in spec.keys},
        "where": {c: list(v) for c, v in spec.where},
        "measures": [asdict(m) for m in spec.measures],
        "date_column": spec.date_column,
        "suppress_low_accuracy": spec.suppress,
    }


def pending_releases(con: duckdb.DuckDBPyConnection, data_dir: DataDir) -> list[str]:
    """Names of current releases that the published file does not hold yet: stored, then the
    process died before publishing. The next release run publishes them."""
    current = con.execute("select release_id, release_name from dp.releases where is_current").fetchall()
    if not current:
        return []
    published: set[str] = set()
    if published_db(data_dir).exists():
        with duckdb.connect(str(published_db(data_dir)), read_only=True) as pub:
            if pub.execute(
                "select count(*) from information_schema.tables where table_name = 'dp_releases'"
            ).fetchone()[0]:
                published = {r[0] for r in pub.execute("select release_id from dp_releases").fetchall()}
    return sorted({name for release_id, name in current if release_id not in published})


def _publish(con: duckdb.DuckDBPyConnection, names: list[str]) -> list[str]:
    """Copy DP tables and the whole catalogue into the published file being built (`pub`)."""
    con.execute("create or replace table pub.main.dp_releases as select * from dp.releases")
    tables = ["dp_releases"]
    for name in names:
        con.execute(f"create or replace table pub.main.dp_{name} as select * from dp.{name}")
        tables.append(f"dp_{name}")
    return tables


def budgets(data_dir: DataDir, catalog: Catalog | None = None) -> list[ledger.BudgetState]:
    """Budget per dataset and period: every period with spends, plus the current quarter."""
    catalog = catalog or load_catalog()
    current = period_of(datetime.now(UTC).date()).label
    con = connect(data_dir.warehouse)
    try:
        return [
            ledger.state(con, budget, label)
            for budget in catalog.budgets.values()
            for label in sorted({*ledger.periods(con, budget.dataset), current})
        ]
    finally:
        con.close()


def catalogue(data_dir: DataDir) -> list[dict]:
    """Current releases (one per name and period), newest first."""
    con = connect(data_dir.warehouse)
    try:
        con.execute("create schema if not exists dp")
        con.execute(CATALOGUE_DDL)
        cur = con.execute(
            "select release_name, period, rho, delta, epsilon, row_count, low_accuracy_rows, provisional, released_at "
            "from dp.releases where is_current order by released_at desc"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()
