"""Scrub personal data out of free text (reviews, comments), vectorised with Polars.

Each kind is replaced by a typed placeholder. Digit runs that could be an ID number or a
bank card are only replaced when their checksum holds (GB 11643 for resident IDs, Luhn for
cards), so order numbers and tracking codes survive.
"""

import numpy as np
import polars as pl

PLACEHOLDERS = {
    "email": "<EMAIL>",
    "id_number": "<ID_NUMBER>",
    "bank_card": "<BANK_CARD>",
    "phone": "<PHONE>",
    "mention": "@<MENTION>",
}
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
DIGIT_RUN = r"\d{15,19}[Xx]?"  # candidates for ID numbers (18) and cards (15-19)
SPACED_CARD = r"\d{4}(?:[ -]\d{4}){3,4}"
PHONE_CN = r"(?:\+?86[ -]?)?(?-u:\b)1[3-9]\d(?:[ -]?\d{4}){2}(?-u:\b)"
PHONE_INTL = r"\+\d{1,3}[ -]?(?:\(\d{1,4}\)[ -]?)?\d{2,6}(?:[ -]\d{2,6}){1,3}(?-u:\b)"
# Issuer prefixes (first digit) of card schemes seen in Chinese and global commerce:
# 3 Amex/JCB, 4 Visa, 5 Mastercard, 6 UnionPay/Discover. Order numbers start elsewhere.
CARD_FIRST_DIGITS = set("3456")
# A mention runs to the next space or punctuation; a following capitalised word is taken as
# the surname of a Latin-script display name ("@Emma Nguyen").
MENTION = r"@[^\s@,，。.!！?？:：]+(?: [A-Z][A-Za-z'-]+)?"
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))


def _digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    return np.frombuffer("".join(values).encode(), dtype=np.uint8).reshape(len(values), width) - 48


def valid_id_numbers(candidates: np.ndarray) -> np.ndarray:
    """Mask of 18-character strings with a plausible birth date and a valid check character."""
    mask = np.zeros(len(candidates), bool)
    shaped = np.array([len(c) == 18 for c in candidates], bool) if len(candidates) else mask
    if not shaped.any():
        return mask
    values = candidates[shaped]
    digits = _digit_matrix(np.array([v[:17] for v in values]), 17)
    check_ok = ID_CHECK[(digits * ID_WEIGHTS).sum(axis=1) % 11] == np.array([v[17].upper() for v in values])
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    plausible = (year >= 1900) & (year <= 2030) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    mask[shaped] = check_ok & plausible
    return mask


def valid_luhn(candidates: np.ndarray) -> np.ndarray:
    """Mask of all-digit strings (15-19 long, card-scheme first digit) passing the Luhn check."""
    mask = np.zeros(len(candidates), bool)
    lengths = np.array([len(c) if c.isdigit() and c[:1] in CARD_FIRST_DIGITS else 0 for c in candidates], int)
    for width in range(15, 20):  # one vectorised pass per card length
        rows = lengths == width
        if rows.any():
            digits = _digit_matrix(candidates[rows], width)[:, ::-1].copy()
            doubled = digits[:, 1::2] * 2
            digits[:, 1::2] = np.where(doubled > 9, doubled - 9, doubled)
            mask[rows] = digits.sum(axis=1) % 10 == 0
    return mask


def _replace_values(texts: pl.Series, values: list[str], placeholder: str) -> pl.Series:
    if not values:
        return texts
    # Longest first, so a value never leaves a tail of a longer one behind.
    values = sorted(set(values), key=len, reverse=True)
    return texts.str.replace_many(values, [placeholder] * len(values))


def scrub(texts: pl.Series) -> pl.Series:
    """Replace e-mails, ID numbers, bank cards, phones and @-mentions with placeholders."""
    out = texts.str.replace_all(EMAIL, PLACEHOLDERS["email"])
    runs = out.str.extract_all(DIGIT_RUN).explode().drop_nulls().unique().to_numpy().astype(str)
    is_id = valid_id_numbers(runs)
    is_card = ~is_id & valid_luhn(runs)
    out = _replace_values(out, runs[is_id].tolist(), PLACEHOLDERS["id_number"])
    spaced = out.str.extract_all(SPACED_CARD).explode().drop_nulls().unique().to_numpy().astype(str)
    spaced_ok = valid_luhn(np.array([s.replace(" ", "").replace("-", "") for s in spaced], dtype=str))
    out = _replace_values(out, runs[is_card].tolist() + spaced[spaced_ok].tolist(), PLACEHOLDERS["bank_card"])
    out = out.str.replace_all(PHONE_CN, PLACEHOLDERS["phone"]).str.replace_all(PHONE_INTL, PLACEHOLDERS["phone"])
    return out.str.replace_all(MENTION, PLACEHOLDERS["mention"], literal=False)
