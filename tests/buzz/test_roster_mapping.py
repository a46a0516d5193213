"""map_roster on hand-built snapshots: every rule and every kind of issue."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from oneroster_client.buzz.desired import DesiredState, SourceRecord, UserKind, ValidationIssue
from oneroster_client.buzz.enums import EnrollmentStatus, Rights
from oneroster_client.buzz.mapping import map_roster, stable_slug
from oneroster_client.buzz.settings import (
    ResolvedRoles,
    RosterSettings,
    UsernameScheme,
    UserspaceScheme,
)
from oneroster_client.buzz.snapshot import RosterSnapshot
from oneroster_client.models import AcademicSession, Class, Enrollment, GUIDRef, Org, User

ROLES = ResolvedRoles(student_role_id="22", teacher_role_id="33")


def ref(sourced_id: str) -> GUIDRef:
    return GUIDRef(sourced_id=sourced_id)


def org(sid: str, kind: str = "school", **fields: Any) -> Org:
    fields.setdefault("name", f"School {sid}")
    return Org(sourced_id=sid, status=fields.pop("status", "active"), type=kind, **fields)


def term(sid: str, start: date, end: date, **fields: Any) -> AcademicSession:
    return AcademicSession(
        sourced_id=sid,
        status="active",
        title=fields.pop("title", f"Term {sid}"),
        type="term",
        start_date=start,
        end_date=end,
        school_year="2025",
        **fields,
    )


def klass(
    sid: str, school: str = "sch-1", terms: tuple[str, ...] = ("t1",), **fields: Any
) -> Class:
    return Class(
        sourced_id=sid,
        status=fields.pop("status", "active"),
        title=fields.pop("title", f"Class {sid}"),
        class_type="scheduled",
        course=ref(fields.pop("course", "crs-1")),
        school=ref(school),
        terms=tuple(ref(t) for t in terms),
        **fields,
    )


def user(
    sid: str, role: str = "student", orgs: tuple[str, ...] = ("sch-1",), **fields: Any
) -> User:
    agents = fields.pop("agents", None)
    return User(
        sourced_id=sid,
        status=fields.pop("status", "active"),
        role=role,
        enabled_user=True,
        orgs=tuple(ref(o) for o in orgs),
        username=fields.pop("username", f"name.{sid}"),
        given_name=fields.pop("given_name", "Given"),
        family_name=fields.pop("family_name", "Family"),
        email=fields.pop("email", f"{sid}@example.org"),
        agents=None if agents is None else tuple(ref(a) for a in agents),
        **fields,
    )


def enrollment(
    sid: str, user_id: str, class_id: str = "cls-1", role: str = "student", **fields: Any
) -> Enrollment:
    return Enrollment(
        sourced_id=sid,
        status=fields.pop("status", "active"),
        user=ref(user_id),
        class_=ref(class_id),
        school=ref(fields.pop("school", "sch-1")),
        role=role,
        **fields,
    )


BASE_ORGS = [org("dst-1", "district"), org("sch-1"), org("sch-2")]
BASE_TERMS = [
    term("t1", date(2024, 8, 15), date(2024, 12, 20), title="Fall"),
    term("t2", date(2025, 1, 6), date(2025, 6, 5), title="Spring"),
]


def snapshot(**collections: Any) -> RosterSnapshot:
    collections.setdefault("orgs", BASE_ORGS)
    collections.setdefault("academic_sessions", BASE_TERMS)
    return RosterSnapshot(**collections)


def settings(**overrides: Any) -> RosterSettings:
    return RosterSettings(parent_domain_id="1", student_role="22", teacher_role="33", **overrides)


def run(snap: RosterSnapshot, **overrides: Any) -> DesiredState:
    return map_roster(snap, settings(**overrides), ROLES)


def issues_of(state: DesiredState, source: str) -> list[ValidationIssue]:
    return [issue for issue in state.issues if str(issue.source) == source]


def skips_of(state: DesiredState, source: str) -> list[ValidationIssue]:
    return [issue for issue in state.skipped if str(issue.source) == source]


def the_issue(state: DesiredState, source: str) -> ValidationIssue:
    [issue] = issues_of(state, source)
    return issue


# --- domains ------------------------------------------------------------------------------


def test_schools_become_domains_and_the_district_is_the_parent() -> None:
    state = run(snapshot(orgs=[*BASE_ORGS, org("dep-1", "department")]))
    assert set(state.domains) == {"sch-1", "sch-2"}
    domain = state.domains["sch-1"]
    assert (domain.name, domain.userspace, str(domain.source)) == (
        "School sch-1",
        "sch-1",
        "orgs/sch-1",
    )
    assert "parent domain" in skips_of(state, "orgs/dst-1")[0].reason
    assert "department" in skips_of(state, "orgs/dep-1")[0].reason
    assert state.issues == []


def test_userspaces_are_stable_slugs_of_the_sourced_id_with_the_prefix() -> None:
    orgs = [org("dst-1", "district"), org("sch-1"), org("SCH_1"), org("École 9"), org("___")]
    state = run(snapshot(orgs=orgs), userspace_prefix="nusd-")
    spaces = {sid: d.userspace for sid, d in state.domains.items()}
    assert spaces["sch-1"] == "nusd-sch-1"
    assert spaces["SCH_1"].startswith("nusd-sch-1-") and spaces["SCH_1"] != spaces["sch-1"]
    assert spaces["École 9"].startswith("nusd-cole-9-")
    assert len(set(spaces.values())) == len(spaces)
    for space in spaces.values():
        assert space == space.lower() and set(space) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    # The slug depends on the sourcedId only, never on names or on the other schools.
    renamed = run(snapshot(orgs=[org("SCH_1", name="Renamed")]), userspace_prefix="nusd-")
    assert renamed.domains["SCH_1"].userspace == spaces["SCH_1"]
    assert stable_slug("SCH_1") == stable_slug("SCH_1") != stable_slug("sch_1")


def test_the_identifier_scheme_uses_the_org_identifier() -> None:
    orgs = [
        org("dst-1", "district"),
        org("sch-1", identifier="0042"),
        org("sch-2"),
        org("sch-3", identifier="0042"),
    ]
    state = run(snapshot(orgs=orgs), userspace_scheme=UserspaceScheme.IDENTIFIER)
    assert state.domains["sch-1"].userspace == "0042"
    missing = the_issue(state, "orgs/sch-2")
    assert missing.field == "identifier" and "empty" in missing.reason
    clash = the_issue(state, "orgs/sch-3")
    assert clash.field == "identifier" and "orgs/sch-1" in clash.reason
    assert clash.raw is not None and clash.raw["sourcedId"] == "sch-3"
    assert set(state.domains) == {"sch-1"}


def test_a_school_without_a_name_is_an_issue() -> None:
    state = run(snapshot(orgs=[org("sch-1", name="  ")]))
    assert the_issue(state, "orgs/sch-1").field == "name"
    assert state.domains == {}


# --- users --------------------------------------------------------------------------------


def test_students_and_teachers_go_to_their_primary_school() -> None:
    users = [
        user("s1", orgs=("dst-1", "sch-2", "sch-1")),
        user("t1", "teacher", orgs=("sch-1",)),
        user("t2", "teacher", orgs=("dst-1",)),
    ]
    state = run(snapshot(users=users))
    assert state.users["s1"].domain_reference == "sch-2"
    assert state.users["s1"].kind is UserKind.STUDENT
    assert state.users["t1"].kind is UserKind.TEACHER
    assert state.users["t2"].domain_reference is None
    s1 = state.users["s1"]
    assert (s1.username, s1.email, s1.first_name, s1.last_name) == (
        "name.s1",
        "s1@example.org",
        "Given",
        "Family",
    )


def test_administrators_aides_and_unknown_roles_are_skipped_not_lost() -> None:
    users = [user("a1", "administrator"), user("i1", "aide"), user("x1", "districtAdministrator")]
    state = run(snapshot(users=users))
    assert state.users == {} and state.issues == []
    assert "administrator" in skips_of(state, "users/a1")[0].reason
    assert "aide" in skips_of(state, "users/i1")[0].reason
    assert skips_of(state, "users/x1")[0].field == "role"


@pytest.mark.parametrize(
    ("orgs", "words"),
    [
        ((), "is empty"),
        (("sch-9",), "orgs/sch-9 is not in the roster"),
        (("dep-1",), "orgs/dep-1 is not a school or district"),
        (("sch-x",), "orgs/sch-x is to be deleted"),
        (("sch-bad",), "orgs/sch-bad could not be mapped"),
    ],
)
def test_a_user_without_a_usable_school_is_an_issue(orgs: tuple[str, ...], words: str) -> None:
    extra = [
        org("dep-1", "department"),
        org("sch-x", status="tobedeleted"),
        org("sch-bad", name=""),
    ]
    state = run(snapshot(orgs=[*BASE_ORGS, *extra], users=[user("s1", orgs=orgs)]))
    issue = the_issue(state, "users/s1")
    assert issue.field == "orgs" and words in issue.reason
    assert "s1" not in state.users


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        (UsernameScheme.USERNAME, "name.s1"),
        (UsernameScheme.EMAIL, "s1@example.org"),
        (UsernameScheme.SOURCED_ID, "s1"),
    ],
)
def test_username_schemes(scheme: UsernameScheme, expected: str) -> None:
    state = run(snapshot(users=[user("s1")]), username_scheme=scheme)
    assert state.users["s1"].username == expected


@pytest.mark.parametrize(
    ("fields", "scheme", "field", "words"),
    [
        ({"username": ""}, UsernameScheme.USERNAME, "username", "is empty"),
        ({"email": None}, UsernameScheme.EMAIL, "email", "is empty"),
        ({"username": "jo doe"}, UsernameScheme.USERNAME, "username", "a space or '/'"),
        ({"username": "north/jo"}, UsernameScheme.USERNAME, "username", "a space or '/'"),
        ({"given_name": " "}, UsernameScheme.USERNAME, "givenName", "first name"),
        ({"family_name": ""}, UsernameScheme.USERNAME, "familyName", "last name"),
        ({"given_name": "", "family_name": ""}, UsernameScheme.USERNAME, None, "both names"),
        ({"status": "archived"}, UsernameScheme.USERNAME, "status", "unknown status"),
    ],
)
def test_users_that_cannot_be_mapped_are_issues(
    fields: dict[str, Any], scheme: UsernameScheme, field: str | None, words: str
) -> None:
    state = run(snapshot(users=[user("s1", **fields), user("s2")]), username_scheme=scheme)
    issue = the_issue(state, "users/s1")
    assert issue.field == field and words in issue.reason
    assert set(state.users) == {"s2"}


def test_a_duplicate_username_in_one_domain_goes_to_the_first_by_sourced_id() -> None:
    users = [
        user("s2", username="JDoe"),
        user("s1", username="jdoe"),
        user("s3", username="jdoe", orgs=("sch-2",)),
    ]
    state = run(snapshot(users=users))
    assert set(state.users) == {"s1", "s3"}
    issue = the_issue(state, "users/s2")
    assert issue.field == "username" and "users/s1" in issue.reason
    assert issue.raw is not None and issue.raw["sourcedId"] == "s2"


def test_to_be_deleted_records_are_absent_not_issues() -> None:
    users = [user("s1", status="tobedeleted"), user("s2")]
    classes = [klass("cls-1"), klass("cls-2", status="tobedeleted")]
    enrollments = [
        enrollment("e1", "s1"),
        enrollment("e2", "s2", "cls-2"),
        enrollment("e3", "s2", status="tobedeleted"),
        enrollment("e4", "s2"),
    ]
    orgs = [*BASE_ORGS, org("sch-3", status="tobedeleted")]
    state = run(snapshot(orgs=orgs, users=users, classes=classes, enrollments=enrollments))
    assert set(state.users) == {"s2"} and set(state.courses) == {"cls-1"}
    assert set(state.enrollments) == {"e4"} and "sch-3" not in state.domains
    assert state.issues == []
    assert "users/s1 is to be deleted" in skips_of(state, "enrollments/e1")[0].reason
    assert "classes/cls-2 is to be deleted" in skips_of(state, "enrollments/e2")[0].reason
    # Listed as deleted, so an incremental run can tell removals from unchanged records.
    assert {str(source) for source in state.deleted} == {
        "users/s1",
        "classes/cls-2",
        "orgs/sch-3",
        "enrollments/e1",
        "enrollments/e2",
        "enrollments/e3",
    }


def test_a_repeated_sourced_id_keeps_the_first_record_and_reports_the_other() -> None:
    users = [user("s1", username="first"), user("s1", username="second")]
    state = run(snapshot(users=users))
    assert state.users["s1"].username == "first"
    issue = the_issue(state, "users/s1")
    assert issue.field == "sourcedId" and "more than once" in issue.reason


# --- courses ------------------------------------------------------------------------------


def test_classes_become_courses_in_their_school_with_term_dates_in_the_time_zone() -> None:
    classes = [klass("cls-1", terms=("t2", "t1")), klass("cls-2", school="dst-1", terms=())]
    state = run(snapshot(classes=classes), time_zone="America/Chicago")
    course = state.courses["cls-1"]
    assert (course.domain_reference, course.title, course.term) == (
        "sch-1",
        "Class cls-1",
        "Fall, Spring",
    )
    # Midnight of the first day and the last second of the last day, Chicago time.
    assert course.start_date == datetime(2024, 8, 15, 5, 0, tzinfo=UTC)
    assert course.end_date == datetime(2025, 6, 6, 4, 59, 59, tzinfo=UTC)
    open_course = state.courses["cls-2"]
    assert open_course.domain_reference is None
    assert (open_course.start_date, open_course.end_date, open_course.term) == (None, None, None)


def test_ignore_sis_dates_leaves_every_date_open() -> None:
    snap = snapshot(
        classes=[klass("cls-1", terms=("t1", "t-missing"))],
        users=[user("s1")],
        enrollments=[enrollment("e1", "s1", begin_date=date(2024, 9, 1))],
    )
    state = run(snap, ignore_sis_dates=True)
    assert (state.courses["cls-1"].start_date, state.courses["cls-1"].end_date) == (None, None)
    assert state.courses["cls-1"].term == "Fall"
    assert (state.enrollments["e1"].start_date, state.enrollments["e1"].end_date) == (None, None)


def test_base_course_by_class_then_course_then_school_then_default() -> None:
    classes = [
        klass("cls-1", course="crs-1"),
        klass("cls-2", course="crs-1"),
        klass("cls-3", course="crs-2"),
        klass("cls-4", course="crs-2", school="sch-2"),
    ]
    bases = {"cls-1": "101", "crs-1": "102", "sch-1": "103"}
    state = run(snapshot(classes=classes), base_courses=bases, default_base_course_id="100")
    found = {sid: course.base_course_id for sid, course in state.courses.items()}
    assert found == {"cls-1": "101", "cls-2": "102", "cls-3": "103", "cls-4": "100"}
    assert run(snapshot(classes=classes)).courses["cls-4"].base_course_id is None


@pytest.mark.parametrize(
    ("record", "field", "words"),
    [
        (klass("cls-1", school="sch-9"), "school", "orgs/sch-9 is not in the roster"),
        (klass("cls-1", title=" "), "title", "is empty"),
        (klass("cls-1", terms=("t1", "t-9")), "terms", "academicSessions/t-9 is not in the roster"),
        (klass("cls-1", terms=("t-bad",)), "terms", "end before they start"),
    ],
)
def test_classes_that_cannot_be_mapped_are_issues(record: Class, field: str, words: str) -> None:
    sessions = [*BASE_TERMS, term("t-bad", date(2025, 2, 1), date(2025, 1, 1))]
    snap = snapshot(
        academic_sessions=sessions,
        classes=[record],
        users=[user("s1")],
        enrollments=[enrollment("e1", "s1")],
    )
    state = run(snap)
    issue = the_issue(state, "classes/cls-1")
    assert issue.field == field and words in issue.reason
    assert state.courses == {}
    assert "could not be mapped" in the_issue(state, "enrollments/e1").reason


# --- enrollments --------------------------------------------------------------------------


def test_enrollments_take_the_configured_roles_and_their_own_dates_else_the_class_dates() -> None:
    snap = snapshot(
        classes=[klass("cls-1", terms=("t1",))],
        users=[user("s1"), user("t1", "teacher")],
        enrollments=[
            enrollment("e1", "s1", begin_date=date(2024, 9, 2)),
            enrollment("e2", "t1", role="teacher", end_date=date(2024, 12, 1)),
        ],
    )
    state = run(snap)
    e1, e2 = state.enrollments["e1"], state.enrollments["e2"]
    assert (e1.role_id, e1.status, e1.user_reference, e1.course_reference) == (
        "22",
        EnrollmentStatus.ACTIVE,
        "s1",
        "cls-1",
    )
    assert e1.start_date == datetime(2024, 9, 2, tzinfo=UTC)
    assert e1.end_date == datetime(2024, 12, 20, 23, 59, 59, tzinfo=UTC)
    assert e2.role_id == "33"
    assert e2.start_date == datetime(2024, 8, 15, tzinfo=UTC)
    assert e2.end_date == datetime(2024, 12, 1, 23, 59, 59, tzinfo=UTC)


def test_an_enrollment_in_a_class_without_terms_is_open() -> None:
    snap = snapshot(
        classes=[klass("cls-1", terms=())], users=[user("s1")], enrollments=[enrollment("e1", "s1")]
    )
    e1 = run(snap).enrollments["e1"]
    assert (e1.start_date, e1.end_date) == (None, None)


@pytest.mark.parametrize(
    ("record", "field", "words"),
    [
        (enrollment("e1", "s1", role="aide"), "role", "role aide are not rostered"),
        (enrollment("e1", "s1", class_id="cls-9"), "class", "classes/cls-9 is not in the roster"),
        (enrollment("e1", "s9"), "user", "users/s9 is not in the roster"),
        (enrollment("e1", "a1"), "user", "users/a1 is not rostered (role administrator)"),
        (enrollment("e1", "bad"), "user", "users/bad could not be mapped"),
        (
            enrollment("e1", "s1", begin_date=date(2025, 1, 2), end_date=date(2025, 1, 1)),
            "endDate",
            "end before it begins",
        ),
        (enrollment("e1", "s1", begin_date=date(2025, 1, 2)), "beginDate", "end before it begins"),
    ],
)
def test_enrollments_that_cannot_be_mapped_are_issues(
    record: Enrollment, field: str, words: str
) -> None:
    snap = snapshot(
        classes=[klass("cls-1", terms=("t1",))],
        users=[user("s1"), user("a1", "administrator"), user("bad", given_name="")],
        enrollments=[record],
    )
    state = run(snap)
    issue = the_issue(state, "enrollments/e1")
    assert issue.field == field and words in issue.reason
    assert state.enrollments == {}


# --- observers ----------------------------------------------------------------------------


def test_observers_are_linked_from_either_side_and_live_with_their_first_student() -> None:
    users = [
        user("s1", orgs=("sch-2",), agents=("g2",)),
        user("s2", orgs=("sch-1",)),
        user("g1", "guardian", orgs=("sch-1",), agents=("s1", "s2")),
        user("g2", "parent", orgs=("sch-1",)),
        user("g3", "relative", orgs=("sch-1",), agents=("s-gone",)),
        user("s-gone", status="tobedeleted"),
    ]
    state = run(snapshot(users=users), observer_rights=Rights.READ_USER | Rights.READ_ENROLLMENT)
    assert state.users["g1"].kind is UserKind.OBSERVER
    assert state.users["g1"].domain_reference == "sch-2"  # s1 comes first in its agents
    assert state.users["g2"].domain_reference == "sch-2"
    pairs = {(link.observer_reference, link.student_reference) for link in state.observer_links}
    assert pairs == {("g1", "s1"), ("g1", "s2"), ("g2", "s1")}
    assert {link.rights for link in state.observer_links} == {
        Rights.READ_USER | Rights.READ_ENROLLMENT
    }
    assert {str(link.source) for link in state.observer_links} == {"users/g1", "users/g2"}
    assert "no rostered student" in skips_of(state, "users/g3")[0].reason
    assert state.issues == []


def test_observers_off_leaves_parents_out() -> None:
    users = [user("s1", agents=("g1",)), user("g1", "guardian", agents=("s1",))]
    state = run(snapshot(users=users), observers=False)
    assert set(state.users) == {"s1"} and state.observer_links == []
    assert "observers are off" in skips_of(state, "users/g1")[0].reason


def test_an_agent_that_is_not_in_the_roster_is_an_issue() -> None:
    users = [user("s1", agents=("g-9",)), user("g1", "guardian", agents=("s1", "s-9"))]
    state = run(snapshot(users=users))
    assert set(state.users) == {"s1", "g1"}
    assert "users/g-9 is not in the roster" in the_issue(state, "users/s1").reason
    assert "users/s-9 is not in the roster" in the_issue(state, "users/g1").reason
    assert {issue.field for issue in state.issues} == {"agents"}


def test_an_observer_whose_username_is_taken_is_an_issue() -> None:
    users = [user("a-g1", "guardian", username="same", agents=("s1",)), user("s1", username="same")]
    state = run(snapshot(users=users))
    assert set(state.users) == {"a-g1"}
    assert "users/a-g1" in the_issue(state, "users/s1").reason
    # The observer's only student lost its username: no link to a user Buzz will not hold.
    assert state.observer_links == []


# --- snapshot state -----------------------------------------------------------------------


def test_completeness_and_read_issues_come_from_the_snapshot() -> None:
    unreadable = ValidationIssue(
        source=SourceRecord(collection="users", sourced_id="u-x"),
        field="role",
        reason="unreadable",
    )
    snap = snapshot(complete=False, incomplete_reasons=["users: short"], issues=[unreadable])
    state = run(snap)
    assert (state.complete, state.incomplete_reasons, state.changed_only) == (
        False,
        ["users: short"],
        False,
    )
    assert state.issues == [unreadable]


def test_an_incremental_snapshot_trusts_references_to_unchanged_users() -> None:
    snap = snapshot(
        changed_since=datetime(2025, 1, 1, tzinfo=UTC),
        classes=[klass("cls-1")],
        users=[user("g1", "guardian", orgs=("sch-2",), agents=("s-old",))],
        enrollments=[enrollment("e1", "s-old"), enrollment("e2", "s-old", class_id="cls-9")],
    )
    state = run(snap)
    assert state.changed_only
    assert state.enrollments["e1"].user_reference == "s-old"
    assert state.users["g1"].domain_reference == "sch-2"  # its student is not in the read
    assert [(x.observer_reference, x.student_reference) for x in state.observer_links] == [
        ("g1", "s-old")
    ]
    # Classes are always read in full, so an unknown class is still an issue.
    assert the_issue(state, "enrollments/e2").field == "class"


def test_issue_reasons_hold_no_personal_values() -> None:
    users = [
        user("s1", username="zelda.q", given_name="Zelda", family_name="Quist", email="zq@ex.org"),
        user("s2", username="zelda.q", given_name="Zelda", family_name="Quist", email="zq@ex.org"),
        user("s3", username="has space", given_name="Ymir", family_name="", email="y@ex.org"),
    ]
    state = run(snapshot(users=users))
    assert len(state.issues) == 2
    for issue in state.issues:
        for value in ("zelda", "Zelda", "Quist", "zq@ex.org", "has space", "Ymir", "y@ex.org"):
            assert value not in issue.reason and value not in str(issue)
