"""Shared parsing helpers for the file loaders.

Every reader parses vectorised (pandas' C parser, numpy conversions) and validates the
result. When the fast path fails or yields invalid values, the file text is scanned line by
line to find the FIRST offending line, and a `DataFormatError` names the file, the 1-based
line (counted in the file, header included), the 1-based field and the line's text.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tfrec.data.errors import DataFormatError

# Column kinds understood by `read_table`.
ID = "id"  # non-negative integer
INT = "int"  # any integer
FLOAT = "float"  # finite float
STR = "str"  # any text

WHITESPACE = "whitespace"  # `sep` value: fields separated by runs of spaces/tabs

_SEP_NAMES = {",": "comma", "\t": "tab", " ": "space", "::": "'::'", WHITESPACE: "whitespace"}
_DTYPES = {ID: np.int64, INT: np.int64, FLOAT: np.float64, STR: object}


@dataclasses.dataclass
class Table:
    """A parsed delimited file: one frame row per non-blank data line.

    Attributes:
        frame: the parsed columns.
        text: the file's text.
        sep: the field separator.
        skip: how many header lines precede the data.
    """

    frame: pd.DataFrame
    text: str
    sep: str
    skip: int

    def line_numbers(self) -> np.ndarray:
        """`[len(frame)]` 1-based line number of each row in the file (blank lines skipped)."""
        lines = split_lines(self.text)[self.skip :]
        blank = [_is_blank(line, self.sep) for line in lines]
        if not any(blank):
            return np.arange(len(self.frame), dtype=np.int64) + 1 + self.skip
        numbers = [k + 1 + self.skip for k, is_blank in enumerate(blank) if not is_blank]
        return np.asarray(numbers[: len(self.frame)], dtype=np.int64)


@dataclasses.dataclass
class IdLines:
    """A parsed `head v1 v2 ...` file of integers (one record per non-blank line).

    Attributes:
        heads: `[n]` first integer of each record (e.g. the user id).
        values: `[sum(counts)]` the remaining integers, record after record.
        counts: `[n]` how many values each record has.
        lines: `[n]` 1-based line number of each record.
    """

    heads: np.ndarray
    values: np.ndarray
    counts: np.ndarray
    lines: np.ndarray

    def repeated_heads(self) -> np.ndarray:
        """`heads` repeated once per value, aligned with `values`."""
        return np.repeat(self.heads, self.counts)

    def positions(self) -> np.ndarray:
        """Position of each value inside its record (0, 1, ...), aligned with `values`."""
        starts = np.repeat(np.cumsum(self.counts) - self.counts, self.counts)
        return np.arange(len(self.values), dtype=np.int64) - starts

    def value_lines(self) -> np.ndarray:
        """The line number of each value, aligned with `values`."""
        return np.repeat(self.lines, self.counts)


# --------------------------------------------------------------------------- text
def read_text(path: str | os.PathLike, encodings: Sequence[str] = ("utf-8",)) -> tuple[str, str]:
    """Reads a whole file as text; returns `(text, encoding used)`.

    Tries each encoding in turn (e.g. `("utf-8", "latin-1")` for ML-1M, whose original
    files are latin-1 while some copies are UTF-8). A UTF-8 byte-order mark is dropped.
    Raises `DataFormatError` naming the line of the first undecodable byte if none works.
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    first_error = None
    for encoding in encodings:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            first_error = first_error or error
            continue
        return text.removeprefix("\ufeff"), encoding
    line = raw[: first_error.start].count(b"\n") + 1
    start = raw.rfind(b"\n", 0, first_error.start) + 1
    raise DataFormatError(
        path,
        f"byte 0x{raw[first_error.start]:02x} is not valid {' or '.join(encodings)} text",
        line=line,
        column=None,
        content=raw[start : raw.find(b"\n", first_error.start)].decode("utf-8", "replace"),
    )


def split_lines(text: str) -> list[str]:
    """Lines without their `\\n` / `\\r\\n` terminators (line k of the file is item k - 1)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def first_line(text: str) -> str:
    """The first line that is not blank (without its terminator)."""
    return text.lstrip().partition("\n")[0].rstrip("\r")


def check_not_empty(path: str | os.PathLike, text: str) -> None:
    if not text.strip():
        raise DataFormatError(path, "the file is empty; expected at least one data line", line=1)


def check_header(path: str | os.PathLike, text: str, header: Sequence[str], sep: str) -> None:
    """Raises unless the first line of `text` is exactly `header` joined by `sep`."""
    first = split_lines(text[: text.find("\n") + 1 or len(text)])
    header_line = first[0] if first else ""
    fields = _split(header_line, sep)
    if [field.strip() for field in fields] != list(header):
        raise DataFormatError(
            path,
            f"expected the header line {_join(header, sep)!r}",
            line=1,
            content=header_line,
        )


def sep_name(sep: str) -> str:
    return _SEP_NAMES.get(sep, repr(sep))


def _split(line: str, sep: str) -> list[str]:
    return line.split() if sep == WHITESPACE else line.split(sep)


def _join(fields: Sequence[str], sep: str) -> str:
    return (" " if sep == WHITESPACE else sep).join(fields)


def _is_blank(line: str, sep: str) -> bool:
    return line == "" or (sep == WHITESPACE and not line.strip())


# --------------------------------------------------------------------------- tables
def read_table(
    path: str | os.PathLike,
    columns: Sequence[tuple[str, str]],
    *,
    sep: str,
    header: Sequence[str] | None = None,
    text: str | None = None,
) -> Table:
    """Parses a delimited file with a fixed number of typed fields per line.

    Args:
        path: the file (named in errors; read unless `text` is given).
        columns: `(name, kind)` per field, kind one of "id" (integer >= 0), "int",
            "float" (finite) and "str".
        sep: the field separator ("," "\\t" " " "::"), or "whitespace".
        header: the exact header line's fields, if the file has one.
        text: the file's text, if already read.

    Blank lines are skipped. Raises `DataFormatError` for an empty file, a wrong header and
    the first line with a wrong field count or a value of the wrong kind.
    """
    if text is None:
        text, _ = read_text(path)
    check_not_empty(path, text)
    if header is not None:
        check_header(path, text, header, sep)
    names = [name for name, _ in columns]
    frame = _parse_fast(text, columns, sep=sep, skip=int(header is not None))
    if frame is None or not _looks_valid(frame, text, columns, sep, header is not None):
        if header is not None and not text.partition("\n")[2].strip():
            raise DataFormatError(path, "the file has a header line but no data lines", line=2)
        _raise_first_problem(path, text, columns, sep=sep, skip=int(header is not None))
        raise DataFormatError(path, "could not be parsed (no single offending line found)")
    frame.columns = names
    return Table(frame=frame, text=text, sep=sep, skip=int(header is not None))


def _parse_fast(text: str, columns, *, sep: str, skip: int) -> pd.DataFrame | None:
    if sep == "::":
        # The C parser only takes one-character separators; a tab never occurs in valid
        # `::` files of ids and numbers (if it does, the scan reports that line).
        if "\t" in text:
            return None
        text, sep = text.replace("::", "\t"), "\t"
    dtypes = {index: _DTYPES[kind] for index, (_, kind) in enumerate(columns)}
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=r"\s+" if sep == WHITESPACE else sep,
            header=None,
            skiprows=skip,
            names=list(range(len(columns))),
            dtype=dtypes,
            index_col=False,
            quoting=csv.QUOTE_NONE,
            keep_default_na=False,
            na_values=[],
            engine="c",
        )
    except (ValueError, OverflowError, pd.errors.ParserError):
        return None
    return frame


def _looks_valid(frame: pd.DataFrame, text: str, columns, sep: str, has_header: bool) -> bool:
    if len(frame) == 0:
        return False
    if sep != WHITESPACE:
        # A line with too few fields parses silently (missing strings become ""); too many
        # raise. So the separator count tells whether every line had the right width.
        rows = len(frame) + int(has_header)
        if text.count(sep) != (len(columns) - 1) * rows:
            return False
    for index, (_, kind) in enumerate(columns):
        values = frame[index]
        if kind == ID and (values.to_numpy() < 0).any():
            return False
        if kind == FLOAT and not np.isfinite(values.to_numpy()).all():
            return False
        if kind in (ID, INT, FLOAT) and values.dtype.kind not in "iuf":
            return False
    return True


def _raise_first_problem(path, text: str, columns, *, sep: str, skip: int) -> None:
    for number, line in enumerate(split_lines(text), start=1):
        if number <= skip or _is_blank(line, sep):
            continue
        fields = _split(line, sep)
        if len(fields) != len(columns):
            raise DataFormatError(
                path,
                f"expected {len(columns)} {sep_name(sep)}-separated fields "
                f"({_join([n for n, _ in columns], sep)}), got {len(fields)}",
                line=number,
                content=line,
            )
        for index, ((name, kind), field) in enumerate(zip(columns, fields, strict=True)):
            problem = value_problem(field, kind)
            if problem:
                raise DataFormatError(
                    path, f"{name} {problem}", line=number, column=index + 1, content=line
                )


def value_problem(field: str, kind: str) -> str | None:
    """Why `field` is not a valid value of `kind` ("id", "int", "float", "str"), or None."""
    if kind == STR:
        return None
    try:
        value = float(field) if kind == FLOAT else int(field)
    except ValueError:
        expected = {ID: "a non-negative integer", INT: "an integer", FLOAT: "a number"}[kind]
        return f"must be {expected}, got {field!r}"
    if kind in (ID, INT) and not -(2**63) <= value < 2**63:
        return f"is out of the 64-bit integer range, got {field!r}"
    if kind == ID and value < 0:
        return f"must be a non-negative integer, got {field!r}"
    if kind == FLOAT and not np.isfinite(value):
        return f"must be a finite number, got {field!r}"
    return None


# --------------------------------------------------------------------------- id lines
def read_id_lines(
    path: str | os.PathLike,
    *,
    what: str = "id",
    text: str | None = None,
    min_fields: int = 1,
) -> IdLines:
    """Parses lines `head v1 v2 ...` of non-negative integers separated by whitespace.

    Used for a2_gcn `train.txt` (`user item item ...`) and S3-Rec sequences. Blank lines
    are skipped. Raises `DataFormatError` for an empty file, a line with fewer than
    `min_fields` fields, and the first token that is not a non-negative integer (with its
    line and 1-based field number).
    """
    if text is None:
        text, _ = read_text(path)
    check_not_empty(path, text)
    raw_lines = split_lines(text)
    rows = [line.split() for line in raw_lines]
    keep = [k for k, fields in enumerate(rows) if fields]
    counts = np.fromiter((len(rows[k]) for k in keep), dtype=np.int64, count=len(keep))
    short = np.flatnonzero(counts < min_fields)
    if len(short):
        k = keep[short[0]]
        raise DataFormatError(
            path,
            f"expected at least {min_fields} whitespace-separated fields, got {len(rows[k])}",
            line=k + 1,
            content=raw_lines[k],
        )
    tokens = [token for k in keep for token in rows[k]]
    try:
        flat = np.array(tokens, dtype=np.int64)
        bad = int(np.argmax(flat < 0)) if (flat < 0).any() else -1
    except (ValueError, OverflowError):
        bad = next(t for t, token in enumerate(tokens) if value_problem(token, ID))
    if bad >= 0:
        ends = np.cumsum(counts)
        record = int(np.searchsorted(ends, bad, side="right"))
        field = bad - (ends[record] - counts[record])
        k = keep[record]
        raise DataFormatError(
            path,
            f"{what} {value_problem(tokens[bad], ID)}",
            line=k + 1,
            column=int(field) + 1,
            content=raw_lines[k],
        )
    starts = np.cumsum(counts) - counts
    is_head = np.zeros(len(flat), dtype=bool)
    is_head[starts] = True
    return IdLines(
        heads=flat[starts],
        values=flat[~is_head],
        counts=counts - 1,
        lines=np.asarray(keep, dtype=np.int64) + 1,
    )


def parse_ints(text: str, sep: str, expected: int) -> np.ndarray | None:
    """Parses `expected` integers separated by `sep` (spaces around them allowed).

    Returns None when the text does not hold exactly that many integers (then the caller
    scans for the offending line). Uses numpy's C text parser: about 50x faster than
    converting token by token.
    """
    if expected == 0:
        return np.zeros(0, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            values = np.fromstring(text, sep=sep, dtype=np.int64)
        except ValueError:
            return None
    if len(values) != expected or text.count(sep) != expected - 1:
        return None
    return values


# --------------------------------------------------------------------------- json
def read_json(path: str | os.PathLike) -> tuple[object, str]:
    """Parses a JSON file; returns `(value, text)`. Bad JSON names its line and column."""
    text, _ = read_text(path)
    check_not_empty(path, text)
    try:
        return json.loads(text), text
    except json.JSONDecodeError as error:
        lines = split_lines(text)
        raise DataFormatError(
            path,
            f"invalid JSON: {error.msg}",
            line=error.lineno,
            column=error.colno,
            content=lines[error.lineno - 1] if error.lineno <= len(lines) else None,
        ) from None


def position_of(text: str, needle: str) -> tuple[int | None, int | None, str | None]:
    """(1-based line, 1-based column, line text) of the first `needle` in `text`."""
    offset = text.find(needle)
    if offset < 0:
        return None, None, None
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return line, offset - start + 1, text[start : end if end >= 0 else len(text)].rstrip("\r")
