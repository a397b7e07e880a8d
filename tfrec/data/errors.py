"""Errors raised for bad input data: they name the file, the line and the problem."""

from __future__ import annotations

import os


class DataFormatError(ValueError):
    """A data file is malformed.

    The message always names the file, and the 1-based line (and column, when known),
    so a user can open the file and fix it without reading a stack trace.

    Args:
        path: the file that is malformed.
        problem: what is wrong, in plain words ("expected 4 comma-separated fields, got 3").
        line: 1-based line number in the file, if the problem is on one line.
        column: 1-based column (field) number, if known.
        content: the offending line's text (shortened), if useful.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        problem: str,
        line: int | None = None,
        column: int | None = None,
        content: str | None = None,
    ):
        self.path = os.fspath(path)
        self.problem = problem
        self.line = line
        self.column = column
        self.content = content
        where = self.path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column}"
        message = f"{where}: {problem}"
        if content is not None:
            shown = content if len(content) <= 120 else content[:117] + "..."
            message += f"\n    {shown!r}"
        super().__init__(message)


class ChecksumMismatchError(ValueError):
    """A downloaded or provided file does not have the sha256 the registry expects."""
