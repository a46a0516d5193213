"""The package as released: light to import, optional parts named by their extra, metadata
that matches the build and the license."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("oneroster_client", "skyward_adapter")
# Imported only when the feature that needs them is used.
OPTIONAL = ("pandas", "tqdm", "vcr")
HEAVY = ("pandas", "tqdm", "vcr", "authlib", "numpy")


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport sys\n"
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    # -X importtime lists every module imported; a heavy one must not be among them.
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    return sorted(set(result.stdout.split()) | (imported & set(HEAVY)))


@pytest.mark.parametrize(
    "code",
    [
        "import oneroster_client",
        "import oneroster_client.notebook",
        "import oneroster_client.models",
        "import skyward_adapter",
        "import skyward_adapter.pytest_plugin",
    ],
)
def test_importing_loads_no_heavy_optional_dependency(code: str) -> None:
    assert _loaded_after(code) == []


def test_to_dataframe_is_what_loads_pandas() -> None:
    pytest.importorskip("pandas")
    code = "from oneroster_client.notebook import records_dataframe\nrecords_dataframe([])"
    assert "pandas" in _loaded_after(code)


def _module_level_imports(tree: ast.Module) -> list[str]:
    """Modules imported when the module is (not inside functions or TYPE_CHECKING)."""
    found: list[str] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append(node.module)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(tree.body)
    return found


def test_optional_dependencies_are_never_imported_at_module_level() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for module in _module_level_imports(tree):
                if module.split(".")[0] in OPTIONAL:
                    offenders.append(f"{path.relative_to(ROOT)}: import {module}")
    assert offenders == []


def test_every_extra_named_in_a_message_exists_and_installs_what_it_names() -> None:
    extras = _pyproject()["project"]["optional-dependencies"]
    named: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            named.update(re.findall(r"oneroster-client\[(\w+)\]", path.read_text("utf-8")))
    assert {"notebook", "recording"} <= named
    assert named <= set(extras)
    requirement = " ".join(extras["notebook"])
    assert "pandas" in requirement and "tqdm" in requirement
    assert any(r.startswith("vcrpy") for r in extras["recording"])


def test_dev_installs_every_extra_so_no_test_skips_in_ci() -> None:
    extras = _pyproject()["project"]["optional-dependencies"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[<>=!~ \[;]", r, maxsplit=1)[0].lower() for r in requirements}

    dev = names(extras["dev"])
    for extra, requirements in extras.items():
        assert names(requirements) <= dev, extra


def test_the_license_is_declared_built_and_shipped() -> None:
    data = _pyproject()
    project = data["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    # An SPDX license string and license-files need setuptools 77 or later (PEP 639).
    (setuptools,) = [r for r in data["build-system"]["requires"] if r.startswith("setuptools")]
    floor = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", setuptools)
    assert floor is not None and int(floor.group(1)) >= 77
    assert not any("License ::" in c for c in project["classifiers"])  # PEP 639: not both


def test_python_classifiers_match_requires_python() -> None:
    project = _pyproject()["project"]
    versions = [
        tuple(int(part) for part in c.rsplit(" ", 1)[1].split("."))
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    floor = re.fullmatch(r">=(\d+)\.(\d+)", project["requires-python"])
    assert floor is not None and versions
    assert min(versions) == (int(floor.group(1)), int(floor.group(2)))
    assert sys.version_info[:2] in versions  # the interpreter running the suite is listed


def test_project_urls_point_into_one_repository() -> None:
    urls = _pyproject()["project"]["urls"]
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}
    home = urls["Homepage"].rstrip("/")
    assert all(url == home or url.startswith(home + "/") for url in urls.values())
    assert urls["Changelog"].endswith("/CHANGELOG.md")


def test_the_sdist_carries_tests_docs_and_changelog() -> None:
    lines = [
        line.split("#")[0].split()
        for line in (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
    ]
    commands = {(words[0], word) for words in lines if words for word in words[1:]}
    for kept in (("graft", "tests"), ("graft", "docs"), ("include", "CHANGELOG.md")):
        assert kept in commands
    assert (ROOT / "docs" / "notebooks" / "explore-district.ipynb").is_file()
