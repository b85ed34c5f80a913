"""Security-review regressions: what quarantine keeps, batch folders and exports that are links,
an export lacking an optional column, file modes, paths with quotes."""

import os
import shutil
import stat
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.ingest._hostile import files_holding_keys, flat, run
from weir.errors import UnsafeSqlInput
from weir.sql import ident

PHONE = "13712345678"
REVIEWS_HEADER = "review_id,user_id,item_id,order_id,rating,text,created_at\n"


def _reviews_mapping(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.yml"
    path.write_text(yaml.safe_dump({"source": "reviews", "format": "csv"}))
    return path


def _varchar_values_holding(data_dir, needle: str) -> list[str]:
    """Every varchar column of every warehouse table that holds `needle` somewhere."""
    hits = []
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR' and table_name in "
            "(select table_name from information_schema.tables where table_type = 'BASE TABLE')"
        ).fetchall()
        for schema, table, column in columns:
            found = con.execute(
                f'select count(*) from "{schema}"."{table}" where contains("{column}", ?)', [needle]
            ).fetchone()[0]
            if found:
                hits.append(f"{schema}.{table}.{column}")
    return hits


def _quarantined(data_dir, reason: str) -> int:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute(
            "select count(*) from ingest.quarantine where source = 'reviews' and reason = ?", [reason]
        ).fetchone()[0]


@pytest.mark.parametrize(
    ("item", "rating", "kept"),
    [
        (PHONE, "9", ['"item_id":"<PHONE>"', '"rating":9']),  # a bad rating; the item id is a phone
        ("I1", PHONE, ['"item_id":"I1"', '"rating":"<PHONE>"']),  # a phone as the rating: a number too
    ],
    ids=["text_column", "number_column"],
)
def test_a_phone_in_a_plain_column_is_not_kept_in_quarantine(world, tmp_path: Path, item, rating, kept) -> None:
    """A row with an out-of-range rating is quarantined; a phone in any plain column (text, or a
    number) is scrubbed there."""
    export = tmp_path / "reviews.csv"
    export.write_text(
        REVIEWS_HEADER
        + f"R1,U10000001,{item},,{rating},fine,2026-10-01T00:00:00Z\n"
        + "R2,U10000001,I2,,4,fine,2026-10-01T00:00:01Z\n"
    )

    result = run(world, "ingest", "--mapping", str(_reviews_mapping(tmp_path)), str(export))

    assert result.exit_code == 0, result.output
    assert _quarantined(world, "out_of_range") == 1
    assert _varchar_values_holding(world, PHONE) == []
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        text = con.execute(
            "select sanitised_text from ingest.quarantine where source = 'reviews' and reason = 'out_of_range'"
        ).fetchone()[0]
    assert all(fragment in text for fragment in kept), text


def test_a_batch_the_gate_rejects_keeps_no_phone_in_quarantine(world, tmp_path: Path) -> None:
    export = tmp_path / "reviews.csv"
    export.write_text(
        REVIEWS_HEADER
        + f"R1,U10000001,{PHONE},,4,fine,2026-10-01T00:00:00Z\n"
        + "R2,U10000001,I2,,4,fine,2026-10-01T00:00:01Z\n"
    )

    run(world, "ingest", "--mapping", str(_reviews_mapping(tmp_path)), str(export))

    assert _quarantined(world, "gate_rejected") == 2
    assert _varchar_values_holding(world, PHONE) == []


def test_a_reviews_export_without_text_loads_and_later_runs_still_work(world, tmp_path: Path) -> None:
    export = tmp_path / "reviews.csv"
    export.write_text(
        "review_id,user_id,item_id,order_id,rating,created_at\n"
        "R1,U10000001,I1,,4,2026-10-01T00:00:00Z\nR2,U10000002,I2,,5,2026-10-01T00:00:01Z\n"
    )

    first = run(world, "ingest", "--mapping", str(_reviews_mapping(tmp_path)), str(export))
    later = run(world, "ingest")

    assert first.exit_code == 0, first.output
    assert later.exit_code == 0, later.output
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        texts = con.execute("select text from raw.reviews where item_id in ('I1', 'I2')").fetchall()
    assert texts == [(None,), (None,)]


def test_an_unexpected_error_in_one_batch_is_recorded_as_failed(world, tmp_path: Path, monkeypatch) -> None:
    """Any exception loading a batch fails that batch only; the run and later runs go on."""
    from weir.ingest import _run

    real = _run.load_batch

    def boom(con, contract, folder, *args, **kwargs):
        if folder.name.startswith("byo-"):
            raise ValueError("schema mismatch\nsecond line")
        return real(con, contract, folder, *args, **kwargs)

    export = tmp_path / "reviews.csv"
    export.write_text(REVIEWS_HEADER + "R1,U10000001,I1,,4,x,2026-10-01T00:00:00Z\n")
    monkeypatch.setattr(_run, "load_batch", boom)

    first = run(world, "ingest", "--mapping", str(_reviews_mapping(tmp_path)), str(export), "--json")
    later = run(world, "ingest")

    assert "ValueError: schema mismatch" in first.output
    assert "second line" not in first.output
    assert later.exception is None or isinstance(later.exception, SystemExit), later.output
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        status = con.execute("select status from ingest.load_ledger where batch_id like 'byo-%'").fetchall()
    assert status == [("failed",)]


@pytest.mark.parametrize("header", [True, False], ids=["header", "no_header"])
@pytest.mark.parametrize("shape", ["file_in_folder", "file", "folder"])
def test_an_export_that_links_to_a_key_is_refused(world, tmp_path: Path, shape: str, header: bool) -> None:
    (key,) = (world.keys / "hmac").glob("v*.key")
    mapping = tmp_path / "m.yml"
    mapping.write_text(
        yaml.safe_dump({"source": "reviews", "format": "csv", "header": header})
        if header
        else yaml.safe_dump({"source": "reviews", "format": "csv", "header": False, "columns": ["review_id"]})
    )
    if shape == "file_in_folder":
        export = tmp_path / "export"
        export.mkdir()
        (export / "data.csv").symlink_to(key)
    elif shape == "file":
        export = tmp_path / "data.csv"
        export.symlink_to(key)
    else:
        export = tmp_path / "export"
        export.symlink_to(key.parent, target_is_directory=True)
    before = set(world.landing.rglob("*"))

    result = run(world, "ingest", "--mapping", str(mapping), str(export))

    assert result.exit_code == 1, result.output
    assert "symbolic link" in flat(result.output) or "inside the data dir" in flat(result.output)
    assert set(world.landing.rglob("*")) == before
    assert files_holding_keys([world.landing], world, result.output) == []


def test_an_export_inside_the_data_dir_is_refused(world, tmp_path: Path) -> None:
    (key,) = (world.keys / "hmac").glob("v*.key")
    mapping = tmp_path / "m.yml"
    mapping.write_text(yaml.safe_dump({"source": "reviews", "format": "csv"}))

    result = run(world, "ingest", "--mapping", str(mapping), str(key))

    assert result.exit_code == 1
    assert "inside the data dir" in flat(result.output)
    assert files_holding_keys([world.landing], world, result.output) == []


def test_sql_identifier_errors_do_not_echo_the_name() -> None:
    secret = "k3y\x01" + "s" * 300
    for name in (secret, secret[:10]):
        with pytest.raises(UnsafeSqlInput) as err:
            ident(name)
        assert "k3y" not in str(err.value)


def test_a_batch_folder_that_is_a_link_is_a_failed_batch(world, tmp_path: Path) -> None:
    (part,) = world.landing.glob("reviews/*/part-0000.jsonl")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "part-0000.jsonl").write_bytes(part.read_bytes())
    (world.landing / "reviews" / "linked-batch").symlink_to(elsewhere, target_is_directory=True)

    result = run(world, "ingest", "--json")

    assert "linked-batch" in result.output
    assert "is a symbolic link or lies outside" in flat(result.output)
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        ledger = con.execute("select status, error from ingest.load_ledger where batch_id = 'linked-batch'").fetchall()
        loaded = con.execute("select count(*) from raw.reviews where _batch_id = 'linked-batch'").fetchone()[0]
    assert ledger[0][0] == "failed" and "symbolic link" in ledger[0][1]
    assert loaded == 0


def test_a_landed_export_is_owner_only_in_an_operator_made_data_dir(tmp_path: Path) -> None:
    from weir.config import resolve_data_dir

    root = tmp_path / "data"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    data_dir = resolve_data_dir(root)
    export = tmp_path / "reviews.csv"
    export.write_text(REVIEWS_HEADER + "R1,U10000001,I1,,4,fine,2026-10-01T00:00:00Z\n")

    result = run(data_dir, "ingest", "--mapping", str(_reviews_mapping(tmp_path)), str(export))

    assert result.exit_code == 0, result.output
    (batch,) = (data_dir.landing / "reviews").iterdir()
    modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in [data_dir.landing / "reviews", batch, *batch.iterdir()]}
    assert modes == {"reviews": 0o700, batch.name: 0o700, "part-0000.csv": 0o600, "_mapping.yml": 0o600}


def test_dp_input_parquet_is_owner_only_and_a_quote_in_the_path_is_not_sql(tmp_path: Path) -> None:
    from weir.dp import write_private_parquet

    path = tmp_path / "it's" / "dp" / ".release.2026-10.parquet"
    con = duckdb.connect()

    write_private_parquet(con.sql("select ?::bigint as n", params=[7]), path)

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert con.read_parquet(str(path)).fetchall() == [(7,)]


def test_publish_parquet_export_takes_a_path_with_a_quote(tmp_path: Path) -> None:
    from weir import publish

    folder = tmp_path / "it's" / "parquet"
    folder.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("attach ':memory:' as pub")
    con.execute("create table pub.main.daily as select 1 as n")

    publish._export_parquet(con, folder, ["daily"])

    assert con.read_parquet(str(folder / "daily.parquet")).fetchall() == [(1,)]


def test_an_export_that_is_a_hard_link_to_a_key_is_refused(world, tmp_path: Path) -> None:
    (key,) = (world.keys / "hmac").glob("v*.key")
    export = tmp_path / "data.csv"
    os.link(key, export)  # not a symlink, and its path lies outside the data dir
    before = set(world.landing.rglob("*"))

    result = run(world, "ingest", "--mapping", str(_reviews_mapping(tmp_path)), str(export))

    assert result.exit_code == 1, result.output
    assert f"Export file {export} is a file of the data dir (a hard link)" in flat(result.output)
    assert set(world.landing.rglob("*")) == before
    assert files_holding_keys([world.landing], world, result.output) == []


def test_an_export_swapped_for_a_key_after_its_check_lands_what_was_checked(world, tmp_path, monkeypatch) -> None:
    # Prepare: the file is replaced by a hard link to the key right after its content check
    # (the race between checking a path and reading it again).
    from weir.ingest import _read
    from weir.landing import land_export

    (key,) = (world.keys / "hmac").glob("v*.key")
    export = tmp_path / "reviews.csv"
    original = (REVIEWS_HEADER + "R1,U10000001,I1,,4,fine,2026-10-01T00:00:00Z\n").encode()
    export.write_bytes(original)
    checked = _read.check_export

    def check_then_swap(path, mapping, shown=None):  # type: ignore[no-untyped-def]
        data = checked(path, mapping, shown) if shown else checked(path, mapping)
        swapped = tmp_path / "swap"
        os.link(key, swapped)
        os.replace(swapped, export)
        return data

    monkeypatch.setattr(_read, "check_export", check_then_swap)

    # Execute
    source, batch_id = land_export(world.landing, _reviews_mapping(tmp_path), export)

    # Assert: the landed part is the checked content; no key reached the landing zone.
    assert export.read_bytes() == key.read_bytes()  # the swap did happen
    assert (world.landing / source / batch_id / "part-0000.csv").read_bytes() == original
    assert files_holding_keys([world.landing], world, "") == []


def test_a_source_folder_that_is_a_link_fails_its_batches_and_the_run_goes_on(world, tmp_path: Path) -> None:
    # Prepare: landing/reviews (loaded already) becomes a link to a folder elsewhere holding a new
    # batch too; a later source has a new batch of its own.
    elsewhere = tmp_path / "elsewhere"
    (world.landing / "reviews").rename(elsewhere)
    (world.landing / "reviews").symlink_to(elsewhere, target_is_directory=True)
    (loaded,) = [p.name for p in elsewhere.iterdir()]
    shutil.copytree(elsewhere / loaded, elsewhere / "new-reviews")
    (streams,) = world.landing.glob("live_streams/*")
    shutil.copytree(streams, streams.parent / "new-streams")

    # Execute
    result = run(world, "ingest", "--json")

    # Assert: both reviews batches fail with the reason; the new one is recorded failed, the
    # loaded one keeps its ledger line; the later source's batch is processed.
    assert result.exit_code == 1
    assert f"reviews/{loaded}" in flat(result.output) and "reviews/new-reviews" in flat(result.output)
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        ledger = dict(
            con.execute(
                "select batch_id, status from ingest.load_ledger where batch_id in (?, 'new-reviews', 'new-streams')",
                [loaded],
            ).fetchall()
        )
        errors = con.execute("select error from ingest.load_ledger where batch_id = 'new-reviews'").fetchone()[0]
    assert ledger["new-reviews"] == "failed" and ledger[loaded] == "loaded"
    assert "new-streams" in ledger
    assert "is a symbolic link" in errors
