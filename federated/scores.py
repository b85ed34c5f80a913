"""`weir model score`: propensity scores of the current model, for personalisation-consenting users.

Only users whose `personalization` consent holds now get a row; the table is rewritten whole on
each run, so a user who withdrew since the last run loses their row.
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
from weir.publish import CATALOGUE_DDL, update_published
from weir.sql import ident
from weir.warehouse import connect

TABLE = "model_scores"
SCORE_PURPOSE = "personalization"
DESCRIPTION = "Purchase propensity (next 7 days) per personalization-consenting user, from model {version}."


@dataclass(frozen=True, slots=True)
class ScoreResult:
    version: str
    rows: int


def _scored(con: duckdb.DuckDBPyConnection, weights: np.ndarray, version: str, now: datetime) -> list[tuple]:
    columns = ", ".join(ident(c) for c in task.FEATURES)
    rows = con.execute(
        f"select user_token, {columns} from marts.{task.MART} as m "
        f"where {task.holds_sql('m.user_token', '$p', '$now')} order by 1",
        {"p": SCORE_PURPOSE, "now": now},
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
