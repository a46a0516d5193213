"""What importing the adapter costs, and which parts of oneroster_client it relies on."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "skyward_adapter"
# The only private modules of oneroster_client the adapter may use: the shared URL policy
# and the shared redaction helpers.
ALLOWED_PRIVATE = frozenset(
    {"oneroster_client._redact", "oneroster_client._urls", "oneroster_client._extras"}
)


@pytest.mark.parametrize("module", ["skyward_adapter", "skyward_adapter.recording"])
def test_importing_the_adapter_does_not_import_vcrpy(module: str) -> None:
    code = (
        f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'vcr'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=PACKAGE.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def imports_of(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every ``from oneroster_client... import name`` in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("oneroster_client"):
            found += [(node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names if a.name.startswith("oneroster_client")]
    return found


def test_the_adapter_uses_only_the_public_api_of_the_client() -> None:
    private = []
    for path in sorted(PACKAGE.glob("*.py")):
        for module, name in imports_of(path):
            if module in ALLOWED_PRIVATE:
                continue
            dunder = name.startswith("__") and name.endswith("__")  # __version__ is public
            if any(p.startswith("_") for p in module.split(".")) or (
                name.startswith("_") and not dunder
            ):
                private.append(f"{path.name}: from {module} import {name}")
    assert private == []


def test_recording_without_vcrpy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from skyward_adapter import recording

    monkeypatch.setitem(sys.modules, "vcr", None)  # an import of it fails
    with pytest.raises(ModuleNotFoundError, match=r"oneroster-client\[recording\]"):
        recording._vcr()
