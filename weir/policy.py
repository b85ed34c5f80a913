"""Policy as code: check every mart's columns against the purposes' allowed data categories.

Reads the dbt manifest (models, their `meta.purpose`, columns' `meta.category`, lineage) and
weir/policy.yml. Rules, each violation naming model, column and rule:
  1. every mart declares a known purpose;
  2. every mart column declares a category;
  3. the category is allowed for the purpose and not denied everywhere;
  4. a column carried from a contract keeps the contract's category (metadata follows the data);
  5. for consent purposes, a carried column's contract lists the purpose among its purposes.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from weir.contract import all_contracts
from weir.errors import ConfigError, PolicyViolation
from weir.manifest import ancestors, load, marts, meta

POLICY_FILE = Path(__file__).parent / "policy.yml"


@dataclass(frozen=True, slots=True)
class Violation:
    model: str
    column: str | None
    rule: str

    def __str__(self) -> str:
        where = f"{self.model}.{self.column}" if self.column else self.model
        return f"{where}: {self.rule}"


@cache
def load_policy(path: Path = POLICY_FILE) -> dict:
    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict) or "purposes" not in doc:
        raise ConfigError(f"{path} must have a `purposes` mapping.")
    return doc


def _within(category: str, entries: list[str]) -> bool:
    return any(category == e or category.startswith(e + ".") for e in entries)


def _contract_columns() -> dict[str, dict[str, tuple[str, list[str]]]]:
    """source -> column name in raw -> (category, purposes)."""
    return {c.source: {col.out_name: (col.category, col.purposes) for col in c.kept} for c in all_contracts()}


def check(manifest: dict, policy: dict | None = None) -> list[Violation]:
    policy = policy or load_policy()
    purposes, denied = policy["purposes"], policy.get("denied_everywhere", [])
    contracts = _contract_columns()
    found: list[Violation] = []
    for node in sorted(marts(manifest), key=lambda n: n["name"]):
        name, purpose = node["name"], meta(node).get("purpose")
        if purpose not in purposes:
            found.append(
                Violation(name, None, f"meta.purpose {purpose!r} is not one of {sorted(purposes)} (weir/policy.yml)")
            )
            continue
        rule = purposes[purpose]
        carried: dict[str, list[tuple[str, str, list[str]]]] = {}
        upstream = ancestors(manifest, node["unique_id"])
        for source in {manifest["sources"][a]["name"] for a in upstream if a.startswith("source.")}:
            for col, (category, col_purposes) in contracts.get(source, {}).items():
                carried.setdefault(col, []).append((source, category, col_purposes))
        for col_name, col in node.get("columns", {}).items():
            category = meta(col).get("category")
            if not category:
                found.append(Violation(name, col_name, "no meta.category: classify the column (weir/policy.yml)"))
                continue
            if _within(category, denied):
                found.append(Violation(name, col_name, f"category {category} is denied for every purpose"))
            elif not _within(category, rule["allowed"]):
                found.append(
                    Violation(
                        name,
                        col_name,
                        f"category {category} is not allowed for purpose {purpose} "
                        f"(weir/policy.yml purposes.{purpose}.allowed)",
                    )
                )
            origins = carried.get(col_name, [])
            if origins and category not in {o[1] for o in origins}:
                src = ", ".join(f"{s}.{col_name} is {c}" for s, c, _ in origins)
                found.append(Violation(name, col_name, f"category {category} does not follow the data: contract {src}"))
            if origins and rule["legal_basis"] == "consent" and not any(purpose in p for _, _, p in origins):
                found.append(
                    Violation(
                        name,
                        col_name,
                        f"the contract does not allow purpose {purpose} for this column "
                        f"(weir/contracts/{origins[0][0]}.yml purposes)",
                    )
                )
    return found


def check_manifest_file(path: Path) -> list[Violation]:
    return check(load(path))


def enforce(violations: list[Violation]) -> None:
    if violations:
        lines = "\n".join(f"  - {v}" for v in violations)
        raise PolicyViolation(f"{len(violations)} policy violation(s):\n{lines}")


def enforce_manifest(path: Path) -> int:
    """Raise on any violation in the manifest at `path`; return how many marts were checked."""
    enforce(check_manifest_file(path))
    return len(marts(load(path)))
