"""Expectation suites as code: one per raw source, derived from its data contract.

The contract already rejects malformed rows at ingest (types, required, allowed values,
ranges go to quarantine); the raw gate checks the *batch* as a whole and the privacy
promises: tokens look like tokens, no text column holds anything the scrubber's detector
finds (e-mail, ID number, bank card, phone, @-mention: `privacy._scrub`, the same code that
scrubbed the batch), no timestamp lies in the future, and the batch is not empty.

Row checks are SQL pushed down to DuckDB. They are compiled into one custom GX expectation
(`ExpectNoFailingChecks`) per severity whose query scans the batch once and returns one row
per failing check (`check_id`, `n`); the gate turns each row back into a finding naming its
check and column. 62 separate expectations on 1M events took 60 s (one scan each). Batch
checks (volume, freshness) ride along in the same scan.
"""

from dataclasses import dataclass, field
from datetime import datetime

from privacy import _scrub
from weir.contract import Contract

TOKEN = r"tk[0-9]+_[0-9a-f]{32}"
FUTURE_SLACK = "interval 1 hour"  # clocks of app servers drift a little
VOLUME_BAND = (0.2, 5.0)  # rows per day of event time, against the previous batch of the source
VOLUME_MIN_ROWS = 1000  # smaller previous batches are too noisy to compare against
STALE_DAYS = 7  # a batch whose newest event is this much older than raw's newest is late or replayed
SEVERITIES = ("error", "warn")  # error blocks the batch; warn is recorded and the load goes on


@dataclass(frozen=True, slots=True)
class Check:
    """One row-level rule: the rows matching `where` are unexpected.

    `guard`, when set, is a cheaper condition that every unexpected row meets (one regular
    expression for all kinds of personal data in `column`): the scan collects only the rows
    meeting some guard, and `where` runs on those few rows instead of on every row.
    """

    description: str
    where: str
    column: str | None = None
    severity: str = "error"
    guard: str | None = None


@dataclass(frozen=True, slots=True)
class BatchCheck:
    """One rule on the batch as a whole: `value` is an aggregate over the batch (SQL), and the
    batch fails when `fails` (SQL on the name `v`) is true, e.g. a drop in rows per day."""

    description: str
    value: str
    fails: str
    column: str | None = None
    severity: str = "error"


@dataclass(frozen=True)
class Suite:
    """Named checks plus plain GX expectations; GX binds them to a context when they run."""

    name: str
    expectations: list = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    batch_checks: list[BatchCheck] = field(default_factory=list)

    def compiled(self) -> list:
        """The plain expectations, then one single-scan expectation per severity of checks."""
        from expectations._single_scan import ExpectNoFailingChecks  # deferred: imports GX

        out = list(self.expectations)
        for severity in SEVERITIES:
            rows = {f"c{i}": c for i, c in enumerate(self.checks) if c.severity == severity}
            batch = {f"b{i}": c for i, c in enumerate(self.batch_checks) if c.severity == severity}
            if not rows and not batch:
                continue
            out.append(
                ExpectNoFailingChecks(
                    description=f"{self.name}: {len(rows) + len(batch)} checks ({severity})",
                    # GX fills in {batch} with str.format: other braces (regex) are doubled.
                    unexpected_rows_query=_single_scan(rows, batch)
                    .replace("{", "{{")
                    .replace("}", "}}")
                    .replace("{{batch}}", "{batch}"),
                    meta={
                        "severity": severity,
                        "checks": {i: [c.description, c.column] for i, c in {**rows, **batch}.items()},
                    },
                    notes=[c.description for c in {**rows, **batch}.values()],  # listed in Data Docs
                )
            )
        return out

    @property
    def size(self) -> int:
        return len(self.expectations) + len(self.checks) + len(self.batch_checks)


def _single_scan(rows: dict[str, Check], batch: dict[str, BatchCheck]) -> str:
    """One scan of the batch; one result row (check_id, n) per failing check."""
    plain = {i: c for i, c in rows.items() if c.guard is None}
    guarded = {i: c for i, c in rows.items() if c.guard is not None}
    values = [f"cast(count(*) filter (where {c.where}) as double) as {i}" for i, c in plain.items()]
    values += [f"cast({c.value} as double) as {i}" for i, c in batch.items()]
    ctes = []
    if guarded:
        columns = sorted({c.column for c in guarded.values() if c.column})
        fields = ", ".join(f"{c} := {c}" for c in columns)
        guards = " or ".join(sorted({f"({c.guard})" for c in guarded.values()}))
        values.append(f"list(struct_pack({fields})) filter (where {guards}) as _flagged")
        counts = ", ".join(f"cast(count(*) filter (where {c.where}) as double) as {i}" for i, c in guarded.items())
        ctes.append(f"g as (select {counts} from (select unnest(_flagged, recursive := true) from s))")
    parts = [
        f"select '{i}' as check_id, v as n from (select {i} as v from s) where {c.fails}" for i, c in batch.items()
    ]
    if rows:
        ids = ", ".join(rows)
        source = "s, g" if guarded else "s"
        parts.insert(
            0, f"select check_id, n from (select {ids} from {source}) unpivot (n for check_id in ({ids})) where n > 0"
        )
    ctes.insert(0, f"s as (select {', '.join(values)} from {{batch}})")
    return f"with {', '.join(ctes)} " + " union all ".join(parts)


@dataclass(frozen=True, slots=True)
class Baseline:
    """What raw already holds for a source, for the batch-over-batch checks."""

    rows_per_day: float | None  # of the previous batch (None: no batch, or too small to compare)
    newest: datetime | None  # newest event time in raw


def raw_suite(contract: Contract, baseline: Baseline | None = None) -> Suite:
    """The raw-batch gate for one source; `baseline` adds the volume and freshness checks."""
    suite = Suite(f"raw_{contract.source}")
    import great_expectations.expectations as gxe  # deferred: building suites stays light

    suite.expectations.append(gxe.ExpectTableRowCountToBeBetween(min_value=1, meta={"severity": "error"}))
    for column in contract.kept:
        name = column.out_name
        if column.treatment in ("token", "vault"):  # a vault column holds the token of its entry
            where = f"{name} is not null and not regexp_full_match({name}, '{TOKEN}')"
            suite.checks.append(Check(f"{name} holds pseudonymous tokens only", where, name))
        elif column.type == "varchar" and not column.allowed:  # a value set leaves no room for PII
            suite.checks.extend(pii_checks(name))
        if column.type == "timestamp" and not column.future_allowed:
            suite.checks.append(Check(f"{name} is not in the future", f"{name} > now() + {FUTURE_SLACK}", name))
    event_time = event_time_column(contract)
    if baseline and event_time:
        suite.batch_checks.extend(_batch_over_batch(event_time, baseline))
    return suite


def event_time_column(contract: Contract) -> str | None:
    """The column volume and freshness are measured on: the first timestamp that must not lie ahead."""
    return next((c.out_name for c in contract.kept if c.type == "timestamp" and not c.future_allowed), None)


def pii_checks(column: str) -> list[Check]:
    """Nothing the scrubber's detector finds is left in a text column, one check per kind.

    The detector runs as the DuckDB function `weir_pii_kinds` (registered by the gate) on the
    few rows its RE2 prefilter `sql_guard()` flags, so a tracking number that is no ID number
    for the scrubber is none for the gate either.
    """
    guard = f"regexp_matches({column}, '{_scrub.sql_guard()}')"
    return [
        Check(
            f"no raw {kind} in {column}",
            f"list_contains({_scrub.SQL_FUNCTION}({column}), '{kind}')",
            column,
            guard=guard,
        )
        for kind in _scrub.KINDS
    ]


def _batch_over_batch(event_time: str, baseline: Baseline) -> list[BatchCheck]:
    checks = []
    if baseline.rows_per_day:
        low, high = (round(f * baseline.rows_per_day, 1) for f in VOLUME_BAND)
        checks.append(
            BatchCheck(
                f"rows per day of {event_time} between {low:g} and {high:g} "
                f"({VOLUME_BAND[0]:g}-{VOLUME_BAND[1]:g}x the previous batch's {baseline.rows_per_day:.1f})",
                f"count(*) / greatest(count(distinct date_trunc('day', {event_time})), 1)",
                f"v < {low} or v > {high}",
                event_time,
            )
        )
    if baseline.newest:
        checks.append(
            BatchCheck(
                f"newest {event_time} at most {STALE_DAYS} days older than raw's newest (observed: days older)",
                f"({baseline.newest.timestamp()} - epoch(max({event_time}))) / 86400",
                f"v > {STALE_DAYS}",
                event_time,
                severity="warn",
            )
        )
    return checks
