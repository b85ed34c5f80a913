"""Read a landing batch into a staging table of text fields, one row per input line.

Text files are cut into lines by `_lines` (each keeps its file and line number; lines that
are not UTF-8 stay visible for the quarantine; a GBK file is refused whole).

Nothing read from a file reaches SQL text: column names go through `weir.sql.ident`, file
names and JSON paths are bound parameters (or, for Parquet views, expression constants), and
Parquet files are opened through DuckDB's relation API, not as path literals.
"""

import csv
from pathlib import Path

import duckdb
import pyarrow as pa

from weir.contract import Contract
from weir.errors import LandingError, UnsafeSqlInput
from weir.ingest._checks import SQL_TYPES, typed_columns_sql
from weir.ingest._lines import BOM, lines_table
from weir.mapping import DELIMITERS, MAPPING_FILE, SourceMapping, load_mapping, projection_sql
from weir.sql import Params, ident

PART_SUFFIXES = (".jsonl", ".csv", ".parquet")
# Blank lines (a stray LF or CRLF) are not rows.
NOT_BLANK = "coalesce(_text, 'x') not in ('', chr(10), chr(13) || chr(10))"
# Only lines that fail to parse keep their text (for the quarantine); `_utf8` remembers
# whether the line decoded at all.
KEEP_BAD_TEXT = "case when not _parse_ok then _text end as _text, _text is not null as _utf8"


def _unquote(field: str) -> str:
    # substr, not a slice: slice ends moved between DuckDB versions (`[2:-1]` kept the closing quote).
    inner = f"substr({field}, 2, length({field}) - 2)"
    return f"nullif(case when {field} like '\"%' then replace({inner}, '\"\"', '\"') else {field} end, '')"


def json_path(name: str) -> str:
    r"""The JSON path of a top-level key, quoted so dots, quotes and brackets stay in the key.

    >>> json_path('a.b"c')
    '$."a.b\\"c"'
    """
    return '$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def csv_header(path: Path, delimiter: str, rel: str) -> list[str]:
    """The column names on a CSV file's first line (byte-order mark stripped), each checked."""
    with path.open("rb") as handle:
        first = handle.readline()
    text = first.decode("utf-8-sig", errors="replace").strip()
    # The csv module reads the one header line: quoted names lose their quotes, like the fields.
    names = next(csv.reader([text], delimiter=delimiter), [""]) if text else [""]
    if names == [""]:
        raise LandingError(f"{rel} is empty: it has no header line; export the data again with its header.")
    unnamed = [i + 1 for i, n in enumerate(names) if not n.strip()]
    if unnamed:
        raise LandingError(
            f"{rel}: header column(s) {', '.join(map(str, unnamed))} have no name; name every column in the export."
        )
    for i, name in enumerate(names):
        try:
            ident(name)
        except UnsafeSqlInput as err:
            raise UnsafeSqlInput(f"{rel}: header column {i + 1}: {err}") from err
    return names


def parquet_view(con: duckdb.DuckDBPyConnection, path: Path, rel: str, view: str) -> list[str]:
    """Register Parquet file `path` as temp view `view` with `_file` = `rel`; return its columns.

    Relation API, not SQL text: neither the path nor the file name is ever parsed as SQL.
    """
    try:
        part = con.read_parquet(str(path), file_row_number=True)
    except duckdb.Error as err:
        raise LandingError(f"{rel} cannot be read as Parquet ({err}); export it again.") from err
    columns = [c for c in part.columns if c != "file_row_number"]
    for name in columns:
        ident(name)
    exclude = ["_file"] if "_file" in part.columns else []
    # Registered, not `to_view`: a relation's view is written into the warehouse's catalog and
    # would outlive the load, letting any warehouse reader query the raw landing file.
    con.register(
        view, part.select(duckdb.ConstantExpression(rel).alias("_file"), duckdb.StarExpression(exclude=exclude))
    )
    return columns


def stage_file(
    con: duckdb.DuckDBPyConnection,
    names: list[str] | None,
    path: Path,
    rel: str,
    fmt: str,
    params: Params,
    delimiter: str = ",",
    header: list[str] | None = None,
    native: frozenset[str] = frozenset(),
) -> str:
    """SQL selecting (_file, _line, _text, _raw, _parse_ok, <names>...) for one file.

    CSV files take their column names from `header` when given (exports without a header
    line), else from their first line; `names` None means every column of the file. Parquet
    columns in `native` keep their own type; every other value is staged as text. Values the
    SQL needs (file name, JSON paths) are added to `params`.
    """
    table = _lines_name(rel)
    if fmt == "parquet":
        return _parquet_select(con, names, path, rel, table, native)
    if delimiter not in DELIMITERS:  # pasted into the splitting regex
        raise LandingError(f"{rel}: delimiter {delimiter!r} is not one of {sorted(DELIMITERS)!r}.")
    con.register(table, lines_table(path, rel))
    # Raw bytes are only kept for lines that are not UTF-8 (they are quarantined encrypted).
    lines = f"lines as (select _line, case when _text is null then _raw end as _raw, _text from {table})"
    if fmt == "jsonl":
        if names is None:
            raise LandingError(f"{rel}: a JSONL file has no header; name its fields (mapping `columns:`).")
        return _jsonl_select(names, rel, lines, params)
    return _csv_select(names, path, rel, lines, params, delimiter, header)


def _parquet_select(
    con: duckdb.DuckDBPyConnection, names: list[str] | None, path: Path, rel: str, view: str, native: frozenset[str]
) -> str:
    columns = parquet_view(con, path, rel, view)
    names = columns if names is None else names
    missing = [n for n in names if n not in columns]
    if missing:
        raise LandingError(f"{rel}: Parquet file lacks column(s) {', '.join(missing)}; fix the export.")
    cols = ", ".join(ident(n) if n in native else f"cast({ident(n)} as varchar) as {ident(n)}" for n in names)
    return (
        "select _file, file_row_number + 1 as _line, "
        f"null::varchar as _text, true as _utf8, null::blob as _raw, true as _parse_ok, {cols} "
        f"from {view}"
    )


def _jsonl_select(names: list[str], rel: str, lines: str, params: Params) -> str:
    # One JSON parse per line extracts every field; a line that does not parse gets null
    # (try), and only objects count. Materialised, so the extraction is not repeated per field.
    paths = params.bind([json_path(n) for n in names])
    fields = ", ".join(f"_f[{i + 1}] as {ident(n)}" for i, n in enumerate(names))
    return (
        f"select * from (with {lines}, "
        f"extracted as materialized (select *, try(json_extract_string(_text, {paths}::varchar[])) as _f "
        f"from lines where {NOT_BLANK}) "
        f"select {params.bind(rel)}::varchar as _file, _line, {KEEP_BAD_TEXT}, _raw, _parse_ok, {fields} from ("
        f"select *, coalesce(_f is not null and ltrim(_text) like '{{%', false) as _parse_ok "
        f"from extracted))"
    )


def _csv_select(
    names: list[str] | None,
    path: Path,
    rel: str,
    lines: str,
    params: Params,
    delimiter: str,
    header: list[str] | None,
) -> str:
    has_header = header is None
    if has_header:
        header = csv_header(path, delimiter, rel)
    names = header if names is None else names
    missing = [n for n in names if n not in header]
    if missing:
        raise LandingError(
            f"{rel}: header lacks column(s) {', '.join(missing)}; fix the export "
            "or load it with a source mapping (`weir ingest --mapping`)."
        )
    d = "\\" + delimiter if delimiter in r".^$|?*+()[]{}\\" else delimiter
    field, line_re = f'("(?:[^"]|"")*"|[^"{d}]*){d}', f'(?:"(?:[^"]|"")*"|[^"{d}]*{d})*'
    fields = ", ".join(f"{_unquote(f'_fields[{header.index(n) + 1}]')} as {ident(n)}" for n in names)
    first_row = 2 if has_header else 1
    sep = f"'{delimiter}'"  # one of DELIMITERS
    return (
        f"select * from (with {lines}, "
        f"trimmed as (select _line, _raw, rtrim(_text, chr(13) || chr(10)) as _text from lines "
        f"where _line >= {first_row} and {NOT_BLANK}), "
        # A line without a quote splits on the delimiter alone (no regex: most lines of most
        # exports, 6x faster); only lines with a quote take the quote-aware patterns.
        f"split as materialized (select *, case when contains(_text, '\"') "
        f"then regexp_extract_all(_text || {sep}, '{field}', 1) else string_split(_text, {sep}) end as _fields, "
        f"coalesce((not contains(_text, '\"') or regexp_full_match(_text || {sep}, '{line_re}')) "
        f"and len(_fields) = {len(header)}, false) as _parse_ok from trimmed) "
        f"select {params.bind(rel)}::varchar as _file, _line, {KEEP_BAD_TEXT}, _raw, _parse_ok, {fields} from split)"
    )


def _lines_name(rel: str) -> str:
    return f"_lines_{abs(hash(rel))}"


def _release(con: duckdb.DuckDBPyConnection, rel: str) -> None:
    """Drop the registered view of a staged file (for a text file, with it the file's bytes)."""
    try:
        con.unregister(_lines_name(rel))
    except duckdb.Error:
        pass  # already gone


def part_files(folder: Path) -> list[Path]:
    """The batch's part files, sorted; a part that is a link to a file elsewhere is refused, and
    so is a batch (or source) folder that is a link or lies outside `landing/<source>/`."""
    source = folder.parent
    home = source.parent.resolve() / source.name
    if source.is_symlink() or folder.is_symlink() or folder.resolve() != home / folder.name:
        raise LandingError(
            f"Batch folder {folder} is a symbolic link or lies outside {home}; copy the data into the batch instead."
        )
    if (folder / "_mapping.yml").is_symlink():
        raise LandingError(f"{folder / '_mapping.yml'} is a symbolic link; copy the mapping into the batch instead.")
    parts = sorted(p for p in folder.iterdir() if p.name.startswith("part-") and p.suffix in PART_SUFFIXES)
    for part in parts:
        if not part.resolve().is_relative_to(folder.resolve()):
            raise LandingError(
                f"{part} links to {part.resolve()}, outside its batch folder; copy the data into the batch instead."
            )
    return parts


def lock_down(con: duckdb.DuckDBPyConnection, *folders: Path) -> None:
    """Limit the connection's file access, for good, to reading these batches' Parquet parts.

    The warehouse file the connection opened stays usable (DuckDB allows a database's own
    files), in-memory attachments too; every other path (the keys, other batches, COPY TO
    anywhere) is refused, and `lock_configuration` stops SQL from lifting the limit. Text
    parts are read by Python, so a CSV or JSONL batch needs no file access at all.
    """
    parquet = [str(p.resolve()) for folder in folders for p in part_files(folder) if p.suffix == ".parquet"]
    if con.execute("select current_setting('lock_configuration')").fetchone()[0]:
        # Settings belong to the database instance, which every connection to the same file
        # in this process shares: another open connection keeps an earlier lock-down alive.
        raise LandingError(
            "The warehouse is already open in this process on a locked-down connection (an earlier "
            "batch's); close every other connection to it before ingesting."
        )
    if parquet:
        con.execute("set allowed_paths = $paths::varchar[]", {"paths": parquet})
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")


def _native_columns(con: duckdb.DuckDBPyConnection, contract: Contract, parts: list[Path]) -> frozenset[str]:
    """Typed contract columns that every part stores as Parquet of exactly the contract's type.

    They are staged as they are: no round trip through text (a timestamp printed and parsed
    again per row). Any text part, or any part typed otherwise, keeps the text path for all.
    """
    if any(p.suffix != ".parquet" for p in parts):
        return frozenset()
    typed = [c for c in contract.columns if c.type != "varchar"]
    if not typed:
        return frozenset()
    described = con.execute("select " + ", ".join(f"typeof(null::{SQL_TYPES[c.type]})" for c in typed)).fetchall()[0]
    wanted = {c.name: t for c, t in zip(typed, described, strict=True)}
    native = set(wanted)
    for part in parts:  # part metadata only
        relation = con.read_parquet(str(part))
        types = {name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)}
        native &= {n for n, t in wanted.items() if types.get(n) == t}
    return frozenset(native)


def _drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    """Drop `_stage`, whichever it is (DuckDB will not replace a table by a view of its name)."""
    kinds = con.execute(
        "select 'view' from duckdb_views() where temporary and view_name = '_stage' union all "
        "select 'table' from duckdb_tables() where temporary and table_name = '_stage'"
    ).fetchall()
    for (kind,) in kinds:
        con.execute(f"drop {kind} _stage")


def stage_batch(con: duckdb.DuckDBPyConnection, contract: Contract, folder: Path, landing: Path) -> int:
    """Stage every part file of the batch as `_stage`; return its row count.

    `_stage` is a temp table, or a view when every part is Parquet (read column by column,
    each later step reads only the columns it needs: 0.3 µs per row less than a copy).

    A batch landed with a source mapping (`_mapping.yml` beside its parts) is staged under
    the export's own column names and then projected onto the contract's columns.
    """
    parts = part_files(folder)
    if not parts:
        raise LandingError(
            f"No part files (part-*.jsonl|csv|parquet) in {folder}; check the batch id, or run `weir generate`."
        )
    mapping = load_mapping(folder / MAPPING_FILE) if (folder / MAPPING_FILE).exists() else None
    _drop_stage(con)  # the previous batch's staging table or view
    # Each value is cast to its contract type once, here; every check and output reuses it.
    typed = ", " + typed_columns_sql(contract) if typed_columns_sql(contract) else ""
    if mapping is None:
        names = [c.name for c in contract.columns]
        native = _native_columns(con, contract, parts)
        if all(p.suffix == ".parquet" for p in parts):
            # Parquet is read column by column: a view lets each later step read only the
            # columns it needs, instead of copying every value into a staging table first.
            params = Params()  # stays empty: a view's SQL cannot take parameters
            selects = [
                stage_file(con, names, p, str(p.relative_to(landing)), "parquet", params, native=native) for p in parts
            ]
            con.execute(f"create or replace temp view _stage as select *{typed} from ({' union all '.join(selects)})")
            return con.execute("select count(*) from _stage").fetchall()[0][0]
        # One part at a time: a part's bytes are released once its rows are staged, so a
        # large batch never holds all its files in memory next to the staging table.
        for i, p in enumerate(parts):
            rel, params = str(p.relative_to(landing)), Params()
            select = stage_file(con, names, p, rel, p.suffix[1:], params, native=native)
            into = "create or replace temp table _stage as" if i == 0 else "insert into _stage by name"
            con.execute(f"{into} select *{typed} from ({select})", params.values)
            _release(con, rel)
    else:
        _stage_mapped(con, contract, mapping, parts, landing, typed)
    return con.execute("select count(*) from _stage").fetchone()[0]


def _stage_mapped(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    mapping: SourceMapping,
    parts: list[Path],
    landing: Path,
    typed: str,
) -> None:
    """Stage an export under its own column names, then project it onto the contract's."""
    params = Params()
    selects = [
        stage_file(
            con,
            mapping.columns,  # None: every column of the export's header
            p,
            str(p.relative_to(landing)),
            p.suffix[1:],
            params,
            mapping.delimiter,
            None if mapping.header else mapping.columns,
        )
        for p in parts
    ]
    con.execute("create or replace temp table _export as " + " union all by name ".join(selects), params.values)
    exported = [r[0] for r in con.execute("describe _export").fetchall() if not r[0].startswith("_")]
    params = Params()
    projection = projection_sql(mapping, contract, exported, params)
    # Projected and cast in one pass: the typed values are computed over the projection.
    con.execute(
        f"create or replace temp table _stage as select *{typed} from ("
        f"select _file, _line, _text, _utf8, _raw, _parse_ok, {projection} from _export)",
        params.values,
    )
    con.execute("drop table _export")  # the export's own columns are not needed past here


def check_export(path: Path, mapping: SourceMapping, shown: Path | None = None) -> bytes:
    """Refuse an export file that cannot load (empty, not UTF-8, unusable header); its bytes.

    Run before anything is landed, so a bad export leaves no batch behind. `shown` is the name
    messages give the file when `path` is a private copy of it.
    """
    shown = shown or path
    data = path.read_bytes()
    if not data.strip(BOM + b" \t\r\n"):
        raise LandingError(f"Export {shown} is empty; export the data again (with its rows).")
    if mapping.format == "parquet":
        import pyarrow.parquet as pq  # deferred: only Parquet exports need it

        try:
            names = pq.read_schema(path).names
        except (pa.ArrowException, OSError) as err:
            raise LandingError(f"Export {shown} cannot be read as Parquet ({err}); export it again.") from err
        for name in names:
            ident(name)
        _check_renames(mapping, names, shown)
        return data
    lines_table(path, str(shown))  # raises ExportEncodingError for a GBK export
    if mapping.format == "csv" and mapping.header:
        _check_renames(mapping, csv_header(path, mapping.delimiter, str(shown)), shown)
    return data


def _check_renames(mapping: SourceMapping, names: list[str], shown: Path) -> None:
    """A rename of a column the export lacks would load nulls: refuse it, naming what exists."""
    absent = [n for n in mapping.rename if n not in names]
    if absent:
        raise LandingError(
            f"Export {shown}: `rename` names column(s) {', '.join(map(repr, absent))} the file does not have; "
            f"its columns are: {', '.join(names)}. Fix the mapping's rename keys."
        )
