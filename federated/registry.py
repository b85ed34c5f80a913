"""The model registry (warehouse schema `ml`): versions, their cards, whom each was trained on.

A version is written only for a finished run, in the caller's transaction with its budget spend
and audit entry. Who trained a version is kept as SHA-256 digests of user tokens, so a data
subject request holding a token can find (access) and retire (erasure) every version trained on
that user without the registry holding tokens itself.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np

from federated.task import token_digest
from weir.config import PRIVATE_FILE_MODE, DataDir, make_private_dir
from weir.errors import ArtefactTampered, UnknownModelVersion

DDL = """
create schema if not exists ml;
create table if not exists ml.model_versions (
    version varchar primary key,
    model varchar not null,
    created_at timestamptz not null,
    status varchar not null check (status in ('current', 'superseded')),
    superseded_at timestamptz,
    superseded_reason varchar,
    artefact_path varchar not null,
    artefact_sha256 varchar not null,
    spend_id varchar,
    card varchar not null
);
create table if not exists ml.model_members (
    version varchar not null,
    user_digest varchar not null
);
"""
MODEL = "purchase_propensity"


@dataclass(frozen=True, slots=True)
class Version:
    version: str
    status: str
    created_at: datetime
    superseded_reason: str | None
    card: dict


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def models_dir(data_dir: DataDir) -> Path:
    return make_private_dir(data_dir.root / "models")


def write_artefact(data_dir: DataDir, version: str, weights: np.ndarray) -> tuple[Path, str]:
    """Save the weights (owner-only) and return the file and its SHA-256."""
    path = models_dir(data_dir) / f"{version}.npy"
    with open(path, "wb") as handle:
        np.save(handle, weights, allow_pickle=False)
    path.chmod(PRIVATE_FILE_MODE)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def register_in(
    con: duckdb.DuckDBPyConnection, version: str, now: datetime, artefact: tuple[Path, str], spend_id, card: dict,
    members: list[bytes],
) -> None:  # fmt: skip
    """Add the version as current (earlier ones stay current until superseded) with its members."""
    ensure(con)
    con.execute(
        "insert into ml.model_versions values (?, ?, ?, 'current', null, null, ?, ?, ?, ?)",
        [version, MODEL, now, str(artefact[0]), artefact[1], spend_id, json.dumps(card, sort_keys=True)],
    )
    digests = [d.hex() for d in members]
    con.execute(
        "insert into ml.model_members select ?, unnest(?::varchar[])",
        [version, digests],
    )


def versions(con: duckdb.DuckDBPyConnection) -> list[Version]:
    ensure(con)
    rows = con.execute(
        "select version, status, created_at, superseded_reason, card from ml.model_versions order by created_at"
    ).fetchall()
    return [Version(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def get(con: duckdb.DuckDBPyConnection, version: str) -> Version:
    found = [v for v in versions(con) if v.version == version]
    if not found:
        known = ", ".join(v.version for v in versions(con)) or "none yet (run `weir model train`)"
        raise UnknownModelVersion(f'No model version "{version}"; registered versions: {known}.')
    return found[0]


def latest_current(con: duckdb.DuckDBPyConnection) -> Version | None:
    current = [v for v in versions(con) if v.status == "current"]
    return current[-1] if current else None


def load_weights(con: duckdb.DuckDBPyConnection, version: str) -> np.ndarray:
    """The version's weights, refused if the file is missing or its SHA-256 differs."""
    get(con, version)
    path, expected = con.execute(
        "select artefact_path, artefact_sha256 from ml.model_versions where version = ?", [version]
    ).fetchone()
    file = Path(path)
    actual = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "missing"
    if actual != expected:
        raise ArtefactTampered(
            f"Model file {file} of version {version} fails its checksum (expected sha256 {expected[:12]}…, "
            f"got {actual[:12]}…); it was changed or removed: retrain with `weir model retrain --reason tampered`."
        )
    with open(file, "rb") as handle:
        return np.load(handle, allow_pickle=False)


def models_trained_on(con: duckdb.DuckDBPyConnection, user_token: str) -> list[str]:
    """Versions whose training set included the user (for a data subject access request)."""
    return models_trained_on_many(con, [user_token])[user_token]


def models_trained_on_many(con: duckdb.DuckDBPyConnection, user_tokens: list[str]) -> dict[str, list[str]]:
    """`models_trained_on` for many users with one lookup: token -> versions, in order."""
    ensure(con)
    digest_of = {token_digest(t).hex(): t for t in user_tokens}
    rows = con.execute(
        "select distinct user_digest, version from ml.model_members where user_digest in (select unnest(?)) order by 2",
        [list(digest_of)],
    ).fetchall()
    found: dict[str, list[str]] = {t: [] for t in user_tokens}
    for digest, version in rows:
        found[digest_of[digest]].append(version)
    return found


def supersede_for_users(
    con: duckdb.DuckDBPyConnection, user_tokens: list[str], reason: str, now: datetime
) -> list[str]:
    """Mark every current version trained on any of the users superseded, and drop those users'
    membership rows (erasure). Runs in the caller's transaction; returns the versions marked."""
    ensure(con)
    digests = [token_digest(t).hex() for t in user_tokens]
    return _supersede(con, digests, reason, now, forget=True)


def _supersede(
    con: duckdb.DuckDBPyConnection, digests: list[str], reason: str, now: datetime, forget: bool
) -> list[str]:
    hit = con.execute(
        "select distinct m.version from ml.model_members as m join ml.model_versions as v using (version) "
        "where v.status = 'current' and list_contains(?::varchar[], m.user_digest) order by 1",
        [digests],
    ).fetchall()
    marked = [r[0] for r in hit]
    con.execute(
        "update ml.model_versions set status = 'superseded', superseded_at = ?, superseded_reason = ? "
        "where list_contains(?::varchar[], version)",
        [now, reason, marked],
    )
    if forget:
        con.execute("delete from ml.model_members where list_contains(?::varchar[], user_digest)", [digests])
    return marked


def supersede_withdrawn(con: duckdb.DuckDBPyConnection, reason: str, now: datetime) -> list[str]:
    """Mark superseded every current version trained on a user whose model_training consent no
    longer holds now (a withdrawal), or who is gone from the consent ledger (an erasure)."""
    ensure(con)
    gone = con.execute(
        "select distinct m.user_digest from ml.model_members as m join ml.model_versions as v using (version) "
        "where v.status = 'current' and m.user_digest not in (select sha256(i.user_token) from consent.intervals "
        "as i where i.purpose = 'model_training' and i.status = 'granted' and i.valid_from <= ? and ? < i.valid_to)",
        [now, now],
    ).fetchall()
    return _supersede(con, [r[0] for r in gone], reason, now, forget=False)
