"""Where Weir keeps its state: one data directory with a fixed layout."""

import os
from dataclasses import dataclass
from pathlib import Path

from weir.errors import DataDirError

DEFAULT_DATA_DIR = Path(".weir-data")
DATA_DIR_ENV = "WEIR_DATA_DIR"
KEYS_DIR_ENV = "WEIR_KEYS_DIR"


@dataclass(frozen=True, slots=True)
class DataDir:
    """Paths inside the data directory (landing zone, warehouse, keys, Airflow home)."""

    root: Path
    keys_override: Path | None = None  # $WEIR_KEYS_DIR: keys mounted by a secrets manager

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def manifests(self) -> Path:
        return self.landing / "_manifests"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def keys(self) -> Path:
        return self.keys_override or self.root / "keys"

    @property
    def audit_head(self) -> Path:
        return self.root / "audit_head.json"

    @property
    def quality(self) -> Path:
        """The Great Expectations project: kept validation results and the Data Docs site."""
        return self.root / "quality"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"


def resolve_data_dir(value: str | Path | None = None) -> DataDir:
    """Use the flag value, else $WEIR_DATA_DIR, else ./.weir-data (made absolute)."""
    chosen = value if value not in (None, "") else os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    keys = os.environ.get(KEYS_DIR_ENV)
    return DataDir(Path(chosen).expanduser().resolve(), Path(keys).resolve() if keys else None)


def ensure_writable(data_dir: DataDir) -> DataDir:
    """Create the data directory if needed and check that we can write into it."""
    root = data_dir.root
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".write-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise DataDirError(
            f"Data directory {root} is not writable ({err.strerror}). "
            f"Pass --data-dir with a writable folder or set {DATA_DIR_ENV}."
        ) from err
    return data_dir
