"""DSR tests run on copies of the shared built warehouse (tests/warehouse/conftest.py)."""

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from privacy._keyring import current_hmac_key
from privacy._pseudonymise import token
from tests.warehouse.conftest import Built, built, warehouse_copy  # noqa: F401  # shared fixtures
from weir.config import DataDir
from weir.dsr import _aggregates


@dataclass(frozen=True)
class Person:
    """A generated user: the raw values the landing users file holds, and their token now."""

    user_id: str
    name: str
    phone: str
    email: str

    def token(self, data_dir: DataDir) -> str:
        return token(current_hmac_key(data_dir.keys), "user", self.user_id)

    @property
    def raw_values(self) -> list[str]:
        return [self.user_id, self.name, self.phone, self.email]


def people(data_dir: DataDir) -> dict[str, Person]:
    found = {}
    for path in sorted((data_dir.landing / "users").glob("*/part-*.csv")):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                found[row["user_id"]] = Person(row["user_id"], row["name"], row["phone"], row["email"])
    return found


def busiest(data_dir: DataDir, rank: int = 0) -> Person:
    """The user with the most events (rank 0), with a phone and an email, so every system holds them."""
    everyone = people(data_dir)
    tokens = {p.token(data_dir): p for p in everyone.values() if p.phone and p.email}
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        ranked = con.execute(
            "select user_token from raw.events group by 1 order by count(*) desc, 1 limit 50"
        ).fetchall()
    chosen = [tokens[t] for (t,) in ranked if t in tokens]
    return chosen[rank]


@pytest.fixture(scope="session")
def aggregates_compiled(built: Built) -> None:  # noqa: F811
    """The aggregate models' SQL, compiled once (one dbt process) for every copy of the world."""
    _aggregates.prepare(built.data_dir)


@pytest.fixture
def copy_dir(aggregates_compiled: None, warehouse_copy: DataDir) -> DataDir:  # noqa: F811
    return warehouse_copy


def landing_batch(data_dir: DataDir, source: str) -> Path:
    return sorted(p for p in (data_dir.landing / source).iterdir() if p.is_dir())[0]
