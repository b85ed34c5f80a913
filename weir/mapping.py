"""Bring your own data: a declarative mapping from an export's layout onto a Weir source.

The mapping is applied in SQL while staging, so the export goes through exactly the same
contract checks, quarantine and privacy treatments as generated data.
"""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weir.contract import Contract
from weir.errors import ConfigError

MAPPING_FILE = "_mapping.yml"  # stored beside the landed export, so re-reads use it too


class TimestampRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = Field(description="epoch_seconds, epoch_millis, or a strptime format")
    timezone: str = "UTC"  # zone of naive timestamps in the export


class DerivedId(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    hash_of: list[str]  # contract columns; identical rows get identical ids (so duplicates show)


class SourceMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    format: Literal["csv", "jsonl", "parquet"]
    delimiter: str = ","
    header: bool = True
    columns: list[str] | None = None  # the export's column names when it has no header
    rename: dict[str, str] = {}  # export column -> contract column
    value_maps: dict[str, dict[str, str]] = {}  # contract column -> {export value: Weir value}
    timestamps: dict[str, TimestampRule] = {}  # contract column -> how the export writes time
    constants: dict[str, str] = {}  # contract column -> value for every row
    numeric_ids: list[str] = []  # contract columns whose ids may be written as floats ("42.0")
    derive_id: DerivedId | None = None


def load_mapping(path: Path) -> SourceMapping:
    if not path.is_file():
        raise ConfigError(f"Mapping file {path} does not exist; pass the path of a mapping YAML.")
    try:
        mapping = SourceMapping.model_validate(yaml.safe_load(path.read_text()))
    except (ValidationError, yaml.YAMLError) as err:
        raise ConfigError(f"Mapping {path} is invalid: {err}") from err
    if not mapping.header and not mapping.columns:
        raise ConfigError(f"Mapping {path}: `header: false` needs `columns:` naming the export's columns.")
    if len(mapping.delimiter) != 1:
        raise ConfigError(f"Mapping {path}: delimiter {mapping.delimiter!r} must be one character.")
    return mapping


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def column_sql(mapping: SourceMapping, column: str, file_columns: set[str]) -> str:
    """SQL (over the staged export columns) giving one contract column as text."""
    sources = {target: source for source, target in mapping.rename.items()}
    if column in mapping.constants:
        return _lit(mapping.constants[column])
    if mapping.derive_id and column == mapping.derive_id.column:
        parts = ", ".join(f"coalesce({column_sql(mapping, c, file_columns)}, '')" for c in mapping.derive_id.hash_of)
        return f"('byo-' || left(sha256(concat_ws('|', {parts})), 24))"
    name = sources.get(column, column)
    if name not in file_columns:
        return "null"  # the export lacks it: optional columns stay empty, required ones are flagged
    value = f"nullif(trim({_q(name)}), '')"
    if column in mapping.numeric_ids:
        value = f"regexp_replace({value}, '^(-?[0-9]+)\\.0+$', '\\1')"
    if column in mapping.value_maps:
        cases = " ".join(f"when {_lit(k)} then {_lit(v)}" for k, v in mapping.value_maps[column].items())
        value = f"(case {value} {cases} else {value} end)"
    rule = mapping.timestamps.get(column)
    if rule is not None:
        iso = "'%Y-%m-%dT%H:%M:%S.%gZ'"
        if rule.format in ("epoch_seconds", "epoch_millis"):
            scale = "" if rule.format == "epoch_seconds" else " / 1000"
            parsed = f"to_timestamp(try_cast({value} as double){scale})"
        else:
            parsed = f"timezone({_lit(rule.timezone)}, try_strptime({value}, {_lit(rule.format)}))"
        # Unparsable times stay as written, so the contract flags them as wrong_type.
        value = f"coalesce(strftime(timezone('UTC', {parsed}), {iso}), {value})"
    return value


def projection_sql(mapping: SourceMapping, contract: Contract, file_columns: list[str]) -> str:
    """Select list turning staged export columns into the contract's columns."""
    present = set(file_columns)
    return ", ".join(f"{column_sql(mapping, c.name, present)} as {_q(c.name)}" for c in contract.columns)
