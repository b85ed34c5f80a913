"""Release specs: the shipped file is valid and its public keys match their sources; bad specs are refused."""

import copy
from datetime import date
from pathlib import Path

import pytest
import yaml

from privacy._dp_spec import SPEC_FILE, load_catalog, parse_period, period_of
from privacy._regions import CITY_REGION
from weir.contract import load_contract
from weir.errors import DpSpecError
from weir.generate._reference import CATEGORIES

SHIPPED = yaml.safe_load(SPEC_FILE.read_text())


def _write(tmp_path: Path, spec: dict) -> Path:
    path = tmp_path / "releases.yml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _edit(tmp_path: Path, where: list, value) -> Path:
    """The shipped spec with one field replaced (value None deletes it)."""
    spec = copy.deepcopy(SHIPPED)
    target = spec
    for step in where[:-1]:
        target = target[step]
    if value is None:
        del target[where[-1]]
    else:
        target[where[-1]] = value
    return _write(tmp_path, spec)


def test_shipped_catalog_loads_with_five_releases() -> None:
    catalog = load_catalog()

    assert sorted(catalog.releases) == [
        "daily_active_users",
        "friends_bought_items",
        "funnel_by_channel",
        "gmv_by_category_region",
        "share_cascade_sizes",
    ]
    assert catalog.release("friends_bought_items").has_private_keys
    assert catalog.release("friends_bought_items").loss.delta == 1e-7
    assert not catalog.release("daily_active_users").has_private_keys


def test_public_key_sets_match_their_sources() -> None:
    sets = load_catalog().key_sets
    events = {c.name: c for c in load_contract("events").columns}

    assert sets["channels"]["values"] == list(events["channel"].allowed)
    assert set(sets["funnel_steps"]["values"]) <= set(events["event_type"].allowed)
    assert set(sets["regions"]["values"]) == {*CITY_REGION.values(), "unknown"}
    assert set(sets["categories"]["values"]) == {*CATEGORIES, "unknown"}


def test_periods_are_calendar_quarters() -> None:
    q4 = parse_period("2026q4")

    assert (q4.label, q4.start, q4.end) == ("2026Q4", date(2026, 10, 1), date(2027, 1, 1))
    assert period_of(date(2026, 2, 28)).label == "2026Q1"
    assert len(q4.days()) == 92
    with pytest.raises(DpSpecError, match='Period "2026-10" is not a quarter: write it like 2026Q4'):
        parse_period("2026-10")


def test_unknown_release_lists_the_known_ones() -> None:
    with pytest.raises(DpSpecError, match='Unknown release "gmv". Known releases: daily_active_users, '):
        load_catalog().release("gmv")


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        (["releases", "daily_active_users", "bounds"], None, r"releases.daily_active_users.bounds: missing"),
        (
            ["releases", "daily_active_users", "bounds", "max_groups"],
            None,
            r"bounds.max_groups: missing; contribution bounds are required",
        ),
        (
            ["releases", "daily_active_users", "bounds", "max_rows_per_group"],
            0,
            r"max_rows_per_group: got 0; it must be a positive integer",
        ),
        (["budgets", "social_commerce", "rho"], -1.0, r"budgets.social_commerce.rho: got -1.0; it must be a positive"),
        (["budgets", "social_commerce", "rho"], 0, r"budgets.social_commerce.rho: got 0; it must be a positive"),
        (["budgets", "social_commerce", "period"], "month", r"period: got 'month'; use one of quarter"),
        (["releases", "daily_active_users", "loss"], {"rho": 0}, r"loss.rho: got 0; it must be a positive number"),
        (["releases", "daily_active_users", "loss"], {"epsilon": 1.0}, r"losses are zCDP: give `rho`"),
        (["releases", "friends_bought_items", "loss"], {"rho": 0.1}, r"private keys need DP partition selection"),
        (["releases", "daily_active_users", "loss"], {"rho": 0.1, "delta": 1e-7}, r"no delta is needed"),
        (["releases", "daily_active_users", "dataset"], "partners", r"'partners' has no budget"),
        (["releases", "daily_active_users", "keys"], {"event_date": {"public": "weeks"}}, r"key set 'weeks' is not"),
        (
            ["releases", "gmv_by_category_region", "measures", 1],
            {"name": "gmv_cents", "kind": "sum", "column": "gmv_cents"},
            r"a sum needs `column` and clamping bounds",
        ),
        (
            ["releases", "gmv_by_category_region", "measures", 1],
            {"name": "gmv_cents", "kind": "sum", "column": "gmv_cents", "lower": 10, "upper": 5},
            r"lower < upper; got \[10, 5\]",
        ),
        (
            ["releases", "gmv_by_category_region", "measures", 2],
            {"name": "mean", "kind": "mean", "sum": "gmv_cents", "count": "buyers"},
            r"a mean names a `sum` measure and a `count` \(or sum\) measure",
        ),
        (["releases", "daily_active_users", "measures", 0], {"name": "users", "kind": "median"}, r"needs a name"),
        (
            ["releases", "gmv_by_category_region", "bounds", "max_rows_per_group"],
            3,
            r"combine_per_user leaves one row per user and group: use 1",
        ),
        (
            ["releases", "gmv_by_category_region", "combine_per_user"],
            False,
            r"column `rows` exists only with combine_per_user: true",
        ),
        (["key_sets", "regions", "source"], None, r"key_sets.regions.source: missing; say where the public keys"),
    ],
)
def test_bad_specs_are_refused_naming_the_field(tmp_path: Path, where: list, value, message: str) -> None:
    path = _edit(tmp_path, where, value)

    with pytest.raises(DpSpecError, match=message):
        load_catalog(path)


def test_release_names_must_be_table_names(tmp_path: Path) -> None:
    spec = copy.deepcopy(SHIPPED)
    spec["releases"]["Daily-Users"] = spec["releases"].pop("daily_active_users")

    with pytest.raises(DpSpecError, match="releases.Daily-Users: a release name is lower_snake_case"):
        load_catalog(_write(tmp_path, spec))


def test_a_changed_spec_gets_a_new_fingerprint(tmp_path: Path) -> None:
    before = load_catalog().release("daily_active_users").fingerprint
    after = load_catalog(_edit(tmp_path, ["releases", "daily_active_users", "loss"], {"rho": 0.2}))

    assert after.release("daily_active_users").fingerprint != before
    assert load_catalog().release("daily_active_users").fingerprint == before
