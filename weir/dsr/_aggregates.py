"""Erasure's reach into aggregate tables: models whose rows are not one user's (a funnel per day
and channel, retention cohorts, a group buy with its joiners) have no `user_token` to delete
by, yet count the erased user until they are rebuilt. After the targeted deletes, erasure
recomputes exactly these models from their (already erased) inputs, in build order, inside
the step's transaction: the same rows a full rebuild without the user gives, without a dbt
process or a rebuild of anything else.

Their SQL is the dbt project's own, compiled with `--full-refresh` (every partition, no
incremental filter) once per project version into `<data dir>/dbt/dsr-aggregates/<version>/`
before the run opens the warehouse (dbt needs the file; one dbt process, about dbt's start-up
time). It is project code, never user input, and names only warehouse relations.
"""

import json
import shutil
from pathlib import Path

import duckdb

from weir.config import DataDir
from weir.dbt import dbt_dir, project_fingerprint, run
from weir.manifest import load
from weir.sql import qualified

MATERIALISED = ("table", "incremental")
FOLDERS = ("intermediate", "marts")
OWNER_COLUMN = "user_token"


def compiled_dir(data_dir: DataDir) -> Path:
    return dbt_dir(data_dir) / "dsr-aggregates" / project_fingerprint()


def prepare(data_dir: DataDir) -> Path:
    """Compile every table and incremental model's full-refresh SQL, once per project version.

    dbt compiles into a target path of its own, so the platform's target/ (manifest, run
    results) is left as the last build wrote it."""
    folder = compiled_dir(data_dir)
    if (folder / "models.json").exists():
        return folder
    target = dbt_dir(data_dir) / "dsr-compile"
    selected = [f"path:models/{f}" for f in FOLDERS]
    run(data_dir, ["compile", "--full-refresh", "--quiet", "--target-path", str(target), "--select", *selected])
    manifest = load(target / "manifest.json")
    models = _build_order(
        {
            uid: n
            for uid, n in manifest["nodes"].items()
            if n["resource_type"] == "model" and n["config"].get("materialized") in MATERIALISED
        }
    )
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, mode=0o700)
    for node in models:
        (staging / f"{node['name']}.sql").write_text(node["compiled_code"])
    listed = [{"name": n["name"], "schema": n["schema"]} for n in models]
    (staging / "models.json").write_text(json.dumps(listed, indent=1))
    staging.rename(folder)  # whole or absent: a crashed compile is redone
    return folder


def _build_order(nodes: dict[str, dict]) -> list[dict]:
    """The nodes, each after the nodes it depends on."""
    ordered: list[str] = []

    def visit(uid: str) -> None:
        if uid in ordered:
            return
        for parent in nodes[uid]["depends_on"]["nodes"]:
            if parent in nodes:
                visit(parent)
        ordered.append(uid)

    for uid in sorted(nodes):
        visit(uid)
    return [nodes[uid] for uid in ordered]


def recompute(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, int]:
    """Replace the rows of every built model without an owner column by its compiled query over
    the current inputs (in the caller's transaction); returns `schema.table` -> rows now."""
    database = con.execute("select current_database()").fetchone()[0]
    owned = {
        (s, t)
        for s, t in con.execute(
            "select schema_name, table_name from duckdb_columns() where database_name = ? and column_name = ?",
            [database, OWNER_COLUMN],
        ).fetchall()
    }
    built = {
        (s, t)
        for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ?", [database]
        ).fetchall()
    }
    rows = {}
    for model in json.loads((folder / "models.json").read_text()):
        where = (model["schema"], model["name"])
        if where in owned or where not in built:
            continue
        name = qualified(database, *where)
        con.execute(f"delete from {name}")
        sql = (folder / f"{model['name']}.sql").read_text()
        rows[".".join(where)] = con.execute(f"insert into {name} by name select * from ({sql})").fetchone()[0]
    return rows


def needed(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a run may erase (an open erasure, or one in `raw.dsr`) and there are marts."""
    from weir.dsr._store import OPEN  # deferred: the store imports nothing from here
    from weir.warehouse import tables

    if not tables(con, "marts"):
        return False
    open_ones = (
        "dsr" in {s for (s,) in con.execute("select schema_name from duckdb_schemas()").fetchall()}
        and (
            con.execute(
                "select count(*) from dsr.requests where request_type = 'erasure' and status in (select unnest(?))",
                [list(OPEN)],
            ).fetchone()[0]
        )
    )
    sourced = (
        "dsr" in tables(con, "raw")
        and (con.execute("select count(*) from raw.dsr where request_type = 'erasure'").fetchone()[0])
    )
    return bool(open_ones or sourced)


def refresh_published(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Bring the published aggregates (in attached `pub`) in line with the recomputed marts.

    A mart published from its latest build gets the recomputed rows. An older kept version
    (the mart was held back since) may count the erased users and leaves the published layer,
    as a held-back aggregate does when a user withdraws (weir.publish)."""
    from weir.publish import _latest  # the newest dbt result per node: what publish decides by
    from weir.sql import ident

    if "published_marts" not in {
        t for (t,) in con.execute("select table_name from duckdb_tables() where database_name = 'pub'").fetchall()
    }:
        return {}
    database = con.execute("select current_database()").fetchone()[0]
    owned = {
        t
        for (t,) in con.execute(
            "select table_name from duckdb_columns() "
            "where database_name = ? and schema_name = 'marts' and column_name = ?",
            [database, OWNER_COLUMN],
        ).fetchall()
    }
    latest = _latest(con)
    done = {}
    for name, built_at in con.execute("select mart, built_at from pub.main.published_marts order by 1").fetchall():
        if name in owned or f"model.weir.{name}" not in latest:
            continue
        if latest[f"model.weir.{name}"][4] == built_at:
            con.execute(f"create or replace table pub.main.{ident(name)} as select * from marts.{ident(name)}")
            count = con.execute(f"select count(*) from pub.main.{ident(name)}").fetchone()[0]
            con.execute("update pub.main.published_marts set row_count = ? where mart = ?", [count, name])
            done[name] = "recomputed"
        else:
            con.execute(f"drop table if exists pub.main.{ident(name)}")
            con.execute("delete from pub.main.published_marts where mart = ?", [name])
            done[name] = "withdrawn: its kept version is an older build, which may count the erased users"
    return done
