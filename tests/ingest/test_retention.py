"""Retention follows the contracts: short-lived columns are cleared, expired rows deleted."""

from datetime import UTC, datetime, timedelta

import duckdb

from weir.config import resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest
from weir.retention import apply_retention


def test_retention_clears_columns_then_rows(tmp_path) -> None:
    data_dir = resolve_data_dir(tmp_path)
    generate(GenerateConfig(users=200, days=2, seed=6), data_dir.landing)
    ingest(data_dir, "events")
    con = duckdb.connect(str(data_dir.warehouse))
    rows = con.execute("select count(*) from raw.events").fetchone()[0]
    newest = con.execute("select max(ts) from raw.events").fetchone()[0]

    # 100 days after the batch: IP prefixes (90 days) are past retention, the rest is not.
    first = {r.source: r for r in apply_retention(con, newest + timedelta(days=100))}
    ips_left = con.execute("select count(ip_prefix) from raw.events").fetchone()[0]
    devices_left = con.execute("select count(device_token) from raw.events").fetchone()[0]
    # Three years later every events column (at most 730 days) has expired.
    later = {r.source: r for r in apply_retention(con, datetime(2030, 1, 1, tzinfo=UTC))}

    assert first["events"].rows_deleted == 0
    assert first["events"].columns_cleared["ip_prefix"] > 0 and ips_left == 0
    assert first["events"].columns_cleared["device_token"] == 0 and devices_left > 0
    assert later["events"].rows_deleted == rows
    assert con.execute("select count(*) from raw.events").fetchone()[0] == 0
