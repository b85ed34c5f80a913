"""Read a landing batch into a staging table of text fields, one row per input line.

Lines are cut with numpy on the raw bytes (zero-copy into Arrow), so every line keeps its
file and line number, CRLF endings and a missing final newline are handled, and lines that
are not valid UTF-8 stay visible (text null) instead of aborting the read.
"""

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from weir.contract import Contract
from weir.errors import LandingError

CSV_FIELD = '("(?:[^"]|"")*"|[^",]*),'
CSV_LINE = '(?:"(?:[^"]|"")*"|[^",]*,)*'
NOT_BLANK = "coalesce(_text, 'x') <> ''"  # blank lines (e.g. a stray CRLF) are not rows


def lines_table(path: Path) -> pa.Table:
    """(line, raw) for every line of a file; raw keeps its line ending, trimmed later in SQL."""
    data = path.read_bytes()
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10) + 1
    if len(data) and data[-1:] != b"\n":
        ends = np.append(ends, len(data))  # last line without a final newline
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    raw = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(ends), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)])
    # Blank lines stay here and are dropped in SQL (NOT_BLANK), with the line numbers intact.
    return pa.table({"_line": pa.array(np.arange(1, len(ends) + 1)), "_raw": raw})


def _text_sql() -> str:
    return "rtrim(try(decode(_raw)), chr(10) || chr(13))"


def _unquote(field: str) -> str:
    return f"nullif(case when {field} like '\"%' then replace({field}[2:-1], '\"\"', '\"') else {field} end, '')"


def stage_file(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, rel: str, fmt: str) -> str:
    """SQL selecting (file, line, text, raw, parse_ok, <column>...) for one file."""
    names = [c.name for c in contract.columns]
    if fmt == "parquet":
        cols = ", ".join(f"cast({_quote(n)} as varchar) as {_quote(n)}" for n in names)
        return (f"select '{rel}' as _file, file_row_number + 1 as _line, "
                f"cast(to_json(p) as varchar) as _text, null::blob as _raw, true as _parse_ok, {cols} "
                f"from read_parquet('{path}', file_row_number = true) as p")
    table = f"_lines_{abs(hash(rel))}"
    con.register(table, lines_table(path))
    if fmt == "jsonl":
        # One JSON parse per line for all fields; lines that do not parse get no fields.
        paths = "[" + ", ".join(f"'$.\"{n}\"'" for n in names) + "]"
        fields = ", ".join(f"_f[{i + 1}] as {_quote(n)}" for i, n in enumerate(names))
        ok = "coalesce(case when json_valid(_text) then json_type(_text) = 'OBJECT' else false end, false)"
        return (f"select '{rel}' as _file, _line, _text, _raw, _parse_ok, {fields} from ("
                f"select *, case when _parse_ok then json_extract_string(_text, {paths}) end as _f from ("
                f"select _line, _raw, _text, {ok} as _parse_ok from ("
                f"select _line, _raw, {_text_sql()} as _text from {table}) where {NOT_BLANK}))")
    header = (path.open("rb").readline().decode("utf-8", errors="replace").strip()).split(",")
    missing = [n for n in names if n not in header]
    if missing:
        raise LandingError(f"{rel}: header lacks column(s) {', '.join(missing)} required by the "
                           f"{contract.source} contract; fix the export or add a source mapping.")
    fields = ", ".join(f"{_unquote(f'_fields[{header.index(n) + 1}]')} as {_quote(n)}" for n in names)
    return (f"select '{rel}' as _file, _line, _text, _raw, "
            f"coalesce(regexp_full_match(_text || ',', '{CSV_LINE}') and len(_fields) = {len(header)}, false) "
            f"as _parse_ok, {fields} "
            f"from (select _line, _raw, _text, regexp_extract_all(_text || ',', '{CSV_FIELD}', 1) as _fields "
            f"from (select _line, _raw, {_text_sql()} as _text from {table} where _line > 1) where {NOT_BLANK})")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def stage_batch(con: duckdb.DuckDBPyConnection, contract: Contract, folder: Path, landing: Path) -> int:
    """Create temp table `_stage` for every part file of the batch; return its row count."""
    parts = sorted(p for p in folder.iterdir() if p.name.startswith("part-")
                   and p.suffix in (".jsonl", ".csv", ".parquet"))
    if not parts:
        raise LandingError(f"No part files (part-*.jsonl|csv|parquet) in {folder}; "
                           "check the batch id, or run `weir generate`.")
    selects = [stage_file(con, contract, p, str(p.relative_to(landing)), p.suffix[1:]) for p in parts]
    con.execute("create or replace temp table _stage as " + " union all by name ".join(selects))
    return con.execute("select count(*) from _stage").fetchone()[0]
