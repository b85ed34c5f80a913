"""A dbt-duckdb plugin: dbt's on-run-end hook writes the build's audit entry in the transaction
that records the build's results (ops.dbt_results), whether the CLI or an Airflow task ran dbt.

Jinja cannot sign, so the plugin gives the hook's SQL one function, `weir_audit_entry`, that
turns the entry's fields into a signed row (JSON); the hook inserts it next to the results.
The key is the data dir's signing key (the warehouse's folder, or $WEIR_KEYS_DIR); it is
created only while the log is empty and no head was ever witnessed, like weir.pipeline does.
"""

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dbt.adapters.duckdb.plugins import BasePlugin

from privacy import load_or_create_signing_key
from weir import audit
from weir.config import DataDir, resolve_data_dir

WAREHOUSE_ENV = "WEIR_WAREHOUSE"  # set by weir.dbt.connection_env for every dbt run


def entry_row(
    key: Ed25519PrivateKey,
    last_seq: int | None,
    last_hash: str | None,
    actor: str,
    action: str,
    inputs: str,
    figures: str,
) -> str:
    """The next signed entry as JSON: fields, entry_hash and signature (inputs/figures: JSON text)."""
    fields: dict[str, Any] = {
        "seq": (last_seq or 0) + 1,
        "recorded_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "inputs": audit.canonical(json.loads(inputs)),
        "figures": audit.canonical(json.loads(figures)),
        "prev_hash": last_hash or audit.GENESIS,
    }
    digest, signature = audit.seal(key, fields)
    return json.dumps({**fields, "entry_hash": digest, "signature": signature})


class Plugin(BasePlugin):
    """Registers `weir_audit_entry(last_seq, last_hash, actor, action, inputs, figures)`."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._data_dir: DataDir = resolve_data_dir(Path(os.environ[WAREHOUSE_ENV]).parent)
        self._key: Ed25519PrivateKey | None = None

    def _signing_key(self, log_empty: bool) -> Ed25519PrivateKey:
        if self._key is None:
            signed = not log_empty or self._data_dir.audit_witness.exists()
            self._key = load_or_create_signing_key(self._data_dir.keys, create=not signed)
        return self._key

    def _entry(self, last_seq, last_hash, actor, action, inputs, figures) -> str:  # noqa: ANN001 - SQL values
        return entry_row(self._signing_key(last_seq is None), last_seq, last_hash, actor, action, inputs, figures)

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute(audit.DDL)
        conn.create_function(
            "weir_audit_entry",
            self._entry,
            ["BIGINT", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR"],
            "VARCHAR",
            null_handling="special",  # an empty log passes NULLs: the first entry
            side_effects=True,  # a fresh timestamp and signature per call
        )
