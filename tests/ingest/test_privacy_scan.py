"""No raw identifier or personal value of the generator reaches the warehouse."""

import json
import re

import duckdb
import polars as pl

from privacy._scrub import PLACEHOLDERS
from weir.generate._badinput import OVERSIZE_TEXT


def _landing_values(data_dir, generated) -> set[str]:
    """Every raw user id, device id, e-mail, phone, name and planted review PII."""
    batch = data_dir.landing / "users" / generated.batch_id
    users = pl.read_csv(
        next(batch.glob("*.csv")),
        infer_schema_length=0,
        truncate_ragged_lines=True,
        ignore_errors=True,
        encoding="utf8-lossy",
    )
    values = set()
    for column in ("user_id", "name", "phone", "email"):
        values |= {v for v in users[column].drop_nulls().to_list() if len(v) >= 6}
    events = data_dir.landing / "events" / generated.batch_id
    for path in events.glob("*.jsonl"):
        for line in path.read_bytes().splitlines()[:2000]:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            values |= {row[k] for k in ("device_id", "ip", "user_agent") if isinstance(row.get(k), str)}
    reviews = data_dir.landing / "reviews" / generated.batch_id
    for path in reviews.glob("*.jsonl"):  # ID and card numbers planted in review text
        values |= set(re.findall(r"\d{17}[\dX]|\b6\d{15}\b", path.read_text(errors="replace")))
    truth = json.loads(generated.manifest.read_text())["truth"]
    values |= {m for ring in truth["fraud_rings"] for m in ring["members"]}
    # The generator's oversize filler ("lorem ipsum ...") is not personal data.
    return {v for v in values if OVERSIZE_TEXT[:40] not in v}


def test_no_raw_value_in_any_warehouse_table(loaded) -> None:
    data_dir, generated, _ = loaded
    secrets = _landing_values(data_dir, generated)
    assert len(secrets) > 1500
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    con.register("secrets", pl.DataFrame({"value": sorted(secrets)}).to_arrow())
    columns = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR' and table_schema not in ('audit', 'main')"
    ).fetchall()

    hits = {}
    for schema, table, column in columns:  # every text column of every table
        found = con.execute(
            f'select count(*) from "{schema}"."{table}" t join secrets s on contains(t."{column}", s.value)'
        ).fetchone()[0]
        if found:
            hits[f"{schema}.{table}.{column}"] = found

    assert len(columns) > 60
    assert hits == {}


def test_review_text_is_scrubbed_in_raw(loaded) -> None:
    data_dir, generated, _ = loaded
    planted = json.loads(generated.manifest.read_text())["truth"]["review_pii_counts"]
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        found = {
            kind: con.execute("select count(*) from raw.reviews where contains(text, ?)", [tag]).fetchone()[0]
            for kind, tag in PLACEHOLDERS.items()
            if kind in planted
        }

    assert set(found) == set(planted)
    for kind, count in found.items():
        assert 1 <= count <= planted[kind], kind  # some reviews were quarantined
