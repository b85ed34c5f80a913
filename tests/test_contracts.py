"""Contracts and the generator agree; every contract is complete and self-consistent."""

import typing

import pytest

from privacy._consent import PURPOSES as CONSENT_PURPOSES
from privacy._pseudonymise import KINDS, PERSON_KINDS, RECORD_KINDS
from weir.contract import TokenKind, all_contracts, load_contract
from weir.errors import ConfigError
from weir.generate import SOURCES
from weir.generate._reference import CHANNELS, EVENT_TYPES, PURPOSES
from weir.generate._world import build
from weir.policy import load_policy
from weir.ropa import lawful_bases


def test_every_generated_source_has_a_contract_with_its_columns() -> None:
    world = build(seed=1, n_users=200, start_ms=1_790_000_000_000, days=1, tag="t")

    assert {c.source for c in all_contracts()} == set(SOURCES)
    for name, frame in world.sources.items():
        assert [c.name for c in load_contract(name).columns] == frame.columns, name


def test_direct_identifiers_never_pass_through_plain() -> None:
    for contract in all_contracts():
        for column in contract.columns:
            if column.category in (
                "user.unique_id",
                "user.device.device_id",
                "user.contact.email",
                "user.contact.phone_number",
                "user.name",
            ):
                assert column.treatment in ("token", "vault", "drop"), (contract.source, column.name)
            if column.treatment == "token" and column.kind in PERSON_KINDS:
                assert column.out_name.endswith("_token"), (contract.source, column.name)


def test_every_source_record_id_is_tokenised_under_its_own_kind() -> None:
    # Catalogue and campaign ids name things, not people's records; every other id joins back
    # to a person through the source system (an order id names its buyer), so it is a token.
    catalogue = {"item_id", "shop_id", "coupon_id", "experiment_id"}
    for contract in all_contracts():
        for column in contract.columns:
            if column.name.endswith("_id") and column.name not in catalogue:
                assert column.treatment in ("token", "vault"), (contract.source, column.name)
            if column.treatment == "token" and column.kind in RECORD_KINDS:
                # Record ids keep their source name: the value is a token, the policy says so.
                assert column.out_name == column.name and column.name.endswith("_id"), (contract.source, column.name)
    assert load_contract("orders").column("referrer_share_id").kind == load_contract("events").column("share_id").kind


def test_token_kinds_are_declared_once() -> None:
    assert set(typing.get_args(TokenKind)) == set(KINDS)


def test_every_column_declares_purposes_and_retention() -> None:
    for contract in all_contracts():
        for column in contract.columns:
            assert column.category.count(".") >= 1
            if column.treatment != "drop":
                assert column.purposes and column.retention_days > 0, (contract.source, column.name)


def test_unknown_source_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="No data contract for source 'clicks'; known sources: assignments"):
        load_contract("clicks")


def test_contract_enums_match_the_generator_vocabulary() -> None:
    assert load_contract("events").column("event_type").allowed == EVENT_TYPES
    assert load_contract("events").column("channel").allowed == CHANNELS
    assert load_contract("consent").column("purpose").allowed == PURPOSES == list(CONSENT_PURPOSES)


def test_every_source_has_a_lawful_basis_for_each_purpose() -> None:
    bases = lawful_bases()

    assert set(bases) == {c.source for c in all_contracts()}
    assert bases["consent"] == {"legal_obligation": "legal_obligation"}
    assert bases["events"]["analytics"] == "consent"


def test_a_purpose_without_a_lawful_basis_is_a_clear_error() -> None:
    policy = load_policy()
    without = {**policy, "purposes": {k: v for k, v in policy["purposes"].items() if k != "marketing"}}

    with pytest.raises(ConfigError, match=r"contract \w+: purpose\(s\) marketing have no lawful basis"):
        lawful_bases(without)
