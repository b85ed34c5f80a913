"""One generated batch with every bad-input class, ingested once for the module tests."""

import shutil

import pytest

from weir.config import resolve_data_dir
from weir.generate import GenerateConfig, generate
from weir.ingest import ingest


@pytest.fixture(scope="package")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("ingest"))
    generated = generate(GenerateConfig(users=500, days=2, seed=21, bad_rate=0.02), data_dir.landing)
    results = ingest(data_dir)
    return data_dir, generated, results


@pytest.fixture(scope="package")
def world_template(tmp_path_factory: pytest.TempPathFactory):
    """A tiny generated world, ingested once: the warehouse a hostile export is aimed at."""
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("world") / "data")
    generate(GenerateConfig(users=60, days=1, seed=7, bad_rate=0.0), data_dir.landing)
    ingest(data_dir)
    return data_dir


@pytest.fixture
def world(world_template, tmp_path):
    """A fresh copy of the ingested world for one test (its own warehouse, keys, landing)."""
    root = tmp_path / "data"
    shutil.copytree(world_template.root, root)
    return resolve_data_dir(root)
