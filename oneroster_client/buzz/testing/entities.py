"""Buzz's rules for domains, users, courses and enrollments, applied to the :class:`Store`.

Each function takes one checked request item (see :mod:`.fields`) and applies it, or
raises :class:`DlapError` without changing anything. The rules mirror what Buzz is known
to enforce: userspaces unique among domains, usernames unique within a userspace (both
without regard to case), references stored but never required to be unique, enrollment
privileges from the role and/or flags (0 when neither is given), soft deletes with the
documented cascades.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from oneroster_client.buzz.testing.fields import as_date, as_flag, as_id, as_int, domain_ref
from oneroster_client.buzz.testing.state import ROOT_DOMAIN_ID, DlapError, Store

__all__ = [
    "NEVER",
    "create_course",
    "create_domain",
    "create_enrollment",
    "create_user",
    "delete_entity",
    "restore_entity",
    "update_course",
    "update_domain",
    "update_enrollment",
    "update_user",
]

NEVER = "0001-01-01T00:00:00Z"
_USERSPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_COPY_ACTIONS = ("StaticCopy", "DerivativeChildCopy", "DerivativeSiblingCopy")


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise DlapError("BadRequest", f"{field} must be text")
    return str(value)


def _common(record: dict[str, Any], item: dict[str, Any]) -> None:
    """Fields every entity shares: reference, flags, data."""
    if "reference" in item:
        record["reference"] = (
            "" if item["reference"] is None else _text(item["reference"], "reference")
        )
    if "flags" in item:
        record["flags"] = as_flag(item["flags"], "flags")
    if "data" in item:
        record["data"] = item["data"]


# --- domains ---------------------------------------------------------------------------


def _check_userspace(store: Store, value: Any, exclude: str | None) -> str:
    userspace = _text(value, "userspace").strip()
    if not _USERSPACE.match(userspace):
        raise DlapError("BadRequest", "userspace may hold only letters, digits, '.', '_', '-'")
    for domain in store.records["domain"].values():
        if (
            domain["id"] != exclude
            and not store.is_deleted(domain["id"])
            and domain["userspace"].casefold() == userspace.casefold()
        ):
            raise DlapError("BadRequest", f"Userspace is already used by domain {domain['id']}")
    return userspace


def _check_parent(store: Store, value: Any, domain_id: str | None) -> str:
    parent_id = domain_ref(store, value, "parentid")
    store.get("domain", parent_id)
    if domain_id is not None and domain_id in store.ancestors(parent_id):
        raise DlapError("BadRequest", f"Domain {parent_id} is inside domain {domain_id}")
    return parent_id


def create_domain(store: Store, item: dict[str, Any], entity_id: str | None = None) -> str:
    """``createdomains`` for one item; the new domain id."""
    record: dict[str, Any] = {
        "name": _text(item["name"], "name"),
        "userspace": _check_userspace(store, item["userspace"], None),
        "parentid": _check_parent(store, item["parentid"], None),
        "reference": "",
        "flags": 0,
    }
    _common(record, item)
    return store.add("domain", record, entity_id)


def update_domain(store: Store, item: dict[str, Any]) -> None:
    """``updatedomains`` for one item."""
    domain_id = domain_ref(store, item["domainid"], "domainid")
    record = store.get("domain", domain_id)
    changes: dict[str, Any] = {}
    if "name" in item:
        changes["name"] = _text(item["name"], "name")
    if "userspace" in item:
        changes["userspace"] = _check_userspace(store, item["userspace"], domain_id)
    if "parentid" in item:
        if domain_id == ROOT_DOMAIN_ID:
            raise DlapError("BadRequest", "The root domain has no parent")
        changes["parentid"] = _check_parent(store, item["parentid"], domain_id)
    record.update(changes)
    _common(record, item)
    store.touch(record)


# --- users -----------------------------------------------------------------------------


def _check_username(store: Store, value: Any, domain_id: str, exclude: str | None) -> str:
    username = _text(value, "username").strip()
    if not username or "/" in username:
        raise DlapError("BadRequest", "username must be non-empty and hold no '/'")
    userspace = store.userspace_of(domain_id).casefold()
    for user in store.users_named(username):
        if (
            user["id"] != exclude
            and not store.is_deleted(user["id"])
            and store.userspace_of(user["domainid"]).casefold() == userspace
        ):
            raise DlapError(
                "BadRequest", f"Username is already used in this userspace by user {user['id']}"
            )
    return username


def create_user(store: Store, item: dict[str, Any], entity_id: str | None = None) -> str:
    """``createusers2`` for one item; the new user id."""
    domain_id = domain_ref(store, item["domainid"], "domainid")
    store.get("domain", domain_id)
    record: dict[str, Any] = {
        "domainid": domain_id,
        "username": _check_username(store, item["username"], domain_id, None),
        "firstname": _text(item["firstname"], "firstname"),
        "lastname": _text(item["lastname"], "lastname"),
        "email": _text(item.get("email") or "", "email"),
        "reference": "",
        "flags": 0,
        "lastlogindate": NEVER,
    }
    if item.get("roleid") not in (None, "", 0, "0"):
        record["roleid"] = _live_role(store, item["roleid"])
    _common(record, item)
    user_id = store.add("user", record, entity_id)
    store.index_username(user_id, None, record["username"])
    if item.get("password"):
        store.passwords[user_id] = _text(item["password"], "password")
    return user_id


def update_user(store: Store, item: dict[str, Any]) -> None:
    """``updateusers`` for one item; omitted fields stay as they are."""
    user_id = as_id(item["userid"], "userid")
    record = store.get("user", user_id)
    changes: dict[str, Any] = {}
    domain_id = record["domainid"]
    if "domainid" in item:
        domain_id = domain_ref(store, item["domainid"], "domainid")
        store.get("domain", domain_id)
        changes["domainid"] = domain_id
    if "username" in item or "domainid" in item:
        changes["username"] = _check_username(
            store, item.get("username", record["username"]), domain_id, user_id
        )
    for field in ("firstname", "lastname", "email"):
        if field in item:
            changes[field] = _text(item[field] or "", field)
    if "username" in changes:
        store.index_username(user_id, record["username"], changes["username"])
    record.update(changes)
    _common(record, item)
    store.touch(record)


# --- courses ---------------------------------------------------------------------------


def _course_fields(store: Store, record: dict[str, Any], item: dict[str, Any]) -> None:
    if "domainid" in item:
        record["domainid"] = domain_ref(store, item["domainid"], "domainid")
        store.get("domain", record["domainid"])
    if "title" in item:
        record["title"] = _text(item["title"], "title")
    for field in ("schema", "days", "status"):
        if field in item:
            record[field] = as_int(item[field], field)
    for field in ("startdate", "enddate"):
        if field in item:
            record[field] = as_date(item[field], field)
    for field in ("type", "term", "indexrule"):
        if field in item:
            record[field] = _text(item[field] or "", field)
    if "baseid" in item:
        record["baseid"] = as_id(item["baseid"], "baseid")
        if record["baseid"] != "0":
            store.get("course", record["baseid"])
    _common(record, item)


def _new_course() -> dict[str, Any]:
    return {
        "title": "",
        "reference": "",
        "schema": 3,
        "baseid": "0",
        "type": "Range",
        "startdate": "1753-01-01T00:00:00Z",
        "enddate": "9999-12-31T00:00:00Z",
        "days": 0,
        "term": "",
        "flags": 0,
        "status": 0,
    }


def create_course(store: Store, item: dict[str, Any], entity_id: str | None = None) -> str:
    """``createcourses`` for one item (without the caller's enrollment); the course id."""
    record = _new_course()
    _course_fields(store, record, {k: v for k, v in item.items() if k != "roleid"})
    if not record["title"].strip():
        raise DlapError("BadRequest", "title must not be empty")
    return store.add("course", record, entity_id)


def copy_course(store: Store, item: dict[str, Any]) -> str:
    """``copycourses`` for one item (without the caller's enrollment); the new course id."""
    source = store.get("course", as_id(item["courseid"], "courseid"))
    action = item.get("action") or "StaticCopy"
    if action not in _COPY_ACTIONS:
        raise DlapError("BadRequest", f"action must be one of {', '.join(_COPY_ACTIONS)}")
    record = {k: v for k, v in source.items() if k not in ("id", "guid", "creationdate", "data")}
    record["reference"] = ""
    if action == "DerivativeChildCopy":
        record["baseid"] = source["id"]
    elif action == "StaticCopy":
        record["baseid"] = "0"
    overrides = {
        k: v for k, v in item.items() if k not in ("courseid", "action", "depth", "roleid")
    }
    _course_fields(store, record, overrides)
    return store.add("course", record)


def update_course(store: Store, item: dict[str, Any]) -> None:
    """``updatecourses`` for one item."""
    record = store.get("course", as_id(item["courseid"], "courseid"))
    changed = dict(record)
    _course_fields(store, changed, {k: v for k, v in item.items() if k != "courseid"})
    if "baseid" in item and changed["baseid"] == record["id"]:
        raise DlapError("BadRequest", "A course cannot be its own base course")
    record.update(changed)
    store.touch(record)


# --- enrollments -----------------------------------------------------------------------


def _live_role(store: Store, value: Any) -> str:
    role_id = as_id(value, "roleid")
    store.get("role", role_id)
    return role_id


def privileges_of(store: Store, record: dict[str, Any]) -> int:
    """The rights an enrollment holds: its role's privileges OR its flags (0 without both)."""
    rights = int(record.get("flags") or 0)
    role = store.records["role"].get(str(record.get("roleid") or "0"))
    if role is not None:
        rights |= int(role["privileges"])
    return rights


def _default_dates(store: Store, course_id: str) -> tuple[str, str]:
    course = store.records["course"][course_id]
    start, end = course.get("startdate", ""), course.get("enddate", "")
    if start and end and not start.startswith("1753") and not end.startswith("9999"):
        return start, end
    now = datetime.now(UTC)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return now.strftime(stamp), (now + timedelta(days=365)).strftime(stamp)


def _enrollment_links(store: Store, record: dict[str, Any], item: dict[str, Any]) -> None:
    if "userid" in item:
        record["userid"] = as_id(item["userid"], "userid")
        store.get("user", record["userid"])
    if "entityid" in item:
        record["entityid"] = as_id(item["entityid"], "entityid")
        store.get("course", record["entityid"])
    if "domainid" in item:
        record["domainid"] = domain_ref(store, item["domainid"], "domainid")
        store.get("domain", record["domainid"])
    if "roleid" in item:
        raw = item["roleid"]
        record["roleid"] = "0" if raw in (None, "", 0, "0") else _live_role(store, raw)


def _enrollment_values(record: dict[str, Any], item: dict[str, Any]) -> None:
    if "status" in item:
        record["status"] = as_int(item["status"], "status")
    for field in ("startdate", "enddate"):
        if field in item:
            record[field] = as_date(item[field], field)
    if "schema" in item:
        record["schema"] = as_int(item["schema"], "schema")
    _common(record, item)


def _check_duplicate(
    store: Store, record: dict[str, Any], *, any_status: bool, same_status: bool
) -> None:
    if not (any_status or same_status):
        return
    for other in store.enrollments_of(record["userid"], record["entityid"]):
        if store.is_deleted(other["id"]):
            continue
        if any_status or (same_status and other["status"] == record["status"]):
            raise DlapError("BadRequest", "Duplicate enrollment")


def create_enrollment(
    store: Store,
    item: dict[str, Any],
    *,
    disallow_duplicates: bool = False,
    disallow_same_status: bool = False,
    entity_id: str | None = None,
) -> str:
    """``createenrollments`` for one item; the new enrollment id."""
    record: dict[str, Any] = {"roleid": "0", "flags": 0, "reference": ""}
    _enrollment_links(store, record, item)
    _enrollment_values(record, item)
    record.setdefault("domainid", store.records["user"][record["userid"]]["domainid"])
    if "startdate" not in record or "enddate" not in record:
        start, end = _default_dates(store, record["entityid"])
        record.setdefault("startdate", start)
        record.setdefault("enddate", end)
    record.update(firstactivitydate=NEVER, lastactivitydate=NEVER)
    record["privileges"] = privileges_of(store, record)
    _check_duplicate(
        store, record, any_status=disallow_duplicates, same_status=disallow_same_status
    )
    new_id = store.add("enrollment", record, entity_id)
    store.index_enrollment(new_id, None, (record["userid"], record["entityid"]))
    return new_id


def update_enrollment(store: Store, item: dict[str, Any]) -> None:
    """``updateenrollments`` for one item; changing ``entityid`` moves the enrollment."""
    record = store.get("enrollment", as_id(item["enrollmentid"], "enrollmentid"))
    changed = dict(record)
    _enrollment_links(store, changed, item)
    _enrollment_values(changed, item)
    changed["privileges"] = privileges_of(store, changed)
    store.index_enrollment(
        record["id"],
        (record["userid"], record["entityid"]),
        (changed["userid"], changed["entityid"]),
    )
    record.update(changed)
    store.touch(record)


# --- deletes and restores --------------------------------------------------------------


def _cascade(store: Store, kind: str, entity_id: str) -> list[str]:
    """The ids a delete of ``entity_id`` takes with it (itself first)."""
    if kind == "domain":
        domains = set(store.domain_and_descendants(entity_id))
        users = {u["id"] for u in store.rows("user") if u["domainid"] in domains}
        courses = {c["id"] for c in store.rows("course") if c["domainid"] in domains}
        enrollments = {
            e["id"]
            for e in store.rows("enrollment")
            if e["userid"] in users or e["entityid"] in courses or e["domainid"] in domains
        }
        return [entity_id, *sorted((domains - {entity_id}) | users | courses | enrollments)]
    field = {"user": "userid", "course": "entityid"}.get(kind)
    if field is None:
        return [entity_id]
    return [entity_id, *(e["id"] for e in store.rows("enrollment") if e[field] == entity_id)]


def delete_entity(store: Store, kind: str, entity_id: Any) -> None:
    """Soft-delete one entity and its cascade (domains: subdomains with their users,
    courses and enrollments; courses and users: their enrollments)."""
    key = (
        domain_ref(store, entity_id, "domainid")
        if kind == "domain"
        else as_id(entity_id, f"{kind}id")
    )
    with store.lock:
        store.get(kind, key)
        if kind == "domain" and key == ROOT_DOMAIN_ID:
            raise DlapError("AccessDenied", "The root domain cannot be deleted")
        store.soft_delete(_cascade(store, kind, key), cause=key)


def _check_restorable(store: Store, kind: str, record: dict[str, Any]) -> None:
    if kind == "domain":
        store.get("domain", record["parentid"])
        _check_userspace(store, record["userspace"], record["id"])
    elif kind == "user":
        store.get("domain", record["domainid"])
        _check_username(store, record["username"], record["domainid"], record["id"])
    elif kind == "course":
        store.get("domain", record["domainid"])
    elif kind == "enrollment":
        store.get("user", record["userid"])
        store.get("course", record["entityid"])


def restore_entity(store: Store, kind: str, entity_id: Any) -> None:
    """Undo a soft delete; restoring the entity a cascade started from restores the cascade.

    Raises:
        DlapError: ``DoesNotExist`` when the entity is not deleted; ``BadRequest`` or
            ``DoesNotExist`` when its parent is deleted or its name is taken meanwhile.
    """
    key = as_id(entity_id, f"{kind}id")
    with store.lock:
        record = store.get(kind, key, deleted=True)
        _check_restorable(store, kind, record)
        if store.deleted_by[key] == key:
            store.restore(key)
        else:
            del store.deleted_by[key]
        store.touch(record)
