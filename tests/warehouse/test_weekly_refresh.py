"""The weekly full refresh: a whole-project build turns itself into `--full-refresh` when the
last full one in the data dir is $WEIR_FULL_REFRESH_DAYS old; bad settings fail in one line."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weir import dbt
from weir.config import DataDir
from weir.errors import ConfigError

from .conftest import build

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _data_dir(tmp_path: Path, last: str | None) -> DataDir:
    data_dir = DataDir(tmp_path)
    dbt.dbt_dir(data_dir).mkdir(parents=True, exist_ok=True)
    if last is not None:
        dbt.full_refreshed_marker(data_dir).write_text(last)
    return data_dir


@settings(max_examples=40, deadline=None)
@given(age_hours=st.integers(0, 24 * 30), days=st.integers(0, 14))
def test_due_once_the_last_full_refresh_is_old_enough(
    tmp_path_factory: pytest.TempPathFactory, age_hours: int, days: int
) -> None:
    data_dir = _data_dir(tmp_path_factory.mktemp("d"), (NOW - timedelta(hours=age_hours)).isoformat())
    with pytest.MonkeyPatch.context() as env:  # per example: Hypothesis reruns the body
        env.setenv(dbt.FULL_REFRESH_DAYS_ENV, str(days))
        assert dbt.full_refresh_due(data_dir, NOW) == (days > 0 and age_hours >= 24 * days)


def test_no_marker_is_not_due_and_an_unreadable_one_is(tmp_path: Path) -> None:
    assert not dbt.full_refresh_due(_data_dir(tmp_path / "first", None), NOW)  # a first build is a full one
    assert dbt.full_refresh_due(_data_dir(tmp_path / "garbled", "last tuesday"), NOW)


@pytest.mark.parametrize("value", ["weekly", "-1", "1.5"])
def test_a_bad_setting_fails_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(dbt.FULL_REFRESH_DAYS_ENV, value)
    with pytest.raises(ConfigError, match=f"WEIR_FULL_REFRESH_DAYS='{value}'") as raised:
        dbt.full_refresh_due(_data_dir(tmp_path, NOW.isoformat()), NOW)
    assert "\n" not in str(raised.value)


def test_a_build_a_week_after_the_last_full_refresh_is_a_full_refresh(warehouse_copy, monkeypatch) -> None:
    monkeypatch.delenv(dbt.FULL_REFRESH_DAYS_ENV, raising=False)
    marker = dbt.full_refreshed_marker(warehouse_copy)
    assert marker.exists(), "the first build counts as a full one"
    marker.write_text((datetime.now(UTC) - timedelta(days=7, minutes=1)).isoformat())

    run = build(warehouse_copy)

    assert run.ok, run.failed()
    assert "--full-refresh" in run.command.split()
    assert not dbt.full_refresh_due(warehouse_copy), "the marker moved to this build"
