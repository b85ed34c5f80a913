"""The deployment engine on loopback: SuperLink + one SuperNode per region, TLS and auth on.

One stack is started for the module and shared. Weir's own app trains a round on it; a tiny
probe app written here (it can be told to fail, or to run long) covers the bad paths.
"""

import datetime as dt
import io
import os
import shutil
import stat
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flwr.cli.build import build_fab_from_disk

from federated import deployment, task, train
from federated._stack import Stack, descendants, node_config_arg, probe_tls, start_supernode
from federated._tls import ensure_node_key, ensure_tls, tls_files
from federated.deploy_keys import prepare
from federated.deployment import FederatedDeployError, FederatedTlsError
from federated.strategy import Outcome
from weir.config import DataDir
from weir.warehouse import connect

REGIONS = ("East China", "South China")  # regions of the generated world: spaces and capitals

CLIENT_APP = """
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:
    arrays = [a + 1.0 for a in msg.content["arrays"].to_numpy_ndarrays()]
    metrics = MetricRecord({"num-examples": 1})
    return Message(RecordDict({"arrays": ArrayRecord(arrays), "metrics": metrics}), reply_to=msg)
"""

SERVER_APP = """
import json
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, Context
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    if context.run_config["fail"]:
        raise RuntimeError("asked to fail")
    strategy = FedAvg(fraction_evaluate=0.0, min_available_nodes=2, min_train_nodes=2)
    rounds = int(context.run_config["num-server-rounds"])
    result = strategy.start(grid=grid, initial_arrays=ArrayRecord([np.zeros(3)]), num_rounds=rounds)
    weights = result.arrays.to_numpy_ndarrays()[0].tolist()
    Path(str(context.run_config["result-path"])).write_text(json.dumps({"weights": weights}))
"""

PYPROJECT = """
[project]
name = "weir-deploy-probe"
version = "1.0.0"
dependencies = []

[tool.flwr.app]
publisher = "weir"

[tool.flwr.app.components]
serverapp = "probe.server_app:app"
clientapp = "probe.client_app:app"

[tool.flwr.app.config]
num-server-rounds = 1
fail = false
result-path = ""
"""


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("probe-app")
    (root / "probe").mkdir()
    (root / "probe" / "__init__.py").write_text("")
    (root / "probe" / "client_app.py").write_text(CLIENT_APP)
    (root / "probe" / "server_app.py").write_text(SERVER_APP)
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    return DataDir(tmp_path_factory.mktemp("weir-data"))


@pytest.fixture(scope="module")
def stack(data_dir: DataDir, fed_world: DataDir) -> Iterator[Stack]:
    """SuperNodes read the shared generated warehouse; certificates and keys are this module's."""
    tls = ensure_tls(data_dir.keys, dt.datetime.now(dt.UTC))
    state = deployment.state_dir(data_dir.root / "flwr")
    started = deployment.start_stack(state, data_dir.keys, fed_world.root, REGIONS, tls)
    yield started
    started.close()


def runs_dir(data_dir: DataDir) -> Path:
    return deployment.state_dir(data_dir.root / "flwr") / "runs"


def test_a_round_of_weirs_app_completes_with_tls_and_supernode_auth(
    stack: Stack, data_dir: DataDir, fed_world: DataDir, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    _, config, _ = train.plan(fed_world, train.TrainRequest(rounds=1), now)
    config |= {"min-clients": len(REGIONS), "result-path": str(tmp_path / "outcome.npz")}
    app = deployment.stage_app(deployment.REPO, tmp_path / "app", config)

    lines: list[str] = []

    done = deployment.run_app(stack, app, config, runs_dir(data_dir), timeout=400, progress=lines.append)

    outcome = Outcome.load(tmp_path / "outcome.npz")
    assert done.result == tmp_path / "outcome.npz" and len(outcome.rounds) == 1
    assert lines[-1] == f"Round 1/1 done: {len(REGIONS)} silos answered"  # the CLI prints these as they come
    with connect(fed_world.warehouse, read_only=True) as con:  # what each silo may read, and no more
        cut = dt.date.fromisoformat(config["split-date"])
        expected = {r: task.load_partition(con, r, now, cut)[0] for r in REGIONS}
    rows = {region: (silo["rows-train"], silo["rows-test"]) for region, silo in outcome.silos.items()}
    assert rows == {region: (part.train.rows, part.test.rows) for region, part in expected.items()}
    assert list(runs_dir(data_dir).iterdir()) == []  # no staging left behind
    superlink = stack.children["superlink"].args
    assert {"--enable-supernode-auth", "--ssl-certfile"} <= set(superlink) and "--insecure" not in superlink  # type: ignore[operator]


def test_keys_and_certificates_are_owner_only(stack: Stack, data_dir: DataDir) -> None:
    folder = data_dir.keys / "flower"

    modes = {p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*")}

    assert modes == {
        "tls": 0o700,
        "tls/ca.pem": 0o600,
        "tls/superlink.pem": 0o600,
        "tls/superlink.key": 0o600,
        "supernodes": 0o700,
        **{f"supernodes/{r}.{ext}": 0o600 for r in ("east-china", "south-china") for ext in ("key", "pub")},
    }


def test_an_unregistered_supernode_is_refused(stack: Stack, data_dir: DataDir, tmp_path: Path) -> None:
    rogue = ensure_node_key(tmp_path / "rogue-keys", "rogue")  # a valid P-384 key nobody registered

    child = start_supernode(stack, rogue, tls_files(data_dir.keys).ca_cert, {"region": "rogue"}, max_wait=5)

    assert child.wait(timeout=60) != 0
    assert "No SuperNode found with the given public key" in (stack.logs / "supernode-rogue.log").read_text()
    nodes = stack.flwr("supernode", "list", "weir")["nodes"]
    assert len(nodes) == len(REGIONS)  # type: ignore[arg-type]


def test_a_client_trusting_another_ca_fails_the_handshake(stack: Stack, tmp_path: Path) -> None:
    other = ensure_tls(tmp_path / "other-keys", dt.datetime.now(dt.UTC))

    with pytest.raises(FederatedTlsError, match=r"presented a certificate that .*ca\.pem does not verify"):
        probe_tls(stack.ports["fleet"], other.ca_cert)


def test_a_failed_run_leaves_no_result(stack: Stack, data_dir: DataDir, app_dir: Path) -> None:
    config = {"fail": True, "result-path": str(data_dir.root / "failed.json")}

    with pytest.raises(FederatedDeployError, match=r"^Run \d+ ended finished:failed \(ServerApp failed"):
        deployment.run_app(stack, app_dir, config, runs_dir(data_dir), timeout=240)

    assert not (data_dir.root / "failed.json").exists() and list(runs_dir(data_dir).iterdir()) == []


def test_a_run_past_its_timeout_is_stopped_and_leaves_no_result(stack: Stack, data_dir: DataDir, app_dir: Path) -> None:
    config = {"num-server-rounds": 50, "result-path": str(data_dir.root / "late.json")}

    with pytest.raises(
        FederatedDeployError,
        match=r"^Run \d+ did not finish within 3 s \(0 of 50 rounds done\) and was stopped; nothing was kept\. "
        r"Check the SuperNodes' logs in .+ and the machine's load, then retry with a larger --timeout or fewer "
        r"--rounds\.$",
    ):
        deployment.run_app(stack, app_dir, config, runs_dir(data_dir), timeout=3)

    assert not (data_dir.root / "late.json").exists() and list(runs_dir(data_dir).iterdir()) == []


def test_closing_the_stack_stops_every_process(stack: Stack) -> None:
    pids = {child.pid for child in stack.children.values()}
    pids |= {pid for child in stack.children.values() for pid in descendants(child.pid)}

    stack.close()

    assert len(pids) > len(stack.children)  # Flower's SuperExecs were counted too
    assert [_describe(pid) for pid in pids if _alive(pid)] == []


def test_a_missing_certificate_stops_the_run_before_anything_starts(tmp_path: Path, app_dir: Path) -> None:
    data_dir = DataDir(tmp_path / "data")
    ensure_tls(data_dir.keys, dt.datetime.now(dt.UTC)).server_cert.unlink()

    with pytest.raises(FederatedTlsError, match=r"^TLS file .*superlink\.pem is missing\. Restore it"):
        deployment.run(data_dir.warehouse, REGIONS, {}, data_dir.root / "flwr", app_dir=app_dir)

    assert not (data_dir.root / "flwr").exists()


def test_a_certificate_from_another_ca_stops_the_run_before_anything_starts(tmp_path: Path, app_dir: Path) -> None:
    data_dir = DataDir(tmp_path / "data")
    now = dt.datetime.now(dt.UTC)
    ensure_tls(data_dir.keys, now)
    shutil.copy(ensure_tls(tmp_path / "other", now).ca_cert, tls_files(data_dir.keys).ca_cert)

    with pytest.raises(FederatedTlsError, match=r"^TLS certificate .*superlink\.pem was not issued by the CA in"):
        deployment.run(data_dir.warehouse, REGIONS, {}, data_dir.root / "flwr", app_dir=app_dir)

    assert not (data_dir.root / "flwr").exists()


def test_regions_that_would_share_a_supernode_are_refused(tmp_path: Path, app_dir: Path) -> None:
    data_dir = DataDir(tmp_path / "data")

    with pytest.raises(FederatedDeployError, match=r"give SuperNode names \['east-china', 'east-china'\]"):
        deployment.run(data_dir.warehouse, ("East China", "east china"), {}, data_dir.root / "flwr", app_dir=app_dir)

    assert not (data_dir.keys / "flower" / "supernodes").exists()


@pytest.mark.parametrize("value", ['x" evil="1', "a\\b", "line\nbreak"])
def test_node_config_refuses_values_that_would_escape_their_quotes(value: str) -> None:
    with pytest.raises(FederatedDeployError, match=r"cannot carry; use a plain path or name"):
        node_config_arg({"data-dir": value})


def test_node_config_renders_as_flower_parses_it() -> None:
    from flwr.common.config import parse_config_args

    rendered = node_config_arg({"region": "north", "data-dir": "/data dir/x", "rounds": 3})

    assert parse_config_args([rendered]) == {"region": "north", "data-dir": "/data dir/x", "rounds": 3}


def _describe(pid: int) -> str:
    status = [line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State")]
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:100] + str(status)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_deploy_keys_prepares_the_compose_stack_once_and_reuses_what_exists(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "data")
    first = prepare(data_dir, ["East China"], "flower-superlink:9093")
    ca = first[0].read_bytes()

    again = prepare(data_dir, ["East China"], "flower-superlink:9093")

    assert again == first and first[0].read_bytes() == ca
    assert [p.relative_to(data_dir.root).as_posix() for p in first] == [
        "keys/flower/tls/ca.pem",
        "keys/flower/tls/superlink.pem",
        "flwr/deployment/flwr-home/config.toml",
        "keys/flower/supernodes/east-china.pub",
    ]
    assert tomllib.loads(first[2].read_text()) == {
        "superlink": {
            "default": "weir",
            "weir": {"address": "flower-superlink:9093", "root-certificates": str(first[0])},
        }
    }


def test_the_app_is_staged_without_touching_the_repo_and_declares_the_run_keys(tmp_path: Path) -> None:
    pyproject = (deployment.REPO / "pyproject.toml").read_bytes()

    staged = deployment.stage_app(deployment.REPO, tmp_path / "app", {"consent-at": "2026-01-01", "result-path": ""})

    project = tomllib.loads((staged / "pyproject.toml").read_text())
    assert (deployment.REPO / "pyproject.toml").read_bytes() == pyproject
    assert "federations" not in project["tool"]["flwr"]  # `flwr run` would rewrite a pyproject holding it
    assert project["tool"]["flwr"]["app"]["config"]["consent-at"] == "2026-01-01"
    names = zipfile.ZipFile(io.BytesIO(build_fab_from_disk(staged))).namelist()
    assert {"federated/server_app.py", "federated/client_app.py", "federated/task.py"} <= set(names)


PARENT = """
import datetime as dt, sys, time
from pathlib import Path
from federated._stack import descendants, open_stack, start_superlink
from federated._tls import ensure_tls

root = Path(sys.argv[1])
tls = ensure_tls(root / "keys", dt.datetime.now(dt.UTC))
stack = open_stack(root / "state", tls)
start_superlink(stack, tls)
pid = stack.children["superlink"].pid
print(" ".join(map(str, [pid, *descendants(pid)])), flush=True)
time.sleep(120)
"""


def test_a_killed_parent_takes_the_superlink_and_its_superexec_with_it(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    pids = [int(pid) for pid in parent.stdout.readline().split()]  # type: ignore[union-attr]

    parent.kill()  # SIGKILL: no cleanup code runs in the parent
    parent.wait()

    assert len(pids) >= 2  # the SuperLink and Flower's SuperExec below it
    deadline = time.monotonic() + 20
    while [pid for pid in pids if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [_describe(pid) for pid in pids if _alive(pid)] == []


def test_train_hands_its_timeout_and_progress_to_the_deployment_engine() -> None:
    lines: list[str] = []

    engine = train.engine_for(train.TrainRequest(mode="deployment", timeout=90.0), lines.append)

    assert engine.func is deployment.run and engine.keywords == {"timeout": 90.0, "progress": lines.append}


def test_rounds_are_reported_once_each_and_never_from_a_half_written_line(tmp_path: Path) -> None:
    lines: list[str] = []
    rounds = deployment.Rounds(tmp_path / "outcome.npz.rounds", 3, lines.append)
    rounds.report()  # no file yet: the server has not finished a round
    rounds.path.write_text('{"round": 1, "clients": 2, "failures": 0}\n{"round": 2, "clie')

    rounds.report()
    rounds.report()
    with open(rounds.path, "a") as handle:
        handle.write('nts": 1, "failures": 1}\n')
    rounds.report()

    assert lines == ["Round 1/3 done: 2 silos answered", "Round 2/3 done: 1 silos answered, 1 failed"]
    assert rounds.seen == 2
