"""Data contracts: one YAML per source declares columns, checks and privacy metadata.

The same declaration drives the load checks, pseudonymisation, generalisation, scrubbing,
the vault, retention and the record of processing activities; nothing re-lists columns.
"""

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from weir.errors import ConfigError

CONTRACTS_DIR = Path(__file__).parent / "contracts"
NAME_CATEGORY = "user.name"  # names are dropped from rows but kept in the vault for redaction
SqlType = Literal["varchar", "bigint", "double", "boolean", "timestamp", "date"]
Treatment = Literal["plain", "token", "generalise", "scrub", "vault", "drop"]
Generaliser = Literal["ip_prefix", "age_band", "region", "device_family"]
# privacy._pseudonymise.KINDS (a test keeps them equal): persons' ids, then the source's record ids.
TokenKind = Literal[
    "user",
    "device",
    "email",
    "phone",
    "event",
    "session",
    "order",
    "share",
    "review",
    "group_buy",
    "bargain",
    "live_stream",
    "impression",
    "consent",
    "request",
]


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    name: str
    type: SqlType
    required: bool = False
    allowed: list[str] | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    future_allowed: bool = False  # deadlines and expiries legitimately lie ahead
    category: str
    treatment: Treatment
    kind: TokenKind | None = None
    generaliser: Generaliser | None = None
    output: str | None = Field(default=None, alias="as")
    purposes: list[str]
    retention_days: int = Field(ge=0)

    @model_validator(mode="after")
    def _treatment_needs(self) -> "Column":
        if self.treatment in ("token", "vault") and self.kind is None:
            raise ValueError(f"column {self.name}: treatment {self.treatment} needs `kind`")
        if self.treatment == "generalise" and self.generaliser is None:
            raise ValueError(f"column {self.name}: treatment generalise needs `generaliser`")
        return self

    @property
    def out_name(self) -> str:
        """Column name in the raw schema (tokens are `<entity>_token`, per the style guide)."""
        return self.output or self.name


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    primary_key: str | list[str]
    known_user: str | None = None
    # A steady stream (events, orders) is compared with its previous batch's volume; an
    # event-driven source (one withdrawal, one request) legitimately comes a row at a time.
    volume: Literal["steady", "event_driven"] = "steady"
    purposes: list[str] | None = None  # YAML anchor holder for the columns' purposes
    # Two columns that may not hold the same value (a follow of oneself): such a row is
    # quarantined as self_reference, not loaded (it would inflate follower counts).
    distinct_pair: tuple[str, str] | None = None
    columns: list[Column]

    @property
    def key_columns(self) -> list[str]:
        return [self.primary_key] if isinstance(self.primary_key, str) else list(self.primary_key)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def person(self) -> Column | None:
        """The column naming the user a row is about (the first user id), if any."""
        return next((c for c in self.columns if c.kind == "user"), None)

    @property
    def kept(self) -> list[Column]:
        return [c for c in self.columns if c.treatment != "drop"]


@cache
def load_contract(source: str) -> Contract:
    """Read and validate `weir/contracts/<source>.yml`."""
    path = CONTRACTS_DIR / f"{source}.yml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in CONTRACTS_DIR.glob("*.yml")))
        raise ConfigError(f"No data contract for source {source!r}; known sources: {known}.")
    try:
        return Contract.model_validate(yaml.safe_load(path.read_text()))
    except ValidationError as err:
        raise ConfigError(f"Data contract {path} is invalid: {err}") from err


def all_contracts() -> list[Contract]:
    return [load_contract(p.stem) for p in sorted(CONTRACTS_DIR.glob("*.yml"))]
