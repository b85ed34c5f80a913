"""Generalise quasi-identifiers before landing: SQL expressions, one per treatment."""

from privacy._regions import CITY_REGION

# Age bands follow common survey bands; under-18s form one band (minors get extra care).
AGE_BANDS = [
    (0, 17, "<18"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 200, "65+"),
]


def ip_prefix_sql(v: str) -> str:
    """IPv4 -> /24 network ("1.2.3.0/24"); IPv6 -> /48 ("2408:1:2::/48"); else null."""
    return (
        f"case when regexp_matches({v}, '^\\d{{1,3}}\\.\\d{{1,3}}\\.\\d{{1,3}}\\.\\d{{1,3}}$') "
        f"then regexp_extract({v}, '^(\\d+\\.\\d+\\.\\d+)\\.', 1) || '.0/24' "
        f"when {v} like '%:%' then array_to_string(string_split({v}, ':')[1:3], ':') || '::/48' "
        "end"
    )


def age_band_sql(birth_date: str, as_of: str) -> str:
    """Birth date -> age band at `as_of` (a SQL date expression)."""
    age = (
        f"date_diff('year', {birth_date}, {as_of}) - "
        f"case when strftime({as_of}, '%m%d') < strftime({birth_date}, '%m%d') then 1 else 0 end"
    )
    cases = " ".join(f"when ({age}) between {lo} and {hi} then '{label}'" for lo, hi, label in AGE_BANDS)
    return f"case {cases} end"


def region_sql(city: str) -> str:
    """City -> region from the reference table; unknown cities become 'Other'."""
    cases = " ".join(f"when '{c.replace(chr(39), chr(39) * 2)}' then '{r}'" for c, r in CITY_REGION.items())
    return f"case {city} {cases} else 'Other' end"


def device_family_sql(user_agent: str) -> str:
    """User agent -> coarse device family (no build or version numbers)."""
    return (
        f"case when {user_agent} ilike '%ipad%' then 'iPad' "
        f"when {user_agent} ilike '%iphone%' or {user_agent} ilike '%ios %' then 'iPhone' "
        f"when {user_agent} ilike '%android%' then 'Android' "
        f"when {user_agent} ilike '%windows%' then 'Windows' "
        f"when {user_agent} ilike '%macintosh%' then 'Mac' else 'Other' end"
    )
