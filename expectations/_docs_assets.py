"""Data Docs that load nothing from outside: every asset GX links from a CDN is served locally.

GX's page templates load Bootstrap, jQuery, Popper, bootstrap-table, a date picker, Font
Awesome and Vega from public CDNs, and a logo from GX's cloud bucket with the data context's
id in the URL. Offline the pages render unstyled and empty; online, the first open tells a
third party who opened which docs (issue 15). `localise` rewrites a built site so that each
of those references points at a copy under the site's `static/vendor/`, copied from the
files vendored in this package (taken from the npm registry by `vendor`, pinned by
sha256 in MANIFEST.json); links to GX's web site become "#", the dark-mode stylesheet (a
cosmetic 880 KB) is dropped, and any external reference left after that fails the build.

Refresh the vendored files (needs npm): `python -m expectations._docs_assets`.
"""

import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).parent / "static" / "vendor"
MANIFEST = VENDOR / "MANIFEST.json"
# What GX 1.24's templates load -> (npm package@version, file inside the package, local path).
# The versions are the ones the CDN URLs name; "@5"/"@6" are pinned to the release vendored.
LINKED = {
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery@3.7.1", "dist/jquery.min.js", "jquery.min.js"),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap@4.3.1",
        "dist/css/bootstrap.min.css",
        "bootstrap.min.css",
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap@4.3.1",
        "dist/js/bootstrap.min.js",
        "bootstrap.min.js",
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper.js@1.12.9",
        "dist/umd/popper.min.js",
        "popper.min.js",
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table@1.19.1",
        "dist/bootstrap-table.min.css",
        "bootstrap-table.min.css",
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table@1.19.1",
        "dist/bootstrap-table.min.js",
        "bootstrap-table.min.js",
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table@1.19.1",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
        "bootstrap-table-filter-control.min.js",
    ),
    # GX links the 1.19.0 stylesheet of the extension beside the 1.19.1 script; one copy serves both.
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table@1.19.1",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
        "bootstrap-table-filter-control.min.css",
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table@1.19.1",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
        "bootstrap-table-filter-control.min.css",
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker@1.9.0",
        "dist/css/bootstrap-datepicker.min.css",
        "bootstrap-datepicker.min.css",
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker@1.9.0",
        "dist/js/bootstrap-datepicker.min.js",
        "bootstrap-datepicker.min.js",
    ),
    # The stylesheet finds its fonts at ../webfonts/ (see BESIDE).
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "@fortawesome/fontawesome-free@6.6.0",
        "css/all.min.css",
        "fontawesome/css/all.min.css",
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": ("vega@5.33.1", "build/vega.min.js", "vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": ("vega-lite@5.23.0", "build/vega-lite.min.js", "vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6": ("vega-embed@6.29.0", "build/vega-embed.min.js", "vega-embed.min.js"),
}
# Files the linked ones load in turn (Font Awesome's icon fonts; the brand icons are not used).
BESIDE = {
    f"fontawesome/webfonts/{name}": ("@fortawesome/fontawesome-free@6.6.0", f"webfonts/{name}")
    for name in ("fa-solid-900.woff2", "fa-regular-400.woff2", "fa-v4compatibility.woff2")
}
DROPPED = ("https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css",)
LOGO = re.compile(r"https://great-expectations-web-assets\.s3[^\"'\s)]*")  # carries the context id
GX_SITE = re.compile(r"https://greatexpectations\.io[^\"'\s]*")
# A reference a browser follows by itself: an attribute naming a resource, a CSS url() or
# @import, a source map. Namespace names (xmlns="http://www.w3.org/...") are never fetched.
_URL = r"(?:https?:)?//[^\s\"'()<>]+"
_REFERENCES = {
    ".html": re.compile(rf"(?:src|href|srcset|poster|action|data)\s*=\s*[\"']?\s*({_URL})|url\(\s*[\"']?({_URL})"),
    ".css": re.compile(rf"url\(\s*[\"']?({_URL})|@import\s+[\"']({_URL})"),
    ".js": re.compile(rf"sourceMappingURL=({_URL})|import\s*\(?\s*[\"']({_URL})|importScripts\(\s*[\"']({_URL})"),
}


def localise(site: Path) -> None:
    """Point every page of the Data Docs site at local assets; fail if an external one is left."""
    vendor = site / "static" / "vendor"
    for local in {v[2] for v in LINKED.values()} | set(BESIDE):
        target = vendor / local
        if not target.exists() or not filecmp.cmp(VENDOR / local, target, shallow=False):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(VENDOR / local, target)
    logo = site / "static" / "images" / "logo-long.png"  # GX copies its own static files there
    for page in [*site.rglob("*.html"), *(site / "static" / "styles").glob("*.css")]:
        text = page.read_text()
        new = _rewrite(text, vendor, logo, page.parent)
        if new != text:
            page.write_text(new)
    left = external_references(site)
    if left:
        raise RuntimeError(f"Data Docs still load from outside after localising: {left[:5]}")


def _rewrite(text: str, vendor: Path, logo: Path, here: Path) -> str:
    for url in DROPPED:
        text = re.sub(rf"<link[^>]*{re.escape(url)}[^>]*>\s*", "", text)
    for url, (_, _, local) in LINKED.items():
        text = text.replace(url, os.path.relpath(vendor / local, here))
    text = LOGO.sub(os.path.relpath(logo, here), text)
    return GX_SITE.sub("#", text)


def external_references(site: Path) -> list[tuple[str, str]]:
    """(file, URL) for every external reference a browser would follow in the site's pages."""
    found = []
    for path in sorted(site.rglob("*")):
        pattern = _REFERENCES.get(path.suffix)
        if pattern and path.is_file():
            for match in pattern.finditer(path.read_text(errors="replace")):
                found.append((str(path.relative_to(site)), next(g for g in match.groups() if g)))
    return found


def vendor(dest: Path = VENDOR) -> dict[str, str]:
    """Fetch every asset from the npm registry (`npm pack`) into `dest`; write and return the manifest."""
    wanted = {local: (spec, inner) for spec, inner, local in LINKED.values()} | BESIDE
    with tempfile.TemporaryDirectory() as tmp:
        tarballs = {}
        for spec in sorted({spec for spec, _ in wanted.values()}):
            out = subprocess.run(
                ["npm", "pack", spec, "--silent", "--pack-destination", tmp], check=True, capture_output=True, text=True
            )
            tarballs[spec] = Path(tmp) / out.stdout.strip().splitlines()[-1]
        for local, (spec, inner) in sorted(wanted.items()):
            with tarfile.open(tarballs[spec]) as tar:
                member = tar.extractfile(f"package/{inner}")
                assert member is not None, (spec, inner)
                (dest / local).parent.mkdir(parents=True, exist_ok=True)
                (dest / local).write_bytes(member.read())
    manifest = {local: _sha256(dest / local) for local in sorted(wanted)}
    (dest / "MANIFEST.json").write_text(json.dumps({"files": manifest, "from": _sources(wanted)}, indent=1) + "\n")
    return manifest


def _sources(wanted: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {local: f"npm {spec} {inner}" for local, (spec, inner) in sorted(wanted.items())}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


if __name__ == "__main__":
    print(json.dumps(vendor(), indent=1))
