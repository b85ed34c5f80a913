"""Users with realistic personal data (Chinese and international formats)."""

import numpy as np
import polars as pl

from weir.generate import _reference as ref

CN_SHARE = 0.65  # share of users with Chinese-format names, phones and cities
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK_CHARS = np.array(list("10X98765432"))
AREA_CODES = np.array(["310101", "110105", "440305", "510104", "330106", "420102", "610113"])


def _pick(rng: np.random.Generator, values: list[str], n: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.integers(0, len(values), n)]


def _digits(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    """Zero-padded random digit strings of a fixed width."""
    return pl.Series(rng.integers(0, 10**width, n, dtype=np.int64)).cast(pl.Utf8).str.zfill(width)


def chinese_id_numbers(rng: np.random.Generator, birth_dates: pl.Series) -> pl.Series:
    """Valid 18-character resident ID numbers (GB 11643 checksum) for the given birth dates."""
    n = len(birth_dates)
    body = (
        pl.Series(_pick(rng, list(AREA_CODES), n), dtype=pl.Utf8)
        + birth_dates.dt.strftime("%Y%m%d")
        + _digits(rng, n, 3)
    )
    digits = body.cast(pl.Binary).to_numpy().astype("S17").view(np.uint8).reshape(n, 17) - 48
    check = ID_CHECK_CHARS[(digits * ID_WEIGHTS).sum(axis=1) % 11]
    return body + pl.Series(check, dtype=pl.Utf8)


def luhn_card_numbers(rng: np.random.Generator, n: int) -> pl.Series:
    """16-digit UnionPay-style card numbers with a valid Luhn check digit."""
    body = rng.integers(0, 10, (n, 15))
    body[:, 0], body[:, 1] = 6, 2
    doubled = body[:, ::-1].copy()
    doubled[:, ::2] *= 2
    doubled[doubled > 9] -= 9
    check = (10 - doubled.sum(axis=1) % 10) % 10
    all_digits = np.concatenate([body, check[:, None]], axis=1).astype(np.uint8) + 48
    return pl.Series(np.ascontiguousarray(all_digits).view("S16").ravel()).cast(pl.Utf8)


def phones(rng: np.random.Generator, is_cn: np.ndarray) -> pl.Series:
    """Phone numbers in the formats people type them: bare, spaced, dashed, with country code."""
    n = len(is_cn)
    prefix = pl.Series(_pick(rng, ["138", "139", "150", "158", "186", "188", "199", "135"], n))
    mid, tail = _digits(rng, n, 4), _digits(rng, n, 4)
    style = pl.Series(rng.integers(0, 3, n))
    cn = (
        pl.when(style == 0)
        .then(prefix + mid + tail)
        .when(style == 1)
        .then("+86 " + prefix + " " + mid + " " + tail)
        .otherwise("+86-" + prefix + "-" + mid + "-" + tail)
    )
    six = _digits(rng, n, 6)
    intl = (
        pl.when(style == 0)
        .then("+44 7700 " + six)
        .when(style == 1)
        .then("+1 415-555-" + tail)
        .otherwise("+65 8" + mid.str.slice(1) + " " + tail)
    )
    frame = pl.DataFrame({"is_cn": is_cn})
    return frame.select(pl.when(pl.col("is_cn")).then(cn).otherwise(intl)).to_series()


def users(rng: np.random.Generator, n: int, start_ms: int, id_prefix: str) -> pl.DataFrame:
    """One row per user: id, name, phone, email, birth date, city, sign-up time."""
    is_cn = rng.random(n) < CN_SHARE
    surname_idx = rng.integers(0, len(ref.CN_SURNAMES), n)
    cn_name = pl.Series(np.asarray(ref.CN_SURNAMES, dtype=object)[surname_idx], dtype=pl.Utf8) + pl.Series(
        _pick(rng, ref.CN_GIVEN, n), dtype=pl.Utf8
    )
    first = pl.Series(_pick(rng, ref.INTL_FIRST, n), dtype=pl.Utf8)
    last = pl.Series(_pick(rng, ref.INTL_LAST, n), dtype=pl.Utf8)
    number = pl.Series(rng.integers(1, 9999, n)).cast(pl.Utf8)
    pinyin = pl.Series(np.asarray(ref.CN_SURNAMES_PINYIN, dtype=object)[surname_idx], dtype=pl.Utf8)
    cn_email = pinyin + "." + number + "@" + pl.Series(_pick(rng, ref.CN_EMAIL_DOMAINS, n))
    intl_email = (
        first.str.to_lowercase()
        + "."
        + last.str.to_lowercase()
        + number
        + "@"
        + pl.Series(_pick(rng, ref.INTL_EMAIL_DOMAINS, n))
    )
    # Ages skew young, as on social-commerce apps: 16 + Gamma(2.2, 7.5) years, capped at 80.
    age_days = ((16 + np.minimum(rng.gamma(2.2, 7.5, n), 64)) * 365.25).astype(np.int64)
    birth = pl.Series(start_ms // 86_400_000 - age_days).cast(pl.Date)
    city = np.where(is_cn, _pick(rng, list(ref.CN_CITIES), n), _pick(rng, list(ref.INTL_CITIES), n))
    signup_ms = start_ms - rng.integers(86_400_000, 3 * 365 * 86_400_000, n)
    ids = pl.Series(rng.permutation(n) + 10_000_000).cast(pl.Utf8)
    return pl.DataFrame(
        {
            "user_id": id_prefix + ids,
            "name": pl.select(pl.when(pl.lit(is_cn)).then(cn_name).otherwise(first + " " + last)).to_series(),
            "phone": phones(rng, is_cn),
            "email": pl.select(pl.when(pl.lit(is_cn)).then(cn_email).otherwise(intl_email)).to_series(),
            "birth_date": birth,
            "city": pl.Series(city, dtype=pl.Utf8),
            "country_code": pl.Series(np.where(is_cn, "CN", "INTL")),
            "locale": pl.Series(np.where(is_cn, "zh-CN", "en")),
            "signup_ms": signup_ms,
        }
    )
