"""What the ``oneroster`` command prints: records as tables, JSON, JSON lines or CSV,
progress bars on a terminal, and messages scrubbed of secrets."""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from oneroster_client._redact import redact_text
from oneroster_client.notebook import TqdmProgress

__all__ = [
    "FORMATS",
    "Progress",
    "cell",
    "load_tqdm",
    "progress_bar",
    "scrubbed",
    "write_rows",
]

FORMATS = ("table", "json", "jsonl", "csv")
"""The output formats of ``list`` and ``get``."""

_CELL_WIDTH = 40

Progress = Callable[[int, "int | None"], None]
"""Called with (records done, total or None)."""


def scrubbed(text: str, secrets: Iterable[str]) -> str:
    """``text`` with the given secrets and anything that looks like a credential removed."""
    return redact_text(text, secrets=secrets)


def cell(value: Any) -> str:
    """One value as flat text: a reference as its sourcedId, a list comma-joined."""
    if value is None:
        return ""
    if isinstance(value, dict):
        if "sourcedId" in value and set(value) <= {"sourcedId", "type", "href"}:
            return str(value["sourcedId"])
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, list):
        return ",".join(cell(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _columns(rows: Sequence[dict[str, Any]], fields: Sequence[str] | None) -> list[str]:
    if fields:
        return list(fields)
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    def short(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= _CELL_WIDTH else text[: _CELL_WIDTH - 1] + "…"

    cells = [[short(cell(row.get(column))) for column in columns] for row in rows]
    widths = [
        max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(columns)
    ]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for line in cells:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip(), file=out)


def write_rows(
    rows: Iterable[dict[str, Any]],
    fmt: str,
    out: TextIO,
    fields: Sequence[str] | None = None,
) -> int:
    """Write wire-shaped records in ``fmt``; JSON lines are streamed as they arrive.

    Returns:
        The number of records written.
    """
    if fmt == "jsonl":
        count = 0
        for row in rows:
            print(json.dumps(row, ensure_ascii=False, sort_keys=True), file=out)
            count += 1
        return count
    held = list(rows)
    if fmt == "json":
        print(json.dumps(held, ensure_ascii=False, indent=2, sort_keys=True), file=out)
    elif fmt == "csv":
        columns = _columns(held, fields)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([cell(row.get(column)) for column in columns] for row in held)
    else:
        _table(held, _columns(held, fields), out)
    return len(held)


@contextmanager
def progress_bar(description: str, stream: TextIO) -> Iterator[Progress | None]:
    """A progress callback drawing a bar on ``stream`` (standard error), or ``None``.

    ``None`` (quiet) when the stream is not a terminal or tqdm (the ``progress`` extra)
    is not installed. Use it as a context manager: the bar is removed on exit.
    """
    tqdm = load_tqdm() if stream.isatty() else None
    if tqdm is None:
        yield None
        return
    bar = TqdmProgress(description, bar_class=tqdm, file=stream, leave=False, unit="rec")
    try:
        yield bar
    finally:
        bar.close()


def load_tqdm() -> Any:
    """tqdm's ``tqdm`` class, or ``None`` when the ``progress`` extra is not installed."""
    # Imported on first use: tqdm is optional, and a command that is not on a terminal
    # should not pay for it.
    try:
        return importlib.import_module("tqdm").tqdm
    except ImportError:
        return None
