"""read_roster through real HTTP against the loopback OneRoster server, healthy and faulted."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from oneroster_client import OneRosterClient
from oneroster_client.auth import OAuth2ClientCredentials
from oneroster_client.buzz.snapshot import (
    FULL_READ_COLLECTIONS,
    ROSTER_COLLECTIONS,
    RosterSnapshot,
    _stops_the_read,
    read_roster,
)
from oneroster_client.errors import (
    AuthenticationError,
    ConfigurationError,
    OneRosterError,
    PermissionDeniedError,
    TokenRefusedError,
    TransportError,
)
from oneroster_client.retry import RetryPolicy
from oneroster_client.testing import OneRosterServer
from oneroster_client.testing.district import District
from oneroster_client.testing.generator import generate_district

SINCE = datetime(2024, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def district() -> District:
    return generate_district(students=30, seed=11, with_gradebook=False)


@pytest.fixture
def server(district: District) -> Iterator[OneRosterServer]:
    with OneRosterServer(district) as running:
        yield running


def client_for(server: OneRosterServer, attempts: int = 3) -> OneRosterClient:
    retry = RetryPolicy(max_attempts=attempts, sleep=lambda _: None, random=lambda: 0.0)
    return OneRosterClient(
        server.base_url, auth=server.oauth2(), retry=retry, timeout=2.0, page_size=25
    )


def _changed(district: District, wire: str) -> set[str]:
    cutoff = SINCE.strftime("%Y-%m-%dT%H:%M:%S")
    return {row["sourcedId"] for row in district[wire] if row["dateLastModified"] > cutoff}


def test_a_full_read_holds_every_roster_record(server: OneRosterServer, district: District) -> None:
    with client_for(server) as client:
        snapshot = read_roster(client, max_workers=2)
    assert snapshot.complete and snapshot.incomplete_reasons == [] and snapshot.issues == []
    assert snapshot.changed_since is None
    for attribute, wire in ROSTER_COLLECTIONS:
        read = {record.sourced_id for record in getattr(snapshot, attribute)}
        assert read == {row["sourcedId"] for row in district[wire]}, wire
    assert snapshot.counts()["users"] == len(district["users"])
    assert snapshot.read_at.tzinfo is not None


def test_an_incremental_read_filters_users_and_enrollments_only(
    server: OneRosterServer, district: District
) -> None:
    with client_for(server) as client:
        snapshot = read_roster(client, since=SINCE)
    assert snapshot.complete and snapshot.changed_since == SINCE
    assert {user.sourced_id for user in snapshot.users} == _changed(district, "users")
    assert {e.sourced_id for e in snapshot.enrollments} == _changed(district, "enrollments")
    assert len(snapshot.users) < len(district["users"])
    # Schools, terms and classes are read in full: mapping a changed user needs them.
    for attribute, wire in ROSTER_COLLECTIONS:
        if attribute in FULL_READ_COLLECTIONS:
            assert len(getattr(snapshot, attribute)) == len(district[wire]), wire
    filters = [r.query.get("filter", "") for r in server.requests if "/users" in r.path]
    assert filters and all("dateLastModified>" in text for text in filters)


def test_a_naive_since_is_taken_as_utc(server: OneRosterServer) -> None:
    with client_for(server) as client:
        snapshot = read_roster(client, since=SINCE.replace(tzinfo=None))
    assert snapshot.changed_since == SINCE


def test_a_server_announcing_more_records_than_it_sends_gives_an_incomplete_snapshot(
    server: OneRosterServer, district: District
) -> None:
    server.faults.total_count_delta = 5
    with client_for(server) as client:
        snapshot = read_roster(client)
    assert not snapshot.complete
    for _, wire in ROSTER_COLLECTIONS:
        total = len(district[wire]) + 5
        assert any(
            reason.startswith(f"{wire}: ") and f"announced {total} records" in reason
            for reason in snapshot.incomplete_reasons
        ), wire
    # What did arrive is kept.
    assert len(snapshot.users) == len(district["users"])


def test_unreadable_records_are_kept_as_issues_with_their_raw_payload(
    server: OneRosterServer, district: District
) -> None:
    student = next(row for row in district["users"] if row["role"] == "student")
    server.faults.corrupt_records = {student["sourcedId"]}
    with client_for(server) as client:
        snapshot = read_roster(client)
    assert not snapshot.complete
    assert any("users: 1 of" in reason for reason in snapshot.incomplete_reasons)
    assert student["sourcedId"] not in {user.sourced_id for user in snapshot.users}
    [issue] = snapshot.issues
    assert str(issue.source) == f"users/{student['sourcedId']}"
    assert issue.raw is not None and issue.raw["sourcedId"] == student["sourcedId"]
    assert "User" in issue.reason
    # The reason names the field, never a personal value of the record.
    for value in (student["givenName"], student["familyName"], student["username"]):
        assert value not in issue.reason


def test_a_failing_server_gives_an_incomplete_snapshot_not_an_exception(
    server: OneRosterServer,
) -> None:
    server.faults.fail_always = 500
    with client_for(server, attempts=1) as client:
        snapshot = read_roster(client)
    assert not snapshot.complete
    assert len(snapshot.incomplete_reasons) == len(ROSTER_COLLECTIONS)
    for (_, wire), reason in zip(ROSTER_COLLECTIONS, snapshot.incomplete_reasons, strict=True):
        assert reason.startswith(f"{wire}: the read failed after 0 records (ServerError")
    assert snapshot.counts() == dict.fromkeys(snapshot.counts(), 0)


def test_a_failure_in_the_middle_keeps_the_pages_read_before_it(
    server: OneRosterServer, district: District
) -> None:
    seen = {"count": 0}

    def progress(collection: str, received: int, total: int | None) -> None:
        # After the first page of courses, the next request fails.
        if collection == "courses" and seen["count"] == 0:
            seen["count"] = received
            server.faults.fail_next(500)

    with client_for(server, attempts=1) as client:
        snapshot = read_roster(client, progress=progress)
    assert not snapshot.complete
    [reason] = [r for r in snapshot.incomplete_reasons if r.startswith("courses: ")]
    assert f"failed after {seen['count']} records" in reason
    assert len(snapshot.courses) == seen["count"] < len(district["courses"])
    assert len(snapshot.users) == len(district["users"])


def test_progress_is_reported_per_collection(server: OneRosterServer) -> None:
    calls: list[tuple[str, int, int | None]] = []
    with client_for(server) as client:
        read_roster(client, progress=lambda *args: calls.append(args))
    assert {name for name, _, _ in calls} == {wire for _, wire in ROSTER_COLLECTIONS}
    last_users = [call for call in calls if call[0] == "users"][-1]
    assert last_users[1] == last_users[2]


def test_bad_max_workers_is_a_configuration_error(server: OneRosterServer) -> None:
    with client_for(server) as client, pytest.raises(ConfigurationError, match="max_workers"):
        read_roster(client, max_workers=0)


def test_an_empty_snapshot_is_complete_and_holds_nothing() -> None:
    snapshot = RosterSnapshot()
    assert snapshot.complete and sum(snapshot.counts().values()) == 0


def test_refused_credentials_stop_the_read_after_the_first_collection(
    server: OneRosterServer,
) -> None:
    retry = RetryPolicy(max_attempts=3, sleep=lambda _: None, random=lambda: 0.0)
    auth = OAuth2ClientCredentials(server.token_url, server.client_id, "not-the-secret")
    with OneRosterClient(server.base_url, auth=auth, retry=retry, timeout=2.0) as client:
        snapshot = read_roster(client)
    assert not snapshot.complete
    first, *rest = snapshot.incomplete_reasons
    assert first.startswith("orgs: the read failed after 0 records (TokenRefusedError")
    assert rest == [
        f"{wire}: not read (the token endpoint refused the credentials when reading orgs)"
        for _, wire in ROSTER_COLLECTIONS[1:]
    ]
    assert "not-the-secret" not in " ".join(snapshot.incomplete_reasons)


def test_a_server_that_never_answers_is_asked_once_not_once_per_collection() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    retry = RetryPolicy(max_attempts=2, sleep=lambda _: None, random=lambda: 0.0)
    url = f"http://127.0.0.1:{port}/ims/oneroster/v1p1"
    with OneRosterClient(url, auth=None, retry=retry, timeout=2.0) as client:
        snapshot = read_roster(client)
    first, *rest = snapshot.incomplete_reasons
    assert first.startswith("orgs: the read failed after 0 records (TransportError")
    assert rest == [
        f"{wire}: not read (the server did not answer when reading orgs)"
        for _, wire in ROSTER_COLLECTIONS[1:]
    ]


def test_a_refusal_of_one_collection_does_not_stop_the_others(server: OneRosterServer) -> None:
    # A 403 is about one collection's scope: the others are still read.
    with client_for(server, attempts=1) as client:
        server.faults.fail_next(403)
        snapshot = read_roster(client)
    assert [r for r in snapshot.incomplete_reasons if "not read" in r] == []
    assert snapshot.counts()["users"] > 0


@pytest.mark.parametrize(
    ("failure", "answered", "stops"),
    [
        (TokenRefusedError("refused", problem="credentials", status_code=401), True, True),
        (AuthenticationError("401", status_code=401), False, True),
        (AuthenticationError("401", status_code=401), True, False),  # one collection refused
        (TransportError("no answer"), False, True),
        (TransportError("timed out"), True, False),  # one slow collection
        (PermissionDeniedError("403", status_code=403), False, False),
        (None, False, False),
    ],
)
def test_which_failures_stop_the_read(
    failure: OneRosterError | None, answered: bool, stops: bool
) -> None:
    assert (_stops_the_read("orgs", failure, answered) is not None) is stops
