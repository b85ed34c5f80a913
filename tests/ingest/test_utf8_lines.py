"""Line cutting and the per-line UTF-8 check agree with Python, for ASCII-only and mixed input,
also when lines straddle the chunks the byte scans work in."""

from pathlib import Path
from tempfile import TemporaryDirectory
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from weir.ingest import _lines

LINE = st.one_of(
    st.binary(max_size=12).map(lambda b: bytes(x & 0x7F for x in b if x not in (10,))),  # ASCII
    st.text(max_size=6).map(lambda t: t.replace("\n", "").encode()),  # valid, maybe multi-byte
    st.binary(max_size=8).map(lambda b: b.replace(b"\n", b"")),  # anything, often invalid
)
FILES = st.tuples(st.lists(LINE, min_size=1, max_size=40), st.booleans(), st.sampled_from([1, 3, 16, 1 << 22]))


@settings(max_examples=300, deadline=None)
@given(FILES)
def test_lines_and_invalid_lines_match_python(case: tuple[list[bytes], bool, int]) -> None:
    lines, final_newline, chunk = case
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    text = data.removeprefix(_lines.BOM)  # a leading byte-order mark is not part of the first line
    expected_lines = [line + b"\n" for line in text.split(b"\n")]
    expected_lines[-1] = expected_lines[-1][:-1]  # after the last newline: a final line without one, or nothing
    expected_lines = [line for line in expected_lines if line]
    # Whole-file encoding detection is off: random lines often read as GB18030 (tested apart).
    with (
        TemporaryDirectory() as tmp,
        mock.patch.object(_lines, "CHUNK", chunk),
        mock.patch.object(_lines, "ENCODING_SAMPLE", 0),
    ):
        path = Path(tmp) / "part-0.jsonl"
        path.write_bytes(data)
        table = _lines.lines_table(path)
    raw = table.column("_raw").to_pylist()
    assert raw == expected_lines
    assert table.column("_line").to_pylist() == list(range(1, len(raw) + 1))
    invalid = []
    for i, line in enumerate(raw):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            invalid.append(i)
    assert [i for i, text in enumerate(table.column("_text").to_pylist()) if text is None] == invalid
    assert [t for t in table.column("_text").to_pylist() if t is not None] == [
        line.decode() for i, line in enumerate(raw) if i not in invalid
    ]
