"""Record of processing activities (GDPR Art. 30), derived from the data contracts only."""

import polars as pl

from weir.contract import Column, all_contracts

# Treatments whose output can feed differentially private aggregates: tokens serve as the
# privacy unit; scrubbed free text, vaulted contact data and dropped fields never do.
DP_ELIGIBLE = {"plain", "generalise", "token"}


def dp_eligible(column: Column) -> bool:
    return column.treatment in DP_ELIGIBLE and not column.category.startswith("user.contact")


def record_of_processing() -> pl.DataFrame:
    """One row per source column: category, treatment, stored as, purposes, retention, DP use."""
    rows = [
        {
            "source": contract.source,
            "column": c.name,
            "category": c.category,
            "treatment": c.treatment,
            "stored_as": None if c.treatment == "drop" else c.out_name,
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
