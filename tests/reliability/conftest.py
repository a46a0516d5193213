"""Collects one row per reliability scenario and prints the table at the end of the run."""

from __future__ import annotations

from typing import Any

import pytest

ROWS: list[dict[str, Any]] = []
COLUMNS = ("scenario", "mode", "outcome", "expected", "received", "requests", "retries")


@pytest.fixture
def scenario_rows() -> list[dict[str, Any]]:
    """The table's rows; each scenario test appends its own."""
    return ROWS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ROWS:
        return
    rows = sorted(ROWS, key=lambda row: (row["scenario"], row["mode"]))
    cells = [[str(row[column]) for column in COLUMNS] for row in rows]
    widths = [
        max(len(column), *(len(cell[i]) for cell in cells)) for i, column in enumerate(COLUMNS)
    ]
    terminalreporter.section("reliability scenarios (loopback server faults)")
    terminalreporter.write_line("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
    terminalreporter.write_line("  ".join("-" * w for w in widths))
    for cell in cells:
        terminalreporter.write_line(
            "  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True))
        )
