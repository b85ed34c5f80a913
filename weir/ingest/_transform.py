"""Privacy treatments as SQL over `_stage`: tokens, generalisation, scrubbing, vault tokens."""

import duckdb
import polars as pl

from privacy import _scrub
from privacy._generalise import age_band_sql, device_family_sql, ip_prefix_sql, region_sql
from privacy._keyring import SecretKey
from privacy._names import redact_names, remembered
from privacy._pseudonymise import build_token_map, key_params, token_sql
from privacy._scrub import scrub
from weir.contract import NAME_CATEGORY, Column, Contract
from weir.ingest._checks import SQL_TYPES, typed_name
from weir.sql import ident as _q

GENERALISERS = {
    "ip_prefix": lambda v: ip_prefix_sql(v),
    "age_band": lambda v: age_band_sql(f"try_cast({v} as date)", "current_date"),
    "region": lambda v: region_sql(v),
    "device_family": lambda v: device_family_sql(v),
}


def inline_token(contract: Contract, column: Column) -> bool:
    """Whether a column's token is computed in the row, not through a map of distinct values: a
    single-column primary key (event ids) has one row per value, so a map would only add a
    distinct pass and a join (measured: it doubled the events ingest). Other ids keep their maps
    (computing every record id inline measured slower). Needs the key's bound parameters
    (`output_params`) in the query."""
    return column.treatment == "token" and contract.key_columns == [column.name]


def prepare_maps(con: duckdb.DuckDBPyConnection, contract: Contract, key: SecretKey, master: SecretKey) -> None:
    """Token maps per identifier kind and scrubbed copies of free-text columns (`master`
    unlocks the names the vault remembers for the batch's users)."""
    kinds: dict[str, list[str]] = {}
    for column in contract.columns:
        if column.treatment in ("token", "vault") and not inline_token(contract, column):
            kinds.setdefault(column.kind, []).append(column.name)
    for kind, names in kinds.items():
        values = " union all ".join(f"select {_q(n)} from _stage" for n in names)
        build_token_map(con, f"_tok_{kind}", values, kind, key)
    for column in contract.columns:
        if column.treatment == "generalise":
            # Generalise distinct values once (a few user agents, one address per user) and join.
            con.execute(
                f"create or replace temp table _gen_{column.name} as select value, "
                f"{GENERALISERS[column.generaliser]('value')} as generalised from "
                f"(select distinct {_q(column.name)} as value from _stage where {_q(column.name)} is not null)"
            )
        if column.treatment == "scrub":
            frame = pl.from_arrow(
                con.sql(f"select _file, _line, {_q(column.name)} as value from _stage").to_arrow_table()
            )
            scrubbed = scrub(frame["value"])
            names = _batch_names(con, contract, master)
            if not names.is_empty():  # the people this batch names, wherever the text names them
                scrubbed = redact_names(scrubbed, names)
            con.register(f"_scrub_{column.name}", frame.with_columns(value=scrubbed).to_arrow())


def _batch_names(con: duckdb.DuckDBPyConnection, contract: Contract, master: SecretKey) -> pl.Series:
    """Distinct names of the batch's people: its name columns (category user.name), the export
    columns its mapping lists under `names` (staged as `_names`), and the names the vault
    remembers for the users its rows are about (given by earlier batches)."""
    selects = [f"select {_q(c.name)} as name from _stage" for c in contract.columns if c.category == NAME_CATEGORY]
    if "_names" in {r[0] for r in con.execute("describe _stage").fetchall()}:
        selects.append("select unnest(_names) as name from _stage")
    person = contract.person
    tokens = []
    if person is not None and person.treatment == "token" and not inline_token(contract, person):
        tokens = [t for (t,) in con.execute(f"select token from _tok_{person.kind}").fetchall()]
    names = remembered(con, master, tokens)
    if selects:
        union = " union ".join(selects)
        batch = con.sql(f"select name from ({union}) where name is not null").to_arrow_table()
        names = pl.concat([names, pl.from_arrow(batch)["name"]])
    return names


def value_sql(column: Column, typed: bool, inline: bool = False) -> str:
    """Expression for a column's treated value; `typed` casts plain values to the contract type."""
    v = f"s.{_q(column.name)}"
    if inline:
        return token_sql(v, column.kind)
    if column.treatment in ("token", "vault"):
        return f"t_{column.name}.token"
    if column.treatment == "generalise":
        return f"g_{column.name}.generalised"
    if column.treatment == "scrub":
        return f"sc_{column.name}.value"
    if typed and column.type != "varchar":  # cast once in _checks.typed_columns_sql
        return f"s.{typed_name(column)}"
    return v


def joins_sql(contract: Contract) -> str:
    parts = []
    for column in contract.columns:
        if inline_token(contract, column):
            continue
        if column.treatment in ("token", "vault"):
            parts.append(
                f"left join _tok_{column.kind} as t_{column.name} on t_{column.name}.value = s.{_q(column.name)}"
            )
        elif column.treatment == "generalise":
            parts.append(
                f"left join _gen_{column.name} as g_{column.name} on g_{column.name}.value = s.{_q(column.name)}"
            )
        elif column.treatment == "scrub":
            parts.append(
                f"left join _scrub_{column.name} as sc_{column.name} "
                f"on sc_{column.name}._file = s._file and sc_{column.name}._line = s._line"
            )
    return " ".join(parts)


def output_columns(contract: Contract) -> str:
    """Treated, typed values as `o_<out name>` columns."""
    values = [(value_sql(c, typed=True, inline=inline_token(contract, c)), c.out_name) for c in contract.kept]
    return ", ".join(f"{value} as {_q('o_' + name)}" for value, name in values)


def output_params(contract: Contract, key: SecretKey) -> dict[str, object] | None:
    """The bound parameters `output_columns` needs: the key's, when a token is computed inline."""
    return key_params(key) if any(inline_token(contract, c) for c in contract.kept) else None


def raw_ddl(contract: Contract) -> str:
    cols = ", ".join(
        f"{_q(c.out_name)} {'varchar' if c.treatment != 'plain' else SQL_TYPES[c.type]}" for c in contract.kept
    )
    return (
        f"create table if not exists raw.{contract.source} ({cols}, _batch_id varchar not null, "
        "_file varchar not null, _line bigint not null, _loaded_at timestamptz not null)"
    )


# An export's extra columns a mapping keeps (`attributes:`), scrubbed like free text: a raw table
# gains the column (last) when the first batch with attributes loads into it.
ATTRIBUTES = "attributes"
ATTRIBUTES_DDL = "alter table raw.{source} add column if not exists attributes map(varchar, varchar)"


def scrubbed_attributes_sql(value: str) -> str:
    """The attributes map with every value through the scrubber (needs `_scrub.register_sql`)."""
    return (
        f"map_from_entries(list_transform(map_entries({value}), "
        f"lambda e: struct_pack(key := e.key, value := {_scrub.SQL_SCRUB}(e.value))))"
    )


def sanitised_json_sql(contract: Contract) -> str:
    """Quarantine text of a parsed row: every value after its privacy treatment, as JSON. Plain
    values (item, shop, coupon ids, ratings, amounts...) were not checked by anything: the
    scrubber replaces whatever the detector finds in them (a phone pasted as an item id, or as
    a rating: a number's text is checked too, and a number holding one is kept as the scrubbed
    text). Needs `privacy._scrub.register_sql` on the connection."""

    def value(c: Column) -> str:
        v = _q("o_" + c.out_name)
        if c.treatment != "plain":
            return v
        if SQL_TYPES[c.type] == "varchar":
            return f"{_scrub.SQL_SCRUB}({v})"
        text = f"cast({v} as varchar)"
        return (
            f"case when len({_scrub.SQL_FUNCTION}({text})) > 0 then to_json({_scrub.SQL_SCRUB}({text})) "
            f"else to_json({v}) end"
        )

    fields = ", ".join(f"{_q(c.out_name)} := {value(c)}" for c in contract.kept)
    return f"cast(to_json(struct_pack({fields})) as varchar)"
