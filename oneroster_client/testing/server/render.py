"""Records as the server sends them: selected fields, complete GUIDRefs, faults applied.

The 1.1 JSON binding gives every GUIDRef three members, ``href``, ``sourcedId`` and
``type`` (section 5.12); clients generated from the 1.1 OpenAPI document refuse a
GUIDRef without them. Stored records may lack ``href`` (generated districts, CSV
packages) or both ``href`` and ``type`` (gradebook PUT bodies), so the server completes
every GUIDRef it sends: ``type`` from the field when missing, and ``href`` as the absolute
URL of the referenced record under this server's base URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import attrs

from oneroster_client._naming import to_wire_name
from oneroster_client.models.enums import GUIDType
from oneroster_client.testing.server.faults import Faults

__all__ = ["COLLECTION_OF_TYPE", "REF_TYPES", "Renderer", "known_fields"]

REF_TYPES: dict[str, str] = {
    "org": GUIDType.ORG.value,
    "orgs": GUIDType.ORG.value,
    "school": GUIDType.ORG.value,
    "course": GUIDType.COURSE.value,
    "class": GUIDType.CLASS.value,
    "user": GUIDType.USER.value,
    "agents": GUIDType.USER.value,
    "student": GUIDType.USER.value,
    "terms": GUIDType.ACADEMIC_SESSION.value,
    "schoolYear": GUIDType.ACADEMIC_SESSION.value,
    "gradingPeriod": GUIDType.ACADEMIC_SESSION.value,
    "category": GUIDType.CATEGORY.value,
    "lineItem": GUIDType.LINE_ITEM.value,
    "resources": GUIDType.RESOURCE.value,
}
"""The GUIDRef ``type`` each reference field points to, by wire field name."""

# ``parent`` and ``children`` point at records of the record's own kind (orgs, sessions).
_SELF_REF_FIELDS = ("parent", "children")

COLLECTION_OF_TYPE: dict[str, str] = {
    GUIDType.ACADEMIC_SESSION.value: "academicSessions",
    GUIDType.CATEGORY.value: "categories",
    GUIDType.CLASS.value: "classes",
    GUIDType.COURSE.value: "courses",
    GUIDType.DEMOGRAPHICS.value: "demographics",
    GUIDType.ENROLLMENT.value: "enrollments",
    GUIDType.GRADING_PERIOD.value: "gradingPeriods",
    GUIDType.LINE_ITEM.value: "lineItems",
    GUIDType.ORG.value: "orgs",
    GUIDType.RESOURCE.value: "resources",
    GUIDType.RESULT.value: "results",
    GUIDType.STUDENT.value: "students",
    GUIDType.TEACHER.value: "teachers",
    GUIDType.TERM.value: "terms",
    GUIDType.USER.value: "users",
}
"""The path segment of the single-record operation for each GUIDRef ``type``."""

_GUIDREF_KEYS = frozenset({"href", "sourcedId", "type"})


def known_fields(model: type[Any]) -> frozenset[str]:
    """The wire names of a model's fields (``extra`` excluded)."""
    return frozenset(
        to_wire_name(field.name) for field in attrs.fields(model) if field.name != "extra"
    )


class Renderer:
    """Turns stored wire dicts into the dicts the server sends.

    Args:
        base_url: returns the server's OneRoster base URL (known once the port is bound).
        faults: returns the faults in force.
    """

    def __init__(self, base_url: Callable[[], str], faults: Callable[[], Faults]) -> None:
        self._base_url = base_url
        self._faults = faults
        self._ref_fields: dict[type[Any], tuple[tuple[str, str], ...]] = {}
        # Completed GUIDRefs are shared between records, as the district shares its own.
        self._refs: dict[tuple[str, str], dict[str, str]] = {}

    def render(
        self, record: dict[str, Any], model: type[Any], selection: list[str] | None
    ) -> dict[str, Any]:
        """The dict to send for ``record`` (never ``record`` itself changed).

        Args:
            record: the stored wire dict.
            model: its model class, which says what its reference fields point to.
            selection: the wire fields to keep (``fields=``), or ``None`` for all.
        """
        if selection is not None:
            record = {key: record[key] for key in selection if key in record}
        record = self._complete_refs(record, model)
        return self._apply_faults(record)

    def _complete_refs(self, record: dict[str, Any], model: type[Any]) -> dict[str, Any]:
        completed: dict[str, Any] | None = None
        for field, ref_type in self._fields_of(model):
            value = record.get(field)
            if isinstance(value, dict):
                new_value: Any = self._complete(value, ref_type)
            elif isinstance(value, list):
                new_value = [
                    self._complete(item, ref_type) if isinstance(item, dict) else item
                    for item in value
                ]
            else:
                continue
            if completed is None:
                completed = dict(record)
            completed[field] = new_value
        return record if completed is None else completed

    def _fields_of(self, model: type[Any]) -> tuple[tuple[str, str], ...]:
        fields = self._ref_fields.get(model)
        if fields is None:
            known = known_fields(model)
            own_type = model.__name__[0].lower() + model.__name__[1:]
            types = REF_TYPES | dict.fromkeys(_SELF_REF_FIELDS, own_type)
            fields = tuple((name, kind) for name, kind in types.items() if name in known)
            self._ref_fields[model] = fields
        return fields

    def _complete(self, ref: dict[str, Any], default_type: str) -> dict[str, Any]:
        if "sourcedId" not in ref:
            return ref
        sourced_id = str(ref["sourcedId"])
        ref_type = ref.get("type") or default_type
        if not isinstance(ref_type, str):
            ref_type = default_type
        standard = ref.keys() <= _GUIDREF_KEYS
        cached = self._refs.get((ref_type, sourced_id)) if standard else None
        if cached is not None:
            return cached
        collection = COLLECTION_OF_TYPE.get(ref_type) or COLLECTION_OF_TYPE[default_type]
        href = f"{self._base_url()}/{collection}/{quote(sourced_id, safe='')}"
        completed = {"href": href, "sourcedId": sourced_id, "type": ref_type}
        if not standard:
            return {**ref, **completed}
        self._refs[(ref_type, sourced_id)] = completed
        return completed

    def _apply_faults(self, record: dict[str, Any]) -> dict[str, Any]:
        faults = self._faults()
        if not (faults.strings_for_booleans or faults.unknown_role or faults.corrupt_records):
            return record
        record = dict(record)
        if faults.strings_for_booleans:
            for key, value in record.items():
                if value is True or value is False:
                    record[key] = "true" if value else "false"
        if faults.unknown_role and record.get("role") == "administrator":
            record["role"] = faults.unknown_role
        if record.get("sourcedId") in faults.corrupt_records:
            record["dateLastModified"] = "not a date"
        return record
