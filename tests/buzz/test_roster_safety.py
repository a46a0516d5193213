"""Safety of Buzz rostering: no removals from partial reads, held plans, no cascades unasked.

Everything goes through real HTTP against the loopback BuzzServer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from oneroster_client.buzz import (
    BuzzClient,
    BuzzError,
    BuzzRetryPolicy,
    BuzzToken,
    EnrollmentStatus,
    Rights,
)
from oneroster_client.buzz.apply import PlanHeldError, apply_plan
from oneroster_client.buzz.current import read_buzz_state
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
from oneroster_client.buzz.plan import REMOVALS, Action, Plan, plan_roster
from oneroster_client.buzz.settings import CourseRemoval, RosterSettings
from oneroster_client.buzz.testing import BuzzServer
from oneroster_client.errors import OneRosterError

UA = "oneroster-client-tests/1.0 (roster safety tests; tests@example.org)"
SETTINGS = RosterSettings(parent_domain_id="10", student_role="2", teacher_role="3")


def _source(collection: str, sourced_id: str) -> SourceRecord:
    return SourceRecord(collection=collection, sourced_id=sourced_id)


def district(schools: int = 2, students: int = 10) -> DesiredState:
    """``schools`` schools, each with ``students`` students enrolled in one class."""
    desired = DesiredState()
    for s in range(schools):
        school, course = f"s-{s}", f"cls-{s}"
        desired.domains[school] = DesiredDomain(
            reference=school, name=f"School {s}", userspace=f"school{s}"
        )
        desired.courses[course] = DesiredCourse(
            reference=course,
            domain_reference=school,
            title=f"Class {s}",
            base_course_id=None,
            start_date=datetime(2026, 8, 20, tzinfo=UTC),
            end_date=None,
            term=None,
        )
        for n in range(students):
            user, enrollment = f"stu-{s}-{n}", f"enr-{s}-{n}"
            desired.users[user] = DesiredUser(
                reference=user,
                domain_reference=school,
                username=f"stu{s}x{n}",
                email="",
                first_name="F",
                last_name="L",
                kind=UserKind.STUDENT,
            )
            desired.enrollments[enrollment] = DesiredEnrollment(
                reference=enrollment,
                user_reference=user,
                course_reference=course,
                role_id="2",
                status=EnrollmentStatus.ACTIVE,
                start_date=None,
                end_date=None,
            )
    return desired


def without(desired: DesiredState, **drop: Any) -> DesiredState:
    """``desired`` without the given references per collection."""
    kept = {
        name: {k: v for k, v in getattr(desired, name).items() if k not in set(refs)}
        for name, refs in drop.items()
    }
    return attrs.evolve(desired, **kept)


def client_for(server: BuzzServer, retry: BuzzRetryPolicy | None = None) -> BuzzClient:
    return BuzzClient(
        server.base_url,
        auth=BuzzToken(server.issue_token()),
        user_agent=UA,
        retry=retry or BuzzRetryPolicy(sleep=lambda _: None, random=lambda: 0.5),
        timeout=5.0,
    )


@pytest.fixture
def buzz(buzz_server: BuzzServer) -> Iterator[BuzzClient]:
    buzz_server.seed(
        {"domains": [{"id": "10", "name": "District", "userspace": "district", "parentid": "1"}]}
    )
    client = client_for(buzz_server)
    yield client
    client.close()


@pytest.fixture
def synced(buzz: BuzzClient) -> DesiredState:
    """Buzz holds the whole district."""
    desired = district()
    plan = plan_roster(desired, read_buzz_state(buzz, SETTINGS), SETTINGS)
    assert apply_plan(plan, buzz).ok
    return desired


def plan_now(buzz: BuzzClient, desired: DesiredState, **changes: Any) -> Plan:
    settings = attrs.evolve(SETTINGS, **changes)
    return plan_roster(desired, read_buzz_state(buzz, settings), settings)


def removals(plan: Plan) -> list[tuple[str, Action, str]]:
    return [(o.entity, o.action, o.reference) for o in plan.operations if o.action in REMOVALS]


# -- partial reads -----------------------------------------------------------------------


def test_an_incomplete_buzz_read_plans_no_removals_and_says_why(
    buzz_server: BuzzServer, synced: DesiredState
) -> None:
    fragile = client_for(buzz_server, BuzzRetryPolicy.none())
    buzz_server.faults.fail_next(502, count=3)  # listdomains (after no retries) fails
    current = read_buzz_state(fragile, SETTINGS)
    assert not current.complete
    assert "listdomains under domain 10" in current.incomplete_reasons[0]
    gone = without(synced, enrollments=["enr-0-0"], courses=["cls-1"])
    plan = plan_roster(gone, current, attrs.evolve(SETTINGS, cascade_deletes=True))
    assert removals(plan) == []
    assert plan.removals_suppressed is not None
    assert "the Buzz read was incomplete" in plan.removals_suppressed
    assert "listdomains" in plan.removals_suppressed
    # Nothing was found in the school domains, but nothing is created again either.
    assert not [o for o in plan.operations if o.action is Action.CREATE]
    assert plan.creates_suppressed is not None and "may exist already" in plan.creates_suppressed
    assert plan.operations == [] and len(buzz_server.courses()) == 2
    fragile.close()


def test_a_failing_listing_mid_read_marks_the_state_incomplete(
    buzz_server: BuzzServer, synced: DesiredState
) -> None:
    fragile = client_for(buzz_server, BuzzRetryPolicy.none())
    buzz_server.faults.status_every = 5
    buzz_server.faults.status_code = 500
    current = read_buzz_state(fragile, SETTINGS)
    buzz_server.faults.status_every = None
    assert not current.complete and current.incomplete_reasons
    assert all("could not be read completely" in r for r in current.incomplete_reasons)
    plan = plan_roster(without(synced, enrollments=["enr-1-1"]), current, SETTINGS)
    assert removals(plan) == [] and plan.removals_suppressed
    fragile.close()


def test_an_incomplete_oneroster_read_plans_no_removals(
    buzz: BuzzClient, synced: DesiredState
) -> None:
    partial = attrs.evolve(
        without(synced, enrollments=[f"enr-0-{n}" for n in range(10)]),
        complete=False,
        incomplete_reasons=["enrollments: page 3 failed"],
    )
    plan = plan_now(buzz, partial)
    assert removals(plan) == [] and plan.operations == []
    assert plan.removals_suppressed is not None
    assert "OneRoster read was incomplete (enrollments: page 3 failed)" in plan.removals_suppressed
    assert not plan.held


def test_an_incremental_read_plans_no_removals(buzz: BuzzClient, synced: DesiredState) -> None:
    changed = DesiredState(users={"stu-0-0": synced.users["stu-0-0"]}, changed_only=True)
    plan = plan_now(buzz, changed, cascade_deletes=True)
    assert plan.operations == []
    assert plan.removals_suppressed is not None and "incremental" in plan.removals_suppressed


# -- the removal threshold ---------------------------------------------------------------


def test_dropping_half_the_enrollments_holds_the_plan(
    buzz: BuzzClient, buzz_server: BuzzServer, synced: DesiredState
) -> None:
    half = without(synced, enrollments=[f"enr-0-{n}" for n in range(10)])
    plan = plan_now(buzz, half)
    assert plan.held
    assert plan.hold_reason is not None
    assert "enrollments: 10 of 20" in plan.hold_reason
    assert "removal_threshold 10%" in plan.hold_reason
    sent = len(buzz_server.requests)
    with pytest.raises(PlanHeldError) as refused:
        apply_plan(plan, buzz)
    assert isinstance(refused.value, BuzzError) and isinstance(refused.value, OneRosterError)
    assert refused.value.plan_id == plan.id and plan.id in str(refused.value)
    assert len(buzz_server.requests) == sent  # nothing was sent
    statuses = {int(e["status"]) for e in buzz_server.enrollments() if e["reference"]}
    assert statuses == {1}


@pytest.mark.parametrize("approval", ["true", "plan-id"])
def test_a_held_plan_applies_when_approved(
    buzz: BuzzClient, buzz_server: BuzzServer, synced: DesiredState, approval: str
) -> None:
    half = without(synced, enrollments=[f"enr-0-{n}" for n in range(10)])
    plan = plan_now(buzz, half)
    result = apply_plan(plan, buzz, approve=True if approval == "true" else plan.id)
    assert result.ok and result.counts()["enrollments"]["withdrawn"] == 10
    withdrawn = [e for e in buzz_server.enrollments() if int(e["status"]) == 4]
    assert sorted(e["reference"] for e in withdrawn) == sorted(f"enr-0-{n}" for n in range(10))
    assert plan_now(buzz, half).empty


def test_the_approval_of_another_plan_does_not_apply_a_held_one(
    buzz: BuzzClient, synced: DesiredState
) -> None:
    plan = plan_now(buzz, without(synced, enrollments=[f"enr-0-{n}" for n in range(10)]))
    other = plan_now(buzz, without(synced, enrollments=[f"enr-0-{n}" for n in range(9)]))
    assert other.held and other.id != plan.id
    with pytest.raises(PlanHeldError, match="not this one"):
        apply_plan(plan, buzz, approve=other.id)
    with pytest.raises(PlanHeldError):
        apply_plan(plan, buzz, approve=False)


def test_removals_under_the_threshold_are_not_held(buzz: BuzzClient, synced: DesiredState) -> None:
    plan = plan_now(buzz, without(synced, enrollments=["enr-0-0", "enr-1-0"]))
    assert removals(plan) == [
        ("enrollments", Action.WITHDRAW, "enr-0-0"),
        ("enrollments", Action.WITHDRAW, "enr-1-0"),
    ]
    assert not plan.held and plan.hold_reason is None
    assert apply_plan(plan, buzz).ok


def test_the_removal_cap_holds_the_plan_whatever_the_share(
    buzz: BuzzClient, synced: DesiredState
) -> None:
    gone = without(synced, enrollments=["enr-0-0", "enr-0-1", "enr-0-2"])
    plan = plan_now(buzz, gone, removal_threshold=1.0, removal_cap=2)
    assert plan.held and plan.hold_reason == "enrollments: 3 would be removed, above removal_cap 2"
    assert not plan_now(buzz, gone, removal_threshold=1.0, removal_cap=3).held


def test_the_threshold_is_per_entity_type(buzz: BuzzClient, synced: DesiredState) -> None:
    gone = without(synced, courses=["cls-1"])
    gone = without(gone, enrollments=[f"enr-1-{n}" for n in range(10)])
    plan = plan_now(buzz, gone, unshared_courses=CourseRemoval.DELETE, cascade_deletes=True)
    assert plan.held and plan.hold_reason is not None
    assert "courses: 1 of 2" in plan.hold_reason
    # The class's enrollments go with the course (Buzz cascades): not withdrawn one by one.
    assert removals(plan) == [("courses", Action.DELETE, "cls-1")]


# -- cascades ------------------------------------------------------------------------------


def test_users_gone_from_the_sis_are_kept_unless_cascading_deletes_are_allowed(
    buzz: BuzzClient, buzz_server: BuzzServer, synced: DesiredState
) -> None:
    gone = without(synced, users=["stu-0-0"], enrollments=["enr-0-0"])
    kept = plan_now(buzz, gone)
    assert removals(kept) == [("enrollments", Action.WITHDRAW, "enr-0-0")]
    assert any("users: 1 managed Buzz user(s)" in w for w in kept.warnings)
    deleting = plan_now(buzz, gone, cascade_deletes=True)
    # The user's enrollment goes with the user: one delete, no separate withdrawal.
    assert removals(deleting) == [("users", Action.DELETE, "stu-0-0")]
    assert apply_plan(deleting, buzz).ok
    assert "stu-0-0" not in {u["reference"] for u in buzz_server.users()}
    assert plan_now(buzz, gone, cascade_deletes=True).empty


def test_courses_are_deleted_only_when_asked_and_cascades_allowed(
    buzz: BuzzClient, synced: DesiredState
) -> None:
    gone = without(synced, courses=["cls-0"], enrollments=[f"enr-0-{n}" for n in range(10)])
    loose = {"removal_threshold": 1.0}
    assert not [r for r in removals(plan_now(buzz, gone, **loose)) if r[0] == "courses"]
    asked = plan_now(buzz, gone, unshared_courses=CourseRemoval.DELETE, **loose)
    assert not [r for r in removals(asked) if r[0] == "courses"]
    assert any("set cascade_deletes" in w for w in asked.warnings)
    allowed = plan_now(
        buzz, gone, unshared_courses=CourseRemoval.DELETE, cascade_deletes=True, **loose
    )
    assert removals(allowed) == [("courses", Action.DELETE, "cls-0")]


def test_a_school_domain_is_never_deleted_unless_delete_domains(
    buzz: BuzzClient, buzz_server: BuzzServer, synced: DesiredState
) -> None:
    school = [f"stu-0-{n}" for n in range(10)]
    gone = without(
        synced,
        domains=["s-0"],
        courses=["cls-0"],
        users=school,
        enrollments=[f"enr-0-{n}" for n in range(10)],
    )
    everything_else = {
        "removal_threshold": 1.0,
        "cascade_deletes": False,
        "unshared_courses": CourseRemoval.DELETE,
    }
    never = plan_now(buzz, gone, **everything_else)
    assert not [r for r in removals(never) if r[0] == "domains"]
    assert any("set delete_domains" in w for w in never.warnings)
    # Allowed, but the domain still holds users and a course that stay: not deleted.
    blocked = plan_now(buzz, gone, delete_domains=True, **everything_else)
    assert not [r for r in removals(blocked) if r[0] == "domains"]
    assert any("domains/s-0 not deleted: Buzz would delete 11" in w for w in blocked.warnings)
    cascading = plan_now(
        buzz, gone, delete_domains=True, **{**everything_else, "cascade_deletes": True}
    )
    assert removals(cascading)[-1] == ("domains", Action.DELETE, "s-0")
    assert apply_plan(cascading, buzz, approve=cascading.id).ok
    assert {d["reference"] for d in buzz_server.domains()} >= {"s-1"}
    assert "s-0" not in {d["reference"] for d in buzz_server.domains()}
    assert "10" in {d["id"] for d in buzz_server.domains()}  # the district's own domain stays


def test_a_domain_holding_objects_without_reference_is_not_deleted(
    buzz: BuzzClient, buzz_server: BuzzServer, synced: DesiredState
) -> None:
    school_id = read_buzz_state(buzz, SETTINGS).domains["s-1"].id
    buzz_server.seed({"courses": [{"title": "Built by a teacher", "domainid": school_id}]})
    gone = without(
        synced,
        domains=["s-1"],
        courses=["cls-1"],
        users=[f"stu-1-{n}" for n in range(10)],
        enrollments=[f"enr-1-{n}" for n in range(10)],
    )
    plan = plan_now(
        buzz,
        gone,
        delete_domains=True,
        cascade_deletes=True,
        removal_threshold=1.0,
        unshared_courses=CourseRemoval.DELETE,
    )
    # Everything synced in the school goes; the hand-made course keeps the domain.
    assert {r[0] for r in removals(plan)} == {"courses", "users"}
    assert any("domains/s-1 not deleted: it holds 1 object(s)" in w for w in plan.warnings)


def test_a_domain_delete_failing_part_way_keeps_the_deletes_that_landed(
    buzz_server: BuzzServer, synced: DesiredState
) -> None:
    fragile = client_for(buzz_server, BuzzRetryPolicy.none())
    allowed = {
        "delete_domains": True,
        "cascade_deletes": True,
        "unshared_courses": CourseRemoval.DELETE,
        "removal_threshold": 1.0,
    }
    plan = plan_now(fragile, DesiredState(), **allowed)
    assert [r[2] for r in removals(plan) if r[0] == "domains"] == ["s-0", "s-1"]

    def fail_second_domain_delete(outcome: Any) -> None:
        if outcome.operation.entity == "users" and outcome.operation.reference == "stu-1-9":
            # The next command deletes s-0; the one after it fails.
            buzz_server.faults.status_every = len(buzz_server.requests) + 2

    result = apply_plan(plan, fragile, approve=True, on_outcome=fail_second_domain_delete)
    buzz_server.faults.status_every = None
    first, second = [o for o in result.outcomes if o.operation.entity == "domains"]
    assert first.ok and not second.ok and second.code == "BuzzHTTPError"
    assert result.stopped is not None and "deletedomain" in result.stopped
    assert {d["reference"] for d in buzz_server.domains() if d["reference"]} == {"s-1"}
    again = plan_now(fragile, DesiredState(), **allowed)
    assert removals(again) == [("domains", Action.DELETE, "s-1")]
    assert apply_plan(again, fragile, approve=True).ok
    assert {d["reference"] for d in buzz_server.domains() if d["reference"]} == set()
    fragile.close()


# -- incremental reads -------------------------------------------------------------------


def test_an_incremental_read_removes_only_what_the_sis_marks_deleted(
    buzz: BuzzClient, buzz_server: BuzzServer, synced: DesiredState
) -> None:
    changed = DesiredState(
        users={"stu-1-1": attrs.evolve(synced.users["stu-1-1"], last_name="Changed")},
        deleted=[
            _source("enrollments", "enr-0-0"),
            _source("users", "stu-0-5"),
            _source("enrollments", "enr-0-5"),
            _source("classes", "cls-1"),
            _source("enrollments", "never-synced"),
        ],
        changed_only=True,
    )
    plan = plan_now(buzz, changed, cascade_deletes=True)
    assert plan.removals_suppressed is not None
    assert "only records the SIS marks deleted" in plan.removals_suppressed
    # Courses are kept (unshared_courses is "nothing"), the user is deleted with its
    # enrollment, the other enrollment is withdrawn; nothing absent is touched.
    assert removals(plan) == [
        ("enrollments", Action.WITHDRAW, "enr-0-0"),
        ("users", Action.DELETE, "stu-0-5"),
    ]
    assert [o.reference for o in plan.operations if o.action is Action.UPDATE] == ["stu-1-1"]
    assert apply_plan(plan, buzz).ok
    assert plan_now(buzz, changed, cascade_deletes=True).empty


def test_an_incremental_read_revokes_the_rights_of_a_deleted_observer(
    buzz: BuzzClient, buzz_server: BuzzServer, synced: DesiredState
) -> None:
    observer = attrs.evolve(
        synced.users["stu-0-0"], reference="obs-1", username="obs1", kind=UserKind.OBSERVER
    )
    link = DesiredObserverLink(
        observer_reference="obs-1", student_reference="stu-0-0", rights=Rights.READ_USER
    )
    other = attrs.evolve(link, student_reference="stu-0-1")
    full = attrs.evolve(synced, users={**synced.users, "obs-1": observer}, observer_links=[link])
    assert apply_plan(plan_now(buzz, full), buzz).ok
    # An unchanged second link seen only in a later incremental read stays.
    assert apply_plan(
        plan_now(buzz, DesiredState(observer_links=[other], changed_only=True)), buzz
    ).ok
    assert len(buzz_server.rights()) == 2
    quiet = DesiredState(changed_only=True)
    assert plan_now(buzz, quiet).empty  # absence alone revokes nothing
    gone = DesiredState(deleted=[_source("users", "obs-1")], changed_only=True)
    plan = plan_now(buzz, gone, removal_threshold=1.0)
    assert sorted(removals(plan)) == [
        ("observers", Action.REVOKE, "obs-1->stu-0-0"),
        ("observers", Action.REVOKE, "obs-1->stu-0-1"),
    ]
    assert any("users: 1 managed Buzz user(s)" in w for w in plan.warnings)
    assert apply_plan(plan, buzz, approve=True).ok and buzz_server.rights() == {}


def test_an_incomplete_incremental_read_removes_nothing_even_when_marked(
    buzz: BuzzClient, synced: DesiredState
) -> None:
    partial = DesiredState(
        deleted=[_source("enrollments", "enr-0-0")],
        changed_only=True,
        complete=False,
        incomplete_reasons=["users: page 2 failed"],
    )
    plan = plan_now(buzz, partial)
    assert plan.operations == []
    assert plan.removals_suppressed is not None and "page 2 failed" in plan.removals_suppressed
