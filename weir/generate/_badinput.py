"""Inject each class of bad input (DESIGN.md "Bad input") into the text-format sources.

Mutations work on a frame of *literal* column texts (JSON literals or CSV fields), so every
class is a vectorised column expression. Bad rows sit only at odd row positions: the row
before a bad row is always good, which keeps `duplicate_id` (a copy of the previous row)
well defined.
"""

from dataclasses import dataclass

import numpy as np
import polars as pl

BAD_CLASSES = [
    "malformed_line",
    "wrong_type",
    "missing_required",
    "unknown_enum_value",
    "future_timestamp",
    "ancient_timestamp",
    "duplicate_id",
    "oversize_field",
    "invalid_encoding",
    "unknown_user",
]
MAX_BAD_RATE = 0.05  # ten classes at 5% each fill every odd row: the ceiling of this scheme
ENCODING_MARKER = "@@WEIR_INVALID_UTF8@@"
INVALID_UTF8 = b"\xc3\x28\xff\xfe"  # an unfinished 2-byte sequence, then bytes never valid in UTF-8
OVERSIZE_TEXT = "lorem ipsum " * 2_000  # 24,000 characters: beyond any text limit in the contracts


@dataclass(frozen=True, slots=True)
class BadInputSpec:
    """Which column of a source each bad-input class corrupts (None: class not applicable)."""

    id: str | None = None
    ts: str | None = None
    number: str | None = None
    text: str | None = None
    required: str | None = None
    enum: str | None = None
    user: str | None = None

    def field_for(self, bad_class: str) -> str | None:
        return {
            "malformed_line": self.id,
            "wrong_type": self.number,
            "missing_required": self.required,
            "unknown_enum_value": self.enum,
            "future_timestamp": self.ts,
            "ancient_timestamp": self.ts,
            "duplicate_id": self.id,
            "oversize_field": self.text,
            "invalid_encoding": self.text,
            "unknown_user": self.user,
        }[bad_class]


def choose_bad_rows(rng: np.random.Generator, n_rows: int, spec: BadInputSpec, rate: float) -> pl.Series:
    """Class name per row (null for good rows); each applicable class hits ~rate of the rows."""
    classes = [c for c in BAD_CLASSES if spec.field_for(c) is not None]
    counts = rng.binomial(n_rows, rate, len(classes)) if rate > 0 else np.zeros(len(classes), int)
    odd = np.arange(1, n_rows, 2)
    counts = np.minimum(counts, len(odd) // max(1, len(classes)))
    rows = rng.permutation(odd)[: counts.sum()]
    codes = np.full(n_rows, -1, dtype=np.int64)
    codes[rows] = np.repeat(np.arange(len(classes)), counts)
    names = pl.Series(classes + [""], dtype=pl.Utf8).gather(codes)  # -1 picks the "" sentinel
    return names.replace("", None).alias("bad_class")


def _text(value: str, fmt: str) -> pl.Expr:
    return pl.lit(f'"{value}"' if fmt == "jsonl" else value)


def corrupt(literals: pl.DataFrame, bad: pl.Series, spec: BadInputSpec, fmt: str) -> pl.DataFrame:
    """Apply the value-level classes to a frame of literal texts of the bad rows.

    `malformed_line` is line-level (see `malformed`) and `duplicate_id` repeats a whole line
    (see `_writers.to_lines`).
    """
    cls = pl.lit(bad)
    edits: dict[str, pl.Expr] = {}

    def edit(column: str | None, when: str, value: pl.Expr) -> None:
        if column is None:
            return
        base = edits.get(column, pl.col(column))
        edits[column] = pl.when(cls == when).then(value).otherwise(base)

    edit(spec.number, "wrong_type", _text("n/a", fmt))
    edit(spec.required, "missing_required", pl.lit(None, pl.Utf8))
    edit(spec.enum, "unknown_enum_value", _text("teleport", fmt))
    if spec.ts is not None:
        edit(spec.ts, "future_timestamp", pl.col(spec.ts).str.replace(r"\d{4}", "2099"))
        edit(spec.ts, "ancient_timestamp", pl.col(spec.ts).str.replace(r"\d{4}", "1970"))
    edit(spec.text, "oversize_field", _text(OVERSIZE_TEXT, fmt))
    edit(spec.text, "invalid_encoding", _text(f"caf{ENCODING_MARKER}", fmt))
    if spec.user is not None:
        # "U9" + 8 digits never collides with generated ids ("U1" + 7 digits).
        unknown = pl.lit("U9") + pl.int_range(pl.len()).cast(pl.Utf8).str.zfill(8)
        edit(spec.user, "unknown_user", ('"' + unknown + '"') if fmt == "jsonl" else unknown)
    return literals.with_columns(**edits)


def malformed(lines: pl.Expr, first_fields: pl.Expr, bad: pl.Series, fmt: str) -> pl.Expr:
    """Line-level corruption: a JSON line cut in half, or a CSV line with too few fields."""
    cut = lines.str.slice(0, lines.str.len_chars() // 2) if fmt == "jsonl" else first_fields
    return pl.when(pl.lit(bad) == "malformed_line").then(cut).otherwise(lines)
