"""The documentation site builds with `mkdocs build --strict`, API reference included."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "mkdocs.yml"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None,
    reason="mkdocs is not installed (install the docs or dev extra to build the site)",
)

# A name per reference page that must be rendered from its docstring: a page whose
# `:::` block renders nothing (a wrong filter, a module that exports nothing) fails here.
REFERENCE_ANCHORS = {
    "reference/index.html": ["oneroster_client", "oneroster_client.retry.RetryPolicy"],
    "reference/client/index.html": ["oneroster_client.client.OneRosterClient"],
    "reference/models/index.html": ["oneroster_client.models.User"],
    "reference/errors/index.html": ["oneroster_client.errors.OneRosterError"],
    "reference/auth/index.html": ["oneroster_client.auth.OAuth2ClientCredentials"],
    "reference/paging/index.html": ["oneroster_client.paging.Listing"],
    "reference/query/index.html": ["oneroster_client.query.F"],
    "reference/testing/index.html": [
        "oneroster_client.testing.OneRosterServer",
        "oneroster_client.testing.Faults",
    ],
    "reference/csv_package/index.html": ["oneroster_client.csv_package.read_package"],
    "reference/buzz/client/index.html": ["oneroster_client.buzz.client.BuzzClient"],
    "reference/buzz/entities/index.html": ["oneroster_client.buzz.entities.BuzzUser"],
    "reference/buzz/settings/index.html": ["oneroster_client.buzz.settings.RosterSettings"],
    "reference/buzz/sync/index.html": ["oneroster_client.buzz.sync.sync"],
    "reference/buzz/report/index.html": ["oneroster_client.buzz.report.SyncReport"],
    "reference/buzz/history/index.html": [
        "oneroster_client.buzz.history.SyncHistory",
        "oneroster_client.buzz.history.SyncInProgressError",
    ],
    "reference/buzz/passback/index.html": ["oneroster_client.buzz.passback.pass_back_grades"],
    "reference/buzz/testing/index.html": ["oneroster_client.buzz.testing.BuzzServer"],
    "reference/skyward_adapter/index.html": ["skyward_adapter.connect"],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once for the module; any warning fails the build."""
    site_dir = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(CONFIG),
            "--site-dir",
            str(site_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = built.stdout + built.stderr
    # Strict mode aborts on a warning; a warning printed without aborting fails here too.
    warnings = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert built.returncode == 0 and not warnings, f"mkdocs build --strict failed:\n{log}"
    return site_dir


def test_every_docs_page_is_built(site: Path) -> None:
    pages = sorted(p.relative_to(ROOT / "docs") for p in (ROOT / "docs").rglob("*.md"))
    assert pages, "the docs folder should hold pages"
    for page in pages:
        stem = page.with_suffix("")
        folder = stem.parent if stem.name == "index" else stem
        built = site / folder / "index.html"
        assert built.is_file(), f"docs/{page} was not built into the site ({built})"


@pytest.mark.parametrize("page", sorted(REFERENCE_ANCHORS))
def test_reference_pages_render_the_docstrings(site: Path, page: str) -> None:
    html = (site / page).read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="([A-Za-z0-9_.]+)"', html))
    for name in REFERENCE_ANCHORS[page]:
        assert name in anchors, f"{page} should document {name}"
    # Rendered from a docstring: the heading is followed by its text, not left empty.
    assert html.count('class="doc doc-contents') >= len(REFERENCE_ANCHORS[page])
    # The docstrings' reStructuredText roles are turned into links or code by the hook.
    assert not re.search(r":(?:class|meth|func|mod|attr|data|exc|obj):<code>", html)


def test_docstring_cross_references_become_links(site: Path) -> None:
    html = (site / "reference/buzz/history/index.html").read_text(encoding="utf-8")
    # history.py refers to :class:`~oneroster_client.buzz.report.RunReport`.
    assert 'href="../report/#oneroster_client.buzz.report.RunReport"' in html


def test_nav_lists_every_page_and_no_missing_one() -> None:
    # Strict mode refuses both, but this names the page when someone adds one.
    config = CONFIG.read_text(encoding="utf-8")
    listed = set(re.findall(r"([\w/.-]+\.md)\s*$", config, re.MULTILINE))
    present = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert present - listed == set(), "pages missing from the nav in mkdocs.yml"
    assert listed - present == set(), "nav entries without a page"
