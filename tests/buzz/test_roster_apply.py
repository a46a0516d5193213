"""Applying Buzz rostering plans over real HTTP: batching, per-item failures, dependants,
throttling, and convergence after an apply killed part-way."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneroster_client.buzz import (
    BuzzClient,
    BuzzRetryPolicy,
    BuzzToken,
    EnrollmentStatus,
    Rights,
)
from oneroster_client.buzz.apply import ApplyResult, OperationOutcome, apply_plan
from oneroster_client.buzz.current import read_buzz_state
from oneroster_client.buzz.desired import (
    DesiredCourse,
    DesiredDomain,
    DesiredEnrollment,
    DesiredObserverLink,
    DesiredState,
    DesiredUser,
    UserKind,
)
from oneroster_client.buzz.plan import Action, Plan, plan_roster
from oneroster_client.buzz.settings import EnrollmentRemoval, RosterSettings
from oneroster_client.buzz.testing import BuzzServer

UA = "oneroster-client-tests/1.0 (roster apply tests; tests@example.org)"
SETTINGS = RosterSettings(parent_domain_id="10", student_role="2", teacher_role="3")
DISTRICT_SEED = {
    "domains": [{"id": "10", "name": "District", "userspace": "district", "parentid": "1"}]
}
TERM_START = datetime(2026, 8, 20, tzinfo=UTC)


@attrs.frozen
class Shape:
    """The size and a few field values of a generated district."""

    schools: int = 2
    students: int = 5
    observers: int = 1
    surname: str = "Lovelace"
    title: str = "Class"
    status: EnrollmentStatus = EnrollmentStatus.ACTIVE
    dated: bool = True


def district(shape: Shape = Shape()) -> DesiredState:
    """Per school: a class, a teacher and students enrolled; observers of the first students."""
    desired = DesiredState()
    for s in range(shape.schools):
        school, course = f"s-{s}", f"cls-{s}"
        desired.domains[school] = DesiredDomain(
            reference=school, name=f"School {s}", userspace=f"school{s}"
        )
        desired.courses[course] = DesiredCourse(
            reference=course,
            domain_reference=school,
            title=f"{shape.title} {s}",
            base_course_id=None,
            start_date=TERM_START if shape.dated else None,
            end_date=TERM_START + timedelta(days=280) if shape.dated else None,
            term=None,
        )
        members = [(f"tch-{s}", UserKind.TEACHER, "3")] + [
            (f"stu-{s}-{n}", UserKind.STUDENT, "2") for n in range(shape.students)
        ]
        for user, kind, role in members:
            _add_member(desired, shape, school, course, user, kind, role)
    for n in range(min(shape.observers, shape.students)):
        observer = f"obs-{n}"
        desired.users[observer] = _user(observer, "s-0", UserKind.OBSERVER, shape.surname)
        desired.observer_links.append(
            DesiredObserverLink(
                observer_reference=observer, student_reference=f"stu-0-{n}", rights=Rights.READ_USER
            )
        )
    return desired


def _user(reference: str, school: str, kind: UserKind, surname: str) -> DesiredUser:
    return DesiredUser(
        reference=reference,
        domain_reference=school,
        username=reference.replace("-", ""),
        email=f"{reference}@example.org",
        first_name="Ada",
        last_name=surname,
        kind=kind,
    )


def _add_member(
    desired: DesiredState,
    shape: Shape,
    school: str,
    course: str,
    user: str,
    kind: UserKind,
    role: str,
) -> None:
    desired.users[user] = _user(user, school, kind, shape.surname)
    reference = f"enr-{user}"
    desired.enrollments[reference] = DesiredEnrollment(
        reference=reference,
        user_reference=user,
        course_reference=course,
        role_id=role,
        status=shape.status,
        start_date=None,
        end_date=None,
    )


class Crash(Exception):
    """Stands for the process dying."""


def make_client(server: BuzzServer, sleeps: list[float], **kwargs: Any) -> BuzzClient:
    return BuzzClient(
        server.base_url,
        auth=BuzzToken(server.issue_token()),
        user_agent=UA,
        retry=kwargs.pop("retry", BuzzRetryPolicy(sleep=sleeps.append, random=lambda: 0.5)),
        timeout=5.0,
        **kwargs,
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def buzz(buzz_server: BuzzServer, sleeps: list[float]) -> Iterator[BuzzClient]:
    buzz_server.seed(DISTRICT_SEED)
    client = make_client(buzz_server, sleeps, batch_size=3)
    yield client
    client.close()


def plan_now(buzz: BuzzClient, desired: DesiredState) -> Plan:
    return plan_roster(desired, read_buzz_state(buzz, SETTINGS), SETTINGS)


def converge(buzz: BuzzClient, desired: DesiredState, runs: int = 3) -> list[ApplyResult]:
    """Re-read, re-plan and apply until the plan is empty (at most ``runs`` applies)."""
    results = []
    for _ in range(runs):
        plan = plan_now(buzz, desired)
        if plan.empty:
            return results
        results.append(apply_plan(plan, buzz, approve=True))
    assert plan_now(buzz, desired).empty
    return results


def references(rows: list[dict[str, Any]]) -> Counter[str]:
    return Counter(row["reference"] for row in rows if row["reference"])


def assert_holds_exactly(server: BuzzServer, desired: DesiredState) -> None:
    """Buzz holds each desired object once: no duplicates, nothing missing."""
    for rows, wanted in (
        (server.domains(), desired.domains),
        (server.users(), desired.users),
        (server.courses(), desired.courses),
        (server.enrollments(), desired.enrollments),
    ):
        counted = references(rows)
        assert set(counted) == set(wanted)
        assert max(counted.values(), default=1) == 1, counted.most_common(3)
    granted = {
        (actor, entity) for (actor, entity), grant in server.rights().items() if grant["flags"]
    }
    ids = {row["reference"]: row["id"] for row in server.users()}
    assert granted == {
        (ids[k.observer_reference], ids[k.student_reference]) for k in desired.observer_links
    }


# -- plain applies -------------------------------------------------------------------------


def test_every_operation_is_reported_once_in_order_and_ids_are_recorded(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    desired = district()
    plan = plan_now(buzz, desired)
    seen: list[OperationOutcome] = []
    id_map: dict[tuple[str, str], str] = {}
    result = apply_plan(plan, buzz, id_map=id_map, on_outcome=seen.append)
    assert seen == result.outcomes
    assert [o.operation for o in result.outcomes] == plan.operations
    assert result.ok and result.stopped is None
    assert result.counts() == {
        "domains": _counted(created=2),
        "users": _counted(created=13),
        "courses": _counted(created=2),
        "enrollments": _counted(created=12),
        "observers": _counted(created=1),
    }
    creates = [o for o in plan.operations if o.action is Action.CREATE]
    assert set(id_map) == {(o.entity, o.reference) for o in creates}
    rows = {row["reference"]: row["id"] for row in buzz_server.users()}
    assert all(id_map[("users", ref)] == rows[ref] for ref in desired.users)
    assert_holds_exactly(buzz_server, desired)


def _counted(**given: int) -> dict[str, int]:
    counts = dict.fromkeys(("created", "updated", "withdrawn", "deleted", "failed", "skipped"), 0)
    counts.update(given)
    return counts


def test_ids_of_objects_created_by_an_earlier_apply_come_from_the_id_map(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    plan = plan_now(buzz, district())
    domains = [o for o in plan.operations if o.entity == "domains"]
    rest = attrs.evolve(plan, operations=[o for o in plan.operations if o.entity != "domains"])
    id_map: dict[tuple[str, str], str] = {}
    assert apply_plan(attrs.evolve(plan, operations=domains), buzz, id_map=id_map).ok
    without_map = apply_plan(rest, buzz)
    users = [o for o in without_map.outcomes if o.operation.entity == "users"]
    assert users and all(o.skipped for o in users)
    assert all("needs domains/s-" in (o.message or "") for o in users)
    assert len(buzz_server.users()) == 2  # only the built-in administrator and app
    result = apply_plan(rest, buzz, id_map=id_map)
    assert result.ok
    assert_holds_exactly(buzz_server, district())


def test_removals_are_sent_with_the_typed_commands(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    desired = district()
    converge(buzz, desired)
    gone = attrs.evolve(
        desired,
        enrollments={k: v for k, v in desired.enrollments.items() if k != "enr-stu-1-0"},
        observer_links=[],
    )
    policy = attrs.evolve(SETTINGS, unshared_enrollments=EnrollmentRemoval.DELETE)
    plan = plan_roster(gone, read_buzz_state(buzz, policy), policy)
    before = len(buzz_server.commands())
    result = apply_plan(plan, buzz, approve=plan.id)
    assert result.ok
    assert buzz_server.commands()[before:] == ["deleteenrollments", "updaterights"]
    assert result.counts()["enrollments"]["deleted"] == 1
    assert result.counts()["observers"]["deleted"] == 1


# -- failures ------------------------------------------------------------------------------


def test_per_item_failures_are_reported_and_the_rest_lands(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    desired = district()
    plan = plan_now(buzz, desired)
    buzz_server.faults.fail_batch_item_every = 4
    result = apply_plan(plan, buzz)
    buzz_server.faults.fail_batch_item_every = None
    failed = [o for o in result.outcomes if not o.ok and not o.skipped]
    assert failed and all(o.code == "BadRequest" for o in failed)
    landed = {(o.operation.entity, o.operation.reference) for o in result.outcomes if o.ok}
    held = {("users", ref) for ref in references(buzz_server.users())}
    assert {key for key in landed if key[0] == "users"} == held
    failed_users = {o.operation.reference for o in failed if o.operation.entity == "users"}
    assert failed_users
    for outcome in result.outcomes:
        needs = outcome.operation.payload.get("userid")
        if outcome.operation.entity == "enrollments" and getattr(needs, "reference", None) in (
            failed_users
        ):
            assert outcome.skipped and not outcome.ok
            assert f"needs users/{needs.reference}" in (outcome.message or "")
    counts = result.counts()
    assert sum(c["failed"] for c in counts.values()) == len(failed)
    assert sum(c["skipped"] for c in counts.values()) >= 1
    converge(buzz, desired)
    assert_holds_exactly(buzz_server, desired)


def test_dependants_of_a_failed_create_are_skipped_even_with_a_stale_id_map_entry(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    desired = district()
    bad = attrs.evolve(desired.users["stu-0-1"], username="no/slash")  # Buzz refuses it
    desired.users["stu-0-1"] = bad
    # An id recorded by some earlier run for the same reference, since gone from Buzz.
    id_map = {("users", "stu-0-1"): "5"}
    result = apply_plan(plan_now(buzz, desired), buzz, id_map=id_map)
    by_ref = {o.operation.reference: o for o in result.outcomes}
    assert by_ref["stu-0-1"].code == "BadRequest" and not by_ref["stu-0-1"].skipped
    assert by_ref["enr-stu-0-1"].skipped
    assert (
        by_ref["enr-stu-0-1"].message == "not sent: it needs users/stu-0-1, which was not created"
    )
    assert id_map[("users", "stu-0-1")] == "5"
    assert not [e for e in buzz_server.enrollments() if e["userid"] == "5"]
    assert sum(1 for o in result.outcomes if not o.ok) == 2


def test_a_request_failing_as_a_whole_stops_the_apply(
    buzz_server: BuzzServer, sleeps: list[float]
) -> None:
    buzz_server.seed(DISTRICT_SEED)
    fragile = make_client(buzz_server, sleeps, retry=BuzzRetryPolicy.none())
    desired = district()
    plan = plan_now(fragile, desired)

    def overload_after_domains(outcome: OperationOutcome) -> None:
        if outcome.operation.reference == "s-1":
            buzz_server.faults.fail_next(503)

    result = apply_plan(plan, fragile, on_outcome=overload_after_domains)
    assert result.stopped is not None and "createusers2 failed as a whole" in result.stopped
    users = [o for o in result.outcomes if o.operation.entity == "users"]
    assert users[0].code == "BuzzThrottledError" and not users[0].skipped
    later = result.outcomes[len(users) + 2 :]
    assert later and all(o.skipped and "not sent" in (o.message or "") for o in later)
    assert len(result.outcomes) == len(plan.operations)
    converge(fragile, desired)
    assert_holds_exactly(buzz_server, desired)
    fragile.close()


def test_throttling_is_waited_out_without_duplicates(
    buzz: BuzzClient, buzz_server: BuzzServer, sleeps: list[float]
) -> None:
    buzz_server.faults.rate_limit_every = 3
    buzz_server.faults.overwhelmed_every = 5
    desired = district()
    results = converge(buzz, desired)
    assert len(results) == 1 and results[0].ok
    assert sleeps and all(wait == 1.0 for wait in sleeps)  # Retry-After: 1
    assert 429 in buzz_server.statuses() and 503 in buzz_server.statuses()
    assert_holds_exactly(buzz_server, desired)


# -- convergence after a crash -------------------------------------------------------------


@pytest.mark.parametrize("kill_after", [1, 3, 7, 16, 25, -1])
def test_an_apply_killed_after_n_operations_converges_without_duplicates(
    buzz: BuzzClient, buzz_server: BuzzServer, kill_after: int
) -> None:
    desired = district()
    plan = plan_now(buzz, desired)
    stop_at = len(plan.operations) if kill_after == -1 else kill_after
    done: list[OperationOutcome] = []
    id_map: dict[tuple[str, str], str] = {}

    def die(outcome: OperationOutcome) -> None:
        done.append(outcome)
        if len(done) == stop_at:
            raise Crash

    with pytest.raises(Crash):
        apply_plan(plan, buzz, id_map=id_map, on_outcome=die)
    for outcome in done:
        if outcome.operation.action is Action.CREATE:
            key = (outcome.operation.entity, outcome.operation.reference)
            assert id_map[key] == outcome.buzz_id  # recorded before it was reported
    results = converge(buzz, desired)
    assert all(result.ok for result in results)
    assert_holds_exactly(buzz_server, desired)


def test_objects_created_but_never_recorded_are_found_by_reference(
    buzz: BuzzClient, buzz_server: BuzzServer
) -> None:
    desired = district()
    plan = plan_now(buzz, desired)

    def die_on_first_user(outcome: OperationOutcome) -> None:
        if outcome.operation.entity == "users":
            raise Crash  # every user create landed; none was recorded

    with pytest.raises(Crash):
        apply_plan(plan, buzz, on_outcome=die_on_first_user)
    assert len(references(buzz_server.users())) == len(desired.users)
    again = plan_now(buzz, desired)
    creates = {o.reference for o in again.operations if o.action is Action.CREATE}
    assert not creates & set(references(buzz_server.users()))
    converge(buzz, desired)
    assert_holds_exactly(buzz_server, desired)


# -- property: applying a plan leaves nothing to plan ------------------------------------


shapes = st.builds(
    Shape,
    schools=st.integers(1, 2),
    students=st.integers(0, 4),
    observers=st.integers(0, 2),
    surname=st.sampled_from(["Lovelace", "Hopper", "Noether"]),
    title=st.sampled_from(["Class", "Algebra", "Biology"]),
    status=st.sampled_from([EnrollmentStatus.ACTIVE, EnrollmentStatus.SUSPENDED]),
    dated=st.booleans(),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=shapes, second=shapes)
def test_planning_after_applying_a_plan_is_empty(first: Shape, second: Shape) -> None:
    with BuzzServer(seed=DISTRICT_SEED) as server:
        client = make_client(server, [])
        loose = attrs.evolve(SETTINGS, removal_threshold=1.0)
        for shape in (first, second):
            desired = district(shape)
            plan = plan_roster(desired, read_buzz_state(client, loose), loose)
            assert apply_plan(plan, client).ok
            again = plan_roster(desired, read_buzz_state(client, loose), loose)
            assert again.empty, again.counts()
        client.close()


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    shape=shapes,
    kill_at=st.floats(0.0, 1.0),
    fail_every=st.one_of(st.none(), st.integers(2, 7)),
    batch_size=st.integers(1, 4),
)
def test_any_kill_with_any_item_failures_converges_without_duplicates(
    shape: Shape, kill_at: float, fail_every: int | None, batch_size: int
) -> None:
    desired = district(shape)
    with BuzzServer(seed=DISTRICT_SEED) as server:
        client = make_client(server, [], batch_size=batch_size)
        plan = plan_now(client, desired)
        stop_at = max(1, round(kill_at * len(plan.operations)))
        server.faults.fail_batch_item_every = fail_every
        reported: list[OperationOutcome] = []

        def die(outcome: OperationOutcome) -> None:
            reported.append(outcome)
            if len(reported) == stop_at:
                raise Crash

        with pytest.raises(Crash):
            apply_plan(plan, client, on_outcome=die)
        server.faults.fail_batch_item_every = None
        converge(client, desired)
        assert_holds_exactly(server, desired)
        client.close()
