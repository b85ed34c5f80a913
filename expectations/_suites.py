"""Expectation suites as code: one per raw source, derived from its data contract.

The contract already rejects malformed rows at ingest (types, required, allowed values,
ranges go to quarantine); the raw gate checks the *batch* as a whole and the privacy
promises: tokens look like tokens, no column holds a raw e-mail, phone or ID number, no
timestamp lies in the future, and the batch is not empty. Heavy checks are SQL pushed down
to DuckDB (`UnexpectedRowsExpectation`), never rows pulled into Python.
"""

from dataclasses import dataclass, field

import great_expectations.expectations as gxe

from weir.contract import Contract

# DuckDB (RE2) patterns for raw personal data that must never reach the warehouse.
RAW_PII = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "cn_phone": r"(^|[^0-9A-Za-z_])1[3-9][0-9]([ -]?[0-9]{4}){2}([^0-9A-Za-z_]|$)",
    "cn_id_number": r"(^|[^0-9A-Za-z_])[0-9]{17}[0-9Xx]([^0-9A-Za-z_]|$)",
}
TOKEN = r"tk[0-9]+_[0-9a-f]{32}"
FUTURE_SLACK = "interval 1 hour"  # clocks of app servers drift a little
TEXT_TYPES = ("varchar",)


def _unexpected(description: str, where: str, severity: str, column: str | None = None):
    # GX fills in {batch} with str.format: braces of regex quantifiers must be doubled.
    where = where.replace("{", "{{").replace("}", "}}")
    return gxe.UnexpectedRowsExpectation(
        description=description,
        unexpected_rows_query=f"select * from {{batch}} where {where}",
        meta={"severity": severity, "column": column},
    )


@dataclass(frozen=True)
class Suite:
    """A named list of expectations; GX binds it to a context when it runs (see _gate)."""

    name: str
    expectations: list = field(default_factory=list)

    def add_expectation(self, expectation) -> None:  # type: ignore[no-untyped-def]
        self.expectations.append(expectation)


def raw_suite(contract: Contract) -> Suite:
    """The raw-batch gate for one source."""
    suite = Suite(f"raw_{contract.source}")
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1, meta={"severity": "error"}))
    for column in contract.kept:
        name = column.out_name
        if column.treatment == "token":
            suite.add_expectation(
                _unexpected(
                    f"{name} holds pseudonymous tokens only",
                    f"{name} is not null and not regexp_full_match({name}, '{TOKEN}')",
                    "error",
                    name,
                )
            )
        elif column.type in TEXT_TYPES:
            for kind, pattern in RAW_PII.items():
                suite.add_expectation(
                    _unexpected(f"no raw {kind} in {name}", f"regexp_matches({name}, '{pattern}')", "error", name)
                )
        if column.type == "timestamp" and not column.future_allowed:
            suite.add_expectation(
                _unexpected(
                    f"{name} is not in the future",
                    f"{name} > now() + {FUTURE_SLACK}",
                    "error",
                    name,
                )
            )
    return suite
