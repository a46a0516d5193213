"""Base record, GUIDRef and UserId (OneRoster 1.1 data model sections 5.1, 5.12, 5.13).

Models are frozen, slotted, keyword-only attrs classes with snake_case attributes.
Serialization lives in :mod:`oneroster_client.converter`; ``from_dict`` and ``to_dict``
here only delegate to it. Every model keeps the fields it does not know in ``extra``
(wire names, values untouched) so that nothing a vendor sends is lost on a round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Self, TypeVar, dataclass_transform

import attrs

from oneroster_client.models.enums import GUIDType, StatusType

__all__ = ["GUIDRef", "Record", "UserId", "WireObject", "hidden", "model"]

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(attrs.field,))
def model(cls: type[_T]) -> type[_T]:
    """Declare a OneRoster model: frozen, slotted, keyword-only, with the shared repr."""
    return attrs.frozen(kw_only=True, repr=False)(cls)


def _extra_repr(extra: Mapping[str, Any] | None) -> str:
    # Vendor fields may hold personal data: show their names, not their values.
    if not extra:
        return "None"
    return "{" + ", ".join(f"{key!r}: ..." for key in extra) + "}"


def hidden() -> Any:
    """An optional field whose value never appears in ``repr`` (personal or secret data)."""
    return attrs.field(default=None, repr=False)


def _value_repr(value: Any) -> str:
    if isinstance(value, datetime | date):
        return str(value)
    return repr(value)


@attrs.frozen(kw_only=True, repr=False)
class WireObject:
    """Behaviour shared by every OneRoster object: reading and writing wire dicts."""

    extra: dict[str, Any] | None = attrs.field(default=None, repr=_extra_repr)
    """Fields the model does not define, by wire name, kept and written back unchanged."""

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        strict: bool = False,
        warnings: list[Any] | None = None,
    ) -> Self:
        """Read a wire-shaped (camelCase) dict into this model.

        Args:
            data: one record as found in a OneRoster JSON payload.
            strict: refuse unknown fields and enumeration values instead of keeping them.
            warnings: if given, a :class:`~oneroster_client.converter.ConversionWarning` is
                appended for each value kept although the spec does not list it.

        Raises:
            RecordValidationError: naming the model, the field path and what was wrong.
        """
        # Imported at call time: the converter imports the models, and the models must not
        # import it back at module level (no import cycle, models stay the bottom layer).
        from oneroster_client import converter

        return converter.structure(data, cls, strict=strict, warnings=warnings)

    def __repr__(self) -> str:
        # Readable in notebooks: unset fields are left out, hidden fields never shown.
        parts = []
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if value is None or field.repr is False or field.name == "extra":
                continue
            shown = field.repr(value) if callable(field.repr) else _value_repr(value)
            parts.append(f"{field.name}={shown}")
        if self.extra:
            parts.append(f"extra={_extra_repr(self.extra)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _repr_html_(self) -> str:
        """The notebook view: a table of the fields ``repr`` shows (hidden fields left out)."""
        # Imported at call time, like the converter: the notebook helpers sit beside the
        # models and only notebooks need them.
        from oneroster_client import notebook

        return notebook.record_html(self)

    def to_dict(self) -> dict[str, Any]:
        """Return the wire-shaped dict: camelCase names, spec date formats, extras included."""
        from oneroster_client import converter  # at call time, as in from_dict

        return converter.unstructure(self)


@model
class GUIDRef(WireObject):
    """A reference to another record: ``{"href": ..., "sourcedId": ..., "type": ...}``.

    ``href`` may be absolute, relative or missing; never follow it across hosts. Two
    references are equal when they name the same record (``sourcedId`` and ``type``): the
    ``href`` only says where one server serves it, so the same reference read over REST
    (with an ``href``) and from a CSV package (without one) compares equal.
    """

    sourced_id: str
    type: GUIDType | str | None = None
    href: str | None = attrs.field(default=None, eq=False)

    def __repr__(self) -> str:
        kind = f", type={str(self.type)!r}" if self.type is not None else ""
        return f"GUIDRef({self.sourced_id!r}{kind})"


@model
class UserId(WireObject):
    """An external identifier of a user, e.g. ``{"type": "LDAP", "identifier": "jdoe"}``."""

    type: str
    identifier: str = attrs.field(repr=False)


@model
class Record(WireObject):
    """Fields every OneRoster entity has (section 5.1).

    ``status`` and ``date_last_modified`` are required by the spec for records a server
    sends, but gradebook PUT bodies and bulk CSV rows leave them out, so they are optional
    here and omitted on output when absent.
    """

    sourced_id: str
    status: StatusType | str | None = None
    date_last_modified: datetime | None = None
    metadata: dict[str, Any] | None = attrs.field(default=None, repr=_extra_repr)
