"""The access package: everything held about one user, as JSON plus one CSV per table.

Rows are the user's own: those whose `user_token` is theirs, or, in tables without an owner
column, those naming them as a party (a follow edge, a share cascade they started). Rows of
other users that merely mention them (an order they referred) are not theirs to receive. The
vault's contact values are decrypted into the package, and the model versions trained on the
user are listed (from the registry's membership digests); the folder is 0700, files 0600.
"""

import csv
import io
import json
from pathlib import Path

import duckdb

from privacy import _vault
from privacy._keyring import SecretKey
from privacy._names import NAME_FIELD
from weir.config import DataDir, make_private_dir, write_private
from weir.dsr import _scan
from weir.dsr._erase import VAULT_FIELDS

SCHEMAS = ("raw", "intermediate", "marts", "consent")


def package_dir(data_dir: DataDir, request_id: str) -> Path:
    return data_dir.root / "dsr" / "access" / request_id


def collect(con: duckdb.DuckDBPyConnection, master: SecretKey, user_token: str) -> dict[str, list[dict]]:
    """table -> the user's rows (as dicts), plus `vault.contacts` decrypted."""
    return collect_many(con, master, [user_token])[user_token]


def collect_many(
    con: duckdb.DuckDBPyConnection, master: SecretKey, user_tokens: list[str]
) -> dict[str, dict[str, list[dict]]]:
    """`collect` for many users: token -> table -> rows. One read of each table, one vault
    lookup and one registry lookup for all of them (a run's access requests are many; a read
    per request and table scanned the warehouse once per request)."""
    database = con.execute("select current_database()").fetchone()[0]
    held: dict[str, dict[str, list[dict]]] = {t: {} for t in user_tokens}
    for table in _scan.base_tables(con, database, SCHEMAS):
        relation = _scan.rows_of_many(con, database, table, user_tokens)
        if relation is None:
            continue
        names = relation.columns[:-1]  # the last is whose row it is
        for *values, user_token in relation.fetchall():
            held[user_token].setdefault(table, []).append(dict(zip(names, values, strict=True)))
    fields = (*VAULT_FIELDS, NAME_FIELD)  # names: kept to redact them (privacy/_names.py)
    values = _vault.read_many(con, master, user_tokens, fields)
    trained = _models_trained_on(con, user_tokens)
    for user_token, tables in held.items():
        contacts = [{"field": f, "value": values[(user_token, f)]} for f in fields if (user_token, f) in values]
        if contacts:
            tables["vault.contacts"] = contacts
        if trained.get(user_token):
            tables["ml.model_versions"] = trained[user_token]
    return held


def _models_trained_on(con: duckdb.DuckDBPyConnection, user_tokens: list[str]) -> dict[str, list[dict]]:
    """Per user, the model versions whose training set included them, with their status (none
    when no model was ever trained: the registry is not created just to look)."""
    if not _scan.has_schema(con, "ml"):
        return {}
    from federated import registry  # deferred: the model code loads only where a model exists

    versions = {v.version: v for v in registry.versions(con)}
    return {
        user_token: [
            {"version": name, "status": versions[name].status, "created_at": versions[name].created_at}
            for name in names
        ]
        for user_token, names in registry.models_trained_on_many(con, user_tokens).items()
    }


def write_package(data_dir: DataDir, request_id: str, held: dict[str, list[dict]]) -> Path:
    """Write `package.json` and `<schema>.<table>.csv` files; returns the folder."""
    folder = make_private_dir(package_dir(data_dir, request_id))
    for path in folder.iterdir():  # a re-run replaces an interrupted package whole
        path.unlink()
    summary = {"request_id": request_id, "tables": {t: len(r) for t, r in held.items()}, "data": held}
    text = json.dumps(summary, indent=2, default=str, ensure_ascii=False)
    write_private(folder / "package.json", text.encode("utf-8"))
    for table, rows in held.items():
        path = folder / f"{table}.csv"
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        write_private(path, buffer.getvalue().encode("utf-8"))
    return folder
