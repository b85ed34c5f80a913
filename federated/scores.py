"""`weir model score`: propensity scores of the current model, for personalisation-consenting users.

Only users whose `personalization` consent holds now, and who have not withdrawn
`model_training` (the model learnt from them), get a row. The table is rewritten whole on each
run; between runs, `forget_withdrawn` (called by every ingest that loads consent) takes the rows
of users who withdrew either purpose out of the published table at once.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa

from federated import registry, task
from weir import pipeline
from weir.config import DataDir
from weir.errors import UnknownModelVersion
from weir.publish import CATALOGUE_DDL, published_db, update_published
from weir.sql import ident
from weir.warehouse import connect

TABLE = "model_scores"
SCORE_PURPOSE = "personalization"
# Withdrawing either purpose takes a user's score away: the score serves personalisation and
# comes from a model trained on them.
WITHDRAWN_BY = (SCORE_PURPOSE, task.PURPOSE)
DESCRIPTION = "Purchase propensity (next 7 days) per personalization-consenting user, from model {version}."


@dataclass(frozen=True, slots=True)
class ScoreResult:
    version: str
    rows: int


def allowed_sql(token: str, at: str) -> str:
    """SQL predicate: `token` may have a score at `at` (personalization holds, model_training
    was not withdrawn; never having granted model_training is no withdrawal)."""
    scored, trained = f"'{SCORE_PURPOSE}'", f"'{task.PURPOSE}'"  # constants, never user input
    asked = f"exists (select 1 from consent.ledger cl where cl.user_token = {token} and cl.purpose = {trained})"
    return f"{task.holds_sql(token, scored, at)} and not ({asked} and not {task.holds_sql(token, trained, at)})"


def _scored(con: duckdb.DuckDBPyConnection, weights: np.ndarray, version: str, now: datetime) -> list[tuple]:
    columns = ", ".join(ident(c) for c in task.FEATURES)
    rows = con.execute(
        f"select user_token, {columns} from marts.{task.MART} as m "
        f"where {allowed_sql('m.user_token', '$now')} order by 1",
        {"now": now},
    ).fetchall()
    if not rows:
        return []
    x = task.squash(np.array([r[1:] for r in rows], dtype=float))
    scores = task.predict(weights, x)
    return [(r[0], float(s), version, now) for r, s in zip(rows, scores, strict=True)]


def score(data_dir: DataDir, actor: str, now: datetime | None = None) -> ScoreResult:
    """Write scores of the latest current version into the published table `model_scores`."""
    now = now or datetime.now(UTC)
    con = connect(data_dir.warehouse)
    try:
        current = registry.latest_current(con)
        if current is None:
            raise UnknownModelVersion("No current model version to score with; run `weir model train` first.")
        rows = _scored(con, registry.load_weights(con, current.version), current.version, now)

        def write(c: duckdb.DuckDBPyConnection) -> list[str]:
            c.execute(
                f"create or replace table pub.main.{TABLE} (user_token varchar primary key, "
                "propensity double not null, model_version varchar not null, scored_at timestamptz not null)"
            )
            if rows:  # one bulk insert through Arrow, not a statement per user
                names = ["user_token", "propensity", "model_version", "scored_at"]
                frame = pa.table(dict(zip(names, zip(*rows, strict=True), strict=True)))
                c.register("scored", frame)
                c.execute(f"insert into pub.main.{TABLE} select * from scored")
                c.unregister("scored")
            c.execute(CATALOGUE_DDL)  # listed beside the marts, so downstream teams find it
            c.execute(
                "insert or replace into pub.main.published_marts (mart, purpose, description, row_count, published_at, "
                "built_at) values (?, ?, ?, ?, ?, ?)",
                [TABLE, SCORE_PURPOSE, DESCRIPTION.format(version=current.version), len(rows), now, now],
            )
            return [TABLE]

        update_published(con, data_dir, write)
    finally:
        con.close()
    pipeline.record(data_dir, actor, "model_score", {"version": current.version}, {"rows": len(rows)})
    return ScoreResult(current.version, len(rows))


def forget_withdrawn(data_dir: DataDir, actor: str, now: datetime | None = None) -> int:
    """Delete from the published `model_scores` the rows of users who may no longer have one
    (see `allowed_sql`), as a new published version, audited. Returns the rows deleted; writes
    nothing (no version, no audit entry) when no row has to go."""
    now = now or datetime.now(UTC)
    if TABLE not in _published(data_dir):
        return 0
    con = connect(data_dir.warehouse)
    try:
        con.execute("attach ? as cur (read_only)", [str(published_db(data_dir))])
        try:
            gone = con.execute(
                f"select count(*) from cur.main.{TABLE} where not ({allowed_sql('user_token', '$now')})", {"now": now}
            ).fetchone()[0]
        finally:
            con.execute("detach cur")
        if gone:

            def write(c: duckdb.DuckDBPyConnection) -> list[str]:
                c.execute(f"delete from pub.main.{TABLE} where not ({allowed_sql('user_token', '$now')})", {"now": now})
                c.execute(
                    f"update pub.main.published_marts set row_count = (select count(*) from pub.main.{TABLE}) "
                    "where mart = ?",
                    [TABLE],
                )
                return [TABLE]

            update_published(con, data_dir, write)
    finally:
        con.close()
    if gone:
        pipeline.record(data_dir, actor, "model_scores_withdrawal", {"table": TABLE}, {"rows_deleted": gone})
    return gone


def _published(data_dir: DataDir) -> set[str]:
    path = published_db(data_dir)
    if not path.exists():
        return set()
    with duckdb.connect(str(path), read_only=True) as con:
        return {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
