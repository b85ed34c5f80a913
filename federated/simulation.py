"""Run the Flower app on the simulation engine (the embedded default): one virtual SuperNode per
region, offline, Flower's home under the data dir, telemetry off (weir sets it on import)."""

import os
import signal
import sys
from contextlib import suppress
from pathlib import Path

# Under `uv run` (make, tests, benchmarks), Ray by default starts every worker with `uv run`,
# which builds a fresh environment of ~200 packages per run: minutes on a loaded machine, and
# the cause of the "Simulation Runtime crashed" start-up timeouts. Workers use this venv instead.
os.environ["RAY_ENABLE_UV_RUN_RUNTIME_ENV"] = "0"

import ray  # noqa: E402  # after the switch above: Ray reads it at import
from flwr.app import Context
from flwr.client import ClientApp
from flwr.server import Grid, ServerApp
from flwr.simulation import run_simulation
from ray._private import ray_constants  # noqa: E402

from federated import client_app, server_app
from federated._stack import descendants
from weir.errors import TrainingFailed

# Two cores are shared by everything on an embedded machine: one CPU per virtual client.
BACKEND = {"client_resources": {"num_cpus": 1, "num_gpus": 0.0}, "init_args": {"num_cpus": 2}}
# Ray waits a fixed 30 s for its raylet to register; a loaded machine can miss that, and Flower
# then ends the run with "Simulation Runtime crashed". Weir starts Ray itself and tries again.
RAY_START_ATTEMPTS = 5


def start_ray(attempts: int = RAY_START_ATTEMPTS) -> None:
    """Start Ray as Flower would (Flower reuses a running Ray and shuts it down after the run)."""
    ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = False  # in case Ray was imported before this module
    env = {"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}}  # what Flower hands its actors
    for attempt in range(1, attempts + 1):
        before = set(descendants(os.getpid()))
        try:
            ray.init(include_dashboard=False, runtime_env=env, **BACKEND["init_args"])
            return
        except Exception as err:  # Ray raises a bare Exception on a start-up timeout
            ray.shutdown()
            for pid in set(descendants(os.getpid())) - before:  # what the failed start left running
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if "timed out during startup" not in str(err):
                raise  # not the start-up wait: trying again would not help
            if attempt == attempts:
                raise TrainingFailed(
                    f"the simulation engine (Ray) did not start in {attempts} attempts: each missed Ray's fixed "
                    "30 s start-up wait, so the machine is overloaded (see `uptime`); try again when it is quieter."
                ) from err


def run(
    warehouse: Path, regions: tuple[str, ...], run_config: dict, flwr_home: Path, client: ClientApp | None = None
) -> None:
    """Run the app with `run_config` as its run config; the server writes the outcome file.

    `client` replaces the silos' ClientApp (tests use one whose silo fails mid-round)."""
    wrapped = ServerApp()

    @wrapped.main()
    def _main(grid: Grid, context: Context) -> None:
        # run_simulation has no run-config argument: hand the server the config `flwr run` would.
        context.run_config = dict(run_config)
        server_app.main(grid, context)

    previous = os.environ.get("FLWR_HOME")
    os.environ["FLWR_HOME"] = str(flwr_home)  # Flower writes its state here, not in ~/.flwr
    try:
        start_ray()
        run_simulation(
            server_app=wrapped,
            client_app=client or client_app.simulation_app(warehouse, regions),
            num_supernodes=len(regions),
            backend_config=BACKEND,
        )
    finally:
        ray.shutdown()  # Flower shuts Ray down after a run, not when the run fails to start
        if previous is None:
            os.environ.pop("FLWR_HOME", None)
        else:
            os.environ["FLWR_HOME"] = previous
