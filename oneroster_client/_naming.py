"""Python <-> wire name mapping shared by the converter, filters, sort and field selection.

OneRoster 1.1 JSON uses camelCase (section 5 of the spec's data model); Python attributes
use snake_case. ``class`` is a keyword, so the attribute is ``class_``.
"""

from __future__ import annotations

import functools
import re

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")


@functools.cache
def to_wire_name(name: str) -> str:
    """Return the OneRoster (camelCase) spelling of a Python attribute name.

    Names that already look like wire names (no underscore) are returned unchanged, so
    callers may pass either spelling. Dotted paths are converted segment by segment:
    ``"school.sourced_id"`` becomes ``"school.sourcedId"``.
    """
    if "." in name:
        return ".".join(to_wire_name(part) for part in name.split("."))
    name = name.rstrip("_")
    if "_" not in name:
        return name
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest if part)


@functools.cache
def to_python_name(name: str) -> str:
    """Return the snake_case attribute name for a OneRoster wire name (``class`` -> ``class_``)."""
    if name == "class":
        return "class_"
    return _CAMEL_BOUNDARY.sub(lambda m: "_" + m.group(1).lower(), name)
