"""Cut a generated batch in time: the rows from a day on become a later batch of their own.

One generated world, delivered as history plus a daily batch, is what a production feed looks
like: the same people, and a daily batch that holds only that day's events, orders, sign-ups
and consent changes. Generating the day separately would re-send every user's sign-up consent.
"""

from datetime import date
from pathlib import Path

import polars as pl

from weir.contract import load_contract


def time_column(source: str) -> str | None:
    """The input column a source's rows are placed in time by (none: the rows stay in history)."""
    contract = load_contract(source)
    return next((c.name for c in contract.kept if c.type == "timestamp" and not c.future_allowed), None)


def split_off(landing: Path, batch_id: str, cut: date, out_landing: Path) -> str:
    """Move the rows of `batch_id` at or after `cut` (UTC) to a new batch under `out_landing`.

    Every file keeps its format (JSON lines byte for byte). Meant for generated batches without
    injected bad rows (`bad_rate` 0): a malformed CSV line would not parse. Returns the new batch id."""
    new_batch = f"{batch_id}-from-{cut:%Y%m%d}"
    for part in sorted(landing.glob(f"*/{batch_id}/part-*")):
        source = part.parent.parent.name
        column = time_column(source)
        if column is None:
            continue
        target = out_landing / source / new_batch / part.name
        target.parent.mkdir(parents=True, exist_ok=True)
        _split_file(part, column, cut.isoformat(), target)
    for folder in out_landing.glob(f"*/{new_batch}"):
        if not any(folder.iterdir()):
            folder.rmdir()
    return new_batch


def _split_file(path: Path, column: str, cut: str, target: Path) -> None:
    if path.suffix == ".jsonl":
        lines = pl.read_csv(
            path, has_header=False, separator="\x01", quote_char=None, schema={"line": pl.String}
        ).get_column("line")
        later = (lines.str.json_path_match(f"$.{column}").str.slice(0, 10) >= cut).fill_null(False)
        _write_lines(lines.filter(~later), path)
        _write_lines(lines.filter(later), target)
        return
    read, write = {
        ".csv": (lambda p: pl.read_csv(p, infer_schema=False), pl.DataFrame.write_csv),
        ".parquet": (pl.read_parquet, pl.DataFrame.write_parquet),
    }[path.suffix]
    frame = read(path)
    stamp = frame.get_column(column)
    day = stamp.str.slice(0, 10) if stamp.dtype == pl.String else stamp.dt.date().cast(pl.String)
    later = (day >= cut).fill_null(False)
    if later.any():
        write(frame.filter(later), target)
        write(frame.filter(~later), path)


def _write_lines(lines: pl.Series, path: Path) -> None:
    """Lines as they were (no quoting); a part left empty is removed, not written."""
    if lines.is_empty():
        path.unlink(missing_ok=True)
        return
    pl.DataFrame({"line": lines}).write_csv(path, include_header=False, quote_style="never")
