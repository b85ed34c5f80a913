"""A killed `weir dbt build` takes its dbt child with it: no orphan keeps the write lock."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

# A stand-in for dbt: records its pid, then holds on as a long build would.
FAKE_DBT = """#!/bin/sh
echo $$ > "$1"
exec sleep 60
"""

PARENT = """
import sys
from pathlib import Path
from weir import dbt
from weir.config import DataDir

dbt.dbt_executable = lambda: {fake!r}
dbt.run(DataDir(Path({root!r})), [{pid_file!r}], check=False)
"""


def _wait_for(path: Path, seconds: float = 20.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written")


def _gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_killing_the_parent_stops_the_dbt_child(tmp_path: Path, signum: int) -> None:
    # Prepare
    fake = tmp_path / "dbt"
    fake.write_text(FAKE_DBT)
    fake.chmod(0o700)
    pid_file = tmp_path / "child.pid"
    script = PARENT.format(fake=str(fake), root=str(tmp_path / "data"), pid_file=str(pid_file))
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)])
    child = _wait_for(pid_file)

    # Execute
    os.kill(parent.pid, signum)
    parent.wait(timeout=10)

    # Assert
    assert _gone(child), f"dbt child {child} outlived its parent"
