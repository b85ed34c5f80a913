"""Gather every section; a section that cannot be computed fails alone, with its reason, never a traceback."""

from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb

from privacy import load_or_create_signing_key, signing_key_path
from privacy._dp_spec import load_catalog
from weir import audit, pipeline
from weir.config import DataDir
from weir.dbt import manifest_path
from weir.errors import WeirError
from weir.manifest import load
from weir.publish import published_db
from weir.report._consent import consent_section, declared_bases, dsr_section
from weir.report._evidence import keys_section, models_section, pii_section
from weir.report._ledgers import budget_section, quality_section
from weir.report._lineage import lineage_section, ropa_section
from weir.report._model import Period, Report, Section, Table, failed
from weir.report._sql import has
from weir.warehouse import connect

TITLES = {
    "consent": "Consent",
    "dsr": "Data-subject requests",
    "budget": "Privacy budget",
    "quality": "Quality gates",
    "pii": "PII scan of published tables",
    "keys": "Keys",
    "models": "Models",
    "lineage": "Lineage",
    "ropa": "Record of processing and impact assessment",
}
# What a section may fail with: a missing or unreadable table, file or declaration.
EXPECTED = (WeirError, duckdb.Error, OSError, KeyError, ValueError)


def guarded(key: str, build: Callable[[], Section]) -> Section:
    try:
        return build()
    except EXPECTED as err:
        return failed(key, TITLES[key], f"{type(err).__name__}: {err}")


def chain_section(data_dir: DataDir) -> tuple[Section, list[tuple[str, str]]]:
    """`weir audit verify`'s result with the witnessed head, and the data dir's identity."""
    identity = [("data dir", str(data_dir.root)), ("warehouse", str(data_dir.warehouse))]
    try:
        verified = pipeline.verify_audit(data_dir)
        heads = audit.read_witness(data_dir.audit_witness) if data_dir.audit_witness.exists() else []
    except EXPECTED as err:
        return failed("chain", "Audit chain", f"{type(err).__name__}: {err}"), identity
    if signing_key_path(data_dir.keys).exists():  # names the key; never creates one
        public = load_or_create_signing_key(data_dir.keys, create=False).public_key()
        identity.append(("signing key (SHA-256 of public key)", audit.key_fingerprint(public)))
    head = heads[-1] if heads else {}
    rows = [(k, str(head.get(k, ""))) for k in ("seq", "entry_hash", "counter", "signed_at")]
    table = Table("Witnessed head", ("field", "value"), rows)
    if not verified.ok:
        where = f" at entry {verified.first_bad_seq}" if verified.first_bad_seq else ""
        return Section(
            "chain", "Audit chain", "failed", f"verification FAILED{where}: {verified.reason}", [table]
        ), identity
    if not verified.entries:
        return Section("chain", "Audit chain", "failed", "no audit log here: nothing is evidenced", [table]), identity
    summary = f"verified: {verified.entries} entries, chain, signatures and witness intact"
    return Section("chain", "Audit chain", "ok", summary, [table]), identity


def gather(
    data_dir: DataDir, period: Period, now: datetime, on_section: Callable[[Section], None] = lambda _: None
) -> Report:
    """Every section, in order; `on_section` sees each as soon as it is built (the report draws its
    charts then, while the next sections' SQL runs)."""
    chain, identity = chain_section(data_dir)
    if not data_dir.warehouse.exists():
        reason = f"no warehouse at {data_dir.warehouse}; run `weir ingest` first"
        return Report(period, now, identity, chain, [failed(k, t, reason) for k, t in TITLES.items()])
    try:
        with connect(data_dir.warehouse, read_only=True) as con:
            return Report(period, now, identity, chain, _sections(con, data_dir, period, now, on_section))
    except EXPECTED as err:  # the warehouse itself cannot be opened
        reason = f"cannot open the warehouse: {type(err).__name__}: {err}"
        return Report(period, now, identity, chain, [failed(k, t, reason) for k, t in TITLES.items()])


def _sections(
    con: duckdb.DuckDBPyConnection,
    data_dir: DataDir,
    period: Period,
    now: datetime,
    on_section: Callable[[Section], None],
) -> list[Section]:
    con.execute("set TimeZone = 'UTC'")  # weeks and days are UTC, whatever the machine's zone
    published, unreadable = _attach_published(con, published_db(data_dir))
    catalog = load_catalog()
    models = (
        [r[0] for r in con.execute("select distinct model from ml.model_versions").fetchall()]
        if has(con, "ml.model_versions")
        else []
    )
    manifest = cache(lambda: load(manifest_path(data_dir)))  # read once (a large JSON), only if needed
    builders: dict[str, Callable[[], Section]] = {
        "consent": lambda: consent_section(con, period, published),
        "dsr": lambda: dsr_section(con, period, now),
        "budget": lambda: budget_section(con, period, catalog),
        "quality": lambda: quality_section(con, period),
        "pii": lambda: (
            failed("pii", TITLES["pii"], unreadable) if unreadable else pii_section(con, data_dir, published)
        ),
        "keys": lambda: keys_section(con, data_dir),
        "models": lambda: models_section(con),
        "lineage": lambda: lineage_section(manifest(), published, catalog, models),
        "ropa": lambda: ropa_section(manifest(), catalog, declared_bases(con)),
    }
    sections = []
    for key, build in builders.items():
        sections.append(guarded(key, build))
        on_section(sections[-1])
    return sections


def _attach_published(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[dict[str, str], str | None]:
    """Attach the published layer read-only as `pub`: its catalogue mart -> purpose (empty before
    a publish, and then nothing reads `pub`), or why it cannot be read."""
    if not path.exists():
        return {}, None
    try:
        con.execute("attach ? as pub (read_only)", [str(path)])
        rows = con.execute("select mart, coalesce(purpose, '') from pub.main.published_marts order by 1").fetchall()
        return dict(rows), None
    except duckdb.Error as err:
        con.execute("detach database if exists pub")
        return {}, f"published layer {path} cannot be read: {type(err).__name__}: {err}"
