"""The deployment engine: the same Flower app, run by a SuperLink and one SuperNode per silo.

`run()` starts everything as separate processes on loopback, submits the app with `flwr run`,
waits for it, and stops every child whatever happens. TLS and SuperNode authentication are
always on: the CA and the SuperLink certificate are made at first start into
`<keys>/flower/tls/`, one ECDSA P-384 key per SuperNode into `<keys>/flower/supernodes/`
(all 0600 in 0700 folders). Each SuperNode tells its ClientApp which silo it serves through its
node config (`region`, `data-dir`), so a client reads only its own partition.

The server app writes its outcome to the run config's `result-path`, as on the simulation
engine; here the file reaches that path only once Flower reports the run completed, so a failed
or timed-out run leaves nothing a caller could register.
"""

import datetime as dt
import json
import shutil
import time
import tomllib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from federated._deploy_errors import FederatedDeployError, FederatedTlsError
from federated._stack import (
    CONNECTION,
    POLL_SECONDS,
    START_SECONDS,
    ConfigValue,
    Stack,
    open_stack,
    probe_tls,
    register,
    start_superlink,
    start_supernode,
    wait_online,
)
from federated._tls import TlsFiles, ensure_node_key, ensure_tls, node_name
from federated.settings import progress_file
from weir.config import make_private_dir, make_private_tree, resolve_data_dir

__all__ = ["DeploymentRun", "FederatedDeployError", "FederatedTlsError", "run", "start_stack", "run_app"]

REPO = Path(__file__).resolve().parent.parent
RESULT_KEY = "result-path"  # the run-config key naming the file the server app writes its outcome to
COMPLETED = "finished:completed"
# Every message starts a ClientApp process; on 2 shared cores a round of fit + evaluate took up
# to ~45 s with 2 regions (tests/federated/test_deployment.py), more with more regions.
TIMEOUT_BASE, TIMEOUT_PER_ROUND = 300.0, 180.0


@dataclass(frozen=True, slots=True)
class DeploymentRun:
    """A completed run: Flower's run id, the server app's result file, wall-clock seconds."""

    run_id: int
    result: Path | None
    seconds: float


def state_dir(flwr_home: Path) -> Path:
    """Where the engine keeps FLWR_HOME, logs, the staged app and runs in progress."""
    return flwr_home / "deployment"


def run(
    warehouse: Path,
    regions: Sequence[str],
    run_config: Mapping[str, ConfigValue],
    flwr_home: Path,
    app_dir: Path | None = None,
    timeout: float | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> DeploymentRun:
    """Train with one SuperNode per region; the same call as `federated.simulation.run`.

    Each SuperNode reads `warehouse` (its data dir goes into its node config with its region);
    certificates and keys are those of the warehouse's data dir (or $WEIR_KEYS_DIR).

    Raises:
        FederatedTlsError: a certificate or key is missing or does not match (nothing started).
        FederatedDeployError: a process failed, a node was refused, the run failed or timed out.
    """
    data_dir = resolve_data_dir(warehouse.parent)  # DataDir.warehouse is <root>/warehouse.duckdb
    tls = ensure_tls(data_dir.keys, dt.datetime.now(dt.UTC))
    state = make_private_dir(state_dir(flwr_home))
    app = app_dir or stage_app(REPO, state / "app", run_config)
    if timeout is None:
        timeout = TIMEOUT_BASE + TIMEOUT_PER_ROUND * int(run_config.get("num-server-rounds", 1))
    with start_stack(state, data_dir.keys, data_dir.root, regions, tls, progress) as stack:
        return run_app(stack, app, run_config, state / "runs", timeout, progress)


def start_stack(
    state: Path,
    keys_dir: Path,
    data_root: Path,
    regions: Sequence[str],
    tls: TlsFiles,
    progress: Callable[[str], None] = lambda _: None,
) -> Stack:
    """Start the SuperLink, register and start one SuperNode per region, wait until all are online."""
    names = [node_name(region) for region in regions]
    if len(set(names)) != len(names) or not names:
        raise FederatedDeployError(
            f"Regions {list(regions)} give SuperNode names {names}; pass at least one region, no two "
            "of which differ only in case or punctuation."
        )
    nodes = [ensure_node_key(keys_dir, name) for name in names]  # validates the names
    stack = open_stack(state, tls)
    try:
        start_superlink(stack, tls)
        probe_tls(stack.ports["fleet"], tls.ca_cert)
        progress(f"SuperLink serving TLS on 127.0.0.1:{stack.ports['fleet']} (fleet)")
        node_ids = {register(stack, node): node.name for node in nodes}
        for node, region in zip(nodes, regions, strict=True):
            start_supernode(stack, node, tls.ca_cert, {"region": region, "data-dir": str(data_root)})
        wait_online(stack, node_ids, time.monotonic() + START_SECONDS * (1 + len(nodes) / 4))  # 11 nodes: ~4 min
        progress(f"{len(nodes)} SuperNodes registered and online: {', '.join(regions)}")
    except BaseException:
        stack.close()
        raise
    return stack


def run_app(
    stack: Stack,
    app_dir: Path,
    run_config: Mapping[str, ConfigValue],
    runs_dir: Path,
    timeout: float,
    progress: Callable[[str], None] = lambda _: None,
) -> DeploymentRun:
    """Submit the app to a started stack and wait for it.

    The server app writes its result into a private staging folder; the file reaches the
    caller's `result-path` only once Flower reports the run completed, so a failed, stopped or
    timed-out run leaves nothing a caller could register.
    """
    started = time.monotonic()
    partial = make_private_dir(make_private_dir(runs_dir) / f"{uuid.uuid4().hex}.partial")
    target = Path(str(run_config[RESULT_KEY])) if run_config.get(RESULT_KEY) else None
    staged = partial / (target.name if target else "result")
    try:
        overrides = write_run_config(partial.with_suffix(".toml"), {**run_config, RESULT_KEY: str(staged)})
        answer = stack.flwr("run", str(app_dir), CONNECTION, "--run-config", str(overrides))
        run_id = int(str(answer["run-id"]))
        progress(f"Run {run_id} submitted")
        rounds = int(run_config.get("num-server-rounds", 1))
        status = wait_finished(
            stack, run_id, started + timeout, timeout, Rounds(progress_file(staged), rounds, progress)
        )
        if status["status"] != COMPLETED:
            raise FederatedDeployError(
                f"Run {run_id} ended {status['status']} ({status.get('status-details', 'N/A')}); "
                f"see its log with: FLWR_HOME={stack.home} flwr log {run_id} {CONNECTION} --show"
            )
        if target is not None:
            if not staged.is_file():
                raise FederatedDeployError(f"Run {run_id} completed but its server app wrote no {RESULT_KEY}.")
            shutil.move(staged, target)
        return DeploymentRun(run_id, target, time.monotonic() - started)
    finally:
        partial.with_suffix(".toml").unlink(missing_ok=True)
        shutil.rmtree(partial, ignore_errors=True)


@dataclass(slots=True)
class Rounds:
    """Reports the rounds the server app finished, from the progress file it appends to."""

    path: Path
    total: int
    progress: Callable[[str], None]
    seen: int = 0

    def report(self) -> None:
        text = self.path.read_text() if self.path.is_file() else ""
        lines = text[: text.rfind("\n") + 1].splitlines()  # whole lines only: the server may be mid-write
        for line in lines[self.seen :]:
            entry = json.loads(line)
            failed = f", {entry['failures']} failed" if entry["failures"] else ""
            self.progress(f"Round {entry['round']}/{self.total} done: {entry['clients']} silos answered{failed}")
        self.seen = len(lines)


def wait_finished(stack: Stack, run_id: int, deadline: float, timeout: float, rounds: Rounds) -> dict[str, object]:
    """Poll the run until Flower reports it finished, reporting each round; stop it and fail at
    the deadline, saying how far it got and what to check."""
    while time.monotonic() < deadline:
        rounds.report()
        (status,) = stack.flwr("list", CONNECTION, "--run-id", str(run_id))["runs"]  # type: ignore[misc]
        if str(status["status"]).startswith("finished"):
            rounds.report()
            return status
        time.sleep(POLL_SECONDS)
    stack.flwr("stop", str(run_id), CONNECTION)
    raise FederatedDeployError(
        f"Run {run_id} did not finish within {timeout:.0f} s ({rounds.seen} of {rounds.total} rounds done) and "
        f"was stopped; nothing was kept. Check the SuperNodes' logs in {stack.logs} (a silo that never answers "
        "holds every round) and the machine's load, then retry with a larger --timeout or fewer --rounds."
    )


def write_run_config(path: Path, values: Mapping[str, ConfigValue]) -> Path:
    """Write run-config overrides as a TOML file (`flwr run --run-config FILE`): no shell quoting."""
    lines = [f"{json.dumps(key)} = {_toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def stage_app(repo: Path, dest: Path, run_config: Mapping[str, ConfigValue]) -> Path:
    """Copy the Flower app (federated/*.py and its `[tool.flwr.app]`) into a clean folder.

    `flwr run` rewrites an app's pyproject.toml when it finds `[tool.flwr.federations]` in it, and
    packs every matching file below the app folder: a staged copy keeps the repo untouched and the
    app bundle small. The SuperLink refuses override keys the app does not declare, so the
    run's own keys (consent time, split date, result path) are declared here too.
    """
    project = tomllib.loads((repo / "pyproject.toml").read_text())
    app = project["tool"]["flwr"]["app"]
    lines = [
        "[project]",
        f"name = {json.dumps(project['project']['name'])}",
        f"version = {json.dumps(project['project']['version'])}",
        "dependencies = []  # run in Weir's own environment (no runtime installs)",
        "\n[tool.flwr.app]",
        f"publisher = {json.dumps(app['publisher'])}",
        "\n[tool.flwr.app.components]",
        *(f"{key} = {json.dumps(value)}" for key, value in app["components"].items()),
        "\n[tool.flwr.app.config]",
        *(f"{json.dumps(key)} = {_toml_value(value)}" for key, value in {**app["config"], **run_config}.items()),
    ]
    shutil.rmtree(dest, ignore_errors=True)
    make_private_dir(dest / "federated")
    (dest / "pyproject.toml").write_text("\n".join(lines) + "\n")
    for source in (repo / "federated").glob("*.py"):
        shutil.copyfile(source, dest / "federated" / source.name)
    make_private_tree(dest)
    return dest


def _toml_value(value: ConfigValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # a JSON string or number is also a valid TOML one
