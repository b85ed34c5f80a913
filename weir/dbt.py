"""Run dbt on the warehouse: the CLI, the Airflow DAG (through Cosmos) and the tests use this.

dbt's own state (target/, logs/, partial-parse cache) lives in the data dir, never in the repo.
"""

import ctypes
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

from weir.config import K_ANONYMITY_ENV, DataDir, k_anonymity
from weir.errors import ConfigError, DbtRunError

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"


def dbt_dir(data_dir: DataDir) -> Path:
    return data_dir.root / "dbt"


def manifest_path(data_dir: DataDir) -> Path:
    return dbt_dir(data_dir) / "target" / "manifest.json"


PROFILE, TARGET = "weir", "dev"  # profiles.yml


def connection_env(data_dir: DataDir, actor: str = "dbt") -> dict[str, str]:
    """What any dbt run needs (Cosmos' operators get this; they manage target/ themselves).

    `actor` names who ran dbt in the run's audit entry (the on-run-end hook writes it)."""
    return {
        "WEIR_WAREHOUSE": str(data_dir.warehouse),
        "WEIR_AUDIT_ACTOR": actor,
        K_ANONYMITY_ENV: str(k_anonymity()),  # macros/k_anonymity.sql
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",  # no network calls from a privacy platform
        "DBT_USE_COLORS": "false",
        # As Cosmos passes them: dbt keeps partial parse state only for the same profile and target.
        "DBT_PROFILE": PROFILE,
        "DBT_TARGET": TARGET,
    }


def dbt_env(data_dir: DataDir, actor: str = "weir dbt") -> dict[str, str]:
    """Environment of `weir dbt ...`: connection plus state folders in the data dir."""
    return {
        **connection_env(data_dir, actor),
        "DBT_PROFILES_DIR": str(DBT_PROJECT),
        "DBT_TARGET_PATH": str(dbt_dir(data_dir) / "target"),
        "DBT_LOG_PATH": str(dbt_dir(data_dir) / "logs"),
    }


def dbt_executable() -> str:
    return str(Path(sys.executable).parent / "dbt")


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int) -> Callable[[], None]:
    """A preexec_fn: the kernel kills the child when its parent dies, even by kill -9.

    dbt holds the warehouse's single write lock; a child outliving a killed `weir dbt build`
    would block every later run. A process group does not help here: kill -9 of the parent
    alone does not reach the group.
    """

    def arm() -> None:
        os.umask(0o077)  # dbt's writes (the warehouse's write-ahead log) are owner-only too
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def spawn(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start a child that dies with this process; its stdout and stderr come back as one text stream."""
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=die_with_parent(os.getpid()),  # noqa: PLW1509 - only the prctl call and getppid
    )


@dataclass(frozen=True, slots=True)
class NodeResult:
    unique_id: str
    status: str  # success, error, skipped, pass, fail, warn
    message: str
    failures: int | None


@dataclass(frozen=True, slots=True)
class DbtRun:
    command: str
    returncode: int
    results: list[NodeResult]
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def failed(self) -> list[NodeResult]:
        return [r for r in self.results if r.status in ("error", "fail")]


def run(
    data_dir: DataDir,
    args: list[str],
    progress: Callable[[str], None] | None = None,
    check: bool = True,
    actor: str = "weir dbt",
) -> DbtRun:
    """Run `dbt <args>` in the project against the data dir's warehouse; stream lines to progress."""
    logs = dbt_dir(data_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / "weir-dbt.log"
    env = {**os.environ, **dbt_env(data_dir, actor)}
    command = [dbt_executable(), *args]
    with log.open("a") as out:
        proc = spawn(command, DBT_PROJECT, env)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                out.write(line)
                if progress:
                    progress(line.rstrip())
            returncode = proc.wait()
        except BaseException:  # Ctrl-C, SIGTERM turned into an exception: stop dbt with us
            proc.kill()
            proc.wait()
            raise
    done = DbtRun(" ".join(args), returncode, _results(data_dir), log)
    if check and not done.ok:
        raise DbtRunError(_explain(done))
    return done


def _results(data_dir: DataDir) -> list[NodeResult]:
    path = dbt_dir(data_dir) / "target" / "run_results.json"
    if not path.exists():
        return []
    return [
        NodeResult(r["unique_id"], r["status"], (r.get("message") or "")[:500], r.get("failures"))
        for r in json.loads(path.read_text())["results"]
    ]


def _explain(done: DbtRun) -> str:
    failed = done.failed()
    lines = [f"`dbt {done.command}` failed (exit {done.returncode}); full log: {done.log}"]
    lines += [f"  {r.unique_id}: {r.status} — {r.message}" for r in failed[:10]]
    if not failed:
        tail = done.log.read_text(errors="replace").splitlines()[-15:]
        lines += ["Last lines:", *tail]
    return "\n".join(lines)


# What the manifest and the unit tests depend on (not target/, logs/ or .user.yml).
PROJECT_CODE = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests", "snapshots", "seeds")


def project_fingerprint() -> str:
    """SHA-256 of the dbt project's code and dbt's version: what the manifest is parsed from and
    what unit tests test."""
    digest = hashlib.sha256(f"dbt-core {version('dbt-core')}, dbt-duckdb {version('dbt-duckdb')}".encode())
    for top in PROJECT_CODE:
        paths = [DBT_PROJECT / top] if (DBT_PROJECT / top).is_file() else sorted((DBT_PROJECT / top).rglob("*"))
        for path in filter(Path.is_file, paths):
            digest.update(str(path.relative_to(DBT_PROJECT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def parse(data_dir: DataDir, force: bool = False) -> Path:
    """Write target/manifest.json (the policy check reads it; Cosmos renders the Airflow task
    group from it). A daily run skips the parse, a whole dbt process, while the manifest there
    comes from the same project code; `force` parses anyway."""
    marker = parsed_marker(data_dir)
    code = project_fingerprint()
    if not force and manifest_path(data_dir).exists() and _holds(marker, code):
        return manifest_path(data_dir)
    run(data_dir, ["parse", "--quiet"])
    marker.write_text(code)
    return manifest_path(data_dir)


def _holds(marker: Path, fingerprint: str) -> bool:
    return marker.exists() and marker.read_text() == fingerprint


def parsed_marker(data_dir: DataDir) -> Path:
    """The project fingerprint the manifest in target/ was last parsed from."""
    return dbt_dir(data_dir) / "parsed-project.sha256"


def unit_tested_marker(data_dir: DataDir) -> Path:
    """The project fingerprint whose unit tests last passed in a whole-project build here."""
    return dbt_dir(data_dir) / "unit-tested-project.sha256"


def build(
    data_dir: DataDir,
    full_refresh: bool = False,
    select: str | None = None,
    progress: Callable[[str], None] | None = None,
    actor: str = "weir dbt",
) -> DbtRun:
    """`dbt build` (models, snapshots, data tests and unit tests). Failures do not raise:
    publishing decides per mart from the recorded results."""
    plan = plan_build(data_dir, full_refresh, select)
    if plan.weekly and progress:
        progress(f"Weekly full refresh: the last one here is over {full_refresh_days()} days old.")
    args = ["build"] + (["--select", select] if select else []) + plan.flags()
    done = run(data_dir, args, progress, check=False, actor=actor)
    record_build(data_dir, plan, done.ok)
    return done


@dataclass(frozen=True)
class BuildPlan:
    """What a `dbt build` here runs besides models and data tests: one decision for the CLI and
    for the Airflow build task.

    Unit tests test code, not data, so a daily build skips them while the project is the one
    whose unit tests last passed here (dbt's advice: keep them out of production runs). A full
    refresh, a first build, or any change to a model, macro or YAML file runs them again."""

    full_refresh: bool
    unit_tests: bool
    whole_project: bool
    weekly: bool = False  # the full refresh is the scheduled recompute, not asked for
    fingerprint: str = ""

    def flags(self) -> list[str]:
        return (["--full-refresh"] if self.full_refresh else []) + (
            [] if self.unit_tests else ["--exclude-resource-type", "unit_test"]
        )


def plan_build(data_dir: DataDir, full_refresh: bool = False, select: str | None = None) -> BuildPlan:
    weekly = not full_refresh and not select and full_refresh_due(data_dir)
    full_refresh = full_refresh or weekly  # the weekly recompute: incremental models' rows from all of raw again
    code = project_fingerprint()
    unit_tests = full_refresh or not _holds(unit_tested_marker(data_dir), code)
    return BuildPlan(full_refresh, unit_tests, whole_project=not select, weekly=weekly, fingerprint=code)


def record_build(data_dir: DataDir, plan: BuildPlan, ok: bool) -> None:
    """Remember what a whole-project build proved: when everything was last rebuilt (a first
    build is a full one) and which project's unit tests passed; a failure re-runs them."""
    refreshed, marker = full_refreshed_marker(data_dir), unit_tested_marker(data_dir)
    if ok and plan.whole_project and (plan.full_refresh or not refreshed.exists()):
        refreshed.write_text(datetime.now(UTC).isoformat())
    if ok and plan.whole_project and plan.unit_tests:
        marker.write_text(plan.fingerprint)
    elif not ok and marker.exists():
        marker.unlink()


FULL_REFRESH_DAYS_ENV = "WEIR_FULL_REFRESH_DAYS"


def full_refresh_days() -> int:
    """Days between scheduled full refreshes: $WEIR_FULL_REFRESH_DAYS, else 7; 0 turns them off."""
    value = os.environ.get(FULL_REFRESH_DAYS_ENV, "").strip() or "7"
    if not value.isdigit():
        raise ConfigError(f"{FULL_REFRESH_DAYS_ENV}={value!r} is not a whole number of days. Unset it for 7.")
    return int(value)


def full_refreshed_marker(data_dir: DataDir) -> Path:
    """When a whole-project build here last rebuilt everything (a full refresh, or the first build)."""
    return dbt_dir(data_dir) / "full-refreshed-at"


def full_refresh_due(data_dir: DataDir, now: datetime | None = None) -> bool:
    """Whether the next whole-project build should be a full refresh: the last one here is older
    than full_refresh_days(). Incremental models equal a full refresh by construction (tests
    check it); the weekly recompute bounds any drift all the same, and relabels past rows
    with the catalogue's current categories. No marker yet: the first build is a full one."""
    days = full_refresh_days()
    marker = full_refreshed_marker(data_dir)
    if not days or not marker.exists():
        return False
    try:
        last = datetime.fromisoformat(marker.read_text().strip())
    except ValueError:
        return True  # an unreadable marker: recompute rather than guess
    return (now or datetime.now(UTC)) - last >= timedelta(days=days)


def docs(data_dir: DataDir) -> Path:
    """`dbt docs generate --static`: one self-contained HTML file (opens from disk, no server)."""
    run(data_dir, ["docs", "generate", "--static", "--quiet"])
    return dbt_dir(data_dir) / "target" / "static_index.html"
