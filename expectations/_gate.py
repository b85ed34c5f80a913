"""Run a suite on a batch inside DuckDB and turn GX's result into a verdict people can read.

Severity lives in each expectation's meta: `error` blocks, `warn` is recorded and the load
goes on. The batch is a SQL query on the warehouse (e.g. one landing batch of a raw table),
so the validation is pushed down to DuckDB and scales with the data.
"""

from __future__ import annotations

import fcntl
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from expectations import _docs_assets
from privacy import _scrub

if TYPE_CHECKING:
    from expectations._suites import Suite

_FILE_CONTEXTS: dict = {}  # GX project folder -> its loaded context
DOCS_RUNS = 300  # the most recent validation runs shown in Data Docs (all stay in the store)


@dataclass(frozen=True, slots=True)
class Finding:
    suite: str
    expectation: str
    column: str | None
    observed: object
    severity: str  # error | warn

    def __str__(self) -> str:
        where = f" (column {self.column})" if self.column else ""
        return f"{self.severity}: suite {self.suite}, expectation '{self.expectation}'{where}: observed {self.observed}"


@dataclass(frozen=True)
class GateResult:
    suite: str
    evaluated: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    def message(self) -> str:
        verdict = "blocked" if self.blocked else "passed"
        lines = [f"Quality gate {self.suite} {verdict}: {self.evaluated} expectations, {len(self.findings)} failed."]
        return "\n".join([*lines, *(f"  {f}" for f in self.findings)])


def validate(
    warehouse: Path | None,
    suite: Suite,
    batch_query: str,
    docs: Path | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> GateResult:
    """Validate `batch_query` against `suite`: SQL over a DuckDB file (opened read-only), or with
    `warehouse=None` over cursors of an open `connection` (they see what it committed, in its
    database and the databases attached to it, but not its temp tables). With `docs`, the run
    is kept in the GX project there, for Data Docs.

    Either way GX's queries run on cursors of a connection Weir holds, so the PII checks can
    call the scrubber's detector (`weir_pii_kinds`, registered on it)."""
    from expectations import _duckdb  # deferred: Great Expectations loads only to validate

    _duckdb.install()
    own = duckdb.connect(str(warehouse), read_only=True) if warehouse else None  # a gate only reads
    connection = own or connection
    if connection is None:
        raise TypeError("validate() needs a warehouse file or an open connection")
    _scrub.register_sql(connection)
    try:
        return _validate(suite, batch_query, docs, connection, on_file=own is not None)
    finally:
        if own is not None:
            own.close()


def _validate(
    suite: Suite, batch_query: str, docs: Path | None, connection: duckdb.DuckDBPyConnection, on_file: bool
) -> GateResult:
    import great_expectations as gx

    from expectations import _duckdb

    with _project(docs) as context:
        source = context.data_sources.add_or_update_sql(name=suite.name, connection_string="duckdb:///:memory:")
        if suite.name in source.get_asset_names():
            source.delete_asset(suite.name)  # the batch query changes from run to run
        batch = source.add_query_asset(name=suite.name, query=batch_query).add_batch_definition_whole_table("batch")
        # Copies: GX binds an expectation to one suite, and a Suite may be validated many times.
        registered = context.suites.add_or_update(
            gx.ExpectationSuite(name=suite.name, expectations=[copy(e) for e in suite.compiled()])
        )
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=registered)
        )
        try:
            _duckdb.use_connection(source.get_execution_engine(), connection)
            outcome = definition.run(result_format="COMPLETE")  # COMPLETE: the failing check rows
        finally:
            _release(source, on_file=on_file)
    findings = [f for r in outcome.results if not r.success for f in _findings(suite.name, r)]
    return GateResult(suite.name, suite.size, findings)


def build_docs(docs: Path) -> Path:
    """Render Data Docs from every run kept in the GX project at `docs`, every asset served from
    the site itself; returns index.html."""
    with _project(docs) as context:
        sites = context.variables.data_docs_sites or {}
        index = sites.get("local_site", {}).get("site_index_builder", {})
        if index.get("validation_results_limit") != DOCS_RUNS:
            index["validation_results_limit"] = DOCS_RUNS  # render time grows with the runs shown
            sites["local_site"]["show_how_to_buttons"] = False
            context.variables.data_docs_sites = sites
            context.variables.save()
        context.build_data_docs()
        site = docs / "gx" / "uncommitted" / "data_docs" / "local_site"
        _docs_assets.localise(site)  # no CDN, no logo from GX's bucket: nothing loads from outside
    return site / "index.html"


@contextmanager
def _project(docs: Path | None) -> Iterator:
    """A GX context: a file project at `docs` (one process at a time), else an ephemeral one."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if docs is None:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)  # logs, not progress bars
        context.config.analytics_enabled = False  # as GX_ANALYTICS_ENABLED (weir.TELEMETRY_OFF) says
        yield context
        return
    docs.mkdir(parents=True, exist_ok=True)
    with (docs / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # GX rewrites its YAML and stores: no concurrent writers
        context = _FILE_CONTEXTS.get(docs)
        if context is None:  # loading a project parses its YAML: once per process
            context = gx.get_context(mode="file", project_root_dir=docs)
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            context.config.analytics_enabled = False
            _FILE_CONTEXTS[docs] = context
        yield context


def _findings(suite: str, result) -> list[Finding]:  # type: ignore[no-untyped-def]
    """One finding per failing check of a compiled row-check expectation, else one."""
    meta = result.expectation_config.meta or {}
    rows = (result.result or {}).get("details", {}).get("unexpected_rows")
    if "checks" not in meta or not rows or _exceptions(result.exception_info or {}):
        return [_finding(suite, result)]
    return [
        Finding(
            suite,
            meta["checks"][row["check_id"]][0],
            meta["checks"][row["check_id"]][1],
            _number(row["n"]),
            meta["severity"],
        )
        for row in rows
    ]


def _number(value: float | None) -> float | int | None:
    """Counts come back as doubles (one result column for all checks): show them as integers.
    None: the check measured nothing (an empty table's minimum, or a ratio to nothing)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 3)


def _finding(suite: str, result) -> Finding:  # type: ignore[no-untyped-def]
    config = result.expectation_config
    meta = config.meta or {}
    details = result.result or {}
    observed = details.get("observed_value", details.get("unexpected_count"))
    errors = _exceptions(result.exception_info or {})
    if errors:
        observed = f"could not evaluate: {errors[0]}"
    return Finding(
        suite=suite,
        expectation=config.description or config.type,
        column=meta.get("column") or config.kwargs.get("column"),
        observed=observed,
        severity=meta.get("severity", "error"),
    )


def _exceptions(info: dict) -> list[str]:
    """GX nests exception details per metric; collect their messages."""
    if info.get("raised_exception"):
        return [str(info.get("exception_message"))]
    return [m for v in info.values() if isinstance(v, dict) for m in _exceptions(v)]


def _release(source, on_file: bool) -> None:  # type: ignore[no-untyped-def]
    """Close every connection GX opened on the warehouse file.

    DuckDB lets one process open a file with one configuration only, so a lingering read-only
    GX connection would stop the caller from writing to the warehouse afterwards.
    """
    source.get_execution_engine().close()
    source.get_engine().dispose()
    if on_file:
        gc.collect()  # GX's engines sit in reference cycles (in-memory DuckDBs hold no file)
