"""A Flower SuperLink and its SuperNodes as separate processes on loopback, TLS and auth on.

Each child is started like weir's dbt children: it dies with this process (PR_SET_PDEATHSIG),
and Flower's own SuperExec grandchildren follow their parent by `--parent-pid`. All state
(`FLWR_HOME`, logs) lives under the data dir; the SuperLink keeps its state in memory, so SuperNode
registrations end with the stack and nothing of a stopped stack stays registered.
"""

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from federated._deploy_errors import FederatedDeployError, FederatedTlsError
from federated._tls import NodeKey, TlsFiles
from weir import TELEMETRY_OFF
from weir.config import PRIVATE_FILE_MODE, make_private_dir
from weir.dbt import die_with_parent

CONNECTION = "weir"  # the SuperLink connection name written into FLWR_HOME/config.toml
LOOPBACK = "127.0.0.1"
START_SECONDS = 60.0  # a cold start imports grpc and flwr; on 2 busy cores this takes a while
CLI_SECONDS = 60.0
POLL_SECONDS = 0.5
# `--node-config` is parsed by a regex, then as TOML: a quote or backslash would escape the value.
UNSAFE_IN_VALUE = set('"\\') | {chr(c) for c in range(32)}

ConfigValue = str | int | float | bool
# Always on, here and in docker-compose.yml (tests/test_compose.py checks both).
SUPERLINK_FLAGS = (
    "--enable-supernode-auth",  # only SuperNodes registered with `flwr supernode register`
    "--disable-runtime-dependency-installation",  # offline: the app runs in this environment
)


@dataclass(slots=True)
class Stack:
    """A started SuperLink plus SuperNodes; `close()` stops every child (also on error)."""

    home: Path  # FLWR_HOME
    logs: Path
    env: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def flwr(self, *args: str, timeout: float = CLI_SECONDS) -> dict[str, object]:
        """Run a `flwr` CLI command against this SuperLink and return its JSON answer."""
        command = [_tool("flwr"), *args, "--format", "json"]
        try:
            done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as err:
            raise FederatedDeployError(f"`flwr {args[0]}` did not answer within {timeout:.0f}s.") from err
        try:
            answer = json.loads(done.stdout[done.stdout.index("{") :])
        except ValueError as err:
            tail = _last_line(done.stderr or done.stdout)
            raise FederatedDeployError(f"`flwr {' '.join(args[:2])}` failed: {tail}") from err
        if not answer.get("success"):
            reason = _last_line(str(answer.get("error-message", "no reason given")))
            raise FederatedDeployError(f"`flwr {' '.join(args[:2])}` failed: {reason}")
        return answer

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        """Start a child that dies with this process; its output goes to logs/<name>.log (0600)."""
        log = os.open(self.logs / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        try:
            child = subprocess.Popen(
                command,
                cwd=self.home,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(os.getpid()),  # noqa: PLW1509 - only prctl and getppid
                start_new_session=True,  # its own process group: close() reaches Flower's SuperExecs too
            )
        finally:
            os.close(log)
        self.children[name] = child
        return child

    def wait_listening(self, name: str, port: int, deadline: float) -> None:
        """Wait until child `name` accepts connections on `port`; fail if it exits first."""
        child = self.children[name]
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise FederatedDeployError(
                    f"{name} exited with code {child.returncode} before listening on {LOOPBACK}:{port}: "
                    f"{self.log_tail(name)} (log: {self.logs / name}.log)"
                )
            with socket.socket() as probe:
                if probe.connect_ex((LOOPBACK, port)) == 0:
                    return
            time.sleep(POLL_SECONDS)
        raise FederatedDeployError(f"{name} did not listen on {LOOPBACK}:{port} within {START_SECONDS:.0f}s.")

    def log_tail(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return _last_line(path.read_text(errors="replace")) if path.exists() else "no log"

    def close(self, grace: float = 10.0) -> None:
        """Stop every child and all below it: SIGTERM, SIGKILL after `grace` s. Idempotent."""
        # Flower's app processes may sit in their own process group and watch their parent only
        # every so often: note them now, while the tree is still linked, and kill what is left.
        below = {pid for child in self.children.values() for pid in descendants(child.pid)}
        for child in self.children.values():
            _signal_group(child.pid, signal.SIGTERM)
        end = time.monotonic() + grace
        for child in self.children.values():
            try:
                child.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for child in self.children.values():  # a SuperExec still shutting down after its parent
            _signal_group(child.pid, signal.SIGKILL)
        for pid in below:
            _kill(pid)
        while any(_running(pid) for pid in below) and time.monotonic() < end + grace:
            time.sleep(0.05)  # SIGKILL is delivered when the process next runs

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_stack(state_dir: Path, tls: TlsFiles) -> Stack:
    """Prepare FLWR_HOME and logs under `state_dir` and pick loopback ports (nothing started)."""
    home, logs = make_private_dir(state_dir / "flwr-home"), make_private_dir(state_dir / "logs")
    env = {
        **os.environ,
        **TELEMETRY_OFF,
        "FLWR_HOME": str(home),  # else Flower writes ~/.flwr
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    stack = Stack(home, logs, env)
    names = ("serverappio", "fleet", "control")
    stack.ports = dict(zip(names, free_ports(len(names)), strict=True))
    write_connection(home, f"{LOOPBACK}:{stack.ports['control']}", tls.ca_cert)
    return stack


def start_superlink(stack: Stack, tls: TlsFiles) -> None:
    """Start the SuperLink (TLS, SuperNode auth, no runtime installs) and wait until it serves."""
    ports = stack.ports
    stack.spawn(
        "superlink",
        [
            _tool("flower-superlink"),
            *("--ssl-ca-certfile", str(tls.ca_cert), "--ssl-certfile", str(tls.server_cert)),
            *("--ssl-keyfile", str(tls.server_key)),
            *SUPERLINK_FLAGS,
            *("--serverappio-api-address", f"{LOOPBACK}:{ports['serverappio']}"),
            *("--fleet-api-address", f"{LOOPBACK}:{ports['fleet']}"),
            *("--control-api-address", f"{LOOPBACK}:{ports['control']}"),
        ],
    )
    deadline = time.monotonic() + START_SECONDS
    for api in ("control", "fleet"):
        stack.wait_listening("superlink", ports[api], deadline)


def register(stack: Stack, node: NodeKey) -> int:
    """Record a SuperNode's public key at the SuperLink; returns the node id it will have."""
    answer = stack.flwr("supernode", "register", str(node.public), CONNECTION)
    return int(str(answer["node-id"]))


def start_supernode(
    stack: Stack, node: NodeKey, ca_cert: Path, node_config: Mapping[str, ConfigValue], max_wait: float | None = None
) -> subprocess.Popen[bytes]:
    """Start the SuperNode of one silo; `node_config` reaches its ClientApp as `context.node_config`."""
    (port,) = free_ports(1)
    command = [
        _tool("flower-supernode"),
        *("--root-certificates", str(ca_cert)),
        *("--superlink", f"{LOOPBACK}:{stack.ports['fleet']}"),
        *("--auth-supernode-private-key", str(node.private)),
        *("--clientappio-api-address", f"{LOOPBACK}:{port}"),
        *("--node-config", node_config_arg(node_config)),
    ]
    if max_wait is not None:  # give up instead of retrying forever (a refused node, a bad CA)
        command += ["--max-retries", "1", "--max-wait-time", str(max_wait)]
    return stack.spawn(f"supernode-{node.name}", command)


def wait_online(stack: Stack, node_ids: Mapping[int, str], deadline: float) -> None:
    """Wait until every registered SuperNode (id -> name) has connected, or name those that did not."""
    online: set[int] = set()
    while time.monotonic() < deadline:
        for name, child in stack.children.items():
            if name.startswith("supernode-") and child.poll() is not None:
                raise FederatedDeployError(f"{name} exited with code {child.returncode}: {stack.log_tail(name)}")
        nodes = stack.flwr("supernode", "list", CONNECTION)["nodes"]
        online = {int(n["node-id"]) for n in nodes if n["status"] == "online"}  # type: ignore[union-attr,index]
        if set(node_ids) <= online:
            return
        time.sleep(POLL_SECONDS)
    late = sorted(name for node_id, name in node_ids.items() if node_id not in online)
    raise FederatedDeployError(
        f"SuperNodes {', '.join(late)} did not come online in time; see their logs in {stack.logs}."
    )


def probe_tls(port: int, ca_cert: Path, timeout: float = 5.0) -> None:
    """Open one TLS handshake to the SuperLink trusting only `ca_cert`; name the cause if it fails."""
    context = ssl.create_default_context(cafile=str(ca_cert))
    context.set_alpn_protocols(["h2"])
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname="localhost"):
                return
    except ssl.SSLCertVerificationError as err:
        raise FederatedTlsError(
            f"The SuperLink at {LOOPBACK}:{port} presented a certificate that {ca_cert} does not verify "
            f"({err.verify_message}). Give SuperNodes the ca.pem of the keys dir that issued it."
        ) from err
    except (ssl.SSLError, OSError) as err:
        raise FederatedTlsError(f"No TLS handshake with the SuperLink at {LOOPBACK}:{port}: {err}.") from err


def node_config_arg(values: Mapping[str, ConfigValue]) -> str:
    """Render `--node-config` as Flower parses it, refusing values that would break out of quotes."""
    parts = []
    for key, value in values.items():
        if isinstance(value, str):
            if UNSAFE_IN_VALUE & set(value) or UNSAFE_IN_VALUE & set(key) or " " in key:
                raise FederatedDeployError(
                    f"Node config {key}={value!r} holds a quote, backslash or control character, "
                    "which Flower's --node-config cannot carry; use a plain path or name."
                )
            parts.append(f'{key}="{value}"')
        else:
            parts.append(f"{key}={json.dumps(value)}")
    return " ".join(parts)


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out on loopback now (all held at once, so they are distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def write_connection(home: Path, address: str, ca_cert: Path) -> None:
    text = (
        f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\n'
        f"address = {json.dumps(address)}\nroot-certificates = {json.dumps(str(ca_cert))}\n"
    )
    path = home / "config.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc; elsewhere none are found)."""
    found: list[int] = []
    tasks = Path(f"/proc/{pid}/task")
    for task in tasks.iterdir() if tasks.is_dir() else ():
        try:
            children = [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the task ended while we looked
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def _kill(pid: int) -> None:
    """SIGKILL a left-over Flower process, checking first that the pid was not reused meanwhile."""
    try:
        if _tool("") in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            os.kill(pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):  # gone already
        pass


def _running(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):  # the whole group is gone already
        pass


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
