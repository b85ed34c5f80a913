"""The full stack's `.env`: secrets every Airflow component must share, made on this machine.

`make up` runs `python -m weir.compose_env` before `docker compose up -d`. A missing `.env` is
created owner-only (0600); an existing one keeps its values (rotating the Fernet key would make
stored connections unreadable) and only gains the variables it lacks. `.env` is git-ignored;
`.env.example` lists the same names with placeholders.
"""

import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet

from weir.config import PRIVATE_FILE_MODE

# name -> how to make a value. Compose reads exactly these (tests/test_compose.py checks it).
GENERATED: dict[str, Callable[[], str]] = {
    "AIRFLOW_FERNET_KEY": lambda: Fernet.generate_key().decode(),  # encrypts connections and variables
    "AIRFLOW_API_SECRET_KEY": lambda: secrets.token_urlsafe(32),  # signs UI sessions
    "AIRFLOW_JWT_SECRET": lambda: secrets.token_urlsafe(32),  # signs the tasks' execution-API tokens
    "POSTGRES_PASSWORD": lambda: secrets.token_urlsafe(24),  # the metadata DB
}
OPTIONAL = {"AIRFLOW_UI_BIND": "127.0.0.1"}  # where the host publishes the UI (compose's default)


def read_env(path: Path) -> dict[str, str]:
    """`NAME=value` lines of an env file (comments and blank lines skipped)."""
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def ensure_env(path: Path) -> list[str]:
    """Add every missing generated secret to `path` (created 0600); return the names added."""
    present = read_env(path)
    missing = [name for name in GENERATED if name not in present]
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "a") as out:
        out.writelines(f"{name}={GENERATED[name]()}\n" for name in missing)
    os.chmod(path, PRIVATE_FILE_MODE)  # an older, looser file is tightened too
    return missing


def main(argv: list[str]) -> None:
    path = Path(argv[1] if len(argv) > 1 else ".env")
    added = ensure_env(path)
    print(f"{path}: {'added ' + ', '.join(added) if added else 'all secrets present'} (mode 0600, never commit it)")


if __name__ == "__main__":
    main(sys.argv)
