"""Ingest landing batches into the `raw` schema under their data contracts."""

from weir.ingest._load import LoadResult, load_batch
from weir.ingest._rotate import RotationResult, rotate_keys
from weir.ingest._run import SOURCE_ORDER, failure_message, ingest, load_ledger, release

__all__ = [
    "SOURCE_ORDER",
    "LoadResult",
    "RotationResult",
    "failure_message",
    "ingest",
    "load_batch",
    "load_ledger",
    "release",
    "rotate_keys",
]
