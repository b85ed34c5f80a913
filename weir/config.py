"""Where Weir keeps its state: one data directory with a fixed layout."""

import os
from dataclasses import dataclass
from pathlib import Path

from weir.errors import ConfigError, DataDirError

DEFAULT_DATA_DIR = Path(".weir-data")
# Landing files hold raw personal data and the warehouse its pseudonyms: owner only, like the keys.
PRIVATE_DIR_MODE, PRIVATE_FILE_MODE = 0o700, 0o600
DATA_DIR_ENV = "WEIR_DATA_DIR"
KEYS_DIR_ENV = "WEIR_KEYS_DIR"
K_ANONYMITY_ENV = "WEIR_K_ANONYMITY"
# Smallest number of distinct people a published row-level mart may name in one class of its
# quasi-identifiers. 5 is a common small-cell threshold in statistical disclosure control;
# raise it where a guess among 5 people is still too likely to be right.
K_ANONYMITY_DEFAULT = 5


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
    def audit_witness(self) -> Path:
        """Signed heads of the audit log, outside the warehouse (append-only, 0600)."""
        return self.root / "audit" / "witness.jsonl"

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


def k_anonymity() -> int:
    """The k of the publish gate's k-anonymity check: $WEIR_K_ANONYMITY, else 5."""
    value = os.environ.get(K_ANONYMITY_ENV, "").strip() or str(K_ANONYMITY_DEFAULT)
    if not value.isdigit() or int(value) < 2:
        raise ConfigError(
            f"{K_ANONYMITY_ENV}={value!r} is not a whole number of at least 2. Unset it for the default 5."
        )
    return int(value)


def ensure_writable(data_dir: DataDir) -> DataDir:
    """Create the data directory if needed and check that we can write into it."""
    root = data_dir.root
    try:
        make_private_dir(root, chmod_existing=False)  # a folder the operator made keeps its mode
        make_private_dir(data_dir.landing)
        probe = root / ".write-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise DataDirError(
            f"Data directory {root} is not writable ({err.strerror}). "
            f"Pass --data-dir with a writable folder or set {DATA_DIR_ENV}."
        ) from err
    return data_dir


def make_private_dir(path: Path, chmod_existing: bool = True) -> Path:
    """Create `path` (and missing parents) readable by the owner only; tighten it if it exists."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, PRIVATE_DIR_MODE)
    if chmod_existing:
        os.chmod(path, PRIVATE_DIR_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write `path` readable by the owner only (0600 even if it existed looser); never follows a
    symlink planted in its place."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def make_private_tree(root: Path) -> None:
    """Owner-only modes on a folder and everything below it (a landing batch just written)."""
    os.chmod(root, PRIVATE_DIR_MODE)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), PRIVATE_DIR_MODE)
        for name in files:
            os.chmod(os.path.join(folder, name), PRIVATE_FILE_MODE)
