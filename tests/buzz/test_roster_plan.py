"""Planning Buzz rostering: every action kind, field-level updates, matching, stable ids.

Buzz's state is always read over real HTTP from the loopback BuzzServer (seeded with what
"Buzz already holds"); desired states are built by hand.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneroster_client.buzz import BuzzClient, BuzzRetryPolicy, BuzzToken, EnrollmentStatus, Rights
from oneroster_client.buzz._wire import NO_END, NO_START
from oneroster_client.buzz.apply import apply_plan
from oneroster_client.buzz.current import BuzzState, read_buzz_state
from oneroster_client.buzz.desired import (
    DesiredCourse,
    DesiredDomain,
    DesiredEnrollment,
    DesiredObserverLink,
    DesiredState,
    DesiredUser,
    SourceRecord,
    UserKind,
)
from oneroster_client.buzz.plan import (
    Action,
    Operation,
    Plan,
    Ref,
    format_buzz_date,
    plan_roster,
)
from oneroster_client.buzz.settings import CourseRemoval, EnrollmentRemoval, RosterSettings
from oneroster_client.buzz.testing import BuzzServer

UA = "oneroster-client-tests/1.0 (roster plan tests; tests@example.org)"
DISTRICT = {"id": "10", "name": "District", "userspace": "district", "parentid": "1"}
SETTINGS = RosterSettings(parent_domain_id="10", student_role="2", teacher_role="3")
START = datetime(2026, 8, 20, tzinfo=UTC)
END = datetime(2027, 6, 1, tzinfo=UTC)


def _source(collection: str, sourced_id: str) -> SourceRecord:
    return SourceRecord(collection=collection, sourced_id=sourced_id)


def _user(
    ref: str, domain: str | None, kind: UserKind = UserKind.STUDENT, **kw: Any
) -> DesiredUser:
    fields: dict[str, Any] = {
        "username": ref.replace("-", ""),
        "email": f"{ref}@example.org",
        "first_name": "First",
        "last_name": f"Last {ref}",
    }
    fields.update(kw)
    return DesiredUser(reference=ref, domain_reference=domain, kind=kind, **fields)


def world(students: int = 4, *, base_course: str | None = None) -> DesiredState:
    """One school, ``students`` students in one class, a teacher and an observer."""
    desired = DesiredState()
    desired.domains["s-1"] = DesiredDomain(reference="s-1", name="North High", userspace="north")
    desired.users["tch-1"] = _user("tch-1", "s-1", UserKind.TEACHER)
    desired.users["obs-1"] = _user("obs-1", "s-1", UserKind.OBSERVER, email="")
    desired.courses["cls-1"] = DesiredCourse(
        reference="cls-1",
        domain_reference="s-1",
        title="Algebra I",
        base_course_id=base_course,
        start_date=START,
        end_date=END,
        term="2026-27",
    )
    members = [("tch-1", "3")] + [(f"stu-{n}", "2") for n in range(students)]
    for n in range(students):
        desired.users[f"stu-{n}"] = _user(f"stu-{n}", "s-1")
    for user, role in members:
        ref = f"enr-{user}"
        desired.enrollments[ref] = DesiredEnrollment(
            reference=ref,
            user_reference=user,
            course_reference="cls-1",
            role_id=role,
            status=EnrollmentStatus.ACTIVE,
            start_date=None,
            end_date=None,
        )
    if students:
        desired.observer_links.append(
            DesiredObserverLink(
                observer_reference="obs-1", student_reference="stu-0", rights=Rights.READ_USER
            )
        )
    return desired


@pytest.fixture
def buzz(buzz_server: BuzzServer) -> Iterator[BuzzClient]:
    buzz_server.seed({"domains": [DISTRICT]})
    client = BuzzClient(
        buzz_server.base_url,
        auth=BuzzToken(buzz_server.issue_token()),
        user_agent=UA,
        retry=BuzzRetryPolicy(sleep=lambda _: None, random=lambda: 0.5),
        timeout=5.0,
    )
    yield client
    client.close()


def plan_now(buzz: BuzzClient, desired: DesiredState, **changes: Any) -> Plan:
    settings_ = attrs.evolve(SETTINGS, **changes)
    return plan_roster(desired, read_buzz_state(buzz, settings_), settings_)


def sync(buzz: BuzzClient, desired: DesiredState, **changes: Any) -> Plan:
    """Plan and apply (approved); the plan applied."""
    plan = plan_now(buzz, desired, **changes)
    result = apply_plan(plan, buzz, approve=True)
    assert result.ok, [(o.operation.reference, o.code, o.message) for o in result.failures]
    return plan


def ops(plan: Plan, entity: str, action: Action | None = None) -> list[Operation]:
    return [
        o for o in plan.operations if o.entity == entity and (action is None or o.action == action)
    ]


# -- creates ---------------------------------------------------------------------------


def test_empty_buzz_gets_every_create_in_dependency_order(buzz: BuzzClient) -> None:
    plan = plan_now(buzz, world(3))
    assert [o.entity for o in plan.operations] == (
        ["domains"] + ["users"] * 5 + ["courses"] + ["enrollments"] * 4 + ["observers"]
    )
    assert all(o.action in (Action.CREATE, Action.GRANT) for o in plan.operations)
    (domain,) = ops(plan, "domains")
    assert domain.payload == {
        "parentid": "10",
        "name": "North High",
        "userspace": "north",
        "reference": "s-1",
    }
    student = next(o for o in ops(plan, "users") if o.reference == "stu-0")
    assert student.payload == {
        "domainid": Ref("domains", "s-1"),
        "username": "stu0",
        "email": "stu-0@example.org",
        "firstname": "First",
        "lastname": "Last stu-0",
        "reference": "stu-0",
    }
    assert student.source == _source("users", "stu-0")
    (course,) = ops(plan, "courses")
    assert course.payload["schema"] == 3 and "courseid" not in course.payload
    assert course.payload["startdate"] == "2026-08-20T00:00:00Z"
    assert course.payload["enddate"] == "2027-06-01T00:00:00Z"
    enrollment = next(o for o in ops(plan, "enrollments") if o.reference == "enr-stu-1")
    assert enrollment.payload == {
        "userid": Ref("users", "stu-1"),
        "entityid": Ref("courses", "cls-1"),
        "roleid": "2",
        "status": 1,
        "startdate": "1753-01-01T00:00:00Z",  # Buzz's "no start"
        "enddate": "9999-12-31T00:00:00Z",  # Buzz's "no end"
        "reference": "enr-stu-1",
    }
    (grant,) = ops(plan, "observers")
    assert grant.reference == "obs-1->stu-0"
    assert grant.payload == {
        "actorid": Ref("users", "obs-1"),
        "entityid": Ref("users", "stu-0"),
        "flags": 512,
    }
    assert plan.counts() == {
        "domains": {"create": 1},
        "users": {"create": 5},
        "courses": {"create": 1},
        "enrollments": {"create": 4},
        "observers": {"grant": 1},
    }
    assert not plan.held and plan.removals_suppressed is None


def test_a_class_with_a_base_course_is_a_derivative_copy(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    buzz_server.seed({"courses": [{"id": "500", "title": "Algebra master", "domainid": "10"}]})
    plan = plan_now(buzz, world(1, base_course="500"))
    (course,) = ops(plan, "courses")
    assert course.payload["courseid"] == "500"
    assert course.payload["action"] == "DerivativeChildCopy"
    assert "schema" not in course.payload
    sync(buzz, world(1, base_course="500"))
    copy = next(c for c in buzz_server.courses() if c["reference"] == "cls-1")
    assert copy["baseid"] == "500" and copy["title"] == "Algebra I"


def test_after_an_apply_the_next_plan_is_empty(buzz: BuzzClient) -> None:
    desired = world(5)
    first = sync(buzz, desired)
    again = plan_now(buzz, desired)
    assert again.operations == [] and again.empty
    assert again.unchanged == {
        "domains": 1,
        "users": 7,
        "courses": 1,
        "enrollments": 6,
        "observers": 1,
    }
    assert again.id != first.id


# -- updates ---------------------------------------------------------------------------


def test_updates_carry_only_the_fields_that_differ(buzz: BuzzClient) -> None:
    desired = world(2)
    sync(buzz, desired)
    current = read_buzz_state(buzz, SETTINGS)
    changed = attrs.evolve(
        desired,
        domains={"s-1": attrs.evolve(desired.domains["s-1"], name="North High School")},
        users={**desired.users, "stu-1": attrs.evolve(desired.users["stu-1"], last_name="New")},
        courses={"cls-1": attrs.evolve(desired.courses["cls-1"], title="Algebra 1", end_date=None)},
        enrollments={
            **desired.enrollments,
            "enr-stu-0": attrs.evolve(
                desired.enrollments["enr-stu-0"], status=EnrollmentStatus.SUSPENDED
            ),
        },
    )
    plan = plan_roster(changed, current, SETTINGS)
    by_ref = {(o.entity, o.reference): o for o in plan.operations}
    assert set(by_ref) == {
        ("domains", "s-1"),
        ("users", "stu-1"),
        ("courses", "cls-1"),
        ("enrollments", "enr-stu-0"),
    }
    assert all(o.action is Action.UPDATE for o in plan.operations)
    domain = by_ref[("domains", "s-1")]
    assert domain.changes == ("name",)
    assert domain.payload == {"domainid": current.domains["s-1"].id, "name": "North High School"}
    user = by_ref[("users", "stu-1")]
    assert user.changes == ("lastname",)
    assert user.payload == {"userid": current.users["stu-1"].id, "lastname": "New"}
    course = by_ref[("courses", "cls-1")]
    assert course.changes == ("title", "enddate")
    assert course.payload["enddate"] == "9999-12-31T00:00:00Z"
    assert by_ref[("enrollments", "enr-stu-0")].payload == {
        "enrollmentid": current.enrollments["enr-stu-0"].id,
        "status": 9,
    }
    assert plan.unchanged["users"] == 3
    assert apply_plan(plan, buzz).ok
    assert plan_now(buzz, changed).empty


def test_ignore_sis_dates_never_overwrites_dates_set_in_buzz(buzz: BuzzClient) -> None:
    desired = world(2)
    sync(buzz, desired, ignore_sis_dates=True)
    current = read_buzz_state(buzz, SETTINGS)
    course_id = current.courses["cls-1"].id
    # Someone dates the course in Buzz; the SIS says something else again.
    assert apply_plan_update(buzz, course_id, "2027-06-30T00:00:00Z")
    dated = attrs.evolve(
        desired,
        courses={
            "cls-1": attrs.evolve(
                desired.courses["cls-1"], end_date=datetime(2026, 1, 31, tzinfo=UTC)
            )
        },
    )
    assert plan_now(buzz, dated, ignore_sis_dates=True).empty
    changed = plan_now(buzz, dated)
    assert [o.changes for o in ops(changed, "courses")] == [("enddate",)]


def apply_plan_update(buzz: BuzzClient, course_id: str | None, end: str) -> bool:
    assert course_id is not None
    return buzz.update_courses([{"courseid": course_id, "enddate": end}]).ok


def test_a_username_freed_by_a_rename_is_taken_in_the_same_run(buzz: BuzzClient) -> None:
    desired = world(1)
    sync(buzz, desired)
    desired.users["stu-0"] = attrs.evolve(desired.users["stu-0"], username="renamed")
    desired.users["a-new"] = _user("a-new", "s-1", username="stu0")
    plan = sync(buzz, desired)
    users = [(o.action, o.reference) for o in ops(plan, "users")]
    assert users == [(Action.UPDATE, "stu-0"), (Action.CREATE, "a-new")]
    assert plan_now(buzz, desired).empty


def test_an_enrollment_moving_to_another_user_is_an_update_of_userid(buzz: BuzzClient) -> None:
    desired = world(2)
    sync(buzz, desired)
    moved = attrs.evolve(desired.enrollments["enr-stu-0"], user_reference="stu-1")
    desired.enrollments["enr-stu-0"] = moved
    del desired.enrollments["enr-stu-1"]
    plan = plan_now(buzz, desired)
    update = next(o for o in plan.operations if o.reference == "enr-stu-0")
    assert update.action is Action.UPDATE and update.changes == ("userid",)


# -- matching ----------------------------------------------------------------------------


def _unmanaged_user(buzz_server: BuzzServer, username: str, email: str) -> str:
    buzz_server.seed(
        {
            "domains": [{"id": "20", "name": "North", "userspace": "north", "parentid": "10"}],
            "users": [
                {
                    "id": "30",
                    "domainid": "20",
                    "username": username,
                    "email": email,
                    "firstname": "Hand",
                    "lastname": "Made",
                }
            ],
        }
    )
    return "30"


def _with_school_reference(buzz_server: BuzzServer) -> None:
    """The school domain seeded by hand already carries its reference."""
    for domain in buzz_server.store.records["domain"].values():
        if domain["id"] == "20":
            domain["reference"] = "s-1"


@pytest.mark.parametrize(
    ("username", "email", "rule"),
    [("stu0", "other@example.org", "username"), ("someone", "STU-0@example.org", "email")],
)
def test_an_unreferenced_user_with_the_same_username_or_email_is_adopted(
    buzz: BuzzClient, buzz_server: BuzzServer, username: str, email: str, rule: str
) -> None:
    user_id = _unmanaged_user(buzz_server, username, email)
    _with_school_reference(buzz_server)
    plan = plan_now(buzz, world(1))
    adoption = next(o for o in plan.operations if o.reference == "stu-0")
    assert adoption.action is Action.UPDATE and adoption.buzz_id == user_id
    assert "reference" in adoption.changes and adoption.payload["reference"] == "stu-0"
    assert adoption.payload["userid"] == user_id
    enrollment = next(o for o in plan.operations if o.reference == "enr-stu-0")
    assert enrollment.payload["userid"] == user_id  # the adopted id, not a Ref
    assert apply_plan(plan, buzz).ok
    named = [u for u in buzz_server.users() if u["reference"] == "stu-0"]
    assert [u["id"] for u in named] == [user_id]
    assert plan_now(buzz, world(1)).empty


def test_matching_only_by_reference_never_adopts(buzz: BuzzClient, buzz_server: BuzzServer) -> None:
    _unmanaged_user(buzz_server, "someone", "stu-0@example.org")
    _with_school_reference(buzz_server)
    plan = plan_now(buzz, world(1), user_matching=("reference",))
    assert next(o for o in plan.operations if o.reference == "stu-0").action is Action.CREATE


def test_two_unreferenced_users_sharing_the_email_are_not_adopted(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    _unmanaged_user(buzz_server, "one", "stu-0@example.org")
    _with_school_reference(buzz_server)
    buzz_server.seed(
        {
            "users": [
                {
                    "domainid": "20",
                    "username": "two",
                    "email": "stu-0@example.org",
                    "firstname": "A",
                    "lastname": "B",
                }
            ]
        }
    )
    plan = plan_now(buzz, world(1), user_matching=("reference", "email"))
    assert next(o for o in plan.operations if o.reference == "stu-0").action is Action.CREATE
    assert any("share its email" in w for w in plan.warnings)


def test_an_unreferenced_enrollment_of_the_same_pair_is_adopted(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    desired = world(1)
    sync(buzz, desired)
    current = read_buzz_state(buzz, SETTINGS)
    row = next(e for e in buzz_server.enrollments() if e["reference"] == "enr-stu-0")
    buzz_server.store.records["enrollment"][row["id"]]["reference"] = ""
    plan = plan_now(buzz, desired)
    (adoption,) = plan.operations
    assert adoption.action is Action.UPDATE and adoption.changes == ("reference",)
    assert adoption.buzz_id == current.enrollments["enr-stu-0"].id
    assert apply_plan(plan, buzz).ok and plan_now(buzz, desired).empty


def test_objects_without_reference_are_counted_and_never_touched(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    buzz_server.seed(
        {
            "users": [{"domainid": "10", "username": "admin2", "firstname": "A", "lastname": "B"}],
            "courses": [{"title": "Hand-made", "domainid": "10"}],
        }
    )
    sync(buzz, world(1))
    current = read_buzz_state(buzz, SETTINGS)
    assert current.unmanaged_counts == {"domains": 0, "users": 1, "courses": 1, "enrollments": 0}
    every = attrs.evolve(
        SETTINGS,
        cascade_deletes=True,
        delete_domains=True,
        unshared_courses=CourseRemoval.DELETE,
        unshared_enrollments=EnrollmentRemoval.DELETE,
        removal_threshold=1.0,
    )
    plan = plan_roster(DesiredState(), current, every)
    unmanaged_ids = {u.id for u in current.unmanaged_users} | {
        c.id for c in current.unmanaged_courses
    }
    assert plan.operations and not {o.buzz_id for o in plan.operations} & unmanaged_ids


# -- removals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "action", "status"),
    [
        (EnrollmentRemoval.WITHDRAWN, Action.WITHDRAW, 4),
        (EnrollmentRemoval.INACTIVE, Action.WITHDRAW, 10),
        (EnrollmentRemoval.DELETE, Action.DELETE, None),
    ],
)
def test_an_enrollment_gone_from_the_sis_follows_the_policy(
    buzz: BuzzClient,
    buzz_server: BuzzServer,
    policy: EnrollmentRemoval,
    action: Action,
    status: int | None,
) -> None:
    desired = world(12)
    sync(buzz, desired)
    del desired.enrollments["enr-stu-3"]
    plan = plan_now(buzz, desired, unshared_enrollments=policy)
    (removal,) = plan.operations
    assert (removal.entity, removal.action, removal.reference) == (
        "enrollments",
        action,
        "enr-stu-3",
    )
    assert removal.payload.get("status") == status
    assert not plan.held
    assert apply_plan(plan, buzz).ok
    rows = [e for e in buzz_server.enrollments() if e["reference"] == "enr-stu-3"]
    assert [int(e["status"]) for e in rows] == ([] if status is None else [status])
    assert plan_now(buzz, desired, unshared_enrollments=policy).empty


def test_nothing_policy_leaves_gone_enrollments_alone(buzz: BuzzClient) -> None:
    desired = world(3)
    sync(buzz, desired)
    del desired.enrollments["enr-stu-0"]
    assert plan_now(buzz, desired, unshared_enrollments=EnrollmentRemoval.NOTHING).empty


def test_a_completed_enrollment_gone_from_the_sis_keeps_its_status(buzz: BuzzClient) -> None:
    desired = world(12)
    desired.enrollments["enr-stu-2"] = attrs.evolve(
        desired.enrollments["enr-stu-2"], status=EnrollmentStatus.COMPLETED
    )
    sync(buzz, desired)
    del desired.enrollments["enr-stu-2"]
    assert plan_now(buzz, desired).empty


def test_an_observer_link_gone_from_the_sis_is_revoked(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    desired = world(2)
    sync(buzz, desired)
    desired.observer_links.clear()
    plan = plan_now(buzz, desired, removal_threshold=1.0)
    (revoke,) = plan.operations
    assert (revoke.entity, revoke.action, revoke.payload["flags"]) == (
        "observers",
        Action.REVOKE,
        0,
    )
    assert apply_plan(plan, buzz).ok
    assert buzz_server.rights() == {}
    assert plan_now(buzz, desired, removal_threshold=1.0).empty


def test_removals_come_last_in_reverse_dependency_order(buzz: BuzzClient) -> None:
    desired = world(2)
    sync(buzz, desired)
    desired.domains.clear()
    shrunk = DesiredState(domains={}, users={"new-1": _user("new-1", None)})
    plan = plan_now(
        buzz,
        shrunk,
        cascade_deletes=True,
        delete_domains=True,
        unshared_courses=CourseRemoval.DELETE,
        removal_threshold=1.0,
    )
    kinds = [(o.entity, o.action) for o in plan.operations]
    assert kinds[0] == ("users", Action.CREATE)
    # Enrollments of deleted users and courses go with them (Buzz cascades), so the
    # removals are: observer grants first, then courses, users, domains.
    assert [k for k in kinds[1:]] == sorted(
        kinds[1:], key=lambda k: ["observers", "courses", "users", "domains"].index(k[0])
    )
    assert {k[0] for k in kinds[1:]} == {"courses", "users", "domains"}


# -- issues and stability ------------------------------------------------------------------


def test_an_enrollment_whose_user_is_nowhere_is_an_issue_not_an_operation(
    buzz: BuzzClient,
) -> None:
    desired = world(1)
    del desired.users["stu-0"]
    desired.observer_links.clear()
    plan = plan_now(buzz, desired)
    assert not [o for o in plan.operations if o.reference == "enr-stu-0"]
    (issue,) = plan.issues
    assert issue.source == _source("enrollments", "enr-stu-0") and issue.field == "user"
    assert "users/stu-0" in issue.reason


def test_an_incremental_read_links_changed_records_to_unchanged_ones_in_buzz(
    buzz: BuzzClient,
) -> None:
    full = world(2)
    sync(buzz, full)
    current = read_buzz_state(buzz, SETTINGS)
    late = DesiredEnrollment(
        reference="enr-late",
        user_reference="stu-1",
        course_reference="cls-1",
        role_id="2",
        status=EnrollmentStatus.ACTIVE,
        start_date=START,
        end_date=None,
    )
    link = attrs.evolve(full.observer_links[0], student_reference="stu-1")
    changed = DesiredState(enrollments={"enr-late": late}, observer_links=[link], changed_only=True)
    plan = plan_roster(changed, current, SETTINGS)
    assert plan.issues == []
    enrollment, grant = plan.operations
    assert enrollment.payload["userid"] == current.users["stu-1"].id
    assert enrollment.payload["entityid"] == current.courses["cls-1"].id
    assert grant.payload["actorid"] == current.users["obs-1"].id
    assert plan.removals_suppressed is not None


def test_a_user_in_an_unknown_school_is_an_issue(buzz: BuzzClient) -> None:
    desired = world(0)
    desired.users["x-1"] = _user("x-1", "s-404")
    plan = plan_now(buzz, desired)
    assert [i.source.sourced_id for i in plan.issues] == ["x-1"]
    assert "orgs/s-404" in plan.issues[0].reason


def _shuffled(desired: DesiredState, seed: int) -> DesiredState:
    rng = random.Random(seed)

    def mix(mapping: dict[str, Any]) -> dict[str, Any]:
        items = list(mapping.items())
        rng.shuffle(items)
        return dict(items)

    links = list(desired.observer_links)
    rng.shuffle(links)
    return attrs.evolve(
        desired,
        domains=mix(desired.domains),
        users=mix(desired.users),
        courses=mix(desired.courses),
        enrollments=mix(desired.enrollments),
        observer_links=links,
    )


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), students=st.integers(0, 8))
def test_plan_order_and_id_do_not_depend_on_input_order(seed: int, students: int) -> None:
    current = BuzzState(parent_domain_id="10")
    desired = world(students)
    first = plan_roster(desired, current, SETTINGS)
    second = plan_roster(_shuffled(desired, seed), current, SETTINGS)
    assert first.operations == second.operations
    assert first.id == second.id


def test_the_plan_id_changes_with_the_operations() -> None:
    current = BuzzState(parent_domain_id="10")
    one = plan_roster(world(2), current, SETTINGS)
    other = plan_roster(world(3), current, SETTINGS)
    assert one.id == plan_roster(world(2), current, SETTINGS).id
    assert one.id != other.id and len(one.id) == 16


# -- reading Buzz ----------------------------------------------------------------------------


def _person(ident: str, domain: str, reference: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "domainid": domain,
        "username": f"user{ident}",
        "firstname": "F",
        "lastname": "L",
        "reference": reference,
        **extra,
    }


def test_the_buzz_state_covers_the_district_tree_and_only_live_objects(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    buzz_server.seed(
        {
            "domains": [
                {"id": "20", "name": "S", "userspace": "s1", "parentid": "10", "reference": "s-1"},
                {
                    "id": "21",
                    "name": "Annex",
                    "userspace": "s1a",
                    "parentid": "20",
                    "reference": "s-1a",
                },
                {
                    "id": "22",
                    "name": "Else",
                    "userspace": "else",
                    "parentid": "1",
                    "reference": "x",
                },
            ],
            "users": [
                _person("40", "21", "dup"),
                _person("41", "20", "dup"),
                _person("42", "21", "gone", deleted=True),
                _person("43", "22", "outsider"),
                _person("44", "20", "obs"),
                _person("45", "10", ""),
            ],
            "rights": [{"actorid": "44", "entityid": "40", "flags": 512}],
        }
    )
    current = read_buzz_state(buzz, SETTINGS)
    assert current.complete and current.incomplete_reasons == []
    assert set(current.domains) == {"s-1", "s-1a"}
    assert set(current.users) == {"dup", "obs"}
    assert current.users["dup"].id == "40" and current.duplicates == {"users": ["41"]}
    assert [u.id for u in current.unmanaged_users] == ["45"]
    assert current.rights[("obs", "dup")].flags == Rights.READ_USER
    plan = plan_roster(DesiredState(complete=False), current, SETTINGS)
    assert any("ids 41" in w for w in plan.warnings)
    before = buzz_server.commands().count("getactorrights")
    limited = read_buzz_state(buzz, SETTINGS, observers=["obs", "nobody"])
    assert buzz_server.commands().count("getactorrights") - before == 1
    assert limited.rights == current.rights
    off = read_buzz_state(buzz, attrs.evolve(SETTINGS, observers=False))
    assert off.rights == {}
    assert buzz_server.commands().count("getactorrights") - before == 1


def test_buzz_dates_are_the_instant_whatever_the_zone_or_fold() -> None:
    new_york = ZoneInfo("America/New_York")
    first = datetime(2024, 11, 3, 1, 30, tzinfo=new_york, fold=0)  # the hour clocks repeat
    second = first.replace(fold=1)
    assert format_buzz_date(first, NO_START) == "2024-11-03T05:30:00Z"
    assert format_buzz_date(second, NO_START) == "2024-11-03T06:30:00Z"
    assert format_buzz_date(datetime(2024, 11, 3, 6, 30), NO_START) == "2024-11-03T06:30:00Z"
    assert format_buzz_date(None, NO_END) == NO_END


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from([UTC, ZoneInfo("America/New_York")]),
    )
)
def test_buzz_dates_match_an_uncached_conversion(moment: datetime) -> None:
    expected = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert format_buzz_date(moment, NO_START) == expected
