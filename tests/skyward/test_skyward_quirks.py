"""Skyward quirks: repaired on raw records, always reported, never dropping anyone silently."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from oneroster_client import OneRosterClient
from oneroster_client.endpoints import operation
from oneroster_client.models.enums import StatusType
from oneroster_client.testing import OneRosterServer
from skyward_adapter import QuirkReport, SkywardQuirks, connect, default_retry_policy, quirk_report
from skyward_adapter.quirks import (
    DUPLICATE_STAFF_MERGED,
    DUPLICATE_STAFF_UNMERGED,
    IDENTIFIER_FROM_SOURCED_ID,
    MISSING_NAME,
    QUIRKS,
    REPEATED_PERIODS,
    STATUS_NORMALISED,
)
from skyward_adapter.testing import (
    SkywardLikeDistrict,
    loopback_settings,
    skyward_like_district,
    skyward_like_server,
)

NO_SLEEP = default_retry_policy(sleep=lambda seconds: None)
Repair = Callable[[list[Any]], list[Any]]


def ref(sourced_id: str) -> dict[str, str]:
    return {"sourcedId": sourced_id, "type": "org"}


def teacher(sourced_id: str = "ISD123-usr-t-1", **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "sourcedId": sourced_id,
        "status": "active",
        "role": "teacher",
        "username": "teacher1",
        "givenName": "Ada",
        "familyName": "Lovelace",
        "enabledUser": True,
        "identifier": "E100",
        "email": "ada@example.org",
        "orgs": [ref("ISD123-sch-1")],
    }
    record.update(fields)
    return record


def repair_for(operation_id: str, quirks: SkywardQuirks) -> Repair:
    repair = quirks(operation(operation_id))
    assert repair is not None
    return repair


@pytest.fixture
def quirks() -> SkywardQuirks:
    return SkywardQuirks()


# --- unit: each quirk on raw records ---------------------------------------------------------


def test_duplicate_staff_rows_on_one_page_are_merged(quirks: SkywardQuirks) -> None:
    repair = repair_for("getAllUsers", quirks)
    first = teacher(email="", identifier="E100")
    second = teacher(
        orgs=[ref("ISD123-sch-2"), ref("ISD123-sch-1")],
        email="ada@example.org",
        phone="555-0100",
        userIds=[{"type": "LDAP", "identifier": "ada"}],
    )
    student = {"sourcedId": "ISD123-usr-s-1", "role": "student", "givenName": "B"}
    records = repair([first, student, second])
    assert [record["sourcedId"] for record in records] == ["ISD123-usr-t-1", "ISD123-usr-s-1"]
    merged = records[0]
    assert merged["orgs"] == [ref("ISD123-sch-1"), ref("ISD123-sch-2")]
    assert merged["email"] == "ada@example.org"  # first non-empty value
    assert merged["identifier"] == "E100"
    assert merged["phone"] == "555-0100"
    assert merged["userIds"] == [{"type": "LDAP", "identifier": "ada"}]
    [entry] = quirks.report.for_quirk(DUPLICATE_STAFF_MERGED)
    assert entry.sourced_id == "ISD123-usr-t-1"
    assert entry.collection == "/users"
    assert "2 rows" in entry.detail
    assert "ISD123-sch-1, ISD123-sch-2" in entry.detail


def test_duplicate_staff_row_on_a_later_page_is_dropped_and_reported(
    quirks: SkywardQuirks,
) -> None:
    repair = repair_for("getAllUsers", quirks)
    page_one = repair([teacher(), teacher("ISD123-usr-a-1", role="administrator")])
    assert len(page_one) == 2
    page_two = repair(
        [
            {"sourcedId": "ISD123-usr-s-9", "role": "student"},
            teacher("ISD123-usr-a-1", role="administrator", orgs=[ref("ISD123-sch-7")]),
        ]
    )
    assert [record["sourcedId"] for record in page_two] == ["ISD123-usr-s-9"]
    [entry] = quirks.report.for_quirk(DUPLICATE_STAFF_UNMERGED)
    assert entry.sourced_id == "ISD123-usr-a-1"
    assert "later page" in entry.detail
    assert "ISD123-sch-7" in entry.detail


def test_reading_a_listing_again_is_not_mistaken_for_duplicates(quirks: SkywardQuirks) -> None:
    repair = repair_for("getAllTeachers", quirks)
    page = [teacher(), teacher("ISD123-usr-t-2")]
    for _ in range(3):  # the same listing read three times
        assert len(repair(copy.deepcopy(page))) == 2
    assert quirks.report.for_quirk(DUPLICATE_STAFF_UNMERGED) == []


def test_students_with_the_same_sourced_id_are_not_merged(quirks: SkywardQuirks) -> None:
    repair = repair_for("getAllUsers", quirks)
    student = {"sourcedId": "s-1", "role": "student", "givenName": "A", "familyName": "B"}
    assert len(repair([dict(student), dict(student)])) == 2
    assert len(quirks.report) == 0


@pytest.mark.parametrize(
    ("periods", "expected"),
    [(["1", "1", "2"], ["1", "2"]), (["3", "2", "3", "2"], ["3", "2"]), ("4, 4,5", "4,5")],
)
def test_repeated_periods_are_removed_in_order(
    quirks: SkywardQuirks, periods: Any, expected: Any
) -> None:
    repair = repair_for("getAllClasses", quirks)
    [record] = repair([{"sourcedId": "ISD123-cls-1", "periods": periods}])
    assert record["periods"] == expected
    [entry] = quirks.report.for_quirk(REPEATED_PERIODS)
    assert entry.sourced_id == "ISD123-cls-1"


def test_classes_with_distinct_periods_are_left_alone(quirks: SkywardQuirks) -> None:
    repair = repair_for("getClassesForTeacher", quirks)
    assert repair([{"sourcedId": "c", "periods": ["1", "2"]}])[0]["periods"] == ["1", "2"]
    assert len(quirks.report) == 0


@pytest.mark.parametrize("missing", [{"identifier": None}, {"identifier": ""}, {}])
def test_teachers_without_identifier_get_their_sourced_id(
    quirks: SkywardQuirks, missing: dict[str, Any]
) -> None:
    record = teacher()
    del record["identifier"]
    record.update(missing)
    [repaired] = repair_for("getAllUsers", quirks)([record])
    assert repaired["identifier"] == "ISD123-usr-t-1"
    assert quirks.report.sourced_ids(IDENTIFIER_FROM_SOURCED_ID) == ["ISD123-usr-t-1"]


def test_students_without_identifier_are_left_alone(quirks: SkywardQuirks) -> None:
    student = {"sourcedId": "s-1", "role": "student", "givenName": "A", "familyName": "B"}
    assert "identifier" not in repair_for("getAllUsers", quirks)([student])[0]


def test_users_without_names_are_kept_and_reported(quirks: SkywardQuirks) -> None:
    nameless = {"sourcedId": "ISD123-usr-g-1", "role": "parent", "username": "g1"}
    half = {"sourcedId": "ISD123-usr-s-1", "role": "student", "givenName": "", "familyName": None}
    records = repair_for("getAllUsers", quirks)([nameless, half])
    assert len(records) == 2
    assert (records[0]["givenName"], records[0]["familyName"]) == ("", "")
    assert (records[1]["givenName"], records[1]["familyName"]) == ("", "")
    entries = quirks.report.for_quirk(MISSING_NAME)
    assert [entry.sourced_id for entry in entries] == ["ISD123-usr-g-1", "ISD123-usr-s-1"]
    assert "givenName and familyName" in entries[0].detail


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("TobeDeleted", "tobedeleted"),
        ("toBeDeleted", "tobedeleted"),
        ("to be deleted", "tobedeleted"),
        ("deleted", "tobedeleted"),
        ("inactive", "tobedeleted"),
        ("Inactive", "tobedeleted"),
        ("Active", "active"),
        (" ACTIVE ", "active"),
    ],
)
def test_status_spellings_become_spec_values(
    quirks: SkywardQuirks, status: str, expected: str
) -> None:
    for operation_id in ("getAllEnrollments", "getAllUsers", "getAllClasses", "getAllOrgs"):
        [record] = repair_for(operation_id, quirks)([{"sourcedId": "x-1", "status": status}])
        assert record["status"] == expected
    entries = quirks.report.for_quirk(STATUS_NORMALISED)
    assert len(entries) == 4
    assert f"{status!r} read as {expected!r}" in entries[0].detail


@pytest.mark.parametrize("status", ["active", "tobedeleted", "pending", None])
def test_spec_and_unknown_statuses_are_untouched(quirks: SkywardQuirks, status: Any) -> None:
    [record] = repair_for("getAllEnrollments", quirks)([{"sourcedId": "e", "status": status}])
    assert record["status"] == status
    assert len(quirks.report) == 0


def test_district_prefixes_are_never_stripped(quirks: SkywardQuirks) -> None:
    records = repair_for("getAllUsers", quirks)(
        [teacher("ISD123-usr-1"), teacher("ISD123-usr-1", orgs=[ref("ISD123-sch-2")])]
    )
    assert records[0]["sourcedId"] == "ISD123-usr-1"
    assert all(org["sourcedId"].startswith("ISD123-") for org in records[0]["orgs"])


def test_single_record_reads_are_not_preprocessed(quirks: SkywardQuirks) -> None:
    assert quirks(operation("getUser")) is None


def test_the_report_is_readable_and_bounded() -> None:
    report = QuirkReport(max_entries=2)
    for number in range(5):
        report.add(MISSING_NAME, f"u-{number}", "/users", "givenName missing")
    assert len(report) == 5
    assert len(report.entries) == 2
    assert report.dropped_entries == 3
    assert report.counts() == {MISSING_NAME: 5}
    assert f"{MISSING_NAME}: 5" in str(report)
    assert "u-0" in str(report.entries[0])
    report.clear()
    assert len(report) == 0
    assert str(report) == "Skyward quirks: none repaired"
    assert set(QUIRKS) >= {DUPLICATE_STAFF_MERGED, STATUS_NORMALISED}


def test_quirk_report_needs_a_skyward_client() -> None:
    with (
        OneRosterClient("https://example.org/ims/oneroster/v1p1", auth=None) as client,
        pytest.raises(ValueError, match=r"skyward_adapter\.connect"),
    ):
        quirk_report(client)


# --- integration: a Skyward-like district through the loopback server -------------------------


@pytest.fixture(scope="module")
def planted() -> SkywardLikeDistrict:
    return skyward_like_district()


@pytest.fixture
def server(planted: SkywardLikeDistrict) -> Iterator[OneRosterServer]:
    district = copy.deepcopy(planted.district)
    with skyward_like_server(district) as running:
        yield running


def client_for(server: OneRosterServer, **options: Any) -> OneRosterClient:
    return connect(loopback_settings(server, page_size=20), retry=NO_SLEEP, **options)


def test_users_from_a_skyward_like_server(
    server: OneRosterServer, planted: SkywardLikeDistrict
) -> None:
    rows = planted.district["users"]
    with client_for(server) as client:
        listing = client.users.list()
        users = listing.all()
        report = quirk_report(client)
    unique = {row["sourcedId"] for row in rows}
    # Two duplicate rows arrived; every person is there exactly once.
    assert listing.received == listing.total == len(rows) == len(unique) + 2
    assert listing.complete is True
    assert sorted(user.sourced_id for user in users) == sorted(unique)
    assert all(user.sourced_id.startswith("ISD123-") for user in users)
    by_id = {user.sourced_id: user for user in users}

    [merged_id] = planted.planted[DUPLICATE_STAFF_MERGED]
    assert len(by_id[merged_id].orgs) == 2
    assert by_id[merged_id].email  # the first row had it, the duplicate did not
    [dropped_id] = planted.planted[DUPLICATE_STAFF_UNMERGED]
    assert len(by_id[dropped_id].orgs) == 1
    for sourced_id in planted.planted[IDENTIFIER_FROM_SOURCED_ID]:
        assert by_id[sourced_id].identifier == sourced_id
    for sourced_id in planted.planted[MISSING_NAME]:
        assert by_id[sourced_id].family_name == ""

    assert report.sourced_ids(DUPLICATE_STAFF_MERGED) == [merged_id]
    assert report.sourced_ids(DUPLICATE_STAFF_UNMERGED) == [dropped_id]
    assert sorted(report.sourced_ids(IDENTIFIER_FROM_SOURCED_ID)) == sorted(
        planted.planted[IDENTIFIER_FROM_SOURCED_ID]
    )
    assert sorted(report.sourced_ids(MISSING_NAME)) == sorted(planted.planted[MISSING_NAME])
    user_statuses = {sourced_id for sourced_id in planted.statuses if sourced_id in unique}
    assert set(report.sourced_ids(STATUS_NORMALISED)) == user_statuses
    for sourced_id in user_statuses:
        assert by_id[sourced_id].status == StatusType.TOBEDELETED


def test_reading_twice_gives_the_same_users(server: OneRosterServer) -> None:
    with client_for(server) as client:
        listing = client.users.list()
        first = [user.sourced_id for user in listing]
        second = [user.sourced_id for user in listing]
        assert client.users.list().first(3)
        third = [user.sourced_id for user in client.users.list()]
    assert first == second == third
    assert len(first) == len(set(first))


def test_concurrent_paging_keeps_one_row_per_person(
    server: OneRosterServer, planted: SkywardLikeDistrict
) -> None:
    with client_for(server, max_workers=3) as client:
        users = client.users.list().all()
    ids = [user.sourced_id for user in users]
    assert len(ids) == len(set(ids)) == len({row["sourcedId"] for row in planted.district["users"]})


def test_classes_and_enrollments_from_a_skyward_like_server(
    server: OneRosterServer, planted: SkywardLikeDistrict
) -> None:
    with client_for(server) as client:
        classes = {item.sourced_id: item for item in client.classes.list()}
        enrollments = {item.sourced_id: item for item in client.enrollments.list()}
        teachers = client.teachers.list().all()
        report = quirk_report(client)
    for sourced_id in planted.planted[REPEATED_PERIODS]:
        periods = classes[sourced_id].periods
        assert periods is not None and len(periods) == len(set(periods))
    for sourced_id, spelling in planted.statuses.items():
        record = classes.get(sourced_id) or enrollments.get(sourced_id)
        if record is not None:
            expected = StatusType.ACTIVE if spelling == "Active" else StatusType.TOBEDELETED
            assert record.status == expected
    assert sorted(report.sourced_ids(REPEATED_PERIODS)) == sorted(planted.planted[REPEATED_PERIODS])
    teacher_ids = [user.sourced_id for user in teachers]
    assert len(teacher_ids) == len(set(teacher_ids))  # /teachers merges duplicates too
