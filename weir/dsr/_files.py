"""Find files under the data dir that hold any of a batch of values (tokens, contact values).

Each file is read once for the whole batch. Tokens have one shape (`tk<version>_<hex>`), so
they are found by one regular-expression pass and a set lookup instead of one search per
token; contact values are searched for one by one (a couple per user).
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

from privacy._pseudonymise import TOKEN_HEX_CHARS

# Under the data dir but not scanned as files: landing batches are write-once evidence (the
# suppression list keeps their rows out, landing retention deletes them); keys hold no user
# data; DuckDB files are erased and checked through SQL.
NOT_FILES = ("landing", "keys")
DUCKDB_SUFFIXES = (".duckdb", ".duckdb.wal")
TOKEN = re.compile(rb"tk[0-9]+_[0-9a-f]{%d}" % TOKEN_HEX_CHARS)


def walk(root: Path) -> list[Path]:
    found = []
    for folder, dirs, names in os.walk(root):
        if Path(folder) == root:
            dirs[:] = [d for d in dirs if d not in NOT_FILES]
        found += [Path(folder) / n for n in names if not n.endswith(DUCKDB_SUFFIXES)]
    return [p for p in found if p.is_file() and not p.is_symlink()]


def holding(root: Path, needles: dict[str, str]) -> Iterator[tuple[Path, set[str]]]:
    """(file, the owners of the needles it holds) for each file holding any; `needles` maps a
    value to its owner (a request id)."""
    tokens = {n.encode(): owner for n, owner in needles.items() if TOKEN.fullmatch(n.encode())}
    others = {n.encode(): owner for n, owner in needles.items() if n.encode() not in tokens}
    for path in walk(root):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        owners = {tokens[t] for t in set(TOKEN.findall(data)) & tokens.keys()}
        owners |= {owner for n, owner in others.items() if owner not in owners and n in data}
        if owners:
            yield path, owners
