"""Write the dbt sources and staging layer from the data contracts.

The contracts are the one declaration of columns and their privacy metadata; the staging
models, their docs, tests and `meta.category` are derived here so they cannot drift
(`weir dbt codegen`, checked by a test).
"""

from pathlib import Path

import yaml

from weir.contract import Column, Contract, all_contracts

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
STAGING = DBT_PROJECT / "models" / "staging"
HEADER = "# Generated from weir/contracts by `weir dbt codegen`; edit the contracts, not this file.\n"
LINEAGE_COLUMNS = [  # load lineage kept in staging: which batch brought the row, and when
    ("_batch_id", "batch_id", "Landing batch that loaded the row.", "system.operations.lineage"),
    ("_loaded_at", "loaded_at", "When the row was committed to raw.", "system.operations.lineage"),
]


def _describe(c: Column) -> str:
    how = {
        "token": "HMAC-SHA256 pseudonym (tk<version>_<hex>)",
        "generalise": f"generalised ({c.generaliser})",
        "scrub": "free text with PII replaced by typed placeholders",
        "vault": "token of a value kept only encrypted in the vault",
        "plain": "as landed",
    }[c.treatment]
    return f"{c.category}: {how}."


def _tests(contract: Contract, c: Column) -> list:
    tests: list = []
    if c.required:
        tests.append("not_null")
    if contract.key_columns == [c.name]:
        tests.append("unique")
    if c.allowed:
        tests.append({"accepted_values": {"arguments": {"values": c.allowed}}})
    if contract.known_user == c.name and contract.source != "users":
        tests.append({"relationships": {"arguments": {"to": "ref('stg_users')", "field": "user_token"}}})
    return tests


def _column_doc(contract: Contract, c: Column) -> dict:
    doc: dict = {
        "name": c.out_name,
        "description": _describe(c),
        "config": {"meta": {"category": c.category, "treatment": c.treatment, "purposes": c.purposes}},
    }
    tests = _tests(contract, c)
    if tests:
        doc["data_tests"] = tests
    return doc


def staging_sql(contract: Contract) -> str:
    cols = [c.out_name for c in contract.kept] + [f"{raw} as {name}" for raw, name, _, _ in LINEAGE_COLUMNS]
    body = ",\n    ".join(cols)
    return (
        f"-- Generated from weir/contracts/{contract.source}.yml by `weir dbt codegen`.\n"
        f"select\n    {body}\nfrom {{{{ source('raw', '{contract.source}') }}}}\n"
    )


def sources_yaml(contracts: list[Contract]) -> str:
    tables = [
        {"name": c.source, "description": f"Landed `{c.source}` rows that passed the data contract."} for c in contracts
    ]
    doc = {
        "version": 2,
        "sources": [
            {
                "name": "raw",
                "schema": "raw",
                "description": "Pseudonymised, generalised, scrubbed rows written by `weir ingest`.",
                "tables": tables,
            }
        ],
    }
    return HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


def staging_yaml(contracts: list[Contract]) -> str:
    models = []
    for contract in contracts:
        columns = [_column_doc(contract, c) for c in contract.kept]
        columns += [
            {"name": name, "description": text, "config": {"meta": {"category": category}}}
            for _, name, text, category in LINEAGE_COLUMNS
        ]
        key = ", ".join(contract.column(k).out_name for k in contract.key_columns)
        models.append(
            {
                "name": f"stg_{contract.source}",
                "description": f"`{contract.source}` as landed in raw, one row per {key}.",
                "columns": columns,
            }
        )
    return HEADER + yaml.safe_dump({"version": 2, "models": models}, sort_keys=False, allow_unicode=True, width=120)


def expected_files() -> dict[Path, str]:
    """Every generated file with its content."""
    contracts = all_contracts()
    files = {STAGING / "_sources.yml": sources_yaml(contracts), STAGING / "_staging.yml": staging_yaml(contracts)}
    files.update({STAGING / f"stg_{c.source}.sql": staging_sql(c) for c in contracts})
    return files


def write() -> list[Path]:
    """Write the generated files; return those that changed."""
    changed = []
    for path, text in expected_files().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed
