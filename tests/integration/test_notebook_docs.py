"""docs/notebooks.md: its python blocks run in order against the loopback server."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "notebooks.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_every_code_block_of_the_notebooks_page_runs_in_order() -> None:
    blocks = _BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    namespace: dict[str, object] = {"__name__": "docs_notebooks"}
    try:
        for number, block in enumerate(blocks, 1):
            try:
                exec(compile(block, f"notebooks.md block {number}", "exec"), namespace)
            except Exception as error:  # pragma: no cover - the message is the point
                raise AssertionError(f"notebooks.md block {number} failed: {error!r}") from error
    finally:
        stop = getattr(namespace.get("server"), "stop", None)
        if callable(stop):
            with contextlib.suppress(OSError):
                stop()


def test_the_page_links_the_notebook_it_explains() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for link in re.findall(r"\]\((notebooks/[^)]+)\)", text):
        assert (PAGE.parent / link).is_file(), link
