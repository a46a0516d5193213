"""MkDocs hook: the docstrings' reStructuredText roles become links (or code).

The docstrings cross-reference with roles such as ``:class:`~pkg.mod.Name```, which
Markdown renders as ``:class:`` followed by code. This turns each into a link to the
API reference when the target is documented there, and into plain code when it is not.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj):<code>(~?)([\w.]+)(\(\))?</code>")


def _link(match: re.Match[str]) -> str:
    short, target, call = match.groups()
    title = (target.rsplit(".", 1)[-1] if short else target) + (call or "")
    # `optional`: a target the reference does not document stays code, without a warning.
    return f'<autoref identifier="{target}" optional><code>{title}</code></autoref>'


def on_page_content(html: str, **kwargs: Any) -> str:
    """Rewrite the roles of one page's HTML."""
    return _ROLE.sub(_link, html)
