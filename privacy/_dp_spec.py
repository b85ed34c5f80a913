"""DP release specs as code: read privacy/releases.yml once, validate it, hand out typed values.

Every rule a spec must follow is checked here, at the boundary, with a message naming the
release, the field and the fix; nothing downstream re-validates.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from weir.errors import DpSpecError

SPEC_FILE = Path(__file__).with_name("releases.yml")
MEASURE_KINDS = ("count", "sum", "mean")
PERIODS = ("quarter",)
ROWS = "rows"  # with combine_per_user: how many input rows a user has in the group


@dataclass(frozen=True, slots=True)
class Loss:
    """Privacy loss under zero-concentrated DP (rho), plus delta where DP partition selection runs."""

    rho: float
    delta: float = 0.0


@dataclass(frozen=True, slots=True)
class Budget:
    dataset: str
    period: str  # "quarter": the budget renews per calendar quarter, over that quarter's data
    total: Loss


@dataclass(frozen=True, slots=True)
class Period:
    label: str  # 2026Q4
    start: date  # inclusive
    end: date  # exclusive

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]


@dataclass(frozen=True, slots=True)
class Bounds:
    max_rows_per_group: int  # rows one user may add to one group (more are truncated)
    max_groups: int  # groups one user may add to (more are truncated)


@dataclass(frozen=True, slots=True)
class Key:
    column: str
    public_set: str | None  # name in key_sets; None for private keys (DP partition selection)


@dataclass(frozen=True, slots=True)
class Measure:
    name: str
    kind: str  # count | sum | mean
    column: str | None = None  # sum: the summed column
    lower: int = 0  # sum: clamping bounds
    upper: int = 0
    sum: str | None = None  # mean: names of the sum and count measures it divides
    count: str | None = None


@dataclass(frozen=True, slots=True)
class ReleaseSpec:
    name: str
    description: str
    input: str  # a user-level mart with analytics consent (the dp_* marts); checked in weir.dp
    dataset: str
    date_column: str
    where: tuple[tuple[str, tuple[Any, ...]], ...]  # column -> allowed values
    keys: tuple[Key, ...]
    bounds: Bounds
    measures: tuple[Measure, ...]
    loss: Loss
    suppress: bool  # null out values whose 95% interval is wider than the value
    combine_per_user: bool  # one input row per user and group: their rows counted (`rows`), columns summed
    fingerprint: str  # hash of the spec and its key sets: a changed spec is a new release

    @property
    def has_private_keys(self) -> bool:
        return any(k.public_set is None for k in self.keys)

    def noisy(self) -> tuple[Measure, ...]:
        """Measures that OpenDP computes (means are derived from them, at no extra loss)."""
        return tuple(m for m in self.measures if m.kind != "mean")


@dataclass(frozen=True, slots=True)
class Catalog:
    budgets: dict[str, Budget]
    key_sets: dict[str, dict]
    releases: dict[str, ReleaseSpec]

    def release(self, name: str) -> ReleaseSpec:
        if name not in self.releases:
            known = ", ".join(sorted(self.releases)) or "none"
            raise DpSpecError(f'Unknown release "{name}". Known releases: {known} (privacy/releases.yml).')
        return self.releases[name]

    def key_values(self, key: Key, period: Period) -> list:
        entry = self.key_sets[key.public_set or ""]
        return period.days() if entry.get("calendar") else list(entry["values"])


def period_of(day: date) -> Period:
    quarter = (day.month - 1) // 3
    start = date(day.year, 3 * quarter + 1, 1)
    end = date(day.year + (quarter == 3), (3 * quarter + 3) % 12 + 1, 1)
    return Period(f"{day.year}Q{quarter + 1}", start, end)


def parse_period(label: str) -> Period:
    found = re.fullmatch(r"(\d{4})Q([1-4])", label.strip().upper())
    if not found:
        raise DpSpecError(f'Period "{label}" is not a quarter: write it like 2026Q4.')
    return period_of(date(int(found[1]), 3 * int(found[2]) - 2, 1))


def load_catalog(path: Path = SPEC_FILE) -> Catalog:
    """Read and validate the whole spec file; raise DpSpecError naming the first bad field."""
    raw = yaml.safe_load(path.read_text()) or {}
    key_sets = _key_sets(raw.get("key_sets") or {})
    budgets = {name: _budget(name, body) for name, body in (raw.get("budgets") or {}).items()}
    releases = {
        name: _release(name, body or {}, budgets, key_sets) for name, body in (raw.get("releases") or {}).items()
    }
    return Catalog(budgets, key_sets, releases)


def _fail(where: str, message: str) -> DpSpecError:
    return DpSpecError(f"{where}: {message} (privacy/releases.yml)")


def _positive(where: str, value: Any, kind: type = float, zero_ok: bool = False) -> Any:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and (value >= 0 if zero_ok else value > 0)
    if not ok or (kind is int and not float(value).is_integer()):
        need = "a non-negative" if zero_ok else "a positive"
        raise _fail(where, f"got {value!r}; it must be {need} {'integer' if kind is int else 'number'}")
    return kind(value)


def _key_sets(raw: dict) -> dict[str, dict]:
    for name, body in raw.items():
        if not body.get("source"):
            raise _fail(f"key_sets.{name}.source", "missing; say where the public keys come from")
        if not body.get("calendar") and not body.get("values"):
            raise _fail(f"key_sets.{name}", "needs `values` (a list) or `calendar: true`")
    return raw


def _budget(name: str, body: dict) -> Budget:
    where = f"budgets.{name}"
    if body.get("period") not in PERIODS:
        raise _fail(f"{where}.period", f"got {body.get('period')!r}; use one of {', '.join(PERIODS)}")
    rho = _positive(f"{where}.rho", body.get("rho"))
    delta = _positive(f"{where}.delta", body.get("delta", 0.0), zero_ok=True)
    if delta >= 1:
        raise _fail(f"{where}.delta", f"got {delta}; delta must be below 1 (typically 1e-6 or smaller)")
    return Budget(name, body["period"], Loss(rho, delta))


def _release(name: str, body: dict, budgets: dict[str, Budget], key_sets: dict) -> ReleaseSpec:
    where = f"releases.{name}"
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
        raise _fail(where, "a release name is lower_snake_case (it names the published table dp_<name>)")
    for field in ("input", "dataset", "date_column", "keys", "bounds", "measures", "loss"):
        if not body.get(field):
            raise _fail(f"{where}.{field}", "missing; every release declares it")
    if body["dataset"] not in budgets:
        raise _fail(f"{where}.dataset", f"{body['dataset']!r} has no budget; add it under `budgets`")
    keys = tuple(_key(f"{where}.keys.{col}", col, spec or {}, key_sets) for col, spec in body["keys"].items())
    measures = _measures(f"{where}.measures", body["measures"])
    combine = bool(body.get("combine_per_user", False))
    bounds = _bounds(f"{where}.bounds", body["bounds"])
    if combine and bounds.max_rows_per_group != 1:
        raise _fail(f"{where}.bounds.max_rows_per_group", "combine_per_user leaves one row per user and group: use 1")
    if not combine and any(m.column == ROWS for m in measures):
        raise _fail(f"{where}.measures", f"column `{ROWS}` exists only with combine_per_user: true")
    loss = _loss(f"{where}.loss", body["loss"], any(k.public_set is None for k in keys))
    used_sets = {k.public_set: key_sets[k.public_set] for k in keys if k.public_set}
    return ReleaseSpec(
        name=name,
        description=str(body.get("description", "")).strip(),
        input=body["input"],
        dataset=body["dataset"],
        date_column=body["date_column"],
        where=tuple((col, tuple(vals)) for col, vals in (body.get("where") or {}).items()),
        keys=keys,
        bounds=bounds,
        measures=measures,
        loss=loss,
        suppress=bool(body.get("suppress", False)),
        combine_per_user=combine,
        fingerprint=hashlib.sha256(json.dumps([body, used_sets], sort_keys=True, default=str).encode()).hexdigest(),
    )


def _key(where: str, column: str, spec: dict, key_sets: dict) -> Key:
    if spec.get("private"):
        return Key(column, None)
    name = spec.get("public")
    if name not in key_sets:
        raise _fail(where, f"public key set {name!r} is not declared; use one of {sorted(key_sets)} or private: true")
    return Key(column, name)


def _bounds(where: str, body: dict) -> Bounds:
    for field in ("max_rows_per_group", "max_groups"):
        if field not in body:
            raise _fail(f"{where}.{field}", "missing; contribution bounds are required for user-level DP")
    return Bounds(
        _positive(f"{where}.max_rows_per_group", body["max_rows_per_group"], int),
        _positive(f"{where}.max_groups", body["max_groups"], int),
    )


def _measures(where: str, items: list) -> tuple[Measure, ...]:
    measures: list[Measure] = []
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        kind = item.get("kind")
        if kind not in MEASURE_KINDS or not item.get("name"):
            raise _fail(here, f"needs a name and a kind in {MEASURE_KINDS}; got {item!r}")
        if kind == "sum":
            if not item.get("column") or "lower" not in item or "upper" not in item:
                raise _fail(here, "a sum needs `column` and clamping bounds `lower` and `upper`")
            lower, upper = item["lower"], item["upper"]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (lower, upper)) or lower >= upper:
                raise _fail(here, f"clamping bounds must be integers with lower < upper; got [{lower}, {upper}]")
        measures.append(Measure(**item))
    names = {m.name: m.kind for m in measures}
    for m in measures:
        if m.kind == "mean" and (names.get(m.sum) != "sum" or names.get(m.count) not in ("count", "sum")):
            raise _fail(
                f"{where}.{m.name}", "a mean names a `sum` measure and a `count` (or sum) measure of this release"
            )
    return tuple(measures)


def _loss(where: str, body: dict, private_keys: bool) -> Loss:
    if "epsilon" in body:
        raise _fail(f"{where}.epsilon", "losses are zCDP: give `rho` (pure epsilon-DP costs rho = epsilon^2 / 2)")
    rho = _positive(f"{where}.rho", body.get("rho"))
    delta = _positive(f"{where}.delta", body.get("delta", 0.0), zero_ok=True)
    if private_keys and not 0 < delta < 1:
        raise _fail(f"{where}.delta", "private keys need DP partition selection: give 0 < delta < 1 (e.g. 1e-7)")
    if not private_keys and delta:
        raise _fail(f"{where}.delta", "all keys are public, so no delta is needed; remove it")
    return Loss(rho, delta)
