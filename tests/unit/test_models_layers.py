"""The lowest layers import nothing above them at module level.

Models sit at the bottom (models -> converter -> transport/auth -> paging -> client); the
converter, the name mapping and the endpoint table sit just above them. A module-level
import of a higher layer would create an import cycle (models <-> converter) or drag the
HTTP stack into code that only reads records.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import oneroster_client

PACKAGE = Path(oneroster_client.__file__).parent
HIGHER = ("transport", "auth", "paging", "client", "testing", "csv_package", "cli", "retry")
RULES = {
    "models": ("converter", *HIGHER),
    "converter.py": HIGHER,
    "_naming.py": ("converter", "models", *HIGHER),
    "endpoints.py": ("converter", *HIGHER),
}


def module_level_imports(path: Path) -> set[str]:
    """Modules imported by top-level statements (function-level imports are not counted)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def files_of(target: str) -> list[Path]:
    path = PACKAGE / target
    return sorted(path.glob("*.py")) if path.is_dir() else [path]


@pytest.mark.parametrize("target", sorted(RULES))
def test_no_module_level_import_of_a_higher_layer(target: str) -> None:
    forbidden = {f"oneroster_client.{name}" for name in RULES[target]}
    for path in files_of(target):
        imported = module_level_imports(path)
        bad = {
            module
            for module in imported
            if any(module == f or module.startswith(f + ".") for f in forbidden)
        }
        assert not bad, f"{path.name} imports {sorted(bad)} at module level"


def test_models_reach_the_converter_at_call_time() -> None:
    from oneroster_client.models import GUIDRef

    ref = GUIDRef.from_dict({"sourcedId": " sch-1 ", "type": "org"})

    assert ref.to_dict() == {"sourcedId": "sch-1", "type": "org"}
