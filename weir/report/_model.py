"""The report's values: sections of tables and charts, each with a status an auditor reads first."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

Status = Literal["ok", "attention", "failed"]
RANK: dict[str, int] = {"ok": 0, "attention": 1, "failed": 2}


@dataclass(frozen=True, slots=True)
class Period:
    """The reporting period, both days included."""

    start: date
    end: date

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as UTC timestamps, for bound query parameters."""
        return datetime.combine(self.start, time(), UTC), datetime.combine(self.end + timedelta(days=1), time(), UTC)

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple]


@dataclass(frozen=True, slots=True)
class Chart:
    """A bar or line chart (`series` name -> one value per `x`), or a lineage graph (`edges`)."""

    title: str
    kind: Literal["bar", "line", "graph"]
    x: list[str] = field(default_factory=list)
    series: dict[str, list[float]] = field(default_factory=dict)
    y_label: str = ""
    edges: list[tuple[str, str]] = field(default_factory=list)
    layers: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    status: Status
    summary: str
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    generated_at: datetime
    identity: list[tuple[str, str]]
    chain: Section
    sections: list[Section]

    @property
    def status(self) -> Status:
        worst = max([self.chain, *self.sections], key=lambda s: RANK[s.status])
        return worst.status


def failed(key: str, title: str, reason: str) -> Section:
    """A section that could not be computed: status failed, the reason on one line."""
    return Section(key, title, "failed", " ".join(reason.split()))
