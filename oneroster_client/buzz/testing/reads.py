"""Read commands of the loopback Buzz server: lists, single gets, roles, rights, gradebooks.

Lists come in ascending numeric id order and take ``limit``, ``show``
(``current``/``active``/``all``/``deleted``), ``text`` and ``query`` (see
:mod:`.query`); the paging idiom is ``query=/id>{last id}`` with ``limit``, stopping at a
short page. ``select`` is accepted and ignored (every field is always sent).

Two readings of Buzz here are unconfirmed: ``listdomains`` with a ``domainid`` other
than 0 lists the domains below it (not the domain itself), and
``listentityenrollments`` / ``listuserenrollments`` list active enrollments (status 1)
unless ``allstatus=true``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oneroster_client.buzz.testing.call import Call
from oneroster_client.buzz.testing.fields import as_bool, as_flag, as_int, domain_ref
from oneroster_client.buzz.testing.gradebook import enrollment_gradebook, entity_gradebook
from oneroster_client.buzz.testing.query import compile_query, matches_text
from oneroster_client.buzz.testing.render import render, render_list
from oneroster_client.buzz.testing.state import DlapError

__all__ = ["READS"]

_SHOW = ("current", "active", "all", "deleted")
_TEXT_FIELDS = {
    "domain": ("name", "userspace", "reference"),
    "user": ("username", "firstname", "lastname", "email", "reference"),
    "course": ("title", "reference"),
    "enrollment": ("reference",),
    "role": ("name", "reference"),
}
_ENTITY_TYPES = {"user": "U", "enrollment": "E", "course": "C", "domain": "D", "role": "R"}


def _show(call: Call) -> str:
    show = str(call.params.get("show") or "current").lower()
    if show not in _SHOW:
        raise DlapError("BadRequest", f"show must be one of {', '.join(_SHOW)}")
    return show


def _finish(call: Call, kind: str, rows: list[dict[str, Any]], element: str) -> dict[str, Any]:
    """Render, filter by ``text`` and ``query``, cut at ``limit``."""
    predicate = compile_query(call.params.get("query"))
    text = call.params.get("text")
    rendered = [render(call.store, kind, row) for row in rows]
    kept = [r for r in rendered if matches_text(r, text, _TEXT_FIELDS[kind]) and predicate(r)]
    limit = as_int(call.params.get("limit") or 0, "limit")
    if call.max_limit and (limit <= 0 or limit > call.max_limit):
        limit = call.max_limit
    if limit > 0:
        kept = kept[:limit]
    return render_list(kept, element, collapse=call.collapse)


def _domains_in_scope(call: Call, name: str = "domainid") -> set[str]:
    domain_id = call.require_domain(name)
    call.store.get("domain", domain_id)
    if as_bool(call.params.get("includedescendantdomains", False)):
        return set(call.store.domain_and_descendants(domain_id))
    return {domain_id}


def list_domains(call: Call) -> dict[str, Any]:
    """``listdomains``: subdomains of ``domainid`` (all domains for ``0``)."""
    domain_id = call.require_domain()
    rows = call.store.rows("domain", _show(call))
    if domain_id != "0":
        call.store.get("domain", domain_id)
        if as_bool(call.params.get("includedescendantdomains", False)):
            below = set(call.store.domain_and_descendants(domain_id)) - {domain_id}
            rows = [r for r in rows if r["id"] in below]
        else:
            rows = [r for r in rows if r["parentid"] == domain_id and r["id"] != domain_id]
    return {"domains": _finish(call, "domain", rows, "domain")}


def list_users(call: Call) -> dict[str, Any]:
    """``listusers`` in ``domainid`` (and below with ``includedescendantdomains``)."""
    scope = _domains_in_scope(call)
    rows = [r for r in call.store.rows("user", _show(call)) if r["domainid"] in scope]
    return {"users": _finish(call, "user", rows, "user")}


def list_courses(call: Call) -> dict[str, Any]:
    """``listcourses`` in ``domainid`` (and below with ``includedescendantdomains``)."""
    scope = _domains_in_scope(call)
    rows = [r for r in call.store.rows("course", _show(call)) if r["domainid"] in scope]
    return {"courses": _finish(call, "course", rows, "course")}


def _side_filter(call: Call, prefix: str, kind: str) -> Callable[[str], bool]:
    """``userdomainid``/``userquery``/``usertext`` (or the ``course`` ones) as a test on an id."""
    raw_domain = call.params.get(f"{prefix}domainid")
    domain_id = None if raw_domain in (None, "") else domain_ref(call.store, raw_domain, "domainid")
    predicate = compile_query(call.params.get(f"{prefix}query"))
    text = call.params.get(f"{prefix}text")

    def keep(entity_id: str) -> bool:
        record = call.store.records[kind].get(entity_id)
        if record is None:
            return False
        if domain_id is not None and record["domainid"] != domain_id:
            return False
        rendered = render(call.store, kind, record)
        return matches_text(rendered, text, _TEXT_FIELDS[kind]) and predicate(rendered)

    return keep


def list_enrollments(call: Call) -> dict[str, Any]:
    """``listenrollments``: enrollments whose ``domainid`` is in scope."""
    scope = _domains_in_scope(call)
    user_ok = _side_filter(call, "user", "user")
    course_ok = _side_filter(call, "course", "course")
    rows = [
        r
        for r in call.store.rows("enrollment", _show(call))
        if r["domainid"] in scope and user_ok(r["userid"]) and course_ok(r["entityid"])
    ]
    return {"enrollments": _finish(call, "enrollment", rows, "enrollment")}


def _enrollments_by(call: Call, field: str, key: str) -> dict[str, Any]:
    """Enrollments of one course or user: active only unless ``allstatus``; ``privileges``
    keeps those holding all of the given rights."""
    every_status = as_bool(call.params.get("allstatus", False))
    rights = as_flag(call.params.get("privileges") or 0, "privileges")
    rows = [
        r
        for r in call.store.rows("enrollment")
        if r[field] == key
        and (every_status or r["status"] == 1)
        and int(r["privileges"]) & rights == rights
    ]
    return {"enrollments": _finish(call, "enrollment", rows, "enrollment")}


def list_entity_enrollments(call: Call) -> dict[str, Any]:
    """``listentityenrollments``: the enrollments of course ``entityid``."""
    course = call.store.get("course", call.require_id("entityid"))
    return _enrollments_by(call, "entityid", course["id"])


def list_user_enrollments(call: Call) -> dict[str, Any]:
    """``listuserenrollments``: the enrollments of user ``userid``."""
    user = call.store.get("user", call.require_id("userid"))
    return _enrollments_by(call, "userid", user["id"])


def _getter(kind: str) -> Callable[[Call], dict[str, Any]]:
    def get(call: Call) -> dict[str, Any]:
        key = call.require_domain() if kind == "domain" else call.require_id(f"{kind}id")
        record = call.store.get(kind, key)
        return {kind: render(call.store, kind, record, detail=True)}

    get.__doc__ = f"Read one {kind} by ``{kind}id``."
    return get


def list_roles(call: Call) -> dict[str, Any]:
    """``listroles``: roles of ``domainid`` and the domains above it (roles are inherited)."""
    domain_id = call.require_domain()
    call.store.get("domain", domain_id)
    chain = set(call.store.ancestors(domain_id))
    rows = [r for r in call.store.rows("role") if r["domainid"] in chain]
    return {"roles": _finish(call, "role", rows, "role")}


def get_actor_rights(call: Call) -> dict[str, Any]:
    """``getactorrights``: the rights ``actorid`` holds, filtered by ``entitytypes``
    (``U|E|C|D``)."""
    actor = call.store.get("user", call.require_id("actorid"))
    types = {t.strip().upper() for t in str(call.params.get("entitytypes") or "").split("|")}
    types.discard("")
    rows = []
    for (actor_id, entity_id), grant in sorted(call.store.rights.items()):
        kind = call.store.kind_of.get(entity_id, "")
        letter = _ENTITY_TYPES.get(kind, "")
        if actor_id != actor["id"] or (types and letter not in types):
            continue
        row = {"entityid": entity_id, "entitytype": letter, "flags": str(grant["flags"])}
        if grant.get("roleid"):
            row["roleid"] = grant["roleid"]
        rows.append(row)
    return {"entities": render_list(rows, "entity", collapse=call.collapse)}


READS: dict[str, Callable[[Call], dict[str, Any]]] = {
    "listdomains": list_domains,
    "getdomain2": _getter("domain"),
    "listusers": list_users,
    "getuser2": _getter("user"),
    "listcourses": list_courses,
    "getcourse2": _getter("course"),
    "listenrollments": list_enrollments,
    "listentityenrollments": list_entity_enrollments,
    "listuserenrollments": list_user_enrollments,
    "getenrollment3": _getter("enrollment"),
    "listroles": list_roles,
    "getactorrights": get_actor_rights,
    "getentitygradebook3": lambda call: entity_gradebook(call.store, call.params, call.collapse),
    "getenrollmentgradebook2": lambda call: enrollment_gradebook(
        call.store, call.params, call.collapse
    ),
}
"""Read commands by name."""
