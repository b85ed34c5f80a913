"""Shared fixtures: one small generated batch with every bad-input class injected."""

from pathlib import Path

import pytest

import weir  # noqa: F401  # first: switches telemetry off (weir.TELEMETRY_OFF) before GX, Cosmos, Flower load
from weir.generate import GenerateConfig, GenerateResult, generate

SMALL = GenerateConfig(users=400, days=3, seed=11, bad_rate=0.02)


@pytest.fixture(scope="session")
def small_batch(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate(SMALL, tmp_path_factory.mktemp("landing"))


@pytest.fixture(scope="session")
def batch_dir(small_batch: GenerateResult) -> Path:
    return small_batch.landing


@pytest.fixture(scope="session")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A batch with no injected bad input, for checks on the behaviour model itself."""
    config = GenerateConfig(users=800, days=4, seed=5, bad_rate=0.0)
    return generate(config, tmp_path_factory.mktemp("clean")).landing
