"""Soft deletes, cascades and restores of the loopback Buzz server."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client.buzz.testing import ROLE_IDS, BuzzServer

from .conftest import Dlap

SEED = {
    "domains": [
        {"id": "10", "name": "District", "userspace": "district"},
        {"id": "11", "name": "North", "userspace": "north", "parentid": "10"},
        {"id": "12", "name": "North Annex", "userspace": "north-annex", "parentid": "11"},
        {"id": "13", "name": "South", "userspace": "south", "parentid": "10"},
    ],
    "users": [
        {"id": "20", "domainid": "11", "username": "ann", "firstname": "A", "lastname": "N"},
        {"id": "21", "domainid": "12", "username": "bo", "firstname": "B", "lastname": "O"},
        {"id": "22", "domainid": "13", "username": "cy", "firstname": "C", "lastname": "Y"},
    ],
    "courses": [
        {"id": "30", "title": "North Algebra", "domainid": "11"},
        {"id": "31", "title": "Annex Art", "domainid": "12"},
        {"id": "32", "title": "South Science", "domainid": "13"},
    ],
    "enrollments": [
        {"id": "40", "userid": "20", "entityid": "30", "roleid": ROLE_IDS["Student"]},
        {"id": "41", "userid": "21", "entityid": "31", "roleid": ROLE_IDS["Student"]},
        # A South user in a North course: the North delete takes it through the course.
        {"id": "42", "userid": "22", "entityid": "30", "roleid": ROLE_IDS["Student"]},
        {"id": "43", "userid": "22", "entityid": "32", "roleid": ROLE_IDS["Student"]},
    ],
}


@pytest.fixture
def seeded(buzz_server: BuzzServer) -> BuzzServer:
    buzz_server.seed(SEED)
    return buzz_server


def _live(server: BuzzServer) -> dict[str, set[str]]:
    return {
        "domains": {d["id"] for d in server.domains()},
        "users": {u["id"] for u in server.users()},
        "courses": {c["id"] for c in server.courses()},
        "enrollments": {e["id"] for e in server.enrollments()},
    }


def test_deletedomain_takes_descendants_users_courses_enrollments(
    seeded: BuzzServer, dlap: Dlap
) -> None:
    assert dlap.get("deletedomain", domainid="11")["code"] == "OK"
    live = _live(seeded)
    assert live["domains"] >= {"10", "13"} and not live["domains"] & {"11", "12"}
    assert live["users"] & {"20", "21", "22"} == {"22"}
    assert live["courses"] & {"30", "31", "32"} == {"32"}
    assert live["enrollments"] == {"43"}
    assert dlap.get("getuser2", userid="21")["code"] == "DoesNotExist"


def test_restoredomain_brings_back_its_cascade(seeded: BuzzServer, dlap: Dlap) -> None:
    before = _live(seeded)
    dlap.get("deletedomain", domainid="11")
    assert dlap.get("restoredomain", domainid="11")["code"] == "OK"
    assert _live(seeded) == before


def test_deletecourses_takes_its_enrollments(seeded: BuzzServer, dlap: Dlap) -> None:
    dlap.items("deletecourses", "course", [{"courseid": "30"}])
    assert _live(seeded)["enrollments"] == {"41", "43"}
    assert dlap.get("restorecourse", courseid="30")["code"] == "OK"
    assert _live(seeded)["enrollments"] == {"40", "41", "42", "43"}


def test_deleteusers_takes_their_enrollments(seeded: BuzzServer, dlap: Dlap) -> None:
    results = dlap.items("deleteusers", "user", [{"userid": "22"}, {"userid": "999"}])
    assert [r["code"] for r in results] == ["OK", "DoesNotExist"]
    assert _live(seeded)["enrollments"] == {"40", "41"}
    assert dlap.get("restoreuser", userid="22")["code"] == "OK"
    assert _live(seeded)["enrollments"] == {"40", "41", "42", "43"}


def test_deleteenrollments_and_restoreenrollment(seeded: BuzzServer, dlap: Dlap) -> None:
    dlap.items("deleteenrollments", "enrollment", [{"enrollmentid": "40"}])
    assert "40" not in _live(seeded)["enrollments"]
    assert dlap.get("restoreenrollment", enrollmentid="40")["code"] == "OK"
    assert "40" in _live(seeded)["enrollments"]


def test_show_deleted_and_all_on_lists(seeded: BuzzServer, dlap: Dlap) -> None:
    dlap.items("deleteusers", "user", [{"userid": "20"}])

    def ids(show: str) -> list[str]:
        users = dlap.get("listusers", domainid="10", includedescendantdomains="true", show=show)
        return [u["id"] for u in users["users"]["user"]]

    assert ids("current") == ["21", "22"]
    assert ids("deleted") == ["20"]
    assert ids("all") == ["20", "21", "22"]


def test_restore_of_a_live_entity_is_refused(seeded: BuzzServer, dlap: Dlap) -> None:
    assert dlap.get("restoreuser", userid="20")["code"] == "DoesNotExist"


def test_cascaded_child_cannot_be_restored_while_its_parent_is_deleted(
    seeded: BuzzServer, dlap: Dlap
) -> None:
    dlap.get("deletedomain", domainid="11")
    assert dlap.get("restoreuser", userid="20")["code"] == "DoesNotExist"
    assert dlap.get("restoreenrollment", enrollmentid="42")["code"] == "DoesNotExist"
    assert "42" not in _live(seeded)["enrollments"]


def test_restore_refused_when_the_name_was_taken_meanwhile(seeded: BuzzServer, dlap: Dlap) -> None:
    dlap.items("deleteusers", "user", [{"userid": "20"}])
    dlap.create(
        "createusers2",
        "user",
        {"domainid": "11", "username": "Ann", "email": "", "firstname": "A", "lastname": "2"},
    )
    assert dlap.get("restoreuser", userid="20")["code"] == "BadRequest"


def test_deleted_userspace_may_be_reused(seeded: BuzzServer, dlap: Dlap) -> None:
    dlap.get("deletedomain", domainid="13")
    reused = dlap.create(
        "createdomains", "domain", {"name": "S2", "userspace": "south", "parentid": "10"}
    )
    assert reused
    assert dlap.get("restoredomain", domainid="13")["code"] == "BadRequest"


def test_root_domain_cannot_be_deleted(dlap: Dlap) -> None:
    assert dlap.get("deletedomain", domainid="1")["code"] == "AccessDenied"


def test_deleted_entities_refuse_new_children(seeded: BuzzServer, dlap: Dlap) -> None:
    dlap.items("deletecourses", "course", [{"courseid": "32"}])
    (result,) = dlap.items(
        "createenrollments", "enrollment", [{"userid": "22", "entityid": "32", "status": 1}]
    )
    assert result["code"] == "DoesNotExist"


def test_snapshots_mark_deleted_entities(seeded: BuzzServer, dlap: Dlap) -> None:
    dlap.items("deletecourses", "course", [{"courseid": "31"}])
    flags = {c["id"]: c["deleted"] for c in seeded.courses(include_deleted=True)}
    assert flags == {"30": False, "31": True, "32": False}


@pytest.mark.parametrize(
    ("command", "param", "value", "delete"),
    [
        ("getdomain2", "domainid", "13", ("deletedomain", None)),
        ("getcourse2", "courseid", "32", ("deletecourses", "course")),
        ("getenrollment3", "enrollmentid", "43", ("deleteenrollments", "enrollment")),
    ],
)
def test_single_reads_do_not_see_deleted_entities(
    seeded: BuzzServer,
    dlap: Dlap,
    command: str,
    param: str,
    value: str,
    delete: tuple[str, str | None],
) -> None:
    assert dlap.get(command, **{param: value})["code"] == "OK"
    name, root = delete
    if root is None:
        dlap.get(name, **{param: value})
    else:
        dlap.items(name, root, [{param: value}])
    assert dlap.get(command, **{param: value})["code"] == "DoesNotExist"


_TARGETS = [("domain", d["id"]) for d in SEED["domains"]]
_TARGETS += [("user", u["id"]) for u in SEED["users"]]
_TARGETS += [("course", c["id"]) for c in SEED["courses"]]
_TARGETS += [("enrollment", e["id"]) for e in SEED["enrollments"]]


def _delete(dlap: Dlap, kind: str, entity_id: str) -> str:
    if kind == "domain":
        return str(dlap.get("deletedomain", domainid=entity_id)["code"])
    (result,) = dlap.items(f"delete{kind}s", kind, [{f"{kind}id": entity_id}])
    return str(result["code"])


def _no_orphans(server: BuzzServer) -> None:
    live = _live(server)
    for enrollment in server.enrollments():
        assert enrollment["userid"] in live["users"] or enrollment["userid"] in {"5", "6"}
        assert enrollment["entityid"] in live["courses"]
    for user in server.users():
        assert user["domainid"] in live["domains"] | {"1"}


@settings(max_examples=25, deadline=None)
@given(order=st.lists(st.sampled_from(_TARGETS), min_size=1, max_size=6, unique=True))
def test_deletes_then_restores_in_reverse_give_back_the_same_state(
    order: list[tuple[str, str]],
) -> None:
    with BuzzServer(seed=SEED) as server:
        dlap = Dlap(server, server.issue_token())
        before = _live(server)
        done = []
        for kind, entity_id in order:
            if _delete(dlap, kind, entity_id) == "OK":
                done.append((kind, entity_id))
            _no_orphans(server)
        for kind, entity_id in reversed(done):
            answer = dlap.get(f"restore{kind}", **{f"{kind}id": entity_id})
            assert answer["code"] == "OK", (kind, entity_id, answer)
        assert _live(server) == before
        assert server.errors == []
