"""Purchase propensity: features, the logistic-regression model, train and evaluate (plain numpy).

No Flower types here (Flower's example layout): the client and server apps wire these functions,
the centralised baseline and the benchmark call them directly.

Features are the mart's counts before the label window (`mart_user_features.prior_*` and the
social ones), squashed to [0, 1] by `log1p(min(x, cap)) / log1p(cap)` with public caps, so no
statistic of the data is needed to scale them and every user's gradient is bounded.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import numpy as np

from expectations._mart_suites import holds_sql
from weir.sql import ident

MART = "mart_user_features"
PURPOSE = "model_training"
# Feature columns with public caps: a count at or above its cap is as strong as the cap. The caps
# are generous round numbers for a few weeks of social-commerce activity, not read from the data.
FEATURES: dict[str, int] = {
    "prior_views": 500,
    "prior_carts": 100,
    "prior_purchases": 50,
    "prior_group_buy_joins": 20,
    "prior_active_days": 60,
    "share_link_visits": 100,
    "friends_purchased": 50,
    "kol_follows": 20,
    "followers": 1000,
}
LABEL = "purchased_next_7d"
TEST_SHARE = 0.2  # the newest 20% of users by first activity are held out (a split by time)
HOLDOUT_EVERY = 10  # 1 in 10 training-period users (by token hash) is a non-member for the MIA check


@dataclass(frozen=True, slots=True)
class Split:
    """One silo's users: features x (n, d), labels y (n,)."""

    x: np.ndarray
    y: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True, slots=True)
class Partition:
    """train: users trained on; test: the newer users (time split); holdout: users of the
    training period left out, the non-members of the membership-inference check."""

    train: Split
    test: Split
    holdout: Split


def dimension() -> int:
    """Model size: one weight per feature plus the intercept."""
    return len(FEATURES) + 1


def squash(raw: np.ndarray) -> np.ndarray:
    """Map raw counts (n, d) to [0, 1] with the public caps, then append the intercept column."""
    caps = np.array(list(FEATURES.values()), dtype=float)
    scaled = np.log1p(np.clip(raw, 0, caps)) / np.log1p(caps)
    return np.hstack([scaled, np.ones((raw.shape[0], 1))])


def split_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The first-activity day from which users are held out (public: a quantile of dates)."""
    row = con.execute(f"select quantile_disc(first_active_date, {1 - TEST_SHARE}) from marts.{MART}").fetchone()
    return row[0] if row else None


def token_digest(user_token: str) -> bytes:
    """SHA-256 of a user token: how the registry records who trained a model (DSR looks it up)."""
    return hashlib.sha256(user_token.encode()).digest()


def load_partition(
    con: duckdb.DuckDBPyConnection, region: str, now: datetime, cut: date | None
) -> tuple[Partition, list[bytes]]:
    """Read one region's users, keeping only those whose model_training consent holds `now`.

    The mart is already consent-filtered when built; the check is repeated against the consent
    ledger here because a withdrawal may have arrived since. Returns the partition and the
    training users' token digests (the registry's record of whom the model learnt from)."""
    columns = ", ".join(ident(c) for c in [*FEATURES, LABEL])
    rows = con.execute(
        f"select user_token, first_active_date, {columns} from marts.{MART} as m "
        f"where m.region = $region and {holds_sql('m.user_token', '$purpose', '$now')} "
        "order by m.user_token",
        {"region": region, "purpose": PURPOSE, "now": now},
    ).fetchall()
    digests = [token_digest(r[0]) for r in rows]
    raw = np.array([r[2:-1] for r in rows], dtype=float).reshape(len(rows), len(FEATURES))
    y = np.array([bool(r[-1]) for r in rows], dtype=float)
    newer = np.array([cut is not None and r[1] is not None and r[1] >= cut for r in rows], dtype=bool)
    holdout = ~newer & np.array([d[0] % HOLDOUT_EVERY == 0 for d in digests], dtype=bool)
    train = ~newer & ~holdout
    x = squash(raw)
    partition = Partition(Split(x[train], y[train]), Split(x[newer], y[newer]), Split(x[holdout], y[holdout]))
    return partition, [d for d, t in zip(digests, train, strict=True) if t]


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Purchase probability per row."""
    return 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))


def losses(w: np.ndarray, split: Split) -> np.ndarray:
    """Per-user log loss (the membership-inference attack's signal)."""
    p = np.clip(predict(w, split.x), 1e-12, 1 - 1e-12)
    return -(split.y * np.log(p) + (1 - split.y) * np.log(1 - p))


def per_user_gradients(w: np.ndarray, split: Split) -> np.ndarray:
    """Each user's gradient of the log loss (n, d): one row per user, the DP unit."""
    return (predict(w, split.x) - split.y)[:, None] * split.x


def clip_rows(grads: np.ndarray, clip_norm: float) -> np.ndarray:
    """Scale each user's gradient to L2 norm at most `clip_norm` (bounds one user's influence)."""
    norms = np.linalg.norm(grads, axis=1, keepdims=True)
    return grads * np.minimum(1.0, clip_norm / np.maximum(norms, 1e-12))


def local_update(w: np.ndarray, split: Split, steps: int, lr: float, l2: float, clip_norm: float | None) -> np.ndarray:
    """Run `steps` full-batch gradient steps from `w` and return the change in weights.

    With `clip_norm`, each step uses the mean of per-user clipped gradients and no L2 term. DP
    runs take one step per round (TrainSettings.steps_per_round): a user then moves the silo's
    summed update by at most lr * clip_norm, the sensitivity the server's noise is calibrated
    to (federated/dp.py)."""
    current = w.copy()
    if split.rows == 0:
        return np.zeros_like(w)
    for _ in range(steps):
        grads = per_user_gradients(current, split)
        if clip_norm is None:
            step = grads.mean(axis=0) + l2 * current
        else:
            step = clip_rows(grads, clip_norm).mean(axis=0)
        current = current - lr * step
    return current - w


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve by ranks (ties share their mean rank); NaN without both classes."""
    positives = int(y.sum())
    negatives = y.shape[0] - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mean_rank = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(mean_rank, counts)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def train_centralised(train: Split, rounds: int, steps: int, lr: float, l2: float) -> np.ndarray:
    """The baseline: the same model and steps on the pooled rows (rounds * steps GD steps)."""
    w = np.zeros(dimension())
    return w + local_update(w, train, rounds * steps, lr, l2, None)


BINS = 200  # histogram bins for AUC and loss-threshold attack from counts (no per-user values leave a silo)
LOSS_MAX = 10.0  # losses above this land in the last bin


def score_histogram(w: np.ndarray, split: Split) -> np.ndarray:
    """Counts of predicted scores in BINS bins, per class (2, BINS)."""
    p = predict(w, split.x)
    bins = np.minimum((p * BINS).astype(int), BINS - 1)
    return np.stack([np.bincount(bins[split.y == c], minlength=BINS) for c in (0.0, 1.0)]).astype(float)


def loss_histogram(w: np.ndarray, split: Split) -> np.ndarray:
    """Counts of per-user losses in BINS bins over [0, LOSS_MAX]."""
    bins = np.minimum((losses(w, split) / LOSS_MAX * BINS).astype(int), BINS - 1)
    return np.bincount(bins, minlength=BINS).astype(float)


def auc_from_histogram(hist: np.ndarray) -> float:
    """AUC from per-class score counts (pairs in one bin count half)."""
    negatives, positives = hist[0], hist[1]
    if negatives.sum() == 0 or positives.sum() == 0:
        return float("nan")
    below = np.cumsum(negatives) - negatives
    wins = (positives * (below + negatives / 2)).sum()
    return float(wins / (positives.sum() * negatives.sum()))


def attack_advantage(members: np.ndarray, non_members: np.ndarray) -> float:
    """Loss-threshold membership inference (Yeom et al. 2018): guess "member" when the loss is
    below a threshold; the advantage is the best TPR - FPR over thresholds (0 = no leak)."""
    if members.sum() == 0 or non_members.sum() == 0:
        return float("nan")
    tpr = np.cumsum(members) / members.sum()
    fpr = np.cumsum(non_members) / non_members.sum()
    return float(max(0.0, np.max(tpr - fpr)))
