"""What every `weir` command shares: the consoles, the --data-dir option, and error output."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from weir.config import DATA_DIR_ENV, DataDir, resolve_data_dir
from weir.errors import WeirError

console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar=DATA_DIR_ENV,
        show_envvar=True,
        help="Folder for landing files, warehouse, keys and Airflow state [default: ./.weir-data].",
    ),
]


def data_dir(value: Path | None) -> DataDir:
    return resolve_data_dir(value)


def fail(err: WeirError) -> typer.Exit:
    err_console.print(f"[bold red]Error:[/] {err}", highlight=False, soft_wrap=True)
    return typer.Exit(1)
