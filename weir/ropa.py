"""Record of processing activities (GDPR Art. 30), derived from the data contracts only."""

import polars as pl

from weir.contract import NAME_CATEGORY, Column, all_contracts
from weir.errors import ConfigError
from weir.policy import load_policy

# Treatments whose output can feed differentially private aggregates: tokens serve as the
# privacy unit; scrubbed free text, vaulted contact data and dropped fields never do.
DP_ELIGIBLE = {"plain", "generalise", "token"}


def dp_eligible(column: Column) -> bool:
    return column.treatment in DP_ELIGIBLE and not column.category.startswith("user.contact")


def _stored_as(column: Column) -> str | None:
    if column.category == NAME_CATEGORY:  # privacy/_names.py: kept only to redact free text
        return "vault (name, to redact it from free text)"
    return None if column.treatment == "drop" else column.out_name


def record_of_processing() -> pl.DataFrame:
    """One row per source column: category, treatment, stored as, purposes, retention, DP use."""
    rows = [
        {
            "source": contract.source,
            "column": c.name,
            "category": c.category,
            "treatment": c.treatment,
            "stored_as": _stored_as(c),
            "purposes": ", ".join(c.purposes),
            "retention_days": c.retention_days,
            "dp_eligible": dp_eligible(c),
        }
        for contract in all_contracts()
        for c in contract.columns
    ]
    return pl.DataFrame(rows)


def by_category() -> pl.DataFrame:
    """The auditor's view: per data category, where it is held, how, why and for how long."""
    return (
        record_of_processing()
        .group_by("category")
        .agg(
            sources=pl.col("source").unique().sort().str.join(", "),
            treatments=pl.col("treatment").unique().sort().str.join(", "),
            purposes=pl.col("purposes").str.split(", ").flatten().unique().sort().str.join(", "),
            max_retention_days=pl.col("retention_days").max(),
        )
        .sort("category")
    )


def lawful_bases(policy: dict | None = None) -> dict[str, dict[str, str]]:
    """Source -> purpose -> lawful basis: the purposes its contract's kept columns declare, each
    with the basis weir/policy.yml gives it (the one place a basis is declared). A purpose the
    policy does not declare has no basis: a ConfigError naming the source and the purpose."""
    purposes = (policy or load_policy())["purposes"]
    bases: dict[str, dict[str, str]] = {}
    for contract in all_contracts():
        declared = sorted({p for c in contract.kept for p in c.purposes})
        if missing := [p for p in declared if p not in purposes]:
            raise ConfigError(
                f"contract {contract.source}: purpose(s) {', '.join(missing)} have no lawful basis; "
                "declare them in weir/policy.yml or remove them from the contract"
            )
        bases[contract.source] = {p: purposes[p]["legal_basis"] for p in declared}
    return bases
