"""Synthetic social-commerce data written to the landing zone, with a manifest of the truth."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from weir.config import make_private_dir, make_private_tree
from weir.errors import ConfigError, LandingError
from weir.generate._badinput import BAD_CLASSES, MAX_BAD_RATE, BadInputSpec, choose_bad_rows
from weir.generate._continue import latest_manifest, next_window
from weir.generate._world import build
from weir.generate._writers import to_lines, write_lines

__all__ = [
    "BAD_CLASSES",
    "SOURCES",
    "GenerateConfig",
    "GenerateResult",
    "generate",
    "latest_manifest",
    "plan",
    "refuse_existing",
]


@dataclass(frozen=True, slots=True)
class SourceFormat:
    fmt: str  # jsonl | csv | parquet
    bad: BadInputSpec = field(default_factory=BadInputSpec)
    daily_parts: bool = False


# Landing format per source, and which column each bad-input class corrupts in it.
SOURCES: dict[str, SourceFormat] = {
    "users": SourceFormat("csv", BadInputSpec(id="user_id", ts="signup_at", text="name", required="user_id")),
    "follows": SourceFormat("parquet"),
    "events": SourceFormat(
        "jsonl",
        BadInputSpec(
            id="event_id", ts="ts", number="dwell_ms", text="user_agent", required="user_id", enum="event_type"
        ),
        daily_parts=True,
    ),
    "orders": SourceFormat(
        "csv",
        BadInputSpec(
            id="order_id",
            ts="ordered_at",
            number="amount_cents",
            text="shipping_city",
            required="user_id",
            enum="status",
        ),
    ),
    "reviews": SourceFormat(
        "jsonl", BadInputSpec(id="review_id", ts="created_at", number="rating", text="text", required="item_id")
    ),
    "group_buys": SourceFormat("csv"),
    "bargains": SourceFormat("csv"),
    "live_streams": SourceFormat("csv"),
    "assignments": SourceFormat("parquet"),
    "impressions": SourceFormat("parquet"),
    "consent": SourceFormat(
        "jsonl", BadInputSpec(id="consent_id", ts="ts", required="purpose", enum="purpose", user="user_id")
    ),
    "dsr": SourceFormat(
        "jsonl",
        BadInputSpec(id="request_id", ts="received_at", required="request_type", enum="request_type", user="user_id"),
    ),
}


@dataclass(frozen=True, slots=True)
class GenerateConfig:
    """What to generate. Defaults are the demo size (about 60k events, seconds to make)."""

    users: int = 2_000
    days: int = 7
    seed: int = 42
    bad_rate: float = 0.0
    start: date = date(2026, 10, 1)
    origin: date | None = None  # the first day of the world this batch continues (None: a new world)

    def __post_init__(self) -> None:
        if self.origin is not None and self.origin >= self.start:
            raise ConfigError(f"origin {self.origin} is not before --start {self.start}; a continuation starts later.")
        if not 50 <= self.users <= 5_000_000:
            raise ConfigError(f"--users {self.users} is out of range; use 50 to 5,000,000.")
        if not 1 <= self.days <= 366:
            raise ConfigError(f"--days {self.days} is out of range; use 1 to 366.")
        if not 0 <= self.bad_rate <= MAX_BAD_RATE:
            raise ConfigError(
                f"--bad-rate {self.bad_rate} is out of range; use 0 to {MAX_BAD_RATE} "
                f"(each of the {len(BAD_CLASSES)} bad-input classes is injected at this rate)."
            )
        if self.seed < 0:
            raise ConfigError(f"--seed {self.seed} is negative; use a seed of 0 or more.")

    @property
    def batch_id(self) -> str:
        return f"{self.start:%Y%m%d}-{self.days}d-s{self.seed}"

    @property
    def start_ms(self) -> int:
        return _ms(self.start)

    @property
    def origin_ms(self) -> int | None:
        return None if self.origin is None else _ms(self.origin)


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class GenerateResult:
    batch_id: str
    landing: Path
    rows: dict[str, int]
    injected: dict[str, dict[str, int]]
    manifest: Path
    files: list[Path]


def _write_source(
    name: str, frame: pl.DataFrame, spec: SourceFormat, folder: Path, bad: pl.Series
) -> tuple[list[Path], pl.DataFrame]:
    """Write one source; return its files and (file, line, class, field, id) per bad row."""
    make_private_dir(folder)
    if spec.fmt == "parquet":
        path = folder / "part-0000.parquet"
        frame.write_parquet(path)
        return [path], pl.DataFrame()
    lines = to_lines(frame, spec.fmt, bad, spec.bad)
    ts_col = spec.bad.ts
    part = frame[ts_col].str.slice(0, 10) if spec.daily_parts and ts_col else pl.Series([""] * frame.height)
    table = pl.DataFrame(
        {"line": lines, "part": part, "bad_class": bad, "row_id": frame[spec.bad.id] if spec.bad.id else None}
    )
    header = ",".join(frame.columns) if spec.fmt == "csv" else None
    files, bad_rows = [], []
    for i, (key, group) in enumerate(table.group_by("part", maintain_order=True)):  # parts, not rows
        stem = f"part-{key[0]}" if key[0] else f"part-{i:04d}"
        path = folder / f"{stem}.{spec.fmt}"
        write_lines(path, group["line"], header)
        files.append(path)
        offset = 2 if header else 1  # line numbers are 1-based; CSV data starts after the header
        bad_rows.append(
            group.with_row_index("line_no", offset=offset)
            .filter(pl.col("bad_class").is_not_null())
            .select(
                file=pl.lit(str(path.relative_to(folder.parents[1]))),
                line=pl.col("line_no").cast(pl.Int64),
                bad_class="bad_class",
                row_id="row_id",
            )
        )
    return files, pl.concat(bad_rows) if bad_rows else pl.DataFrame()


def plan(
    landing: Path,
    *,
    cont: bool,
    users: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    bad_rate: float = 0.0,
    start: date | None = None,
) -> GenerateConfig:
    """The batch to generate: a new world's first one (defaults of GenerateConfig), or with `cont`
    the next one (1 day unless `days`) of the landed world that ends last (of `seed`, if given)."""
    default = GenerateConfig()
    if not cont:
        seed = default.seed if seed is None else seed
        return GenerateConfig(users or default.users, days or default.days, seed, bad_rate, start or default.start)
    manifest = latest_manifest(landing, seed)
    if manifest is None:
        world = "" if seed is None else f" of seed {seed}"
        raise LandingError(
            f"No landed batch{world} to continue in {landing}; generate a world's first batch "
            "with `weir generate` (without --continue)."
        )
    world = manifest["config"]
    if users is not None and users != world["users"]:
        raise ConfigError(
            f"--users {users} differs from the world being continued ({world['users']:,} users, batch "
            f"{manifest['batch_id']}); drop --users, or start a new world without --continue."
        )
    origin, start = next_window(manifest, start)
    return GenerateConfig(world["users"], days or 1, world["seed"], bad_rate, start, origin)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def refuse_existing(landing: Path, batch_id: str) -> None:
    """Landed files are evidence: refuse a batch id that already has a folder or manifest."""
    folders = [landing / name / batch_id for name in SOURCES] + [landing / "_manifests" / batch_id]
    taken = [p for p in folders if p.exists() or p.is_symlink()]
    if taken:
        raise LandingError(
            f"Batch {batch_id} already exists in the landing zone ({taken[0].relative_to(landing)}); "
            "landed batches are never rewritten: land the next day with `weir generate --continue`, "
            "pick another --start or --seed, or ingest the one there."
        )


def generate(config: GenerateConfig, landing: Path, progress: Callable[[str], None] | None = None) -> GenerateResult:
    """Generate one new batch into `landing/<source>/<batch_id>/`; refuse one that exists."""
    refuse_existing(landing, config.batch_id)
    note = progress or (lambda _: None)
    note("simulating behaviour")
    tag = f"{config.start:%y%m%d}s{config.seed}"
    world = build(config.seed, config.users, config.start_ms, config.days, tag, config.origin_ms)
    rng = np.random.default_rng(
        np.random.SeedSequence([config.seed, 99, *([config.start_ms] if config.origin else [])])
    )
    all_files, bad_frames, injected = [], [], {}
    for name, frame in world.sources.items():
        if frame.is_empty():  # a continuation lands no profiles or arms: those came with the world
            continue
        note(f"writing {name}")
        spec = SOURCES[name]
        folder = landing / name / config.batch_id
        bad = (
            choose_bad_rows(rng, frame.height, spec.bad, config.bad_rate)
            if spec.fmt != "parquet"
            else pl.Series("bad_class", [None] * frame.height, dtype=pl.Utf8)
        )
        files, bad_rows = _write_source(name, frame, spec, folder, bad)
        make_private_tree(folder)
        all_files += files
        if bad_rows.height:
            bad_frames.append(
                bad_rows.with_columns(
                    source=pl.lit(name),
                    field=pl.col("bad_class").replace_strict(
                        {c: spec.bad.field_for(c) for c in BAD_CLASSES}, return_dtype=pl.Utf8
                    ),
                )
            )
        injected[name] = {c: int((bad == c).sum()) for c in BAD_CLASSES if (bad == c).any()}
    note("writing manifest")
    manifest_dir = landing / "_manifests" / config.batch_id
    make_private_dir(manifest_dir)
    bad_schema = {
        "file": pl.Utf8,
        "line": pl.Int64,
        "bad_class": pl.Utf8,
        "row_id": pl.Utf8,
        "source": pl.Utf8,
        "field": pl.Utf8,
    }
    bad_rows = pl.concat([pl.DataFrame(schema=bad_schema), *(f.cast(bad_schema) for f in bad_frames)], how="diagonal")
    bad_rows.write_parquet(manifest_dir / "bad_rows.parquet")
    rows = {name: frame.height for name, frame in world.sources.items()}
    manifest = {
        "batch_id": config.batch_id,
        "config": {**asdict(config), "start": config.start.isoformat(), "origin": _iso(config.origin)},
        "rows": rows,
        "injected": injected,
        "files": {str(p.relative_to(landing)): hashlib.sha256(p.read_bytes()).hexdigest() for p in all_files},
        "truth": world.truth,
    }
    path = manifest_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True))
    make_private_tree(manifest_dir)
    return GenerateResult(config.batch_id, landing, rows, injected, path, all_files)
