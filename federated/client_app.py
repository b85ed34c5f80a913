"""The ClientApp: one per silo (region), training only on its own consented users.

It speaks Flower's legacy message layout (a NumPyClient through `flwr.compat`), because on flwr
1.32 SecAgg+ runs only through the legacy workflow; the SecAgg+ mod joins in when the server
asks for secure aggregation and stays out of a plain run.

What leaves a silo: each round, its weight change (under SecAgg+, only inside the masked sum) and
its user count; in the last round, histograms of scores and losses (AUC and the membership-
inference check are computed from counts) and the SHA-256 digests of its training users' tokens,
the registry's record for unlearning. No feature, label or token leaves it.
"""

from datetime import date, datetime
from functools import partial
from pathlib import Path

import numpy as np
from flwr.app import Context, Message
from flwr.client import Client, ClientApp, NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS

from federated import task
from weir.warehouse import connect

NODE_DATA_DIR, NODE_REGION = "data-dir", "region"  # per-SuperNode --node-config keys


class SiloClient(NumPyClient):
    """A silo's client: reads its region of the feature mart on each request, re-checking consent."""

    def __init__(self, warehouse: Path, region: str) -> None:
        self.warehouse = warehouse
        self.region = region

    def _load(self, config: dict) -> tuple[task.Partition, list[bytes]]:
        now = datetime.fromisoformat(str(config["consent-at"]))
        cut = date.fromisoformat(str(config["split-date"])) if config.get("split-date") else None
        con = connect(self.warehouse, read_only=True)
        try:
            return task.load_partition(con, self.region, now, cut)
        finally:
            con.close()

    def fit(self, parameters: list[np.ndarray], config: dict) -> tuple[list[np.ndarray], int, dict]:
        partition, _ = self._load(config)
        clip = float(config["clip-norm"]) if config.get("dp") else None
        delta = task.local_update(
            parameters[0], partition.train, int(config["local-steps"]), float(config["learning-rate"]),
            float(config["l2"]), clip,
        )  # fmt: skip
        return [delta], partition.train.rows, {"region": self.region}

    def evaluate(self, parameters: list[np.ndarray], config: dict) -> tuple[float, int, dict]:
        partition, members = self._load(config)
        w = parameters[0]
        metrics = {
            "region": self.region,
            "rows-train": partition.train.rows,
            "rows-test": partition.test.rows,
            "scores-test": task.score_histogram(w, partition.test).tobytes(),
            "scores-train": task.score_histogram(w, partition.train).tobytes(),
            "loss-members": task.loss_histogram(w, partition.train).tobytes(),
            "loss-holdout": task.loss_histogram(w, partition.holdout).tobytes(),
            "members": b"".join(members),
        }
        loss = float(task.losses(w, partition.test).mean()) if partition.test.rows else 0.0
        return loss, partition.test.rows, metrics


def secagg_when_asked(msg: Message, context: Context, call_next):  # noqa: ANN201 (Flower's mod signature)
    """Run SecAgg+ only on messages of a secure-aggregation round (its mod fails on others)."""
    if RECORD_KEY_CONFIGS in msg.content.config_records:
        return secaggplus_mod(msg, context, call_next)
    return call_next(msg, context)


def client_fn(context: Context) -> Client:
    """A deployed SuperNode's client: its data dir and region come from its node config."""
    data_dir = Path(str(context.node_config[NODE_DATA_DIR]))
    return SiloClient(data_dir / "warehouse.duckdb", str(context.node_config[NODE_REGION])).to_client()


def simulated_client_fn(warehouse: Path, regions: tuple[str, ...], context: Context) -> Client:
    """A simulated SuperNode's client: partition i of the simulation serves region i."""
    return SiloClient(warehouse, regions[int(context.node_config["partition-id"])]).to_client()


def simulation_app(warehouse: Path, regions: tuple[str, ...]) -> ClientApp:
    """The same client for the simulation engine, which numbers nodes instead of configuring them."""
    return ClientApp(client_fn=partial(simulated_client_fn, warehouse, regions), mods=[secagg_when_asked])


app = ClientApp(client_fn=client_fn, mods=[secagg_when_asked])
