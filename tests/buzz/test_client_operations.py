"""Every BuzzClient method through real HTTP against the loopback BuzzServer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from oneroster_client.buzz import (
    NO_END,
    BuzzClient,
    BuzzCommandError,
    BuzzCourse,
    BuzzEnrollment,
    BuzzJWTAuth,
    BuzzRetryPolicy,
    BuzzUser,
    CopyAction,
    CourseCopy,
    Domain,
    EnrollmentStatus,
    Rights,
    RightsGrant,
)
from oneroster_client.buzz.testing import BuzzServer
from oneroster_client.errors import ConfigurationError

UA = "oneroster-client-tests/1.0 (buzz client tests; tests@example.org)"
SEED: dict[str, Any] = {
    "domains": [
        {
            "id": "10",
            "name": "North High",
            "userspace": "north",
            "parentid": "1",
            "reference": "org-1",
        }
    ],
    "users": [
        {
            "id": str(20 + n),
            "domainid": "10",
            "username": f"student{n}",
            "firstname": f"First{n}",
            "lastname": f"Last{n}",
            "email": f"s{n}@example.org",
            "reference": f"u-{n}",
        }
        for n in range(5)
    ],
    "courses": [{"id": "30", "title": "Algebra", "domainid": "10", "reference": "c-1"}],
    "enrollments": [
        {"id": "40", "userid": "20", "entityid": "30", "roleid": "2", "reference": "e-1"},
        {"id": "41", "userid": "21", "entityid": "30", "roleid": "2", "reference": "e-2"},
    ],
    "grades": [
        {"enrollmentid": "40", "achieved": 8, "possible": 10, "itemid": "q1", "title": "Quiz 1"},
        {"enrollmentid": "41", "achieved": 5, "possible": 10, "itemid": "q1", "title": "Quiz 1"},
    ],
}


@pytest.fixture
def server() -> Iterator[BuzzServer]:
    with BuzzServer(seed=SEED) as running:
        yield running


@pytest.fixture
def client(server: BuzzServer) -> Iterator[BuzzClient]:
    token_url, user_id, pem, key_id = server.jwt_credentials()
    sleeps: list[float] = []
    with BuzzClient(
        server.base_url,
        auth=BuzzJWTAuth(token_url, user_id, pem, key_id),
        user_agent=UA,
        retry=BuzzRetryPolicy(sleep=sleeps.append, random=lambda: 0.5),
        timeout=5.0,
    ) as made:
        yield made  # type: ignore[misc]


def test_list_and_get_domains(client: BuzzClient) -> None:
    domains = list(client.list_domains("1"))
    assert [d.reference for d in domains] == ["org-1"]
    assert client.get_domain("10").userspace == "north"


def test_create_update_delete_restore_domains(client: BuzzClient, server: BuzzServer) -> None:
    created = client.create_domains(
        [Domain(name="South", userspace="south", parent_id="1", reference="org-2")]
    )
    assert created.ok
    new_id = created.succeeded[0].id
    assert new_id is not None
    updated = client.update_domains([Domain(id=new_id, name="South Middle")])
    assert updated.ok
    assert client.get_domain(new_id).name == "South Middle"
    with pytest.raises(ConfigurationError, match="cascade=True"):
        client.delete_domain(new_id)
    client.delete_domain(new_id, cascade=True)
    assert new_id not in [d["id"] for d in server.domains()]
    client.restore_domain(new_id)
    assert new_id in [d["id"] for d in server.domains()]


def test_list_users_pages_lazily_with_id_queries(client: BuzzClient, server: BuzzServer) -> None:
    listing = client.list_users("10", page_size=2)
    iterator = iter(listing)
    first = next(iterator)
    assert first.id == "20" and listing.pages == 1
    rest = list(iterator)
    assert [u.reference for u in [first, *rest]] == [f"u-{n}" for n in range(5)]
    assert listing.pages == 3  # 2 + 2 + 1 (a short page ends the listing)
    assert server.commands().count("listusers") == 3


def test_a_full_last_page_costs_one_empty_request(client: BuzzClient) -> None:
    listing = client.list_users("10", page_size=5)
    assert len(listing.all()) == 5
    assert listing.pages == 2


def test_user_lifecycle(client: BuzzClient, server: BuzzServer) -> None:
    new = BuzzUser(
        domain_id="10",
        username="newbie",
        email="n@example.org",
        first_name="New",
        last_name="Bie",
        password="Correct-Horse-9",
        reference="u-new",
    )
    created = client.create_users([new])
    assert created.ok and created.succeeded[0].input is new
    user_id = created.succeeded[0].id
    assert user_id is not None
    fetched = client.get_user(user_id)
    assert (fetched.username, fetched.reference) == ("newbie", "u-new")
    assert client.update_users([attrs.evolve(fetched, last_name="Bee")]).ok
    assert client.get_user(user_id).last_name == "Bee"
    with pytest.raises(ConfigurationError, match="cascade=True"):
        client.delete_users([user_id])
    assert client.delete_users([user_id], cascade=True).ok
    assert user_id not in [u["id"] for u in server.users()]
    client.restore_user(user_id)
    assert user_id in [u["id"] for u in server.users()]


def test_create_users_refuses_missing_required_fields_before_sending(
    client: BuzzClient, server: BuzzServer
) -> None:
    before = len(server.requests)
    with pytest.raises(ConfigurationError, match=r"item 1: missing required field.*username"):
        client.create_users(
            [
                {"domainid": "10", "username": "a", "email": "", "firstname": "A", "lastname": "B"},
                {"domainid": "10", "email": "", "firstname": "A", "lastname": "B"},
            ]
        )
    assert len(server.requests) == before


def test_course_lifecycle_and_copy(client: BuzzClient, server: BuzzServer) -> None:
    created = client.create_courses([BuzzCourse(title="Geometry", domain_id="10", reference="c-2")])
    assert created.ok
    answer = created.succeeded[0].answer["course"]
    course_id = created.succeeded[0].id
    assert course_id is not None
    assert course_id == answer["courseid"] and answer["enrollmentid"]
    assert [c.reference for c in client.list_courses("10")] == ["c-1", "c-2"]
    assert client.get_course(course_id).schema == 3
    assert client.update_courses([BuzzCourse(id=course_id, title="Geometry A")]).ok
    assert client.get_course(course_id).title == "Geometry A"
    copied = client.copy_courses(
        [
            CourseCopy(
                source_id="30",
                domain_id="10",
                action=CopyAction.DERIVATIVE_CHILD,
                title="Algebra - P1",
                reference="class-1",
            )
        ]
    )
    assert copied.ok
    section = client.get_course(copied.succeeded[0].id or "")
    assert (section.title, section.reference, section.base_id) == ("Algebra - P1", "class-1", "30")
    assert client.delete_courses([course_id], cascade=True).ok
    assert course_id not in [c["id"] for c in server.courses()]
    client.restore_course(course_id)
    assert course_id in [c["id"] for c in server.courses()]


def test_enrollment_lifecycle(client: BuzzClient, server: BuzzServer) -> None:
    created = client.create_enrollments(
        [
            BuzzEnrollment(
                user_id="22",
                course_id="30",
                role_id="2",
                status=EnrollmentStatus.ACTIVE,
                start_date=datetime(2026, 8, 20, tzinfo=UTC),
                raw_dates={"enddate": NO_END},
                reference="e-3",
            )
        ]
    )
    assert created.ok
    enrollment_id = created.succeeded[0].id
    assert enrollment_id is not None
    got = client.get_enrollment(enrollment_id)
    assert (got.user_id, got.course_id, got.reference) == ("22", "30", "e-3")
    assert got.end_date is None
    assert {e.id for e in client.list_enrollments("10")} >= {"40", "41", enrollment_id}
    assert {e.id for e in client.list_course_enrollments("30")} >= {"40", "41", enrollment_id}
    assert [e.id for e in client.list_user_enrollments("22")] == [enrollment_id]
    withdrawn = attrs.evolve(got, status=EnrollmentStatus.WITHDRAWN)
    assert client.update_enrollments([withdrawn]).ok
    assert client.list_user_enrollments("22").all() == []
    assert [e.status for e in client.list_user_enrollments("22", all_status=True)] == [
        EnrollmentStatus.WITHDRAWN
    ]
    assert client.delete_enrollments([enrollment_id]).ok
    assert enrollment_id not in [e["id"] for e in server.enrollments()]
    client.restore_enrollment(enrollment_id)
    assert enrollment_id in [e["id"] for e in server.enrollments()]


def test_create_enrollments_always_refuses_duplicates(client: BuzzClient) -> None:
    again = BuzzEnrollment(
        user_id="20", course_id="30", role_id="2", status=EnrollmentStatus.ACTIVE
    )
    result = client.create_enrollments([again])
    assert not result.ok
    assert result.failed[0].message == "Duplicate enrollment"
    assert result.failed[0].input is again


def test_create_enrollments_needs_a_role_or_flags(client: BuzzClient) -> None:
    with pytest.raises(ConfigurationError, match="roleid or flags"):
        client.create_enrollments([BuzzEnrollment(user_id="20", course_id="30", status=1)])  # type: ignore[arg-type]


def test_roles_and_observer_rights(client: BuzzClient, server: BuzzServer) -> None:
    roles = {role.name: role for role in client.list_roles("10")}
    assert roles["Student"].privileges is not None
    assert Rights.PARTICIPATE in roles["Student"].privileges
    granted = client.update_rights(
        [RightsGrant(actor_id="24", entity_id="20", flags=Rights.READ_USER)]
    )
    assert granted.ok
    assert server.rights()[("24", "20")]["flags"] in (512, "512")
    grants = client.get_actor_rights("24", entity_types="U")
    assert [(g.actor_id, g.entity_id, g.flags) for g in grants] == [("24", "20", Rights.READ_USER)]


def test_gradebooks(client: BuzzClient) -> None:
    book = client.get_entity_gradebook("30")
    assert [item.id for item in book.items] == ["q1"]
    by_enrollment = {b.enrollment.id: b for b in book.enrollments}
    assert by_enrollment["40"].scores[0].achieved == 8.0
    assert by_enrollment["41"].scores[0].percent == pytest.approx(0.5)
    only = client.get_entity_gradebook("30", enrollment_ids=["41"])
    assert [b.enrollment.id for b in only.enrollments] == ["41"]
    one = client.get_enrollment_gradebook("40")
    assert one.total is not None and one.total.percent == pytest.approx(0.8)
    assert one.course is not None and one.course.id == "30"
    rollup_only = client.get_enrollment_gradebook("40", item_ids=None)
    assert rollup_only.scores == ()


def test_generic_call_and_batch(client: BuzzClient) -> None:
    response = client.call("getuser2", {"userid": "20"})
    assert response["user"]["reference"] == "u-0"
    result = client.batch(
        "updateusers", "user", [{"userid": "20", "lastname": "X"}, {"userid": "999999"}]
    )
    assert [s.input["userid"] for s in result.succeeded] == ["20"]
    assert [(f.index, f.code) for f in result.failed] == [(1, "DoesNotExist")]
    with pytest.raises(BuzzCommandError) as caught:
        client.call("getuser2", {"userid": "999999"})
    assert caught.value.code == "DoesNotExist" and caught.value.command == "getuser2"


def test_raise_for_failures_names_the_first_failed_index(client: BuzzClient) -> None:
    result = client.batch("updateusers", "user", [{"userid": "20"}, {"userid": "999999"}])
    with pytest.raises(BuzzCommandError, match="index 1: DoesNotExist"):
        result.raise_for_failures()
    assert client.batch("updateusers", "user", [{"userid": "20"}]).raise_for_failures().ok
