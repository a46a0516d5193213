"""Gradebook reads of the loopback Buzz server."""

from __future__ import annotations

import pytest

from oneroster_client.buzz.testing import ROLE_IDS, BuzzServer
from oneroster_client.errors import ConfigurationError

from .conftest import Dlap

SEED = {
    "domains": [{"id": "10", "name": "North", "userspace": "north"}],
    "users": [
        {"id": str(n), "domainid": "10", "username": f"s{n}", "firstname": "S", "lastname": str(n)}
        for n in (20, 21, 22, 23)
    ],
    "courses": [{"id": "30", "title": "Algebra", "domainid": "10", "reference": "class-1"}],
    "enrollments": [
        {"id": "40", "userid": "20", "entityid": "30", "roleid": ROLE_IDS["Student"]},
        {"id": "41", "userid": "21", "entityid": "30", "roleid": ROLE_IDS["Student"], "status": 4},
        {"id": "42", "userid": "22", "entityid": "30", "roleid": ROLE_IDS["Teacher"]},
        {"id": "43", "userid": "23", "entityid": "30", "roleid": ROLE_IDS["Student"]},
    ],
}


@pytest.fixture
def graded(buzz_server: BuzzServer) -> BuzzServer:
    buzz_server.seed(SEED)
    buzz_server.set_grade("40", 7, 10, itemid="quiz1", title="Quiz 1", letter="C")
    buzz_server.set_grade("40", 18, 20, itemid="test1", title="Test 1")
    buzz_server.set_grade("41", 5, 10, itemid="quiz1", title="Quiz 1")
    buzz_server.set_grade("43", 90, 100, letter="A")
    return buzz_server


def test_enrollment_gradebook_shape(graded: BuzzServer, dlap: Dlap) -> None:
    answer = dlap.get("getenrollmentgradebook2", enrollmentid="40", itemid="*")
    enrollment = answer["enrollment"]
    assert (enrollment["id"], enrollment["userid"], enrollment["entityid"]) == ("40", "20", "30")
    assert enrollment["user"]["username"] == "s20"
    assert enrollment["user"]["userspace"] == "north"
    assert enrollment["entity"]["reference"] == "class-1"
    assert enrollment["domain"] == {"id": "10", "name": "North"}
    grades = enrollment["grades"]
    assert (grades["achieved"], grades["possible"]) == (25, 30)
    assert grades["categories"] == {"category": []}
    items = {i["itemid"]: i for i in grades["items"]["item"]}
    assert (items["quiz1"]["achieved"], items["quiz1"]["possible"], items["quiz1"]["letter"]) == (
        7,
        10,
        "C",
    )
    assert items["test1"]["title"] == "Test 1"


def test_item_rows_only_when_asked(graded: BuzzServer, dlap: Dlap) -> None:
    roll_up = dlap.get("getenrollmentgradebook2", enrollmentid="40")["enrollment"]["grades"]
    assert "items" not in roll_up
    one = dlap.get("getenrollmentgradebook2", enrollmentid="40", itemid="test1|nope")
    assert [i["itemid"] for i in one["enrollment"]["grades"]["items"]["item"]] == ["test1"]


def test_explicit_roll_up_and_letter(graded: BuzzServer, dlap: Dlap) -> None:
    grades = dlap.get("getenrollmentgradebook2", enrollmentid="43")["enrollment"]["grades"]
    assert (grades["achieved"], grades["possible"], grades["letter"]) == (90, 100, "A")


def test_entity_gradebook_lists_active_participants(graded: BuzzServer, dlap: Dlap) -> None:
    answer = dlap.get("getentitygradebook3", entityid="30", itemid="*")
    rows = answer["enrollments"]["enrollment"]
    # 41 is withdrawn; 42 is a teacher (no Participate right).
    assert [r["id"] for r in rows] == ["40", "43"]
    assert rows[0]["user"]["id"] == "20"
    assert rows[0]["grades"]["possible"] == 30
    catalogue = {i["id"]: i for i in answer["items"]["item"]}
    assert catalogue == {
        "quiz1": {"id": "quiz1", "title": "Quiz 1", "possible": 10},
        "test1": {"id": "test1", "title": "Test 1", "possible": 20},
    }


def test_entity_gradebook_filters(graded: BuzzServer, dlap: Dlap) -> None:
    every = dlap.get("getentitygradebook3", entityid="30", allstatus="true")
    assert [r["id"] for r in every["enrollments"]["enrollment"]] == ["40", "41", "43"]
    picked = dlap.get("getentitygradebook3", entityid="30", enrollmentids="43|41")
    assert [r["id"] for r in picked["enrollments"]["enrollment"]] == ["43"]
    by_user = dlap.get("getentitygradebook3", entityid="30", userid="20")
    assert [r["id"] for r in by_user["enrollments"]["enrollment"]] == ["40"]
    assert "items" not in by_user


def test_gradebook_of_unknown_entities(graded: BuzzServer, dlap: Dlap) -> None:
    assert dlap.get("getentitygradebook3", entityid="999")["code"] == "DoesNotExist"
    assert dlap.get("getenrollmentgradebook2", enrollmentid="999")["code"] == "DoesNotExist"
    assert dlap.get("getenrollmentgradebook2")["code"] == "BadRequest"


def test_ungraded_enrollment_has_zero_roll_up(graded: BuzzServer, dlap: Dlap) -> None:
    grades = dlap.get("getenrollmentgradebook2", enrollmentid="42")["enrollment"]["grades"]
    assert (grades["achieved"], grades["possible"], grades["gradable"]) == (0, 0, 0)


def test_set_grade_refuses_unknown_enrollments_and_non_numbers(graded: BuzzServer) -> None:
    with pytest.raises(ConfigurationError, match="404"):
        graded.set_grade("404", 1, 2)
    with pytest.raises(ConfigurationError, match="achieved"):
        graded.set_grade("40", "ten", 20, itemid="quiz2")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="possible"):
        graded.set_grade("40", 1, True)
