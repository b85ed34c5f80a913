"""The publish gate: Great Expectations suites on every publishable mart, between dbt and publish.

The marts, the consent intervals, the known users and the linkable values are copied into a snapshot DuckDB file
that GX opens read-only: GX cannot open the warehouse itself in a process that already holds
it read-write (dbt in-process, the publisher), because DuckDB allows one configuration per file
per process. Results go to `quality.runs` / `quality.findings`; `weir publish` only publishes a
mart whose latest gate run passed after its latest build.

Linkability: a published value that is a landing identifier (an order id, a share id, a user
id...) joins the row back to the source system and so to the person. Raw ids are never stored
in the warehouse, but every identifier of the contracts is stored as its keyed token, so the
token table *is* a keyed fingerprint set of the landing identifiers: each published text value
is tokenised under every identifier kind with the current key, and one that matches a token in
`raw` is a landing identifier. Vectorised in DuckDB over distinct values, and no landing file
is read at publish time. Values shaped like tokens are skipped: they are the pseudonyms
published by design (checked against the known users where they name one).

Re-identification without any key: a row-level mart names people (user-token columns) next to
what someone holding the source data knows of each row (its quasi-identifiers, declared in the
mart's `meta.quasi_identifiers`). Every class of equal quasi-identifiers must name at least k
distinct people in each user-token column that is set in it (k from `weir.config.k_anonymity`),
else a join on them singles the token out. A mart with a smaller class, or one naming people
without declaring its quasi-identifiers, is held back (the models suppress small classes
themselves, so a failure here means a model or its declaration is wrong). Such a mart must
also declare its row key (`meta.row_key`): its published copy binds each person's token to
the row (weir/row_tokens.py), since a token shared by rows in several classes lets an outsider
intersect them and single its owner out.

Small cells: an aggregate mart declares the columns that count distinct people (column meta
`counts_people`); a row counting 1 to k-1 people in any of them holds the mart back (a cell
of one buyer publishes that buyer's purchase to anyone who knows they bought that day).
"""

import os
from datetime import datetime

import duckdb

from expectations import build_docs, validate
from expectations._mart_suites import TOKEN_CATEGORY, MartSpec, mart_suite
from privacy._consent import ensure_ledger
from privacy._keyring import hmac_keys
from privacy._pseudonymise import KINDS, NORMALISE_SQL, TOKEN_PATTERN, build_token_map
from weir.config import DataDir, k_anonymity
from weir.contract import all_contracts
from weir.dbt import manifest_path
from weir.manifest import ancestors, load, marts, meta
from weir.publish import consent_tests, published_tables
from weir.quality import Checked, record
from weir.sql import ident, qualified
from weir.warehouse import connect, tables

REFERENCE = ("events", "ts")  # raw's newest event: what a fresh mart keeps up with


def gate_marts(data_dir: DataDir, names: list[str] | None = None) -> list[Checked]:
    """Validate the publishable marts that exist (or just `names`); record and return the results."""
    manifest = load(manifest_path(data_dir))
    nodes = {n["name"]: n for n in marts(manifest) if meta(n).get("publish") and (names is None or n["name"] in names)}
    k = k_anonymity()
    snapshot = data_dir.quality / f".mart_gate.{os.getpid()}.duckdb"  # one per process: runs never share
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.unlink(missing_ok=True)
    con = connect(data_dir.warehouse)
    try:
        built = tables(con, "marts")
        nodes = {name: n for name, n in nodes.items() if name in built}
        reference = _newest_event(con)
        _linked_values(con, data_dir, sorted(nodes))
        _small_classes(con, nodes, k)
        _small_cells(con, nodes, k)
        _snapshot(con, snapshot, sorted(nodes))
    finally:
        con.close()
    previous = published_tables(data_dir)
    tests = consent_tests(manifest)
    checked = []
    try:
        for name, node in sorted(nodes.items()):
            sources = {a.split(".")[-1] for a in ancestors(manifest, node["unique_id"]) if a.startswith("source.")}
            consent = tests.get(node["unique_id"], [])
            spec = _spec(node, consent, _allowed_values(sources), previous.get(name), reference, k)
            result = validate(snapshot, mart_suite(spec), f'select * from main."{name}"', docs=data_dir.quality)
            checked.append(Checked(name, None, result))
    finally:
        snapshot.unlink(missing_ok=True)
    record(data_dir, checked)
    build_docs(data_dir.quality)
    return checked


def _newest_event(con: duckdb.DuckDBPyConnection) -> datetime | None:
    source, column = REFERENCE
    if source not in tables(con, "raw"):
        return None
    return con.execute(f"select max({column}) from raw.{source}").fetchall()[0][0]


def _snapshot(con: duckdb.DuckDBPyConnection, path, names: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Copy the marts and the reference tables the checks read into the snapshot file."""
    ensure_ledger(con)
    users = (
        "select user_token from raw.users" if "users" in tables(con, "raw") else "select null::varchar as user_token"
    )
    con.execute("attach ? as snap", [str(path)])
    try:
        con.execute("create schema snap.consent; create schema snap.gate")
        con.execute("create table snap.consent.intervals as select * from consent.intervals")
        con.execute(f"create table snap.gate.known_users as select distinct user_token from ({users})")
        con.execute("create table snap.gate.linked as select * from _linked")
        con.execute("create table snap.gate.small_classes as select * from _small_classes")
        con.execute("create table snap.gate.small_cells as select * from _small_cells")
        for name in names:
            con.execute(f'create table snap.main."{name}" as select * from marts."{name}"')
    finally:
        con.execute("detach snap")


def _linked_values(
    con: duckdb.DuckDBPyConnection, data_dir: DataDir, names: list[str], where: tuple[str, str] | None = None
) -> None:
    """Temp table `_linked(mart, column_name, value, kind)`: the marts' text values that are a
    landing identifier of some kind (see the module docstring). `where` (catalog, schema) reads
    the tables elsewhere than the warehouse's `marts`: the auditor's report scans the published
    copies, attached as `pub`."""
    con.execute("create or replace temp table _linked (mart varchar, column_name varchar, value varchar, kind varchar)")
    keys = hmac_keys(data_dir.keys)
    stored = _stored_tokens(tables(con, "raw"))
    if not keys or not stored:
        return
    _published_text(con, names, where)
    key = keys[max(keys)]
    for kind in KINDS:
        if kind not in stored:
            continue
        build_token_map(con, "_fingerprints", "select value from _published_values", kind, key)
        con.execute(
            "insert into _linked select p.mart, p.column_name, p.value, ? from _published_values p "
            "join _fingerprints f on f.value = p.value "
            # a value that normalises to nothing (no digits, for a phone) names no identifier
            f"where {NORMALISE_SQL[kind].format(v='p.value')} <> '' "
            f"and f.token in ({' union all '.join(stored[kind])})",
            [kind],
        )


def _small_classes(con: duckdb.DuckDBPyConnection, nodes: dict[str, dict], k: int) -> None:
    """Temp table `_small_classes(mart, classes, rows_in)`: per mart declaring quasi-identifiers,
    its classes naming fewer than k distinct people in some user-token column set in them."""
    con.execute("create or replace temp table _small_classes (mart varchar, classes bigint, rows_in bigint)")
    for name, node in sorted(nodes.items()):
        quasi, people = meta(node).get("quasi_identifiers"), _people(node)
        if not quasi or not people or not set(quasi) <= set(node["columns"]):  # the suite says what is wrong
            continue
        small = " or ".join(f"(count({ident(p)}) > 0 and count(distinct {ident(p)}) < $k)" for p in people)
        con.execute(
            f"insert into _small_classes select $mart, count(*), coalesce(sum(n), 0) from (select count(*) as n "
            f"from {qualified('marts', name)} group by {', '.join(ident(q) for q in quasi)} having {small})",
            {"mart": name, "k": k},
        )


def _small_cells(con: duckdb.DuckDBPyConnection, nodes: dict[str, dict], k: int) -> None:
    """Temp table `_small_cells(mart, cells)`: per aggregate mart, its rows where a column
    counting distinct people (column meta `counts_people`) counts 1 to k-1 of them."""
    con.execute("create or replace temp table _small_cells (mart varchar, cells bigint)")
    for name, node in sorted(nodes.items()):
        counts = _people_counts(node)
        if counts:
            small = " or ".join(f"({ident(c)} > 0 and {ident(c)} < $k)" for c in counts)
            con.execute(
                f"insert into _small_cells select $mart, count(*) from {qualified('marts', name)} where {small}",
                {"mart": name, "k": k},
            )


def _people_counts(node: dict) -> list[str]:
    """The columns counting distinct people (a cell of 1 to k-1 of them singles someone out)."""
    return [c for c, col in node["columns"].items() if meta(col).get("counts_people")]


def _people(node: dict) -> list[str]:
    """The columns naming a person: pseudonymous user tokens."""
    return [c for c, col in node["columns"].items() if meta(col).get("category") == TOKEN_CATEGORY]


def _stored_tokens(raw: set[str]) -> dict[str, list[str]]:
    """Identifier kind -> queries of the raw columns holding its tokens."""
    stored: dict[str, list[str]] = {}
    for contract in all_contracts():
        if contract.source in raw:
            for c in contract.kept:
                if c.treatment in ("token", "vault"):
                    stored.setdefault(c.kind, []).append(
                        f"select {ident(c.out_name)} from raw.{ident(contract.source)}"
                    )
    return stored


def _published_text(con: duckdb.DuckDBPyConnection, names: list[str], where: tuple[str, str] | None) -> None:
    """Temp table `_published_values(mart, column_name, value)`: distinct text values that are
    not tokens, of every column of the marts (in `where`, default the warehouse's `marts`)."""
    con.execute("create or replace temp table _published_values (mart varchar, column_name varchar, value varchar)")
    catalog, schema = where or (con.execute("select current_database()").fetchone()[0], "marts")
    for name in names:
        text = con.execute(
            "select column_name from information_schema.columns where table_catalog = ? and table_schema = ? "
            "and table_name = ? and data_type = 'VARCHAR'",
            [catalog, schema, name],
        ).fetchall()
        for (column,) in text:
            value = ident(column)
            con.execute(
                f"insert into _published_values select distinct ?, ?, {value} from {qualified(catalog, schema, name)} "
                f"where {value} is not null and not regexp_full_match({value}, '{TOKEN_PATTERN[1:-1]}')",
                [name, column],
            )


def _allowed_values(sources: set[str]) -> dict[str, list[str]]:
    """Column -> allowed values, from the data contracts (the one place value sets are declared)
    of the sources upstream of a mart."""
    allowed: dict[str, list[str]] = {}
    for contract in all_contracts():
        if contract.source not in sources:
            continue
        for column in contract.kept:
            if column.allowed:
                allowed[column.out_name] = sorted({*allowed.get(column.out_name, []), *column.allowed})
    return allowed


def _spec(
    node: dict, consent: list, allowed: dict, previous_rows: int | None, reference: datetime | None, k: int
) -> MartSpec:
    columns = {c: (col.get("data_type") or "", meta(col).get("category")) for c, col in node["columns"].items()}
    fresh = meta(node).get("freshness")
    return MartSpec(
        name=node["name"],
        columns=columns,
        consent=consent,
        allowed={c: v for c, v in allowed.items() if c in columns},
        freshness=(fresh["column"], int(fresh["max_days"])) if fresh else None,
        previous_rows=previous_rows,
        reference=reference,
        pseudonyms=frozenset(c for c, col in node["columns"].items() if meta(col).get("pseudonym")),
        quasi_identifiers=meta(node).get("quasi_identifiers"),
        people=tuple(_people(node)),
        k=k,
        row_key=meta(node).get("row_key"),
        people_counts=tuple(_people_counts(node)),
    )
