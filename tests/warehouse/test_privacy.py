"""No raw identifier or contact value reaches the warehouse, the published layer or any file
the pipeline writes (dbt logs and target, GX docs and results, Airflow logs)."""

import re

import duckdb
import pytest

from tests._pii_scan import Needles, landing_needles, scan
from weir.publish import published_db


@pytest.fixture(scope="module")
def needles(built) -> Needles:
    return landing_needles(built.data_dir.landing)


def test_the_scan_reads_every_identifier_kind(needles) -> None:
    kinds = {origin.split(".")[1] for origin in needles.values.values()}
    assert {"user_id", "device_id", "ip", "user_agent", "email", "phone", "name", "event_id", "order_id"} <= kinds
    assert len(needles) > 20_000


def test_no_raw_identifier_anywhere_under_the_data_dir(built, needles) -> None:
    root = built.data_dir.root
    assert (root / "dbt" / "target").is_dir() and published_db(built.data_dir).exists()
    hits = scan(root, needles, skip=(built.data_dir.landing, built.data_dir.keys))
    assert hits == {}


def test_the_scan_finds_a_planted_value_in_a_table_and_a_file(built, needles, tmp_path) -> None:
    # Prepare: one raw phone (re-spelled), a name inside prose and a user agent, planted where a scan must look.
    phone = next(v for v, o in needles.values.items() if o.endswith(".phone") and v.startswith("+86"))
    name = next(v for v, o in needles.values.items() if o.endswith(".name") and len(v) == 3)
    agent = next(v for v, o in needles.values.items() if o.endswith(".user_agent"))
    with duckdb.connect(str(tmp_path / "planted.duckdb")) as con:
        con.execute("create table t (n bigint, s varchar)")
        con.execute("insert into t values (?, ?)", [int(re.sub(r"[^0-9]", "", phone)[2:]), f"好评{name}说"])
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "task.log").write_text(f"INFO request from {agent}; done\n")

    hits = scan(tmp_path, needles, skip=())

    assert set(hits) == {"planted.duckdb:main.t", "logs/task.log"}
    assert sorted(hits["planted.duckdb:main.t"]) == sorted({needles.values[phone], needles.values[name]})


def test_user_columns_hold_row_bound_pseudonyms_only(built) -> None:
    with duckdb.connect(str(published_db(built.data_dir)), read_only=True) as con:
        tokens = con.execute(
            "select count(*), count(*) filter (where regexp_full_match(user_token, 'rt1_[0-9a-f]{32}')), "
            "count(distinct user_token) from mart_referral_attribution"
        ).fetchone()
    assert tokens[0] > 0 and tokens[0] == tokens[1] == tokens[2]  # one per row: weir/row_tokens.py
