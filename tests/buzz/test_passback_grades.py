"""Reading Buzz grades for passback: which courses are class courses, and each class
course's items, students and scores, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from oneroster_client.buzz import BuzzClient, BuzzJWTAuth
from oneroster_client.buzz.entities import BuzzCourse
from oneroster_client.buzz.gradebook import EntityGradebook
from oneroster_client.buzz.passback import find_class_courses, read_class_gradebook
from oneroster_client.buzz.passback.grades import _items
from oneroster_client.buzz.testing import ROLE_IDS, BuzzServer


def _user(user_id: str, domain: str, reference: str | None) -> dict[str, Any]:
    user = {
        "id": user_id,
        "domainid": domain,
        "username": f"u{user_id}",
        "firstname": "Given",
        "lastname": "Family",
        "email": "",
        "password": "pw",
    }
    if reference is not None:
        user["reference"] = reference
    return user


SEED: dict[str, Any] = {
    "domains": [
        {"id": "100", "name": "District", "userspace": "dist", "parentid": "1"},
        {"id": "101", "name": "School", "userspace": "sch", "parentid": "100"},
        {"id": "500", "name": "Elsewhere", "userspace": "else", "parentid": "1"},
    ],
    "users": [
        _user("300", "101", "usr-1"),
        _user("301", "101", None),
        _user("302", "101", "usr-t"),
        _user("303", "101", "usr-3"),
    ],
    "courses": [
        {"id": "200", "title": "A", "domainid": "101", "reference": "cls-a"},
        {"id": "201", "title": "B", "domainid": "100", "reference": "cls-b"},
        {"id": "202", "title": "C", "domainid": "101"},
        {"id": "203", "title": "D", "domainid": "500", "reference": "cls-c"},
    ],
    "enrollments": [
        {"id": "400", "userid": "300", "entityid": "200", "roleid": ROLE_IDS["Student"]},
        {"id": "401", "userid": "301", "entityid": "200", "roleid": ROLE_IDS["Student"]},
        {"id": "402", "userid": "302", "entityid": "200", "roleid": ROLE_IDS["Teacher"]},
        {"id": "403", "userid": "303", "entityid": "200", "roleid": "2", "status": 4},
        {"id": "404", "userid": "300", "entityid": "201", "roleid": ROLE_IDS["Student"]},
    ],
    "grades": [
        {"enrollmentid": "400", "itemid": "q1", "title": "Quiz", "achieved": 0, "possible": 10},
        {"enrollmentid": "400", "itemid": "q2", "title": "Test", "achieved": None, "possible": 5},
        {"enrollmentid": "401", "itemid": "q1", "title": "Quiz", "achieved": 11, "possible": 10},
        {"enrollmentid": "403", "itemid": "q1", "title": "Quiz", "achieved": 3, "possible": 10},
        {"enrollmentid": "404", "itemid": "z", "title": "Only", "achieved": 1, "possible": 1},
    ],
}


@pytest.fixture
def server() -> Iterator[BuzzServer]:
    with BuzzServer(seed=SEED) as running:
        yield running


def _client(server: BuzzServer, kind: type[BuzzClient] = BuzzClient) -> BuzzClient:
    return kind(
        server.base_url,
        auth=BuzzJWTAuth(*server.jwt_credentials()),
        user_agent="passback-tests/1.0 (tests)",
    )


def test_class_courses_are_the_referenced_courses_under_the_district(server: BuzzServer) -> None:
    buzz = _client(server)
    assert [c.id for c in find_class_courses(buzz, "100")] == ["200", "201"]
    assert [c.id for c in find_class_courses(buzz, "100", ["cls-b", "cls-c"])] == ["201"]
    assert [c.id for c in find_class_courses(buzz, "500")] == ["203"]


def test_a_class_gradebook_has_its_active_students_items_and_scores(server: BuzzServer) -> None:
    buzz = _client(server)
    course = BuzzCourse(id="200", reference="cls-a")
    book = read_class_gradebook(buzz, course)
    assert book.class_id == "cls-a"
    assert {item.id: (item.title, item.possible) for item in book.items} == {
        "q1": ("Quiz", 10.0),
        "q2": ("Test", 5.0),
    }
    students = {s.enrollment_id: s for s in book.students}
    assert set(students) == {"400", "401"}  # not the teacher, not the withdrawn student
    assert students["400"].student == "usr-1"
    assert students["401"].student is None  # a Buzz user without a SIS reference
    scores = {score.item_id: score.achieved for score in students["400"].scores}
    assert scores == {"q1": 0.0, "q2": None}


def test_lists_of_one_are_read_too(server: BuzzServer) -> None:
    server.faults.collapse_lists = True
    book = read_class_gradebook(_client(server), BuzzCourse(id="201", reference="cls-b"))
    ((student,), (item,)) = (book.students, book.items)
    assert (student.student, item.id, student.scores[0].achieved) == ("usr-1", "z", 1.0)


class _NoEmbeddedUsers(BuzzClient):
    def get_entity_gradebook(self, entity_id: str | int, **options: Any) -> EntityGradebook:
        book = super().get_entity_gradebook(entity_id, **options)
        rows = tuple(attrs.evolve(row, user=None) for row in book.enrollments)
        return attrs.evolve(book, enrollments=rows)


def test_the_reference_is_read_from_the_user_when_not_embedded(server: BuzzServer) -> None:
    buzz = _client(server, _NoEmbeddedUsers)
    cache: dict[str, str | None] = {}
    first = read_class_gradebook(buzz, BuzzCourse(id="200", reference="cls-a"), cache)
    second = read_class_gradebook(buzz, BuzzCourse(id="201", reference="cls-b"), cache)
    assert {s.enrollment_id: s.student for s in first.students} == {"400": "usr-1", "401": None}
    assert [s.student for s in second.students] == ["usr-1"]
    assert server.commands().count("getuser2") == 2  # each user read once


def test_items_missing_from_the_item_list_come_from_the_scores() -> None:
    book = EntityGradebook.from_response(
        "200",
        {
            "enrollments": {
                "enrollment": [
                    {
                        "id": "400",
                        "userid": "300",
                        "grades": {
                            "achieved": 1,
                            "items": {
                                "item": [
                                    {"itemid": "a", "achieved": 1, "possible": 4},
                                    {"itemid": "b", "achieved": 2, "possible": 3, "title": "B"},
                                ]
                            },
                        },
                    }
                ]
            },
            "items": {"item": [{"id": "a", "title": "A"}]},
        },
    )
    items = {item.id: (item.title, item.possible) for item in _items(book)}
    assert items == {"a": ("A", 4.0), "b": ("B", 3.0)}
