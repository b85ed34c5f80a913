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


def _literal_lines(literals: pl.DataFrame, fmt: str, bad: pl.Series | None) -> pl.Series:
    """Join literal texts into lines; absent (null) JSON fields are left out of the object."""
    columns = literals.columns
    if fmt == "jsonl":
        pieces = [pl.lit(f'"{c}":') + pl.col(c) for c in columns]  # a null piece is dropped
        line = "{" + pl.concat_str(pieces, separator=",", ignore_nulls=True) + "}"
        first = pl.lit("")
    else:
        line = pl.concat_str([pl.col(c).fill_null("") for c in columns], separator=",")
        first = pl.concat_str([pl.col(c).fill_null("") for c in columns[:2]], separator=",")
    if bad is not None:
        line = malformed(line, first, bad, fmt)
    return literals.select(line.alias("line")).to_series()


def _plain_lines(frame: pl.DataFrame, fmt: str) -> pl.Series:
    if fmt == "jsonl":
        return frame.select(pl.struct(pl.all()).struct.json_encode().alias("line")).to_series()
    return _literal_lines(frame.select(_csv_literal(c, t).alias(c) for c, t in frame.schema.items()), fmt, None)


def to_lines(frame: pl.DataFrame, fmt: str, bad: pl.Series, spec: BadInputSpec) -> pl.Series:
    """One text line per row, with the bad-input classes in `bad` applied.

    Good rows go through polars' native JSON encoder (fast path); only the few bad rows
    are built field by field so that each class can be injected precisely.
    """
    lines = _plain_lines(frame, fmt)
    if bad.null_count() == len(bad):
        return lines
    # A duplicate repeats the previous line exactly; bad rows sit at odd positions only,
    # so that previous line is always a good one.
    duplicate = pl.lit(bad) == "duplicate_id"
    lines = pl.select(pl.when(duplicate).then(pl.lit(lines).shift(1)).otherwise(pl.lit(lines))).to_series()
    idx = (bad.is_not_null() & (bad != "duplicate_id")).arg_true()
    rows, row_bad = frame[idx], bad.gather(idx)
    if fmt == "jsonl":
        # Keep nulls as JSON null, like the encoder; missing_required then drops the key.
        literals = rows.select(_json_literal(c, t).fill_null("null").alias(c) for c, t in rows.schema.items())
    else:
        literals = rows.select(_csv_literal(c, t).alias(c) for c, t in rows.schema.items())
    custom = _literal_lines(corrupt(literals, row_bad, spec, fmt), fmt, row_bad)
    return lines.scatter(idx, custom)


def write_lines(path: Path, lines: pl.Series, header: str | None) -> None:
    """Write lines with LF endings; swap the encoding marker for invalid UTF-8 bytes."""
    frame = lines.to_frame("line")
    if header is not None:
        frame = pl.concat([pl.DataFrame({"line": [header]}), frame])
    frame.write_csv(path, include_header=False, quote_style="never")
    if lines.str.contains(ENCODING_MARKER, literal=True).any():
        path.write_bytes(path.read_bytes().replace(ENCODING_MARKER.encode(), INVALID_UTF8))
