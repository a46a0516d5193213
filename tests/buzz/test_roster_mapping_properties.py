"""Property tests of map_roster: nothing raises, nothing vanishes, userspaces stay put."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneroster_client.buzz.desired import DesiredState, UserKind
from oneroster_client.buzz.mapping import map_roster, stable_slug
from oneroster_client.buzz.settings import (
    ResolvedRoles,
    RosterSettings,
    UsernameScheme,
    UserspaceScheme,
)
from oneroster_client.buzz.snapshot import ROSTER_COLLECTIONS, RosterSnapshot
from oneroster_client.models import AcademicSession, Class, Enrollment, GUIDRef, Org, User
from oneroster_client.testing.generator import generate_district

ROLES = ResolvedRoles("22", "33")
REMOVED = {"tobedeleted", "inactive"}
# Personal values are drawn from letters no reason ever holds, so a leak is visible.
PERSONAL = "ÆØÅæøåÞþ"

settings_strategy = st.builds(
    RosterSettings,
    parent_domain_id=st.just("1"),
    student_role=st.just("22"),
    teacher_role=st.just("33"),
    userspace_scheme=st.sampled_from(UserspaceScheme),
    userspace_prefix=st.sampled_from(["", "nusd-"]),
    username_scheme=st.sampled_from(UsernameScheme),
    observers=st.booleans(),
    ignore_sis_dates=st.booleans(),
    time_zone=st.sampled_from(["UTC", "America/Chicago", "Pacific/Kiritimati"]),
    base_courses=st.dictionaries(st.sampled_from(["sch-1", "crs-1", "cls-1"]), st.just("100")),
)


# --- generated districts, then damaged ----------------------------------------------------


def _snapshot_of(collections: dict[str, list[dict[str, Any]]], **extra: Any) -> RosterSnapshot:
    from oneroster_client.models import COLLECTION_MODELS

    records = {
        attribute: [COLLECTION_MODELS[wire].from_dict(row) for row in collections[wire]]
        for attribute, wire in ROSTER_COLLECTIONS
    }
    return RosterSnapshot(**records, **extra)


_DAMAGE = {
    "users": [
        {"givenName": ""},
        {"familyName": " "},
        {"username": ""},
        {"username": "SAME"},
        {"email": None},
        {"orgs": [{"sourcedId": "nowhere"}]},
        {"orgs": []},
        {"status": "tobedeleted"},
        {"role": "districtAdministrator"},
        {"agents": [{"sourcedId": "ghost"}]},
    ],
    "classes": [
        {"school": {"sourcedId": "nowhere"}},
        {"terms": [{"sourcedId": "no-term"}]},
        {"title": ""},
        {"status": "tobedeleted"},
    ],
    "enrollments": [
        {"role": "aide"},
        {"user": {"sourcedId": "ghost"}},
        {"class": {"sourcedId": "nowhere"}},
        {"status": "tobedeleted"},
        {"beginDate": "2030-01-01"},
    ],
    "orgs": [{"name": ""}, {"status": "tobedeleted"}, {"identifier": None}, {"type": "department"}],
}


@st.composite
def damaged_districts(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    district = generate_district(
        students=draw(st.integers(0, 20)),
        seed=draw(st.integers(0, 2**16)),
        with_gradebook=False,
        guardians_per_student=draw(st.sampled_from([0.0, 1.5])),
    )
    collections = {wire: list(district[wire]) for _, wire in ROSTER_COLLECTIONS}
    for wire, patches in _DAMAGE.items():
        rows = collections[wire]
        for _ in range(draw(st.integers(0, 4))):
            if not rows:
                break
            index = draw(st.integers(0, len(rows) - 1))
            rows[index] = {**rows[index], **draw(st.sampled_from(patches))}
    users = collections["users"]
    if users and draw(st.booleans()):
        users.append(dict(users[0]))  # a repeated sourcedId
    for _ in range(draw(st.integers(0, 3)) if len(users) > 1 else 0):
        # Another user's login: same username, email and school.
        first, second = draw(st.lists(st.integers(0, len(users) - 1), min_size=2, max_size=2))
        login = {key: users[first].get(key) for key in ("username", "email", "orgs", "role")}
        users[second] = {**users[second], **login}
    return collections


def _accounted(state: DesiredState, snapshot: RosterSnapshot) -> list[str]:
    """sourcedIds of mapped records that are neither desired, an issue, skipped nor removed."""
    desired = {
        "orgs": set(state.domains),
        "classes": set(state.courses),
        "users": set(state.users),
        "enrollments": set(state.enrollments),
    }
    noted = {(i.source.collection, i.source.sourced_id) for i in [*state.issues, *state.skipped]}
    lost = []
    for attribute, wire in ROSTER_COLLECTIONS:
        if wire not in desired:
            continue
        for record in getattr(snapshot, attribute):
            if str(record.status) in REMOVED:
                continue
            if record.sourced_id not in desired[wire] and (wire, record.sourced_id) not in noted:
                lost.append(f"{wire}/{record.sourced_id}")
    return lost


def _check_consistent(state: DesiredState) -> None:
    spaces = [domain.userspace for domain in state.domains.values()]
    assert len(spaces) == len(set(spaces))
    for space in spaces:
        assert space and set(space) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    logins = [(u.domain_reference, u.username.casefold()) for u in state.users.values()]
    assert len(logins) == len(set(logins))
    for user in state.users.values():
        assert user.domain_reference is None or user.domain_reference in state.domains
        assert user.first_name and user.last_name and user.username
    for course in state.courses.values():
        assert course.domain_reference is None or course.domain_reference in state.domains
        if course.start_date and course.end_date:
            assert course.start_date <= course.end_date
    for enrollment in state.enrollments.values():
        assert enrollment.role_id in ("22", "33")
        if not state.changed_only:
            assert enrollment.user_reference in state.users
        assert enrollment.course_reference in state.courses
    for link in state.observer_links:
        assert state.users[link.observer_reference].kind is UserKind.OBSERVER
        student = state.users.get(link.student_reference)
        assert (student is None and state.changed_only) or (
            student is not None and student.kind is UserKind.STUDENT
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_districts(), settings_strategy)
def test_any_generated_district_maps_and_nothing_vanishes(
    collections: dict[str, list[dict[str, Any]]], roster_settings: RosterSettings
) -> None:
    snapshot = _snapshot_of(collections)
    state = map_roster(snapshot, roster_settings, ROLES)
    assert _accounted(state, snapshot) == []
    _check_consistent(state)
    again = map_roster(snapshot, roster_settings, ROLES)
    assert again == state


# --- arbitrary small rosters ----------------------------------------------------------------

ORG_IDS = ["dst-1", "sch-1", "SCH_1", "sch-2", "École", "-", "x"]
SCHOOLS = [Org(sourced_id=sid, status="active", name="S", type="school") for sid in ORG_IDS[1:4]]
USER_IDS = ["u1", "u2", "u3", "U1", "u4", "u5"]
CLASS_IDS = ["cls-1", "cls-2", "cls-3"]
personal = st.text(alphabet=PERSONAL, min_size=1, max_size=4) | st.sampled_from(["", " "])
ref_to = st.sampled_from


def refs(ids: list[str], max_size: int = 3) -> st.SearchStrategy[tuple[GUIDRef, ...]]:
    return st.lists(ref_to(ids).map(lambda sid: GUIDRef(sourced_id=sid)), max_size=max_size).map(
        tuple
    )


statuses = st.sampled_from(["active", "active", "active", "tobedeleted", None, "bogus"])
orgs_strategy = st.lists(
    st.builds(
        Org,
        sourced_id=ref_to(ORG_IDS),
        status=statuses,
        name=st.sampled_from(["North", "", "South"]),
        type=st.sampled_from(["school", "school", "district", "department", "weird"]),
        identifier=st.sampled_from([None, "", "0042", "0042 ", "77"]),
    ),
    max_size=6,
)
sessions_strategy = st.lists(
    st.builds(
        AcademicSession,
        sourced_id=ref_to(["t1", "t2", "t3"]),
        status=statuses,
        title=st.sampled_from(["Fall", ""]),
        type=st.just("term"),
        start_date=st.dates(date(2024, 1, 1), date(2025, 12, 31)),
        end_date=st.dates(date(2024, 1, 1), date(2025, 12, 31)),
        school_year=st.just("2025"),
    ),
    max_size=3,
)
users_strategy = st.lists(
    st.builds(
        User,
        sourced_id=ref_to(USER_IDS),
        status=statuses,
        role=st.sampled_from(["student", "teacher", "guardian", "parent", "aide", "other"]),
        enabled_user=st.booleans(),
        orgs=refs(ORG_IDS),
        username=st.sampled_from(["Æa", "æa", "Øb", "", "Å c", "Þ/d"]),
        given_name=personal,
        family_name=personal,
        email=st.sampled_from([None, "", "æ@ø.org", "Å@ø.org"]),
        agents=st.none() | refs([*USER_IDS, "ghost"]),
    ),
    max_size=8,
)
classes_strategy = st.lists(
    st.builds(
        Class,
        sourced_id=ref_to(CLASS_IDS),
        status=statuses,
        title=st.sampled_from(["Algebra", " "]),
        class_type=st.just("scheduled"),
        course=ref_to(["crs-1", "crs-2"]).map(lambda sid: GUIDRef(sourced_id=sid)),
        school=ref_to(ORG_IDS).map(lambda sid: GUIDRef(sourced_id=sid)),
        terms=refs(["t1", "t2", "t3", "t9"]),
    ),
    max_size=4,
)
enrollments_strategy = st.lists(
    st.builds(
        Enrollment,
        sourced_id=ref_to(["e1", "e2", "e3", "e4", "e5"]),
        status=statuses,
        user=ref_to([*USER_IDS, "ghost"]).map(lambda sid: GUIDRef(sourced_id=sid)),
        class_=ref_to([*CLASS_IDS, "cls-9"]).map(lambda sid: GUIDRef(sourced_id=sid)),
        school=st.just(GUIDRef(sourced_id="sch-1")),
        role=st.sampled_from(["student", "teacher", "aide", "guardian"]),
        begin_date=st.none() | st.dates(date(2024, 1, 1), date(2025, 12, 31)),
        end_date=st.none() | st.dates(date(2024, 1, 1), date(2025, 12, 31)),
    ),
    max_size=6,
)
snapshots = st.builds(
    RosterSnapshot,
    orgs=orgs_strategy.map(lambda orgs: [*orgs, *SCHOOLS]),
    academic_sessions=sessions_strategy,
    classes=classes_strategy,
    users=users_strategy,
    enrollments=enrollments_strategy,
)


def _texts(state: DesiredState) -> Iterable[str]:
    for issue in [*state.issues, *state.skipped]:
        yield issue.reason
        yield str(issue)


@settings(max_examples=300, deadline=None)
@given(snapshots, settings_strategy, st.booleans())
def test_arbitrary_rosters_map_without_loss_or_leaks(
    snapshot: RosterSnapshot, roster_settings: RosterSettings, incremental: bool
) -> None:
    if incremental:
        from datetime import UTC, datetime

        snapshot = attrs.evolve(snapshot, changed_since=datetime(2025, 1, 1, tzinfo=UTC))
    state = map_roster(snapshot, roster_settings, ROLES)
    assert _accounted(state, snapshot) == []
    _check_consistent(state)
    assert state.changed_only is incremental
    for text in _texts(state):
        assert not set(text) & set(PERSONAL), text


@settings(max_examples=100, deadline=None)
@given(orgs_strategy, st.sampled_from(["", "nusd-"]), st.randoms(use_true_random=False))
def test_userspaces_survive_renames_and_other_schools_coming_and_going(
    orgs: list[Org], prefix: str, random: Any
) -> None:
    roster_settings = RosterSettings(
        parent_domain_id="1", student_role="22", teacher_role="33", userspace_prefix=prefix
    )
    before = map_roster(RosterSnapshot(orgs=orgs), roster_settings, ROLES).domains
    renamed = [attrs.evolve(o, name=f"{o.name} Academy") for o in orgs]
    kept = random.sample(renamed, k=len(renamed) // 2)
    after = map_roster(RosterSnapshot(orgs=kept), roster_settings, ROLES).domains
    for reference, domain in after.items():
        if reference in before:
            assert before[reference].userspace == domain.userspace
        assert domain.userspace == prefix + stable_slug(reference)


@given(st.text(max_size=30), st.text(max_size=30))
def test_stable_slugs_are_userspace_safe_and_never_collide(a: str, b: str) -> None:
    for value in (a, b):
        slug = stable_slug(value)
        assert slug and set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
        assert not slug.startswith("-") and not slug.endswith("-")
    assert (stable_slug(a) == stable_slug(b)) == (a == b)
