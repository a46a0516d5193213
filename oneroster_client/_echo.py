"""Compare what a gradebook PUT sent with the record the server echoed back.

A server that answers a PUT with ``200``/``201`` but keeps the old record (or part of
it) has not done the write. Comparing the echo with what was sent is the one way a
client can tell; the comparison is tolerant of what servers legitimately change:

- fields the echo leaves out are not compared (partial echoes are common);
- fields the server owns are not compared (``dateLastModified``, which
  OneRoster 1.1 has the server set on every change);
- properties the server adds inside objects are ignored (``href`` of a GUIDRef);
- numbers compare by value (``15`` and ``15.0``, or ``"15"``), booleans also as
  ``"true"``/``"false"``, dates and date-times by the instant or day they name, lists
  of objects in any order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["mismatched_fields"]

SERVER_OWNED = frozenset({"dateLastModified"})
"""Wire fields the server sets whatever the client sends."""

_MAX_DEPTH = 20  # records nest a few levels; deeper echoes are not compared further


def mismatched_fields(sent: Mapping[str, Any], echoed: Mapping[str, Any]) -> tuple[str, ...]:
    """The wire names of the fields sent whose echoed value differs.

    Args:
        sent: the wire dict that was PUT.
        echoed: the record the server sent back.

    Returns:
        The differing top-level field names, in the order they were sent.
    """
    return tuple(
        name
        for name, value in sent.items()
        if name not in SERVER_OWNED and name in echoed and not _same(value, echoed[name], 0)
    )


def _same(sent: Any, echoed: Any, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return True
    if isinstance(sent, Mapping):
        return isinstance(echoed, Mapping) and all(
            key not in echoed or _same(value, echoed[key], depth + 1) for key, value in sent.items()
        )
    if isinstance(sent, list):
        return isinstance(echoed, list) and _same_lists(sent, echoed, depth + 1)
    return _same_scalar(sent, echoed)


def _same_lists(sent: list[Any], echoed: list[Any], depth: int) -> bool:
    if len(sent) != len(echoed):
        return False
    if all(_same(a, b, depth) for a, b in zip(sent, echoed, strict=True)):
        return True
    unmatched = list(echoed)  # the same elements in another order (orgs, terms)
    for value in sent:
        index = next((i for i, other in enumerate(unmatched) if _same(value, other, depth)), None)
        if index is None:
            return False
        del unmatched[index]
    return True


def _same_scalar(sent: Any, echoed: Any) -> bool:
    if sent == echoed and type(sent) is type(echoed):
        return True
    if isinstance(sent, bool) or isinstance(echoed, bool):
        return _as_bool(sent) is not None and _as_bool(sent) == _as_bool(echoed)
    if isinstance(sent, str) and isinstance(echoed, str):
        return _same_moment(sent, echoed)
    sent_number, echoed_number = _as_number(sent), _as_number(echoed)
    return sent_number is not None and sent_number == echoed_number


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (ValueError, OverflowError):  # not a number, or an int too large for a float
        return None
    return None


def _same_moment(sent: str, echoed: str) -> bool:
    a, b = _moment(sent), _moment(echoed)
    return a is not None and a == b


def _moment(text: str) -> datetime | None:
    # A Date names midnight UTC of its day, so it equals a DateTime only at that instant.
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
