"""How the loopback Buzz server writes entities in answers.

Field sets follow the recorded Buzz answers: ids, ``flags`` and ``privileges`` as
strings, ``status``, ``schema`` and ``days`` as numbers. Enrollments carry both
``entityid`` (as ``getenrollment3`` names the course) and ``courseid`` (as the list
commands do).
"""

from __future__ import annotations

from typing import Any

from oneroster_client.buzz.testing.state import Store

__all__ = ["render", "render_list"]

_FIELDS: dict[str, tuple[str, ...]] = {
    "domain": (
        "id",
        "name",
        "userspace",
        "parentid",
        "reference",
        "guid",
        "flags",
        "creationdate",
        "modifieddate",
        "version",
    ),
    "user": (
        "id",
        "firstname",
        "lastname",
        "domainid",
        "reference",
        "guid",
        "username",
        "email",
        "flags",
        "lastlogindate",
        "creationdate",
        "modifieddate",
        "version",
    ),
    "course": (
        "id",
        "title",
        "domainid",
        "reference",
        "guid",
        "schema",
        "baseid",
        "type",
        "startdate",
        "enddate",
        "days",
        "term",
        "flags",
        "creationdate",
        "modifieddate",
        "version",
    ),
    "enrollment": (
        "id",
        "userid",
        "entityid",
        "courseid",
        "roleid",
        "domainid",
        "reference",
        "guid",
        "privileges",
        "status",
        "startdate",
        "enddate",
        "flags",
        "firstactivitydate",
        "lastactivitydate",
        "creationdate",
        "modifieddate",
        "version",
    ),
    "role": ("id", "name", "domainid", "privileges", "entitytype", "reference"),
}
_STRINGS = frozenset({"flags", "privileges", "version"})


def render(
    store: Store, kind: str, record: dict[str, Any], *, detail: bool = False
) -> dict[str, Any]:
    """The answer form of ``record``; ``detail`` adds what single-entity reads add
    (``data``, and a user's ``userspace``)."""
    source = dict(record)
    if kind == "enrollment":
        source["courseid"] = source.get("entityid")
    out: dict[str, Any] = {}
    for field in _FIELDS[kind]:
        value = source.get(field)
        if value is None:
            continue
        out[field] = str(value) if field in _STRINGS else value
    if detail:
        if kind == "user":
            out["userspace"] = store.userspace_of(record["domainid"])
        if "data" in record:
            out["data"] = record["data"]
    return out


def render_list(items: list[dict[str, Any]], element: str, *, collapse: bool) -> dict[str, Any]:
    """``{element: [...]}``, or with ``collapse`` the XML-born form some Buzz answers take:
    no key for an empty list and a bare object for a single element."""
    if not collapse:
        return {element: items}
    if not items:
        return {}
    if len(items) == 1:
        return {element: items[0]}
    return {element: items}
