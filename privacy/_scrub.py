"""Find and scrub personal data in free text (reviews, comments), vectorised with Polars.

One detector serves two callers: `scrub` replaces each kind with a typed placeholder before a
batch lands in `raw`, and the raw and publish gates ask the same detector (`detect`, exposed to
DuckDB as `weir_pii_kinds`) whether anything is left. A gate with a looser detector of its own
once rejected a whole reviews batch for one 18-digit tracking number, while a stricter scrubber
let `tel13912345678` through; with one detector the two cannot disagree.

Text is NFKC-normalised first, so full-width and other compatibility forms (`１３８…`, `＠`,
`＋８６`) are matched as the ASCII they stand for; invisible format characters (Unicode Cf:
zero-width space, ZWNJ/ZWJ, soft hyphen, word joiner, BOM) are dropped, as they hide a
number's groups from the patterns, and every Unicode decimal digit (Arabic-Indic `١٣٨…` and
the like, which NFKC leaves alone) is mapped to its ASCII digit. The scrubbed text is stored
normalised.
Digit runs that could be an ID number or a bank card are only replaced when their checksum
holds (GB 11643 for resident IDs, Luhn for cards), and a phone is a whole digit run: a
mobile number inside a longer run (tracking, order numbers, millisecond timestamps) or in a
hex token (a run of 16 or more of [0-9A-Fa-f-] holding a letter: tokens, UUIDs, hashes) is
not a phone, while one glued to other letters is (`tel13812345678`, `13812345678call`).
The patterns use ASCII classes only (no `\\d`, `\\b`, no look-around), so they mean the same
in Polars (Rust `regex`) and DuckDB (RE2).
"""

import functools
import unicodedata
from collections.abc import Iterator

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

KINDS = ("email", "id_number", "bank_card", "phone", "mention")  # the order they are scrubbed in
PLACEHOLDERS = {
    "email": "<EMAIL>",
    "id_number": "<ID_NUMBER>",
    "bank_card": "<BANK_CARD>",
    "phone": "<PHONE>",
    "mention": "@<MENTION>",
}
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# Internationalised addresses (letters of any script: "张伟@例子.公司", "иван@почта.рф"): an
# ASCII top-level domain, or one of the common Chinese and Cyrillic ones, so "感谢@李雷" (a
# mention) is not taken for one.
_IDN_TLDS = "中国|中國|公司|网络|網絡|在线|网址|网店|商城|集团|手机|рф|онлайн|сайт"
IDN_EMAIL = rf"[\p{{L}}\p{{N}}._%+-]+@[\p{{L}}\p{{N}}-]+(?:\.[\p{{L}}\p{{N}}-]+)*\.(?:[A-Za-z]{{2,}}|{_IDN_TLDS})"
# Addresses spelt out to get past filters: "wang[at]163.com", "li (at) 126 (dot) com",
# "zhangsan at qq dot com". A bare " at " counts only with a spelt-out dot too ("bought it at
# jd.com" is prose), and a spelt-out address must end in a common top-level domain, so "look
# at this dot product" survives. Group 2 (the character after it) is put back.
_AT_BRACKET = r" ?[\[({] ?(?i:at) ?[\])}] ?"
_DOT_WORD = r"(?: (?i:dot) | ?[\[({] ?(?i:dot) ?[\])}] ?)"
_DOT_ANY = rf"(?:\.|{_DOT_WORD})"
_TLD = r"(?i:com|cn|net|org|edu|gov|io|co|uk|hk|tw|jp|de|ru|me|info|biz|xyz|top|vip)"
_LABEL = r"[A-Za-z0-9-]+"
SPELT_EMAIL = (
    rf"([A-Za-z0-9._%+-]+(?:{_AT_BRACKET}(?:{_LABEL}{_DOT_ANY})+|"
    rf" (?i:at) (?:{_LABEL}{_DOT_ANY})*{_LABEL}{_DOT_WORD}){_TLD})([^A-Za-z0-9]|$)"
)
# Whole digit runs long enough for an ID number (18) or a card (15-19): longer runs (ids of
# 20+ digits) are not checked, so no 19-digit slice of one can pass as a card.
DIGIT_RUN = r"[0-9]{15,}[Xx]?"
# Cards grouped by four (4-4-4-4, 4-4-4-4-3 for 19 digits) or as Amex prints them (4-6-5).
SPACED_CARD = r"[0-9]{4}(?:[ .-][0-9]{4}){2,3}[ .-][0-9]{1,4}|[0-9]{4}[ .-][0-9]{6}[ .-][0-9]{5}"
# A resident ID number in groups (6-8-4, 6-4-4-4, 4-4-4-4-2, a 15-digit one 6-6-3, ...): digit
# groups set off by single spaces or dashes, judged once the separators are stripped (18
# characters with a valid check, or 15 digits as below).
GROUPED_ID = r"[0-9]{2,8}(?:[ -][0-9]{1,8}){1,5}[Xx]?"
# First-generation (15-digit) ID numbers have no check digit: a valid province, a plausible
# YYMMDD and, as a random 15-digit order number passes those one time in a hundred, an ID word
# in the same text.
ID_WORDS = r"身份|证件|证号|(?i:identity|(?:^|[^a-z])id(?:[^a-z]|$))"
ID15_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65".split()
)
# How people separate the groups of a phone number: a space, dot or dash, spaces around it,
# or a bare "/", "_" or "," (no spaces, so a prose list "139, 1234, 5678" is not one phone;
# thousands separators group by three and never give the 3-4-4 / 4-3-4 shape).
_SEP = r"(?: ?[.-]? ?|[/_,])"
# China's country code as typed: +86, 0086, 86, (+86), (86).
_CC = r"(?:(?:\+|00)?86|\(\+?86\))"
# Mobile numbers (1[3-9]x, 11 digits) grouped 3-4-4 (optionally "(138)") or 4-3-4.
_MOBILE = (
    rf"\(?1[3-9][0-9]\)?{_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}}"  # 138 1234 5678, (138)1234-5678
    rf"|1[3-9][0-9]{{2}}{_SEP}[0-9]{{3}}{_SEP}[0-9]{{4}}"  # 1381 234 5678
)
# Landlines: area code (0 + 10, 2x or a 3-digit code) then a local number of 7-8 digits not
# starting with 0 ("010-12345678", "(0755) 1234567", "021 6123 4567"), or with the country
# code instead of the 0 ("+86 10 12345678", "0086-755-1234567"). The area code must be set off
# (a separator or parentheses): a bare 11-digit run starting with 0 is no landline to us.
# Like mobiles, a landline is a whole digit run and is not one inside a hex token (UUID).
# No ":" right before a digit in any pattern: the gates' SQL goes through SQLAlchemy (GX),
# which reads ":0" or ":10" as a bind parameter; hence "[1]0" and "[0]".
_AREA = r"(?:[1]0|2[0-9]|[3-9][0-9]{2})"
_AREA_SEP = r"(?: ?[.-] ?| |[/_])"  # not optional: the area code is set off
_LOCAL = rf"[1-9][0-9]{{2,3}}{_SEP}[0-9]{{4}}"
# A bare "86" before an area code needs a separator after it: "8628-8206-9678" is no "+86 28".
_CC_LANDLINE = rf"(?:(?:\+|00)86|\(\+?86\)){_SEP}|86{_AREA_SEP}"
_LANDLINE = (
    rf"(?:[0]{_AREA}{_AREA_SEP}|\(0{_AREA}\) ?|(?:{_CC_LANDLINE})(?:\(0?{_AREA}\) ?|{_AREA}{_AREA_SEP})){_LOCAL}"
)
# A phone is a whole digit run: the characters either side (groups 1 and 3, put back on
# replacement) are not digits. Letters may touch it ("tel13912345678", "13812345678call"),
# but a UUID's or token's 11-digit run is not one: a phone touching a hex letter a-f is only
# matched with the hex tokens masked (see HEX_TOKEN). Phones touching neither digits nor
# hex letters (nearly all) are replaced first, in one pass over every text (_PHONE_CN_CLEAR);
# the masking is only paid for the few texts where PHONE_CN still matches after it.
# Nor does a phone follow a digit and a dash: "8870-0888-9542-1529" (a gift-card code) holds
# a landline's shape, but dashes chain the groups of one code (a trailing "-801" is an extension).
PHONE_CN = rf"(^|[^0-9-]|[^0-9]-)((?:{_CC}{_SEP})?(?:{_MOBILE})|{_LANDLINE})([^0-9]|$)"
_PHONE_CN_CLEAR = rf"(^|[^0-9A-Fa-f-]|[^0-9A-Fa-f]-)((?:{_CC}{_SEP})?(?:{_MOBILE})|{_LANDLINE})([^0-9A-Fa-f]|$)"
# A hex token: a UUID (8-4-4-4-12) or a run of 16 or more hex digits (hash, API token); only
# those holding a letter are masked (an all-digit run is judged by the whole-run rules
# instead). Other dashes end a token: a dashed phone glued to letters ("0086-138-1234-5678abc")
# is a phone, not a token.
HEX_TOKEN = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|[0-9A-Fa-f]{16,}"
_HEX_LETTER = r"[A-Fa-f]"
# A masked token: private-use delimiters around its index in letters that are neither
# digits nor hex, so no pattern matches in or across it.
_MASK_OPEN, _MASK_CLOSE, _MASK_DIGITS = "\ue000", "\ue001", "ghijklmnopqrstuv"
# A mobile number with every digit set off ("1 3 8 0 0 1 3 8 0 0 0", "1-3-8-..."): the whole
# run of set-off digits, so 11 digits out of a longer spaced list are not one.
PHONE_SPREAD = r"(^|[^0-9 .-]|[^0-9][ .-]|^[ .-])(1[ .-][3-9](?:[ .-][0-9]){9})($|[^0-9 .-]|[ .-]$|[ .-][^0-9])"
# A mobile number in Chinese numerals, digit by digit ("一三八零零一三八零零零", "幺" for one,
# "〇"/"○"/"零" for zero, a space or dash between groups allowed); a whole run of numerals,
# as 11 of them in a row are no prose number.
_CN_DIGITS = "〇○零一幺二两三四五六七八九"
PHONE_CN_NUMERALS = rf"(^|[^{_CN_DIGITS}])([一幺][ -]?[三四五六七八九](?:[ -]?[{_CN_DIGITS}]){{9}})([^{_CN_DIGITS}]|$)"
PHONE_INTL = r"(^|[^0-9])(\+[0-9]{1,3}[ -]?(?:\([0-9]{1,4}\)[ -]?)?[0-9]{2,6}(?:[ -][0-9]{2,6}){1,3})([^0-9]|$)"
# Issuer prefixes (first digit) of card schemes seen in Chinese and global commerce:
# 3 Amex/JCB, 4 Visa, 5 Mastercard, 6 UnionPay/Discover. Order numbers start elsewhere.
CARD_FIRST_DIGITS = set("3456")
# The only 15-digit cards are Amex (34, 37): other 15-digit runs (waybills) are left alone.
CARD15_PREFIXES = ("34", "37")
# A mention runs to the next space or punctuation; a following capitalised word is taken as
# the surname of a Latin-script display name ("@Emma Nguyen"). "@<" is a scrubbed mention.
MENTION = r"@[^\s@,，。.!！?？:：<][^\s@,，。.!！?？:：]*(?: [A-Z][A-Za-z'-]+)?"
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))
SQL_FUNCTION = "weir_pii_kinds"  # detect() as a DuckDB function: text -> list of kinds found
SQL_SCRUB = "weir_scrub"  # scrub() as a DuckDB function: text -> text with placeholders
# Characters every match contains one of, once normalised: digits for the numbers, "@" for
# e-mails and mentions; the separators and "+" too, as their full-width forms hide a phone.
# Letters of "at"/"dot" and brackets for spelt-out e-mails, Chinese numerals for phones.
_MATCH_ALPHABET = frozenset("0123456789@+-.() /_,[]{}atdoATDO" + _CN_DIGITS)
# What the guard asks of grouped IDs and cards (15 digits, single separators allowed) and of
# spelt-out e-mails (a bracketed "at" or a spelt-out "dot"): cheaper supersets of the patterns.
_SEPARATED_15 = r"(?:[0-9][ .-]?){14}[0-9]"
_SPELT_SIGNS = [r"[\[({] ?(?i:at|dot) ?[\])}]", r" (?i:dot) "]
# Every Unicode decimal digit that is not ASCII, and the ASCII digit it stands for.
_ND_DIGITS = [
    c for c in map(chr, range(0x80, 0x110000)) if not 0xD800 <= ord(c) < 0xE000 and unicodedata.category(c) == "Nd"
]
_ND_ASCII = [str(unicodedata.decimal(c)) for c in _ND_DIGITS]
_FORMAT_CHARS = r"\p{Cf}"  # zero-width space, ZWNJ, ZWJ, soft hyphen, word joiner, BOM, ...


def normalise(texts: pl.Series) -> pl.Series:
    """NFKC, format characters (Cf) dropped, every Unicode decimal digit as ASCII: what is matched."""
    return texts.str.normalize("NFKC").str.replace_all(_FORMAT_CHARS, "").str.replace_many(_ND_DIGITS, _ND_ASCII)


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


def valid_id15_numbers(candidates: np.ndarray) -> np.ndarray:
    """Mask of 15-digit first-generation ID numbers: a province code, county parts and a plausible YYMMDD."""
    mask = np.zeros(len(candidates), bool)
    shaped = np.array([len(c) == 15 and c.isdigit() for c in candidates], bool) if len(candidates) else mask
    if not shaped.any():
        return mask
    values = candidates[shaped]
    digits = _digit_matrix(values, 15)
    province = np.array([v[:2] in ID15_PROVINCES for v in values], bool)
    parts = (digits[:, 2:4].sum(axis=1) > 0) & (digits[:, 4:6].sum(axis=1) > 0)
    month, day = digits[:, 8] * 10 + digits[:, 9], digits[:, 10] * 10 + digits[:, 11]
    mask[shaped] = province & parts & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    return mask


def valid_luhn(candidates: np.ndarray) -> np.ndarray:
    """Mask of all-digit strings (15-19 long, card-scheme prefix) passing the Luhn check."""
    mask = np.zeros(len(candidates), bool)
    lengths = np.array(
        [
            len(c) if c.isdigit() and (c[:2] in CARD15_PREFIXES if len(c) == 15 else c[:1] in CARD_FIRST_DIGITS) else 0
            for c in candidates
        ],
        int,
    )
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


def _matches(texts: pl.Series, pattern: str) -> np.ndarray:
    return texts.str.extract_all(pattern).explode().drop_nulls().unique().to_numpy().astype(str)


def _mask_hex_tokens(texts: pl.Series) -> tuple[pl.Series, list[str], list[str]]:
    """Hex tokens (with a letter) replaced by masks; the tokens and masks to put them back."""
    tokens = _matches(texts, HEX_TOKEN)
    if len(tokens):
        tokens = tokens[pl.Series(tokens).str.contains(_HEX_LETTER).to_numpy()]
    if not len(tokens):
        return texts, [], []
    tokens = sorted(tokens.tolist(), key=len, reverse=True)  # longest first, as in _replace_values
    masks = [_MASK_OPEN + "".join(_MASK_DIGITS[int(d, 16)] for d in f"{i:x}") + _MASK_CLOSE for i in range(len(tokens))]
    return texts.str.replace_many(tokens, masks), tokens, masks


def _replace_phones(texts: pl.Series, pattern: str) -> pl.Series:
    # Each match takes the non-digit after it, so a phone right behind another one (one
    # separator between them) is only found by a second pass.
    keep = r"${1}" + PLACEHOLDERS["phone"] + r"${3}"
    return texts.str.replace_all(pattern, keep).str.replace_all(pattern, keep)


def _id_candidates(texts: pl.Series, runs: np.ndarray, width: int) -> tuple[list[str], np.ndarray]:
    """Digit runs and separated digit groups (GROUPED_ID, whole runs) of `width` characters
    once the separators are stripped: the values as written and their stripped forms."""
    grouped = (  # only texts holding 15 digits with single separators can hold one
        texts.filter(texts.str.contains(_SEPARATED_15).fill_null(False))
        .str.extract_all(rf"(?:^|[^0-9]){GROUPED_ID}")
        .explode()
        .drop_nulls()
        .unique()
        .str.replace(r"^[^0-9]", "")
        .to_frame("value")
        .with_columns(stripped=pl.col("value").str.replace_all("[ -]", ""))
        .filter(pl.col("stripped").str.len_chars() == width)
    )
    whole = runs[np.char.str_len(runs) == width] if len(runs) else runs
    values = whole.tolist() + grouped["value"].to_list()
    return values, np.array(whole.tolist() + grouped["stripped"].to_list(), dtype=str)


def _replace_id_numbers(out: pl.Series, runs: np.ndarray) -> pl.Series:
    """18-character ID numbers (whole runs or groups), then 15-digit ones in texts with an ID word."""
    values, stripped = _id_candidates(out, runs, 18)
    out = _replace_values(
        out, [v for v, ok in zip(values, valid_id_numbers(stripped), strict=True) if ok], PLACEHOLDERS["id_number"]
    )
    worded = out.str.contains(ID_WORDS).fill_null(False)
    if worded.any():
        texts = out.filter(worded)
        values, stripped = _id_candidates(texts, _matches(texts, DIGIT_RUN), 15)
        found = [v for v, ok in zip(values, valid_id15_numbers(stripped), strict=True) if ok]
        if found:
            # scatter writes in place: on a clone, as detect() still holds the text before this step
            out = out.clone().scatter(worded.arg_true(), _replace_values(texts, found, PLACEHOLDERS["id_number"]))
    return out


def _replace_emails(out: pl.Series) -> pl.Series:
    out = out.str.replace_all(EMAIL, PLACEHOLDERS["email"]).str.replace_all(IDN_EMAIL, PLACEHOLDERS["email"])
    return out.str.replace_all(SPELT_EMAIL, PLACEHOLDERS["email"] + "${2}")


def _steps(normalised: pl.Series) -> Iterator[tuple[str, pl.Series]]:
    """The (normalised) text after each kind is replaced, in the order of KINDS."""
    out = _replace_emails(normalised)
    yield "email", out
    runs = _matches(out, DIGIT_RUN)
    runs = runs[np.char.str_len(runs) <= 19] if len(runs) else runs
    out = _replace_id_numbers(out, runs)
    yield "id_number", out
    is_card = ~valid_id_numbers(runs) & valid_luhn(runs)
    spaced = _matches(out, SPACED_CARD)
    spaced_ok = valid_luhn(np.array([s.replace(" ", "").replace("-", "").replace(".", "") for s in spaced], dtype=str))
    out = _replace_values(out, runs[is_card].tolist() + spaced[spaced_ok].tolist(), PLACEHOLDERS["bank_card"])
    yield "bank_card", out
    out = _replace_phones(out, _PHONE_CN_CLEAR)
    glued = out.str.contains(PHONE_CN).fill_null(False)
    if glued.any():  # phones touching a hex letter: match them with the hex tokens masked
        masked, tokens, masks = _mask_hex_tokens(out.filter(glued))
        masked = _replace_phones(masked, PHONE_CN)
        out = out.scatter(glued.arg_true(), masked.str.replace_many(masks, tokens) if tokens else masked)
    for pattern in (PHONE_INTL, PHONE_SPREAD, PHONE_CN_NUMERALS):
        out = _replace_phones(out, pattern)
    yield "phone", out
    yield "mention", out.str.replace_all(MENTION, PLACEHOLDERS["mention"])


def scrub(texts: pl.Series) -> pl.Series:
    """Replace e-mails, ID numbers, bank cards, phones and @-mentions with placeholders."""
    *_, (_, out) = _steps(normalise(texts))
    return out


def detect(texts: pl.Series) -> pl.DataFrame:
    """One boolean column per kind: does the text hold a value of that kind (what scrub replaces)?"""
    found = {}
    before = normalise(texts)
    for kind, after in _steps(before):
        found[kind] = (before != after).fill_null(False)
        before = after
    return pl.DataFrame(found)


def kinds_found(texts: pl.Series) -> pl.Series:
    """Per text, the kinds `detect` finds in it (empty list when none)."""
    found = detect(texts)
    return found.select(
        pl.concat_list(pl.when(pl.col(k)).then(pl.lit(k)) for k in KINDS).list.drop_nulls().alias("kinds")
    ).to_series()


def _kinds_udf(values: pa.Array) -> pa.Array:
    return kinds_found(pl.Series(values, dtype=pl.Utf8)).to_arrow()


def _scrub_udf(values: pa.Array) -> pa.Array:
    return scrub(pl.Series(values, dtype=pl.Utf8)).to_arrow()


def register_sql(con: duckdb.DuckDBPyConnection) -> None:
    """Make `weir_pii_kinds(text)` (the detector, as a list of kinds) and `weir_scrub(text)` (the
    scrubber) callable on `con` and its cursors."""
    for name, udf, returns in ((SQL_FUNCTION, _kinds_udf, "VARCHAR[]"), (SQL_SCRUB, _scrub_udf, "VARCHAR")):
        try:
            con.remove_function(name)
        except duckdb.InvalidInputException:
            pass  # not registered on this connection yet
        con.create_function(name, udf, ["VARCHAR"], returns, type="arrow", side_effects=False)


@functools.cache
def sql_guard() -> str:
    """An RE2 pattern every text the detector finds something in matches (a cheap prefilter).

    It matches any "@", any phone, card or ID shape in ASCII, any digit run long enough for an
    ID or a card, any non-ASCII decimal digit, any format (Cf) character, and any character
    that NFKC turns into a digit, "@", "+" or a separator, so text that only normalisation
    turns into personal data is still handed to the detector. A character that NFKC only turns
    into a comma (the full-width "，" of most Chinese text) counts only right after a digit.
    """
    compat, commas = [], []
    for c in map(chr, range(0x80, 0x110000)):
        if 0xD800 <= ord(c) < 0xE000:
            continue
        if unicodedata.category(c) in ("Nd", "Cf"):
            compat.append(c)
        elif (n := unicodedata.normalize("NFKC", c)) != c and (hit := _MATCH_ALPHABET.intersection(n)):
            (commas if hit == {","} else compat).append(c)
    after_digit = "[0-9][" + _char_ranges(commas) + "]"
    shapes = [
        PHONE_CN,
        PHONE_INTL,
        PHONE_SPREAD,
        PHONE_CN_NUMERALS,
        DIGIT_RUN,
        SPACED_CARD,
        _SEPARATED_15,
        *_SPELT_SIGNS,
    ]
    return "|".join(["@", *shapes, after_digit, "[" + _char_ranges(compat) + "]"])


def _char_ranges(chars: list[str]) -> str:
    """A character class body for `chars` (sorted, consecutive code points as ranges)."""
    points = sorted(ord(c) for c in chars)
    parts, start = [], points[0]
    for prev, point in zip(points, [*points[1:], None], strict=True):
        if point != prev + 1:
            parts.append(f"\\x{{{start:X}}}" + (f"-\\x{{{prev:X}}}" if prev != start else ""))
            start = point
    return "".join(parts)
