"""Reading the records of one CSV file as a stream, within size limits.

A file is read line by line and never whole, so memory stays bounded by the longest
line allowed. Every way a file can fail part way (a line or the whole file over its
limit, a damaged zip member, a cell over the csv module's field size limit) ends the
file with one :class:`~oneroster_client.csv_package.CsvRowError` naming the line; the
records before it are kept.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from typing import IO

import attrs

from oneroster_client.csv_package.errors import CsvRowError, CsvWarning, Reports, row_error, warning
from oneroster_client.csv_package.sources import READ_FAILURES

__all__ = ["DEFAULT_MAX_FILE_SIZE", "DEFAULT_MAX_LINE_SIZE", "Limits", "is_blank", "read_rows"]

DEFAULT_MAX_FILE_SIZE = 4 * 1024**3
"""Largest file (for a zip member: its expanded size) read by default: 4 GiB."""

DEFAULT_MAX_LINE_SIZE = 1024**2
"""Longest physical line read by default: 1 MiB."""

_BOM = b"\xef\xbb\xbf"


@attrs.frozen
class Limits:
    """Size limits of one read: bytes per file and bytes per physical line."""

    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_line_size: int = DEFAULT_MAX_LINE_SIZE


class _Stop(Exception):
    """Ends a file early: ``line`` and ``reason`` go into its CsvRowError."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _physical_lines(binary: IO[bytes], limits: Limits) -> Iterator[bytes]:
    """Yield the lines of ``binary`` as bytes, checking each line and the running total."""
    total = 0
    number = 0
    cap = limits.max_line_size
    while True:
        number += 1
        try:
            raw = binary.readline(cap + 1)
        except READ_FAILURES as exc:
            raise _Stop(number, f"the file is damaged ({exc})") from None
        if not raw:
            return
        total += len(raw)
        if total > limits.max_file_size:
            raise _Stop(
                number,
                f"the file is larger than {limits.max_file_size:,} bytes (max_file_size)",
            )
        if len(raw) > cap:
            raise _Stop(number, f"the line is longer than {cap:,} bytes (max_line_size)")
        yield raw


def _decoded_lines(
    binary: IO[bytes], file: str, limits: Limits, warnings: Reports[CsvWarning]
) -> Iterator[str]:
    """Yield the physical lines as text: UTF-8 (BOM dropped), else Windows-1252."""
    fallback_reported = False
    for number, raw in enumerate(_physical_lines(binary, limits), 1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            # Decoding line by line keeps reading streaming; spreadsheet exports on Windows
            # are the usual source of such bytes.
            if not fallback_reported:
                fallback_reported = True
                warnings.append(
                    warning(
                        file,
                        number,
                        None,
                        "not valid UTF-8; this line and any later such lines were read as"
                        " Windows-1252",
                    )
                )
            try:
                yield raw.decode("cp1252")
            except UnicodeDecodeError:
                yield raw.decode("latin-1")  # the five bytes cp1252 leaves undefined


def read_rows(
    binary: IO[bytes],
    file: str,
    limits: Limits,
    warnings: Reports[CsvWarning],
    errors: Reports[CsvRowError],
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(start line, cells)`` for every non-empty CSV record of ``binary``."""
    reader = csv.reader(_decoded_lines(binary, file, limits, warnings))
    previous_end = 0
    try:
        for cells in reader:
            start = previous_end + 1
            previous_end = reader.line_num  # a quoted cell may span several physical lines
            if cells:
                yield start, cells
    except _Stop as stop:
        errors.append(
            row_error(file, stop.line, None, f"{stop.reason}; the rest of the file was not read")
        )
    except csv.Error as exc:  # e.g. a cell over the csv module's field size limit
        errors.append(
            row_error(file, previous_end + 1, None, f"{exc}; the rest of the file was not read")
        )


def is_blank(cells: Sequence[str]) -> bool:
    """Whether a record has no visible content (``,,,`` or spaces only)."""
    return not "".join(cells).strip()
