"""Write commands of the loopback Buzz server.

Batch commands (``{"requests": {"<entity>": [...]}}``) are served item by item: each
item is checked and applied on its own, and a refused item leaves the others alone (see
:data:`BATCH`). ``createcourses`` and ``copycourses`` also enroll the calling user in the
new course, as Buzz does, and answer that ``enrollmentid``; the enrollment uses the
item's ``roleid`` when given, otherwise owner rights (the exact rights Buzz grants the
creator are unconfirmed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oneroster_client.buzz.testing import entities
from oneroster_client.buzz.testing.call import Call
from oneroster_client.buzz.testing.fields import as_bool, as_flag, as_id, check_fields
from oneroster_client.buzz.testing.state import DlapError

__all__ = ["BATCH", "OWNER_FLAGS", "SINGLE_WRITES"]

OWNER_FLAGS = 0x8F060000 | 0x20000000 | 0x10000000000
"""Teacher rights plus ControlCourse and ControlEnrollment, for a course's creator."""

ItemHandler = Callable[[Call, dict[str, Any]], dict[str, Any]]


def _creator_enrollment(call: Call, course_id: str, item: dict[str, Any]) -> str:
    """Enroll the caller in a course it just created; "0" when the caller is no user."""
    if call.caller not in call.store.records["user"] or call.store.is_deleted(call.caller):
        return "0"
    enrollment: dict[str, Any] = {"userid": call.caller, "entityid": course_id, "status": 1}
    if item.get("roleid") not in (None, "", 0, "0"):
        enrollment["roleid"] = item["roleid"]
    else:
        enrollment["flags"] = OWNER_FLAGS
    return entities.create_enrollment(call.store, enrollment)


def _create_course(call: Call, item: dict[str, Any]) -> dict[str, Any]:
    if item.get("roleid") not in (None, "", 0, "0"):
        call.store.get("role", as_id(item["roleid"], "roleid"))
    course_id = entities.create_course(call.store, item)
    enrollment_id = _creator_enrollment(call, course_id, item)
    return {"course": {"courseid": course_id, "enrollmentid": enrollment_id}}


def _copy_course(call: Call, item: dict[str, Any]) -> dict[str, Any]:
    if item.get("roleid") not in (None, "", 0, "0"):
        call.store.get("role", as_id(item["roleid"], "roleid"))
    course_id = entities.copy_course(call.store, item)
    enrollment_id = _creator_enrollment(call, course_id, item)
    return {"course": {"courseid": course_id, "enrollmentid": enrollment_id}}


def _create_enrollment(call: Call, item: dict[str, Any]) -> dict[str, Any]:
    enrollment_id = entities.create_enrollment(
        call.store,
        item,
        disallow_duplicates=as_bool(call.params.get("disallowduplicates", False)),
        disallow_same_status=as_bool(call.params.get("disallowsamestatusduplicates", False)),
    )
    return {"enrollment": {"enrollmentid": enrollment_id}}


def _update_rights(call: Call, item: dict[str, Any]) -> dict[str, Any]:
    """Grant ``actorid`` rights on any entity; ``flags`` 0 without a role removes the grant
    (that Buzz removes it so is unconfirmed)."""
    actor = call.store.get("user", as_id(item["actorid"], "actorid"))
    entity_id = as_id(item["entityid"], "entityid")
    kind = call.store.kind_of.get(entity_id)
    if kind is None or call.store.is_deleted(entity_id):
        raise DlapError("DoesNotExist", f"No entity with id {entity_id}")
    if "roleid" not in item and "flags" not in item:
        raise DlapError("BadRequest", "updaterights: give roleid or flags")
    flags = as_flag(item.get("flags") or 0, "flags")
    role_id = as_id(item["roleid"], "roleid") if item.get("roleid") not in (None, "") else ""
    if role_id and role_id != "0":
        call.store.get("role", role_id)
    key = (actor["id"], entity_id)
    if flags == 0 and role_id in ("", "0"):
        call.store.rights.pop(key, None)
    else:
        call.store.rights[key] = {"flags": flags, "roleid": role_id if role_id != "0" else ""}
    return {}


def _applying(function: Callable[..., Any], *args: Any) -> ItemHandler:
    def handler(call: Call, item: dict[str, Any]) -> dict[str, Any]:
        function(call.store, *args, item)
        return {}

    return handler


def _deleting(kind: str) -> ItemHandler:
    def handler(call: Call, item: dict[str, Any]) -> dict[str, Any]:
        entities.delete_entity(call.store, kind, item[f"{kind}id"])
        return {}

    return handler


BATCH: dict[str, tuple[str, ItemHandler]] = {
    "createdomains": (
        "domain",
        lambda call, item: {"domain": {"domainid": entities.create_domain(call.store, item)}},
    ),
    "updatedomains": ("domain", _applying(entities.update_domain)),
    "createusers2": (
        "user",
        lambda call, item: {"user": {"userid": entities.create_user(call.store, item)}},
    ),
    "updateusers": ("user", _applying(entities.update_user)),
    "deleteusers": ("user", _deleting("user")),
    "createcourses": ("course", _create_course),
    "copycourses": ("course", _copy_course),
    "updatecourses": ("course", _applying(entities.update_course)),
    "deletecourses": ("course", _deleting("course")),
    "createenrollments": ("enrollment", _create_enrollment),
    "updateenrollments": ("enrollment", _applying(entities.update_enrollment)),
    "deleteenrollments": ("enrollment", _deleting("enrollment")),
    "updaterights": ("rights", _update_rights),
}
"""Batch commands: name -> (entity key of the ``requests`` object, per-item handler)."""


def run_item(call: Call, handler: ItemHandler, item: Any) -> dict[str, Any]:
    """Check one batch item's fields and apply it atomically."""
    checked = check_fields(call.name, item)
    with call.store.lock:
        return handler(call, checked)


def _single(kind: str, action: str) -> Callable[[Call], dict[str, Any]]:
    function = entities.delete_entity if action == "delete" else entities.restore_entity

    def handler(call: Call) -> dict[str, Any]:
        function(call.store, kind, call.require(f"{kind}id"))
        return {}

    handler.__doc__ = f"``{action}{kind}`` by ``{kind}id``."
    return handler


SINGLE_WRITES: dict[str, Callable[[Call], dict[str, Any]]] = {
    "deletedomain": _single("domain", "delete"),
    "restoredomain": _single("domain", "restore"),
    "restoreuser": _single("user", "restore"),
    "restorecourse": _single("course", "restore"),
    "restoreenrollment": _single("enrollment", "restore"),
}
"""Writes addressed by one id parameter (query string or ``request`` object)."""
