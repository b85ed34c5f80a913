"""Data Docs load nothing from outside: no CDN, no logo from GX's bucket, no link to GX's site."""

import hashlib
import json
import re
from pathlib import Path

import great_expectations
import pytest

from expectations import build_docs, raw_suite, validate
from expectations._docs_assets import DROPPED, GX_SITE, LINKED, LOGO, MANIFEST, VENDOR, external_references
from weir.contract import load_contract

from .conftest import CLEAN_ROWS

TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
ANY_URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Data Docs site with one passing and one failing validation run of the raw gate."""
    from .conftest import make_reviews

    root = tmp_path_factory.mktemp("docs")
    leaking = [*CLEAN_ROWS, ("r9", "tk1_" + "e" * 32, "item-9", None, 5, "tel13912345678", "2026-10-04 10:00:00+00")]
    for i, rows in enumerate([CLEAN_ROWS, leaking]):
        validate(
            make_reviews(root / f"w{i}.duckdb", rows),
            raw_suite(load_contract("reviews")),
            "select * from raw.reviews",
            docs=root / "q",
        )
    return build_docs(root / "q").parent


def test_no_page_of_the_site_references_an_external_url(site: Path) -> None:
    pages = list(site.rglob("*.html"))

    assert len(pages) == 4  # index, the suite, two validation runs
    assert external_references(site) == []
    generated = [*pages, *(site / "static" / "styles").glob("*.css")]  # what GX wrote, not the libraries
    assert {str(p.relative_to(site)): ANY_URL.findall(p.read_text()) for p in generated} == {
        str(p.relative_to(site)): [] for p in generated
    }


def test_pages_load_the_vendored_copies_from_the_site(site: Path) -> None:
    files = json.loads(MANIFEST.read_text())["files"]

    for page in site.rglob("*.html"):
        loaded = re.findall(r'(?:src|href)="([^"#]*static/vendor/[^"]+)"', page.read_text())
        assert sorted(
            (page.parent / r).resolve().relative_to(site / "static" / "vendor").as_posix() for r in loaded
        ) == sorted({local for _, _, local in LINKED.values()}), page
    for local, digest in files.items():  # as npm ships them (MANIFEST pins the sha256)
        assert hashlib.sha256((site / "static" / "vendor" / local).read_bytes()).hexdigest() == digest, local
        assert hashlib.sha256((VENDOR / local).read_bytes()).hexdigest() == digest, local


def test_every_external_url_in_gxs_templates_is_vendored_or_removed() -> None:
    urls = {m for path in TEMPLATES.glob("*.j2") for m in re.findall(r"https://[^\"'\s)]+", path.read_text())}

    unhandled = {u for u in urls if u not in LINKED and u not in DROPPED and not LOGO.match(u) and not GX_SITE.match(u)}

    assert len(urls) >= 15
    assert unhandled == set()
