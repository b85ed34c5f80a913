"""A training run's settings, read once from the Flower run config (`[tool.flwr.app.config]`)."""

import math
from dataclasses import dataclass
from pathlib import Path

from federated import task
from federated.dp import DpPlan

# What each client needs per round; everything else stays on the server.
CLIENT_KEYS = ("local-steps", "learning-rate", "l2", "dp", "clip-norm", "consent-at", "split-date")


@dataclass(frozen=True, slots=True)
class TrainSettings:
    rounds: int
    local_steps: int
    learning_rate: float
    l2: float
    secagg: bool
    num_shares: int
    reconstruction_threshold: int
    dp: bool
    clip_norm: float
    noise_multiplier: float
    dp_learning_rate: float  # the clients' step size in a DP run (one clipped step per round)
    dp_server_momentum: float  # momentum the server applies to the noised update in a DP run
    min_clients: int
    consent_at: str  # ISO time at which every client re-checks consent (the consent snapshot)
    split_date: str  # first-activity day from which users are the time-split test set ("" = none)
    max_weight: int  # SecAgg+: the largest silo's user count (its weights are quantised against it)
    result_path: str  # where the server writes the finished run's outcome

    @classmethod
    def from_run_config(cls, config: dict) -> "TrainSettings":
        return cls(
            rounds=int(config["num-server-rounds"]),
            local_steps=int(config["local-steps"]),
            learning_rate=float(config["learning-rate"]),
            l2=float(config["l2"]),
            secagg=bool(config["secagg"]),
            num_shares=int(config["num-shares"]),
            reconstruction_threshold=int(config["reconstruction-threshold"]),
            dp=bool(config["dp"]),
            clip_norm=float(config["clip-norm"]),
            noise_multiplier=float(config["noise-multiplier"]),
            dp_learning_rate=float(config.get("dp-learning-rate", config["learning-rate"])),
            dp_server_momentum=float(config.get("dp-server-momentum", 0.0)),
            min_clients=int(config["min-clients"]),
            consent_at=str(config.get("consent-at", "")),
            split_date=str(config.get("split-date", "")),
            max_weight=int(config.get("max-weight", 1000)),
            result_path=str(config.get("result-path", "")),
        )

    def client_config(self, server_round: int) -> dict:
        """The per-round config record each client receives."""
        return {
            "server-round": server_round,
            "local-steps": self.steps_per_round,
            "learning-rate": self.step_learning_rate,
            "l2": self.l2,
            "dp": self.dp,
            "clip-norm": self.clip_norm,
            "consent-at": self.consent_at,
            "split-date": self.split_date,
        }

    @property
    def steps_per_round(self) -> int:
        """Local steps a client takes per round: one under DP. Several unnoised steps would let one
        user's gradient move the weights that every other user's next gradient is taken at, so
        steps * clip_norm would not bound that user's effect on the round; one full-batch step of
        clipped gradients between two noise draws is DP-SGD, and clip_norm is its exact bound."""
        return 1 if self.dp else self.local_steps

    @property
    def step_learning_rate(self) -> float:
        """The clients' step size: a DP run's own (its clipped mean gradient is small)."""
        return self.dp_learning_rate if self.dp else self.learning_rate

    @property
    def server_momentum(self) -> float:
        """Momentum on the aggregated update: DP runs only (it post-processes the noised sum)."""
        return self.dp_server_momentum if self.dp else 0.0

    def dp_plan(self) -> DpPlan:
        return DpPlan(self.rounds, self.steps_per_round, self.clip_norm, self.noise_multiplier, task.dimension())

    @property
    def quantisation_range(self) -> float:
        """SecAgg+'s clipping range for weight changes: one round moves a weight by at most
        learning_rate * steps * max(1, clip) (features in [0, 1], |p - y| <= 1), plus headroom."""
        bound = self.step_learning_rate * self.steps_per_round * max(1.0, self.clip_norm if self.dp else 1.0)
        return float(math.ceil(bound * 2))

    @property
    def result_file(self) -> Path:
        return Path(self.result_path)

    @property
    def progress_file(self) -> Path:
        """One JSON line per finished round, written by the server beside its result file."""
        return progress_file(self.result_file)


def progress_file(result: Path) -> Path:
    return result.with_name(result.name + ".rounds")
