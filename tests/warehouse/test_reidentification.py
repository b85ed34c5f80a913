"""Re-identification without any key: someone holding the source orders joins them to a published
row-level mart on what both share (its quasi-identifiers) and must not single out any buyer's
token, not even by intersecting the classes of one buyer's orders; the publish gate holds back
a mart with a class naming fewer than k people, a mart whose tokens are not bound to its rows,
and an aggregate mart with a cell of 1 to k-1 people; the aggregate marts declare the columns
counting people and leave such cells out themselves."""

import duckdb
import pytest

from weir import pipeline
from weir.config import K_ANONYMITY_DEFAULT, K_ANONYMITY_ENV, k_anonymity
from weir.dbt import manifest_path
from weir.errors import ConfigError
from weir.manifest import load, marts, meta
from weir.mart_gate import gate_marts
from weir.publish import published_db

SMALL_CLASS = (
    "every class of (order_week, category, gmv_band_cents) names at least {k} people in each of "
    "(user_token, first_touch_sharer_token, last_touch_sharer_token) (observed: smaller classes)"
)


def _attack(built, con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, list[str], bool]]:
    """Per source order: (user id, candidate buyer tokens of its class in `table`, whether the
    buyer's true token is among them)."""
    parts = sorted(str(p) for p in (built.data_dir.landing / "orders").glob("*/part-*.csv"))
    users = {r[0] for r in con.execute("select user_id from read_csv(?, all_varchar = true)", [parts]).fetchall()}
    con.execute("create or replace table truth (user_id varchar, user_token varchar)")
    con.executemany("insert into truth values (?, ?)", [(u, built.user_token(u)) for u in users])
    # The attacker's side: the source orders, the public catalogue, coarsened as the mart is.
    return con.execute(
        f"""
        with source as (
            select o.order_id, o.user_id, c.category,
                cast(date_trunc('week', timezone('UTC', cast(o.ordered_at as timestamptz))) as date) as week,
                case when o.status = 'paid' then cast(o.amount_cents as bigint) else 0 end as gmv
            from read_csv(?, all_varchar = true) as o
            join wh.intermediate.int_item_categories as c on c.item_id = o.item_id
        )
        select s.user_id, list(distinct p.user_token), bool_or(p.user_token = t.user_token)
        from source as s
        join truth as t on t.user_id = s.user_id
        join {table} as p
            on p.order_week = s.week and p.category = s.category
            and p.gmv_band_cents = case when s.gmv < 5000 then 0 when s.gmv < 20000 then 5000
                                        when s.gmv < 100000 then 20000 else 100000 end
        group by s.order_id, s.user_id
        """,
        [parts],
    ).fetchall()


def _singled_out(matches: list[tuple[str, list[str], bool]]) -> set[str]:
    """Users whose orders' candidate sets intersect in exactly one token: the attacker holds
    all of one buyer's orders and keeps the tokens every one of them could be."""
    common: dict[str, set[str]] = {}
    for user, candidates, _ in matches:
        common[user] = common[user] & set(candidates) if user in common else set(candidates)
    return {user for user, tokens in common.items() if len(tokens) == 1}


@pytest.fixture(scope="module")
def attacked(built):
    """The linkage attack on the warehouse mart (real tokens) and on its published copy."""
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
        shared = con.execute(
            "select count(*) from pub.mart_referral_attribution where user_token in "
            "(select user_token from wh.marts.mart_referral_attribution)"
        ).fetchone()[0]
        warehouse = _attack(built, con, "wh.marts.mart_referral_attribution")
        public = _attack(built, con, "pub.mart_referral_attribution")
    return columns, published, shared, warehouse, public


def test_joining_the_source_orders_on_the_published_quasi_identifiers_singles_out_no_buyer(attacked) -> None:
    columns, published, shared, warehouse, public = attacked

    # Assert: no exact time, item or amount to join on; every class the attack lands in holds at
    # least k buyers, and it does land on the right one (the attack is real, not a miss).
    assert not columns & {"ordered_at", "order_date", "item_id", "gmv_cents"}
    assert published > 500
    found = [m for m in warehouse if m[2]]
    assert len(found) >= published  # every published order is found by its own source order
    assert min(len(candidates) for _, candidates, _ in warehouse + public) >= K_ANONYMITY_DEFAULT
    assert not [user for user, candidates, _ in warehouse + public if len(candidates) == 1]
    assert shared == 0  # no published buyer column holds a warehouse token


def test_intersecting_one_buyers_orders_singles_out_no_published_buyer(attacked) -> None:
    _, _, _, warehouse, public = attacked

    # Execute
    tokens_shared_across_rows = _singled_out(warehouse)
    row_bound = _singled_out(public)

    # Assert: with one token per buyer on every row, the attack singles out repeat buyers (117
    # of 497 on this world); the published copy binds each token to its row, so none.
    assert len(tokens_shared_across_rows) > 100
    assert len(row_bound) == 0


def test_a_published_class_naming_one_buyer_holds_the_mart_back(warehouse_copy) -> None:
    # Prepare: a careless model publishes one order in a class of its own.
    before = pipeline.publish_stage(warehouse_copy, "test").published["mart_referral_attribution"]
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        con.execute(
            "insert into marts.mart_referral_attribution select 'tk1_' || repeat('ab', 16), user_token, "
            "order_week, 'lonely_category', gmv_band_cents, null, null, null, null, false, computed_at "
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


def test_a_kept_version_sharing_tokens_across_rows_leaves_the_layer_once_the_mart_binds_them() -> None:
    # Prepare: a held-back mart now declares its row key; its kept version was published before
    # (real buyer tokens, no row key in the catalogue). Another held-back mart's version is bound.
    from weir.publish import CATALOGUE_DDL, _retire

    node = {
        "config": {"meta": {"row_key": "order_id"}},
        "columns": {"order_id": {}, "user_token": {"config": {"meta": {"category": "user.unique_id"}}}},
    }
    nodes = {"old_orders": node, "bound_orders": node}
    with duckdb.connect() as con:
        con.execute("attach ':memory:' as pub")
        con.execute(CATALOGUE_DDL)
        for name, row_key in (("old_orders", None), ("bound_orders", "order_id")):
            con.execute(f"create table pub.main.{name} (order_id varchar, user_token varchar)")
            con.execute("insert into pub.main.published_marts (mart, row_key) values (?, ?)", [name, row_key])
        notes: dict[str, str] = {}

        # Execute
        _retire(con, nodes, held=dict(nodes), notes=notes)

        # Assert
        left = {r[0] for r in con.execute("select mart from pub.main.published_marts").fetchall()}
    assert left == {"bound_orders"}
    assert notes == {"old_orders": "taken out of the published layer: its last good version shares tokens across rows"}


@pytest.fixture(scope="module")
def small_mart(tmp_path_factory: pytest.TempPathFactory):
    """A snapshot file as the gate builds it: one row-level mart, one aggregate mart and the
    gate's class and cell counts."""
    path = tmp_path_factory.mktemp("kanon") / "snapshot.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema gate; create schema consent")
        con.execute("create table main.m (row_id varchar, user_token varchar, week date, band bigint)")
        con.execute("insert into main.m values ('r1', 'tk1_' || repeat('ab', 16), '2026-10-05', 0)")
        con.execute("create table main.a (day date, buyers bigint, orders bigint)")
        con.execute("insert into main.a values ('2026-10-05', 2, 3), ('2026-10-06', 40, 44), ('2026-10-07', 0, 0)")
        con.execute("create table gate.small_classes (mart varchar, classes bigint, rows_in bigint)")
        con.execute("insert into gate.small_classes values ('m', 1, 1)")
        con.execute("create table gate.small_cells (mart varchar, cells bigint)")
        con.execute("insert into gate.small_cells values ('m', 0), ('a', 1)")
        con.execute("create table gate.known_users as select 'tk1_' || repeat('ab', 16) as user_token")
        con.execute("create table gate.linked (mart varchar, column_name varchar, value varchar, kind varchar)")
    return path


SMALL = " (observed: smaller classes)"


@pytest.mark.parametrize(
    ("quasi_identifiers", "row_key", "findings"),
    [
        (None, "row_id", ["declares its quasi-identifiers (meta.quasi_identifiers)"]),
        (["week", "city"], "row_id", ["declares quasi-identifiers among its columns (unknown: city)"]),
        (
            ["week", "band"],
            "row_id",
            [f"every class of (week, band) names at least 5 people in each of (user_token){SMALL}"],
        ),
        (
            ["week", "band"],
            None,
            [
                "binds people's tokens to its rows (meta.row_key, one of its columns)",
                f"every class of (week, band) names at least 5 people in each of (user_token){SMALL}",
            ],
        ),
    ],
    ids=["undeclared", "unknown_column", "small_class", "tokens_shared_across_rows"],
)
def test_a_mart_naming_people_is_held_back_unless_its_classes_are_declared_and_large_and_its_tokens_row_bound(
    small_mart, quasi_identifiers, row_key, findings
) -> None:
    from expectations import validate
    from expectations._mart_suites import MartSpec, mart_suite

    spec = MartSpec(
        name="m",
        columns={
            "row_id": ("varchar", None),
            "user_token": ("varchar", "user.unique_id"),
            "week": ("date", None),
            "band": ("bigint", None),
        },
        quasi_identifiers=quasi_identifiers,
        people=("user_token",),
        k=5,
        row_key=row_key,
    )

    result = validate(small_mart, mart_suite(spec), "select * from main.m")

    assert result.blocked
    assert sorted(f.expectation for f in result.findings if f.severity == "error") == sorted(findings)


@pytest.mark.parametrize(("people_counts", "blocked"), [(("buyers",), True), ((), False)], ids=["declared", "none"])
def test_an_aggregate_mart_with_a_cell_of_1_to_k_minus_1_people_is_held_back(
    small_mart, people_counts, blocked
) -> None:
    from expectations import validate
    from expectations._mart_suites import MartSpec, mart_suite

    spec = MartSpec(
        name="a",
        columns={"day": ("date", None), "buyers": ("bigint", "derived.aggregate"), "orders": ("bigint", None)},
        people_counts=people_counts,
        k=5,
    )

    result = validate(small_mart, mart_suite(spec), "select * from main.a")

    assert result.blocked is blocked
    assert [(f.expectation, f.observed) for f in result.findings if f.severity == "error"] == (
        [("every cell counts no one or at least 5 people in each of (buyers) (observed: smaller cells)", 1)]
        if blocked
        else []
    )


def test_a_published_aggregate_cell_counting_two_people_holds_the_mart_back(warehouse_copy) -> None:
    # Prepare: careless models publish a retention cohort of two users and a day's demand for a
    # category in a region where two people bought (the model pools such regions into 'other').
    before = pipeline.publish_stage(warehouse_copy, "test").published
    with duckdb.connect(str(warehouse_copy.warehouse)) as con:
        con.execute(
            "insert into marts.mart_retention_cohorts select cohort_week - interval 7 day, 0, 2, 2, 1.0 "
            "from marts.mart_retention_cohorts order by cohort_week limit 1"
        )
        con.execute(
            "insert into marts.mart_daily_demand select cast(order_date - interval 28 day as date), category, "
            "shipping_region, 2, 3, 9900, 2, computed_at "
            "from marts.mart_daily_demand order by all limit 1"
        )

    # Execute
    result = pipeline.publish_stage(warehouse_copy, "test")

    # Assert: held back with the check and the count of small cells; the last good versions stay.
    blocked = {b.mart: b.reason for b in result.blocked}
    assert blocked == {
        "mart_retention_cohorts": "quality gate mart_retention_cohorts: every cell counts no one or at least 5 "
        "people in each of (cohort_users, active_users) (observed: smaller cells): observed 1",
        "mart_daily_demand": "quality gate mart_daily_demand: every cell counts no one or at least 5 "
        "people in each of (buyers) (observed: smaller cells): observed 1",
    }
    with duckdb.connect(str(published_db(warehouse_copy)), read_only=True) as con:
        for mart in blocked:
            assert con.execute(f"select count(*) from {mart}").fetchone()[0] == before[mart]


# The aggregate marts of issue 15 and the columns in them that count distinct people.
PEOPLE_COUNTS = {
    "mart_daily_demand": ["buyers"],
    "mart_funnel_by_channel": ["viewers", "carters", "purchasers"],
    "mart_live_stream_performance": ["watchers", "buyers"],
    "mart_share_cascades": ["reached_users", "purchasers"],
    "mart_group_buy_performance": ["initiators"],
    "mart_bargain_completion": ["initiators"],
}


def test_aggregate_marts_declare_their_people_counts_and_still_publish_rows(built) -> None:
    nodes = {n["name"]: n for n in marts(load(manifest_path(built.data_dir)))}

    declared = {
        name: [c for c, col in nodes[name]["columns"].items() if meta(col).get("counts_people")]
        for name in PEOPLE_COUNTS
    }

    assert declared == PEOPLE_COUNTS
    with duckdb.connect(str(published_db(built.data_dir)), read_only=True) as con:
        for name, columns in PEOPLE_COUNTS.items():
            small = " or ".join(f"{c} between 1 and {K_ANONYMITY_DEFAULT - 1}" for c in columns)
            rows, cells = con.execute(f"select count(*), count(*) filter (where {small}) from {name}").fetchone()
            assert rows > 0 and cells == 0, name
