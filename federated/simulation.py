"""Run the Flower app on the simulation engine (the embedded default): one virtual SuperNode per
region, offline, Flower's home under the data dir, telemetry off (weir sets it on import)."""

import os
from pathlib import Path

from flwr.app import Context
from flwr.client import ClientApp
from flwr.server import Grid, ServerApp
from flwr.simulation import run_simulation

from federated import client_app, server_app

# Two cores are shared by everything on an embedded machine: one CPU per virtual client.
BACKEND = {"client_resources": {"num_cpus": 1, "num_gpus": 0.0}, "init_args": {"num_cpus": 2}}


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
        run_simulation(
            server_app=wrapped,
            client_app=client or client_app.simulation_app(warehouse, regions),
            num_supernodes=len(regions),
            backend_config=BACKEND,
        )
    finally:
        if previous is None:
            os.environ.pop("FLWR_HOME", None)
        else:
            os.environ["FLWR_HOME"] = previous
