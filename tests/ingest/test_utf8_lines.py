"""The per-line UTF-8 check agrees with Python's decoder, for ASCII-only and mixed input."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.ingest._read import _invalid_utf8_lines

LINE = st.one_of(
    st.binary(max_size=12).map(lambda b: bytes(x & 0x7F for x in b if x not in (10,))),  # ASCII
    st.text(max_size=6).map(lambda t: t.replace("\n", "").encode()),  # valid, maybe multi-byte
    st.binary(max_size=8).map(lambda b: b.replace(b"\n", b"")),  # anything, often invalid
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=40), st.booleans())
def test_invalid_lines_match_python(lines: list[bytes], final_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10) + 1
    if len(arr) and (len(ends) == 0 or ends[-1] != len(arr)):
        ends = np.append(ends, len(arr))
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    split = [data[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]

    expected = []
    for i, line in enumerate(split):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            expected.append(i)

    assert _invalid_utf8_lines(arr, offsets).tolist() == expected
