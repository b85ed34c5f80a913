"""`weir sample-export`: the README's walk-through file, made on the spot."""

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from weir.cli import app
from weir.config import resolve_data_dir
from weir.ingest import ingest
from weir.landing import land_export

MAPPING = Path(__file__).parents[2] / "weir" / "mappings" / "taobao_userbehavior.yml"


def test_sample_export_is_deterministic_in_the_taobao_layout_and_loads_whole(tmp_path: Path) -> None:
    runner = CliRunner()
    first, second = tmp_path / "a" / "UserBehavior.csv", tmp_path / "b.csv"
    for path in (first, second):
        result = runner.invoke(app, ["sample-export", str(path), "--users", "30", "--days", "3"])
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == second.read_bytes()  # same seed, same bytes

    frame = pl.read_csv(first, has_header=False, new_columns=["user", "item", "category", "behaviour", "ts"])
    assert frame["user"].n_unique() == 30
    assert set(frame["behaviour"].unique()) <= {"pv", "cart", "fav", "buy"}
    assert frame["ts"].max() - frame["ts"].min() < 3 * 86_400
    assert frame.sort("user", "ts", maintain_order=True).equals(frame)  # users contiguous, in time order

    data_dir = resolve_data_dir(tmp_path / "weir")
    source, batch = land_export(data_dir.landing, MAPPING, first)
    loaded = ingest(data_dir, source, batch)[0]
    assert (loaded.rows_in, loaded.rows_loaded, loaded.rows_quarantined) == (frame.height, frame.height, 0)
