"""The ``query`` parameter of Buzz list commands: a small, tolerant evaluator.

Buzz filters list results with expressions such as ``/id>1234`` or
``/reference='abc'``. The full grammar is not public; this evaluator accepts what a
sync needs: ``/field OP value`` conditions, with ``OP`` one of ``=``, ``<>`` (or ``!=``),
``>``, ``>=``, ``<``, ``<=``, ``CONTAINS`` and ``BEGINSWITH``, joined by ``AND`` /
``OR`` (``AND`` binds tighter), values bare or in single or double quotes. Numbers are
compared as numbers (``/id>99`` matches ``100``), text without regard to case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from oneroster_client.buzz.testing.state import DlapError

__all__ = ["compile_query", "matches_text"]

Predicate = Callable[[dict[str, Any]], bool]

_CONDITION = re.compile(
    r"""^\s*/(?P<field>[A-Za-z_][\w/]*)\s*
    (?P<op>>=|<=|<>|!=|=|>|<|\s+contains\s+|\s+beginswith\s+)\s*
    (?P<value>'[^']*'|"[^"]*"|[^'"]*?)\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_OR = re.compile(r"\s+OR\s+", re.IGNORECASE)
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _compare(actual: Any, op: str, expected: str) -> bool:
    if op in ("contains", "beginswith"):
        text = "" if actual is None else str(actual).casefold()
        wanted = expected.casefold()
        return wanted in text if op == "contains" else text.startswith(wanted)
    left, right = _number(actual), _number(expected)
    if left is None or right is None:
        left_text: Any = "" if actual is None else str(actual).casefold()
        return _order(left_text, op, expected.casefold())
    return _order(left, op, right)


def _order(left: Any, op: str, right: Any) -> bool:
    if op == "=":
        return bool(left == right)
    if op in ("<>", "!="):
        return bool(left != right)
    if op == ">":
        return bool(left > right)
    if op == ">=":
        return bool(left >= right)
    if op == "<":
        return bool(left < right)
    return bool(left <= right)


def _condition(text: str) -> Predicate:
    match = _CONDITION.match(text)
    if match is None:
        raise DlapError("BadRequest", f"Invalid query condition: {text.strip()!r}")
    path = match["field"].lower().split("/")
    op = match["op"].strip().lower()
    value = match["value"]
    if value[:1] in ("'", '"'):
        value = value[1:-1]

    def predicate(record: dict[str, Any]) -> bool:
        actual: Any = record
        for part in path:
            actual = actual.get(part) if isinstance(actual, dict) else None
        return _compare(actual, op, value)

    return predicate


def compile_query(text: str | None) -> Predicate:
    """Compile a ``query`` parameter into a predicate over rendered records.

    Args:
        text: the parameter; empty or ``None`` matches everything.

    Raises:
        DlapError: ``BadRequest`` when a condition cannot be read.
    """
    if not text or not text.strip():
        return lambda record: True
    alternatives = [
        [_condition(part) for part in _AND.split(branch)] for branch in _OR.split(text.strip())
    ]
    return lambda record: any(all(p(record) for p in branch) for branch in alternatives)


def matches_text(record: dict[str, Any], text: str | None, fields: tuple[str, ...]) -> bool:
    """The ``text`` parameter: a case-insensitive substring of any of ``fields``."""
    if not text:
        return True
    wanted = text.casefold()
    return any(wanted in str(record.get(field) or "").casefold() for field in fields)
