"""Another program holding the warehouse: ingest says which one and what to do, at once."""

import subprocess
import sys
import time

from tests.ingest._hostile import flat, run

HOLDER = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
    "print('ready', flush=True); time.sleep(60)"
)


def test_reader_holding_the_warehouse_is_named_with_the_fix(world) -> None:
    reader = subprocess.Popen([sys.executable, "-c", HOLDER, str(world.warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "ready"
        start = time.monotonic()

        result = run(world, "ingest")

        elapsed = time.monotonic() - start
    finally:
        reader.kill()
        reader.wait()
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert (f"Warehouse {world.warehouse} is locked by {sys.executable.rsplit('/', 1)[0]}") in flat(
        result.output
    ) or f"(PID {reader.pid})" in flat(result.output)
    assert f"(PID {reader.pid}). Close that program's connection to the warehouse" in flat(result.output)
    assert f"or stop it (`kill {reader.pid}`), then run again." in flat(result.output)
    assert elapsed < 10  # not the 30 s a Weir writer gets to finish
