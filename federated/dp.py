"""User-level differential privacy for federated training, accounted in zCDP with OpenDP.

The privacy unit is one user (one `mart_user_features` row), as for the analytics releases.

Who does what, and whom each party must trust:
- Each client (silo) clips every user's gradient to `clip_norm` (per-example clipping, one
  full-batch step per round, no sampling: no amplification argument is used). One user therefore
  moves the round's sum of clipped gradients by at most `clip_norm` (L2). A DP round is one step
  (TrainSettings.steps_per_round): with several unnoised local steps, a user's gradient would also
  move the weights at which every other user's later gradients are taken, and no per-user bound of
  `steps * clip_norm` would hold.
- Secure aggregation (SecAgg+) gives the server only the sum over silos, never one silo's update.
- The server adds Gaussian noise of std `noise_multiplier * steps * clip_norm` to that sum once
  per round, after secure aggregation, before the model leaves it. The server is trusted to add
  the noise and to keep the exact aggregate it sees before noising (the Weir operator runs it, and
  already holds the warehouse). Everyone who sees a model afterwards, the silos receiving the next
  round's model included, sees only noised models: that is what the (epsilon, delta) covers.
- Not covered: the per-silo user counts that weight FedAvg and go into the model card.

Accounting: each round is OpenDP's Gaussian mechanism on the summed update with input distance
`steps * clip_norm`; the rounds are composed with OpenDP's composition (zCDP: rho adds up) and the
total converted to (epsilon, delta) exactly as the releases' ledger reports it.
"""

from dataclasses import dataclass

import numpy as np
import opendp.prelude as dp

from privacy._dp_ledger import epsilon_of
from privacy._dp_spec import Loss

dp.enable_features("contrib")


@dataclass(frozen=True, slots=True)
class DpPlan:
    """The privacy parameters of one training run."""

    rounds: int
    steps: int  # local full-batch steps per round
    clip_norm: float
    noise_multiplier: float
    dimension: int

    @property
    def sensitivity(self) -> float:
        """L2 bound on one user's effect on a round's summed clipped update."""
        return self.steps * self.clip_norm

    @property
    def noise_std(self) -> float:
        """Std of the Gaussian noise the server adds to each round's sum."""
        return self.noise_multiplier * self.sensitivity


def round_measurement(plan: DpPlan) -> dp.Measurement:
    """OpenDP's Gaussian mechanism on one round's summed update (a vector of model size)."""
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False), size=plan.dimension), dp.l2_distance(T=float)
    return dp.m.make_gaussian(*space, scale=plan.noise_std)


def training_loss(plan: DpPlan) -> Loss:
    """The run's zCDP loss: every round composed by OpenDP (delta is 0 under zCDP)."""
    composed = dp.c.make_composition([round_measurement(plan)] * plan.rounds)
    return Loss(float(composed.map(plan.sensitivity)), 0.0)


def epsilon(loss: Loss, delta: float) -> float:
    """The epsilon the loss amounts to at `delta`, as the release ledger converts it."""
    return epsilon_of(loss.rho, delta)


def add_noise(summed: np.ndarray, plan: DpPlan) -> np.ndarray:
    """The server's step after secure aggregation: the summed update plus Gaussian noise, drawn
    by OpenDP's own sampler (numpy's floating-point Gaussian has known precision attacks)."""
    return np.array(round_measurement(plan)([float(v) for v in summed]), dtype=float)
