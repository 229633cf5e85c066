"""Validate a predictions CSV and turn it into one label per competition test id.

The format (shared with the competition starter notebook): UTF-8 text, header exactly
``id,label``, then one row per test id, each id exactly once, the label an integer class
index in ``[0, n_classes)``. A UTF-8 byte-order mark, CRLF line ends, quoted fields and
blank lines at the very end are tolerated; anything else is rejected with a message that
names the first bad line and says what is wrong with it.

:func:`parse_predictions` tries a fast path first (delimiters located with NumPy on the
bytes of a file without quotes and with one-digit labels, ids matched through sorted
hashes) and falls back to the careful line-by-line parser, which is the reference: the fast path
only ever accepts files the careful parser accepts, and every error message comes from the
careful parser.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

import numpy as np

HEADER = "id,label"
BOM = "\ufeff".encode()
_INTEGER = re.compile(r"[+-]?[0-9]{1,9}")
_LINE_WITHOUT_COMMA = re.compile(r"^[^,\n]*$", re.MULTILINE)
_SHOW = 40  # characters of an offending value quoted back in a message


class InvalidSubmission(ValueError):
    """The file is not a valid submission; ``str(exc)`` says what is wrong."""

    def __init__(self, message: str, *, too_large: bool = False):
        super().__init__(message)
        self.too_large = too_large


def _show(value: str) -> str:
    """Quote a value from the file for a message: escaped and shortened."""
    if len(value) > _SHOW:
        value = value[:_SHOW] + "..."
    return repr(value)


def decode(data: bytes, max_bytes: int) -> str:
    """Check the size and encoding; return the text without BOM and trailing line ends."""
    if len(data) > max_bytes:
        raise InvalidSubmission(
            f"the file is {len(data):,} bytes; the limit is {max_bytes:,} bytes", too_large=True
        )
    if not data.strip():
        raise InvalidSubmission(f"the file is empty; expected the header line `{HEADER}` and one row per test id")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InvalidSubmission(
            f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}); "
            "save the file as UTF-8 CSV"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.rstrip("\r\n")


class TestIds:
    """The competition's test ids in their fixed order, indexed for validation.

    Besides a dict for the careful parser, the ids are kept as a zero-padded byte table with
    a 64-bit polynomial hash per id: the fast path matches a file's ids by comparing sorted
    hashes (integers) and then confirms each match byte for byte.
    """

    def __init__(self, ids: Sequence[str]):
        self.ids = tuple(ids)
        self.position = {key: i for i, key in enumerate(self.ids)}
        encoded = [key.encode("utf-8") for key in self.ids]
        self.width = max(map(len, encoded))
        self.table = np.array(encoded, dtype=f"S{self.width}").view(np.uint8).reshape(len(encoded), self.width)
        self.powers = np.uint64(1_000_003) ** np.arange(self.width, dtype=np.uint64)  # wraps mod 2**64
        self.hashes = self.hash(self.table)
        self.order = np.argsort(self.hashes)
        self.sorted_hashes = self.hashes[self.order]
        self.hashes_unique = len(np.unique(self.hashes)) == len(self.hashes)

    def hash(self, table: np.ndarray) -> np.ndarray:
        """One uint64 per row of a zero-padded (n, width) byte table."""
        return table.astype(np.uint64) @ self.powers

    def __len__(self) -> int:
        return len(self.ids)


def parse_predictions(data: bytes, ids: TestIds, n_classes: int, max_bytes: int) -> np.ndarray:
    """Validate ``data``; return a uint8 array with one label per test id, in ``ids`` order.

    Raises :class:`InvalidSubmission` with the first problem found.
    """
    text = decode(data, max_bytes)
    labels = _fast_parse(data, ids, n_classes)
    if labels is None:
        labels = careful_parse(text, ids, n_classes)
    return labels


def _fast_parse(data: bytes, ids: TestIds, n_classes: int) -> np.ndarray | None:
    """Return the labels if ``data`` (already decoded once as UTF-8) is a plain valid file
    with one-digit labels; None when unsure. Works on the bytes with NumPy, no Python loop."""
    if n_classes > 10 or not ids.hashes_unique:
        return None
    if data.startswith(BOM):
        data = data[len(BOM):]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    if b'"' in data or b"\r" in data or b"\x00" in data:
        return None
    data = data.rstrip(b"\n")
    head = (HEADER + "\n").encode()
    if not data.startswith(head):
        return None
    body = np.frombuffer(data, dtype=np.uint8, offset=len(head))
    n = len(ids)
    delimiters = np.flatnonzero((body == ord(",")) | (body == ord("\n")))
    if len(delimiters) != 2 * n - 1:
        return None
    commas, newlines = delimiters[0::2], delimiters[1::2]
    if not ((body[commas] == ord(",")).all() and (body[newlines] == ord("\n")).all()):
        return None  # not "id,label" on every line
    if not (np.append(newlines, len(body)) - commas == 2).all():
        return None  # a label is not exactly one character
    labels = body[commas + 1] - np.uint8(ord("0"))  # non-digits wrap around to >= 10
    if labels.max() >= n_classes:
        return None
    starts = np.concatenate(([0], newlines + 1))
    lengths = commas - starts
    if lengths.min() < 1 or lengths.max() > ids.width:
        return None
    columns = np.arange(ids.width)
    gather = np.minimum(starts[:, None] + columns, len(body) - 1)
    table = np.where(columns < lengths[:, None], body[gather], 0).astype(np.uint8)
    hashes = ids.hash(table)
    if np.array_equal(hashes, ids.hashes):  # the ids in the key's own order
        positions = np.arange(n)
    else:  # the same ids in another order: equal sorted hashes (they are unique)
        order = np.argsort(hashes)
        if not np.array_equal(hashes[order], ids.sorted_hashes):
            return None  # an unknown, duplicate or missing id
        positions = np.empty(n, dtype=np.int64)
        positions[order] = ids.order
    if not (ids.table[positions] == table).all():
        return None  # a different id with the same hash
    out = np.empty(n, dtype=np.uint8)
    out[positions] = labels
    return out


def careful_parse(text: str, ids: TestIds, n_classes: int) -> np.ndarray:
    """Parse ``text`` row by row and raise on the first problem (the reference parser)."""
    index = ids.position
    expected = f"integer class index 0-{n_classes - 1}"
    out = np.zeros(len(index), dtype=np.uint8)
    first_line: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header != ["id", "label"]:
            got = ",".join(header) if header else ""
            raise InvalidSubmission(f"line 1: the header must be exactly `{HEADER}`, got {_show(got)}")
        for row in reader:
            line = reader.line_num
            if not row:
                raise InvalidSubmission(f"line {line}: empty line (one row `id,label` per test id)")
            if len(row) != 2:
                raise InvalidSubmission(
                    f"line {line}: expected 2 fields `id,label`, got {len(row)}: {_show(','.join(row))}"
                )
            key, label = row
            if key not in index:
                raise InvalidSubmission(f"line {line}: unknown id {_show(key)} (not a competition test id)")
            if key in first_line:
                raise InvalidSubmission(
                    f"line {line}: id {_show(key)} appears again (first on line {first_line[key]}); "
                    "each test id must appear exactly once"
                )
            first_line[key] = line
            if not _INTEGER.fullmatch(label):
                raise InvalidSubmission(f"line {line}: label {_show(label)} is not an {expected}")
            value = int(label)
            if not 0 <= value < n_classes:
                raise InvalidSubmission(f"line {line}: label {value} is out of range; expected an {expected}")
            out[index[key]] = value
    except csv.Error as exc:
        raise InvalidSubmission(f"line {reader.line_num}: not valid CSV ({exc})") from None
    if len(first_line) != len(index):
        missing = next(key for key in index if key not in first_line)
        raise InvalidSubmission(
            f"{len(index) - len(first_line)} of {len(index)} test ids are missing, e.g. {_show(missing)}; "
            "every id from test.csv must appear exactly once"
        )
    return out
