"""Expectation suites as code: one per raw source, derived from its data contract.

The contract already rejects malformed rows at ingest (types, required, allowed values,
ranges go to quarantine); the raw gate checks the *batch* as a whole and the privacy
promises: tokens look like tokens, no column holds a raw e-mail, phone or ID number, no
timestamp lies in the future, and the batch is not empty.

Row checks are SQL pushed down to DuckDB. They are compiled into one GX
`UnexpectedRowsExpectation` per severity whose query scans the batch once and returns one row
per failing check (`check_id`, `n`); the gate turns each row back into a finding naming its
check and column. 62 separate expectations on 1M events took 60 s (one scan each).
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
SEVERITIES = ("error", "warn")  # error blocks the batch; warn is recorded and the load goes on


@dataclass(frozen=True, slots=True)
class Check:
    """One row-level rule: the rows matching `where` are unexpected."""

    description: str
    where: str
    column: str | None = None
    severity: str = "error"


@dataclass(frozen=True)
class Suite:
    """Named checks plus plain GX expectations; GX binds them to a context when they run."""

    name: str
    expectations: list = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def compiled(self) -> list:
        """The plain expectations, then one single-scan expectation per severity of checks."""
        out = list(self.expectations)
        for severity in SEVERITIES:
            ids = {f"c{i}": c for i, c in enumerate(self.checks) if c.severity == severity}
            if ids:
                counts = ", ".join(f"count(*) filter (where {c.where}) as {i}" for i, c in ids.items())
                query = (
                    f"select check_id, n from (select {counts} from {{batch}}) "
                    f"unpivot (n for check_id in ({', '.join(ids)})) where n > 0"
                )
                out.append(
                    gxe.UnexpectedRowsExpectation(
                        description=f"{self.name}: {len(ids)} row checks ({severity})",
                        # GX fills in {batch} with str.format: other braces (regex) are doubled.
                        unexpected_rows_query=query.replace("{", "{{")
                        .replace("}", "}}")
                        .replace("{{batch}}", "{batch}"),
                        meta={
                            "severity": severity,
                            "checks": {i: [c.description, c.column] for i, c in ids.items()},
                        },
                    )
                )
        return out

    @property
    def size(self) -> int:
        return len(self.expectations) + len(self.checks)


def raw_suite(contract: Contract) -> Suite:
    """The raw-batch gate for one source."""
    suite = Suite(f"raw_{contract.source}")
    suite.expectations.append(gxe.ExpectTableRowCountToBeBetween(min_value=1, meta={"severity": "error"}))
    for column in contract.kept:
        name = column.out_name
        if column.treatment == "token":
            where = f"{name} is not null and not regexp_full_match({name}, '{TOKEN}')"
            suite.checks.append(Check(f"{name} holds pseudonymous tokens only", where, name))
        elif column.type == "varchar":
            for kind, pattern in RAW_PII.items():
                suite.checks.append(Check(f"no raw {kind} in {name}", f"regexp_matches({name}, '{pattern}')", name))
        if column.type == "timestamp" and not column.future_allowed:
            suite.checks.append(Check(f"{name} is not in the future", f"{name} > now() + {FUTURE_SLACK}", name))
    return suite
