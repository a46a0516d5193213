"""DLAP envelopes: unwrap ``{"response": {...}}`` and the list wrappers inside it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["rows"]


def rows(container: Any, plural: str, singular: str) -> list[Mapping[str, Any]]:
    """The elements of a DLAP list such as ``response.users.user``.

    DLAP's JSON comes from XML, so the wrapper may be missing or empty (``{}``) for no
    rows, and a single row may arrive as an object instead of a one-element list.

    Returns:
        The row objects; non-object elements are returned too so that the caller's record
        reader can name them in its error.
    """
    if not isinstance(container, Mapping):
        return []
    wrapper = container.get(plural)
    if wrapper is None or wrapper == "":
        return []
    inner = wrapper.get(singular) if isinstance(wrapper, Mapping) else wrapper
    if inner is None:
        return []
    if isinstance(inner, list):
        return inner
    return [inner]
