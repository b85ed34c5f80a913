"""Publish marts that passed their checks to a separate, read-only DuckDB file (+ Parquet).

Downstream teams never see `raw`, the quarantine or the vault: only the marts marked
`meta.publish: true`, and only when the mart was built and every test on it passed in the
latest dbt results (recorded in `ops.dbt_results` by the on-run-end hook, whichever process
ran dbt), and when the publish gate (weir/mart_gate.py, Great Expectations) passed it after
that build. A blocked mart keeps its last good version in the published layer, minus the users
who withdrew since: consent must hold when the data is used, and downstream reads are use (see
`_honour_withdrawals`).

Each publish writes a whole new version folder (`versions/<n>/`: the DuckDB file and its
Parquet export) and swaps it in with one rename of the `current` symlink; `published.duckdb`
and `parquet/` are fixed symlinks through `current`. A crash at any point leaves the old
version whole (database and Parquet agree), and readers holding the old file keep a
consistent snapshot and never block the publisher.
"""

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from privacy._consent import PURPOSES
from privacy._keyring import SecretKey, publish_salt
from weir import empty_marts, row_tokens
from weir._withdrawals import delete_withdrawn, prune_withdrawn_versions
from weir.config import DataDir
from weir.dbt import manifest_path
from weir.manifest import ancestors, load, marts, meta
from weir.sql import ident
from weir.warehouse import connect, tables

SAMPLE_KEYS = 5
KEEP_VERSIONS = 2  # the current version and the one before it (a reader may still be listing it)
# A held-back mart whose rows each belong to the users they name (`meta.withdrawal`): a newly
# withdrawn user's rows are deleted from the kept version. Any other held-back mart may have
# counted the user inside an aggregate, so it is withdrawn from the published layer whole.
DELETE_ROWS = "delete_rows"


@dataclass(frozen=True, slots=True)
class Blocked:
    mart: str
    reason: str


@dataclass(frozen=True, slots=True)
class PublishResult:
    published: dict[str, int]  # mart -> rows
    blocked: list[Blocked]
    path: Path
    versions_removed: int = 0  # older versions that might still hold users who withdrew
    empty: dict[str, str] = field(default_factory=dict)  # published mart with no rows -> what it needs


def published_dir(data_dir: DataDir) -> Path:
    return data_dir.root / "published"


def published_db(data_dir: DataDir) -> Path:
    """The published file (a fixed symlink into the current version)."""
    return published_dir(data_dir) / "published.duckdb"


def consent_tests(manifest: dict) -> dict[str, list[tuple[str, str, str | None]]]:
    """Model id -> (column, purpose, at) of its dbt has_consent tests."""
    found: dict[str, list] = {}
    for node in manifest["nodes"].values():
        test = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and test.get("name") == "has_consent":
            kwargs = test.get("kwargs", {})
            model = node.get("attached_node") or node["depends_on"]["nodes"][0]
            found.setdefault(model, []).append((kwargs["column_name"], kwargs["purpose"], kwargs.get("at")))
    return found


def _latest(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    """unique_id -> (status, failures, message, depends_on, finished_at, failing_sql) of its newest result."""
    if "dbt_results" not in tables(con, "ops"):
        return {}
    rows = con.execute(
        "select unique_id, arg_max(status, finished_at), arg_max(failures, finished_at), "
        "arg_max(message, finished_at), arg_max(depends_on, finished_at), max(finished_at), "
        "arg_max(failing_sql, finished_at) from ops.dbt_results group by unique_id"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def _sample(con: duckdb.DuckDBPyConnection, failing_sql: str | None) -> str:
    """A few failing rows of a test, from its compiled SQL as it ran (pseudonymous keys only:
    the warehouse holds nothing else)."""
    if not failing_sql:
        return ""
    try:
        cur = con.execute(f"select * from ({failing_sql}) limit {SAMPLE_KEYS}")
    except duckdb.Error:
        return ""
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return "; ".join(", ".join(f"{n}={v}" for n, v in zip(names, row, strict=True)) for row in rows)


def _failures(con, manifest: dict, node_id: str, latest: dict) -> list[str]:
    """The node's own error and the failing tests on it, with sample failing keys."""
    found = []
    own = latest.get(node_id)
    if own and own[0] == "error":
        found.append(f"model {node_id.split('.')[-1]} error: {own[2]}")
    for uid, (status, failures, message, depends_on, _, failing_sql) in latest.items():
        if node_id not in (depends_on or []) or not uid.startswith(("test.", "unit_test.")):
            continue
        if status in ("fail", "error"):
            test = manifest["nodes"].get(uid) or manifest.get("unit_tests", {}).get(uid) or {}
            sample = _sample(con, failing_sql)
            detail = f"failing keys: {sample}" if sample else message
            rows = f" ({failures} rows)" if failures else ""
            found.append(
                f"test {uid.split('.')[-1] if uid.startswith('unit_test.') else test.get('name', uid)} "
                f"{status}{rows}: {detail}"
            )
    return found


def _verdict(con, manifest: dict, node: dict, latest: dict, since: datetime | None) -> str | None:
    """None when the mart may be published, else why not."""
    model_id = node["unique_id"]
    mine = latest.get(model_id)
    if mine is None:
        return "never built: run `weir dbt build`"
    problems = _failures(con, manifest, model_id, latest)
    if mine[0] == "skipped" or (since is not None and mine[4] < since):
        models = [a for a in ancestors(manifest, model_id) if a.startswith(("model.", "snapshot."))]
        upstream = [p for a in models for p in _failures(con, manifest, a, latest)]
        problems.append(
            f"model {node['name']} was not rebuilt; upstream: "
            + (" | ".join(upstream) or "nothing failing now, rebuild with `weir dbt build`")
        )
    if not problems:
        problems += _gate_problems(con, node["name"], mine[4])
    return " | ".join(problems) or None


def _gate_problems(con: duckdb.DuckDBPyConnection, mart: str, built_at: datetime) -> list[str]:
    """Why the publish gate (weir/mart_gate.py) holds the mart back, if it does."""
    runs = (
        con.execute(
            "select checked_at, blocked from quality.runs where suite = ? order by checked_at desc limit 1", [mart]
        ).fetchall()
        if "runs" in tables(con, "quality")
        else []
    )
    if not runs or runs[0][0] < built_at:
        return [f"quality gate {mart} has not checked this build: run `weir publish` (it gates, then publishes)"]
    if not runs[0][1]:
        return []
    findings = con.execute(
        "select expectation, column_name, observed from quality.findings "
        "where suite = ? and checked_at = ? and severity = 'error' order by expectation",
        [mart, runs[0][0]],
    ).fetchall()
    return [f"quality gate {mart}: {e}" + (f" (column {c})" if c else "") + f": observed {o}" for e, c, o in findings]


def publish(data_dir: DataDir, since: datetime | None = None) -> PublishResult:
    """Copy every publishable mart that passed into the published file; report the rest."""
    manifest = load(manifest_path(data_dir))
    candidates = {n["name"]: n for n in marts(manifest) if meta(n).get("publish")}
    # One read-write connection: inside an Airflow worker that ran dbt in-process, DuckDB
    # only lets us share dbt's (read-write) database instance.
    con = connect(data_dir.warehouse)
    try:
        latest = _latest(con)
        verdicts = {name: _verdict(con, manifest, n, latest, since) for name, n in candidates.items()}
        good = {name: latest[candidates[name]["unique_id"]][4] for name, why in sorted(verdicts.items()) if why is None}
        held = {name: candidates[name] for name, why in verdicts.items() if why is not None}
        rows, withdrawn, empty = _write(con, data_dir, manifest, good, candidates, held)
        pruned = prune_withdrawn_versions(con, published_dir(data_dir))
    finally:
        con.close()
    blocked = [
        Blocked(name, why + (f" | {withdrawn[name]}" if name in withdrawn else ""))
        for name, why in sorted(verdicts.items())
        if why is not None
    ]
    return PublishResult(rows, blocked, published_db(data_dir), pruned, empty)


CATALOGUE_DDL = (
    "create table if not exists pub.main.published_marts (mart varchar primary key, purpose varchar, "
    "description varchar, row_count bigint, published_at timestamptz, built_at timestamptz);"
    "alter table pub.main.published_marts add column if not exists built_at timestamptz;"
    # how to find a person's rows in a mart published with row-bound pseudonyms (weir/row_tokens.py)
    "alter table pub.main.published_marts add column if not exists row_key varchar;"
    "alter table pub.main.published_marts add column if not exists row_bound varchar[];"
    # why a published mart has no rows (weir/empty_marts.py): the sources or the basis it needs
    "alter table pub.main.published_marts add column if not exists empty_because varchar"
)


def _write(
    con: duckdb.DuckDBPyConnection,
    data_dir: DataDir,
    manifest: dict,
    good: dict[str, datetime],
    nodes: dict[str, dict],
    held: dict[str, dict],
) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """Copy the good marts (name -> build time) into the next published version, record them
    in its catalogue (an empty one with what it needs), and take newly withdrawn users out of
    the held-back ones."""
    rows: dict[str, int] = {}
    withdrawn: dict[str, str] = {}
    empty: dict[str, str] = {}
    tests = consent_tests(manifest)
    salt = publish_salt(data_dir.keys)

    def copy_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
        con.execute(CATALOGUE_DDL)
        for name, built_at in good.items():
            select, params = row_tokens.select_sql(nodes[name], f"marts.{ident(name)}", salt)
            con.execute(f"create or replace table pub.main.{ident(name)} as {select}", params)
            rows[name] = con.execute(f"select count(*) from pub.main.{name}").fetchone()[0]
            bound = row_tokens.bound_columns(nodes[name])
            con.execute(
                "insert or replace into pub.main.published_marts (mart, purpose, description, row_count, "
                "published_at, built_at, row_key, row_bound) values (?, ?, ?, ?, current_timestamp, ?, ?, ?)",
                [name, meta(nodes[name]).get("purpose"), nodes[name].get("description", ""), rows[name], built_at]
                + ([meta(nodes[name])[row_tokens.ROW_KEY], bound] if bound else [None, None]),
            )
        empty.update(empty_marts.explain(con, manifest, nodes, sorted(m for m, n in rows.items() if n == 0)))
        for name, why in empty.items():
            con.execute("update pub.main.published_marts set empty_because = ? where mart = ?", [why, name])
        _retire(con, nodes, held, withdrawn)
        changed = _honour_withdrawals(con, held, tests, withdrawn, salt)
        return [*good, *changed]

    update_published(con, data_dir, copy_marts)
    return rows, withdrawn, empty


def _retire(con: duckdb.DuckDBPyConnection, nodes: dict[str, dict], held: dict[str, dict], notes: dict) -> None:
    """Take out of the next version what may no longer be published: a mart no longer marked
    `publish`, and a held-back mart's kept version whose columns are not the mart's current
    ones or that shares tokens across rows the mart now binds to them (published under older
    rules, e.g. before its quasi-identifiers were coarsened)."""
    for name, row_key in con.execute("select mart, row_key from pub.main.published_marts").fetchall():
        columns = {
            c
            for (c,) in con.execute(
                "select column_name from information_schema.columns where table_catalog = 'pub' and table_name = ?",
                [name],
            ).fetchall()
        }
        same = name in nodes and columns == set(nodes[name]["columns"])
        if name in nodes and (name not in held or (same and (row_key or not row_tokens.bound_columns(nodes[name])))):
            continue
        con.execute(f"drop table if exists pub.main.{ident(name)}")
        con.execute("delete from pub.main.published_marts where mart = ?", [name])
        if name in held:
            notes[name] = "taken out of the published layer: its last good version " + (
                "shares tokens across rows" if same else "has other columns than the mart now"
            )


def _honour_withdrawals(
    con: duckdb.DuckDBPyConnection,
    held: dict[str, dict],
    tests: dict[str, list],
    notes: dict[str, str],
    salt: SecretKey,
) -> list[str]:
    """Take users who withdrew the purpose since a held-back mart's kept version was built out
    of it: their rows (`meta.withdrawal: delete_rows`) or the whole mart. Returns the marts
    whose kept version changed (and still exist) for the Parquet export."""
    kept = dict(con.execute("select mart, coalesce(built_at, published_at) from pub.main.published_marts").fetchall())
    changed = []
    for name, node in sorted(held.items()):
        purpose = meta(node).get("purpose")
        if name not in kept or purpose not in PURPOSES or "consent" not in tables(con, "raw"):
            continue
        withdrew = con.execute(
            "select count(distinct user_token) from raw.consent where purpose = ? and status = 'withdrawn' "
            "and _loaded_at > ?",
            [purpose, kept[name]],
        ).fetchone()[0]
        if not withdrew:
            continue
        columns = {c: p for c, p, _ in tests.get(node["unique_id"], [])}
        if meta(node).get("withdrawal") == DELETE_ROWS and columns:
            removed = delete_withdrawn(con, node, columns, purpose, salt, kept[name])
            notes[name] = f"{removed} rows of users who withdrew {purpose} deleted from its last good version"
            changed.append(name)
        else:
            con.execute(f"drop table if exists pub.main.{name}")
            con.execute("delete from pub.main.published_marts where mart = ?", [name])
            notes[name] = (
                f"withdrawn from the published layer: {withdrew} users withdrew {purpose} since its last good "
                "version was built, and it may count them"
            )
    return changed


def update_published(
    con: duckdb.DuckDBPyConnection, data_dir: DataDir, write: Callable[[duckdb.DuckDBPyConnection], list[str]]
) -> None:
    """Build the next published version beside the current one (its file attached as `pub`),
    then swap it in.

    `write` adds tables to `pub` in one transaction and returns the tables to export as Parquet;
    everything it does not touch keeps its last published version (the Parquet of the other
    tables is hard-linked from the current version: a published Parquet file is never changed).
    """
    root = published_dir(data_dir)
    versions = root / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    current = _current_version(root)
    staging = versions / str((current[0] if current else 0) + 1)
    shutil.rmtree(staging, ignore_errors=True)  # left by a crash: never the current version
    (staging / "parquet").mkdir(parents=True)
    target = staging / "published.duckdb"
    old_file, old_parquet = current[1] if current else _legacy(root)
    if old_file is not None:
        shutil.copyfile(old_file, target)
        target.chmod(0o644)
    for part in old_parquet.glob("*.parquet") if old_parquet is not None else []:
        os.link(part, staging / "parquet" / part.name)
    con.execute("attach ? as pub", [str(target)])
    try:
        con.execute("begin")
        try:
            exported = write(con)
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        names = {
            r[0] for r in con.execute("select table_name from duckdb_tables() where database_name = 'pub'").fetchall()
        }
        _export_parquet(con, staging / "parquet", [n for n in exported if n in names])
        for part in (staging / "parquet").glob("*.parquet"):  # tables gone from the file go from Parquet
            if part.stem not in names:
                part.unlink()
    finally:
        con.execute("detach pub")
    target.chmod(0o444)  # downstream teams read; only Weir replaces the file
    _swap_in(root, staging)


def _current_version(root: Path) -> tuple[int, tuple[Path, Path]] | None:
    link = root / "current"
    if not link.is_symlink():
        return None
    folder = link.resolve()
    return int(folder.name), (folder / "published.duckdb", folder / "parquet")


def _legacy(root: Path) -> tuple[Path | None, Path | None]:
    """A published layer from before versions (a plain file and folder), to start from."""
    file, folder = root / "published.duckdb", root / "parquet"
    return (
        file if file.is_file() and not file.is_symlink() else None,
        folder if folder.is_dir() and not folder.is_symlink() else None,
    )


def _swap_in(root: Path, staging: Path) -> None:
    """Point `current` at the new version with one rename; keep the fixed links; prune."""
    link = root / ".current.next"
    link.unlink(missing_ok=True)
    link.symlink_to(Path("versions") / staging.name)
    os.replace(link, root / "current")  # the commit point: database and Parquet switch together
    for name in ("published.duckdb", "parquet"):
        fixed = root / name
        if fixed.is_symlink():
            continue
        tmp = root / f".{name}.link"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(Path("current") / name)
        if fixed.is_dir():  # the legacy folder, once: move it aside, then link
            fixed.rename(root / f".{name}.legacy")
            shutil.rmtree(root / f".{name}.legacy")
        os.replace(tmp, fixed)
    new = int(staging.name)
    for folder in (root / "versions").iterdir():  # older ones, and any a crash left beyond the new
        if folder.name.isdigit() and not new - KEEP_VERSIONS < int(folder.name) <= new:
            shutil.rmtree(folder, ignore_errors=True)


def _export_parquet(con: duckdb.DuckDBPyConnection, folder: Path, names: list[str]) -> None:
    for name in names:
        tmp = folder / f".{name}.parquet.tmp"
        con.table(f"pub.main.{name}").write_parquet(str(tmp))  # the path is a value, not SQL text
        os.replace(tmp, folder / f"{name}.parquet")  # replaces the hard link, not the old file


def empty_published(data_dir: DataDir) -> dict[str, str]:
    """Published marts with no rows -> what each needs (the catalogue's empty_because)."""
    path = published_db(data_dir)
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        found = con.execute(
            "select 1 from duckdb_columns() where table_name = 'published_marts' and column_name = 'empty_because'"
        ).fetchone()
        if not found:
            return {}
        return dict(
            con.execute("select mart, empty_because from published_marts where row_count = 0 order by 1").fetchall()
        )


def published_tables(data_dir: DataDir) -> dict[str, int]:
    """The published catalogue: mart -> rows (empty before the first publish)."""
    path = published_db(data_dir)
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        # A reader (the auditor's report) may open the file before the first publish made the table.
        if not con.execute("select 1 from duckdb_tables() where table_name = 'published_marts'").fetchone():
            return {}
        return dict(con.execute("select mart, row_count from published_marts order by mart").fetchall())
