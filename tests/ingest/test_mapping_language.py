"""The mapping language (issue 19): every key documented, clear errors, computed columns and
filters that are expressions only, value patterns."""

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from weir.cli import app
from weir.config import resolve_data_dir
from weir.errors import ConfigError, WeirError
from weir.ingest import ingest
from weir.landing import land_export
from weir.mapping import SCHEMA_FILE, SourceMapping, load_mapping, schema

RETAIL = """\
source: orders
format: csv
rename: {InvoiceNo: order_id, CustomerID: user_id, StockCode: item_id, Quantity: quantity, InvoiceDate: ordered_at}
timestamps: {ordered_at: {format: "%d/%m/%Y %H:%M"}}
computed:
  amount_cents: "abs(Quantity::int) * UnitPrice::decimal(12,2) * 100"
  status: "case when InvoiceNo like 'C%' then 'cancelled' else 'paid' end"
  currency: "'GBP'"
filter: "Quantity::int <> 0"
value_patterns:
  item_id: [{regex: '^POST', value: postage}]
"""
EXPORT = (
    "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
    "536365,85123A,6,01/12/2010 08:26,2.55,17850\n"
    "C536379,D,1,01/12/2010 09:41,0.42,14527\n"
    "536370,POST,3,01/12/2010 08:45,18.00,12583\n"
    "536371,22752,0,01/12/2010 09:00,7.65,13047\n"
)


def _files(tmp_path: Path, mapping: str, export: str = EXPORT) -> tuple[Path, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "map.yml").write_text(mapping)
    (tmp_path / "export.csv").write_text(export)
    return tmp_path / "map.yml", tmp_path / "export.csv"


def test_the_shipped_json_schema_is_the_models_and_the_help_lists_every_key() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == schema()
    result = CliRunner().invoke(app, ["ingest", "--mapping-help"])
    assert result.exit_code == 0
    for key in SourceMapping.model_fields:
        assert f"\n{key}" in "\n" + result.output


def test_unknown_keys_are_named_with_the_valid_ones(tmp_path: Path) -> None:
    mapping, _ = _files(tmp_path, "source: events\nformat: csv\nrenames: {a: b}\ntimestamps: {ts: {fmt: x}}\n")
    with pytest.raises(ConfigError) as err:
        load_mapping(mapping)
    said = str(err.value)
    assert "unknown key `renames`; valid keys here: source, format, delimiter, header, columns, rename," in said
    assert "unknown key `timestamps.ts.fmt`; valid keys here: format, timezone" in said
    assert "weir ingest --mapping-help" in said


def test_a_retail_export_maps_through_computed_columns_a_filter_and_patterns(tmp_path: Path) -> None:
    mapping, export = _files(tmp_path, RETAIL)
    data_dir = resolve_data_dir(tmp_path / "weir")
    source, batch = land_export(data_dir.landing, mapping, export)
    result = ingest(data_dir, source, batch)[0]

    assert (result.rows_in, result.rows_loaded, result.reasons) == (4, 3, {"filtered_by_mapping": 1})
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        rows = con.execute("select item_id, amount_cents, status, currency from raw.orders order by 1").fetchall()
    assert rows == [("85123A", 1530, "paid", "GBP"), ("D", 42, "cancelled", "GBP"), ("postage", 5400, "paid", "GBP")]


HOSTILE = [
    "read_blob('{keys}/hmac-v1.key')",
    "(select 1)",
    "getenv('HOME')",
    "current_setting('allowed_paths')",
    "Quantity; drop table raw.orders",
    "Quantity) as x, read_text('{keys}') --",
    "query('select 1')",
    "main.lower(Quantity)",
    "sum(Quantity::int) over ()",
    "repeat(InvoiceNo, 1000000000)",  # one value of gigabytes: a memory bomb, not a column
]


@pytest.mark.parametrize("expression", HOSTILE)
@pytest.mark.parametrize("key", ["computed", "filter"])
def test_hostile_expressions_are_refused_before_anything_lands(tmp_path: Path, expression: str, key: str) -> None:
    data_dir = resolve_data_dir(tmp_path / "weir")
    text = expression.format(keys=data_dir.keys)
    body = f"computed: {{status: {json.dumps(text)}}}\n" if key == "computed" else f"filter: {json.dumps(text)}\n"
    mapping, export = _files(tmp_path, "source: orders\nformat: csv\n" + body)
    with pytest.raises(WeirError) as err:
        land_export(data_dir.landing, mapping, export)
    assert "may not" in str(err.value) or "not one SQL expression" in str(err.value) or "not a query" in str(err.value)
    assert not data_dir.landing.exists() or not any(data_dir.landing.rglob("part-*"))


def test_an_expression_over_a_column_the_export_lacks_fails_the_batch_naming_it(tmp_path: Path) -> None:
    mapping, export = _files(tmp_path, RETAIL.replace("UnitPrice::decimal", "Price::decimal"))
    data_dir = resolve_data_dir(tmp_path / "weir")
    source, batch = land_export(data_dir.landing, mapping, export)
    result = ingest(data_dir, source, batch)[0]
    assert result.status == "failed"
    assert "reads column(s) Price, which the export does not have" in result.error


def test_a_basis_the_policy_does_not_allow_for_the_purpose_is_refused(tmp_path: Path) -> None:
    body = "lawful_basis: {marketing: {basis: legitimate_interest, justification: we want to}}\n"
    mapping, _ = _files(tmp_path, "source: events\nformat: csv\n" + body)
    with pytest.raises(ConfigError, match="does not let an export declare for marketing .allowed: none"):
        load_mapping(mapping)
    no_reason = "lawful_basis: {analytics: {basis: legitimate_interest}}\n"
    mapping, _ = _files(tmp_path, "source: events\nformat: csv\n" + no_reason)
    with pytest.raises(ConfigError, match="needs a `justification`"):
        load_mapping(mapping)


def test_attributes_keep_extra_columns_scrubbed_in_a_typed_map(tmp_path: Path) -> None:
    export = (
        "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Description\n"
        "536365,85123A,6,01/12/2010 08:26,2.55,17850,call 13812345678 for a refill\n"
        "536366,22752,2,01/12/2010 08:28,7.65,17850,\n"
    )
    mapping, export_path = _files(tmp_path, RETAIL + "attributes: [UnitPrice, Description]\n", export)
    data_dir = resolve_data_dir(tmp_path / "weir")
    source, batch = land_export(data_dir.landing, mapping, export_path)
    assert ingest(data_dir, source, batch)[0].rows_loaded == 2
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        kept = dict(con.execute("select item_id, attributes from raw.orders").fetchall())
        kind = con.execute(
            "select data_type from duckdb_columns() where table_name = 'orders' and column_name = 'attributes'"
        ).fetchone()[0]
    assert kept == {
        "85123A": {"UnitPrice": "2.55", "Description": "call <PHONE> for a refill"},
        "22752": {"UnitPrice": "7.65", "Description": None},
    }
    assert kind == "MAP(VARCHAR, VARCHAR)"
