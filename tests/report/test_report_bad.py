"""Bad input: the report is still written, says what failed on its first page, never a traceback."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pypdfium2
import pytest
from typer.testing import CliRunner

from federated import registry
from weir.cli import app
from weir.config import DataDir, resolve_data_dir
from weir.pipeline import witness_copy
from weir.publish import published_db, published_dir
from weir.report import Period, Written, write_report
from weir.sql import ident

from .conftest import PERIOD, World, copy_world


@pytest.fixture
def copy(world: World, tmp_path: Path) -> DataDir:
    return copy_world(world.data_dir, tmp_path / "copy")


def first_page(written: Written) -> str:
    return pypdfium2.PdfDocument(str(written.pdf))[0].get_textpage().get_text_range().replace("\r\n", "\n")


def statuses(written: Written) -> dict[str, str]:
    return {s.key: s.status for s in [written.report.chain, *written.report.sections]}


def change(data_dir: DataDir, sql: str, path: Path | None = None) -> None:
    with duckdb.connect(str(path or data_dir.warehouse)) as con:
        con.execute(sql)


def test_missing_ledger_table_fails_its_section_only(copy: DataDir) -> None:
    change(copy, "drop view consent.intervals; drop table consent.ledger")

    written = write_report(copy, PERIOD)

    consent = next(s for s in written.report.sections if s.key == "consent")
    assert (consent.status, consent.summary) == (
        "failed",
        "ReportInputMissing: table consent.ledger is missing from the warehouse (its stage has not run here)",
    )
    assert statuses(written)["budget"] == "ok" and written.report.status == "failed"
    assert "consent.ledger is missing" in first_page(written)
    assert "consent.ledger is missing" in written.html.read_text()


def test_empty_period_writes_zeros(world: World, tmp_path: Path) -> None:
    data_dir = copy_world(world.data_dir, tmp_path / "copy")

    written = write_report(data_dir, Period(date(2001, 1, 1), date(2001, 1, 7)))

    consent = next(s for s in written.report.sections if s.key == "consent")
    assert consent.summary == (
        "0 users processed without a basis; 0 grants, 0 withdrawals in the period (no consent events in the period)"
    )
    assert statuses(written)["consent"] == "attention" and statuses(written)["chain"] == "ok"
    assert all(not t.rows for s in written.report.sections if s.key in ("dsr", "quality") for t in s.tables[:2])
    assert "no data in the period" not in written.html.read_text()  # charts are images: the text is inside them


def test_broken_audit_chain_fails_the_first_line(copy: DataDir) -> None:
    change(copy, "update audit.log set actor = 'mallory' where seq = 2")

    written = write_report(copy, PERIOD)

    assert written.report.chain.status == "failed"
    assert written.report.chain.summary.startswith("verification FAILED at entry 2: ")
    assert "verification FAILED at entry 2" in first_page(written)


@pytest.mark.parametrize("published_copy", [True, False])
def test_missing_witness_fails_the_chain(copy: DataDir, published_copy: bool) -> None:
    copy.audit_witness.unlink()
    if not published_copy:
        witness_copy(copy).unlink()

    written = write_report(copy, PERIOD)

    expected = (
        "verification FAILED: the witness has 0 heads but its copy"
        if published_copy
        else f"verification FAILED: witness file {copy.audit_witness} is missing but the log has"
    )
    assert written.report.chain.status == "failed"
    assert written.report.chain.summary.startswith(expected)


def test_empty_data_dir_still_writes_a_failed_report(tmp_path: Path) -> None:
    data_dir = resolve_data_dir(tmp_path / "nothing")
    data_dir.root.mkdir()

    written = write_report(data_dir, PERIOD)

    assert set(statuses(written).values()) == {"failed"}
    assert written.report.chain.summary == "no audit log here: nothing is evidenced"
    assert f"no warehouse at {data_dir.warehouse}" in written.report.sections[0].summary
    assert written.pdf.read_bytes().startswith(b"%PDF")


def test_unreadable_table_fails_with_the_reason(copy: DataDir, tmp_path: Path) -> None:
    parquet = tmp_path / "runs.parquet"
    change(copy, f"copy quality.runs to '{parquet}' (format parquet)")
    change(copy, f"drop table quality.runs; create view quality.runs as select * from read_parquet('{parquet}')")
    parquet.unlink()  # the view's file is gone: reading the table fails

    written = write_report(copy, PERIOD)

    quality = next(s for s in written.report.sections if s.key == "quality")
    assert quality.status == "failed" and quality.summary.startswith("IOException: ")
    assert "runs.parquet" in quality.summary
    assert statuses(written)["consent"] == "ok"


def plant(data_dir: DataDir, pick: str, value: str) -> tuple[str, str]:
    """Set `value` in the first row of the published (table, column) the `pick` query names first."""
    pub = published_db(data_dir)
    with duckdb.connect(str(pub), read_only=True) as con:
        table, second = con.execute(pick).fetchone()
    column = "user_token" if value.startswith("tk1_") else second
    change(data_dir, f"update {table} set {column} = '{value}' where rowid = (select min(rowid) from {table})", pub)
    return table, second


def test_user_without_consent_in_a_published_table_is_listed(copy: DataDir) -> None:
    mart, purpose = plant(
        copy,
        "select mart, purpose from published_marts where purpose = 'analytics' and mart in "
        "(select table_name from information_schema.columns where column_name = 'user_token') order by 1 limit 1",
        f"tk1_{'0' * 32}",  # a well-formed token of nobody who consented
    )

    written = write_report(copy, PERIOD)

    consent = next(s for s in written.report.sections if s.key == "consent")
    assert consent.status == "failed"
    assert next(t for t in consent.tables if t.title.startswith("Users processed")).rows == [(mart, purpose, 1)]


def test_pii_in_a_published_table_is_found(copy: DataDir) -> None:
    table, column = plant(
        copy,
        "select table_name, column_name from information_schema.columns where data_type = 'VARCHAR' "
        "and table_name <> 'published_marts' and column_name not like '%token%' order by 1, 2 limit 1",
        "call 13812345678",
    )

    written = write_report(copy, PERIOD)

    pii = next(s for s in written.report.sections if s.key == "pii")
    assert pii.status == "failed"
    assert (table, column, "phone", 1) in next(t for t in pii.tables if t.title.startswith("PII detector")).rows


def test_cli_writes_the_report_and_prints_its_paths(copy: DataDir) -> None:
    result = CliRunner().invoke(app, ["report", "audit", "--data-dir", str(copy.root), "--from", "2020-01-01"])

    assert result.exit_code == 0, result.output
    assert f"{copy.root}/reports/report.html" in result.output.replace("\n", "")
    assert (copy.root / "reports" / "report.pdf").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01"], "'2026-13-01' is not a date; use YYYY-MM-DD"),
        (["--from", "2026-02-01", "--to", "2026-01-01"], "--from 2026-02-01 is after --to 2026-01-01"),
    ],
)
def test_cli_rejects_bad_dates(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["report", "audit", "--data-dir", str(tmp_path), *args])

    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "reports").exists()


def test_row_token_with_a_card_shaped_digit_run_is_not_pii(copy: DataDir) -> None:
    plant(  # a row-bound pseudonym (rt1_ + 32 hex) whose digits pass the Luhn card check
        copy,
        "select table_name, column_name from information_schema.columns where data_type = 'VARCHAR' "
        "and table_name <> 'published_marts' and column_name not like '%token%' order by 1, 2 limit 1",
        "rt1_4111111111111111abcdefabcdefabcd",
    )

    pii = next(s for s in write_report(copy, PERIOD).report.sections if s.key == "pii")

    assert next(t for t in pii.tables if t.title.startswith("PII detector")).rows == []


def test_landing_identifier_in_a_published_copy_is_linkable(copy: DataDir) -> None:
    # a raw order id from the landing files (the first one sorted, as the publish gate's test uses),
    # put into the published copy after the gate passed the warehouse mart without it
    parts = sorted((copy.landing / "orders").glob("*/part-*.csv"))
    ids = pl.concat([pl.read_csv(p, infer_schema=False).select("order_id") for p in parts])["order_id"]
    order = sorted(ids.drop_nulls())[0]
    table, column = plant(
        copy,
        "select table_name, column_name from information_schema.columns where data_type = 'VARCHAR' "
        "and table_name in (select mart from published_marts) and column_name not like '%token%' "
        "order by 1, 2 limit 1",
        order,
    )

    written = write_report(copy, PERIOD)

    pii = next(s for s in written.report.sections if s.key == "pii")
    assert pii.status == "failed" and "1 linkable value(s)" in pii.summary
    linked = next(t for t in pii.tables if t.title.startswith("Published values that are landing")).rows
    assert (table, column, "order", 1) in linked
    assert order not in written.html.read_text()  # the finding names where, never the identifier


def test_release_without_its_budget_spend_breaks_the_chain(copy: DataDir) -> None:
    change(copy, "delete from dp.budget_spends where spend_id in (select spend_id from dp.releases)")

    written = write_report(copy, PERIOD)

    budget = next(s for s in written.report.sections if s.key == "budget")
    releases = next(t for t in budget.tables if t.title.startswith("Releases")).rows
    assert budget.status == "failed" and f"{len(releases)} without a matching spend and audit" in budget.summary
    assert all(r[10] is not None and r[11] is None and r[12] is not None for r in releases) and releases


def test_unreadable_published_layer_fails_the_pii_scan(copy: DataDir) -> None:
    target = published_db(copy).resolve()
    target.write_bytes(b"not a DuckDB file")

    written = write_report(copy, PERIOD)

    pii = next(s for s in written.report.sections if s.key == "pii")
    assert pii.status == "failed"
    assert pii.summary.startswith(f"published layer {published_db(copy)} cannot be read: ")
    assert statuses(written)["budget"] == "ok"


def test_before_the_first_publish_the_scan_has_nothing_to_read(copy: DataDir) -> None:
    published_db(copy).unlink()

    written = write_report(copy, PERIOD)

    pii = next(s for s in written.report.sections if s.key == "pii")
    assert pii.status == "ok"
    assert pii.summary.startswith("0 published table(s), 0 text column(s) scanned: 0 PII hit(s), 0 linkable value(s)")
    assert statuses(written)["consent"] == "ok"


def test_models_section_lists_cards_and_superseded_versions(copy: DataDir) -> None:
    card = {"privacy": {"epsilon": 1.5, "delta": 1e-06}, "data": {"clients": 3, "consent_snapshot_at": "2026-10-01"}}
    now = datetime.now(UTC)
    with duckdb.connect(str(copy.warehouse)) as con:
        spend = con.execute("select spend_id from dp.budget_spends order by spent_at limit 1").fetchone()[0]
        for version, at in (("v1", now - timedelta(days=2)), ("v2", now - timedelta(days=1))):
            registry.register_in(con, version, at, (Path(f"{version}.npy"), "0" * 64), spend, card, [])
        con.execute(
            "update ml.model_versions set status = 'superseded', superseded_reason = 'erasure' where version = 'v1'"
        )

    written = write_report(copy, PERIOD)

    models = next(s for s in written.report.sections if s.key == "models")
    versions = next(t for t in models.tables if t.title == "Registered model versions").rows
    assert [(r[0], r[2], r[4]) for r in versions] == [("v1", "superseded", "erasure"), ("v2", "current", "")]
    assert next(t for t in models.tables if t.title == "Model cards").rows == [
        ("v1", 1.5, 1e-06, 3, "2026-10-01"),
        ("v2", 1.5, 1e-06, 3, "2026-10-01"),
    ]
    budget = next(s for s in written.report.sections if s.key == "budget")
    assert [r[0] for r in next(t for t in budget.tables if t.title.startswith("Model trainings")).rows] == ["v1", "v2"]
    assert models.summary == "2 version(s), 1 current, 1 superseded"


def test_pii_in_a_parquet_export_is_found(copy: DataDir) -> None:
    # an export edited after publish (or left stale): the DuckDB copy is clean, the Parquet file is not
    export = sorted((published_dir(copy) / "parquet").glob("mart_*.parquet"))[0]
    planted = export.with_name(".planted.parquet")
    with duckdb.connect() as con:
        column = next(
            name
            for name, kind, *_ in con.execute("describe select * from read_parquet(?)", [str(export)]).fetchall()
            if kind == "VARCHAR"
        )
        con.read_parquet(str(export)).query(
            "t", f"select * replace ('call 13812345678' as {ident(column)}) from t"
        ).write_parquet(str(planted))
    planted.replace(export)  # a new file: the old one is a hard link shared with older versions

    pii = next(s for s in write_report(copy, PERIOD).report.sections if s.key == "pii")

    assert pii.status == "failed"
    hits = next(t for t in pii.tables if t.title.startswith("PII detector")).rows
    assert (f"parquet/{export.name}", column, "phone", 1) in hits
    assert export.name in [r[0] for r in next(t for t in pii.tables if t.title.startswith("Parquet exports")).rows]
