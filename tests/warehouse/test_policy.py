"""Policy as code and metadata that follows the data (fast: works on the parsed manifest)."""

import copy
import json

import pytest
import yaml
from typer.testing import CliRunner

from weir import dbt_codegen
from weir.cli import app
from weir.contract import load_contract
from weir.dbt import DBT_PROJECT, manifest_path
from weir.errors import PolicyViolation
from weir.manifest import marts
from weir.policy import check, enforce


@pytest.fixture(scope="module")
def manifest(built) -> dict:
    return json.loads(manifest_path(built.data_dir).read_text())


def _mart(manifest: dict, name: str) -> dict:
    return next(n for n in marts(manifest) if n["name"] == name)


def test_shipped_marts_pass_the_policy(manifest) -> None:
    assert check(manifest) == []


def test_disallowed_category_is_rejected_naming_model_column_and_rule(manifest) -> None:
    bad = copy.deepcopy(manifest)
    _mart(bad, "mart_daily_demand")["config"]["meta"]["purpose"] = "third_party_sharing"

    violations = [str(v) for v in check(bad)]

    assert any(
        v.startswith(
            "mart_daily_demand.shipping_region: category user.demographic.location is not allowed "
            "for purpose third_party_sharing"
        )
        for v in violations
    ), violations
    with pytest.raises(PolicyViolation, match="mart_daily_demand.shipping_region"):
        enforce(check(bad))


def test_category_must_follow_the_contract(manifest) -> None:
    bad = copy.deepcopy(manifest)
    region = _mart(bad, "mart_user_features")["columns"]["region"]
    region["meta"] = region["config"]["meta"] = {"category": "system.operations.time"}

    assert [str(v) for v in check(bad)] == [
        "mart_user_features.region: category system.operations.time does not follow the data: "
        "contract users.region is user.demographic.location"
    ]


def test_contract_purposes_bind_consent_marts(manifest) -> None:
    bad = copy.deepcopy(manifest)
    mart = _mart(bad, "mart_user_features")
    mart["columns"]["locale"] = {"name": "locale", "config": {"meta": {"category": "user.demographic.language"}}}

    assert "the contract does not allow purpose model_training" in " ".join(str(v) for v in check(bad))


def test_unclassified_column_and_unknown_purpose_are_rejected(manifest) -> None:
    bad = copy.deepcopy(manifest)
    views = _mart(bad, "mart_funnel_by_channel")["columns"]["views"]
    views["meta"], views["config"]["meta"] = {}, {}
    _mart(bad, "mart_ab_results")["config"]["meta"]["purpose"] = "curiosity"

    found = {str(v).split(":")[0] for v in check(bad)}
    assert found == {"mart_funnel_by_channel.views", "mart_ab_results"}


def test_contact_data_is_denied_everywhere(manifest) -> None:
    bad = copy.deepcopy(manifest)
    consent_id = _mart(bad, "dim_consent")["columns"]["consent_id"]
    consent_id["meta"] = consent_id["config"]["meta"] = {"category": "user.contact.email"}

    assert "denied for every purpose" in " ".join(str(v) for v in check(bad))


def test_policy_check_command(built) -> None:
    result = CliRunner().invoke(app, ["policy", "check", "--data-dir", str(built.data_dir.root)])
    assert result.exit_code == 0, result.output
    assert "Policy check passed" in result.output


def test_staging_layer_is_generated_from_the_contracts() -> None:
    stale = [p for p, text in dbt_codegen.expected_files().items() if not p.exists() or p.read_text() != text]
    assert stale == [], "run `weir dbt codegen`"


def test_consent_purposes_match_the_consent_contract() -> None:
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())
    assert project["vars"]["consent_purposes"] == load_contract("consent").column("purpose").allowed


def test_staging_columns_carry_contract_categories(manifest) -> None:
    stg = manifest["nodes"]["model.weir.stg_events"]["columns"]
    assert stg["user_token"]["config"]["meta"]["category"] == "user.unique_id"
    assert stg["ip_prefix"]["config"]["meta"]["category"] == "user.device.ip_address"
