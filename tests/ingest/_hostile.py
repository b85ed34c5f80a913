"""Helpers for the hostile-input tests: what the warehouse holds, and where key bytes went."""

import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from privacy._keyring import current_hmac_key, vault_master_key
from weir.cli import app
from weir.config import DataDir

EVENTS = [
    {"eid": f"X{i}", "uid": "U10000001", "kind": "view", "time": f"2026-10-01 00:00:0{i}", "via": "feed"}
    for i in range(3)
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(data_dir: DataDir, *args: str):
    """The real CLI, in process."""
    return CliRunner().invoke(app, [*args, "--data-dir", str(data_dir.root)])


def flat(output: str) -> str:
    return " ".join(output.replace("│", " ").split())


def snapshot(data_dir: DataDir) -> dict[str, tuple]:
    """Every table of the warehouse: its columns and its row count."""
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
        ).fetchall()
        return {
            f"{s}.{t}": (
                tuple(r[0] for r in con.execute(f'describe "{s}"."{t}"').fetchall()),
                con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0],
            )
            for s, t in tables
        }


def key_forms(data_dir: DataDir) -> list[bytes]:
    """The secret keys as raw bytes and as hex in both cases (DuckDB's hex() is upper case)."""
    forms = []
    for key in (current_hmac_key(data_dir.keys), vault_master_key(data_dir.keys)):
        forms += [key.material, key.material.hex().encode(), key.material.hex().upper().encode()]
    return forms


def files_holding_keys(roots: list[Path], data_dir: DataDir, output: str) -> list[str]:
    """Files (outside the keys dir) and CLI output that contain any form of a key."""
    forms = key_forms(data_dir)
    hits = [f"output: {form!r}" for form in forms if form.decode(errors="replace") in output]
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink() and not path.is_relative_to(data_dir.keys):
                data = path.read_bytes()
                hits += [str(path) for form in forms if form in data]
    return hits
