"""The `weir` command line. Commands parse input, call weir.*, and print."""

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from weir import pipeline
from weir.cli_common import DataDirOption, console, err_console
from weir.cli_common import data_dir as _data_dir
from weir.cli_common import fail as _fail
from weir.cli_dp import dp_app, print_release
from weir.cli_dsr import dsr_app
from weir.cli_model import model_app, print_model
from weir.cli_quality import print_quality, quality_app
from weir.cli_report import report_app
from weir.cli_warehouse import dbt_app, policy_app, publish_marts
from weir.errors import WeirError
from weir.generate import SOURCES, GenerateConfig, plan
from weir.landing import land_export, list_batches
from weir.mapping import SCHEMA_FILE, key_help
from weir.publish import empty_published
from weir.reporting import print_ledger

app = typer.Typer(
    help="Weir: privacy-preserving data platform for social-commerce behaviour data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
audit_app = typer.Typer(help="Check the hash-chained, signed audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
keys_app = typer.Typer(help="Manage pseudonymisation keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
privacy_app = typer.Typer(help="Privacy records derived from the data contracts.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
retention_app = typer.Typer(help="Enforce the contracts' retention periods.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")
app.add_typer(dbt_app, name="dbt")
app.add_typer(policy_app, name="policy")
app.command("publish")(publish_marts)
app.add_typer(dp_app, name="dp")
app.add_typer(quality_app, name="quality")
app.add_typer(dsr_app, name="dsr")
app.add_typer(report_app, name="report")
app.add_typer(model_app, name="model")
UsersOption = Annotated[int, typer.Option(min=50, max=5_000_000, help="Number of (honest) users.")]
DaysOption = Annotated[int, typer.Option(min=1, max=366, help="Days of behaviour to simulate.")]
SeedOption = Annotated[int, typer.Option(min=0, help="Random seed: same seed, same files.")]
BadRateOption = Annotated[
    float, typer.Option(min=0.0, max=0.05, help="Rate at which each bad-input class is injected (0 to 0.05).")
]
StartOption = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First day (UTC), YYYY-MM-DD.")]
DEFAULT = GenerateConfig()  # one place for the defaults of generate and demo
DEMO_BAD_RATE = 0.01  # the demo shows quarantine at work, so it injects some bad input
# The demo's week spans a quarter's end, so the DP DAG has a closed quarter (2026Q3) to release.
DEMO_START = datetime(2026, 9, 28)


def _config(users: int, days: int, seed: int, bad_rate: float, start: datetime) -> GenerateConfig:
    return GenerateConfig(users=users, days=days, seed=seed, bad_rate=bad_rate, start=start.date())


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=False
    )


def _print_batch(batch_id: str, rows: dict[str, int], injected: dict[str, dict[str, int]]) -> None:
    table = Table("source", "rows", "bad rows injected", title=f"Batch {batch_id}")
    for name, count in rows.items():
        table.add_row(name, f"{count:,}", f"{sum(injected.get(name, {}).values()):,}")
    console.print(table)


@app.command()
def generate(
    data_dir: DataDirOption = None,
    users: Annotated[
        int | None, typer.Option(min=50, max=5_000_000, help=f"Number of (honest) users [new world: {DEFAULT.users}].")
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(min=1, max=366, help=f"Days to simulate [new world: {DEFAULT.days}; --continue: 1]."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help=f"Random seed: same seed, same files [new world: {DEFAULT.seed}].")
    ] = None,
    bad_rate: BadRateOption = DEFAULT.bad_rate,
    start: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help=f"First day (UTC), YYYY-MM-DD [new world: {DEFAULT.start}; --continue: the day after the last batch].",
        ),
    ] = None,
    cont: Annotated[
        bool,
        typer.Option(
            "--continue",
            help="Land the next day(s) of the landed world (same users, follows, arms; new ids); "
            "--seed picks the world when several are landed.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Generate a synthetic social-commerce batch into the landing zone (never over a landed one).

    Example:
        weir generate --users 5000 --days 14 --seed 7 --bad-rate 0.01
        weir generate --continue            # the next day of the same world
    """
    try:
        directory = _data_dir(data_dir)
        config = plan(
            directory.landing,
            cont=cont,
            users=users,
            days=days,
            seed=seed,
            bad_rate=bad_rate,
            start=start.date() if start else None,
        )
        with _progress() as bar:
            task = bar.add_task("generating", total=len(SOURCES) + 2)
            result = pipeline.generate_stage(
                directory,
                config,
                actor="cli:generate",
                progress=lambda msg: bar.update(task, description=msg, advance=1),
            )
    except WeirError as err:
        raise _fail(err) from err
    if as_json:
        print(
            json.dumps(
                {
                    "batch_id": result.batch_id,
                    "rows": result.rows,
                    "injected": result.injected,
                    "manifest": str(result.manifest),
                }
            )
        )
        return
    _print_batch(result.batch_id, result.rows, result.injected)
    console.print(f"Landing zone: {result.landing}\nManifest (counts, planted truth): {result.manifest}")


@app.command()
def demo(
    data_dir: DataDirOption = None,
    users: UsersOption = DEFAULT.users,
    days: DaysOption = DEFAULT.days,
    seed: SeedOption = DEFAULT.seed,
    bad_rate: BadRateOption = DEMO_BAD_RATE,
    start: StartOption = DEMO_START,
) -> None:
    """Run the platform DAG through the real Airflow scheduler on generated data.

    Starts the scheduler, DAG processor and api-server in the background, triggers
    weir_platform, waits for it and the warehouse, DP and training runs its Assets start,
    then stops them; `weir airflow` (make airflow) then shows the runs and their task logs.

    Example:
        weir demo --users 2000 --days 7
    """
    from weir.demo import run_demo  # deferred: importing Airflow pieces is slow

    try:
        config = _config(users, days, seed, bad_rate, start)
        directory = _data_dir(data_dir)
        with _progress() as bar:
            task = bar.add_task("starting", total=7)  # the scheduler path's steps
            result = run_demo(directory, config, lambda msg: bar.update(task, description=msg, advance=1))
    except WeirError as err:
        raise _fail(err) from err
    manifest = json.loads(result.manifest.read_text())
    _print_batch(manifest["batch_id"], manifest["rows"], manifest["injected"])
    print_ledger(console, result.loads)
    console.print(f"[bold green]DAG run {result.run.run_id}: {result.run.state}[/]")
    for task_id, state in sorted(result.run.task_states.items()):
        console.print(f"  {task_id}: {state}")
    console.print(
        f"[bold green]DAG run {result.warehouse_run.run_id} (weir_warehouse): {result.warehouse_run.state}[/]"
    )
    dbt_tasks = [s for t, s in result.warehouse_run.task_states.items() if t.startswith("dbt.")]
    console.print(
        f"  {len(dbt_tasks)} dbt tasks (one per model, with its tests): {dbt_tasks.count('success')} succeeded"
    )
    console.print(f"[bold green]DAG run {result.dp_run.run_id} (weir_dp_releases): {result.dp_run.state}[/]")
    for released in result.releases:
        print_release(console, released)
    console.print(f"[bold green]DAG run {result.model_run.run_id} (weir_model_training): {result.model_run.state}[/]")
    print_model(result.model)
    table = Table("published mart", "rows", title="Published layer (read-only, for downstream teams)")
    for name, rows in result.published.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    for name, why in empty_published(directory).items():
        console.print(f"[yellow]empty[/] {name}: {why}", highlight=False, soft_wrap=True)
    console.print(f"Audit chain: {result.audit.entries} entries, verified")
    console.print(f"Warehouse:      {directory.warehouse}  (raw.*, ingest.quarantine, ingest.load_ledger)")
    console.print(f"Published:      {directory.root / 'published'}  (published.duckdb, parquet/)")
    console.print(f"dbt docs:       {result.docs}  (open in a browser)")
    console.print(f"Audit report:   {result.report}  (and report.pdf beside it)")
    print_quality(directory)
    console.print(f"Landing zone:   {result.landing}")
    console.print(f"Manifest:       {result.manifest}")
    console.print(f"Airflow home:   {directory.airflow_home}  (UI: make airflow, user admin)")
    console.print(f"Airflow log:    {result.airflow_log}  (scheduler, DAG processor, api-server)")
    console.print(f"Task logs:      {directory.airflow_home / 'logs'}  (in the UI: make airflow, then a run's task)")


@audit_app.command("verify")
def audit_verify(data_dir: DataDirOption = None) -> None:
    """Verify the audit log: sequence, hash links, signatures, and the witness of signed heads.

    Example:
        weir audit verify --data-dir .weir-data
    """
    try:
        directory = _data_dir(data_dir)
        evidence = (directory.warehouse, directory.audit_witness, pipeline.witness_copy(directory))
        if not any(p.exists() for p in evidence):
            raise WeirError(f"No warehouse at {directory.warehouse}; run `weir demo` or pass --data-dir.")
        report = pipeline.verify_audit(directory)
    except WeirError as err:
        raise _fail(err) from err
    if not report.ok:
        where = f"entry {report.first_bad_seq}" if report.first_bad_seq else "the log"
        err_console.print(f"[bold red]Audit verification FAILED at {where}:[/] {report.reason}", soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"Audit log verified: {report.entries} entries, chain and signatures intact.")


@app.command()
def ingest(
    target: Annotated[
        str | None,
        typer.Argument(help="Only this source (e.g. events); with --mapping, the export file or folder to load."),
    ] = None,
    batch: Annotated[str | None, typer.Option("--batch", help="Only this batch id.")] = None,
    retry: Annotated[
        str | None,
        typer.Option("--retry", help="Load this batch again although it is recorded as failed (after fixing it)."),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="Source mapping YAML for your own export (see weir/mappings/).")
    ] = None,
    release: Annotated[
        str | None,
        typer.Option("--release", help="Load this held batch (a source failed the raw gate) after review."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the held batch may load (kept in the audit log).")
    ] = None,
    mapping_help: Annotated[
        bool, typer.Option("--mapping-help", help="Print every source-mapping key with its meaning, and exit.")
    ] = False,
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the load ledger as JSON.")] = False,
) -> None:
    """Load landing batches into the warehouse under their data contracts.

    Rows that break the contract go to the quarantine with a reason; nothing is dropped.
    Loading a batch again changes nothing. With --mapping, your own CSV/JSONL/Parquet export
    is checked (known source, not empty, UTF-8, safe column names), landed with the mapping
    beside it, and loaded like any other batch. A batch that fails to load is recorded as
    failed and skipped by later runs until you fix it and pass --retry. A batch with a source
    the raw gate rejected is held out of raw whole until you review it and pass --release.

    Example:
        weir ingest events --batch 20261001-7d-s42
        weir ingest --mapping weir/mappings/taobao_userbehavior.yml UserBehavior.csv
        weir ingest --retry byo-userbehavior-1a2b3c4d5e
        weir ingest --release 20261008-1d-s42 --reason "volume drop explained: holiday (ticket 123)"
    """
    if mapping_help:
        console.print(key_help(), highlight=False, soft_wrap=True)
        console.print(f"JSON Schema: {SCHEMA_FILE}", highlight=False, soft_wrap=True)
        return
    source = target
    try:
        directory = _data_dir(data_dir)
        if release is not None:
            if target or batch or retry or mapping:
                raise WeirError("--release loads one held batch; drop the source, --batch, --retry and --mapping.")
            results = pipeline.release_stage(directory, "cli:ingest", release, reason or "")
        elif mapping is not None:
            if target is None:
                raise WeirError("--mapping needs the export to load: weir ingest --mapping MAP.yml PATH")
            source, batch = land_export(directory.landing, mapping, Path(target), keys=directory.keys)
        if release is None:
            with _progress() as bar:
                task = bar.add_task("ingesting", total=None)
                results = pipeline.ingest_stage(
                    directory,
                    "cli:ingest",
                    source,
                    batch,
                    progress=lambda msg: bar.update(task, description=msg),
                    retry=retry,
                )
    except WeirError as err:
        raise _fail(err) from err
    if as_json:
        print(json.dumps([asdict(r) for r in results]))
    else:
        print_ledger(console, results)
    nothing = [r for r in results if r.status == "loaded" and r.rows_loaded == 0]
    for r in nothing:
        top = ", ".join(f"{reason} {n:,}" for reason, n in sorted(r.reasons.items(), key=lambda x: -x[1])[:3])
        err_console.print(
            f"[red]{r.source}/{r.batch_id} loaded 0 of {r.rows_in:,} rows[/]; top reasons: {top or 'none'}. "
            "See the quarantine (ingest.quarantine) and fix the export or its mapping.",
            highlight=False,
            soft_wrap=True,
        )
    if nothing:
        raise typer.Exit(1)


@app.command("sample-export")
def sample_export(
    path: Annotated[Path, typer.Argument(help="Where to write the CSV export.", dir_okay=False)],
    users: Annotated[int, typer.Option(min=1, max=100_000, help="Number of users.")] = 200,
    days: Annotated[int, typer.Option(min=1, max=366, help="Days of behaviour.")] = 9,
    seed: SeedOption = 7,
) -> None:
    """Write a made-up export in the Taobao user-behaviour layout (no header: user_id, item_id,
    category_id, behavior_type, timestamp), to try `weir ingest --mapping` on.

    Example:
        weir sample-export /tmp/UserBehavior.csv
        weir ingest --mapping weir/mappings/taobao_userbehavior.yml /tmp/UserBehavior.csv
    """
    from weir.example_export import write_taobao_example  # deferred: numpy/polars only here

    rows = write_taobao_example(path, users=users, days=days, seed=seed)
    console.print(f"Wrote {rows:,} rows for {users:,} users to {path}")


@app.command("landing")
def landing_list(
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the listing as JSON.")] = False,
) -> None:
    """List the batches in the landing zone: source, batch id, files, bytes.

    Example:
        weir landing --data-dir .weir-data
    """
    try:
        batches = list_batches(_data_dir(data_dir).landing)
    except WeirError as err:
        raise _fail(err) from err
    if as_json:
        print(json.dumps([b._asdict() for b in batches]))
        return
    table = Table("source", "batch", "files", "bytes", title="Landing zone")
    for b in batches:
        table.add_row(b.source, b.batch_id, str(b.files), f"{b.bytes:,}")
    console.print(table)


@app.command("airflow")
def airflow_ui(data_dir: DataDirOption = None) -> None:
    """Start the Airflow UI, scheduler and DAG processor locally (Ctrl-C stops them).

    Log in as `admin`; the password is in <data-dir>/airflow/passwords.json.

    Example:
        weir airflow --data-dir .weir-data
    """
    from weir import airflow_env

    try:
        directory = _data_dir(data_dir)
        url = f"http://{airflow_env.api_host()}:{airflow_env.API_PORT}"
        passwords = directory.airflow_home / airflow_env.PASSWORDS_FILE
        console.print(f"Airflow UI on {url} — user admin, password in {passwords}")
        raise typer.Exit(airflow_env.serve(directory))
    except WeirError as err:
        raise _fail(err) from err


@keys_app.command("rotate")
def keys_rotate(data_dir: DataDirOption = None) -> None:
    """Create a new key version and re-tokenise the whole warehouse under it.

    Every token column, the vault, the consent ledger and the quarantine are rewritten in one
    transaction; the old key is then deleted, so old tokens cannot be linked any more.

    Example:
        weir keys rotate --data-dir .weir-data
    """
    try:
        result = pipeline.rotate_stage(_data_dir(data_dir), "cli:keys rotate")
    except WeirError as err:
        raise _fail(err) from err
    console.print(
        f"Rotated pseudonymisation key v{result.old_version} -> v{result.new_version}: "
        f"{result.tokens_mapped:,} tokens re-derived, {result.columns_rewritten} columns rewritten. "
        f"The old key is deleted."
    )


@privacy_app.command("ropa")
def privacy_ropa(
    out: Annotated[Path | None, typer.Option("--out", help="Also write the full record as CSV here.")] = None,
) -> None:
    """Print the record of processing activities (per data category), from the contracts.

    Example:
        weir privacy ropa --out ropa.csv
    """
    from weir.ropa import by_category, record_of_processing

    table = Table(
        "category", "sources", "treatments", "purposes", "max retention (days)", title="Record of processing activities"
    )
    table.columns[0].overflow = "fold"
    for row in by_category().iter_rows(named=True):
        table.add_row(
            row["category"], row["sources"], row["treatments"], row["purposes"], str(row["max_retention_days"])
        )
    console.print(table)
    if out is not None:
        record_of_processing().write_csv(out)
        console.print(f"Full record (one row per column): {out}")


@retention_app.command("apply")
def retention_apply(
    data_dir: DataDirOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Date to measure ages from (UTC) [default: now]."),
    ] = None,
) -> None:
    """Null columns past their retention and delete rows past all of it, per the contracts; then
    remove loaded landing batches older than their source's longest retention
    (WEIR_LANDING_RETENTION_DAYS keeps them longer; held and unloaded batches always stay).

    Example:
        weir retention apply --data-dir .weir-data
    """
    from datetime import UTC

    now = as_of.replace(tzinfo=UTC) if as_of else datetime.now(UTC)
    try:
        directory = _data_dir(data_dir)
        if not directory.warehouse.exists() and not directory.audit_witness.exists():
            raise WeirError(f"No warehouse at {directory.warehouse}; run `weir ingest` first.")
        results = pipeline.retention_stage(directory, "cli:retention apply", now)
    except WeirError as err:
        raise _fail(err) from err
    table = Table(
        "source", "rows deleted", "columns cleared", "landing batches removed", title=f"Retention as of {now:%Y-%m-%d}"
    )
    for r in results:
        cleared = ", ".join(f"{c} {n:,}" for c, n in r.columns_cleared.items() if n) or "-"
        table.add_row(r.source, f"{r.rows_deleted:,}", cleared, f"{r.landing_batches_removed:,}")
    console.print(table)
