"""The record of processing activities comes from the contracts and nothing else."""

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from weir.cli import app
from weir.contract import all_contracts
from weir.ropa import by_category, record_of_processing


def test_one_row_per_contract_column() -> None:
    record = record_of_processing()

    assert record.height == sum(len(c.columns) for c in all_contracts())
    dropped = record.filter(pl.col("treatment") == "drop")
    names = dropped.filter(pl.col("category") == "user.name")
    assert dropped.filter(pl.col("category") != "user.name")["stored_as"].null_count() == dropped.height - names.height
    assert names["stored_as"].str.starts_with("vault").all()  # kept to redact names from free text


def test_contact_data_and_free_text_are_not_dp_eligible() -> None:
    record = record_of_processing()

    flagged = record.filter(
        pl.col("category").is_in(
            ["user.contact.email", "user.contact.phone_number", "user.content.free_text", "user.name"]
        )
    )
    assert flagged.height == 4 and not flagged["dp_eligible"].any()
    assert record.filter(pl.col("column") == "event_type")["dp_eligible"].to_list() == [True]


def test_category_view_and_cli_csv(tmp_path: Path) -> None:
    email = by_category().filter(pl.col("category") == "user.contact.email").row(0, named=True)

    result = CliRunner().invoke(app, ["privacy", "ropa", "--out", str(tmp_path / "ropa.csv")])

    assert (email["sources"], email["treatments"], email["purposes"]) == ("users", "vault", "marketing")
    assert result.exit_code == 0
    assert pl.read_csv(tmp_path / "ropa.csv").height == record_of_processing().height
