"""The report tests share one copy of the built warehouse (tests/warehouse/conftest.py), with a DP
release and an overdue data-subject request added, and its report written once."""

import csv
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.warehouse.conftest import Built, built  # noqa: F401  # shared fixtures
from weir import pipeline
from weir.config import DataDir, resolve_data_dir
from weir.dsr import submit_request
from weir.report import Period, Written, write_report

# Through tomorrow: a test run that crosses midnight UTC (collected before it, the world built
# after) keeps the world's rows inside the period.
PERIOD = Period(date(2020, 1, 1), datetime.now(UTC).date() + timedelta(days=1))
RELEASES = ["funnel_by_channel"]


@dataclass(frozen=True)
class World:
    data_dir: DataDir
    written: Written


def copy_world(source: DataDir, target: Path) -> DataDir:
    """A private copy of a data dir (published files made writable, as tests plant findings in them)."""
    shutil.copytree(source.root, target, symlinks=True)
    for path in (target / "published").rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(0o644)
    return resolve_data_dir(target)


def first_user(data_dir: DataDir) -> str:
    path = sorted((data_dir.landing / "users").glob("*/part-*.csv"))[0]
    with path.open(encoding="utf-8") as handle:
        return next(csv.DictReader(handle))["user_id"]


@pytest.fixture(scope="session")
def world(built: Built, tmp_path_factory: pytest.TempPathFactory) -> World:  # noqa: F811
    data_dir = copy_world(built.data_dir, tmp_path_factory.mktemp("report") / "world")
    pipeline.dp_release_stage(data_dir, "test", RELEASES, provisional=True)
    # received 40 days ago and never run: past its 15-day deadline, so listed as overdue
    submit_request(data_dir, "access", first_user(data_dir), "test", now=datetime.now(UTC) - timedelta(days=40))
    return World(data_dir, write_report(data_dir, PERIOD))
