"""Publish marts that passed their checks to a separate, read-only DuckDB file (+ Parquet).

Downstream teams never see `raw`, the quarantine or the vault: only the marts marked
`meta.publish: true`, and only when the mart was built and every test on it passed in the
latest dbt results (recorded in `ops.dbt_results` by the on-run-end hook, whichever process
ran dbt), and when the publish gate (weir/mart_gate.py, Great Expectations) passed it after
that build. A blocked mart keeps its last good version in the published layer.

The new file is written beside the old one and swapped in with one rename, so readers
holding the old file keep a consistent snapshot and never block the publisher.
"""

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from weir.config import DataDir
from weir.dbt import manifest_path
from weir.manifest import ancestors, load, marts, meta
from weir.warehouse import connect, tables

SAMPLE_KEYS = 5


@dataclass(frozen=True, slots=True)
class Blocked:
    mart: str
    reason: str


@dataclass(frozen=True, slots=True)
class PublishResult:
    published: dict[str, int]  # mart -> rows
    blocked: list[Blocked]
    path: Path


def published_dir(data_dir: DataDir) -> Path:
    return data_dir.root / "published"


def published_db(data_dir: DataDir) -> Path:
    return published_dir(data_dir) / "published.duckdb"


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
        good = sorted(name for name, why in verdicts.items() if why is None)
        rows = _write(con, data_dir, good, candidates)
    finally:
        con.close()
    blocked = [Blocked(name, why) for name, why in sorted(verdicts.items()) if why is not None]
    return PublishResult(rows, blocked, published_db(data_dir))


def _write(
    con: duckdb.DuckDBPyConnection, data_dir: DataDir, good: list[str], nodes: dict[str, dict]
) -> dict[str, int]:
    """Copy the good marts into the next published file and record them in its catalogue."""
    rows: dict[str, int] = {}

    def copy_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
        con.execute(
            "create table if not exists pub.main.published_marts (mart varchar primary key, purpose varchar, "
            "description varchar, row_count bigint, published_at timestamptz)"
        )
        for name in good:
            con.execute(f"create or replace table pub.main.{name} as select * from marts.{name}")
            rows[name] = con.execute(f"select count(*) from pub.main.{name}").fetchone()[0]
            con.execute(
                "insert or replace into pub.main.published_marts values (?, ?, ?, ?, current_timestamp)",
                [name, meta(nodes[name]).get("purpose"), nodes[name].get("description", ""), rows[name]],
            )
        return good

    update_published(con, data_dir, copy_marts)
    return rows


def update_published(
    con: duckdb.DuckDBPyConnection, data_dir: DataDir, write: Callable[[duckdb.DuckDBPyConnection], list[str]]
) -> None:
    """Build the next published file beside the current one (attached as `pub`), then swap it in.

    `write` adds tables to `pub` in one transaction and returns the tables to export as Parquet;
    everything it does not touch keeps its last published version.
    """
    target = published_db(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name("published.next.duckdb")
    staging.unlink(missing_ok=True)
    if target.exists():
        shutil.copyfile(target, staging)
    con.execute("attach ? as pub", [str(staging)])
    try:
        con.execute("begin")
        exported = write(con)
        con.execute("commit")
        _export_parquet(con, published_dir(data_dir) / "parquet", exported)
    finally:
        con.execute("detach pub")
    os.replace(staging, target)
    target.chmod(0o444)  # downstream teams read; only Weir replaces the file


def _export_parquet(con: duckdb.DuckDBPyConnection, folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        tmp = folder / f".{name}.parquet.tmp"
        con.execute(f"copy pub.main.{name} to '{tmp}' (format parquet)")
        os.replace(tmp, folder / f"{name}.parquet")


def published_tables(data_dir: DataDir) -> dict[str, int]:
    """The published catalogue: mart -> rows (empty before the first publish)."""
    path = published_db(data_dir)
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        return dict(con.execute("select mart, row_count from published_marts order by mart").fetchall())
