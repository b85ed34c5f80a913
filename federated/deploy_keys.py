"""Make the deployment engine's certificates and SuperNode keys ahead of `docker compose up`.

`run()` makes them itself on first start; the compose stack runs this once (service
`flower-init`) so that the SuperLink, the registration step and every SuperNode find them in
the shared data volume. Only paths are printed, never key material.

Usage: python -m federated.deploy_keys --superlink flower-superlink:9093 "East China" ...
"""

import argparse
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from federated._stack import write_connection
from federated._tls import ensure_node_key, ensure_tls, node_name
from federated.deployment import state_dir
from weir.config import DataDir, make_private_dir, resolve_data_dir


def prepare(data_dir: DataDir, regions: Sequence[str], superlink: str) -> list[Path]:
    """Ensure the TLS files, one key pair per region and a `flwr` connection to `superlink`."""
    tls = ensure_tls(data_dir.keys, dt.datetime.now(dt.UTC))
    home = make_private_dir(state_dir(data_dir.root / "flwr") / "flwr-home")  # train's flwr_home
    write_connection(home, superlink, tls.ca_cert)
    publics = [ensure_node_key(data_dir.keys, node_name(region)).public for region in regions]
    return [tls.ca_cert, tls.server_cert, home / "config.toml", *publics]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m federated.deploy_keys", description=__doc__.splitlines()[0])
    parser.add_argument("--superlink", required=True, help="Control API address the `flwr` CLI uses (host:port).")
    parser.add_argument("--data-dir", help="Weir data dir (default: $WEIR_DATA_DIR, else ./.weir-data).")
    parser.add_argument("regions", nargs="+", help='One SuperNode per region, e.g. "East China".')
    args = parser.parse_args(argv)
    for path in prepare(resolve_data_dir(args.data_dir), args.regions, args.superlink):
        print(f"ready: {path}")


if __name__ == "__main__":
    main()
