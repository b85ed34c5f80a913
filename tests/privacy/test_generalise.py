"""Quasi-identifiers are generalised to coarse, documented bands."""

import duckdb
import pytest

from privacy._generalise import age_band_sql, device_family_sql, ip_prefix_sql, region_sql


def one(expr: str, value: object) -> object:
    return duckdb.connect().execute(f"select {expr}", {"v": value}).fetchone()[0]


@pytest.mark.parametrize(
    ("ip", "prefix"),
    [
        ("117.186.109.212", "117.186.109.0/24"),
        ("240e:ab:12:ff::1", "240e:ab:12::/48"),
        ("not an ip", None),
        ("1.2.3", None),
    ],
)
def test_ip_prefix(ip: str, prefix: str | None) -> None:
    assert one(ip_prefix_sql("$v"), ip) == prefix


@pytest.mark.parametrize(
    ("birth", "band"),
    [
        ("2008-10-02", "<18"),
        ("2008-10-01", "18-24"),
        ("1990-05-05", "35-44"),
        ("1950-01-01", "65+"),
    ],
)
def test_age_band_on_birthday_boundaries(birth: str, band: str) -> None:
    assert one(age_band_sql("$v::date", "date '2026-10-01'"), birth) == band


@pytest.mark.parametrize(
    ("city", "region"), [("Xi'an", "Northwest China"), ("London", "Europe"), ("Atlantis", "Other")]
)
def test_city_to_region(city: str, region: str) -> None:
    assert one(region_sql("$v"), city) == region


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)", "iPhone"),
        ("SocialShopApp/5.12.0 (iOS 17.4; iPhone15,2)", "iPhone"),
        ("Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X)", "iPad"),
        ("Mozilla/5.0 (Linux; Android 14; PJA110)", "Android"),
        ("curl/8.0", "Other"),
    ],
)
def test_device_family(agent: str, family: str) -> None:
    assert one(device_family_sql("$v"), agent) == family
