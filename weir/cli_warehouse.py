"""`weir dbt ...`, `weir policy check` and `weir publish`: build, check and publish the warehouse."""

from typing import Annotated

import typer
from rich.table import Table

from weir import pipeline
from weir.cli_common import DataDirOption, console, err_console
from weir.cli_common import data_dir as _data_dir
from weir.cli_common import fail as _fail
from weir.errors import WeirError

dbt_app = typer.Typer(help="Build the dbt warehouse (staging, intermediate, marts).", no_args_is_help=True)
policy_app = typer.Typer(help="Policy as code: which data categories each purpose may use.", no_args_is_help=True)


@dbt_app.command("build")
def dbt_build(
    data_dir: DataDirOption = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Rebuild incremental models from all of raw.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="Do not stream dbt's progress lines.")] = False,
) -> None:
    """Check the policy, then `dbt build` the warehouse (models, data tests, and unit tests
    when the project's code changed since they last passed, or with --full-refresh).

    dbt's target/ and logs/ go to <data dir>/dbt/. Exits 1 when a model or test fails;
    `weir publish` then holds back the affected marts.

    Example:
        weir dbt build --data-dir .weir-data
    """
    try:
        directory = _data_dir(data_dir)
        if not directory.warehouse.exists():
            raise WeirError(f"No warehouse at {directory.warehouse}; run `weir ingest` first.")
        run = pipeline.warehouse_stage(
            directory, "cli:dbt build", full_refresh, progress=None if quiet else err_console.print
        )
    except WeirError as err:
        raise _fail(err) from err
    failed = run.failed()
    console.print(f"dbt build: {len(run.results)} nodes, {len(failed)} failed. Log: {run.log}")
    for r in failed:
        console.print(f"  [red]{r.status}[/] {r.unique_id}: {r.message}", highlight=False)
    if failed or not run.ok:
        raise typer.Exit(1)


@dbt_app.command("parse")
def dbt_parse(data_dir: DataDirOption = None) -> None:
    """Write the dbt manifest (the Airflow warehouse DAG renders its tasks from it).

    Example:
        weir dbt parse --data-dir .weir-data
    """
    from weir import dbt

    try:
        path = dbt.parse(_data_dir(data_dir), force=True)
    except WeirError as err:
        raise _fail(err) from err
    console.print(f"dbt manifest: {path}")


@dbt_app.command("docs")
def dbt_docs(data_dir: DataDirOption = None) -> None:
    """Generate the dbt docs site (one static HTML file) and print its path.

    Example:
        weir dbt docs --data-dir .weir-data
    """
    from weir import dbt

    try:
        path = dbt.docs(_data_dir(data_dir))
    except WeirError as err:
        raise _fail(err) from err
    console.print(f"dbt docs: {path}")


@dbt_app.command("codegen")
def dbt_codegen(
    check: Annotated[bool, typer.Option("--check", help="Only report files that differ; exit 1 if any.")] = False,
) -> None:
    """Write the dbt sources and staging layer from the data contracts (weir/contracts/).

    Example:
        weir dbt codegen
    """
    from weir import dbt_codegen as codegen

    if check:
        stale = [p for p, text in codegen.expected_files().items() if not p.exists() or p.read_text() != text]
        for path in stale:
            console.print(f"out of date: {path}")
        raise typer.Exit(1 if stale else 0)
    changed = codegen.write()
    console.print(f"{len(changed)} file(s) written." if changed else "Staging layer already matches the contracts.")


@policy_app.command("check")
def policy_check(data_dir: DataDirOption = None) -> None:
    """Check every mart's columns against weir/policy.yml (exit 1 on any violation).

    Example:
        weir policy check
    """
    from weir import dbt, policy

    try:
        violations = policy.check_manifest_file(dbt.parse(_data_dir(data_dir)))
    except WeirError as err:
        raise _fail(err) from err
    for v in violations:
        console.print(f"[red]violation[/] {v}", highlight=False)
    if violations:
        raise typer.Exit(1)
    console.print("Policy check passed: every mart column is allowed for its purpose.")


def publish_marts(data_dir: DataDirOption = None) -> None:
    """Copy the marts that passed their checks into the read-only published layer.

    Writes <data dir>/published/published.duckdb and published/parquet/<mart>.parquet.
    A mart whose model or tests failed keeps its last good version; exits 1 if any was held back.

    Example:
        weir publish --data-dir .weir-data
    """
    try:
        result = pipeline.publish_stage(_data_dir(data_dir), "cli:publish")
    except WeirError as err:
        raise _fail(err) from err
    table = Table("mart", "rows", title=f"Published to {result.path}")
    for name, rows in result.published.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    for mart, why in result.empty.items():
        console.print(f"[yellow]empty[/] {mart}: {why}", highlight=False, soft_wrap=True)
    for b in result.blocked:
        err_console.print(f"[red]held back[/] {b.mart}: {b.reason}", highlight=False, soft_wrap=True)
    if result.blocked:
        raise typer.Exit(1)
