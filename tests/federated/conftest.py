"""One small generated warehouse for the federated tests (two weeks, so the label window has a
history before it). Tests that change it work on a copy."""

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

import weir  # noqa: F401  # first: telemetry off before Flower loads
from weir import pipeline
from weir.config import DataDir, resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest

WORLD = GenerateConfig(users=600, days=14, seed=7, bad_rate=0.0)


@pytest.fixture(scope="session")
def fed_world(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("fed"))
    generate(WORLD, data_dir.landing)
    ingest(data_dir)
    pipeline.warehouse_stage(data_dir, "test")
    return data_dir


def copy_world(source: DataDir, target: Path) -> DataDir:
    """A private copy of the data dir (warehouse, keys, audit witness), without the landing files."""
    shutil.copytree(source.root, target, ignore=shutil.ignore_patterns("landing", "flwr", "published"))
    return resolve_data_dir(target)


def withdraw(data_dir: DataDir, tokens: list[str], purpose: str = "model_training") -> None:
    """The users withdraw `purpose` a minute ago (the rows a consent batch would commit)."""
    at = datetime.now(UTC) - timedelta(minutes=1)
    with duckdb.connect(str(data_dir.warehouse)) as con:
        for token in tokens:
            con.execute(
                "insert into consent.ledger values (?, ?, ?, 'withdrawn', ?, 'v1', 'settings_page', 'withdrawal')",
                [f"C-w-{purpose}-{token}", token, purpose, at],
            )
