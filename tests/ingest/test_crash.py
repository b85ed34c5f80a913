"""A load killed mid-transaction leaves nothing visible; the next run loads the batch whole."""

import os
import signal
import subprocess
import sys

import duckdb

from weir.config import resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest

SCRIPT = (
    "from weir.config import resolve_data_dir; from weir.ingest import ingest; "
    "ingest(resolve_data_dir({root!r}), 'events')"
)


def test_kill_9_mid_load_then_rerun(tmp_path) -> None:
    data_dir = resolve_data_dir(tmp_path)
    batch = generate(GenerateConfig(users=200, days=1, seed=3, bad_rate=0.01), data_dir.landing)
    env = {**os.environ, "WEIR_INGEST_PAUSE_BEFORE_COMMIT_S": "60"}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(root=str(tmp_path))], env=env, stderr=subprocess.PIPE, text=True
    )
    line = proc.stderr.readline()  # the loader says when it is inside the open transaction
    assert line.startswith(f"pausing 60s before commit of events/{batch.batch_id}")

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema in ('raw', 'ingest')"
            ).fetchall()
        }
        ledger = con.execute("select count(*) from ingest.load_ledger").fetchone()[0] if "load_ledger" in tables else 0
        raw_rows = con.execute("select count(*) from raw.events").fetchone()[0] if "events" in tables else 0
    assert proc.returncode == -signal.SIGKILL
    assert (ledger, raw_rows) == (0, 0)

    result = ingest(data_dir, "events")[0]

    assert result.status == "loaded" and result.rows_in == batch.rows["events"]
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.events").fetchone()[0] == result.rows_loaded
