"""Terminal tables shared by the CLI commands (no logic beyond formatting)."""

from rich.console import Console
from rich.table import Table

from weir.ingest import LoadResult


def print_ledger(console: Console, results: list[LoadResult]) -> None:
    """Rows in / loaded / quarantined per batch, with the most common quarantine reasons."""
    batches = sorted({r.batch_id for r in results})
    table = Table(
        "source", "status", "rows in", "loaded", "quarantined", title=f"Load ledger — batch {', '.join(batches)}"
    )
    table.add_column("top reason", no_wrap=True)
    for r in results:
        top = sorted(r.reasons.items(), key=lambda kv: -kv[1])
        reason = f"{top[0][0]} {top[0][1]:,}" + (f" (+{len(top) - 1})" if len(top) > 1 else "") if top else "-"
        status = "skipped" if r.status == "already_loaded" else r.status
        table.add_row(r.source, status, f"{r.rows_in:,}", f"{r.rows_loaded:,}", f"{r.rows_quarantined:,}", reason)
    console.print(table)
    for r in results:
        if r.error:  # failed or skipped batches: what went wrong and the fix
            console.print(f"{r.source}/{r.batch_id} {r.status}: {r.error}", highlight=False, soft_wrap=True)
