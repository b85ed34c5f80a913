"""Erasure, one system at a time, for every erasure of a run at once: each function deletes a
batch of users from one place in one pass and returns each request's figures for its step
(counts, never values). Every function is idempotent: run twice, the second run finds nothing
and says so, which is what makes a crashed erasure resumable.

Order matters: the suppression list goes first (a re-ingest racing the erasure cannot bring
the user back), the vault goes last (its decrypted contact values are what the quarantine and
the file scan look for, and a resumed run still needs them).
"""

import re
import shutil
from dataclasses import dataclass

import duckdb
from cryptography.exceptions import InvalidTag

from privacy import _vault
from privacy._keyring import SecretKey, publish_salt
from privacy._pseudonymise import token
from weir import row_tokens
from weir.config import DataDir
from weir.dsr import _aggregates, _compact, _files, _scan
from weir.dsr._store import now_utc, subject_hash
from weir.publish import published_dir, update_published
from weir.sql import ident

DERIVED = ("staging", "intermediate", "marts", "snapshots", "test_failures")
# Handled by their own step, or never erased: the audit log is the evidence of the erasure
# (it never holds a token), dsr.* is the request record itself.
OWN_STEP = ("raw", "consent", "vault", "audit", "dsr", *DERIVED)
# Quarantined raw text is split into candidate identifiers this way to attribute it.
CANDIDATE = re.compile(r"[A-Za-z0-9_.@+\-]{3,64}")
VAULT_FIELDS = ("phone", "email")
DP_NOTE = (
    "DP releases already published are not retracted: their guarantee bounds what any one user's "
    "data changes in them; later releases are computed without this user."
)

RETRAIN_REASON = "erasure: a data-subject request (see its `models` step); retrain without the user"

Figures = dict[str, dict]  # request id -> that request's figures for one step


@dataclass(frozen=True, slots=True)
class Subject:
    request_id: str
    user_token: str


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a batch of users needs: the warehouse connection, keys, and whom."""

    con: duckdb.DuckDBPyConnection
    data_dir: DataDir
    hmac_key: SecretKey
    master: SecretKey
    subjects: tuple[Subject, ...]
    # (value, request id) read before the vault step shredded them, so the verification after it
    # still looks for the users' contact values (held in memory only, for the run)
    known: tuple[tuple[str, str], ...] = ()

    @property
    def tokens(self) -> list[str]:
        return [s.user_token for s in self.subjects]

    def request_of(self) -> dict[str, str]:
        return {s.user_token: s.request_id for s in self.subjects}

    def needles(self) -> dict[str, str]:
        """Every value to look for -> its request: the token and the contact values from the
        vault (or `known`, once it is shredded), decrypted in one lookup for the batch."""
        request_of = self.request_of()
        found = dict(request_of)
        ours = set(request_of.values())
        found.update((value, r) for value, r in self.known if r in ours)
        for (user_token, _), value in _vault.read_many(self.con, self.master, self.tokens, VAULT_FIELDS).items():
            if value:  # an empty value is in every file and every text
                found[value] = request_of[user_token]
        return found

    def each(self, figures: dict) -> Figures:
        return {s.request_id: figures for s in self.subjects}


def suppress(e: Erasure) -> Figures:
    e.con.executemany(
        "insert or ignore into dsr.suppressed values (?, ?, ?, now())",
        [[subject_hash(s.user_token), e.hmac_key.version, s.request_id] for s in e.subjects],
    )
    return e.each({"key_version": e.hmac_key.version})


def _erase_tables(e: Erasure, con: duckdb.DuckDBPyConnection, database: str, tables: list[str]) -> Figures:
    request_of = e.request_of()
    found: dict[str, dict] = {s.request_id: {} for s in e.subjects}
    for table in tables:
        for user_token, (deleted, blanked) in _scan.erase_in(con, database, table, e.tokens).items():
            found[request_of[user_token]][table] = {"deleted": deleted, "blanked": blanked}
    return {request_id: {"tables": tables_of} for request_id, tables_of in found.items()}


def _erase_schemas(e: Erasure, schemas: tuple[str, ...] | None, skip: tuple[str, ...] = ()) -> Figures:
    database = _db(e)
    tables = [
        t
        for t in _scan.base_tables(e.con, database, schemas)
        if t.split(".")[0] not in skip and t != "ingest.quarantine"
    ]
    return _erase_tables(e, e.con, database, tables)


def raw(e: Erasure) -> Figures:
    return _erase_schemas(e, ("raw",))


def derived(e: Erasure) -> Figures:
    """Intermediate and mart tables, incremental ones included: targeted deletes, no rebuild."""
    figures = _erase_schemas(e, DERIVED)
    return {r: {**f, "dp_releases": DP_NOTE} for r, f in figures.items()}


def other(e: Erasure) -> Figures:
    """Every other schema (ops, quality findings, ingest, main): anything that kept a token."""
    return _erase_schemas(e, None, skip=OWN_STEP)


def models(e: Erasure) -> Figures:
    """Retire every current model version trained on the users and drop them from the record of
    who trained which version (kept as token digests). The next training, which the published
    layer's update triggers (weir_model_training), runs without them. No registry: nothing to do."""
    if not _scan.has_schema(e.con, "ml"):
        return e.each({"versions": [], "superseded": [], "members_deleted": 0})
    from federated import registry  # deferred: the model code loads only where a model exists

    digest_of = {subject_hash(s.user_token): s.request_id for s in e.subjects}
    rows = e.con.execute(
        "select user_digest, list(distinct version order by version), count(*) from ml.model_members "
        "where user_digest in (select unnest(?)) group by 1",
        [list(digest_of)],
    ).fetchall()
    trained = {digest_of[d]: (versions, n) for d, versions, n in rows}
    superseded = registry.supersede_for_users(e.con, e.tokens, RETRAIN_REASON, now_utc())
    figures: Figures = {}
    for s in e.subjects:
        versions, members = trained.get(s.request_id, ([], 0))
        figures[s.request_id] = {
            "versions": versions,
            "superseded": [v for v in superseded if v in versions],
            "members_deleted": members,
            "retrain": "requested: the next training runs without the user" if versions else None,
        }
    return figures


def aggregates(e: Erasure) -> Figures:
    """Recompute the tables that count users without naming them (weir/dsr/_aggregates.py)."""
    return e.each({"recomputed": _aggregates.recompute(e.con, _aggregates.compiled_dir(e.data_dir))})


def consent(e: Erasure) -> Figures:
    """Delete the users' consent history; the proof of erasure is each request's record."""
    counts = dict.fromkeys(e.tokens, 0)
    if "consent.ledger" in _scan.base_tables(e.con, _db(e), ("consent",)):
        rows = e.con.execute(
            "delete from consent.ledger where user_token in (select unnest(?)) returning user_token", [e.tokens]
        ).fetchall()
        for (user_token,) in rows:
            counts[user_token] += 1
    if "consent.bases" in _scan.base_tables(e.con, _db(e), ("consent",)):  # declared lawful bases
        e.con.execute("delete from consent.bases where user_token in (select unnest(?))", [e.tokens])
    return {s.request_id: {"events_deleted": counts[s.user_token]} for s in e.subjects}


def _db(e: Erasure) -> str:
    return e.con.execute("select current_database()").fetchone()[0]


def quarantine(e: Erasure) -> Figures:
    """Delete the users' quarantined rows: parsed ones by token in their sanitised text;
    unparsable ones by decrypting them and testing each identifier-like part (a user token
    under the current key, or a contact value). Rows that do not decrypt cannot be attributed
    to anyone and are deleted too (counted on the batch's first request): no one can read them."""
    counts = {s.request_id: {"parsed_deleted": 0, "unparsable_deleted": 0} for s in e.subjects}
    if "ingest.quarantine" not in _scan.base_tables(e.con, _db(e), ("ingest",)):
        return counts
    request_of = e.request_of()
    params = {"pattern": _scan.pattern(e.tokens)}
    where = "regexp_matches(sanitised_text, $pattern)"
    for user_token, n in e.con.execute(
        f"select regexp_extract(sanitised_text, $pattern), count(*) from ingest.quarantine where {where} group by 1",
        params,
    ).fetchall():
        counts[request_of[user_token]]["parsed_deleted"] += n
    e.con.execute(f"delete from ingest.quarantine where {where}", params)
    for key, request_id in _unparsable(e):
        e.con.execute("delete from ingest.quarantine where source = ? and batch_id = ? and file = ? and line = ?", key)
        counts[request_id or e.subjects[0].request_id]["unparsable_deleted"] += 1
    return counts


def _unparsable(e: Erasure) -> list[tuple[tuple, str | None]]:
    """(row key, request) of each unparsable row that is a user's (request None: undecryptable)."""
    needles = e.needles()
    doomed = []
    rows = e.con.execute(
        "select source, batch_id, file, line, encrypted_raw from ingest.quarantine where encrypted_raw is not null"
    ).fetchall()
    for source, batch, file, line, sealed in rows:  # unparsable rows only: a small set
        key = (source, batch, file, line)
        try:
            aad = f"quarantine|{source}|{file}|{line}".encode()
            text = _vault._open(e.master.material, sealed, aad).decode(errors="replace")
        except InvalidTag:
            doomed.append((key, None))
            continue
        for part in set(CANDIDATE.findall(text)):
            owner = needles.get(part) or needles.get(token(e.hmac_key, "user", part))
            if owner:
                doomed.append((key, owner))
                break
    return doomed


def vault(e: Erasure) -> Figures:
    """Crypto-shred: delete each user's data key (backups of the vault become unreadable too)
    and the ciphertexts keyed by their token."""
    shredded = _vault.shred_many(e.con, e.tokens)  # creates the vault tables where there were none
    contacts = dict.fromkeys(e.tokens, 0)
    deleted = e.con.execute(
        "delete from vault.contacts where user_token in (select unnest(?)) returning user_token", [e.tokens]
    )
    for (user_token,) in deleted.fetchall():
        contacts[user_token] += 1
    return {
        s.request_id: {"key_shredded": s.user_token in shredded, "contacts_deleted": contacts[s.user_token]}
        for s in e.subjects
    }


def published(e: Erasure) -> Figures:
    """Delete the users from one new published version, swap it in, and remove every older one."""
    root = published_dir(e.data_dir)
    if not (root / "current").is_symlink():
        return e.each({"tables": {}, "versions_removed": 0})
    figures: Figures = {}

    def write(con: duckdb.DuckDBPyConnection) -> list[str]:
        figures.update(_erase_tables(e, con, "pub", _scan.base_tables(con, "pub")))
        # rows published with row-bound pseudonyms hold no token to match: recompute them (only
        # for rows no longer as in the warehouse mart, which the `derived` step already erased)
        request_of = e.request_of()
        for table, users in row_tokens.erase(con, "pub", publish_salt(e.data_dir.keys), e.tokens, _db(e)).items():
            for user_token, (deleted, blanked) in users.items():
                figures[request_of[user_token]]["tables"][table] = {"deleted": deleted, "blanked": blanked}
        changed = sorted({t.split(".")[1] for f in figures.values() for t in f["tables"]})
        refreshed = _aggregates.refresh_published(con)
        if "main.published_marts" in _scan.base_tables(con, "pub"):
            for name in changed:
                con.execute(
                    f"update pub.main.published_marts set row_count = (select count(*) from pub.main.{ident(name)}) "
                    "where mart = ?",
                    [name],
                )
        for f in figures.values():
            f["aggregates"] = refreshed
        return sorted({*changed, *refreshed})

    update_published(e.con, e.data_dir, write)
    current = (root / "current").resolve().name
    _compact.compact_attached(e.con, root / "versions" / current / "published.duckdb")
    removed = 0
    for folder in (root / "versions").iterdir():  # older versions still hold the users
        if folder.name != current:
            shutil.rmtree(folder)
            removed += 1
    return {r: {**f, "versions_removed": removed} for r, f in figures.items()}


def files(e: Erasure) -> Figures:
    """Delete every file under the data dir that holds a token or a contact value of a user
    (dbt artefacts, GX validation results and Data Docs pages, earlier access packages, logs);
    the next dbt run or docs build writes them again without the user. One walk for the batch."""
    removed: dict[str, list[str]] = {s.request_id: [] for s in e.subjects}
    for path, owners in _files.holding(e.data_dir.root, e.needles()):
        path.unlink()
        for request_id in owners:
            removed[request_id].append(str(path.relative_to(e.data_dir.root)))
    return {r: {"files_deleted": sorted(paths)} for r, paths in removed.items()}


def residue(e: Erasure) -> dict[str, dict[str, int]]:
    """Where each user can still be found: request -> {table or file: rows} (empty: verified).
    One pass over each table and each file for the whole batch."""
    needles = e.needles()
    found: dict[str, dict[str, int]] = {}

    def add(where: str, hits: dict[str, int]) -> None:
        for needle, n in hits.items():
            place = found.setdefault(needles[needle], {})
            place[where] = place.get(where, 0) + n

    skip = ("audit.log", "dsr.requests", "dsr.steps", "dsr.suppressed")
    for table, hits in _scan.traces(e.con, _db(e), list(needles), skip=skip).items():
        add(table, hits)
    pub = published_dir(e.data_dir) / "published.duckdb"
    if pub.exists():
        e.con.execute("attach ? as pub_check (read_only)", [str(pub)])
        try:
            for table, hits in _scan.traces(e.con, "pub_check", list(needles)).items():
                add(f"published:{table}", hits)
            salt = publish_salt(e.data_dir.keys)
            request_of = e.request_of()  # row-bound pseudonyms: recomputed for rows not as in the warehouse
            for table, users in row_tokens.found(e.con, "pub_check", salt, e.tokens, _db(e)).items():
                for user_token, columns in users.items():
                    rows = sum(len(keys) for keys in columns.values())
                    found.setdefault(request_of[user_token], {})[f"published:{table}"] = rows
        finally:
            e.con.execute("detach pub_check")
    for path, owners in _files.holding(e.data_dir.root, needles):
        for request_id in owners:
            found.setdefault(request_id, {})[str(path.relative_to(e.data_dir.root))] = 1
    return found


SYSTEMS = (
    ("suppress", suppress),
    ("quarantine", quarantine),
    ("raw", raw),
    ("consent", consent),
    ("derived", derived),
    ("models", models),
    ("other", other),
    ("aggregates", aggregates),
    ("published", published),
    ("files", files),
    ("vault", vault),
)
