"""A labelled set for the name stage (privacy/_names.py): reviews that greet or mention the
dataset's own people, and reviews whose words only look like their names. Hand-written, Latin
and Chinese; scored per text: did the stage redact (positive) or leave it alone (negative)."""

import polars as pl

from privacy._names import PLACEHOLDER, redact_names

NAMES = ["Dallas Smith", "Maria Gonzalez", "Will Turner", "Rose Tyler", "王小明", "李娜", "Jo Park", "Grace Ho"]
# (text, names it mentions): an empty tuple is a negative (nothing to redact).
CASES = [
    ("Hi Dallas, thank you for the fast reply!", ("Dallas",)),
    ("dallas smith answered within an hour", ("dallas smith",)),
    ("Thanks Maria, the blender works great", ("Maria",)),
    ("Ms. Gonzalez was very helpful", ("Gonzalez",)),
    ("Will Turner packed it well", ("Will Turner",)),
    ("Mr. Turner, please call me back", ("Turner",)),
    ("Rose was kind on the phone", ("Rose",)),
    ("感谢王小明的耐心解答", ("王小明",)),
    ("李娜客服很好", ("李娜",)),
    ("Park answered my question", ("Park",)),
    ("Thank you Grace!", ("Grace",)),
    ("MARIA GONZALEZ sent a replacement", ("MARIA GONZALEZ",)),
    ("It will arrive on Monday, they said", ()),
    ("The rose gold colour is lovely", ()),
    ("Shipped from Dallas warehouse? No, from Austin", ("Dallas",)),
    ("Turnery tools are not what I ordered", ()),
    ("Smithsonian-level packaging", ()),
    ("I will buy again, great grace period for returns", ()),
    ("小明星同款，很好看", ()),
    ("We parked nearby and picked it up", ()),
    ("Mariachi band sticker included", ()),
    ("Joke: the box was bigger than the blender", ()),
    ("Great value, works as described", ()),
    ("李子很甜，新鲜", ()),
]


def name_report() -> pl.DataFrame:
    """Recall (texts naming someone that were redacted) and precision (redacted texts that did name
    someone) of the name stage on CASES, and the texts it got wrong."""
    texts = pl.Series([t for t, _ in CASES])
    named = pl.Series([bool(n) for _, n in CASES])
    redacted = redact_names(texts, pl.Series(NAMES)).str.contains(PLACEHOLDER, literal=True)
    true_pos = int((named & redacted).sum())
    recall = true_pos / max(int(named.sum()), 1)
    precision = true_pos / max(int(redacted.sum()), 1)
    wrong = [t for t, n, r in zip(texts, named, redacted, strict=True) if n != r]
    return pl.DataFrame({"kind": ["name"], "recall": [recall], "precision": [precision], "wrong": [wrong]})
