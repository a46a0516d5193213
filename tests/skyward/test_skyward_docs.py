"""docs/skyward.md: every Python block compiles; the offline section runs as written."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import attrs
import pytest

from skyward_adapter import SkywardSettings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "skyward.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
OFFLINE_SECTION = "## 6. Try it without a district"


def blocks(text: str) -> list[str]:
    return _BLOCK.findall(text)


def test_every_python_block_compiles() -> None:
    found = blocks(PAGE.read_text(encoding="utf-8"))
    assert len(found) >= 7
    for number, block in enumerate(found, 1):
        compile(block, f"skyward.md block {number}", "exec")


def test_the_offline_section_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split(OFFLINE_SECTION, 1)[1].split("\n## ", 1)[0]
    found = blocks(section)
    assert len(found) == 2
    namespace: dict[str, object] = {"__name__": "docs_skyward"}
    try:
        for number, block in enumerate(found, 1):
            exec(compile(block, f"skyward.md offline block {number}", "exec"), namespace)
    finally:
        server = namespace.get("server")
        stop = getattr(server, "stop", None)
        if callable(stop):
            with contextlib.suppress(OSError):
                stop()
    output = capsys.readouterr().out
    assert "Skyward connection check: OK" in output
    assert "people; Skyward quirks repaired:" in output
    assert "duplicate_staff_merged: 1" in output


def test_the_troubleshooting_table_covers_the_known_failures() -> None:
    text = PAGE.read_text(encoding="utf-8")
    table = text.split("## 7. Troubleshooting", 1)[1].split("\n## ", 1)[0]
    for symptom in (
        "invalid_client",
        "500",
        "403 on `PUT",
        "403 on `/demographics`",
        "404",
        "TLS",
        "DNS",
    ):
        assert symptom in table
    assert text.count("(unconfirmed)") >= 5


def test_the_settings_table_lists_every_setting_by_its_current_name() -> None:
    text = PAGE.read_text(encoding="utf-8")
    table = text.split("| Setting | Environment variable |", 1)[1].split("\n\n", 1)[0]
    documented = set()
    for row in table.splitlines()[2:]:
        first, variables = row.split("|")[1:3]
        documented.update(re.findall(r"`(\w+)`", first))
        for variable in re.findall(r"`(SKYWARD_\w+)`", variables):
            assert variable.removeprefix("SKYWARD_").lower() in documented
    assert documented == {field.name for field in attrs.fields(SkywardSettings)}
