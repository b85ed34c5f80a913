"""Bring your own data: a declarative mapping from an export's layout onto a Weir source.

The mapping is applied in SQL while staging, so the export goes through exactly the same
contract checks, quarantine and privacy treatments as generated data. A mapping is hostile
input: its names reach SQL only through `weir.sql.ident`, its values (constants, value maps,
time formats, zones) only as bound parameters, and its delimiter only from an allow-list.
Everything is checked once, here, when the mapping is read.
"""

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from privacy._consent import PURPOSES
from weir.contract import CONTRACTS_DIR, Contract, load_contract
from weir.errors import ConfigError
from weir.sql import Params, ident

MAPPING_FILE = "_mapping.yml"  # stored beside the landed export, so re-reads use it too
# The CSV splitter pastes the delimiter into a regular expression; only these can be used.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", ":": "colon"}
SOURCE_NAME = re.compile(r"[a-z][a-z_]*")  # contract file stems; never a path


class TimestampRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = Field(description="epoch_seconds, epoch_millis, or a strptime format")
    timezone: str = "UTC"  # zone of naive timestamps in the export


class DerivedId(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    hash_of: list[str]  # contract columns; identical rows get identical ids (so duplicates show)


# PIPL Art. 13 / GDPR Art. 6 bases. Anything but consent needs a written justification.
LawfulBasisName = Literal[
    "consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interest"
]


class LawfulBasis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    basis: LawfulBasisName = Field(description="PIPL Art. 13 / GDPR Art. 6 basis for this purpose")
    justification: str = Field(default="", description="why the basis applies (required unless the basis is consent)")

    @model_validator(mode="after")
    def _justified(self) -> "LawfulBasis":
        if self.basis != "consent" and not self.justification.strip():
            raise ValueError(f"basis {self.basis} needs a `justification` saying why it applies")
        return self


class SourceMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    format: Literal["csv", "jsonl", "parquet"]
    delimiter: str = ","
    header: bool = True
    columns: list[str] | None = None  # the export's column names (no header, or JSONL fields)
    rename: dict[str, str] = {}  # export column -> contract column
    value_maps: dict[str, dict[str, str]] = {}  # contract column -> {export value: Weir value}
    timestamps: dict[str, TimestampRule] = {}  # contract column -> how the export writes time
    constants: dict[str, str] = {}  # contract column -> value for every row
    numeric_ids: list[str] = []  # contract columns whose ids may be written as floats ("42.0")
    derive_id: DerivedId | None = None
    # purpose -> the dataset's lawful basis for it; a purpose not named here needs consent records.
    lawful_basis: dict[str, LawfulBasis] = {}

    def declared_bases(self) -> dict[str, LawfulBasis]:
        """The purposes this dataset may be used for without its users' consent records."""
        return {p: b for p, b in self.lawful_basis.items() if b.basis != "consent"}


def known_sources() -> list[str]:
    return sorted(p.stem for p in CONTRACTS_DIR.glob("*.yml"))


def check_source(source: str, where: str) -> Contract:
    """The contract of `source`, refusing anything that is not a known source name (a path)."""
    known = known_sources()
    if not SOURCE_NAME.fullmatch(source) or source not in known:
        raise ConfigError(f"{where}: source {source!r} is not a Weir source; use one of: {', '.join(known)}.")
    return load_contract(source)


def load_mapping(path: Path) -> SourceMapping:
    """Read and check a mapping once: source, delimiter, names, references, formats, zones."""
    if not path.is_file():
        raise ConfigError(f"Mapping file {path} does not exist; pass the path of a mapping YAML.")
    try:
        mapping = SourceMapping.model_validate(yaml.safe_load(path.read_text()))
    except (ValidationError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"Mapping {path} is invalid: {err}") from err
    contract = check_source(mapping.source, f"Mapping {path}")
    if not mapping.header and not mapping.columns:
        raise ConfigError(f"Mapping {path}: `header: false` needs `columns:` naming the export's columns.")
    if mapping.format == "jsonl" and not mapping.columns:
        raise ConfigError(f"Mapping {path}: format jsonl needs `columns:` naming the fields to read.")
    if mapping.delimiter not in DELIMITERS:
        allowed = ", ".join(f"{d!r} ({n})" for d, n in DELIMITERS.items())
        raise ConfigError(f"Mapping {path}: delimiter {mapping.delimiter!r} is not allowed; use one of {allowed}.")
    for name in [*(mapping.columns or []), *mapping.rename]:
        ident(name)  # raises UnsafeSqlInput naming the column
    absent = [n for n in mapping.rename if mapping.columns and n not in mapping.columns]
    if absent:
        raise ConfigError(
            f"Mapping {path}: `rename` names {', '.join(map(repr, absent))}, not among its `columns:` "
            f"({', '.join(mapping.columns or [])}); rename only columns the export has."
        )
    unknown = sorted(set(mapping.lawful_basis) - set(PURPOSES))
    if unknown:
        raise ConfigError(
            f"Mapping {path}: `lawful_basis` names {', '.join(map(repr, unknown))}, not a purpose; "
            f"use one of: {', '.join(PURPOSES)}."
        )
    _check_references(path, mapping, contract)
    _check_timestamps(path, mapping)
    return mapping


def _check_references(path: Path, mapping: SourceMapping, contract: Contract) -> None:
    """Every contract column the mapping names exists in the source's contract."""
    named = {
        "rename": list(mapping.rename.values()),
        "value_maps": list(mapping.value_maps),
        "timestamps": list(mapping.timestamps),
        "constants": list(mapping.constants),
        "numeric_ids": mapping.numeric_ids,
        "derive_id": [mapping.derive_id.column, *mapping.derive_id.hash_of] if mapping.derive_id else [],
    }
    columns = {c.name for c in contract.columns}
    for key, names in named.items():
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise ConfigError(
                f"Mapping {path}: `{key}` names {', '.join(map(repr, unknown))}, not column(s) of source "
                f"{mapping.source}; use one of: {', '.join(sorted(columns))}."
            )


def _check_timestamps(path: Path, mapping: SourceMapping) -> None:
    with duckdb.connect() as con:  # DuckDB's own parser says whether a format is valid
        for column, rule in mapping.timestamps.items():
            try:
                ZoneInfo(rule.timezone)
            except (ZoneInfoNotFoundError, ValueError) as err:
                raise ConfigError(
                    f"Mapping {path}: timestamps.{column}.timezone {rule.timezone!r} is not an IANA time zone "
                    "(e.g. UTC, Asia/Shanghai)."
                ) from err
            if rule.format in ("epoch_seconds", "epoch_millis"):
                continue
            try:
                con.execute("select try_strptime('2000-01-01', $f)", {"f": rule.format})
            except duckdb.Error as err:
                raise ConfigError(
                    f"Mapping {path}: timestamps.{column}.format {rule.format!r} is not a strptime format "
                    "(e.g. '%Y-%m-%d %H:%M:%S'), nor epoch_seconds / epoch_millis."
                ) from err


def column_sql(mapping: SourceMapping, column: str, file_columns: set[str], params: Params) -> str:
    """SQL (over the staged export columns) giving one contract column as text."""
    sources = {target: source for source, target in mapping.rename.items()}
    if column in mapping.constants:
        return f"{params.bind(mapping.constants[column])}::varchar"
    if mapping.derive_id and column == mapping.derive_id.column:
        parts = ", ".join(
            f"coalesce({column_sql(mapping, c, file_columns, params)}, '')" for c in mapping.derive_id.hash_of
        )
        return f"('byo-' || left(sha256(concat_ws('|', {parts})), 24))"
    name = sources.get(column, column)
    if name not in file_columns:
        return "null::varchar"  # the export lacks it: optional columns stay empty, required ones are flagged
    value = f"nullif(trim({ident(name)}), '')"
    if column in mapping.numeric_ids:
        value = f"regexp_replace({value}, '^(-?[0-9]+)\\.0+$', '\\1')"
    if column in mapping.value_maps:
        pairs = mapping.value_maps[column]
        keys, values = params.bind(list(pairs)), params.bind(list(pairs.values()))
        value = f"coalesce(map_extract_value(map({keys}::varchar[], {values}::varchar[]), {value}), {value})"
    rule = mapping.timestamps.get(column)
    if rule is not None:
        iso = "'%Y-%m-%dT%H:%M:%S.%gZ'"
        if rule.format in ("epoch_seconds", "epoch_millis"):
            scale = "" if rule.format == "epoch_seconds" else " / 1000"
            parsed = f"to_timestamp(try_cast({value} as double){scale})"
        else:
            zone, fmt = params.bind(rule.timezone), params.bind(rule.format)
            parsed = f"timezone({zone}::varchar, try_strptime({value}, {fmt}::varchar))"
        # Unparsable times stay as written, so the contract flags them as wrong_type.
        value = f"coalesce(strftime(timezone('UTC', {parsed}), {iso}), {value})"
    return value


def projection_sql(mapping: SourceMapping, contract: Contract, file_columns: list[str], params: Params) -> str:
    """Select list turning staged export columns into the contract's columns (values in `params`)."""
    present = set(file_columns)
    return ", ".join(f"{column_sql(mapping, c.name, present, params)} as {ident(c.name)}" for c in contract.columns)
