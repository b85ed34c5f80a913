"""One generated, ingested and dbt-built warehouse shared by the warehouse tests.

Tests that change the warehouse work on a copy (`warehouse_copy`), so order never matters.
"""

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from privacy._keyring import current_hmac_key
from privacy._pseudonymise import token
from weir import pipeline
from weir.config import DataDir, resolve_data_dir
from weir.dbt import DbtRun
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest
from weir.publish import PublishResult

CLEAN = GenerateConfig(users=1500, days=7, seed=3, bad_rate=0.0)


@dataclass(frozen=True)
class Built:
    data_dir: DataDir
    run: DbtRun
    published: PublishResult
    truth: dict

    def user_token(self, user_id: str) -> str:
        return token(current_hmac_key(self.data_dir.keys), "user", user_id)


def never_consented(con: duckdb.DuckDBPyConnection, purpose: str = "analytics") -> str:
    """A user token that has never granted `purpose` (to plant consent violations)."""
    return con.execute(
        "select user_token from staging.stg_users where user_token not in (select user_token "
        "from marts.dim_consent where purpose = ? and status = 'granted') order by 1 limit 1",
        [purpose],
    ).fetchone()[0]


def withdraw(data_dir: DataDir, user_token: str, purpose: str = "analytics") -> None:
    """The user withdraws `purpose` a minute ago, loaded now: the rows a consent batch's load
    commits to `raw.consent` and the consent ledger (a one-row batch would trip the raw gate's
    volume check, which is not what these tests are about)."""
    at = datetime.now(UTC) - timedelta(minutes=1)
    consent_id = f"C-withdrawal-{purpose}-{user_token}"
    with duckdb.connect(str(data_dir.warehouse)) as con:
        con.execute(
            "insert into raw.consent values (?, ?, ?, 'withdrawn', ?, 'v1', 'settings_page', 'withdrawal', "
            "'part-0000.jsonl', 1, now())",
            [consent_id, user_token, purpose, at],
        )
        con.execute(
            "insert into consent.ledger values (?, ?, ?, 'withdrawn', ?, 'v1', 'settings_page', 'withdrawal')",
            [consent_id, user_token, purpose, at],
        )


def build(data_dir: DataDir, full_refresh: bool = False) -> DbtRun:
    return pipeline.warehouse_stage(data_dir, "test", full_refresh=full_refresh)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("warehouse"))
    result = generate(CLEAN, data_dir.landing)
    ingest(data_dir)
    run = build(data_dir)
    published = pipeline.publish_stage(data_dir, "test")
    truth = json.loads(Path(result.manifest).read_text())["truth"]
    return Built(data_dir, run, published, truth)


@pytest.fixture
def warehouse_copy(built: Built, tmp_path: Path) -> DataDir:
    """A private copy of the built data dir (warehouse, keys, landing, published, dbt state)."""
    root = tmp_path / "copy"
    shutil.copytree(built.data_dir.root, root, symlinks=True)
    for path in (root / "published").rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(0o644)
    return resolve_data_dir(root)
