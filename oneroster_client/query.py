"""The OneRoster 1.1 filter language (REST binding section 8.3 "Filtering"), plus the sort
(8.2) and field selection (8.4) query parameters.

A 1.1 filter is at most two predicates joined by one upper-case ``AND`` or ``OR``; every
value is single-quoted and a value cannot contain a single quote::

    familyName='Mc Donald' AND dateLastModified>'2024-01-01T00:00:00.000Z'

The client builds filters with :data:`F` (``F.role == "student"``) or accepts raw strings,
and checks both with :func:`coerce_filter` before sending, so a filter a 1.1 server cannot
parse fails here with a message that says why. The loopback test server parses filters with
:func:`parse_filter` and applies them to wire-shaped records with :func:`evaluate`.

Error messages name positions, field names and operators but never quote filter values:
values are often student data (names, e-mail addresses) and messages end up in logs.
"""

from __future__ import annotations

import abc
import decimal
import enum
import math
import operator
import re
import string
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, ClassVar, Final, Literal, NoReturn, TypeAlias

import attrs

from oneroster_client._naming import to_wire_name
from oneroster_client.errors import FilterError

__all__ = [
    "LOGICAL_OPERATORS",
    "OPERATORS",
    "Combined",
    "F",
    "Field",
    "FilterExpr",
    "FilterValue",
    "LogicalOperator",
    "Predicate",
    "coerce_filter",
    "evaluate",
    "filter_fields_known",
    "order_by",
    "parse_filter",
    "wire_fields",
    "wire_sort",
]

OPERATORS: Final[tuple[str, ...]] = ("=", "!=", ">", ">=", "<", "<=", "~")
"""The 1.1 comparison operators; ``~`` means "contains"."""

LOGICAL_OPERATORS: Final[tuple[str, ...]] = ("AND", "OR")
"""The 1.1 logical operators; a filter uses at most one of them, once."""

LogicalOperator: TypeAlias = Literal["AND", "OR"]

FilterValue: TypeAlias = str | bool | int | float | date | datetime | enum.Enum
"""Python values the builder can put in a filter (see :class:`Field` for the formatting)."""

_OPERATOR_LIST: Final = " ".join(OPERATORS)
_WHITESPACE: Final = frozenset(" \t\r\n")
_LETTERS: Final = frozenset(string.ascii_letters)
_FIELD_CHARS: Final = frozenset(string.ascii_letters + string.digits + "_.")
_OPERATOR_CHARS: Final = frozenset("=!<>~")
# ASCII only: str.isalnum() and \d would let non-ASCII digits and letters through.
_FIELD_NAME = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_INSTANT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?"
    r"([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?",
    re.ASCII,
)
_COUNT_WORDS: Final = {3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
_INVERSE: Final = {"=": "!=", "!=": "=", ">": "<=", ">=": "<", "<": ">=", "<=": ">"}
_OPERATOR_HINTS: Final = {
    "==": "; use = for equality",
    "<>": "; use != for not equal",
    "=<": "; did you mean <=?",
    "=>": "; did you mean >=?",
    "!~": "; 1.1 has no 'does not contain' operator",
}
_NO_TRUTH_VALUE: Final = (
    "a filter expression has no truth value: combine predicates with & (AND) or | (OR), "
    "not the Python keywords 'and', 'or' or 'in', and do not chain comparisons such as "
    "a < F.x < b"
)


def _fail_too_many(count: int | None, logical_ops: Iterable[str]) -> NoReturn:
    """Raise the "too many predicates" error; ``count`` is ``None`` when unknown (> 2)."""
    mixed = " and mixes AND with OR" if len(set(logical_ops)) > 1 else ""
    counted = "more than two" if count is None else _COUNT_WORDS.get(count, str(count))
    raise FilterError(
        f"filter has {counted} predicates{mixed}; OneRoster 1.1 "
        "allows at most two joined by one AND or OR. Send separate requests, or filter the "
        "rest in Python"
    )


def _quote_message(field: str) -> str:
    return (
        f"the value for {field!r} contains a single quote: OneRoster 1.1 has no escape for a "
        "single quote inside a filter value. Filter on a part without the quote instead, "
        f"e.g. {field}~'...'"
    )


def _check_wire_field(field: object) -> str:
    """Return ``field`` if it is a syntactically valid wire field name, else raise."""
    if not isinstance(field, str):
        raise FilterError(f"a filter field name must be a str, not {type(field).__name__}")
    if not _FIELD_NAME.fullmatch(field):
        raise FilterError(
            f"{field!r} is not a valid filter field name; use letters, digits and underscores, "
            "with dots between the parts of a nested field (e.g. 'school.sourcedId')"
        )
    return field


def _wire_field_name(name: object, what: str) -> str:
    """Validate a Python or wire field name and return its wire spelling.

    Args:
        name: e.g. ``"date_last_modified"``, ``"dateLastModified"`` or ``"school.sourcedId"``.
        what: how the name is used, for the error message (``"filter field"``).
    """
    if not isinstance(name, str):
        raise FilterError(f"{what} name must be a str, not {type(name).__name__}")
    if not name:
        raise FilterError(
            f"{what} name is empty; name a OneRoster field such as 'familyName' or "
            "'school.sourcedId'"
        )
    # Check before converting: to_wire_name would happily pass spaces or quotes through.
    if _FIELD_NAME.fullmatch(name):
        wire = to_wire_name(name)
        # "_" or "a.__" convert to empty parts ("" / "a."), which no server can match.
        if _FIELD_NAME.fullmatch(wire):
            return wire
    raise FilterError(
        f"{what} {name!r} is not a valid field name; use letters, digits and underscores, "
        "with dots between the parts of a nested field (e.g. 'school.sourcedId')"
    )


class _Expression(abc.ABC):
    """What both expression kinds share: printing and combining with ``&`` and ``|``."""

    __slots__ = ()

    @abc.abstractmethod
    def to_string(self) -> str:
        """Return the canonical 1.1 text."""

    def __str__(self) -> str:
        return self.to_string()

    def __and__(self, other: FilterExpr) -> Combined:
        if not isinstance(other, Predicate | Combined):
            return NotImplemented
        return _combine("AND", self, other)  # type: ignore[arg-type]

    def __or__(self, other: FilterExpr) -> Combined:
        if not isinstance(other, Predicate | Combined):
            return NotImplemented
        return _combine("OR", self, other)  # type: ignore[arg-type]


@attrs.frozen
class Predicate(_Expression):
    """One comparison, ``fieldName<op>'value'``, already in wire form.

    Build predicates with :data:`F` (``F.role == "student"``) or :func:`parse_filter`;
    the constructor checks the same rules, so every ``Predicate`` prints as a filter a 1.1
    server can parse.

    Attributes:
        field: wire field name, possibly dotted (``"school.sourcedId"``).
        op: one of :data:`OPERATORS`.
        value: the text between the quotes; never contains a single quote.
    """

    field: str
    op: str
    value: str

    def __attrs_post_init__(self) -> None:
        _check_wire_field(self.field)
        if self.op not in OPERATORS:
            raise FilterError(
                f"unknown operator {self.op!r}; OneRoster 1.1 operators are {_OPERATOR_LIST}"
            )
        if not isinstance(self.value, str):
            raise FilterError(
                f"the value for {self.field!r} must be a str, not {type(self.value).__name__}; "
                "use F to format other types"
            )
        if "'" in self.value:
            raise FilterError(_quote_message(self.field))

    @property
    def predicates(self) -> tuple[Predicate, ...]:
        """This predicate, as a one-element tuple."""
        return (self,)

    @property
    def fields(self) -> tuple[str, ...]:
        """The wire field name, as a one-element tuple."""
        return (self.field,)

    def to_string(self) -> str:
        """Return the canonical 1.1 text, e.g. ``role='student'``."""
        return f"{self.field}{self.op}'{self.value}'"

    def __invert__(self) -> NoReturn:
        if self.op == "~":
            raise FilterError(
                "OneRoster 1.1 filters have no NOT, and there is no 'does not contain' "
                "operator; filter the records in Python instead"
            )
        raise FilterError(
            "OneRoster 1.1 filters have no NOT; write the inverse comparison instead: "
            f"{self.field}{_INVERSE[self.op]}'...' rather than NOT {self.field}{self.op}'...'"
        )

    def __bool__(self) -> NoReturn:
        # `F.a == 1 and F.b == 2` would silently keep only the second predicate.
        raise FilterError(_NO_TRUTH_VALUE)


@attrs.frozen
class Combined(_Expression):
    """Two predicates joined by one logical operator: the most a 1.1 filter can hold.

    Attributes:
        op: ``"AND"`` or ``"OR"``.
        left: the first predicate.
        right: the second predicate.
    """

    op: LogicalOperator
    left: Predicate
    right: Predicate

    def __attrs_post_init__(self) -> None:
        if self.op not in LOGICAL_OPERATORS:
            raise FilterError(f"unknown logical operator {self.op!r}; use AND or OR")
        parts: tuple[object, object] = (self.left, self.right)
        for part in parts:
            if not isinstance(part, Predicate | Combined):
                raise FilterError(
                    f"Combined joins two Predicate objects, not {type(part).__name__}"
                )
        nested = [part for part in parts if isinstance(part, Combined)]
        if nested:
            _fail_too_many(
                sum(len(part.predicates) for part in nested) + 2 - len(nested),
                [self.op, *(part.op for part in nested)],
            )

    @property
    def predicates(self) -> tuple[Predicate, ...]:
        """The two predicates, left then right."""
        return (self.left, self.right)

    @property
    def fields(self) -> tuple[str, ...]:
        """The wire field names, in order, without repeats."""
        return tuple(dict.fromkeys((self.left.field, self.right.field)))

    def to_string(self) -> str:
        """Return the canonical 1.1 text, e.g. ``role='student' AND status='active'``."""
        return f"{self.left.to_string()} {self.op} {self.right.to_string()}"

    def __invert__(self) -> NoReturn:
        swapped = "OR" if self.op == "AND" else "AND"
        raise FilterError(
            "OneRoster 1.1 filters have no NOT; invert each predicate and swap "
            f"{self.op} for {swapped} instead (e.g. NOT (a=x {self.op} b=y) is "
            f"a!=x {swapped} b!=y)"
        )

    def __bool__(self) -> NoReturn:
        raise FilterError(_NO_TRUTH_VALUE)


FilterExpr: TypeAlias = Predicate | Combined
"""A parsed or built 1.1 filter: one predicate, or two joined by AND/OR."""


def _combine(op: LogicalOperator, left: FilterExpr, right: FilterExpr) -> Combined:
    if isinstance(left, Predicate) and isinstance(right, Predicate):
        return Combined(op, left, right)
    logical_ops = [op] + [part.op for part in (left, right) if isinstance(part, Combined)]
    _fail_too_many(len(left.predicates) + len(right.predicates), logical_ops)


def _format_value(field: str, value: object) -> str:
    """Return the text that goes between the quotes for a Python value."""
    shown_type = type(value).__name__
    # Enum first: StrEnum and IntEnum are also str and int.
    if isinstance(value, enum.Enum):
        value = value.value
    # bool before int (bool is an int), datetime before date (datetime is a date).
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise FilterError(
                f"the datetime for {field!r} has no timezone; pass a timezone-aware datetime "
                "(e.g. datetime(2024, 1, 1, tzinfo=timezone.utc)) so the filter does not "
                "depend on this machine's local time"
            )
        try:
            utc = value.astimezone(UTC)
        except OverflowError:
            raise FilterError(
                f"the datetime for {field!r} is out of range once converted to UTC"
            ) from None
        return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FilterError(f"the value for {field!r} must be a finite number, not {value}")
        return repr(value)
    if isinstance(value, str):
        return str.__str__(value)
    hint = (
        "; compare a field with a value, not with another field" if isinstance(value, Field) else ""
    )
    raise FilterError(
        f"cannot filter {field!r} on a value of type {shown_type}; use str, int, float, bool, "
        f"date, timezone-aware datetime or an Enum{hint}"
    )


class Field:
    """A field to compare with a value; get one from :data:`F`.

    Comparison operators and :meth:`contains` return a :class:`Predicate`. Values are
    formatted for the wire: ``datetime`` (timezone-aware only) as UTC
    ``YYYY-MM-DDTHH:MM:SS.sssZ``, ``date`` as ``YYYY-MM-DD``, ``bool`` as ``true``/``false``,
    numbers with ``str``, an ``Enum`` by its value, ``str`` unchanged. Other types, and
    values containing a single quote, raise :class:`~oneroster_client.errors.FilterError`.

    Attributes:
        name: the wire field name, e.g. ``"dateLastModified"`` or ``"school.sourcedId"``.
    """

    __slots__ = ("name",)
    # __eq__ builds a Predicate, so fields must not be hashable (or usable as dict keys).
    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    def __init__(self, name: str) -> None:
        """Create a field from a Python (``date_last_modified``) or wire name; dots nest."""
        self.name: str = _wire_field_name(name, "filter field")

    def _compare(self, op: str, value: object) -> Predicate:
        return Predicate(self.name, op, _format_value(self.name, value))

    # object.__eq__/__ne__ return bool; these deliberately build predicates instead.
    def __eq__(self, value: object) -> Predicate:  # type: ignore[override]
        return self._compare("=", value)

    def __ne__(self, value: object) -> Predicate:  # type: ignore[override]
        return self._compare("!=", value)

    def __gt__(self, value: FilterValue) -> Predicate:
        return self._compare(">", value)

    def __ge__(self, value: FilterValue) -> Predicate:
        return self._compare(">=", value)

    def __lt__(self, value: FilterValue) -> Predicate:
        return self._compare("<", value)

    def __le__(self, value: FilterValue) -> Predicate:
        return self._compare("<=", value)

    def contains(self, value: FilterValue) -> Predicate:
        """Return ``field~'value'``: the field contains the text (case-insensitively on most
        servers)."""
        return self._compare("~", value)

    def __getattr__(self, name: str) -> NoReturn:
        # Only reached for missing attributes: point users of F.school.sourced_id at F("...").
        # "name" itself is missing only on a half-built instance (copy, pickle): no hint.
        hint = ""
        if not name.startswith("_") and name != "name":
            hint = f"; for a nested field use F({self.name + '.' + name!r})"
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}{hint}")

    def __repr__(self) -> str:
        return f"F({self.name!r})"


class _FieldNamespace:
    """Type of :data:`F`: ``F.family_name`` and ``F("school.sourcedId")`` give a Field."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Field:
        # Underscore names are Python protocol probes (copy, pickle, IPython), not fields.
        if name.startswith("_"):
            raise AttributeError(name)
        return Field(name)

    def __call__(self, name: str) -> Field:
        return Field(name)

    def __repr__(self) -> str:
        return "F"


F: Final = _FieldNamespace()
"""Filter builder: ``F.role == "student"``, ``F("school.sourcedId") == "s1"``,
``(F.status == "active") & (F.date_last_modified > since)``."""


class _Parser:
    """Recursive-descent parser over one filter string; positions count from 0."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.op_start = 0  # where the last operator began, for messages

    def fail(self, message: str) -> NoReturn:
        raise FilterError(message)

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_whitespace(self) -> bool:
        start = self.pos
        while not self.at_end() and self.text[self.pos] in _WHITESPACE:
            self.pos += 1
        return self.pos > start

    def read(self, allowed: frozenset[str]) -> str:
        start = self.pos
        while not self.at_end() and self.text[self.pos] in allowed:
            self.pos += 1
        return self.text[start : self.pos]

    def parse(self) -> FilterExpr:
        self.skip_whitespace()
        if self.at_end():
            self.fail("filter is empty; pass None for no filter")
        predicates = [self.predicate()]
        logical_ops: list[LogicalOperator] = []
        while True:
            had_space = self.skip_whitespace()
            if self.at_end():
                break
            if len(predicates) == 2:
                self.fail_after_two(had_space, logical_ops)
            logical_ops.append(self.logical(had_space))
            predicates.append(self.predicate())
        if len(predicates) == 1:
            return predicates[0]
        return Combined(logical_ops[0], predicates[0], predicates[1])

    def fail_after_two(self, had_space: bool, logical_ops: list[LogicalOperator]) -> NoReturn:
        """Report text after a second predicate, counting further predicates if it can."""
        count = 2
        try:
            while True:
                logical_ops.append(self.logical(had_space))
                self.predicate()
                count += 1
                had_space = self.skip_whitespace()
                if self.at_end():
                    break
        except FilterError:
            # Once a second AND/OR has been read, too many predicates is the real problem
            # however the rest is spelled; before that, report the syntax error itself.
            if len(logical_ops) < 2:
                raise
            _fail_too_many(None, logical_ops)
        _fail_too_many(count, logical_ops)

    def predicate(self) -> Predicate:
        field = self.field_name()
        self.skip_whitespace()
        op = self.operator(field)
        self.skip_whitespace()
        return Predicate(field, op, self.quoted_value(op))

    def field_name(self) -> str:
        start = self.pos
        field = self.read(_FIELD_CHARS)
        if not field:
            if self.at_end():
                self.fail(f"filter ends at position {start}; expected a field name")
            found = self.text[start]
            hint = ""
            if found == "(":
                hint = "; OneRoster 1.1 filters have no parentheses"
            elif found in _OPERATOR_CHARS:
                hint = "; the field name is missing before the operator"
            elif found == "'":
                hint = "; a quoted value must follow a field name and an operator"
            self.fail(f"filter: expected a field name at position {start}{hint}")
        if not _FIELD_NAME.fullmatch(field):
            self.fail(
                f"filter: field name {field!r} at position {start} is not valid; dots must "
                "separate non-empty parts, as in 'school.sourcedId'"
            )
        return field

    def operator(self, field: str) -> str:
        start = self.pos
        op = self.read(_OPERATOR_CHARS)
        if not op:
            where = "the filter ends" if self.at_end() else f"found none at position {start}"
            self.fail(
                f"filter: expected an operator ({_OPERATOR_LIST}) after field {field!r}, "
                f"but {where}"
            )
        if op not in OPERATORS:
            self.fail(
                f"filter: unknown operator {op!r} at position {start}; OneRoster 1.1 "
                f"operators are {_OPERATOR_LIST}{_OPERATOR_HINTS.get(op, '')}"
            )
        self.op_start = start
        return op

    def quoted_value(self, op: str) -> str:
        quote = self.pos
        if self.at_end():
            self.fail(
                f"filter ends after operator {op!r} at position {self.op_start}; expected a "
                "single-quoted value"
            )
        if self.text[quote] != "'":
            if self.text[quote] == '"':
                self.fail(
                    f"filter: the value at position {quote} is in double quotes; OneRoster 1.1 "
                    "values use single quotes"
                )
            self.fail(
                f"filter: expected a single-quoted value at position {quote}; OneRoster 1.1 "
                "quotes every value, even numbers, dates and booleans"
            )
        close = self.text.find("'", quote + 1)
        if close < 0:
            self.fail(
                f"filter has an unterminated value starting at position {quote}; close it "
                "with a single quote"
            )
        self.pos = close + 1
        return self.text[quote + 1 : close]

    def logical(self, had_space: bool) -> LogicalOperator:
        start = self.pos
        if not had_space:
            # Text glued to a closing quote nearly always means a quote inside the value.
            doubled = " (a doubled quote is not an escape)" if self.text[start] == "'" else ""
            self.fail(
                f"filter: unexpected text at position {start}, right after the value closed "
                f"at position {start - 1}{doubled}; a value cannot contain a single quote in "
                "OneRoster 1.1, and predicates are joined by a space, AND or OR, and a space"
            )
        word = self.read(_LETTERS)
        if word not in LOGICAL_OPERATORS:
            self.fail_logical(start, word)
        if not self.skip_whitespace():
            if self.at_end():
                self.fail(f"filter ends after {word} at position {start}; expected a predicate")
            self.fail(f"filter: expected a space after {word} at position {self.pos}")
        if self.at_end():
            self.fail(f"filter ends after {word} at position {start}; expected a predicate")
        return "AND" if word == "AND" else "OR"

    def fail_logical(self, start: int, word: str) -> NoReturn:
        """Report a word (or symbol) where AND or OR should be."""
        upper = word.upper()
        if upper in LOGICAL_OPERATORS:
            self.fail(
                f"filter: the logical operator at position {start} must be upper case in "
                f"OneRoster 1.1; use {upper}"
            )
        hint = ""
        if self.text[start] in "&|":
            hint = " (write the word, not && or ||)"
        elif upper.startswith(LOGICAL_OPERATORS):
            hint = " followed by a space"
        self.fail(f"filter: expected AND or OR at position {start}{hint}")


def parse_filter(text: str) -> FilterExpr:
    """Parse a raw OneRoster 1.1 filter string strictly.

    Grammar (section 8.3)::

        filter    = predicate [ SP logical SP predicate ]
        predicate = fieldName operator "'" value "'"
        operator  = "=" | "!=" | ">" | ">=" | "<" | "<=" | "~"
        logical   = "AND" | "OR"

    Leniency, chosen so hand-written filters work while the output stays canonical:
    whitespace around the filter, around operators and around ``AND``/``OR`` is accepted
    (any run of spaces, tabs or newlines); :meth:`Predicate.to_string` /
    :meth:`Combined.to_string` give the normalised text. The logical operators must be
    upper case, as the grammar says: servers that follow it refuse ``and``, so it is
    refused here too, with a message that says to write ``AND``. Everything inside quotes
    is kept verbatim (spaces, ``AND``, ``=``, ``/``, any Unicode). Field names are kept as
    written, not converted to wire spelling: the server decides whether it knows them.

    Args:
        text: the filter, as it appears (decoded) in the ``filter`` query parameter.

    Returns:
        A :class:`Predicate`, or a :class:`Combined` for two predicates.

    Raises:
        FilterError: the text is not a 1.1 filter. The message gives the 0-based position
            and what was expected (e.g. ``filter has an unterminated value starting at
            position 5``), or says there are too many predicates. Values are not quoted in
            messages, as they may be student data.
    """
    if not isinstance(text, str):
        raise FilterError(f"a filter must be a str, not {type(text).__name__}")
    return _Parser(text).parse()


def coerce_filter(value: str | FilterExpr | None) -> str | None:
    """Return the filter text to send, validating it first.

    Args:
        value: an expression built with :data:`F`, a raw filter string, or ``None``.

    Returns:
        The canonical 1.1 text (raw strings are parsed and normalised), or ``None``.

    Raises:
        FilterError: the raw string is not a valid 1.1 filter, or the value has another type.
    """
    if value is None:
        return None
    if isinstance(value, Predicate | Combined):
        return value.to_string()
    if isinstance(value, str):
        return parse_filter(value).to_string()
    hint = (
        f"; compare the field with a value, e.g. F({value.name!r}) == '...'"
        if isinstance(value, Field)
        else ""
    )
    raise FilterError(
        f"filter must be an F expression, a str or None, not {type(value).__name__}{hint}"
    )


# ---------------------------------------------------------------------------------------
# Evaluation, for the loopback server.

_ORDERINGS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _parse_instant(text: str) -> datetime | None:
    """Read an ISO date or date-time as an aware UTC datetime; ``None`` if it is not one.

    Date-only values mean midnight UTC, and a missing offset means UTC, so that
    ``2024-01-01``, ``2024-01-01T00:00:00Z``, ``...00.000Z`` and ``...+00:00`` are equal.
    """
    match = _INSTANT.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = timedelta(0)
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        minutes = int(zone[-2:]) if len(zone) > 3 else 0
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=minutes)
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "")[:6].ljust(6, "0")),
            tzinfo=timezone(offset),
        )
        # Normalise to UTC now: comparing extreme dates with other offsets could overflow.
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _parse_number(text: str) -> decimal.Decimal | None:
    """Read a plain decimal number (no NaN, infinity or underscores); ``None`` otherwise."""
    stripped = text.strip()
    if not _NUMBER.fullmatch(stripped):
        return None
    try:
        return decimal.Decimal(stripped)
    except decimal.InvalidOperation:  # exponent beyond what Decimal can hold
        return None


def _leaf_text(leaf: object) -> str | None:
    """The text of a scalar record value as it appears on the wire; ``None`` for objects."""
    if isinstance(leaf, bool):
        return "true" if leaf else "false"
    if isinstance(leaf, int | float | str):
        return str(leaf)
    return None


def _values_at(record: Mapping[str, Any], field: str) -> list[object]:
    """Every value at a dotted path; lists are walked, so ``orgs.sourcedId`` gives one each."""
    current: list[object] = [record]
    for part in field.split("."):
        found: list[object] = []
        for item in current:
            if isinstance(item, Mapping) and part in item:
                _flatten_into(found, item[part])
        current = found
    return current


def _flatten_into(out: list[object], value: object) -> None:
    # JSON null counts as missing, like an absent key.
    if value is None:
        return
    if isinstance(value, list | tuple):
        for element in value:
            _flatten_into(out, element)
    else:
        out.append(value)


def _equals(leaf: object, wanted: str) -> bool:
    text = _leaf_text(leaf)
    if text is None:
        return False
    # A JSON number equals the same number however it is written ('80' and 80.0).
    if isinstance(leaf, int | float) and not isinstance(leaf, bool):
        left_number, right_number = _parse_number(text), _parse_number(wanted)
        if left_number is not None and right_number is not None:
            return left_number == right_number
    left_moment, right_moment = _parse_instant(text), _parse_instant(wanted)
    if left_moment is not None and right_moment is not None:
        return left_moment == right_moment
    return text.casefold() == wanted.casefold()


def _ordered(op: str, leaf: object, wanted: str) -> bool:
    text = _leaf_text(leaf)
    if text is None:
        return False
    compare = _ORDERINGS[op]
    left_moment, right_moment = _parse_instant(text), _parse_instant(wanted)
    if left_moment is not None and right_moment is not None:
        return bool(compare(left_moment, right_moment))
    left_number, right_number = _parse_number(text), _parse_number(wanted)
    if left_number is not None and right_number is not None:
        return bool(compare(left_number, right_number))
    return bool(compare(text.casefold(), wanted.casefold()))


def _contains(leaf: object, wanted: str) -> bool:
    text = _leaf_text(leaf)
    return text is not None and wanted.casefold() in text.casefold()


def _matches(predicate: Predicate, record: Mapping[str, Any]) -> bool:
    leaves = _values_at(record, predicate.field)
    if predicate.op == "=":
        return any(_equals(leaf, predicate.value) for leaf in leaves)
    if predicate.op == "!=":
        # The exact complement of =, so a missing field or a list without the value matches.
        return not any(_equals(leaf, predicate.value) for leaf in leaves)
    if predicate.op == "~":
        return any(_contains(leaf, predicate.value) for leaf in leaves)
    return any(_ordered(predicate.op, leaf, predicate.value) for leaf in leaves)


def evaluate(expr: FilterExpr, record: Mapping[str, Any]) -> bool:
    """Tell whether a wire-shaped record (camelCase dict) matches a filter.

    Semantics (1.1 leaves most of this to implementations; these follow common providers):

    * Dotted fields walk nested objects and lists of objects: ``school.sourcedId``, and
      ``orgs.sourcedId`` which matches if any org matches. List values (``grades``) match
      if any element matches.
    * ``=``, ``!=`` and ``~`` compare text case-insensitively; ``~`` is "contains". A JSON
      number equals the same number however written (``80`` and ``'80.0'``), booleans
      compare as ``true``/``false``, and dates/date-times compare as instants.
    * ``>``, ``>=``, ``<``, ``<=`` compare as instants when both sides are ISO dates or
      date-times (date-only is midnight UTC; no offset means UTC), else as numbers when
      both are numbers, else as case-insensitive text.
    * A missing field (or JSON null) matches only ``!=``; ``!=`` is always the negation of
      ``=``.

    Args:
        expr: a parsed or built filter.
        record: one record as it appears on the wire.

    Returns:
        Whether the record matches.
    """
    if isinstance(expr, Combined):
        if expr.op == "AND":
            return _matches(expr.left, record) and _matches(expr.right, record)
        return _matches(expr.left, record) or _matches(expr.right, record)
    return _matches(expr, record)


def filter_fields_known(expr: FilterExpr, known: Collection[str]) -> list[str]:
    """Return the top-level field names a filter uses that are not in ``known``.

    The loopback server answers 400 ``invalid_filter_field`` when this is not empty.

    Args:
        expr: a parsed filter.
        known: the wire field names of the collection's records.

    Returns:
        Unknown top-level names (``"school"`` for ``school.sourcedId``), in order, no repeats.
    """
    tops = dict.fromkeys(field.split(".", 1)[0] for field in expr.fields)
    return [top for top in tops if top not in known]


# ---------------------------------------------------------------------------------------
# Sort (8.2) and field selection (8.4).


def wire_sort(value: str | None) -> str | None:
    """Return the wire name for the ``sort`` parameter.

    Args:
        value: one field name, Python (``family_name``) or wire (``familyName``) spelling.

    Returns:
        The wire name, or ``None`` when ``value`` is ``None``.

    Raises:
        FilterError: empty or invalid name, or more than one field (1.1 sorts on one).
    """
    if value is None:
        return None
    if isinstance(value, str) and "," in value:
        raise FilterError(
            "sort= takes one field in OneRoster 1.1; sort on one field and order the rest in Python"
        )
    return _wire_field_name(value.strip() if isinstance(value, str) else value, "sort field")


def wire_fields(value: str | Iterable[str] | None) -> str | None:
    """Return the comma-joined wire names for the ``fields`` parameter.

    Args:
        value: ``"sourcedId,email"`` or an iterable of names, Python or wire spelling.
            Repeats are dropped, keeping the first.

    Returns:
        E.g. ``"sourcedId,givenName"``, or ``None`` when ``value`` is ``None``.

    Raises:
        FilterError: no names, an empty entry, or an invalid name.
    """
    if value is None:
        return None
    if isinstance(value, str):
        names: list[object] = list(value.split(","))
    elif isinstance(value, Iterable) and not isinstance(value, bytes | bytearray):
        names = list(value)
    else:
        raise FilterError(f"fields= takes a str or an iterable of str, not {type(value).__name__}")
    if all(isinstance(name, str) and not name.strip() for name in names):
        raise FilterError("fields= must name at least one field")
    wire_names: dict[str, None] = {}
    for name in names:
        if isinstance(name, str) and not name.strip():
            raise FilterError("fields= has an empty name; check for doubled or trailing commas")
        cleaned = name.strip() if isinstance(name, str) else name
        wire_names[_wire_field_name(cleaned, "fields= entry")] = None
    return ",".join(wire_names)


def order_by(value: str | None) -> Literal["asc", "desc"] | None:
    """Return the ``orderBy`` parameter: ``"asc"`` or ``"desc"``.

    Args:
        value: ``"asc"`` or ``"desc"`` in any case, or ``None``.

    Raises:
        FilterError: any other value.
    """
    if value is None:
        return None
    normalised = value.strip().lower() if isinstance(value, str) else None
    if normalised == "asc":
        return "asc"
    if normalised == "desc":
        return "desc"
    raise FilterError(f"orderBy must be 'asc' or 'desc', not {value!r}")
