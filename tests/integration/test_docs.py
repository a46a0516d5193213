"""Run the code blocks of the docs' walkthroughs against the loopback server."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
EXECUTED = [
    "walkthrough.md",
    "models.md",
    "auth-and-errors.md",
    "testing.md",
    "csv.md",
    "buzz.md",
]
# Text each page's blocks must print, where the page promises an outcome.
EXPECTED_OUTPUT: dict[str, list[str]] = {
    "walkthrough.md": ["refused:", "incomplete listing"],
    "buzz.md": ["refused:", "Duplicate enrollment"],
    "testing.md": ["unknown object - class:"],
}


@pytest.mark.parametrize("page", EXECUTED)
def test_every_code_block_runs_in_order(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = _BLOCK.findall(text)
    assert len(blocks) >= 5, "the page should have code blocks to run"
    namespace: dict[str, object] = {"__name__": f"docs_{page}"}
    try:
        for number, block in enumerate(blocks, 1):
            try:
                exec(compile(block, f"{page} block {number}", "exec"), namespace)
            except Exception as error:  # pragma: no cover - the message is the point
                raise AssertionError(f"{page}, code block {number} failed: {error!r}") from error
    finally:
        server = namespace.get("server")
        stop = getattr(server, "stop", None)
        if callable(stop):
            with contextlib.suppress(OSError):
                stop()
    output = capsys.readouterr().out
    for expected in EXPECTED_OUTPUT.get(page, []):
        assert expected in output, f"{page} should print {expected!r}"
