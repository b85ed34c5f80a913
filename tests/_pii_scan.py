"""Search a data dir for the raw personal values its landing zone holds, by substring.

Needles: every value of every landing column whose contract category is a raw identifier or
contact kind (user ids, device ids, IPs, user agents, e-mails, phones, names) or that the
contract tokenises or vaults (record ids: events, orders, shares, reviews, ...),
read whole from every landing file. Haystacks: every column (cast to text, any type) of
every table of every DuckDB file and every Parquet file under the data dir, and the text of
every other file (dbt logs and target, GX docs and results, Airflow logs, ...), except the
landing zone itself and the keys.

All of it is one DuckDB scan, vectorised: each needle kind has a shape (a user id is
`U` + 8 digits); RE2 extracts every substring of that shape from every haystack and a hash
join keeps those that are needles. Phones are compared on their digits (so a re-spelled
phone is found too). Names have no shape: Chinese names are matched against every 2- and
3-character slice of every run of Chinese characters; the remaining needles (Latin names,
user agents) are few and matched with `contains`. Every needle is checked to be covered.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from weir.contract import load_contract
from weir.generate._badinput import OVERSIZE_TEXT
from weir.sql import ident, qualified

# Contract categories whose landing values are raw personal values (prefix match).
RAW_CATEGORIES = (
    "user.unique_id",
    "user.device.device_id",
    "user.device.ip_address",
    "user.device.user_agent",
    "user.contact",
    "user.name",
)
# Shapes, RE2: the needle kinds found by extraction, and how a found value is compared.
SHAPES = {
    "id": r"[A-Z]{1,3}[0-9]{6,}(?:s[0-9]+-[0-9]+)?",  # U10000153, D3273413372, E261001s3-12
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
    "ip": r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}",
    "phone": r"\+?\(?[0-9][0-9 ().-]{6,}[0-9]",  # compared on digits
}
ASSETS = {".gif", ".png", ".ico", ".jpg", ".svg", ".woff", ".woff2", ".ttf", ".eot"}  # GX docs' static files
CJK_RUN = r"[\x{4e00}-\x{9fff}]+"
_PY_SHAPES = {k: re.compile(p) for k, p in SHAPES.items()}
_PY_CJK_NAME = re.compile("[\u4e00-\u9fff]{2,3}")


def kind_of(value: str) -> str:
    """The first shape the whole value has; 'cjk' for a Chinese name; else 'other' (contains)."""
    for kind, shape in _PY_SHAPES.items():
        if shape.fullmatch(value):
            return kind
    return "cjk" if _PY_CJK_NAME.fullmatch(value) else "other"


@dataclass(frozen=True)
class Needles:
    values: dict[str, str]  # needle -> the landing column it came from (source.column)

    def __len__(self) -> int:
        return len(self.values)


def landing_needles(landing: Path) -> Needles:
    """Every raw identifier or contact value in every landing file, whole files."""
    values: dict[str, str] = {}
    con = duckdb.connect()
    for folder in sorted(p for p in landing.iterdir() if p.is_dir() and not p.name.startswith("_")):
        columns = [
            c.name
            for c in load_contract(folder.name).columns
            if c.category.startswith(RAW_CATEGORIES) or c.treatment in ("token", "vault")  # record ids too
        ]
        for path in sorted(f for f in folder.rglob("*") if f.is_file()):
            for column, value in _column_values(con, path, columns):
                values.setdefault(value, f"{folder.name}.{column}")
    con.close()
    # An IP ending in .0 prints like its own /24 prefix, which the warehouse keeps on purpose;
    # the generator's oversize filler ("lorem ipsum ...") is not personal data.
    return Needles(
        {
            v: c
            for v, c in values.items()
            if len(v) >= 2 and not (c.endswith(".ip") and v.endswith(".0")) and OVERSIZE_TEXT[:40] not in v
        }
    )


def _column_values(con: duckdb.DuckDBPyConnection, path: Path, columns: list[str]) -> list[tuple[str, str]]:
    """(column, value) for every distinct non-null value of `columns` in one landing file, one read."""
    reader = {".csv": "read_csv", ".jsonl": "read_json", ".parquet": "read_parquet"}.get(path.suffix)
    if reader is None:
        return []
    options = {"read_csv": ", all_varchar = true, ignore_errors = true", "read_json": ", ignore_errors = true"}
    relation = f"{reader}(?{options.get(reader, '')})"
    present = {r[0] for r in con.execute(f"describe select * from {relation}", [str(path)]).fetchall()}
    wanted = [c for c in columns if c in present]
    if not wanted:
        return []
    cells = ", ".join(f"trim({ident(c)}::varchar) as {ident(c)}" for c in wanted)
    return con.execute(
        f"select distinct name, value from (unpivot (select {cells} from {relation}) on columns(*) "
        "into name name value value) where value is not null",
        [str(path)],
    ).fetchall()


def _load_haystacks(con: duckdb.DuckDBPyConnection, root: Path, skip: tuple[Path, ...]) -> int:
    """Fill `hay(src, text)` with every row of every table and every other file; the file count."""
    con.execute("create or replace temp table hay (src varchar, text varchar)")
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and not any(p.is_relative_to(s) for s in skip)]
    plain = []
    for i, path in enumerate(files):
        if path.suffix in ASSETS:
            continue
        with path.open("rb") as f:
            head = f.read(16)
        if head[8:12] == b"DUCK":
            _duckdb_rows(con, path, f"db{i}")
        elif head[:4] == b"PAR1":
            _table_rows(con, f"read_parquet({_literal(path)})", str(path.relative_to(root)))
        else:
            plain.append((str(path.relative_to(root)), path.read_bytes().decode("utf-8", errors="replace")))
    if plain:
        con.register("plain_files", pa.table({"src": [p[0] for p in plain], "text": [p[1] for p in plain]}))
        con.execute("insert into hay select src, text from plain_files")
        con.unregister("plain_files")
    return len(files)


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"  # a path made by the test, not user input


def _duckdb_rows(con: duckdb.DuckDBPyConnection, path: Path, alias: str) -> None:
    con.execute(f"attach {_literal(path)} as {ident(alias)} (read_only)")
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ? "
        "union all select schema_name, view_name from duckdb_views() where database_name = ? and not internal",
        [alias, alias],
    ).fetchall()
    for schema, table in tables:
        _table_rows(con, qualified(alias, schema, table), f"{path.name}:{schema}.{table}")
    con.execute(f"detach {ident(alias)}")


def _table_rows(con: duckdb.DuckDBPyConnection, relation: str, src: str) -> None:
    """One text per row: every column cast to text (a BLOB also as hex), joined by a unit separator."""
    columns = con.execute(f"describe select * from {relation}").fetchall()
    if columns:
        cells = ", ".join(
            f"{ident(c)}::varchar" + (f", hex({ident(c)})" if t == "BLOB" else "") for c, t, *_ in columns
        )
        con.execute(f"insert into hay select ?, concat_ws(chr(31), {cells}) from {relation}", [src])


def haystack_hits(root: Path, forms: list[str], skip: tuple[Path, ...]) -> dict[str, int]:
    """Haystacks (table rows, files) holding any of a few literal `forms`: {haystack: rows}."""
    con = duckdb.connect()
    _load_haystacks(con, root, skip)
    con.register("forms", pa.table({"f": forms}))
    found = con.execute("select src, count(*) from hay semi join forms on contains(text, f) group by src").fetchall()
    con.close()
    return dict(found)


def scan(root: Path, needles: Needles, skip: tuple[Path, ...]) -> dict[str, list[str]]:
    """Where each needle found under `root` sits: {haystack: [needle's landing column, ...]}."""
    con = duckdb.connect()
    _load_haystacks(con, root, skip)
    values = list(needles.values)
    con.register(
        "needles",
        pa.table({"value": values, "origin": list(needles.values.values()), "kind": [kind_of(v) for v in values]}),
    )
    con.execute(
        "create temp table n as select *, digits[3:] as national from (select value, origin, kind, "
        "regexp_replace(value, '[^0-9]', '', 'g') as digits from needles)"
    )
    # Country code off: +86 and 11 digits, +65 and 8 digits (the generator's two countries).
    con.execute(
        "update n set national = digits where not ((digits like '86%' and length(digits) = 13) "
        "or (digits like '65%' and length(digits) = 10))"
    )
    prefixes = sorted({v[:6] for v in values if kind_of(v) == "other"})
    shapes = "|".join(f"(?:{p})" for p in [*SHAPES.values(), CJK_RUN])
    window = max([len(v) for v in values if kind_of(v) == "other"], default=1)
    others = "|".join(re.escape(p) for p in prefixes) or "$^"
    found = con.execute(_FOUND_SQL, [shapes, f"(?:{others})[^\x1f\n]{{0,{window}}}", CJK_RUN]).fetchall()
    con.close()
    hits: dict[str, list[str]] = {}
    for src, origin in found:
        hits.setdefault(src, []).append(origin)
    return hits


# One RE2 pass extracts every shaped substring, another every window that starts like a
# shapeless needle; distinct candidates are then joined to the needles.
_FOUND_SQL = """
with shaped as (select distinct src, unnest(regexp_extract_all(text, ?)) as c from hay),
windows as (select distinct src, unnest(regexp_extract_all(text, ?)) as c from hay),
runs as (select src, c as r from shaped where regexp_full_match(c, ?)),
grams as (
    select distinct src, substr(r, i::int, w) as c from runs, (values (2), (3)) g(w), range(1, length(r) - w + 2) t(i)
),
digits as (select distinct src, regexp_replace(c, '[^0-9]', '', 'g') as c from shaped)
select distinct src, origin from shaped join n on n.kind in ('id', 'ip') and c = n.value
union select distinct src, origin from shaped join n on n.kind = 'email' and lower(c) = lower(n.value)
union select distinct src, origin from digits join n
    on n.kind = 'phone' and length(c) >= 8 and c in (n.digits, n.national)
union select distinct src, origin from grams join n on n.kind = 'cjk' and c = n.value
union select distinct src, origin from windows join n on n.kind = 'other' and contains(c, n.value)
"""
