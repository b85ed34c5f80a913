"""Real exports (issue 19): quoting, exact money, graph and review rules, clear errors."""

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from weir.cli import app
from weir.config import resolve_data_dir
from weir.ingest import ingest, rotate_keys
from weir.landing import land_export

EVENTS_MAPPING = """\
source: events
format: csv
rename: {"Event Id": event_id, "Kind": event_type, "When": ts, "Who": user_id, "Item": item_id}
timestamps: {ts: {format: "%Y-%m-%d %H:%M:%S"}}
"""
ROWS = [
    ("e1", "view", "2026-10-01 10:00:00", "u1", "item, large"),
    ("e2", "purchase", "2026-10-01 10:05:00", "u2", 'the "best" item'),
    ("e3", "like", "2026-10-02 11:00:00", "u1", "plain"),
]


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _write(path: Path, mapping: str, text: str) -> tuple[Path, Path]:
    path.mkdir(parents=True, exist_ok=True)
    (path / "map.yml").write_text(mapping)
    (path / "export.csv").write_bytes(text.encode())
    return path / "map.yml", path / "export.csv"


def _load(root: Path, mapping: Path, export: Path):
    data_dir = resolve_data_dir(root)
    source, batch_id = land_export(data_dir.landing, mapping, export)
    return data_dir, ingest(data_dir, source, batch_id)[0]


def _rows(data_dir, sql: str) -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_quoted_and_unquoted_copies_load_identical_rows_and_tokens(tmp_path: Path) -> None:
    header = "Event Id,Kind,When,Who,Item"
    # Unquoted copy: the fields with a comma or quote must be quoted in any CSV; the rest are bare.
    plain = "\n".join(
        [header]
        + [",".join(v if v == "plain" or ("," not in v and '"' not in v) else _quoted(v) for v in r) for r in ROWS]
    )
    quoted = "\r\n".join([",".join(map(_quoted, header.split(",")))] + [",".join(map(_quoted, r)) for r in ROWS])
    results = {}
    for name, text in (("plain", plain), ("quoted", quoted)):
        mapping, export = _write(tmp_path / name, EVENTS_MAPPING, text + "\n")
        data_dir, result = _load(tmp_path / name / "weir", mapping, export)
        assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (3, 3, 0), result.reasons
        results[name] = _rows(
            data_dir, "select event_id, event_type, ts, user_token, item_id from raw.events order by ts"
        )
    # One key per data dir: compare the unkeyed values and the pattern of user tokens.
    plain_rows, quoted_rows = results["plain"], results["quoted"]
    assert [r[1:3] + r[4:] for r in plain_rows] == [r[1:3] + r[4:] for r in quoted_rows]
    assert [r[4] for r in quoted_rows] == ["item, large", 'the "best" item', "plain"]
    assert plain_rows[0][3] == plain_rows[2][3] != plain_rows[1][3]
    assert quoted_rows[0][3] == quoted_rows[2][3] != quoted_rows[1][3]


def test_quoted_ids_get_the_same_token_as_bare_ids_in_one_data_dir(tmp_path: Path) -> None:
    header = "Event Id,Kind,When,Who,Item"
    first = header + "\ne1,view,2026-10-01 10:00:00,u1,a\n"
    second = header + '\n"e2","view","2026-10-01 11:00:00","u1","b"\n'
    mapping, export = _write(tmp_path / "one", EVENTS_MAPPING, first)
    data_dir, _ = _load(tmp_path / "weir", mapping, export)
    mapping, export = _write(tmp_path / "two", EVENTS_MAPPING, second)
    _load(tmp_path / "weir", mapping, export)
    assert _rows(data_dir, "select count(distinct user_token), count(*) from raw.events") == [(1, 2)]


ORDERS_MAPPING = "source: orders\nformat: csv\n"


def test_decimal_cents_are_quarantined_never_rounded_and_any_iso_currency_loads(tmp_path: Path) -> None:
    text = (
        "order_id,user_id,item_id,quantity,amount_cents,currency,ordered_at,status\n"
        "o1,u1,i1,1,255,EUR,2026-10-01T10:00:00Z,paid\n"
        "o2,u1,i1,1,2.55,CNY,2026-10-01T10:00:00Z,paid\n"
        "o3,u2,i2,1,0.42,CNY,2026-10-01T10:00:00Z,paid\n"
        "o4,u2,i2,2,42.0,USD,2026-10-01T10:00:00Z,paid\n"
        "o5,u2,i2,2,100,ZZZ,2026-10-01T10:00:00Z,paid\n"
    )
    mapping, export = _write(tmp_path / "in", ORDERS_MAPPING, text)
    data_dir, result = _load(tmp_path / "weir", mapping, export)

    assert (result.rows_in, result.rows_loaded) == (5, 2)
    assert result.reasons == {"wrong_type": 2, "unknown_enum_value": 1}
    assert sorted(_rows(data_dir, "select amount_cents, currency from raw.orders")) == [(42, "USD"), (255, "EUR")]
    messages = _rows(data_dir, "select distinct message from ingest.quarantine where reason = 'wrong_type'")
    assert messages == [("column amount_cents is not a valid bigint (a whole number: decimals are never rounded)",)]


def test_a_batch_that_loads_nothing_exits_non_zero_naming_the_reasons(tmp_path: Path) -> None:
    mapping, export = _write(
        tmp_path / "in", EVENTS_MAPPING, "Event Id,Kind,When,Who,Item\ne1,teleport,2026-10-01 10:00:00,u1,a\n"
    )
    result = CliRunner().invoke(app, ["ingest", "--mapping", str(mapping), str(export), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "loaded 0 of 1 rows; top reasons: unknown_enum_value 1" in " ".join(result.output.split())


def test_a_rename_of_a_column_the_export_lacks_is_refused_before_landing(tmp_path: Path) -> None:
    mapping, export = _write(tmp_path / "in", EVENTS_MAPPING, "Event Id,Kind,Time,Who,Item\n")
    result = CliRunner().invoke(app, ["ingest", "--mapping", str(mapping), str(export), "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    said = " ".join(result.output.split())
    assert "`rename` names column(s) 'When' the file does not have; its columns are: Event Id, Kind, Time" in said
    assert not (tmp_path / "landing" / "events").exists() or not any((tmp_path / "landing" / "events").iterdir())


def test_self_follows_are_quarantined_as_self_reference(tmp_path: Path) -> None:
    text = "follower_id,followee_id,followed_at\nu1,u2,2026-10-01T10:00:00Z\nu3,u3,2026-10-01T10:00:00Z\n"
    mapping, export = _write(tmp_path / "in", "source: follows\nformat: csv\n", text)
    data_dir, result = _load(tmp_path / "weir", mapping, export)
    assert (result.rows_in, result.rows_loaded, result.reasons) == (2, 1, {"self_reference": 1})


def test_ratings_without_text_and_long_reviews_load_whole(tmp_path: Path) -> None:
    long_text = "Great blender, " * 400  # 6,000 characters: over the old 4,000 limit
    text = (
        "review_id,user_id,item_id,rating,text,created_at\n"
        "r1,u1,i1,5,,2026-10-01T10:00:00Z\n"
        f'r2,u2,i1,4,"{long_text}",2026-10-01T10:00:00Z\n'
        "r3,u3,i2,3,fine,2026-10-01T10:00:00Z\n"
    )
    mapping, export = _write(tmp_path / "in", "source: reviews\nformat: csv\n", text)
    data_dir, result = _load(tmp_path / "weir", mapping, export)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (3, 3, 0), result.reasons
    texts = dict(_rows(data_dir, "select review_id, text from raw.reviews"))
    assert sorted(len(t or "") for t in texts.values()) == [0, 4, len(long_text.strip())]


def test_a_ratings_only_export_without_any_text_loads(tmp_path: Path) -> None:
    text = (
        "review_id,user_id,item_id,rating,created_at\n"
        "r1,u1,i1,5,2026-10-01T10:00:00Z\nr2,u2,i1,4,2026-10-01T10:00:00Z\n"
    )
    mapping, export = _write(tmp_path / "in", "source: reviews\nformat: csv\n", text)
    data_dir, result = _load(tmp_path / "weir", mapping, export)
    assert (result.rows_in, result.rows_loaded) == (2, 2), result.reasons
    assert _rows(data_dir, "select count(*) from raw.reviews where text is null") == [(2,)]


def test_json_reviews_with_null_text_load(tmp_path: Path) -> None:
    mapping = "source: reviews\nformat: jsonl\ncolumns: [review_id, user_id, item_id, rating, text, created_at]\n"
    text = (
        '{"review_id": "r1", "user_id": "u1", "item_id": "i1", "rating": 5, "text": null, '
        '"created_at": "2026-10-01T10:00:00Z"}\n'
        '{"review_id": "r2", "user_id": "u2", "item_id": "i1", "rating": 9, "text": null, '
        '"created_at": "2026-10-01T10:00:00Z"}\n'
    )
    mapping_path, export = _write(tmp_path / "in", mapping, text)
    export = export.rename(export.with_suffix(".jsonl"))
    data_dir, result = _load(tmp_path / "weir", mapping_path, export)
    assert (result.rows_in, result.rows_loaded, result.reasons) == (2, 1, {"out_of_range": 1})


def test_reviewer_names_are_redacted_from_texts_and_the_quarantine(tmp_path: Path) -> None:
    text = (
        "review_id,user_id,item_id,rating,text,created_at,Reviewer\n"
        'r1,u1,i1,5,"Hi Dallas, thank you! Will buy again",2026-10-01T10:00:00Z,Dallas Smith\n'
        "r2,u2,i1,4,王小明说很好,2026-10-01T10:00:00Z,王小明\n"
        'r3,u3,i2,9,"Call Dallas on 138 1234 5678",2026-10-01T10:00:00Z,Ann Lee\n'
    )
    mapping, export = _write(tmp_path / "in", "source: reviews\nformat: csv\nnames: [Reviewer]\n", text)
    data_dir, result = _load(tmp_path / "weir", mapping, export)
    assert (result.rows_loaded, result.reasons) == (2, {"out_of_range": 1})
    texts = sorted(t for (t,) in _rows(data_dir, "select text from raw.reviews"))
    assert texts == ["<NAME>说很好", "Hi <NAME>, thank you! Will buy again"]
    (kept,) = _rows(data_dir, "select sanitised_text from ingest.quarantine")[0]
    assert "Dallas" not in kept and "5678" not in kept and "<NAME>" in kept
    everything = " ".join(str(r) for r in _rows(data_dir, "select * from raw.reviews"))
    assert "Smith" not in everything and "Ann Lee" not in everything


def _events(n: int, prefix: str) -> str:
    rows = [f"{prefix}{i},view,2026-10-01 {i % 24:02d}:00:00,u{i % 50},i{i}" for i in range(n)]
    return "Event Id,Kind,When,Who,Item\n" + "\n".join(rows) + "\n"


def test_volume_is_compared_within_one_datasets_lineage(tmp_path: Path) -> None:
    other = EVENTS_MAPPING + "constants: {channel: feed}\n"  # another export layout: another lineage
    runs = [
        ("big", EVENTS_MAPPING, _events(3000, "a"), "loaded"),
        ("other", other, _events(40, "b"), "loaded"),  # small, but nothing of its lineage came before
        ("irregular", EVENTS_MAPPING + "cadence: irregular\n", _events(40, "c"), "loaded"),
        ("drop", EVENTS_MAPPING, _events(40, "d"), "rejected"),  # 3,000 -> 40 rows a day, same mapping
    ]
    for name, mapping_text, text, status in runs:
        mapping, export = _write(tmp_path / name, mapping_text, text)
        _, result = _load(tmp_path / "weir", mapping, export)
        assert result.status == status, (name, result)


def test_a_declared_basis_follows_its_users_through_a_key_rotation(tmp_path: Path) -> None:
    basis = "lawful_basis: {analytics: {basis: contract, justification: Orders fulfil the sales contract.}}\n"
    mapping, export = _write(tmp_path / "in", EVENTS_MAPPING + basis, _events(30, "k"))
    data_dir, result = _load(tmp_path / "weir", mapping, export)
    assert result.bases == {"analytics": "contract"}
    covered = "select count(*) from consent.bases where user_token in (select user_token from raw.events)"
    assert _rows(data_dir, covered) == [(30,)]  # u0..u29: one row per user the batch names

    rotate_keys(data_dir)

    assert _rows(data_dir, covered) == [(30,)]
