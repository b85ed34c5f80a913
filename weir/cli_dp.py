"""`weir dp ...`: differentially private releases and the privacy-budget ledger."""

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from privacy._dp_spec import load_catalog
from weir import dp, pipeline
from weir.cli_common import DataDirOption, console, data_dir, fail
from weir.errors import WeirError

dp_app = typer.Typer(
    help="Differentially private releases (OpenDP) and the privacy-budget ledger.", no_args_is_help=True
)
SHOWN_ROWS = 12


def print_release(console: Console, released: dp.Released) -> None:
    """The released table with its 95% intervals, then what is left of the budget."""
    table = released.table
    measures = [c[: -len("_ci_low")] for c in table.columns if c.endswith("_ci_low")]
    keys = [c for c in table.columns if not any(c.startswith(m) for m in measures)]
    status = "stored release, nothing spent" if released.reused else "new release"
    status += ", provisional: the period is still open" if released.provisional else ""
    view = Table(*keys, *(f"{m} [95% CI]" for m in measures), title=f"dp_{released.name} {released.period} ({status})")
    for row in table.head(SHOWN_ROWS).iter_rows(named=True):
        view.add_row(*(str(row[k]) for k in keys), *(_cell(row, m) for m in measures))
    console.print(view)
    if table.height > SHOWN_ROWS:
        console.print(f"  … {table.height - SHOWN_ROWS:,} more rows in the published table dp_{released.name}")
    print_budget(console, released.budget)


def _cell(row: dict, measure: str) -> str:
    value, low, high = row[measure], row[f"{measure}_ci_low"], row[f"{measure}_ci_high"]
    if value is None:
        return "suppressed" if f"{measure}_ci_low" in row and row[f"{measure}_ci_low"] is not None else "n/a"
    interval = f" [{low:,.0f}, {high:,.0f}]" if low is not None and high is not None else " [n/a]"
    return f"{value:,.0f}{interval}{' (low accuracy)' if row[f'{measure}_low_accuracy'] else ''}"


def print_budget(console: Console, state) -> None:
    left = state.remaining
    console.print(
        f"Budget {state.dataset} {state.period}: spent rho={state.spent.rho:.3f} of {state.total.rho:.3f} "
        f"(remaining {left.rho:.3f}); delta spent {state.spent.delta:.1e} of {state.total.delta:.1e}; "
        f"spent rho is (epsilon={state.epsilon_spent:.2f}, delta={state.total.delta:.0e})-DP",
        highlight=False,
    )


@dp_app.command("release")
def release(
    names: Annotated[list[str] | None, typer.Argument(help="Release names from privacy/releases.yml.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Run every release in privacy/releases.yml.")] = False,
    period: Annotated[str | None, typer.Option(help="Quarter to release, e.g. 2026Q4 [default: latest].")] = None,
    re_release: Annotated[
        bool, typer.Option("--re-release", help="Spend budget again even if this spec was already released.")
    ] = False,
    provisional: Annotated[
        bool,
        typer.Option("--provisional", help="Release a period still open (it spends budget; labelled provisional)."),
    ] = False,
    closed: Annotated[
        bool, typer.Option("--closed", help="Release every period that closed since the last final release.")
    ] = False,
    directory: DataDirOption = None,
) -> None:
    """Release DP aggregates: spends budget once, then returns the stored release on re-runs.

    A period is final once the data has moved past its end; an open one needs --provisional.

    Example:
        weir dp release daily_active_users --period 2026Q3
        weir dp release --all --closed
    """
    try:
        chosen = sorted(load_catalog().releases) if all_ else list(names or [])
        if not chosen:
            raise WeirError("Name a release (see `weir dp list`) or pass --all.")
        if closed and (period or provisional or re_release):
            raise WeirError("--closed picks the periods itself; drop --period, --provisional and --re-release.")
        where = data_dir(directory)
        if closed:
            results = [r for name in chosen for r in pipeline.dp_release_closed_stage(where, "cli:dp", name)]
        else:
            results = pipeline.dp_release_stage(where, "cli:dp", chosen, period, re_release, provisional)
    except WeirError as err:
        raise fail(err) from err
    for released in results:
        print_release(console, released)


@dp_app.command("budget")
def budget(directory: DataDirOption = None) -> None:
    """Show the privacy budget per dataset and quarter: total, spent, remaining, and as (epsilon, delta).

    Example:
        weir dp budget
    """
    try:
        states = dp.budgets(data_dir(directory))
    except WeirError as err:
        raise fail(err) from err
    for state in states:
        print_budget(console, state)


@dp_app.command("list")
def list_releases(directory: DataDirOption = None) -> None:
    """List the releases declared in privacy/releases.yml and the ones already released.

    Example:
        weir dp list
    """
    try:
        catalog = load_catalog()
        done = dp.catalogue(data_dir(directory))
    except WeirError as err:
        raise fail(err) from err
    declared = Table("release", "input", "keys", "loss", "description", title="Declared (privacy/releases.yml)")
    for spec in catalog.releases.values():
        loss = f"rho={spec.loss.rho}" + (f", delta={spec.loss.delta:.0e}" if spec.loss.delta else "")
        declared.add_row(spec.name, spec.input, ", ".join(k.column for k in spec.keys), loss, spec.description)
    console.print(declared)
    made = Table("release", "period", "rho", "epsilon", "rows", "low-accuracy rows", "released at", title="Released")
    for row in done:
        made.add_row(
            row["release_name"],
            row["period"] + (" (provisional)" if row["provisional"] else ""),
            f"{row['rho']:.3f}",
            f"{row['epsilon']:.2f}",
            str(row["row_count"]),
            str(row["low_accuracy_rows"]),
            row["released_at"].isoformat(timespec="seconds"),
        )
    console.print(made)
