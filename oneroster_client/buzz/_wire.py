"""Reading and writing DLAP JSON values: ids, numbers, rights, statuses and dates.

DLAP sends most numbers as strings (``"flags": "2228225"``, ids like ``"57181"``) and
marks open or unknown dates with sentinels instead of leaving them out. Readers here
accept both spellings; writers send ids as strings and numbers as numbers.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import attrs

from oneroster_client.buzz.enums import EnrollmentStatus, Rights

__all__ = [
    "NEVER",
    "NO_END",
    "NO_START",
    "Field",
    "format_date",
    "parse_date",
    "read_fields",
    "write_fields",
]

NO_START = "1753-01-01T00:00:00Z"
"""What Buzz reads as "no start date"."""
NO_END = "9999-12-31T00:00:00Z"
"""What Buzz reads as "no end date"."""
NEVER = "0001-01-01T00:00:00Z"
"""What Buzz sends for "never" (e.g. a user who never logged in)."""


class WireValueError(ValueError):
    """A wire value of the wrong kind; the entity reader turns it into a record error."""


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise WireValueError(f"expected text, got {type(value).__name__}")


# Ids repeat across a listing (every enrollment names its user, course and domain):
# equal ids read through this bounded cache are one shared string, not one per record.
_shared_id = functools.lru_cache(maxsize=1 << 16)(str)


def read_id(value: Any) -> str:
    """A Buzz id: numeric ids arrive as strings or numbers; kept as the string Buzz uses."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise WireValueError(f"expected an id (string or integer), got {type(value).__name__}")
    return _shared_id(value)


def read_int(value: Any) -> int:
    """An integer sent as a number or a numeric string."""
    if isinstance(value, bool):
        raise WireValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise WireValueError(f"expected an integer, got {type(value).__name__}")


def read_float(value: Any) -> float:
    """A finite number sent as a number or a numeric string."""
    if isinstance(value, bool):
        raise WireValueError("expected a number, got a boolean")
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise WireValueError(f"expected a finite number, got {type(value).__name__}")
    return number


# Enum look-ups by value are slow and a listing repeats a few values: remember them.
_rights = functools.lru_cache(maxsize=1024)(Rights)
_status = functools.lru_cache(maxsize=256)(EnrollmentStatus)


def read_rights(value: Any) -> Rights:
    """A rights mask; bits without a name are kept."""
    number = read_int(value)
    if number < 0:
        raise WireValueError("a rights mask cannot be negative")
    return _rights(number)


def read_status(value: Any) -> EnrollmentStatus:
    """An enrollment status code; unknown codes are kept as ``UNKNOWN_<code>``."""
    return _status(read_int(value))


def parse_date(text: str) -> datetime | None:
    """Read a DLAP date; ``None`` for Buzz's "open"/"never" sentinels and empty text.

    Sentinels: any date in or before 1753 (``1753-01-01T00:00:00Z`` means "no start",
    ``0001-01-01T00:00:00Z`` "never") and any date in 9999 (``9999-12-31T00:00:00Z``,
    "no end"). Naive values are taken as UTC, as Buzz sends UTC.

    Raises:
        WireValueError: the text is not an ISO-8601 date or date-time.
    """
    stripped = text.strip()
    if not stripped:
        return None
    try:
        parsed = datetime.fromisoformat(stripped)
    except ValueError:
        raise WireValueError("not an ISO-8601 date (expected e.g. 2019-03-17T06:00:00Z)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year <= 1753 or parsed.year >= 9999:
        return None
    return parsed.astimezone(UTC)


def format_date(value: datetime | date) -> str:
    """Write a date the way Buzz sends them: UTC, ``Z``, milliseconds only when present."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


@functools.lru_cache(maxsize=4096)
def _read_date_text(text: str) -> tuple[datetime | None, str | None]:
    """A date text read once: the date, and the text when writing the date back would not
    give it again (a sentinel, a naive or offset time, other formatting), else ``None``.

    Dates repeat across a listing (a term's enrollments share them), so the values are
    shared and each text is parsed once. Both halves are immutable.
    """
    parsed = parse_date(text)
    if parsed is not None and _is_canonical(text):
        return parsed, None
    return parsed, text


# What format_date writes: UTC with Z, milliseconds only when not zero.
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d\d\d)?Z")


def _is_canonical(text: str) -> bool:
    """Whether :func:`format_date` of the parsed ``text`` gives ``text`` back."""
    return _CANONICAL.fullmatch(text) is not None and not text.endswith(".000Z")


def _read_text(value: Any) -> str:
    return _text(value)


def _read_json(value: Any) -> Any:
    return value


_READERS: dict[str, Callable[[Any], Any]] = {
    "id": read_id,
    "text": _read_text,
    "int": read_int,
    "float": read_float,
    "rights": read_rights,
    "status": read_status,
    "json": _read_json,
}


@attrs.frozen
class Field:
    """How one attribute maps to DLAP: its attribute name, wire name, reader, aliases.

    ``kind`` is one of ``id``, ``text``, ``int``, ``float``, ``rights``, ``status``,
    ``date``, ``json``.
    """

    attr: str
    wire: str
    kind: str = "text"
    aliases: tuple[str, ...] = ()
    reader: Callable[[Any], Any] = attrs.field(init=False, repr=False, eq=False)
    """Reads the wire value (dates are read by :func:`read_fields` itself)."""

    def __attrs_post_init__(self) -> None:
        if self.kind != "date" and self.kind not in _READERS:
            raise ValueError(f"unknown field kind {self.kind!r}")
        object.__setattr__(self, "reader", _READERS.get(self.kind, _read_json))


def _float_out(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def _write_value(kind: str, value: Any) -> Any:
    if kind in ("rights", "status"):
        return int(value)
    if kind == "float":
        return _float_out(float(value))
    if kind == "date":
        return format_date(value)
    return value


def read_fields(
    fields: tuple[Field, ...], data: Mapping[str, Any]
) -> tuple[dict[str, Any], Mapping[str, str], dict[str, Any]]:
    """Split a wire dict into attribute values, original date texts and unknown fields.

    Original date texts are kept only where writing the date back would change them;
    :func:`write_fields` writes every other date in Buzz's own format, which is the text
    that was read.

    Raises:
        WireValueError: with ``args[1]`` set to the wire name of the bad field.
    """
    values: dict[str, Any] = {}
    raw_dates: dict[str, str] = {}
    extra: dict[str, Any] = {}
    by_key = _keyed(fields)
    for key, value in data.items():  # the keys sent, not every field there could be
        found = by_key.get(key)
        if found is None:
            extra[key] = value
            continue
        attr, kind, reader, field, is_alias = found
        if is_alias:
            first = _first_present(field, data, key)
            if first != key:
                # The field came under an earlier name too. Sent twice with one value
                # (listings name an enrollment's course as entityid and courseid) it is
                # one field; with another value the second is kept as it came.
                earlier = data[first]
                if type(earlier) is not type(value) or earlier != value:
                    extra[key] = value
                continue
        if value is None:
            continue
        # Strings are what Buzz sends for text, ids and dates: read them inline.
        if value.__class__ is str and kind is not _OTHER:
            if kind is _TEXT:
                values[attr] = value
                continue
            if kind is _ID:
                values[attr] = _shared_id(value)
                continue
        try:
            if kind is _DATE:
                parsed, keep = _read_date_text(_text(value))
                if keep is not None:
                    raw_dates[field.wire] = keep
                values[attr] = parsed
            else:
                values[attr] = reader(value)
        except WireValueError as error:
            raise WireValueError(str(error), key) from None
    return values, (_shared_texts(tuple(raw_dates.items())) if raw_dates else raw_dates), extra


class DateTexts(Mapping[str, str]):
    """Date texts by wire name, read-only: one instance is shared by every record that
    kept the same texts. Copies and pickles as a plain mapping of the same items."""

    __slots__ = ("_texts",)

    def __init__(self, texts: Mapping[str, str]) -> None:
        self._texts = dict(texts)

    def __getitem__(self, key: str) -> str:
        return self._texts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def __repr__(self) -> str:
        return f"DateTexts({self._texts!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (DateTexts, (self._texts,))


@functools.lru_cache(maxsize=1024)
def _shared_texts(items: tuple[tuple[str, str], ...]) -> Mapping[str, str]:
    # Records that keep date texts mostly keep the same ones (a user who never logged in
    # has lastlogindate 0001-01-01T00:00:00Z): one read-only mapping for all of them.
    return DateTexts(dict(items))


_TEXT, _ID, _DATE, _OTHER = "text", "id", "date", "other"
_Entry = tuple[str, str, Callable[[Any], Any], Field, bool]
_KEYED: dict[int, tuple[tuple[Field, ...], dict[str, _Entry]]] = {}


def _keyed(fields: tuple[Field, ...]) -> dict[str, _Entry]:
    """Each wire name and alias of ``fields`` -> (attribute, kind, reader, field, whether
    the name is an alias)."""
    cached = _KEYED.get(id(fields))
    if cached is not None and cached[0] is fields:
        return cached[1]
    table: dict[str, _Entry] = {}
    for field in fields:
        kind = field.kind if field.kind in (_TEXT, _ID, _DATE) else _OTHER
        table.setdefault(field.wire, (field.attr, kind, field.reader, field, False))
        for alias in field.aliases:
            table.setdefault(alias, (field.attr, kind, field.reader, field, True))
    _KEYED[id(fields)] = (fields, table)  # the tuple is kept: its id is never reused
    return table


def _first_present(field: Field, data: Mapping[str, Any], sent: str) -> str:
    """The first of the field's names that ``data`` holds (``sent`` is one of them)."""
    for key in (field.wire, *field.aliases):
        if key in data:
            return key
    return sent


def write_fields(
    fields: tuple[Field, ...],
    values: Mapping[str, Any],
    raw_dates: Mapping[str, str] | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Build the wire dict: known fields in order, then unknown fields as they came.

    A date still equal to what its original text meant is written as that text, so
    sentinels (``1753-01-01T00:00:00Z``) and Buzz's own formatting survive a round trip.
    """
    out: dict[str, Any] = {}
    for field in fields:
        value = values.get(field.attr)
        if field.kind == "date" and raw_dates and field.wire in raw_dates:
            original = raw_dates[field.wire]
            if _same_date(original, value):
                out[field.wire] = original
                continue
        if value is not None:
            out[field.wire] = _write_value(field.kind, value)
    for key, value in (extra or {}).items():
        out.setdefault(key, value)
    return out


def _same_date(original: str, value: Any) -> bool:
    try:
        return bool(parse_date(original) == value)
    except WireValueError:
        return False
