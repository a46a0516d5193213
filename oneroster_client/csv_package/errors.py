"""What reading and writing a CSV package reports: errors, row errors and warnings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import attrs

from oneroster_client.errors import OneRosterError

__all__ = ["CsvPackageError", "CsvRowError", "CsvTargetError", "CsvWarning", "CsvWriteError"]


def where(file: str, line: int | None, column: str | None) -> str:
    """``users.csv line 7, column role`` (the parts that are known)."""
    text = file if line is None else f"{file} line {line}"
    return f"{text}, column {column}" if column else text


class CsvPackageError(OneRosterError, ValueError):
    """A package that cannot be read at all.

    For example: no manifest, not a folder or a readable zip file, a file present twice.

    Attributes:
        file: the file concerned (``manifest.csv``, a zip member), or ``None`` for the
            package as a whole.
        line: the 1-based line, when one is concerned.
        column: the column, when one is concerned.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.column = column


class CsvWriteError(OneRosterError, ValueError):
    """A record the CSV binding cannot carry; the message names file, record and column."""


class CsvTargetError(CsvWriteError):
    """A package target that would not be written safely: it exists (and overwriting was
    not asked for), is of the wrong kind, or holds files of an earlier package that the
    new one would contradict. Raised before any record is read."""


@attrs.frozen(kw_only=True)
class CsvRowError:
    """A row (or a whole file) that could not be read; the rest of the package still is.

    Attributes:
        file: the file name, e.g. ``"users.csv"``.
        line: the 1-based physical line where the row starts (the header is line 1), or
            ``None`` for a problem with the whole file.
        column: the 1.1 column name (or the header as written, for unknown columns), or
            ``None`` when the row as a whole is wrong.
        sourced_id: the row's sourcedId when it could be read.
        message: e.g. ``"users.csv line 7, column enabledUser: expected a boolean, got
            'maybe'"``.
        raw: the row's cells by column name; left out of ``repr`` (may hold personal data).
            Cells longer than 1,000 characters are cut, and at most the header's width
            plus ten cells are kept, so that a hostile file cannot fill memory with them.
    """

    file: str
    line: int | None
    column: str | None
    message: str
    sourced_id: str | None = None
    raw: dict[str, str] = attrs.field(factory=dict, repr=False)

    def __str__(self) -> str:
        return self.message


@attrs.frozen(kw_only=True)
class CsvWarning:
    """Something read although not as the 1.1 binding says (unknown enum value, encoding...).

    Attributes:
        file: the file name.
        line: the 1-based physical line, or ``None`` for the whole file.
        column: the column concerned, if any.
        sourced_id: the row's sourcedId, if any.
        message: what was found and what was done with it.
    """

    file: str
    line: int | None
    column: str | None
    message: str
    sourced_id: str | None = None

    def __str__(self) -> str:
        return self.message


def row_error(
    file: str,
    line: int | None,
    column: str | None,
    reason: str,
    *,
    sourced_id: str | None = None,
    raw: dict[str, str] | None = None,
) -> CsvRowError:
    """A :class:`CsvRowError` whose message starts with its place."""
    return CsvRowError(
        file=file,
        line=line,
        column=column,
        message=f"{where(file, line, column)}: {reason}",
        sourced_id=sourced_id,
        raw=raw if raw is not None else {},
    )


def warning(
    file: str, line: int | None, column: str | None, reason: str, sourced_id: str | None = None
) -> CsvWarning:
    """A :class:`CsvWarning` whose message starts with its place."""
    return CsvWarning(
        file=file,
        line=line,
        column=column,
        message=f"{where(file, line, column)}: {reason}",
        sourced_id=sourced_id,
    )


_T = TypeVar("_T", CsvRowError, CsvWarning)

MAX_REPORTS_PER_FILE = 1_000
"""Errors (and, separately, warnings) listed per file; the rest are counted, not kept."""


class Reports(Generic[_T]):
    """The errors or warnings of one file: the first :data:`MAX_REPORTS_PER_FILE` are kept.

    A file of a million bad rows must not hold a million reports in memory; those past
    the cap are counted and summed up in one closing entry by :meth:`listed`.
    """

    def __init__(self, file: str, summary: Callable[[str, None, None, str], _T]) -> None:
        self.file = file
        self._summary: Callable[[str, None, None, str], _T] = summary
        self.items: list[_T] = []
        self.dropped = 0

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items) + self.dropped

    def append(self, item: _T) -> None:
        """Keep ``item``, or count it when the cap is reached."""
        if len(self.items) < MAX_REPORTS_PER_FILE:
            self.items.append(item)
        else:
            self.dropped += 1

    def listed(self) -> list[_T]:
        """The kept reports, plus one that says how many more there were."""
        if not self.dropped:
            return list(self.items)
        reason = (
            f"{self.dropped} more in this file are not listed"
            f" (only the first {MAX_REPORTS_PER_FILE} are kept)"
        )
        listed = list(self.items)
        listed.append(self._summary(self.file, None, None, reason))
        return listed


def error_reports(file: str) -> Reports[CsvRowError]:
    """An empty list of the errors of ``file``."""
    return Reports(file, row_error)


def warning_reports(file: str) -> Reports[CsvWarning]:
    """An empty list of the warnings of ``file``."""
    return Reports(file, warning)
