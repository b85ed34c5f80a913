"""One generated batch with every bad-input class, ingested once for the module tests."""

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
