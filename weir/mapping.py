"""Bring your own data: a declarative mapping from an export's layout onto a Weir source.

The mapping is applied in SQL while staging, so the export goes through exactly the same
contract checks, quarantine and privacy treatments as generated data. A mapping is hostile
input: its names reach SQL only through `weir.sql.ident`, its values (constants, value maps,
time formats, zones) only as bound parameters, and its delimiter only from an allow-list.
Everything is checked once, here, when the mapping is read.
"""

import hashlib
import json
import re
from pathlib import Path
from types import UnionType
from typing import Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from privacy._consent import PURPOSES
from weir.contract import CONTRACTS_DIR, Contract, load_contract
from weir.errors import ConfigError, LandingError
from weir.mapping_expr import check_expression
from weir.policy import load_policy
from weir.sql import Params, ident

SCHEMA_FILE = Path(__file__).parent / "mappings" / "mapping.schema.json"  # `schema()`, kept equal by a test
MAPPING_FILE = "_mapping.yml"  # stored beside the landed export, so re-reads use it too
# The CSV splitter pastes the delimiter into a regular expression; only these can be used.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", ":": "colon"}
SOURCE_NAME = re.compile(r"[a-z][a-z_]*")  # contract file stems; never a path


class TimestampRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = Field(description="epoch_seconds, epoch_millis, or a strptime format")
    timezone: str = Field(default="UTC", description="IANA zone of naive timestamps in the export")


class DerivedId(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(description="the contract column to fill, e.g. event_id")
    hash_of: list[str] = Field(
        description="contract columns hashed into the id; identical rows get identical ids (so duplicates show)"
    )


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


class ValuePattern(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    regex: str = Field(description="RE2 regular expression (DuckDB regexp_matches) a value must contain")
    value: str = Field(description="the Weir value of every export value the regex matches")


class SourceMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="the Weir source (data contract) the export is loaded onto, e.g. events")
    format: Literal["csv", "jsonl", "parquet"] = Field(description="file format of the export")
    delimiter: str = Field(default=",", description="CSV field separator: one of , ; tab | :")
    header: bool = Field(default=True, description="CSV: the first line names the columns")
    columns: list[str] | None = Field(
        default=None, description="the export's column names (CSV without a header, JSONL fields to read)"
    )
    rename: dict[str, str] = Field(default={}, description="export column -> contract column")
    value_maps: dict[str, dict[str, str]] = Field(
        default={}, description="contract column -> {export value: Weir value}, e.g. {pv: view}"
    )
    value_patterns: dict[str, list[ValuePattern]] = Field(
        default={},
        description="contract column -> [{regex, value}]: the first pattern found in a value gives its Weir value "
        "(after value_maps)",
    )
    attributes: list[str] = Field(
        default=[],
        description="export columns kept as extra attributes (price, brand, rating category) in the raw row's "
        "attributes map (name -> text, scrubbed like free text) instead of being dropped",
    )
    names: list[str] = Field(
        default=[],
        description="export columns holding names of the dataset's people (reviewer, nickname): never stored "
        "in a row; redacted wherever the batch's free text names them, and kept in the vault under the row's "
        "user so that later batches' text has them redacted too",
    )
    timestamps: dict[str, TimestampRule] = Field(
        default={}, description="contract column -> how the export writes time (format, timezone)"
    )
    constants: dict[str, str] = Field(default={}, description="contract column -> the same value for every row")
    computed: dict[str, str] = Field(
        default={},
        description="contract column -> DuckDB expression over the export's columns (values are text: cast them), "
        "e.g. quantity::int * unit_price::decimal(12,2) * 100",
    )
    filter: str | None = Field(
        default=None,
        description="DuckDB condition over the export's columns; rows it does not keep are quarantined as "
        "filtered_by_mapping (counted, never silently dropped)",
    )
    numeric_ids: list[str] = Field(
        default=[], description="contract columns whose ids may be written as floats (42.0 is id 42)"
    )
    derive_id: DerivedId | None = Field(
        default=None, description="an id made from a hash of contract columns, for exports without one"
    )
    cadence: Literal["daily", "weekly", "irregular"] = Field(
        default="daily",
        description="how often this dataset arrives: its raw gate compares each batch's volume with the previous "
        "batch of the same mapping (daily, weekly); irregular exports skip that comparison",
    )
    lawful_basis: dict[str, LawfulBasis] = Field(
        default={},
        description="purpose -> the dataset's lawful basis for it; a purpose not named here needs consent records",
    )

    def lineage(self) -> str:
        """Which dataset a batch belongs to, for batch-over-batch checks: the mapping's layout
        (a real export is never compared with generated data or another export's batches)."""
        layout = self.model_dump(exclude={"lawful_basis", "cadence"}, mode="json")
        return "mapping:" + hashlib.sha256(json.dumps(layout, sort_keys=True).encode()).hexdigest()[:16]

    def declared_bases(self) -> dict[str, LawfulBasis]:
        """The purposes this dataset may be used for without its users' consent records."""
        return {p: b for p, b in self.lawful_basis.items() if b.basis != "consent"}


def _problem(error: dict) -> str:
    """One line per validation problem: where, what, and for an unknown key the valid ones."""
    where = ".".join(str(p) for p in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        model = _model_at(error["loc"][:-1])
        valid = f"; valid keys here: {', '.join(model.model_fields)}" if model else ""
        return f"unknown key `{where}`{valid}"
    if error["type"] == "model_type" and not error["loc"]:
        return "the file must be a YAML mapping of keys (source, format, ...)"
    return f"`{where}`: {error['msg']}"


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The mapping model (SourceMapping or a nested one) that the key path `loc` points into."""
    kind: object = SourceMapping
    for part in loc:
        kind = _unwrap(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            kind = kind.model_fields[part].annotation if part in kind.model_fields else None
        else:  # a dict's key or a list's index: step to the value type
            args = get_args(kind)
            kind = args[-1] if args else None
    kind = _unwrap(kind)
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _unwrap(kind: object) -> object:
    """X | None -> X."""
    args = [a for a in get_args(kind) if a is not type(None)]
    return args[0] if get_origin(kind) in (Union, UnionType) and len(args) == 1 else kind


def schema() -> dict:
    """The mapping language as JSON Schema (shipped as weir/mappings/mapping.schema.json)."""
    return SourceMapping.model_json_schema()


def key_help() -> str:
    """Every mapping key with its description, nested keys indented: `weir ingest --mapping-help`."""
    lines = []

    def describe(model: type[BaseModel], indent: str) -> None:
        for name, field in model.model_fields.items():
            default = "" if field.is_required() else f" (default {field.default!r})"
            lines.append(f"{indent}{name}{default}: {field.description or ''}")
            inner = _nested_model(field.annotation)
            if inner is not None:
                describe(inner, indent + "    ")

    describe(SourceMapping, "")
    return "\n".join(lines)


def _nested_model(kind: object) -> type[BaseModel] | None:
    """The model a field holds, however deep in dicts, lists and optionals."""
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return kind
    return next((m for a in get_args(kind) if (m := _nested_model(a)) is not None), None)


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
    except ValidationError as err:
        problems = "\n".join(f"  - {_problem(e)}" for e in err.errors())
        raise ConfigError(f"Mapping {path} is invalid:\n{problems}\nSee every key: weir ingest --mapping-help") from err
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"Mapping {path} is not readable YAML: {err}") from err
    contract = check_source(mapping.source, f"Mapping {path}")
    if not mapping.header and not mapping.columns:
        raise ConfigError(f"Mapping {path}: `header: false` needs `columns:` naming the export's columns.")
    if mapping.format == "jsonl" and not mapping.columns:
        raise ConfigError(f"Mapping {path}: format jsonl needs `columns:` naming the fields to read.")
    if mapping.delimiter not in DELIMITERS:
        allowed = ", ".join(f"{d!r} ({n})" for d, n in DELIMITERS.items())
        raise ConfigError(f"Mapping {path}: delimiter {mapping.delimiter!r} is not allowed; use one of {allowed}.")
    for name in [*(mapping.columns or []), *mapping.rename, *mapping.names, *mapping.attributes]:
        ident(name)  # raises UnsafeSqlInput naming the column
    if len(set(mapping.attributes)) != len(mapping.attributes):
        raise ConfigError(f"Mapping {path}: `attributes` lists a column twice; list each once.")
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
    _check_bases(path, mapping)
    _check_references(path, mapping, contract)
    _check_timestamps(path, mapping)
    _check_expressions(path, mapping)
    return mapping


def _check_bases(path: Path, mapping: SourceMapping) -> None:
    """A declared basis other than consent must be one weir/policy.yml lets exports declare."""
    purposes = load_policy()["purposes"]
    for purpose, declared in mapping.declared_bases().items():
        allowed = purposes.get(purpose, {}).get("declarable_bases", [])
        if declared.basis not in allowed:
            raise ConfigError(
                f"Mapping {path}: lawful_basis.{purpose} is {declared.basis}, which weir/policy.yml does not let an "
                f"export declare for {purpose} (allowed: {', '.join(allowed) or 'none: it needs consent records'})."
            )


def _check_expressions(path: Path, mapping: SourceMapping) -> None:
    """Computed columns and the filter parse as safe expressions; patterns as regexes."""
    for column, text in mapping.computed.items():
        check_expression(text, f"Mapping {path}: computed.{column}")
    if mapping.filter is not None:
        check_expression(mapping.filter, f"Mapping {path}: filter")
    with duckdb.connect() as con:
        for column, patterns in mapping.value_patterns.items():
            for i, pattern in enumerate(patterns):
                try:
                    con.execute("select regexp_matches('', $r)", {"r": pattern.regex})
                except duckdb.Error as err:
                    raise ConfigError(
                        f"Mapping {path}: value_patterns.{column}[{i}].regex {pattern.regex!r} is not a valid "
                        f"regular expression ({err})."
                    ) from err


def _check_references(path: Path, mapping: SourceMapping, contract: Contract) -> None:
    """Every contract column the mapping names exists in the source's contract."""
    named = {
        "rename": list(mapping.rename.values()),
        "value_maps": list(mapping.value_maps),
        "timestamps": list(mapping.timestamps),
        "constants": list(mapping.constants),
        "computed": list(mapping.computed),
        "value_patterns": list(mapping.value_patterns),
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
    if column in mapping.computed:
        return f"cast(({expression_sql(mapping.computed[column], f'computed.{column}', file_columns)}) as varchar)"
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
    if column in mapping.value_patterns:
        whens = " ".join(
            f"when regexp_matches({value}, {params.bind(p.regex)}::varchar) then {params.bind(p.value)}::varchar"
            for p in mapping.value_patterns[column]
        )
        value = f"case {whens} else {value} end"
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


def expression_sql(text: str, where: str, file_columns: set[str]) -> str:
    """A mapping expression as checked SQL, refusing one that reads a column the export lacks."""
    checked = check_expression(text, where)
    absent = sorted(checked.columns - file_columns)
    if absent:
        raise LandingError(
            f"Mapping {where}: {text!r} reads column(s) {', '.join(absent)}, which the export does not have; "
            f"its columns are: {', '.join(sorted(file_columns))}."
        )
    return checked.sql


def projection_sql(mapping: SourceMapping, contract: Contract, file_columns: list[str], params: Params) -> str:
    """Select list turning staged export columns into the contract's columns (values in `params`),
    and `_keep`, whether the mapping's filter keeps the row."""
    present = set(file_columns)
    keep = (
        "true" if mapping.filter is None else f"coalesce(({expression_sql(mapping.filter, 'filter', present)}), false)"
    )
    columns = [f"{column_sql(mapping, c.name, present, params)} as {ident(c.name)}" for c in contract.columns]
    for key in ("names", "attributes"):
        absent = [n for n in getattr(mapping, key) if n not in present]
        if absent:
            raise LandingError(f"Mapping `{key}` lists column(s) {', '.join(absent)}, which the export does not have.")
    names = "[" + ", ".join(f"nullif(trim({ident(n)}), '')" for n in mapping.names) + "]::varchar[]"
    extra = [f"{keep} as _keep", f"{names} as _names"]
    if mapping.attributes:
        keys = params.bind(mapping.attributes)
        values = "[" + ", ".join(f"nullif(trim({ident(n)}), '')" for n in mapping.attributes) + "]"
        extra.append(f"map({keys}::varchar[], {values}::varchar[]) as _attributes")
    return ", ".join([*columns, *extra])
