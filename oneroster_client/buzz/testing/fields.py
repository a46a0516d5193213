"""Reading DLAP request items: accepted fields per command and value checks.

Each command accepts exactly the fields Buzz documents for it (plus ``cmd`` and
``_token``, which clients may repeat inside the request); an unknown or missing field is
answered ``BadRequest`` naming the field, so a client typo fails loudly instead of being
silently ignored. Numbers may be sent as JSON numbers or numeric strings, as Buzz accepts
both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oneroster_client.buzz.testing.state import DlapError, Store

__all__ = ["FIELDS", "as_date", "as_flag", "as_id", "as_int", "check_fields", "domain_ref"]

_ALWAYS = frozenset({"cmd", "_token"})

FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # command: (required, optional)
    "createdomains": (
        frozenset({"name", "userspace", "parentid"}),
        frozenset({"reference", "flags", "data"}),
    ),
    "updatedomains": (
        frozenset({"domainid"}),
        frozenset({"name", "userspace", "parentid", "reference", "flags", "data"}),
    ),
    # Password may be left out for SSO-only users (what the API does then is unconfirmed).
    "createusers2": (
        frozenset({"domainid", "username", "email", "firstname", "lastname"}),
        frozenset(
            {"password", "passwordquestion", "passwordanswer", "reference", "flags", "rights"}
            | {"roleid", "data"}
        ),
    ),
    "updateusers": (
        frozenset({"userid"}),
        frozenset(
            {"domainid", "username", "firstname", "lastname", "email", "reference", "flags"}
            | {"data"}
        ),
    ),
    "deleteusers": (frozenset({"userid"}), frozenset()),
    "createcourses": (
        frozenset({"title", "domainid", "schema"}),
        frozenset(
            {"reference", "status", "roleid", "type", "startdate", "enddate", "days", "term"}
            | {"indexrule", "data"}
        ),
    ),
    "copycourses": (
        frozenset({"courseid", "domainid"}),
        frozenset(
            {"action", "depth", "reference", "status", "roleid", "title", "type", "startdate"}
            | {"enddate", "days", "term", "indexrule"}
        ),
    ),
    "updatecourses": (
        frozenset({"courseid"}),
        frozenset(
            {"domainid", "title", "reference", "type", "baseid", "startdate", "enddate", "days"}
            | {"term", "indexrule", "schema", "data"}
        ),
    ),
    "deletecourses": (frozenset({"courseid"}), frozenset()),
    "createenrollments": (
        frozenset({"userid", "entityid", "status"}),
        frozenset(
            {"roleid", "flags", "domainid", "startdate", "enddate", "reference", "schema"}
            | {"data"}
        ),
    ),
    "updateenrollments": (
        frozenset({"enrollmentid"}),
        frozenset(
            {"userid", "entityid", "domainid", "roleid", "flags", "status", "startdate"}
            | {"enddate", "reference", "schema", "data"}
        ),
    ),
    "deleteenrollments": (frozenset({"enrollmentid"}), frozenset()),
    "updaterights": (frozenset({"actorid", "entityid"}), frozenset({"roleid", "flags"})),
}


def check_fields(command: str, item: Any) -> dict[str, Any]:
    """``item`` as a dict, after checking its field names against ``command``'s list.

    Raises:
        DlapError: ``BadRequest`` for a non-object item, an unknown or a missing field.
    """
    if not isinstance(item, dict):
        raise DlapError("BadRequest", f"{command}: each item must be a JSON object")
    required, optional = FIELDS[command]
    unknown = sorted(set(item) - required - optional - _ALWAYS)
    if unknown:
        raise DlapError("BadRequest", f"{command}: unknown attribute(s) {', '.join(unknown)}")
    # Present is enough here: the entity rules say which fields may not be empty.
    missing = sorted(name for name in required if item.get(name) is None)
    if missing:
        raise DlapError("BadRequest", f"{command}: missing required {', '.join(missing)}")
    return item


def as_int(value: Any, field: str) -> int:
    """An integer sent as a number or a numeric string."""
    if isinstance(value, bool):
        raise DlapError("BadRequest", f"{field} must be a number, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise DlapError("BadRequest", f"{field} must be a whole number")


def as_id(value: Any, field: str) -> str:
    """A Buzz id (digits) sent as a number or a string, returned as a string."""
    number = as_int(value, field)
    if number < 0:
        raise DlapError("BadRequest", f"{field} must be a Buzz id")
    return str(number)


def domain_ref(store: Store, value: Any, field: str) -> str:
    """A domain id, given as a Buzz id or as ``//<userspace>`` (a live domain's userspace)."""
    if isinstance(value, str) and value.strip().startswith("//"):
        userspace = value.strip()[2:].casefold()
        for domain in store.records["domain"].values():
            if domain["userspace"].casefold() == userspace and not store.is_deleted(domain["id"]):
                return str(domain["id"])
        raise DlapError("DoesNotExist", f"No domain has the userspace given in {field}")
    return as_id(value, field)


def as_flag(value: Any, field: str) -> int:
    """A rights bitmask (non-negative integer)."""
    number = as_int(value, field)
    if number < 0:
        raise DlapError("BadRequest", f"{field} must not be negative")
    return number


def as_date(value: Any, field: str) -> str:
    """An ISO-8601 date-time, returned as sent."""
    if not isinstance(value, str):
        raise DlapError("BadRequest", f"{field} must be an ISO-8601 date-time string")
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        raise DlapError("BadRequest", f"{field} is not an ISO-8601 date-time") from None
    return value.strip()


def as_bool(value: Any) -> bool:
    """A DLAP boolean parameter (``true``/``false``, ``1``/``0``, any case)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")
