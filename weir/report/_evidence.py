"""PII scan of the published layer, keys and models: the evidence that nothing published links back."""

import json
import stat
from pathlib import Path

import duckdb
import polars as pl

from privacy._keyring import hmac_keys
from privacy._pseudonymise import TOKEN_PATTERN
from privacy._scrub import detect
from weir import mart_gate, row_tokens
from weir.config import DataDir
from weir.publish import published_dir
from weir.report._model import Section, Table
from weir.report._sql import has, query, require
from weir.sql import qualified

# Pseudonyms published by design: warehouse tokens and row-bound tokens (random hex, whose digit
# runs can pass the detector's card check).
PSEUDONYM = f"(?:{TOKEN_PATTERN[1:-1]})|(?:{row_tokens.PATTERN[1:-1]})"
TEXT_COLUMNS = """
select table_name, column_name from information_schema.columns
where table_catalog = 'pub' and data_type = 'VARCHAR' and table_name <> 'published_marts' order by 1, 2
"""


def pii_section(con: duckdb.DuckDBPyConnection, data_dir: DataDir, published: dict[str, str]) -> Section:
    """Run the scrubber's detector over every published text value, and the publish gate's
    linkability check (values that are landing identifiers) over the published marts. Values
    shaped like tokens (warehouse or row-bound) are skipped, as the gate does: they are the
    pseudonyms published by design, and their hex digits can look like a card number to the detector."""
    columns = con.execute(TEXT_COLUMNS).fetchall()
    values = {(t, c): _distinct_values(con, c, qualified("pub", "main", t), []) for t, c in columns}
    exports = _scan_exports(con, data_dir, values)
    hits = _count_hits(values)
    # The publish gate's check, run here on the published copies themselves (temp tables: read-only safe)
    con.execute("create or replace temp table _published_values (mart varchar, column_name varchar, value varchar)")
    # every published table (marts and DP release tables), not only the catalogue's marts
    mart_gate._linked_values(con, data_dir, sorted({t for t, _ in columns}), where=("pub", "main"))
    keyed = bool(hmac_keys(data_dir.keys))
    checked = dict(con.execute("select mart, count(*) from _published_values group by 1").fetchall()) if keyed else {}
    linked = query(
        con,
        "Published values that are landing identifiers (must be empty)",
        "select mart, column_name, kind, count(*) as values_linked from _linked group by all order by 1, 2",
    )
    detected = Table(
        "PII detector hits in published text (must be empty)",
        ("table", "column", "kind", "values"),
        [(*k, v) for k, v in sorted(hits.items())],
    )
    scanned = Table(
        "Published tables scanned (pub: the published copies, not the warehouse marts)",
        ("table", "purpose", "text_columns", "values_checked_for_linkability"),
        [(m, p, sum(1 for t, _ in columns if t == m), checked.get(m, 0)) for m, p in sorted(published.items())],
    )
    status = "failed" if detected.rows or linked.rows else "ok" if keyed or not published else "attention"
    summary = (
        f"{len(published)} published table(s), {len(columns)} text column(s) scanned: "
        f"{sum(hits.values())} PII hit(s), {sum(r[3] for r in linked.rows)} linkable value(s)"
        + ("" if keyed or not published else f"; linkability NOT checked: no pseudonymisation key in {data_dir.keys}")
    )
    summary += f"; {len(exports.rows)} Parquet export(s) scanned"
    return Section("pii", "PII scan of published tables", status, summary, [detected, linked, scanned, exports])


def _distinct_values(con: duckdb.DuckDBPyConnection, column: str, relation: str, params: list) -> list[str]:
    """One column's distinct non-null values, pseudonyms skipped."""
    rows = con.execute(
        f"select distinct {qualified(column)} from {relation} "
        f"where {qualified(column)} is not null and not regexp_full_match({qualified(column)}, ?)",
        [*params, PSEUDONYM],
    ).fetchall()
    return [r[0] for r in rows]


def _count_hits(values: dict[tuple[str, str], list[str]]) -> dict[tuple[str, str, str], int]:
    """The detector's hits per (table, column, kind). One call over every column's values: the
    detector's fixed cost per call (about forty Polars passes) would otherwise repeat per column."""
    columns = list(values)
    texts = [v for vs in values.values() for v in vs]
    if not texts:
        return {}
    found = detect(pl.Series(texts, dtype=pl.Utf8))
    owner = pl.Series("owner", [i for i, vs in enumerate(values.values()) for _ in vs], dtype=pl.UInt32)
    counts = found.with_columns(owner).group_by("owner").sum()
    return {
        (*columns[row["owner"]], kind): row[kind]
        for row in counts.iter_rows(named=True)
        for kind in found.columns
        if row[kind]
    }


def _scan_exports(con: duckdb.DuckDBPyConnection, data_dir: DataDir, values: dict) -> Table:
    """The Parquet exports downstream teams read are copies too: scan their text columns the same
    way (a hand-edited or stale export is caught here, not only the DuckDB copy)."""
    folder = published_dir(data_dir) / "parquet"
    rows = []
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
        texts = [
            name
            for name, kind, *_ in con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
            if kind == "VARCHAR"
        ]
        for column in texts:
            values[(f"parquet/{path.name}", column)] = _distinct_values(con, column, "read_parquet(?)", [str(path)])
        rows.append((path.name, len(texts)))
    return Table("Parquet exports scanned (published/parquet)", ("file", "text_columns"), rows)


ROTATIONS = """
select seq, strftime(recorded_at::timestamptz, '%Y-%m-%d %H:%M') as rotated_at, actor, figures from audit.log
where action = 'keys_rotate' order by seq
"""


def keys_section(con: duckdb.DuckDBPyConnection, data_dir: DataDir) -> Section:
    """Rotation history from the audit log; every key file's mode (never its content)."""
    require(con, "audit.log")
    history = query(con, "Key rotations (audit log)", ROTATIONS)
    files = [
        (str(p.relative_to(data_dir.keys)), oct(stat.S_IMODE(p.stat().st_mode))) for p in _key_files(data_dir.keys)
    ]
    loose = [f for f in files if int(f[1], 8) & 0o077]
    perms = Table("Key files and their permissions (owner-only expected)", ("file", "mode"), files)
    status = "failed" if loose or not files else "ok"
    summary = f"{len(history.rows)} rotation(s); {len(files)} key file(s), {len(loose)} readable by others"
    return Section("keys", "Keys", status, summary, [history, perms])


def _key_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


MODELS = """
select version, model, status, strftime(created_at, '%Y-%m-%d %H:%M') as created,
    coalesce(superseded_reason, '') as superseded_because, card from ml.model_versions order by created_at, version
"""


def models_section(con: duckdb.DuckDBPyConnection) -> Section:
    if not has(con, "ml.model_versions"):
        return Section("models", "Models", "ok", "no model registry here (schema ml absent): nothing trained")
    versions = query(con, "", MODELS)
    cards = [(r[0], *_card_figures(json.loads(r[5]))) for r in versions.rows]
    table = Table("Registered model versions", versions.columns[:5], [r[:5] for r in versions.rows])
    card_table = Table("Model cards", ("version", "epsilon", "delta", "clients", "consent_snapshot"), cards)
    current = sum(1 for r in versions.rows if r[2] == "current")
    summary = f"{len(versions.rows)} version(s), {current} current, {len(versions.rows) - current} superseded"
    return Section("models", "Models", "ok", summary, [table, card_table])


def _card_figures(card: dict) -> tuple:
    privacy, data = card.get("privacy") or {}, card.get("data") or {}
    return (privacy.get("epsilon"), privacy.get("delta"), data.get("clients"), data.get("consent_snapshot_at"))
