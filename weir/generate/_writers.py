"""Serialise sources to JSONL / CSV lines (vectorised) and write landing files."""

from pathlib import Path

import polars as pl

from weir.generate._badinput import ENCODING_MARKER, INVALID_UTF8, BadInputSpec, corrupt, malformed


def _json_literal(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.Boolean:
        return pl.when(col).then(pl.lit("true")).otherwise(pl.lit("false"))
    if dtype.is_numeric():
        return col.cast(pl.Utf8)
    # One regex pass escapes backslashes and quotes (generated text has no control characters).
    escaped = col.cast(pl.Utf8).str.replace_all(r'(["\\])', r"\$1")
    return pl.concat_str([pl.lit('"'), escaped, pl.lit('"')])


def _csv_literal(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.Boolean:
        return pl.when(col).then(pl.lit("true")).otherwise(pl.lit("false"))
    text = col.cast(pl.Utf8)
    needs_quotes = text.str.contains(r'[,"\n\r]')
    return pl.when(needs_quotes).then('"' + text.str.replace_all('"', '""', literal=True) + '"').otherwise(text)


def to_lines(frame: pl.DataFrame, fmt: str, bad: pl.Series, spec: BadInputSpec) -> pl.Series:
    """One text line per row, with the bad-input classes in `bad` applied."""
    make = _json_literal if fmt == "jsonl" else _csv_literal
    literals = frame.select(make(c, t).alias(c) for c, t in frame.schema.items())
    has_bad = bad.null_count() < len(bad)
    if has_bad:
        literals = corrupt(literals, bad, spec, fmt)
    if fmt == "jsonl":
        # Absent optional fields are left out of the object, as app loggers do.
        pieces = [pl.lit(f'"{c}":') + pl.col(c) for c in frame.columns]  # null stays null
        line = "{" + pl.concat_str(pieces, separator=",", ignore_nulls=True) + "}"
        first = pl.lit("")
    else:
        line = pl.concat_str([pl.col(c).fill_null("") for c in frame.columns], separator=",")
        first = pl.concat_str([pl.col(c).fill_null("") for c in frame.columns[:2]], separator=",")
    line = malformed(line, first, bad, fmt) if has_bad else line
    return literals.select(line.alias("line")).to_series()


def write_lines(path: Path, lines: pl.Series, header: str | None) -> None:
    """Write lines with LF endings; swap the encoding marker for invalid UTF-8 bytes."""
    frame = lines.to_frame("line")
    if header is not None:
        frame = pl.concat([pl.DataFrame({"line": [header]}), frame])
    frame.write_csv(path, include_header=False, quote_style="never")
    if lines.str.contains(ENCODING_MARKER, literal=True).any():
        path.write_bytes(path.read_bytes().replace(ENCODING_MARKER.encode(), INVALID_UTF8))
