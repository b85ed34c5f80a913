"""`weir model ...`: federated purchase-propensity models (train, list, card, score, retrain)."""

import json
from typing import Annotated

import typer
from rich.table import Table

from weir.cli_common import DataDirOption, console, data_dir, fail
from weir.errors import WeirError

model_app = typer.Typer(help="Federated, consent-aware user models (Flower) and their registry.", no_args_is_help=True)

DpOption = Annotated[bool, typer.Option("--dp", help="Train with user-level DP (spends the model_training budget).")]
RoundsOption = Annotated[int | None, typer.Option("--rounds", help="Federated rounds [default: pyproject.toml].")]
ModeOption = Annotated[str, typer.Option("--mode", help="Flower engine: simulation (embedded) or deployment.")]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        help="--mode deployment: seconds before the run is stopped and nothing is kept [default: 300 + 180 per round].",
    ),
]


def print_trained(result) -> None:  # noqa: ANN001
    card = result.card
    m, p = card["metrics"], card["privacy"]
    console.print(
        f"Registered {result.version}: AUC federated {m['auc_federated']}, centralised {m['auc_centralised']}, "
        f"MIA advantage {m['mia_advantage']}; "
        + (f"epsilon spent {p['epsilon']:.3f} (rho {p['rho']:.4f}, delta {p['delta']:.0e})" if p["dp"] else "no DP"),
        highlight=False,
    )
    console.print(f"Clients {card['data']['clients']}, rows {card['data']['rows_total']:,}", highlight=False)
    if result.superseded:
        console.print(f"Superseded: {', '.join(result.superseded)}", highlight=False)


def print_model(version) -> None:  # noqa: ANN001
    """One registry row with its AUCs and privacy spend (the demo's summary)."""
    if version is None:
        console.print("No model registered (see the Airflow log of weir_model_training).")
        return
    card, p = version.card, version.card["privacy"]
    m = card["metrics"]
    eps = f"epsilon spent {p['epsilon']:.3f} (rho {p['rho']:.4f}, delta {p['delta']:.0e})" if p["dp"] else "no DP"
    view = Table("version", "status", "AUC fed", "AUC central", "MIA adv", "privacy", "clients", "rows",
                 title="Model registry (ml.model_versions)")  # fmt: skip
    view.add_row(
        version.version, version.status, str(m["auc_federated"]), str(m["auc_centralised"]),
        str(m["mia_advantage"]), eps, str(card["data"]["clients"]), f"{card['data']['rows_total']:,}",
    )  # fmt: skip
    console.print(view)


def _train(directory, dp: bool, rounds, mode: str, reason: str, timeout: float | None) -> None:  # noqa: ANN001
    from federated.train import TrainRequest, train  # Flower loads only for model commands

    request = TrainRequest(dp=dp, rounds=rounds, mode=mode, reason=reason, timeout=timeout)
    try:  # deployment mode reports the stack's start and each finished round as it goes
        result = train(
            data_dir(directory), "cli:model", request, progress=lambda line: console.print(line, highlight=False)
        )
    except WeirError as err:
        raise fail(err) from err
    print_trained(result)


@model_app.command("train")
def train_cmd(
    dp: DpOption = False,
    rounds: RoundsOption = None,
    mode: ModeOption = "simulation",
    timeout: TimeoutOption = None,
    directory: DataDirOption = None,
) -> None:
    """Train the purchase-propensity model across the regional silos and register it.

    Example:
        weir model train --dp --rounds 10
        weir model train --mode deployment --rounds 3 --timeout 1200
    """
    _train(directory, dp, rounds, mode, "scheduled", timeout)


@model_app.command("retrain")
def retrain(
    reason: Annotated[str, typer.Option("--reason", help="Why: withdrawal, erasure, tampered, drift, ...")],
    dp: DpOption = False,
    rounds: RoundsOption = None,
    mode: ModeOption = "simulation",
    timeout: TimeoutOption = None,
    directory: DataDirOption = None,
) -> None:
    """Train a new version now, superseding every version trained on users who withdrew or were erased.

    Example:
        weir model retrain --reason withdrawal
    """
    _train(directory, dp, rounds, mode, reason, timeout)


@model_app.command("list")
def list_cmd(directory: DataDirOption = None) -> None:
    """List registered model versions with status and headline figures.

    Example:
        weir model list
    """
    from federated import registry
    from weir.warehouse import connect

    try:
        con = connect(data_dir(directory).warehouse)
        try:
            found = registry.versions(con)
        finally:
            con.close()
    except WeirError as err:
        raise fail(err) from err
    view = Table("version", "status", "AUC", "epsilon", "rows", "superseded reason", title="Model versions")
    for v in found:
        eps = v.card["privacy"]["epsilon"]
        view.add_row(
            v.version, v.status, str(v.card["metrics"]["auc_federated"]), "-" if eps is None else f"{eps:.3f}",
            f"{v.card['data']['rows_total']:,}", v.superseded_reason or "",
        )  # fmt: skip
    console.print(view)


@model_app.command("card")
def card_cmd(
    version: Annotated[str, typer.Argument(help="Version from `weir model list`.")], directory: DataDirOption = None
) -> None:
    """Print a version's model card as JSON.

    Example:
        weir model card purchase_propensity-20261204T120000000000
    """
    from federated import registry
    from weir.warehouse import connect

    try:
        con = connect(data_dir(directory).warehouse)
        try:
            found = registry.get(con, version)
        finally:
            con.close()
    except WeirError as err:
        raise fail(err) from err
    console.print_json(json.dumps({"version": found.version, "status": found.status, **found.card}))


@model_app.command("score")
def score_cmd(directory: DataDirOption = None) -> None:
    """Publish propensity scores (table model_scores) for users with personalization consent only.

    Example:
        weir model score
    """
    from federated.scores import score

    try:
        result = score(data_dir(directory), "cli:model")
    except WeirError as err:
        raise fail(err) from err
    console.print(f"Scored {result.rows:,} users with {result.version} into published table model_scores")
