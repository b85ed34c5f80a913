"""Cut a text file into lines (file order, line numbers, UTF-8 validity) without a Python loop.

Lines are cut with numpy on the raw bytes (zero-copy into Arrow), so every line keeps its
file and line number, CRLF endings and a missing final newline are handled, and lines that
are not valid UTF-8 stay visible (text null) instead of aborting the read. A file that is
not UTF-8 at all (a GBK export) is refused once, whole, instead of line by line; a UTF-8
byte-order mark is not part of the first line.
"""

import codecs
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from weir.errors import ExportEncodingError

BOM = b"\xef\xbb\xbf"  # UTF-8 byte-order mark some tools (Excel) write before the header
# A file is refused as a whole as "not UTF-8" when, among its first ENCODING_SAMPLE lines that
# hold non-ASCII bytes, at least half are invalid UTF-8 and every invalid one reads as GB18030
# (the superset of GBK / GB2312), and there are at least ENCODING_MIN_INVALID of them. A
# UTF-8 file with a few broken lines (truncated copies, stray bytes: these rarely decode as
# GB18030, and valid non-ASCII lines outnumber them) keeps the per-line quarantine, and so
# does a file with one or two such lines (too little evidence to refuse the whole file).
ENCODING_SAMPLE = 1000
ENCODING_MIN_INVALID = 3
CHUNK = 1 << 22  # bytes scanned per vectorised step when looking for line ends


def _where(arr: np.ndarray, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Positions where `test` holds, found a few MiB at a time: the mask stays in cache, which
    is about 4x faster than one pass over a file of hundreds of MB."""
    found = [np.flatnonzero(test(arr[i : i + CHUNK])) + i for i in range(0, len(arr), CHUNK)]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _invalid_utf8_lines(data: bytes, arr: np.ndarray, offsets: np.ndarray, rel: str) -> np.ndarray:
    """Indices of lines that are not valid UTF-8.

    Only lines holding a byte >= 0x80 can be invalid, so just those are decoded (pure ASCII,
    most behaviour logs, costs one fast scan).

    Raises:
        ExportEncodingError: the file is in a legacy Chinese encoding (see ENCODING_SAMPLE).
    """
    if data.isascii():
        return np.zeros(0, dtype=np.int64)
    high = _where(arr, lambda chunk: chunk >= 0x80)
    if len(high) == 0:  # only a byte-order mark was non-ASCII
        return np.zeros(0, dtype=np.int64)
    candidates = np.unique(np.searchsorted(offsets, high, side="right") - 1)
    _refuse_legacy_encoding(arr, offsets, candidates, rel)
    if len(candidates) * 4 > len(offsets):  # mostly non-ASCII: decode the whole buffer
        return _decode_scan(memoryview(arr), offsets)
    starts, ends = offsets[candidates], offsets[candidates + 1]
    lengths = ends - starts
    keep = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
    packed = arr[keep]  # the candidate lines, back to back
    packed_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return candidates[_decode_scan(memoryview(packed), packed_offsets)]


def _refuse_legacy_encoding(arr: np.ndarray, offsets: np.ndarray, candidates: np.ndarray, rel: str) -> None:
    """Raise once for the whole file when it reads as GB18030 rather than UTF-8."""
    sample = [arr[offsets[i] : offsets[i + 1]].tobytes() for i in candidates[:ENCODING_SAMPLE]]
    invalid = []
    for line in sample:  # at most ENCODING_SAMPLE lines, once per file
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            invalid.append(line)
    if len(invalid) < ENCODING_MIN_INVALID or len(invalid) * 2 < len(sample):
        return
    try:
        for line in invalid:
            line.decode("gb18030")
    except UnicodeDecodeError:
        return
    name = Path(rel).name
    raise ExportEncodingError(
        f"{rel} is not UTF-8: {len(invalid)} of its first {len(sample)} lines with non-ASCII bytes are "
        f"invalid UTF-8 and read as GBK/GB18030. Re-encode the export to UTF-8 "
        f"(e.g. `iconv -f GBK -t UTF-8 {name} > utf8-{name}`) and land it again; nothing was loaded."
    )


def _decode_scan(data: memoryview, offsets: np.ndarray) -> np.ndarray:
    """Decode `data` once, skipping past each invalid line; return those lines' indices."""
    bad, pos = [], 0
    while pos < len(data):  # one pass over the bytes; one iteration per invalid line
        try:
            codecs.utf_8_decode(data[pos:], "strict", True)
            break
        except UnicodeDecodeError as err:
            line = int(np.searchsorted(offsets, pos + err.start, side="right")) - 1
            bad.append(line)
            pos = int(offsets[line + 1])
    return np.asarray(bad, dtype=np.int64)


def lines_table(path: Path, rel: str | None = None) -> pa.Table:
    """(_line, _text, _raw) for every line of a file, each keeping its LF or CRLF ending.

    `_text` is null where the line is not valid UTF-8; `_raw` has the bytes of every line.
    Both are zero-copy views of the file's bytes: no Python runs per line. Line endings stay
    in the strings (JSON ignores them; the CSV splitter trims them), which saves a copy.
    A leading byte-order mark is skipped.
    """
    data = path.read_bytes()
    arr = np.frombuffer(data, dtype=np.uint8, offset=len(BOM) if data.startswith(BOM) else 0)
    ends = _where(arr, lambda chunk: chunk == 10) + 1
    if len(arr) and (len(ends) == 0 or ends[-1] != len(arr)):
        ends = np.append(ends, len(arr))  # last line without a final newline
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    n = len(ends)
    bad = _invalid_utf8_lines(data, arr, offsets, rel or path.name)
    valid = np.ones(n, bool)
    valid[bad] = False
    buffers = [pa.py_buffer(offsets), pa.py_buffer(arr)]  # the table keeps both alive
    validity = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes()) if len(bad) else None
    text = pa.LargeStringArray.from_buffers(n, buffers[0], buffers[1], validity, len(bad))
    raw = pa.LargeBinaryArray.from_buffers(pa.large_binary(), n, [None, *buffers])
    line = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(np.arange(1, n + 1, dtype=np.int64))])
    return pa.Table.from_arrays([line, text, raw], names=["_line", "_text", "_raw"])
