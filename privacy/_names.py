"""Names of the dataset's own people, redacted wherever they occur in its free text.

A review export often carries the reviewer's name beside the text, and texts greet people by
it ("Hi Dallas, thank you..."). The names are known (the batch's columns of category
`user.name`), so this is a dictionary match, not a guess: every name and each of its parts of
at least three letters, as a whole word for Latin scripts (case-insensitive) and anywhere for
Chinese (no spaces between words), is replaced by a placeholder in one vectorised pass. Parts
that are also common words ("Will", "May", "Rose") are redacted only when capitalised, so
"will arrive" and "a red rose" stay as written.

Names are remembered across batches: every name a batch gives a user (the users source's name
column, a mapping's `names:` columns) is kept in the vault under that user's own data key
(field `name`, one name per line), so a review that arrives weeks after its author's sign-up
still has the author's name redacted. Erasure shreds the key, and the name with it.
"""

import re

import duckdb
import polars as pl

from privacy import _vault
from privacy._keyring import SecretKey

PLACEHOLDER = "<NAME>"
MIN_LETTERS = 3  # "Al", "Li" and "Bo" are too often part of other words to redact on their own
# English words that are also given names or surnames: redacted only when capitalised.
COMMON_WORDS = frozenset(
    """
    will may june april august bill bob art grace hope joy faith rose lily ivy daisy mark pat rich
    sandy dawn summer autumn winter sky star king young white black brown green gray grey long
    ray guy jack max frank earl bishop page price cook baker miller smith hunter carter rice
    crystal amber ruby pearl jade penny sunny happy lucky chance love honey angel the and you
    """.split()
)
_CJK = re.compile(r"[\u3400-\u9fff]")
NAME_FIELD = "name"  # the vault field holding a user's known names, one per line


def name_terms(names: pl.Series) -> tuple[list[str], list[str], list[str]]:
    """(specific Latin terms, capitalised common-word parts, Chinese names) to redact."""
    latin, common, chinese = set(), set(), set()
    for name in names.drop_nulls().str.strip_chars().unique().to_list():  # distinct names, not rows
        if _CJK.search(name):
            if len(name) >= 2:
                chinese.add(name)
            continue
        parts = [p for p in re.split(r"[\s,._-]+", name) if len(p) >= 1]
        if len(parts) > 1 and sum(map(len, parts)) >= MIN_LETTERS:
            latin.add(" ".join(parts).lower())
        for part in (p for p in parts if len(p) >= MIN_LETTERS):
            if part.lower() in COMMON_WORDS:
                common.add(part[0].upper() + part[1:].lower())
            else:
                latin.add(part.lower())
    longest_first = lambda terms: sorted(terms, key=lambda t: (-len(t), t))  # noqa: E731
    return longest_first(latin), longest_first(common), longest_first(chinese)


def redact_names(texts: pl.Series, names: pl.Series) -> pl.Series:
    """`texts` with every occurrence of the dataset's `names` replaced by <NAME>."""
    latin, common, chinese = name_terms(names)
    out = texts.cast(pl.Utf8)
    if latin:  # whole words, any case; "dallas smith" before "dallas"
        words = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in latin)
        out = out.str.replace_all(rf"(?i)\b(?:{words})\b", PLACEHOLDER)
    if common:
        out = out.str.replace_all(rf"\b(?:{'|'.join(map(re.escape, common))})\b", PLACEHOLDER)
    if chinese:
        out = out.str.replace_many(dict.fromkeys(chinese, PLACEHOLDER))
    return out


def name_entries(con: duckdb.DuckDBPyConnection, master: SecretKey, pairs: pl.DataFrame) -> list[tuple[str, str, str]]:
    """The vault entries (user_token, `name`, names) that `pairs` (user_token, name) change:
    each user's new names merged with those already held, one per line."""
    pairs = pairs.drop_nulls().with_columns(pl.col("name").str.strip_chars()).filter(pl.col("name") != "")
    if pairs.is_empty():
        return []
    grouped = pairs.unique().group_by("user_token").agg(pl.col("name"))
    held = _vault.read_many(con, master, grouped["user_token"].to_list(), (NAME_FIELD,))
    changed = []
    for user_token, names in grouped.iter_rows():  # per user, like the vault's AEAD calls
        known = set(held.get((user_token, NAME_FIELD), "").splitlines())
        merged = known | {n for name in names for n in name.splitlines()}
        if merged != known:
            changed.append((user_token, NAME_FIELD, "\n".join(sorted(merged))))
    return changed


def remembered(con: duckdb.DuckDBPyConnection, master: SecretKey, user_tokens: list[str]) -> pl.Series:
    """The names the vault holds for these users (nothing for an erased user: key shredded)."""
    held = _vault.read_many(con, master, user_tokens, (NAME_FIELD,)) if user_tokens else {}
    return pl.Series("name", [n for value in held.values() for n in value.splitlines()], dtype=pl.Utf8)
