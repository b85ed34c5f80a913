"""The file scan finds every value in any file under the data dir, text or not, in any chunk."""

from pathlib import Path

import pytest

from weir.dsr import _files

TOKEN = "tk1_" + "ab" * 16


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "dbt" / "target").mkdir(parents=True)
    (tmp_path / "dbt" / "target" / "run_results.json").write_text(f'{{"rows": ["{TOKEN}"]}}')
    (tmp_path / "quality").mkdir()
    (tmp_path / "quality" / "docs.html").write_text("<td>wang.li88@qq.com</td>", encoding="utf-8")
    (tmp_path / "quality" / "clean.html").write_text("<td>nobody</td>")
    (tmp_path / "blob.bin").write_bytes(b"\xff\xfe\x00" + b"13812345678" + b"\x80\x81")
    for skipped in ("landing", "keys"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "a.csv").write_text(TOKEN)
    (tmp_path / "warehouse.duckdb").write_text(TOKEN)  # checked through SQL, not as a file
    return tmp_path


def test_every_file_holding_a_value_is_found_with_its_owners(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_files, "CHUNK_BYTES", 16)  # every file its own chunk
    needles = {TOKEN: "dsr-a", "wang.li88@qq.com": "dsr-b", "13812345678": "dsr-a", "8123": "dsr-c"}

    found = {str(p.relative_to(root)): owners for p, owners in _files.holding(root, needles)}

    assert found == {
        "dbt/target/run_results.json": {"dsr-a"},
        "quality/docs.html": {"dsr-b"},
        "blob.bin": {"dsr-a", "dsr-c"},  # bytes that are not UTF-8 around it; overlapping values
    }


def test_no_values_finds_no_file(root: Path) -> None:
    assert list(_files.holding(root, {})) == []
