"""The server's strategy: FedAvg over weight changes, the DP noise step, and the final evaluation.

Clients send weight *changes* (small numbers that fit SecAgg+'s quantisation range) weighted by
their user counts; the strategy keeps the global weights. With DP it adds the noise to the
aggregated sum of clipped updates here, after secure aggregation (see federated/dp.py).
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from flwr.common import EvaluateRes, FitRes, Parameters, Scalar, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import FedAvg

from federated import dp, task
from federated.settings import TrainSettings

HISTOGRAMS = ("scores-test", "scores-train", "loss-members", "loss-holdout")


@dataclass(slots=True)
class Outcome:
    """What a finished run hands back: the weights, per-round counts and per-silo evaluation."""

    weights: np.ndarray
    rounds: list[dict] = field(default_factory=list)
    silos: dict[str, dict] = field(default_factory=dict)
    members: dict[str, bytes] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write the outcome (owner-only) where the driver reads it back."""
        members = {f"members-{r}": np.frombuffer(m, dtype=np.uint8) for r, m in self.members.items()}
        meta = json.dumps({"rounds": self.rounds, "silos": self.silos})
        with open(path, "wb") as handle:
            np.savez(handle, weights=self.weights, meta=np.array(meta), **members)
        path.chmod(0o600)

    @classmethod
    def load(cls, path: Path) -> "Outcome":
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            members = {k.removeprefix("members-"): data[k].tobytes() for k in data.files if k.startswith("members-")}
            return cls(data["weights"], meta["rounds"], meta["silos"], members)


class WeirFedAvg(FedAvg):
    """FedAvg on weight changes; DP noise after aggregation; evaluation in the last round only."""

    def __init__(self, settings: TrainSettings) -> None:
        self.settings = settings
        self.outcome = Outcome(np.zeros(task.dimension()))
        self.velocity = np.zeros(task.dimension())
        super().__init__(
            fraction_fit=1.0,
            fraction_evaluate=1.0,
            min_fit_clients=settings.min_clients,
            min_evaluate_clients=settings.min_clients,
            min_available_clients=settings.min_clients,
            initial_parameters=ndarrays_to_parameters([self.outcome.weights]),
            on_fit_config_fn=settings.client_config,
            on_evaluate_config_fn=settings.client_config,
        )

    def configure_evaluate(self, server_round: int, parameters: Parameters, client_manager):  # noqa: ANN201
        if server_round != self.settings.rounds:
            return []  # per-silo evaluation once, on the final model
        return super().configure_evaluate(server_round, parameters, client_manager)

    def aggregate_fit(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, FitRes]],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        rows = sum(r.num_examples for _, r in results)
        self.outcome.rounds.append({"round": server_round, "clients": len(results), "failures": len(failures)})
        self._report(self.outcome.rounds[-1])
        if rows == 0:
            return ndarrays_to_parameters([self.outcome.weights]), {}  # nothing learnt this round
        averaged, _ = super().aggregate_fit(server_round, results, failures)
        change = parameters_to_ndarrays(averaged)[0]
        if self.settings.dp:
            change = self._noised(change, rows)
        # Heavy-ball momentum on the (noised) aggregate: post-processing, so DP is unaffected.
        self.velocity = self.settings.server_momentum * self.velocity + change
        self.outcome.weights = self.outcome.weights + self.velocity
        return ndarrays_to_parameters([self.outcome.weights]), {}

    def _report(self, entry: dict) -> None:
        """Append the round to the progress file beside the result (the deployment engine runs
        this app in another process and shows the rounds from it); counts only, one whole line."""
        if self.settings.result_path:
            fd = os.open(self.settings.progress_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as handle:
                handle.write(json.dumps(entry) + "\n")

    def _noised(self, mean_change: np.ndarray, rows: int) -> np.ndarray:
        """Turn the weighted mean change back into the sum of clipped gradients, add the noise,
        and return the noised mean change."""
        lr = self.settings.step_learning_rate
        summed = -mean_change * rows / lr
        return -dp.add_noise(summed, self.settings.dp_plan()) * lr / rows

    def aggregate_evaluate(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, EvaluateRes]],
        failures: list[tuple[ClientProxy, EvaluateRes] | BaseException],
    ) -> tuple[float | None, dict[str, Scalar]]:
        for _, res in results:
            metrics = dict(res.metrics)
            region = str(metrics.pop("region"))
            self.outcome.members[region] = bytes(metrics.pop("members"))
            for name in HISTOGRAMS:
                metrics[name] = np.frombuffer(bytes(metrics[name]), dtype=float).tolist()
            self.outcome.silos[region] = metrics
        return super().aggregate_evaluate(server_round, results, failures)
