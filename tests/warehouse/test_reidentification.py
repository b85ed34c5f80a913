"""Re-identification without any key: someone holding the source orders joins them to a published
row-level mart on what both share (its quasi-identifiers) and must not single out any buyer's
token; the publish gate holds back a mart with a class naming fewer than k people."""

import duckdb
import pytest

from weir import pipeline
from weir.config import K_ANONYMITY_DEFAULT, K_ANONYMITY_ENV, k_anonymity
from weir.errors import ConfigError
from weir.mart_gate import gate_marts
from weir.publish import published_db

SMALL_CLASS = (
    "every class of (order_week, category, gmv_band_cents) names at least {k} people in each of "
    "(user_token, first_touch_sharer_token, last_touch_sharer_token) (observed: smaller classes)"
)


def _attack(built, con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, bool]]:
    """Per source order: (user id, candidate tokens in its published class, true token among them)."""
    parts = sorted(str(p) for p in (built.data_dir.landing / "orders").glob("*/part-*.csv"))
    users = {r[0] for r in con.execute("select user_id from read_csv(?, all_varchar = true)", [parts]).fetchall()}
    con.execute("create table truth (user_id varchar, user_token varchar)")
    con.executemany("insert into truth values (?, ?)", [(u, built.user_token(u)) for u in users])
    # The attacker's side: the source orders, the public catalogue, coarsened as the mart is.
    return con.execute(
        """
        with source as (
            select o.order_id, o.user_id, c.category,
                cast(date_trunc('week', timezone('UTC', cast(o.ordered_at as timestamptz))) as date) as week,
                case when o.status = 'paid' then cast(o.amount_cents as bigint) else 0 end as gmv
            from read_csv(?, all_varchar = true) as o
            join wh.intermediate.int_item_categories as c on c.item_id = o.item_id
        )
        select s.user_id, count(distinct p.user_token), bool_or(p.user_token = t.user_token)
        from source as s
        join truth as t on t.user_id = s.user_id
        join pub.mart_referral_attribution as p
            on p.order_week = s.week and p.category = s.category
            and p.gmv_band_cents = case when s.gmv < 5000 then 0 when s.gmv < 20000 then 5000
                                        when s.gmv < 100000 then 20000 else 100000 end
        group by s.order_id, s.user_id
        """,
        [parts],
    ).fetchall()


def test_joining_the_source_orders_on_the_published_quasi_identifiers_singles_out_no_buyer(built) -> None:
    # Prepare
    with duckdb.connect() as con:
        con.execute("attach ? as pub (read_only)", [str(published_db(built.data_dir))])
        con.execute("attach ? as wh (read_only)", [str(built.data_dir.warehouse)])
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_catalog = 'pub' "
                "and table_name = 'mart_referral_attribution'"
            ).fetchall()
        }
        published = con.execute("select count(*) from pub.mart_referral_attribution").fetchone()[0]

        # Execute: the linkage attack
        matches = _attack(built, con)

    # Assert: no exact time, item or amount to join on; every class the attack lands in holds at
    # least k buyers, and it does land on the right one (the attack is real, not a miss).
    assert not columns & {"ordered_at", "order_date", "item_id", "gmv_cents"}
    assert published > 500
    found = [m for m in matches if m[2]]
    assert len(found) >= published  # every published order is found by its own source order
    assert min(candidates for _, candidates, _ in matches) >= K_ANONYMITY_DEFAULT
    assert not [user for user, candidates, _ in matches if candidates == 1]


def test_a_published_class_naming_one_buyer_holds_the_mart_back(warehouse_copy) -> None:
    # Prepare: a careless model publishes one order in a class of its own.
    before = pipeline.publish_stage(warehouse_copy, "test").published["mart_referral_attribution"]
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        con.execute(
            "insert into marts.mart_referral_attribution select 'tk1_' || repeat('ab', 16), user_token, "
            "order_week, 'lonely_category', gmv_band_cents, null, null, null, null, false "
            "from marts.mart_referral_attribution limit 1"
        )

    # Execute
    result = pipeline.publish_stage(warehouse_copy, "test")

    # Assert: held back with the check and the count, never the row; the last good version stays.
    blocked = {b.mart: b.reason for b in result.blocked}
    assert set(blocked) == {"mart_referral_attribution"}
    assert blocked["mart_referral_attribution"] == (
        f"quality gate mart_referral_attribution: {SMALL_CLASS.format(k=5)}: observed 1"
    )
    with duckdb.connect(str(published_db(warehouse_copy)), read_only=True) as con:
        assert con.execute("select count(*) from mart_referral_attribution").fetchone()[0] == before


def test_the_gate_checks_its_own_k_not_the_one_the_mart_was_built_with(warehouse_copy, monkeypatch) -> None:
    # Prepare: the mart was built for k = 5; the operator now asks for 40.
    monkeypatch.setenv(K_ANONYMITY_ENV, "40")

    # Execute
    [checked] = gate_marts(warehouse_copy, ["mart_referral_attribution"])

    # Assert
    findings = [f for f in checked.result.findings if f.expectation.startswith("every class of")]
    assert checked.result.blocked
    assert [f.expectation for f in findings] == [SMALL_CLASS.format(k=40)]
    assert findings[0].observed > 0


@pytest.mark.parametrize(("value", "expected"), [(None, 5), ("", 5), ("7", 7), (" 12 ", 12)])
def test_k_comes_from_the_environment_with_a_default_of_5(monkeypatch, value, expected) -> None:
    if value is None:
        monkeypatch.delenv(K_ANONYMITY_ENV, raising=False)
    else:
        monkeypatch.setenv(K_ANONYMITY_ENV, value)

    assert k_anonymity() == expected


@pytest.mark.parametrize("value", ["1", "0", "-3", "five", "2.5"])
def test_a_k_below_2_or_not_a_number_is_refused(monkeypatch, value) -> None:
    monkeypatch.setenv(K_ANONYMITY_ENV, value)

    with pytest.raises(ConfigError, match=rf"^{K_ANONYMITY_ENV}='{value}' is not a whole number of at least 2\. "):
        k_anonymity()


def test_a_kept_version_published_under_older_rules_or_no_longer_publishable_leaves_the_layer() -> None:
    # Prepare: the layer holds a mart no longer marked publish, a held-back mart whose kept
    # version still has its exact order time, and a held-back mart with today's columns.
    from weir.publish import CATALOGUE_DDL, _retire

    nodes = {
        "mart_referral_attribution": {"columns": {"order_id": {}, "order_week": {}}},
        "mart_daily_demand": {"columns": {"order_date": {}, "orders": {}}},
    }
    with duckdb.connect() as con:
        con.execute("attach ':memory:' as pub")
        con.execute(CATALOGUE_DDL)
        con.execute("create table pub.main.mart_kol_influence (kol_token varchar, followers bigint)")
        con.execute("create table pub.main.mart_referral_attribution (order_id varchar, ordered_at timestamptz)")
        con.execute("create table pub.main.mart_daily_demand (order_date date, orders bigint)")
        for name in ("mart_kol_influence", "mart_referral_attribution", "mart_daily_demand"):
            con.execute("insert into pub.main.published_marts (mart) values (?)", [name])
        notes: dict[str, str] = {}

        # Execute
        _retire(con, nodes, held=dict(nodes), notes=notes)

        # Assert
        left = {r[0] for r in con.execute("select mart from pub.main.published_marts").fetchall()}
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_catalog = 'pub'"
            ).fetchall()
        }
    assert left == {"mart_daily_demand"}
    assert tables == {"mart_daily_demand", "published_marts"}
    assert notes == {
        "mart_referral_attribution": "taken out of the published layer: its last good version has other "
        "columns than the mart now"
    }


@pytest.fixture(scope="module")
def small_mart(tmp_path_factory: pytest.TempPathFactory):
    """A snapshot file as the gate builds it: one row-level mart and the gate's class counts."""
    path = tmp_path_factory.mktemp("kanon") / "snapshot.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema gate; create schema consent")
        con.execute("create table main.m (user_token varchar, week date, band bigint)")
        con.execute("insert into main.m values ('tk1_' || repeat('ab', 16), '2026-10-05', 0)")
        con.execute("create table gate.small_classes (mart varchar, classes bigint, rows_in bigint)")
        con.execute("insert into gate.small_classes values ('m', 1, 1)")
        con.execute("create table gate.known_users as select 'tk1_' || repeat('ab', 16) as user_token")
        con.execute("create table gate.linked (mart varchar, column_name varchar, value varchar, kind varchar)")
    return path


@pytest.mark.parametrize(
    ("quasi_identifiers", "finding"),
    [
        (None, "declares its quasi-identifiers (meta.quasi_identifiers)"),
        (["week", "city"], "declares quasi-identifiers among its columns (unknown: city)"),
        (["week", "band"], "every class of (week, band) names at least 5 people in each of (user_token)"),
    ],
    ids=["undeclared", "unknown_column", "small_class"],
)
def test_a_mart_naming_people_is_held_back_unless_its_classes_are_declared_and_large(
    small_mart, quasi_identifiers, finding
) -> None:
    from expectations import validate
    from expectations._mart_suites import MartSpec, mart_suite

    spec = MartSpec(
        name="m",
        columns={"user_token": ("varchar", "user.unique_id"), "week": ("date", None), "band": ("bigint", None)},
        quasi_identifiers=quasi_identifiers,
        people=("user_token",),
        k=5,
    )

    result = validate(small_mart, mart_suite(spec), "select * from main.m")

    assert result.blocked
    assert [f.expectation for f in result.findings if f.severity == "error"] == [
        f"{finding}" + (" (observed: smaller classes)" if quasi_identifiers == ["week", "band"] else "")
    ]
