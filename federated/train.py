"""`weir model train`: plan a run, refuse what cannot go ahead, run Flower, register the result.

Order matters for "nothing half-done": every check (data, consent, budget) runs before Flower
starts; the run writes only files under the data dir; the registry row, the budget spend and the
audit entry are written in one transaction after the run finished, or not at all.
"""

import hashlib
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import import_module
from pathlib import Path

import duckdb
import numpy as np
from flwr.common.config import get_project_config

from federated import dp, registry, task
from federated.settings import TrainSettings, progress_file
from federated.strategy import Outcome
from privacy import _dp_ledger as ledger
from privacy._dp_spec import load_catalog, period_of
from weir import audit
from weir.config import DataDir, make_private_dir
from weir.dp import ledger_lock
from weir.errors import BudgetExceeded, ConfigError, EmptyTrainingSet, TrainingFailed, WeirError
from weir.pipeline import signing_key, witness_committed
from weir.warehouse import connect

REPO = Path(__file__).resolve().parents[1]
BUDGET = "model_training"
MODES = ("simulation", "deployment")


@dataclass(frozen=True, slots=True)
class TrainRequest:
    dp: bool = False
    rounds: int | None = None
    mode: str = "simulation"
    reason: str = "scheduled"
    timeout: float | None = None  # deployment mode: seconds before the run is stopped [default: by rounds]
    overrides: tuple[tuple[str, object], ...] = ()  # extra run-config keys (tests, benchmark)


@dataclass(frozen=True, slots=True)
class TrainResult:
    version: str
    card: dict
    superseded: list[str]


def run_config(request: TrainRequest) -> dict:
    """The app's run config from pyproject.toml, with this request's overrides."""
    config = dict(get_project_config(REPO)["tool"]["flwr"]["app"]["config"])
    config.update(dict(request.overrides))
    if request.rounds is not None:
        config["num-server-rounds"] = request.rounds
    if request.dp:
        config.update({"dp": True, "secagg": True})  # the noise is added after secure aggregation
    return config


def survey(con: duckdb.DuckDBPyConnection, now: datetime) -> tuple[dict[str, int], str]:
    """Consented users per region now, and the time split's date; refuse an empty training set."""
    rows = con.execute(
        f"select region, count(*) from marts.{task.MART} as m "
        f"where {task.holds_sql('m.user_token', '$p', '$now')} group by 1 order by 1",
        {"p": task.PURPOSE, "now": now},
    ).fetchall()
    if not rows:
        raise EmptyTrainingSet(
            f"No user with {task.PURPOSE} consent in marts.{task.MART} (the mart is empty or nobody consents); "
            "load data and build the warehouse (`weir warehouse build`) first. Nothing was trained or spent."
        )
    cut = task.split_date(con)
    return dict(rows), cut.isoformat() if cut else ""


def plan(data_dir: DataDir, request: TrainRequest, now: datetime) -> tuple[TrainSettings, dict, dict[str, int]]:
    """Validate the request and the data; with DP, refuse a run that would overspend."""
    if request.mode not in MODES:
        raise ConfigError(f'--mode "{request.mode}" is not known; use one of {", ".join(MODES)}.')
    if request.rounds is not None and not 1 <= request.rounds <= 500:
        raise ConfigError(f"--rounds {request.rounds} is out of range; use 1 to 500.")
    if request.timeout is not None and request.mode != "deployment":
        raise ConfigError("--timeout applies to --mode deployment only (a simulation runs in this process); drop it.")
    if request.timeout is not None and not request.timeout > 0:
        raise ConfigError(f"--timeout {request.timeout:g} must be a positive number of seconds.")
    con = connect(data_dir.warehouse)
    try:
        counts, cut = survey(con, now)
        config = run_config(request)
        config.update(
            {"consent-at": now.isoformat(), "split-date": cut, "min-clients": len(counts)}
            | {"max-weight": max(counts.values()) + 1}
        )
        settings = TrainSettings.from_run_config(config)
        if settings.dp:
            check_budget(con, settings, now)
    finally:
        con.close()
    return settings, config, counts


def check_budget(con: duckdb.DuckDBPyConnection, settings: TrainSettings, now: datetime) -> None:
    """Refuse, before anything runs, a DP run whose composed loss exceeds what is left."""
    budget = load_catalog().budgets[BUDGET]
    period = period_of(now.date()).label
    asked = dp.training_loss(settings.dp_plan())
    left = ledger.state(con, budget, period).remaining
    if asked.rho > left.rho * (1 + 1e-9):
        raise BudgetExceeded(
            f"Privacy budget exceeded for DP training on budget {BUDGET}, period {period}: requested "
            f"rho={asked.rho:.4f} ({settings.rounds} rounds, noise multiplier {settings.noise_multiplier}); "
            f"remaining rho={left.rho:.4f}. Use fewer --rounds or a larger noise-multiplier; nothing was spent."
        )


Engine = Callable[[Path, tuple[str, ...], dict, Path], None]


def engine_for(request: TrainRequest, progress: Callable[[str], None] | None = None) -> Engine:
    """The simulation engine, or the deployment engine of federated/deployment.py with the
    request's timeout and a progress line per round."""
    if request.mode == "simulation":
        return import_module("federated.simulation").run
    try:
        run = import_module("federated.deployment").run
        return partial(run, timeout=request.timeout, progress=progress or (lambda _: None))
    except ModuleNotFoundError as err:
        raise ConfigError(
            "--mode deployment needs federated/deployment.py (SuperLink and SuperNodes), which this "
            "install lacks; use --mode simulation."
        ) from err


def train(
    data_dir: DataDir,
    actor: str,
    request: TrainRequest,
    now: datetime | None = None,
    engine: Engine | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train, evaluate and register one model version (see the module docstring for the order)."""
    now = now or datetime.now(UTC)
    settings, config, counts = plan(data_dir, request, now)
    engine = engine or engine_for(request, progress)
    version = f"{registry.MODEL}-{now:%Y%m%dT%H%M%S%f}"
    result_file = make_private_dir(data_dir.root / "flwr" / "runs") / f"{version}.npz"
    config["result-path"] = str(result_file)
    try:
        engine(data_dir.warehouse, tuple(counts), config, make_private_dir(data_dir.root / "flwr"))
        outcome = Outcome.load(result_file)
    except WeirError as err:  # Weir's own messages say what to check: keep them whole
        raise TrainingFailed(f"Federated run {version} did not finish: {err} Nothing was registered or spent.") from err
    except Exception as err:
        raise TrainingFailed(
            f"Federated run {version} did not finish ({type(err).__name__}: {str(err)[:200]}); "
            "nothing was registered or spent. Check the clients and run `weir model train` again."
        ) from err
    finally:
        result_file.unlink(missing_ok=True)
        progress_file(result_file).unlink(missing_ok=True)
    if len(outcome.rounds) != settings.rounds or len(outcome.silos) == 0:
        raise TrainingFailed(
            f"Federated run {version} finished {len(outcome.rounds)} of {settings.rounds} rounds with "
            f"{len(outcome.silos)} evaluated silos; nothing was registered or spent."
        )
    con = connect(data_dir.warehouse)
    try:
        card = model_card(con, settings, outcome, counts, request, now)
    finally:
        con.close()
    reason = f"{request.reason}: trained on users whose {task.PURPOSE} consent no longer holds; replaced by {version}"
    return _register(data_dir, actor, version, settings, outcome, card, now, reason)


def _register(data_dir, actor, version, settings, outcome, card, now, reason: str) -> TrainResult:  # noqa: ANN001
    """Spend, registry row, members and audit entry in one transaction (ledger lock held)."""
    artefact = registry.write_artefact(data_dir, version, outcome.weights)
    card["artefact"] = {"path": str(artefact[0]), "sha256": artefact[1]}
    members = [m[i : i + 32] for m in outcome.members.values() for i in range(0, len(m), 32)]
    key = signing_key(data_dir)
    with ledger_lock(data_dir):
        con = connect(data_dir.warehouse)
        try:
            con.execute("begin transaction")
            try:
                spend_id = _spend(con, settings, version, actor, now)
                superseded = registry.supersede_withdrawn(con, reason, now)
                registry.register_in(con, version, now, artefact, spend_id, card, members)
                audit.append_in(con, key, actor, "model_train", {"version": version}, _audit_figures(card, superseded))
                con.execute("commit")
            except Exception:
                con.execute("rollback")
                artefact[0].unlink(missing_ok=True)
                raise
        finally:
            con.close()
        witness_committed(data_dir, key)
    return TrainResult(version, card, superseded)


def _spend(con: duckdb.DuckDBPyConnection, settings: TrainSettings, version: str, actor: str, now: datetime):  # noqa: ANN202
    if not settings.dp:
        return None
    budget = load_catalog().budgets[BUDGET]
    loss = dp.training_loss(settings.dp_plan())
    return ledger.spend_in(con, budget, period_of(now.date()).label, version, version, loss, actor, now)


def _audit_figures(card: dict, superseded: list[str]) -> dict:
    return {
        "auc": card["metrics"]["auc_federated"],
        "rho": card["privacy"]["rho"],
        "epsilon": card["privacy"]["epsilon"],
        "rows": card["data"]["rows_total"],
        "superseded": superseded,
    }


def model_card(con, settings: TrainSettings, outcome: Outcome, counts: dict, request: TrainRequest, now) -> dict:  # noqa: ANN001
    """Everything a reviewer needs about a version: data, privacy, metrics, code."""
    budget = load_catalog().budgets[BUDGET]
    loss = dp.training_loss(settings.dp_plan()) if settings.dp else None
    return {
        "model": registry.MODEL,
        "reason": request.reason,
        "data": {
            "consent_snapshot_at": settings.consent_at,
            "data_snapshot_at": _data_snapshot_at(con),
            "split_date": settings.split_date,
            "clients": len(outcome.silos),
            "rows_per_client": {r: s["rows-train"] for r, s in sorted(outcome.silos.items())},
            "rows_total": int(sum(s["rows-train"] for s in outcome.silos.values())),
            "features": list(task.FEATURES),
        },
        "training": {
            "mode": request.mode,
            "rounds": settings.rounds,
            "local_steps": settings.steps_per_round,
            "learning_rate": settings.step_learning_rate,
            "server_momentum": settings.server_momentum,
            "secagg": settings.secagg,
            "round_log": outcome.rounds,
        },
        "privacy": {
            "dp": settings.dp,
            "unit": "user",
            "clip_norm": settings.clip_norm if settings.dp else None,
            "noise_multiplier": settings.noise_multiplier if settings.dp else None,
            "rho": loss.rho if loss else None,
            "delta": budget.total.delta if loss else None,
            "epsilon": dp.epsilon(loss, budget.total.delta) if loss else None,
        },
        "metrics": metrics(con, settings, outcome),
        "code": {"git_commit": _git("rev-parse", "HEAD"), "uv_lock_sha256": _lock_digest()},
    }


def metrics(con: duckdb.DuckDBPyConnection, settings: TrainSettings, outcome: Outcome) -> dict:
    """AUCs from the silos' score histograms, the centralised baseline, the MIA advantage."""
    silos = outcome.silos.values()
    test = np.sum([np.array(s["scores-test"]).reshape(2, -1) for s in silos], axis=0)
    members = np.sum([np.array(s["loss-members"]) for s in silos], axis=0)
    holdout = np.sum([np.array(s["loss-holdout"]) for s in silos], axis=0)
    return {
        "auc_federated": _round(task.auc_from_histogram(test)),
        "auc_centralised": _round(centralised_auc(con, settings)),
        "auc_per_client": {
            r: _round(task.auc_from_histogram(np.array(s["scores-test"]).reshape(2, -1)))
            for r, s in sorted(outcome.silos.items())
        },
        "mia_advantage": _round(task.attack_advantage(members, holdout)),
    }


def centralised_auc(con: duckdb.DuckDBPyConnection, settings: TrainSettings) -> float:
    """The baseline: the same model trained on the same consented rows pooled in the warehouse."""
    now = datetime.fromisoformat(settings.consent_at)
    cut = datetime.fromisoformat(settings.split_date).date() if settings.split_date else None
    regions = [r[0] for r in con.execute(f"select distinct region from marts.{task.MART}").fetchall()]
    parts = [task.load_partition(con, r, now, cut)[0] for r in regions]
    train = task.Split(np.vstack([p.train.x for p in parts]), np.concatenate([p.train.y for p in parts]))
    test = task.Split(np.vstack([p.test.x for p in parts]), np.concatenate([p.test.y for p in parts]))
    w = task.train_centralised(train, settings.rounds, settings.local_steps, settings.learning_rate, settings.l2)
    return task.auc(test.y, task.predict(w, test.x))


def _round(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 4)


def _data_snapshot_at(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute(f"select max(last_active_at) from marts.{task.MART}").fetchone()
    return row[0].isoformat() if row and row[0] else None


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def _lock_digest() -> str:
    lock = REPO / "uv.lock"
    return hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else "unknown"
