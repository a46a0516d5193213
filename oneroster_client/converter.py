"""The one converter between OneRoster wire dicts and the typed models.

Reading is tolerant, so that records real servers send are not lost; writing is exact, so
that what this library sends follows OneRoster 1.1 (data model sections 4 and 5):

* names: camelCase on the wire, snake_case in Python (``class`` -> ``class_``);
* unknown fields are kept in ``extra`` and written back unchanged;
* enumeration values the spec does not list are kept as plain strings; pass
  ``warnings=[]`` to :func:`structure` to be told about them;
* booleans may arrive as ``"true"``/``"FALSE"``; sourcedIds are trimmed;
* Date and DateTime values are read with or without milliseconds, with ``Z`` or an
  offset, date-only where a date-time is typed; they are written as ``YYYY-MM-DD`` and
  ``YYYY-MM-DDTHH:MM:SS.sssZ`` (UTC);
* a record that cannot be read raises :class:`~oneroster_client.errors.RecordValidationError`
  naming the model, the field path and the value (values of personal fields are not
  repeated in messages).

A strict mode refuses unknown fields and unknown enumeration values; tests use it to
catch the project's own mistakes. Structure functions are generated once per class by
cattrs; the fast path runs without cattrs' detailed validation, and only a record that
fails is converted again with it, to find the field path for the message.
"""

from __future__ import annotations

import enum
import functools
import math
import reprlib
import threading
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, IterableValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from oneroster_client._naming import to_python_name, to_wire_name
from oneroster_client.errors import RecordValidationError
from oneroster_client.models import base, enums, gradebook, resources, rostering

__all__ = [
    "SENSITIVE_FIELDS",
    "ConversionWarning",
    "format_date",
    "format_datetime",
    "parse_date",
    "parse_datetime",
    "structure",
    "structure_fields",
    "structure_records",
    "unknown_values",
    "unstructure",
]

T = TypeVar("T", bound=base.WireObject)

_EXTRA_KEY = "\x00extra"  # cannot occur in JSON produced by a sane server
_MODELS: tuple[type[base.WireObject], ...] = (
    base.GUIDRef,
    base.UserId,
    rostering.Org,
    rostering.AcademicSession,
    rostering.Course,
    rostering.Class,
    rostering.User,
    rostering.Enrollment,
    rostering.Demographics,
    resources.Resource,
    gradebook.Category,
    gradebook.LineItem,
    gradebook.Result,
)

# Wire names whose values are personal or secret: error messages describe such a value
# (its type and length) instead of repeating it. They are the fields the models leave out
# of repr (declared once, with ``hidden()``: names, contacts, demographics, a teacher's
# comment ...) and vendor metadata, which may hold anything.
SENSITIVE_FIELDS = frozenset(
    {"metadata"}
    | {
        to_wire_name(field.name)
        for model in _MODELS
        for field in attrs.fields(model)
        if field.repr is False
    }
)


@attrs.frozen(kw_only=True)
class ConversionWarning:
    """A value kept although OneRoster 1.1 does not list it (e.g. ``districtAdministrator``)."""

    model: str
    field: str
    value: str
    message: str

    def __str__(self) -> str:
        return self.message


class _KeptCounter(threading.local):
    """Per-thread count of unknown enum values kept, so warnings cost nothing otherwise."""

    count = 0


_kept = _KeptCounter()


class _BadValue(Exception):
    """A leaf value of the wrong kind; turned into a RecordValidationError message."""

    def __init__(self, expected: str, value: Any) -> None:
        super().__init__(expected)
        self.expected = expected
        self.value = value


class _AtIndex(Exception):
    def __init__(self, index: int, cause: BaseException) -> None:
        super().__init__(index)
        self.index = index
        self.cause = cause


class _UnknownFields(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self.names = names


# --- dates ---------------------------------------------------------------------------


def parse_datetime(value: Any) -> datetime:
    """Read a OneRoster DateTime in any shape servers send; the result is aware, in UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif type(value) is str:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            expected = "expected a date-time such as 2024-05-01T18:25:43.511Z"
            raise _BadValue(expected, value) from None
    else:
        raise _BadValue("expected a date-time string", value)
    tz = parsed.tzinfo
    if tz is None:
        return parsed.replace(tzinfo=UTC)  # OneRoster date-times are always UTC
    if tz is not UTC:
        return parsed.astimezone(UTC)
    return parsed


def parse_date(value: Any) -> date:
    """Read a OneRoster Date (``YYYY-MM-DD``); a date-time gives its own calendar date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if type(value) is str:
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return datetime.fromisoformat(text).date()
        except ValueError:
            raise _BadValue("expected a date such as 2024-05-01", value) from None
    raise _BadValue("expected a date string", value)


def _parse_date_or_datetime(value: Any) -> date | datetime:
    # Fields typed Date in one source and DateTime in another keep the shape they came in.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if type(value) is str and len(value.strip()) == 10:
        return parse_date(value)
    return parse_datetime(value)


def _structure_date_or_datetime(value: Any, _: Any) -> date | datetime:
    return _parse_date_or_datetime(value)


def format_datetime(value: datetime) -> str:
    """Write a DateTime as ``YYYY-MM-DDTHH:MM:SS.sssZ``; naive datetimes are refused."""
    if value.tzinfo is None:
        raise _BadValue(
            "a timezone-aware datetime (a naive one is ambiguous; use e.g. datetime.now(UTC))",
            value,
        )
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds")[:23] + "Z"


def format_date(value: date) -> str:
    """Write a Date as ``YYYY-MM-DD`` (a datetime is written with its time, in UTC)."""
    if isinstance(value, datetime):
        return format_datetime(value)
    return value.isoformat()


# --- leaf hooks ------------------------------------------------------------------------


def _structure_str_tolerant(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    if type(value) in (int, float):
        return str(value)  # e.g. schoolYear: 2025, identifier: 12345
    raise _BadValue("expected a string", value)


def _structure_str_strict(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    raise _BadValue("expected a string", value)


def _structure_sourced_id(value: Any, _: Any) -> str:
    if type(value) is str:
        trimmed = value.strip()
        if trimmed:
            return trimmed
        raise _BadValue("expected a non-empty sourcedId", value)
    if type(value) is int:
        return str(value)
    raise _BadValue("expected a sourcedId string", value)


_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def _structure_bool(value: Any, _: Any) -> bool:
    if value is True or value is False:
        return value
    if type(value) is str:
        folded = value.strip().lower()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
    elif type(value) is int and value in (0, 1):
        return bool(value)
    raise _BadValue("expected a boolean", value)


def _structure_float(value: Any, _: Any) -> float:
    kind = type(value)
    result: float | None = None
    if kind is float:
        result = value
    elif kind is int:
        try:
            result = float(value)
        except OverflowError:
            result = None
    elif kind is str:
        try:
            result = float(value.strip())
        except ValueError:
            result = None
    if result is None:
        raise _BadValue("expected a number", value)
    if not math.isfinite(result):
        # NaN and infinities are not JSON and no gradebook score.
        raise _BadValue("expected a finite number", value)
    return result


def _structure_mapping(value: Any, _: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    raise _BadValue("expected an object", value)


def _unstructure_enum_or_str(value: Any) -> str:
    return str(value)  # StrEnum members give their wire value; plain strings are kept


# --- converters ------------------------------------------------------------------------


def _is_any_dict(tp: Any) -> bool:
    return bool(tp == dict[str, Any])


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _union_members(tp: Any) -> tuple[list[Any], bool]:
    args = list(typing.get_args(tp))
    optional = type(None) in args
    return [a for a in args if a is not type(None)], optional


def _enum_in(members: list[Any]) -> type[enums.WireEnum] | None:
    for member in members:
        if isinstance(member, type) and issubclass(member, enums.WireEnum):
            return member
    return None


def _build(*, strict: bool, detailed: bool) -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=detailed)
    _register_leaf_hooks(conv, strict=strict)
    union_factory = _union_structure_factory(conv, strict=strict)
    conv.register_structure_hook_factory(_is_union, union_factory)
    conv.register_structure_hook_factory(
        _is_tuple, _tuple_structure_factory(conv, union_factory, strict=strict)
    )
    conv.register_unstructure_hook_factory(_is_union, _union_unstructure_factory(conv))
    conv.register_unstructure_hook_factory(_is_tuple, _tuple_unstructure_factory(conv))
    for model in _MODELS:
        _register_model(conv, model, strict=strict)
    return conv


def _is_tuple(tp: Any) -> bool:
    return typing.get_origin(tp) is tuple


def _register_leaf_hooks(conv: cattrs.Converter, *, strict: bool) -> None:
    conv.register_structure_hook(str, _structure_str_strict if strict else _structure_str_tolerant)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(datetime, lambda v, _: parse_datetime(v))
    conv.register_structure_hook(date, lambda v, _: parse_date(v))
    conv.register_structure_hook_func(_is_any_dict, _structure_mapping)
    conv.register_unstructure_hook(datetime, format_datetime)
    conv.register_unstructure_hook(date, format_date)
    conv.register_unstructure_hook_func(_is_any_dict, dict)


def _enum_hook(
    enum_cls: type[enums.WireEnum], *, optional: bool, strict: bool
) -> Callable[[Any, Any], Any]:
    """Structure a vocabulary field: exact, then case-insensitive, else kept (tolerant)."""
    allowed = ", ".join(repr(m.value) for m in enum_cls)
    exact = enum_cls._value2member_map_
    lookup = enum_cls.lookup

    def structure_enum(value: Any, _: Any) -> Any:
        # Hot path: an exact spelling is one dict lookup.
        member = exact.get(value) if type(value) is str else None
        if member is not None:
            return member
        if value is None and optional:
            return None
        if type(value) is not str:
            if isinstance(value, enum_cls):
                return value
            raise _BadValue(f"expected one of {allowed}", value)
        member = lookup(value)
        if member is not None:
            return member
        if strict:
            raise _BadValue(f"expected one of {allowed}", value)
        _kept.count += 1  # tells structure() to look for what to report
        return value  # kept; reported by unknown_values()

    return structure_enum


def _union_structure_factory(
    conv: cattrs.Converter, *, strict: bool
) -> Callable[[Any], Callable[[Any, Any], Any]]:
    structure_str = _structure_str_strict if strict else _structure_str_tolerant

    def structure_optional_str(value: Any, _: Any) -> Any:
        if type(value) is str or value is None:
            return value
        return structure_str(value, str)

    def union_factory(tp: Any) -> Callable[[Any, Any], Any]:
        members, optional = _union_members(tp)
        enum_cls = _enum_in(members)
        if enum_cls is not None:
            return _enum_hook(enum_cls, optional=optional, strict=strict)
        inner: Callable[[Any, Any], Any]
        if set(members) == {datetime, date}:
            inner = _structure_date_or_datetime
        elif len(members) == 1:
            if optional and members[0] is str:
                return structure_optional_str
            inner = conv.get_structure_hook(members[0])
        else:  # pragma: no cover - every model field is one of the shapes above
            raise TypeError(f"unsupported union {tp!r}")
        if not optional:
            return inner
        target = members[0] if len(members) == 1 else tp

        def structure_optional(value: Any, _: Any) -> Any:
            if value is None:
                return None
            return inner(value, target)

        return structure_optional

    return union_factory


def _tuple_structure_factory(
    conv: cattrs.Converter,
    union_factory: Callable[[Any], Callable[[Any, Any], Any]],
    *,
    strict: bool,
) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def tuple_factory(tp: Any) -> Callable[[Any, Any], Any]:
        (elem, _ellipsis) = typing.get_args(tp)
        elem_hook = union_factory(elem) if _is_union(elem) else conv.get_structure_hook(elem)
        is_model = isinstance(elem, type) and attrs.has(elem)

        def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
            if type(value) is not list:
                if not strict and type(value) is str and elem is str:
                    # A CSV-style "09,10" where the JSON binding has a list.
                    return tuple(part.strip() for part in value.split(",") if part.strip())
                if not strict and is_model and isinstance(value, Mapping):
                    value = [value]  # one object where a list was expected
                elif isinstance(value, tuple):
                    value = list(value)
                else:
                    raise _BadValue("expected a list", value)
            items = []
            for index, item in enumerate(value):
                try:
                    items.append(elem_hook(item, elem))
                except Exception as exc:
                    raise _AtIndex(index, exc) from None
            return tuple(items)

        return structure_tuple

    return tuple_factory


def _tuple_unstructure_factory(conv: cattrs.Converter) -> Callable[[Any], Callable[[Any], Any]]:
    def tuple_unstructure_factory(tp: Any) -> Callable[[Any], Any]:
        (elem, _ellipsis) = typing.get_args(tp)
        if elem is str:
            return list
        if _is_union(elem):
            return lambda value: [str(item) for item in value]
        elem_hook = conv.get_unstructure_hook(elem)
        return lambda value: [elem_hook(item) for item in value]

    return tuple_unstructure_factory


def _union_unstructure_factory(conv: cattrs.Converter) -> Callable[[Any], Callable[[Any], Any]]:
    def union_unstructure_factory(tp: Any) -> Callable[[Any], Any]:
        members, _optional = _union_members(tp)
        if _enum_in(members) is not None:
            return _unstructure_enum_or_str
        if set(members) == {datetime, date}:
            return format_date  # handles datetimes too
        hook = conv.get_unstructure_hook(members[0])
        return lambda value: None if value is None else hook(value)

    return union_unstructure_factory


def _register_model(conv: cattrs.Converter, model: type[Any], *, strict: bool) -> None:
    fields = attrs.fields(model)
    renames: dict[str, Any] = {}
    unstructure_renames: dict[str, Any] = {}
    for field in fields:
        if field.name == "extra":
            renames["extra"] = override(rename=_EXTRA_KEY)
            unstructure_renames["extra"] = override(omit=True)
        elif field.name == "sourced_id":
            renames[field.name] = override(rename="sourcedId", struct_hook=_structure_sourced_id)
            unstructure_renames[field.name] = override(rename="sourcedId")
        else:
            wire = to_wire_name(field.name)
            renames[field.name] = override(rename=wire)
            unstructure_renames[field.name] = override(rename=wire)
    known = frozenset(
        to_wire_name(field.name) if field.name != "extra" else _EXTRA_KEY for field in fields
    )
    generated = make_dict_structure_fn(model, conv, _cattrs_forbid_extra_keys=False, **renames)
    is_guidref = model is base.GUIDRef

    def structure_model(data: Any, _: Any) -> Any:
        if type(data) is dict and data.keys() <= known:
            return generated(data, model)  # the common case: a plain JSON object, no extras
        if not isinstance(data, Mapping):
            if is_guidref and not strict and type(data) is str:
                return generated({"sourcedId": data}, model)  # bare sourcedId for a reference
            raise _BadValue("expected an object", data)
        if data.keys() <= known:
            return generated(data, model)
        unknown = {key: value for key, value in data.items() if key not in known}
        if strict:
            raise _UnknownFields(sorted(unknown))
        return generated({**data, _EXTRA_KEY: unknown}, model)

    conv.register_structure_hook(model, structure_model)

    unstructure_generated = make_dict_unstructure_fn(
        model, conv, _cattrs_omit_if_default=True, **unstructure_renames
    )

    def unstructure_model(obj: Any) -> dict[str, Any]:
        out = unstructure_generated(obj)
        if obj.extra:
            out.update(obj.extra)
        return out

    conv.register_unstructure_hook(model, unstructure_model)


@functools.cache
def _converter(*, strict: bool, detailed: bool) -> cattrs.Converter:
    return _build(strict=strict, detailed=detailed)


_STRUCTURE_FNS: dict[tuple[type[Any], bool], Callable[[Any, Any], Any]] = {}
_UNSTRUCTURE_FNS: dict[type[Any], Callable[[Any], Any]] = {}


def _structure_fn(model: type[Any], strict: bool) -> Callable[[Any, Any], Any]:
    fn = _STRUCTURE_FNS.get((model, strict))
    if fn is None:
        fn = _converter(strict=strict, detailed=False).get_structure_hook(model)
        _STRUCTURE_FNS[(model, strict)] = fn
    return fn


def _unstructure_fn(model: type[Any]) -> Callable[[Any], Any]:
    fn = _UNSTRUCTURE_FNS.get(model)
    if fn is None:
        fn = _converter(strict=False, detailed=False).get_unstructure_hook(model)
        _UNSTRUCTURE_FNS[model] = fn
    return fn


# --- public functions ------------------------------------------------------------------


def structure(
    data: Any,
    model: type[T],
    *,
    strict: bool = False,
    warnings: list[Any] | None = None,
    refs: dict[Any, Any] | None = None,
) -> T:
    """Read one wire-shaped record into ``model``.

    Args:
        data: a dict as found in a OneRoster JSON payload (camelCase keys).
        model: the model class, e.g. :class:`~oneroster_client.models.User`.
        strict: refuse unknown fields and unknown enumeration values.
        warnings: if given, one :class:`ConversionWarning` per kept unknown enum value is
            appended to it.
        refs: if given, a dict (initially empty) kept across calls: equal references
            (:class:`~oneroster_client.models.GUIDRef`) read with the same dict are one
            shared, immutable instance, which saves time and memory on large reads.

    Raises:
        RecordValidationError: the model, field path and problem are named.
    """
    try:
        return _fast_fn(model, strict)(data, refs)  # type: ignore[no-any-return]
    except Exception:  # any surprise is the converter's to judge
        pass
    return _structure_slow(data, model, strict=strict, warnings=warnings)


def structure_records(
    records: list[Any],
    model: type[T],
    *,
    strict: bool = False,
    warnings: list[Any] | None = None,
    refs: dict[Any, Any] | None = None,
) -> tuple[list[T], list[tuple[int, RecordValidationError]]]:
    """Read a page of wire-shaped records; as :func:`structure` on each, in order.

    Returns:
        the records that could be read, and ``(index, error)`` for each one that could not.
    """
    fast = _fast_fn(model, strict)
    items: list[T] = []
    failures: list[tuple[int, RecordValidationError]] = []
    append = items.append
    for index, data in enumerate(records):
        try:
            append(fast(data, refs))
            continue
        except Exception:  # any surprise is the converter's to judge
            pass
        try:
            append(_structure_slow(data, model, strict=strict, warnings=warnings))
        except RecordValidationError as exc:
            failures.append((index, exc))
    return items, failures


def structure_fields(
    data: Any, model: type[Any], fields: typing.Sequence[str], *, strict: bool = False
) -> dict[str, Any]:
    """Read the selected fields of a partial record (a ``fields=`` selection).

    Each field of ``model`` is read exactly as in :func:`structure` (references become
    :class:`~oneroster_client.models.GUIDRef`, dates ``date``, enumerations members);
    a name the model does not define is kept as sent, like a vendor field in ``extra``.

    Args:
        data: one wire-shaped record, holding some of the model's fields.
        model: the model the record is of.
        fields: the wire names selected; a field the record lacks reads as ``None``.
        strict: as for :func:`structure` (a name the model does not define is still kept:
            it was asked for).

    Returns:
        snake_case names (the model's attribute names) -> values, in ``fields`` order.

    Raises:
        RecordValidationError: a selected value cannot be read (model, field, record).
    """
    if not isinstance(data, Mapping):
        raise RecordValidationError(
            model=model.__name__, field=None, reason=f"expected an object, got {_show(data, None)}"
        )
    candidate = data.get("sourcedId")
    sourced_id = candidate.strip() if isinstance(candidate, str) and candidate.strip() else None
    attributes = {to_wire_name(f.name): f.name for f in attrs.fields(model) if f.name != "extra"}
    hints = typing.get_type_hints(model)
    read: dict[str, Any] = {}
    for wire in fields:
        value = data.get(wire)
        name = attributes.get(wire)
        if name is None:
            read[to_python_name(wire)] = value
        elif value is None:
            read[name] = None
        else:
            read[name] = _structure_field(value, hints[name], wire, model, strict, sourced_id)
    return read


def _structure_field(
    value: Any, hint: Any, wire: str, model: type[Any], strict: bool, sourced_id: str | None
) -> Any:
    try:
        if wire == "sourcedId":
            return _structure_sourced_id(value, hint)
        return _converter(strict=strict, detailed=False).structure(value, hint)
    except Exception as failure:  # any surprise is the converter's to judge
        path: list[str | int] = [wire]
        leaf: BaseException = failure
        try:
            _converter(strict=strict, detailed=True).structure(value, hint)
        except Exception as detailed:
            inner, leaf = _locate(detailed)
            path += inner
        raise RecordValidationError(
            model=model.__name__,
            field=_join(path),
            reason=_describe(leaf, path),
            sourced_id=sourced_id,
        ) from None


def _structure_slow(data: Any, model: type[T], *, strict: bool, warnings: list[Any] | None) -> T:
    structure_record = _structure_fn(model, strict)
    kept_before = _kept.count
    try:
        record: T = structure_record(data, model)
    except Exception as fast_failure:
        try:
            error = _explain(data, model, strict=strict, fallback=fast_failure)
        except RecursionError:  # pragma: no cover - a last guard; messages are bounded
            error = RecordValidationError(
                model=model.__name__, field=None, reason="a value is nested too deeply"
            )
        raise error from None
    if warnings is not None and _kept.count != kept_before:
        warnings.extend(unknown_values(record))
    return record


def unstructure(record: base.WireObject) -> dict[str, Any]:
    """Write a model as a wire-shaped dict (exact spellings and formats)."""
    model = type(record)
    try:
        return _unstructure_fn(model)(record)  # type: ignore[no-any-return]
    except _BadValue as exc:
        raise RecordValidationError(
            model=model.__name__,
            field=None,
            reason=f"cannot write {type(exc.value).__name__}: expected {exc.expected}",
            sourced_id=getattr(record, "sourced_id", None),
        ) from None


# --- error messages --------------------------------------------------------------------


def _explain(data: Any, model: type[Any], *, strict: bool, fallback: Exception) -> Exception:
    sourced_id = None
    if isinstance(data, Mapping):
        candidate = data.get("sourcedId")
        if isinstance(candidate, str) and candidate.strip():
            sourced_id = candidate.strip()
    try:
        _converter(strict=strict, detailed=True).structure(data, model)
    except Exception as detailed_failure:
        path, leaf = _locate(detailed_failure)
        return RecordValidationError(
            model=model.__name__,
            field=_join(path) or None,
            reason=_describe(leaf, path),
            sourced_id=sourced_id,
        )
    path, leaf = _locate(fallback)  # pragma: no cover - both runs fail in practice
    return RecordValidationError(
        model=model.__name__, field=_join(path) or None, reason=_describe(leaf, path)
    )


def _locate(exc: BaseException) -> tuple[list[str | int], BaseException]:
    """Follow nested validation errors to the first leaf, collecting the field path."""
    path: list[str | int] = []
    while True:
        if isinstance(exc, _AtIndex):
            path.append(exc.index)
            exc = exc.cause
            continue
        if isinstance(exc, ClassValidationError | IterableValidationError) and exc.exceptions:
            inner = exc.exceptions[0]
            for note in getattr(inner, "__notes__", ()):
                name = getattr(note, "name", None)
                if name is not None:
                    path.append(_EXTRA_KEY if name == "extra" else to_wire_name(name))
                    break
                index = getattr(note, "index", None)
                if index is not None:
                    path.append(index)
                    break
            exc = inner
            continue
        return path, exc


def _join(path: list[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _describe(leaf: BaseException, path: list[str | int]) -> str:
    field = next((p for p in reversed(path) if isinstance(p, str)), None)
    if isinstance(leaf, KeyError):
        return "required field is missing"
    if isinstance(leaf, _UnknownFields):
        return "unknown field(s) " + ", ".join(repr(n) for n in leaf.names) + " (strict mode)"
    if isinstance(leaf, _BadValue):
        return f"{leaf.expected}, got {_show(leaf.value, field)}"
    return f"{type(leaf).__name__}: {leaf}"


def _show(value: Any, field: str | None) -> str:
    if field in SENSITIVE_FIELDS and value is not None:
        size = f" of {len(value)} characters" if isinstance(value, str) else ""
        kind = type(value).__name__
        article = "an" if kind[:1] in "aeiou" else "a"
        return f"{article} {kind}{size} (value hidden: personal data)"
    # A string is sliced first (a cell may be megabytes long); nested values are
    # abbreviated level by level, so a 10,000-deep list cannot raise RecursionError here.
    text = repr(value[:80]) if isinstance(value, str) else _SHORT_REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel = 3
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 60


# --- warnings for kept unknown values ---------------------------------------------------


_ENUM_FIELDS: dict[type[Any], tuple[tuple[str, str, bool, bool], ...]] = {}


def _enum_fields(model: type[Any]) -> tuple[tuple[str, str, bool, bool], ...]:
    """(attribute, wire name, is_sequence, is_model) for fields that may hold vocabulary."""
    cached = _ENUM_FIELDS.get(model)
    if cached is not None:
        return cached
    plan = []
    hints = typing.get_type_hints(model)
    for field in attrs.fields(model):
        hint = hints[field.name]
        sequence = False
        members, _ = _union_members(hint) if _is_union(hint) else ([hint], False)
        if len(members) == 1 and typing.get_origin(members[0]) is tuple:
            sequence = True
            inner = typing.get_args(members[0])[0]
            members, _ = _union_members(inner) if _is_union(inner) else ([inner], False)
        if _enum_in(members) is not None:
            plan.append((field.name, to_wire_name(field.name), sequence, False))
        elif len(members) == 1 and isinstance(members[0], type) and attrs.has(members[0]):
            plan.append((field.name, to_wire_name(field.name), sequence, True))
    _ENUM_FIELDS[model] = tuple(plan)
    return _ENUM_FIELDS[model]


def unknown_values(
    record: base.WireObject, _prefix: str = "", _model: str | None = None
) -> list[ConversionWarning]:
    """List the enumeration values in ``record`` that OneRoster 1.1 does not define."""
    found: list[ConversionWarning] = []
    model_name = _model or type(record).__name__
    for attr_name, wire, sequence, is_model in _enum_fields(type(record)):
        value = getattr(record, attr_name)
        if value is None:
            continue
        values = value if sequence else (value,)
        for index, item in enumerate(values):
            where = f"{_prefix}{wire}[{index}]" if sequence else f"{_prefix}{wire}"
            if is_model:
                found.extend(unknown_values(item, where + ".", model_name))
            elif not isinstance(item, enum.Enum):
                found.append(
                    ConversionWarning(
                        model=model_name,
                        field=where,
                        value=item,
                        message=(
                            f"{model_name}.{where}: {item!r} is not a OneRoster 1.1 value;"
                            " kept as a string"
                        ),
                    )
                )
    return found


# --- the fast reading path ----------------------------------------------------------------
#
# Listings read thousands of records of the same shape. For each model a structure
# function is generated once, specialised for the wire shape: each field is read with an
# inline check of the common JSON type and the same leaf parsers as above. Anything else
# (a value of another type, an unknown enumeration value, a missing field, a bare
# sourcedId for a reference, strict mode meeting an unknown field) makes the generated
# function give up, and the record is read by the cattrs converter above, which decides
# what to keep, what to warn about and what error to raise. The fast path therefore
# never accepts a record differently; it only accepts the common ones sooner.

# Parsed Date and DateTime values by wire text: pages repeat the same few dates. Both
# types are immutable, so a cached value can be handed out many times. Bounded.
_DATE_CACHE: dict[str, date] = {}
_DATETIME_CACHE: dict[str, datetime] = {}
_CACHE_LIMIT = 4096

# Shared references are bounded too, so that streaming millions of records stays flat.
_REFS_LIMIT = 16_384


class _GiveUp(Exception):
    """The fast path does not handle this value; the converter reads the record."""


def _cached_date(value: Any) -> date:
    if type(value) is not str:
        return parse_date(value)
    parsed = _DATE_CACHE.get(value)
    if parsed is None:
        parsed = parse_date(value)
        if len(_DATE_CACHE) >= _CACHE_LIMIT:
            _DATE_CACHE.clear()
        _DATE_CACHE[value] = parsed
    return parsed


def _cached_datetime(value: Any) -> datetime:
    if type(value) is not str:
        return parse_datetime(value)
    parsed = _DATETIME_CACHE.get(value)
    if parsed is None:
        parsed = parse_datetime(value)
        if len(_DATETIME_CACHE) >= _CACHE_LIMIT:
            _DATETIME_CACHE.clear()
        _DATETIME_CACHE[value] = parsed
    return parsed


def _fast_str_tuple(value: Any) -> tuple[str, ...]:
    if type(value) is not list:
        raise _GiveUp
    for item in value:
        if type(item) is not str:
            raise _GiveUp
    return tuple(value)


def _fast_enum_tuple(value: Any, exact: Mapping[str, Any]) -> tuple[Any, ...]:
    if type(value) is not list:
        raise _GiveUp
    members = []
    for item in value:
        member = exact.get(item) if type(item) is str else None
        if member is None:
            raise _GiveUp
        members.append(member)
    return tuple(members)


FastFn = Callable[[Any, "dict[Any, Any] | None"], Any]


_ABSENT = object()  # a key missing from a reference, unlike one present with null


def _ref_key(value: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a reference's wire object among those shared (see _new_ref)."""
    return (
        value.get("sourcedId", _ABSENT),
        value.get("type", _ABSENT),
        value.get("href", _ABSENT),
        len(value),
    )


def _new_ref(value: Any, key: tuple[Any, ...], refs: dict[Any, Any], build: FastFn) -> Any:
    """Read a reference not seen yet and share it, if it has no vendor fields.

    The fast GUIDRef function accepts only strings (and nulls) for the three fields, so a
    shared reference's key holds only strings, nulls and absences, and the length rules
    out any other field: an object with the same key is the same JSON object, and values
    that are equal without being the same (``1`` and ``True``) never meet in a key.
    """
    ref = build(value, None)
    if ref.extra is None:  # a mutable vendor dict is never shared
        if len(refs) >= _REFS_LIMIT:
            refs.clear()
        refs[key] = ref
    return ref


def _shared_ref(value: Any, refs: dict[Any, Any] | None, build: FastFn) -> Any:
    """A GUIDRef, shared with equal ones read before into ``refs``."""
    if refs is None or type(value) is not dict:
        return build(value, None)
    key = _ref_key(value)
    return refs.get(key) or _new_ref(value, key, refs, build)


def _shared_refs(value: Any, refs: dict[Any, Any] | None, build: FastFn) -> tuple[Any, ...]:
    if type(value) is not list:
        raise _GiveUp
    if refs is None:
        return tuple([build(item, None) for item in value])
    shared = []
    for item in value:
        if type(item) is not dict:
            raise _GiveUp
        key = _ref_key(item)
        shared.append(refs.get(key) or _new_ref(item, key, refs, build))
    return tuple(shared)


def _fast_models(value: Any, refs: dict[Any, Any] | None, build: FastFn) -> tuple[Any, ...]:
    if type(value) is not list:
        raise _GiveUp
    return tuple([build(item, refs) for item in value])


def _give_up() -> Any:
    raise _GiveUp


_FAST_FNS: dict[tuple[type[Any], bool], FastFn] = {}


def _fast_fn(model: type[Any], strict: bool) -> FastFn:
    fn = _FAST_FNS.get((model, strict))
    if fn is None:
        fn = _generate_fast_fn(model, strict)
        _FAST_FNS[(model, strict)] = fn
    return fn


def _field_expression(
    hint: Any, name: str, namespace: dict[str, Any], strict: bool
) -> tuple[str, bool]:
    """Python source reading ``v`` as ``hint`` (``v`` is not None), and whether None is allowed."""
    members, optional = _union_members(hint) if _is_union(hint) else ([hint], False)
    enum_cls = _enum_in(members)
    if enum_cls is not None:
        namespace[f"exact_{name}"] = enum_cls._value2member_map_
        # An exact spelling is one lookup; anything else goes to the converter.
        return f"(exact_{name}.get(v) if type(v) is str else None) or give_up()", optional
    if set(members) == {datetime, date}:
        return "parse_date_or_datetime(v)", optional
    (member,) = members
    if member is str:
        return "v if type(v) is str else give_up()", optional
    if member is bool:
        return "v if v is True or v is False else structure_bool(v, None)", optional
    if member is float:
        return "structure_float(v, None)", optional
    if member is datetime:
        return "cached_datetime(v)", optional
    if member is date:
        return "cached_date(v)", optional
    if _is_any_dict(member):
        return "dict(v) if type(v) is dict else give_up()", optional
    if member is base.GUIDRef:
        # Inlined: a hit in the shared references is three look-ups and no call.
        return (
            "(refs.get((v.get('sourcedId', ABSENT), v.get('type', ABSENT), "
            "v.get('href', ABSENT), len(v))) if refs is not None and type(v) is dict "
            "else None) or shared_ref(v, refs, fast_GUIDRef)"
        ), optional
    if isinstance(member, type) and attrs.has(member):
        namespace[f"fast_{member.__name__}"] = _fast_fn(member, strict)
        return f"fast_{member.__name__}(v, refs)", optional
    if typing.get_origin(member) is tuple:
        return _tuple_expression(member, name, namespace, strict), optional
    raise TypeError(f"no fast path for {hint!r}")  # pragma: no cover - every model is covered


def _tuple_expression(hint: Any, name: str, namespace: dict[str, Any], strict: bool) -> str:
    (elem, _ellipsis) = typing.get_args(hint)
    elem_members, _ = _union_members(elem) if _is_union(elem) else ([elem], False)
    elem_enum = _enum_in(elem_members)
    if elem_enum is not None:
        namespace[f"exact_{name}"] = elem_enum._value2member_map_
        return f"enum_tuple(v, exact_{name})"
    if elem is str:
        return "str_tuple(v)"
    if elem is base.GUIDRef:
        return "shared_refs(v, refs, fast_GUIDRef)"
    if isinstance(elem, type) and attrs.has(elem):
        namespace[f"fast_{elem.__name__}"] = _fast_fn(elem, strict)
        return f"fast_models(v, refs, fast_{elem.__name__})"
    raise TypeError(f"no fast path for {hint!r}")  # pragma: no cover - every model is covered


def _generate_fast_fn(model: type[Any], strict: bool) -> FastFn:
    """Generate the fast structure function of ``model`` (see the section comment)."""
    fields = [field for field in attrs.fields(model) if field.name != "extra"]
    known = frozenset(to_wire_name(field.name) for field in fields)
    namespace = _fast_namespace(model, known, strict)
    lines = _fast_header(strict)
    arguments = []
    hints = typing.get_type_hints(model)
    for field in fields:
        lines += _fast_field_lines(model, field, hints[field.name], namespace, strict)
        arguments.append(f"{field.name}=f_{field.name}")
    lines.append(f"    return model({', '.join(arguments)}, extra=extra)")
    exec("\n".join(lines), namespace)  # generated once per model, from its own fields
    fast: FastFn = namespace["fast"]
    return fast


def _fast_namespace(model: type[Any], known: frozenset[str], strict: bool) -> dict[str, Any]:
    """The names a generated structure function may use."""
    namespace: dict[str, Any] = {
        "model": model,
        "known": known,
        "EXTRA_KEY": _EXTRA_KEY,
        "give_up": _give_up,
        "GiveUp": _GiveUp,
        "structure_bool": _structure_bool,
        "structure_float": _structure_float,
        "cached_date": _cached_date,
        "cached_datetime": _cached_datetime,
        "parse_date_or_datetime": _parse_date_or_datetime,
        "str_tuple": _fast_str_tuple,
        "enum_tuple": _fast_enum_tuple,
        "shared_ref": _shared_ref,
        "ABSENT": _ABSENT,
        "shared_refs": _shared_refs,
        "fast_models": _fast_models,
    }
    if model is not base.GUIDRef:
        namespace["fast_GUIDRef"] = _fast_fn(base.GUIDRef, strict)
    return namespace


def _fast_header(strict: bool) -> list[str]:
    """The start of a generated function: a dict, and its vendor fields (none when strict)."""
    lines = [
        "def fast(d, refs):",
        "    if type(d) is not dict:",
        "        raise GiveUp",
        "    if d.keys() <= known:",
        "        extra = None",
    ]
    if strict:
        return [*lines, "    else:", "        raise GiveUp"]
    return [
        *lines,
        "    else:",
        "        extra = {k: x for k, x in d.items() if k not in known}",
        "        if EXTRA_KEY in extra:",
        "            raise GiveUp",
    ]


def _fast_field_lines(
    model: type[Any], field: Any, hint: Any, namespace: dict[str, Any], strict: bool
) -> list[str]:
    """The lines that read one field into ``f_<name>`` (giving up on anything unusual)."""
    wire, name = to_wire_name(field.name), field.name
    if name == "sourced_id":
        return [
            f"    v = d[{wire!r}]",
            "    if type(v) is not str:",
            "        raise GiveUp",
            f"    f_{name} = v.strip() or give_up()",
        ]
    expression, optional = _field_expression(hint, name, namespace, strict)
    if field.default is attrs.NOTHING:
        return [f"    v = d[{wire!r}]", f"    f_{name} = {expression}"]
    if field.default is None and optional:
        return [f"    v = d.get({wire!r})", f"    f_{name} = None if v is None else {expression}"]
    raise TypeError(f"no fast path for {model.__name__}.{name}")  # pragma: no cover
