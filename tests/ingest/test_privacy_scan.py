"""No raw identifier or personal value of the generator reaches the warehouse."""

import json
import re

import duckdb

from privacy._scrub import PLACEHOLDERS
from tests._pii_scan import Needles, landing_needles, scan


def test_no_raw_value_in_any_warehouse_table_or_file(loaded) -> None:
    """Every raw identifier and contact value of every landing file, read whole, searched by
    substring in every column (any type) of every table and in every file of the data dir."""
    data_dir, generated, _ = loaded
    needles = landing_needles(data_dir.landing)
    reviews = data_dir.landing / "reviews" / generated.batch_id
    planted = set()
    for path in reviews.glob("*.jsonl"):  # ID and card numbers planted in review text
        planted |= set(re.findall(r"\d{17}[\dX]|\b6\d{15}\b", path.read_text(errors="replace")))
    truth = json.loads(generated.manifest.read_text())["truth"]
    planted |= {m for ring in truth["fraud_rings"] for m in ring["members"]}
    needles = Needles({**needles.values, **dict.fromkeys(planted - set(needles.values), "reviews.text")})
    assert len(needles) > 5000 and len(planted) > 10

    hits = scan(data_dir.root, needles, skip=(data_dir.landing, data_dir.keys))

    assert hits == {}


def test_review_text_is_scrubbed_in_raw(loaded) -> None:
    data_dir, generated, _ = loaded
    planted = json.loads(generated.manifest.read_text())["truth"]["review_pii_counts"]
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        found = {
            kind: con.execute("select count(*) from raw.reviews where contains(text, ?)", [tag]).fetchone()[0]
            for kind, tag in PLACEHOLDERS.items()
            if kind in planted
        }

    assert set(found) == set(planted)
    for kind, count in found.items():
        assert 1 <= count <= planted[kind], kind  # some reviews were quarantined
