"""Buzz's entity rules as the loopback server enforces them, through real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from oneroster_client.buzz.testing import APP_ID, ROLE_IDS, BuzzServer

from .conftest import Dlap


def _domain(dlap: Dlap, userspace: str, parent: str = "1", **extra: Any) -> str:
    item = {"name": userspace.title(), "userspace": userspace, "parentid": parent, **extra}
    return dlap.create("createdomains", "domain", item)


def _user(dlap: Dlap, domain: str, username: str, **extra: Any) -> str:
    item = {
        "domainid": domain,
        "username": username,
        "email": f"{username}@example.org",
        "firstname": "First",
        "lastname": "Last",
        "password": "pw-123456",
        **extra,
    }
    return dlap.create("createusers2", "user", item)


def _course(dlap: Dlap, domain: str, title: str = "Algebra", **extra: Any) -> str:
    item = {"title": title, "domainid": domain, "schema": 3, **extra}
    return dlap.create("createcourses", "course", item)


def test_userspaces_are_unique_without_regard_to_case(dlap: Dlap) -> None:
    _domain(dlap, "north")
    (result,) = dlap.items(
        "createdomains", "domain", [{"name": "N2", "userspace": "NORTH", "parentid": "1"}]
    )
    assert result["code"] == "BadRequest"
    assert "Userspace" in result["message"]
    other = _domain(dlap, "south")
    (update,) = dlap.items("updatedomains", "domain", [{"domainid": other, "userspace": "North"}])
    assert update["code"] == "BadRequest"


def test_userspace_characters_are_checked(dlap: Dlap) -> None:
    (result,) = dlap.items(
        "createdomains", "domain", [{"name": "X", "userspace": "has space", "parentid": "1"}]
    )
    assert result["code"] == "BadRequest"


def test_usernames_are_unique_per_userspace_only(buzz_server: BuzzServer, dlap: Dlap) -> None:
    north, south = _domain(dlap, "north"), _domain(dlap, "south")
    _user(dlap, north, "ada")
    _user(dlap, south, "ada")
    (clash,) = dlap.items(
        "createusers2",
        "user",
        [{"domainid": north, "username": "ADA", "email": "", "firstname": "A", "lastname": "B"}],
    )
    assert clash["code"] == "BadRequest"
    assert "ada" not in clash["message"].lower().replace("already", "")
    assert sorted(u["userspace"] for u in buzz_server.users() if u["username"] == "ada") == [
        "north",
        "south",
    ]


def test_moving_a_user_checks_the_target_userspace(dlap: Dlap) -> None:
    north, south = _domain(dlap, "north"), _domain(dlap, "south")
    _user(dlap, north, "ada")
    mover = _user(dlap, south, "ada")
    (moved,) = dlap.items("updateusers", "user", [{"userid": mover, "domainid": north}])
    assert moved["code"] == "BadRequest"
    (renamed,) = dlap.items("updateusers", "user", [{"userid": mover, "username": "ada2"}])
    assert renamed["code"] == "OK"


def test_unknown_and_missing_fields_are_refused_per_item(dlap: Dlap) -> None:
    results = dlap.items(
        "createdomains",
        "domain",
        [
            {"name": "A", "userspace": "a", "parentid": "1", "external_id": "x"},
            {"name": "B", "userspace": "b"},
            {"name": "C", "userspace": "c", "parentid": "1"},
        ],
    )
    assert [r["code"] for r in results] == ["BadRequest", "BadRequest", "OK"]
    assert "external_id" in results[0]["message"]
    assert "parentid" in results[1]["message"]


def test_numbers_may_be_sent_as_numbers_or_strings(dlap: Dlap) -> None:
    domain = dlap.create("createdomains", "domain", {"name": "A", "userspace": "a", "parentid": 1})
    course = _course(dlap, domain, schema="3")
    user = _user(dlap, int(domain), "ada")  # type: ignore[arg-type]
    enrollment = dlap.create(
        "createenrollments", "enrollment", {"userid": int(user), "entityid": course, "status": "1"}
    )
    record = dlap.get("getenrollment3", enrollmentid=enrollment)["enrollment"]
    assert (record["userid"], record["entityid"], record["status"]) == (user, course, 1)
    (bad,) = dlap.items(
        "createenrollments", "enrollment", [{"userid": "x1", "entityid": course, "status": 1}]
    )
    assert bad["code"] == "BadRequest"


def test_reference_is_stored_and_searchable_but_not_unique(dlap: Dlap) -> None:
    domain = _domain(dlap, "north", reference="org-1")
    first = _user(dlap, domain, "ada", reference="sis-42")
    second = _user(dlap, domain, "bob", reference="sis-42")
    found = dlap.get("listusers", domainid=domain, query="/reference=sis-42")["users"]["user"]
    assert [u["id"] for u in found] == [first, second]
    quoted = dlap.get("listusers", domainid=domain, query="/reference='sis-42' AND /username=bob")
    assert [u["id"] for u in quoted["users"]["user"]] == [second]
    domains = dlap.get("listdomains", domainid="0", query='/reference="org-1"')["domains"]
    assert [d["id"] for d in domains["domain"]] == [domain]


def test_text_and_bad_query(dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    _user(dlap, domain, "ada")
    bob = _user(dlap, domain, "bobby")
    assert [
        u["id"] for u in dlap.get("listusers", domainid=domain, text="BOB")["users"]["user"]
    ] == [bob]
    assert dlap.get("listusers", domainid=domain, query="reference = x")["code"] == "BadRequest"


def test_enrollment_without_role_or_flags_gets_privileges_zero(dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    course, user = _course(dlap, domain), _user(dlap, domain, "ada")
    bare = dlap.create(
        "createenrollments", "enrollment", {"userid": user, "entityid": course, "status": 1}
    )
    by_role = dlap.create(
        "createenrollments",
        "enrollment",
        {"userid": user, "entityid": course, "status": 1, "roleid": ROLE_IDS["Student"]},
    )
    by_flags = dlap.create(
        "createenrollments",
        "enrollment",
        {"userid": user, "entityid": course, "status": 1, "flags": 131073},
    )
    privileges = {
        e["id"]: e["privileges"]
        for e in dlap.get("listentityenrollments", entityid=course)["enrollments"]["enrollment"]
        if e["userid"] == user
    }
    assert privileges == {bare: "0", by_role: "2228225", by_flags: "131073"}


def test_duplicate_enrollments_refused_only_with_disallowduplicates(dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    course, user = _course(dlap, domain), _user(dlap, domain, "ada")
    item = {"userid": user, "entityid": course, "status": 1, "roleid": ROLE_IDS["Student"]}
    guarded = dlap.items("createenrollments", "enrollment", [item, item], disallowduplicates="true")
    assert [r["code"] for r in guarded] == ["OK", "BadRequest"]
    assert guarded[1]["message"] == "Duplicate enrollment"
    again = dlap.items("createenrollments", "enrollment", [item], disallowduplicates="true")
    assert again[0]["code"] == "BadRequest"
    unguarded = dlap.items("createenrollments", "enrollment", [item])
    assert unguarded[0]["code"] == "OK"


def test_same_status_duplicates_flag(dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    course, user = _course(dlap, domain), _user(dlap, domain, "ada")
    active = {"userid": user, "entityid": course, "status": 1, "flags": 1}
    withdrawn = {**active, "status": 4}
    results = dlap.items(
        "createenrollments",
        "enrollment",
        [active, withdrawn, active],
        disallowsamestatusduplicates="true",
    )
    assert [r["code"] for r in results] == ["OK", "OK", "BadRequest"]


def test_per_item_errors_leave_other_items_applied(buzz_server: BuzzServer, dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    results = dlap.items(
        "createusers2",
        "user",
        [
            {"domainid": domain, "username": "a", "email": "", "firstname": "A", "lastname": "A"},
            {"domainid": "424242", "username": "b", "email": "", "firstname": "B", "lastname": "B"},
            "not an object",
            {"domainid": domain, "username": "c", "email": "", "firstname": "C", "lastname": "C"},
        ],
    )
    assert [r["code"] for r in results] == ["OK", "DoesNotExist", "BadRequest", "OK"]
    assert sorted(u["username"] for u in buzz_server.users() if u["domainid"] == domain) == [
        "a",
        "c",
    ]


def test_createcourses_enrolls_the_caller(buzz_server: BuzzServer, dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    (result,) = dlap.items(
        "createcourses", "course", [{"title": "Biology", "domainid": domain, "schema": 3}]
    )
    course = result["course"]
    enrollment = dlap.get("getenrollment3", enrollmentid=course["enrollmentid"])["enrollment"]
    assert (enrollment["userid"], enrollment["entityid"]) == (APP_ID, course["courseid"])
    assert int(enrollment["privileges"]) & 0x80000000  # ReadGradebook
    with_role = dlap.items(
        "createcourses",
        "course",
        [{"title": "Chem", "domainid": domain, "schema": 3, "roleid": ROLE_IDS["Teacher"]}],
    )[0]["course"]
    teacher = dlap.get("getenrollment3", enrollmentid=with_role["enrollmentid"])["enrollment"]
    assert teacher["roleid"] == ROLE_IDS["Teacher"]


def test_createcourses_requires_schema_and_title(dlap: Dlap) -> None:
    results = dlap.items(
        "createcourses",
        "course",
        [{"title": "T", "domainid": "1"}, {"title": " ", "domainid": "1", "schema": 3}],
    )
    assert [r["code"] for r in results] == ["BadRequest", "BadRequest"]


def test_copycourses_derivative_child_points_at_its_base(dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    master = _course(dlap, domain, "Master", reference="course-1")
    (result,) = dlap.items(
        "copycourses",
        "course",
        [
            {
                "courseid": master,
                "domainid": domain,
                "action": "DerivativeChildCopy",
                "title": "Period 1",
                "reference": "class-1",
            }
        ],
    )
    copy = dlap.get("getcourse2", courseid=result["course"]["courseid"])["course"]
    assert (copy["baseid"], copy["title"], copy["reference"]) == (master, "Period 1", "class-1")
    assert result["course"]["enrollmentid"] != "0"
    (bad,) = dlap.items(
        "copycourses", "course", [{"courseid": master, "domainid": domain, "action": "Clone"}]
    )
    assert bad["code"] == "BadRequest"


def test_updates_change_only_given_fields_and_bump_version(dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    user = _user(dlap, domain, "ada", reference="r1")
    before = dlap.get("getuser2", userid=user)["user"]
    dlap.items("updateusers", "user", [{"userid": user, "lastname": "Lovelace"}])
    after = dlap.get("getuser2", userid=user)["user"]
    assert after["lastname"] == "Lovelace"
    assert (after["firstname"], after["reference"]) == (before["firstname"], "r1")
    assert int(after["version"]) == int(before["version"]) + 1


def test_update_enrollment_recomputes_privileges_and_moves(dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    first, second = _course(dlap, domain), _course(dlap, domain, "Other")
    user = _user(dlap, domain, "ada")
    enrollment = dlap.create(
        "createenrollments", "enrollment", {"userid": user, "entityid": first, "status": 1}
    )
    dlap.items(
        "updateenrollments",
        "enrollment",
        [
            {
                "enrollmentid": enrollment,
                "roleid": ROLE_IDS["Student"],
                "entityid": second,
                "status": 4,
            }
        ],
    )
    record = dlap.get("getenrollment3", enrollmentid=enrollment)["enrollment"]
    assert (record["entityid"], record["status"], record["privileges"]) == (second, 4, "2228225")


def test_domain_cannot_become_its_own_descendant(dlap: Dlap) -> None:
    top = _domain(dlap, "top")
    below = _domain(dlap, "below", top)
    (result,) = dlap.items("updatedomains", "domain", [{"domainid": top, "parentid": below}])
    assert result["code"] == "BadRequest"


def test_roles_are_inherited_by_subdomains(dlap: Dlap) -> None:
    north = _domain(dlap, "north")
    roles = dlap.get("listroles", domainid=north)["roles"]["role"]
    assert {r["name"]: r["privileges"] for r in roles}["Student"] == "2228225"
    assert {r["entitytype"] for r in roles} == {"C", "D"}


def test_rights_are_stored_per_actor_and_entity(buzz_server: BuzzServer, dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    guardian, student = _user(dlap, domain, "parent"), _user(dlap, domain, "kid")
    course = _course(dlap, domain)
    enrollment = dlap.create(
        "createenrollments", "enrollment", {"userid": student, "entityid": course, "status": 1}
    )
    results = dlap.items(
        "updaterights",
        "rights",
        [
            {"actorid": guardian, "entityid": student, "flags": 512},
            {"actorid": guardian, "entityid": enrollment, "flags": 2199023255552},
            {"actorid": guardian, "entityid": "999999", "flags": 512},
        ],
    )
    assert [r["code"] for r in results] == ["OK", "OK", "DoesNotExist"]
    entities = dlap.get("getactorrights", actorid=guardian, entitytypes="U|E")["entities"]["entity"]
    assert {(e["entityid"], e["entitytype"], e["flags"]) for e in entities} == {
        (student, "U", "512"),
        (enrollment, "E", "2199023255552"),
    }
    only_users = dlap.get("getactorrights", actorid=guardian, entitytypes="U")["entities"]
    assert [e["entityid"] for e in only_users["entity"]] == [student]
    dlap.items("updaterights", "rights", [{"actorid": guardian, "entityid": student, "flags": 0}])
    assert set(buzz_server.rights()) == {(guardian, enrollment)}


@pytest.mark.parametrize("show", ["bogus", "DELETEDX"])
def test_show_must_be_known(dlap: Dlap, show: str) -> None:
    assert dlap.get("listusers", domainid="1", show=show)["code"] == "BadRequest"


def test_renamed_user_frees_the_old_name(dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    ada = _user(dlap, domain, "ada")
    dlap.items("updateusers", "user", [{"userid": ada, "username": "ada2"}])
    assert _user(dlap, domain, "ada")
    (clash,) = dlap.items(
        "createusers2",
        "user",
        [{"domainid": domain, "username": "ADA2", "email": "", "firstname": "A", "lastname": "B"}],
    )
    assert clash["code"] == "BadRequest"


def test_moved_enrollment_counts_as_duplicate_in_its_new_course(dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    first, second = _course(dlap, domain), _course(dlap, domain, "Other")
    user = _user(dlap, domain, "ada")
    enrollment = dlap.create(
        "createenrollments", "enrollment", {"userid": user, "entityid": first, "status": 1}
    )
    dlap.items(
        "updateenrollments", "enrollment", [{"enrollmentid": enrollment, "entityid": second}]
    )
    results = dlap.items(
        "createenrollments",
        "enrollment",
        [
            {"userid": user, "entityid": first, "status": 1},
            {"userid": user, "entityid": second, "status": 1},
        ],
        disallowduplicates="true",
    )
    assert [r["code"] for r in results] == ["OK", "BadRequest"]


def test_deleted_enrollment_is_no_duplicate(dlap: Dlap) -> None:
    domain = _domain(dlap, "north")
    course, user = _course(dlap, domain), _user(dlap, domain, "ada")
    item = {"userid": user, "entityid": course, "status": 1}
    first = dlap.create("createenrollments", "enrollment", item, disallowduplicates="true")
    dlap.items("deleteenrollments", "enrollment", [{"enrollmentid": first}])
    assert dlap.create("createenrollments", "enrollment", item, disallowduplicates="true")


def test_enrollment_lists_by_user_course_and_domain(buzz_server: BuzzServer, dlap: Dlap) -> None:
    north, south = _domain(dlap, "north"), _domain(dlap, "south")
    algebra, art = _course(dlap, north, "Algebra"), _course(dlap, south, "Art")
    ada, bo = _user(dlap, north, "ada"), _user(dlap, south, "bo")
    student = ROLE_IDS["Student"]
    e1 = dlap.create(
        "createenrollments",
        "enrollment",
        {"userid": ada, "entityid": algebra, "status": 1, "roleid": student},
    )
    e2 = dlap.create(
        "createenrollments",
        "enrollment",
        {"userid": ada, "entityid": art, "status": 4, "roleid": student},
    )
    e3 = dlap.create(
        "createenrollments", "enrollment", {"userid": bo, "entityid": art, "status": 1, "flags": 1}
    )

    def ids(command: str, **params: str) -> list[str]:
        return [e["id"] for e in dlap.get(command, **params)["enrollments"]["enrollment"]]

    assert ids("listuserenrollments", userid=ada) == [e1]
    assert ids("listuserenrollments", userid=ada, allstatus="true") == [e1, e2]
    assert ids("listentityenrollments", entityid=art, allstatus="true", privileges="131073") == [e2]
    assert ids("listenrollments", domainid=north) == [e1, e2]  # in the user's domain
    assert ids("listenrollments", domainid=north, coursedomainid=south) == [e2]
    everywhere = {"domainid": "1", "includedescendantdomains": "true"}
    assert ids("listenrollments", **everywhere, userdomainid=south) == [e3]
    assert ids(
        "listenrollments", domainid="1", includedescendantdomains="true", userquery="/username=bo"
    ) == [e3]
    # The course creator's own enrollments are in the root domain: userdomainid leaves them out.
    assert ids("listenrollments", **everywhere, coursetext="alg", userdomainid=north) == [e1]


def test_domains_may_be_addressed_by_userspace(buzz_server: BuzzServer, dlap: Dlap) -> None:
    north = _domain(dlap, "north")
    school = _domain(dlap, "north-elementary", "//north")
    assert dlap.get("getdomain2", domainid="//NORTH")["domain"]["id"] == north
    user = _user(dlap, "//north-elementary", "ada")
    assert dlap.get("getuser2", userid=user)["user"]["domainid"] == school
    listed = dlap.get("listusers", domainid="//north", includedescendantdomains="true")
    assert [u["id"] for u in listed["users"]["user"]] == [user]
    assert dlap.get("listusers", domainid="//nowhere")["code"] == "DoesNotExist"
    assert dlap.get("deletedomain", domainid="//north-elementary")["code"] == "OK"
    assert user not in {u["id"] for u in buzz_server.users()}
