"""Which of a batch of values each text column can hold, read from DuckDB's column statistics.

Erasure and its verification look for the erased users' tokens (and, when verifying, their
contact values) in every text column of every table. A regular-expression pass over every
text column was most of the verification on a 1M-event warehouse (raw.events and
intermediate.int_events: about 20 text columns each). DuckDB keeps per column the shortest and
longest value in bytes and the least and greatest value; `stats()` returns them when the
query is bound, without a scan. From them:

- a value holds a needle only if it is at least as long: a column whose longest value is
  shorter than a needle cannot hold it, and where the longest value is exactly as long the
  column is compared whole with it (a hash semi-join) instead of searched;
- a token-shaped column (lengths all equal to a token's, least and greatest value starting
  `tk<version>_`: record ids and other tokens of the tokeniser) is compared whole with the
  tokens and not searched for contact values. A raw value that leaked into such a column
  would change its lengths or bounds, and the column would then be searched like any other.

Statistics are bounds kept on every write (a delete leaves them wider, never narrower), so no
needle a column holds is pruned (beyond the token-shape rule above).
"""

import re
from dataclasses import dataclass

import duckdb

from privacy._pseudonymise import TOKEN_HEX_CHARS
from weir.sql import Params, ident

# Text-like types a token can hide in; numbers, dates and blobs (ciphertext) cannot hold one.
TEXT_TYPES = ("VARCHAR", "JSON")
PRUNABLE = TEXT_TYPES  # types whose statistics give lengths and bounds
# Columns that name the user a row is about (or a relation they are a party to), for access.
OWNER_COLUMN = "user_token"
PARTY_SUFFIXES = ("_user_token", "follower_token", "followee_token", "sharer_token", "kol_token")
TOKEN_PREFIX = re.compile(r"tk\d+_")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    data_type: str
    nullable: bool

    @property
    def is_token(self) -> bool:
        return self.data_type == "VARCHAR" and self.name.endswith("_token")

    @property
    def is_text(self) -> bool:
        return self.data_type in TEXT_TYPES or self.data_type.endswith("[]") or self.data_type.startswith("STRUCT")

    @property
    def names_user(self) -> bool:
        return self.name == OWNER_COLUMN or self.name.endswith(PARTY_SUFFIXES)

    @property
    def as_text(self) -> str:
        """The column as text in SQL (lists and structs are searched in their text form)."""
        return f"cast({ident(self.name)} as varchar)"


def pattern(needles: list[str]) -> str:
    """One RE2 alternation of literal needles (bound as a parameter, never SQL text): a whole
    batch of users is found in one pass over a table instead of one pass per needle."""
    if not needles:
        raise ValueError("no needles: an empty alternation would match every row")
    return "|".join(_literal(n) for n in sorted(set(needles)))


def _literal(needle: str) -> str:
    """A needle as an RE2 literal: letters and digits as they are, every other character as \\x{..}."""
    return "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):x}}}" for c in needle)


@dataclass(frozen=True, slots=True)
class Bounds:
    shortest: int
    longest: int
    least: str
    greatest: str

    @property
    def token_shaped(self) -> bool:
        prefix = TOKEN_PREFIX.match(self.least)
        return (
            prefix is not None
            and self.greatest.startswith(prefix.group())
            and self.shortest == self.longest == prefix.end() + TOKEN_HEX_CHARS
        )


def bounds(con: duckdb.DuckDBPyConnection, name: str, cols: list[Column]) -> dict[str, Bounds | None] | None:
    """Each prunable column's bounds (None where unknown) of table `name`; None: the table is empty."""
    prunable = [c for c in cols if c.data_type in PRUNABLE]
    if not prunable:
        empty = con.execute(f"select count(*) = 0 from (select 1 from {name} limit 1)").fetchone()[0]
        return None if empty else {}
    row = con.execute(f"select {', '.join(f'stats({ident(c.name)})' for c in prunable)} from {name} limit 1")
    found = row.fetchone()
    if found is None:
        return None
    return {c.name: _bounds(s) for c, s in zip(prunable, found, strict=True)}


def _bounds(stats: object) -> Bounds | None:
    if not isinstance(stats, dict):
        return None
    values = [stats.get(k) for k in ("min_string_length", "max_string_length", "min", "max")]
    if not all(isinstance(v, int) for v in values[:2]) or not all(isinstance(v, str) for v in values[2:]):
        return None
    return Bounds(*values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Reach:
    """What to look for in one column: needles compared whole, needles searched inside values."""

    column: Column
    equal: tuple[str, ...]
    search: tuple[str, ...]


def plan(cols: list[Column], found: dict[str, Bounds | None], needles: list[str]) -> list[Reach]:
    """The columns that can hold any needle, each with how to look (token columns whole, as
    their name says they hold one token)."""
    reaches = []
    for col in cols:
        if col.is_token:
            reaches.append(Reach(col, tuple(needles), ()))
        elif col.is_text:
            reaches.append(_reach(col, found.get(col.name), needles))
    return [r for r in reaches if r.equal or r.search]


def _reach(col: Column, bound: Bounds | None, needles: list[str]) -> Reach:
    if bound is None:
        return Reach(col, (), tuple(needles))
    size = {n: len(n.encode()) for n in needles}
    equal = tuple(n for n in needles if size[n] == bound.longest)
    search = () if bound.token_shaped else tuple(n for n in needles if size[n] < bound.longest)
    return Reach(col, equal, search)


def condition(reaches: list[Reach], params: Params) -> str:
    """A row holds a needle in any of the columns (needles bound through `params`)."""
    return " or ".join(part for r in reaches for part in _parts(r, params))


def first_match(reaches: list[Reach], params: Params) -> str:
    """The first needle a row holds, over the columns in order (null where none)."""
    found = []
    for r in reaches:
        value = r.column.as_text
        if r.equal:
            found.append(f"case when {value} in (select unnest({params.bind(list(r.equal))})) then {value} end")
        if r.search:
            found.append(f"nullif(regexp_extract({value}, {params.bind(pattern(list(r.search)))}), '')")
    return f"coalesce({', '.join(found)})" if len(found) > 1 else found[0]


def _parts(r: Reach, params: Params) -> list[str]:
    value = r.column.as_text
    parts = [f"{value} in (select unnest({params.bind(list(r.equal))}))"] if r.equal else []
    if r.search:
        parts.append(f"regexp_matches({value}, {params.bind(pattern(list(r.search)))})")
    return parts
