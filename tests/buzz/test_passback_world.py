"""Helpers for the grade passback tests: a Buzz district with graded class courses and
the OneRoster district behind it, both served over real HTTP.

The Buzz side is seeded the way rostering leaves it: each class course's ``reference``
is a OneRoster class sourcedId and each student's ``reference`` a OneRoster user
sourcedId. Every seeded score is also kept as an expectation (what the SIS must hold).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from oneroster_client import OneRosterClient
from oneroster_client.buzz import BuzzClient, BuzzJWTAuth, BuzzRetryPolicy, SyncHistory
from oneroster_client.buzz.passback import PassbackReport, PassbackSettings, pass_back_grades
from oneroster_client.buzz.testing import BuzzServer
from oneroster_client.retry import RetryPolicy
from oneroster_client.testing import District, OneRosterServer, generate_district

DISTRICT_DOMAIN = "100"
SCHOOL_DOMAIN = "101"
EXEMPT = 0x1
NOT_SUBMITTED = 0x2
STATUS_FLAGS = {"exempt_flags": EXEMPT, "not_submitted_flags": NOT_SUBMITTED}
"""The Buzz status bits the seeded scores use for exempt and missing work."""
LONG_TITLE = "Essay: a comparison of two novels read this term, with sources"


@attrs.frozen(kw_only=True)
class Grade:
    """One seeded Buzz score and what the SIS should hold for it."""

    enrollment_id: str
    student: str
    item_id: str
    achieved: float | None
    possible: float | None
    status: int = 0
    letter: str | None = None
    scoreddate: str | None = None


# item id -> (title, points possible); per student k: (achieved, status, letter)
ITEMS: dict[str, tuple[str, float]] = {
    "quiz1": ("Quiz 1", 10.0),
    "hw1": ("Homework 1", 7.5),
    "essay": (LONG_TITLE, 20.0),
}
SCORES: dict[str, list[tuple[float | None, int, str | None]]] = {
    "quiz1": [(0.0, 0, None), (12.0, 0, None), (8.5, 0, None)],  # zero, extra credit
    "hw1": [(None, EXEMPT, None), (7.0, 0, None), (None, 0, None)],  # exempt, ungraded
    "essay": [(0.0, NOT_SUBMITTED, None), (20.0, 0, None), (None, 0, "B")],  # letter only
}


def _classes(district: District, count: int) -> list[tuple[str, list[str]]]:
    picked: list[tuple[str, list[str]]] = []
    for klass in district["classes"]:
        if klass["classType"] == "homeroom" or klass["status"] != "active":
            continue
        students = [
            e["user"]["sourcedId"]
            for e in district["enrollments"]
            if e["class"]["sourcedId"] == klass["sourcedId"]
            and e["role"] == "student"
            and e["status"] == "active"
        ]
        if len(students) >= 3:
            picked.append((klass["sourcedId"], students[:3]))
        if len(picked) == count:
            return picked
    raise AssertionError("the generated district has too few classes with three students")


def _grades_of(enrollment_id: str, student: str, k: int) -> list[Grade]:
    grades = []
    for item_id, (_title, possible) in ITEMS.items():
        achieved, status, letter = SCORES[item_id][k]
        grades.append(
            Grade(
                enrollment_id=enrollment_id,
                student=student,
                item_id=item_id,
                achieved=achieved,
                possible=possible,
                status=status,
                letter=letter,
                scoreddate="2025-01-10T15:00:00Z" if achieved is not None else None,
            )
        )
    return grades


def _grade_row(grade: Grade) -> dict[str, Any]:
    row: dict[str, Any] = {
        "enrollmentid": grade.enrollment_id,
        "itemid": grade.item_id,
        "title": ITEMS[grade.item_id][0],
        "achieved": grade.achieved,
        "possible": grade.possible,
        "status": grade.status,
    }
    if grade.letter is not None:
        row["letter"] = grade.letter
    if grade.scoreddate is not None:
        row["scoreddate"] = grade.scoreddate
    return row


def _user_row(user_id: str, student: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "domainid": SCHOOL_DOMAIN,
        "username": student,
        "firstname": "Given",
        "lastname": "Family",
        "email": "",
        "reference": student,
        "password": "pw",
    }


def build_seed(district: District, classes: int = 2) -> tuple[dict[str, Any], list[Grade]]:
    """Buzz seed data for ``classes`` class courses with three students each, and the grades."""
    seed: dict[str, list[dict[str, Any]]] = {
        "domains": [
            {"id": DISTRICT_DOMAIN, "name": "District", "userspace": "dist", "parentid": "1"},
            {"id": SCHOOL_DOMAIN, "name": "School", "userspace": "sch", "parentid": "100"},
        ],
        "users": [],
        "courses": [],
        "enrollments": [],
        "grades": [],
    }
    user_ids: dict[str, str] = {}
    grades: list[Grade] = []
    for index, (class_id, students) in enumerate(_classes(district, classes)):
        course_id = str(200 + index)
        seed["courses"].append(
            {
                "id": course_id,
                "title": f"Class {index}",
                "domainid": SCHOOL_DOMAIN,
                "reference": class_id,
                "startdate": "2024-08-15T00:00:00Z",
                "enddate": "2025-06-05T00:00:00Z",
            }
        )
        for k, student in enumerate(students):
            if student not in user_ids:
                user_ids[student] = str(300 + len(user_ids))
                seed["users"].append(_user_row(user_ids[student], student))
            enrollment_id = f"{course_id}{k}"
            seed["enrollments"].append(
                {
                    "id": enrollment_id,
                    "userid": user_ids[student],
                    "entityid": course_id,
                    "roleid": "2",
                }
            )
            grades.extend(_grades_of(enrollment_id, student, k))
    seed["grades"] = [_grade_row(grade) for grade in grades]
    return seed, grades


class World:
    """Both servers, both clients and a passback history."""

    def __init__(self, students: int = 30, classes: int = 2) -> None:
        self.district = generate_district(students=students, seed=3)
        seed, self.grades = build_seed(self.district, classes)
        self.class_ids = sorted({c["reference"] for c in seed["courses"]})
        self.buzz_server = BuzzServer(seed=seed).start()
        self.oneroster_server = OneRosterServer(self.district).start()
        self.waits: list[float] = []
        self.buzz = BuzzClient(
            self.buzz_server.base_url,
            auth=BuzzJWTAuth(*self.buzz_server.jwt_credentials()),
            user_agent="passback-tests/1.0 (tests)",
            retry=BuzzRetryPolicy(sleep=self.waits.append),
        )
        self.oneroster = self.client()
        self.history = SyncHistory(":memory:")
        self.settings = PassbackSettings(
            parent_domain_id=DISTRICT_DOMAIN, district_key="dst-1", **STATUS_FLAGS
        )

    def client(self, retry: RetryPolicy | None = None) -> OneRosterClient:
        return OneRosterClient(
            self.oneroster_server.base_url,
            auth=self.oneroster_server.oauth2(),
            retry=retry or RetryPolicy(sleep=self.waits.append),
            timeout=5.0,
        )

    def run(self, **options: Any) -> PassbackReport:
        options.setdefault("validate_only", False)
        options.setdefault("history", self.history)
        settings = options.pop("settings", self.settings)
        oneroster = options.pop("oneroster", self.oneroster)
        return pass_back_grades(self.buzz, oneroster, settings, **options)

    def sis(self, collection: str) -> dict[str, dict[str, Any]]:
        """What the OneRoster server holds that passback wrote, by sourcedId."""
        rows = self.oneroster_server.district[collection]
        return {row["sourcedId"]: row for row in rows if row["sourcedId"].startswith("buzz-")}

    def puts(self) -> list[str]:
        return [r.path for r in self.oneroster_server.requests if r.method == "PUT"]

    def fail_put_number(self, collection: str, number: int, status: int, count: int = 1) -> None:
        """Make the ``number``-th PUT to a client collection (``"results"``, ``"line_items"``)
        answer ``status``."""
        target = getattr(self.oneroster, collection)
        original: Callable[[Any], Any] = target.put
        calls = [0]

        def put(record: Any) -> Any:
            calls[0] += 1
            if calls[0] == number:
                self.oneroster_server.faults.fail_next(status, count)
            return original(record)

        target.put = put

    def close(self) -> None:
        self.buzz.close()
        self.oneroster.close()
        self.history.close()
        self.buzz_server.stop()
        self.oneroster_server.stop()


def test_the_world_seeds_buzz_the_way_rostering_leaves_it() -> None:
    world = World()
    try:
        sis_classes = {c["sourcedId"] for c in world.district["classes"]}
        sis_users = {u["sourcedId"] for u in world.district["users"]}
        courses = world.buzz_server.courses()
        assert {c["reference"] for c in courses if c.get("reference")} == set(world.class_ids)
        assert set(world.class_ids) <= sis_classes
        assert {g.student for g in world.grades} <= sis_users
        assert len(world.grades) == len(world.class_ids) * 3 * len(ITEMS)
    finally:
        world.close()
