"""Grades held by the loopback Buzz server and the two gradebook reads.

Grades are stored per enrollment: an optional course roll-up (``achieved``,
``possible``, ``letter``) and per-item scores. A roll-up not set explicitly is the sum of
the item scores. Answers follow the recorded ``getenrollmentgradebook2`` shape
(``enrollment{..., user, entity, domain, grades{achieved, possible, passingscore, ...,
categories{category[]}}}``); item rows (``grades.items.item[]``, present when the
``itemid`` parameter asks for items) and the top-level item catalogue of
``getentitygradebook3`` are a best reading of Buzz's Grades schema, not a recorded
answer.
"""

from __future__ import annotations

from typing import Any

from oneroster_client.buzz.testing.entities import NEVER
from oneroster_client.buzz.testing.fields import as_bool, as_id
from oneroster_client.buzz.testing.render import render, render_list
from oneroster_client.buzz.testing.state import DlapError, Store

__all__ = ["enrollment_gradebook", "entity_gradebook", "set_grade"]

PARTICIPATE = 1
_ENTITY_FIELDS = (
    "id",
    "title",
    "reference",
    "guid",
    "domainid",
    "schema",
    "type",
    "startdate",
    "enddate",
    "days",
    "term",
    "baseid",
)


def set_grade(
    store: Store,
    enrollment_id: str,
    achieved: float | None,
    possible: float | None,
    *,
    letter: str | None = None,
    itemid: str | None = None,
    title: str | None = None,
    scoreddate: str | None = None,
    status: int = 0,
) -> None:
    """Record a course roll-up (no ``itemid``) or one item's score for an enrollment.

    Raises:
        DlapError: ``DoesNotExist`` for an unknown enrollment, ``BadRequest`` for a score
            that is not a number.
    """
    for name, value in (("achieved", achieved), ("possible", possible)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise DlapError("BadRequest", f"{name} must be a number or null")
    with store.lock:
        enrollment = store.records["enrollment"].get(str(enrollment_id))
        if enrollment is None:
            raise DlapError("DoesNotExist", f"No enrollment with id {enrollment_id}")
        grades = store.grades.setdefault(str(enrollment_id), {"items": {}})
        if itemid is None:
            grades.update(achieved=achieved, possible=possible, letter=letter)
            return
        row: dict[str, Any] = {
            "itemid": str(itemid),
            "title": title if title is not None else str(itemid),
            "achieved": achieved,
            "possible": possible,
            "status": status,
            "scoreddate": scoreddate or NEVER,
        }
        if letter is not None:
            row["letter"] = letter
        grades["items"][str(itemid)] = row


def _selected_items(items: dict[str, dict[str, Any]], itemid: str | None) -> list[dict[str, Any]]:
    if not itemid:
        return []
    if itemid in ("*", "**"):
        return [items[key] for key in sorted(items)]
    wanted = [part.strip() for part in itemid.split("|") if part.strip()]
    return [items[key] for key in wanted if key in items]


def _grades(store: Store, enrollment_id: str, itemid: str | None, collapse: bool) -> dict[str, Any]:
    stored = store.grades.get(enrollment_id, {"items": {}})
    items: dict[str, dict[str, Any]] = stored["items"]
    scored = [row for row in items.values() if row["achieved"] is not None]
    achieved = stored.get("achieved")
    possible = stored.get("possible")
    if "achieved" not in stored:
        achieved = sum(float(row["achieved"]) for row in scored)
        possible = sum(float(row["possible"] or 0) for row in scored)
    out: dict[str, Any] = {
        "achieved": achieved if achieved is not None else 0,
        "possible": possible if possible is not None else 0,
        "passingscore": 0.7,
        "complete": 0,
        "completedgradable": len(scored),
        "gradable": len(items),
        "completed": len(scored),
        "seconds": 0,
        "categories": {"category": []},
    }
    if stored.get("letter") is not None:
        out["letter"] = stored["letter"]
    if itemid:
        out["items"] = render_list(_selected_items(items, itemid), "item", collapse=collapse)
    return out


def _user(store: Store, user_id: str) -> dict[str, Any]:
    user = store.records["user"][user_id]
    fields = ("id", "firstname", "lastname", "reference", "guid", "username", "email")
    out = {field: user[field] for field in fields if field in user}
    out["userspace"] = store.userspace_of(user["domainid"])
    return out


def enrollment_gradebook(store: Store, params: dict[str, Any], collapse: bool) -> dict[str, Any]:
    """``getenrollmentgradebook2``: one enrollment with its user, course and grades."""
    record = store.get("enrollment", as_id(params.get("enrollmentid"), "enrollmentid"))
    out = render(store, "enrollment", record, detail=True)
    out.pop("courseid", None)
    course = store.records["course"][record["entityid"]]
    domain = store.records["domain"].get(record["domainid"], {})
    out["user"] = _user(store, record["userid"])
    out["entity"] = {key: course[key] for key in _ENTITY_FIELDS if key in course}
    out["domain"] = {"id": domain.get("id", record["domainid"]), "name": domain.get("name", "")}
    out["grades"] = _grades(store, record["id"], params.get("itemid"), collapse)
    return {"enrollment": out}


def _catalogue(store: Store, enrollment_ids: list[str], itemid: str) -> list[dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for enrollment_id in enrollment_ids:
        for row in store.grades.get(enrollment_id, {"items": {}})["items"].values():
            items.setdefault(
                row["itemid"],
                {"id": row["itemid"], "title": row["title"], "possible": row["possible"]},
            )
    return _selected_items(items, itemid)


def entity_gradebook(store: Store, params: dict[str, Any], collapse: bool) -> dict[str, Any]:
    """``getentitygradebook3``: every participating enrollment of a course with grades.

    Enrollments without the Participate right (teachers, the course creator, enrollments
    with privileges 0) are not listed; inactive ones only with ``allstatus=true``. That
    Buzz picks gradebook rows by the Participate right is unconfirmed.
    """
    course = store.get("course", as_id(params.get("entityid"), "entityid"))
    wanted = {p for p in str(params.get("enrollmentids") or "").split("|") if p}
    user_id = str(params.get("userid") or "")
    every_status = as_bool(params.get("allstatus", False))
    rows = []
    for record in store.rows("enrollment"):
        if record["entityid"] != course["id"] or not int(record["privileges"]) & PARTICIPATE:
            continue
        if (wanted and record["id"] not in wanted) or (user_id and record["userid"] != user_id):
            continue
        if record["status"] != 1 and not every_status:
            continue
        row = render(store, "enrollment", record)
        row.pop("courseid", None)
        row["user"] = _user(store, record["userid"])
        row["grades"] = _grades(store, record["id"], params.get("itemid"), collapse)
        rows.append(row)
    out: dict[str, Any] = {"enrollments": render_list(rows, "enrollment", collapse=collapse)}
    if params.get("itemid"):
        catalogue = _catalogue(store, [row["id"] for row in rows], str(params["itemid"]))
        out["items"] = render_list(catalogue, "item", collapse=collapse)
    return out
