"""Integration: listings read everything or say what they missed (OneRoster 1.1 pagination).

Page sizes that do and do not divide the total, servers that cap the page size, servers
without paging headers, repeated pages, lying totals, foreign next links, unreadable
records, vendor envelope keys and value quirks, concurrent paging, ``first``, ``count``
and ``pages``, all through real HTTP against the loopback server.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any

import pytest

from oneroster_client import F, OneRosterClient, RetryPolicy
from oneroster_client.errors import FilterError, IncompleteResultError, ResponseFormatError
from oneroster_client.models import Enrollment, User
from oneroster_client.models.enums import RoleType
from oneroster_client.testing.district import District
from oneroster_client.testing.server import OneRosterServer

NO_SLEEP = RetryPolicy(sleep=lambda seconds: None)

WIRE_NAMES = {
    "orgs": "orgs",
    "academic_sessions": "academicSessions",
    "categories": "categories",
    "users": "users",
    "results": "results",
    "enrollments": "enrollments",
    "classes": "classes",
}


@pytest.fixture
def client(oneroster_server: OneRosterServer) -> Iterator[OneRosterClient]:
    with OneRosterClient(
        oneroster_server.base_url, auth=oneroster_server.oauth2(), retry=NO_SLEEP
    ) as one:
        yield one


def _wire_ids(district: District, attribute: str) -> list[str]:
    return [row["sourcedId"] for row in district[WIRE_NAMES[attribute]]]


def _offsets(server: OneRosterServer) -> list[int]:
    return [int(request.query.get("offset", "0")) for request in server.requests]


# --- page sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "page_size"),
    [
        ("orgs", 1),
        ("academic_sessions", 1),
        ("categories", 7),
        ("users", 7),
        ("users", 100),
        ("results", 100),
        ("results", 1000),
        ("enrollments", 1000),
    ],
)
def test_every_record_once_whatever_the_page_size(
    client: OneRosterClient,
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    attribute: str,
    page_size: int,
) -> None:
    expected = _wire_ids(oneroster_district, attribute)
    listing = getattr(client, attribute).list(page_size=page_size)
    records = listing.all()
    assert [r.sourced_id for r in records] == expected
    assert len({r.sourced_id for r in records}) == len(records)
    assert (listing.total, listing.received, listing.complete) == (
        len(expected),
        len(expected),
        True,
    )
    pages = math.ceil(len(expected) / page_size)
    # A total reached by a full page is checked with one more request (it may be too low).
    probe = [len(expected)] if len(expected) % page_size == 0 else []
    assert _offsets(oneroster_server) == [page_size * n for n in range(pages)] + probe
    assert {r.query["limit"] for r in oneroster_server.requests} == {str(page_size)}


@pytest.mark.parametrize("divisor", [1, 2, 3, 5])
def test_page_size_dividing_the_total_exactly_costs_one_probe_request(
    client: OneRosterClient,
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    divisor: int,
) -> None:
    total = len(oneroster_district["users"])
    page_size = total // divisor
    # Drop users until the total is an exact multiple of the page size.
    del oneroster_district["users"][page_size * divisor :]
    listing = client.users.list(page_size=page_size)
    records = listing.all()
    assert len(records) == page_size * divisor
    # The total is reached by a full page: one request at the total confirms nothing follows.
    assert _offsets(oneroster_server) == [page_size * n for n in range(divisor + 1)]
    assert listing.complete is True


def test_a_short_last_page_needs_no_probe(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    total = len(oneroster_district["users"])
    page_size = 7 if total % 7 else 8
    client.users.list(page_size=page_size).all()
    assert len(oneroster_server.requests) == math.ceil(total / page_size)


def test_empty_collection(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    oneroster_district["categories"].clear()
    listing = client.categories.list()
    assert listing.all() == []
    assert (listing.total, listing.complete) == (0, True)
    assert len(oneroster_server.requests) == 1


def test_a_listing_can_be_read_twice(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    listing = client.classes.list(page_size=50)
    first, second = list(listing), list(listing)
    assert first == second
    assert len(first) == len(oneroster_district["classes"])
    assert len(oneroster_server.requests) == 2 * math.ceil(len(first) / 50)


def test_pages_progress_and_repr(client: OneRosterClient, oneroster_district: District) -> None:
    progress: list[tuple[int, int | None]] = []
    listing = client.classes.list(page_size=40, progress=lambda r, t: progress.append((r, t)))
    assert "complete" not in repr(listing)
    pages = list(listing.pages())
    total = len(oneroster_district["classes"])
    assert [p.offset for p in pages] == list(range(0, total, 40))
    assert all(p.total == total and p.errors == [] for p in pages)
    assert sum(p.received for p in pages) == total
    assert progress == [(min(40 * (n + 1), total), total) for n in range(len(pages))]
    assert f"received={total}, complete=True" in repr(listing)


# --- servers that get paging wrong -----------------------------------------------------------


@pytest.mark.parametrize("max_workers", [1, 4])
def test_a_server_that_caps_the_page_size_is_read_completely(
    client: OneRosterClient,
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    max_workers: int,
) -> None:
    oneroster_server.faults.cap_page_size = 25
    listing = client.users.list(page_size=100, max_workers=max_workers)
    records = listing.all()
    assert [r.sourced_id for r in records] == _wire_ids(oneroster_district, "users")
    assert listing.complete is True
    assert sorted(_offsets(oneroster_server)) == list(range(0, len(records), 25))


@pytest.mark.parametrize("cap", [None, 30])
def test_a_server_without_paging_headers_is_read_until_an_empty_page(
    client: OneRosterClient,
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    cap: int | None,
) -> None:
    oneroster_server.faults.paging_headers = False
    oneroster_server.faults.cap_page_size = cap
    listing = client.users.list(page_size=50, max_workers=4)
    records = listing.all()
    expected = _wire_ids(oneroster_district, "users")
    assert [r.sourced_id for r in records] == expected
    assert listing.total is None
    assert listing.complete is True
    step = cap or 50
    # Short pages are not taken as the end: the empty page after the last one is.
    assert _offsets(oneroster_server) == [*range(0, len(expected), step), len(expected)]


def test_x_total_count_without_links_is_followed(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    # A server that only caps: Link next points with the capped limit; sequential reading
    # advances by what arrived, not by what was asked for.
    oneroster_server.faults.cap_page_size = 40
    records = client.enrollments.list(page_size=1000).all()
    assert len(records) == len(oneroster_district["enrollments"])


@pytest.mark.parametrize("max_workers", [1, 4])
def test_a_server_that_ignores_offset_is_an_incomplete_result(
    client: OneRosterClient, oneroster_server: OneRosterServer, max_workers: int
) -> None:
    oneroster_server.faults.ignore_offset = True
    with pytest.raises(IncompleteResultError, match="repeats an earlier page"):
        client.users.list(page_size=50, max_workers=max_workers).all()


def test_a_repeated_page_with_allow_incomplete_keeps_what_arrived(
    client: OneRosterClient, oneroster_server: OneRosterServer
) -> None:
    oneroster_server.faults.ignore_offset = True
    listing = client.users.list(page_size=50, allow_incomplete=True)
    records = listing.all()
    assert len(records) == 50  # the repeated page is not yielded again
    assert len({r.sourced_id for r in records}) == 50
    assert listing.complete is False
    assert any("repeats" in problem for problem in listing.problems)


@pytest.mark.parametrize("delta", [7, -7])
def test_a_total_that_does_not_match_what_arrived_names_the_counts(
    client: OneRosterClient,
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    delta: int,
) -> None:
    oneroster_server.faults.total_count_delta = delta
    real = len(oneroster_district["users"])
    with pytest.raises(IncompleteResultError) as info:
        client.users.list(page_size=60).all()
    assert f"announced {real + delta} records but {real} arrived" in str(info.value)
    assert "/users" in str(info.value)


def test_a_lying_total_with_allow_incomplete_returns_the_records(
    client: OneRosterClient,
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    caplog: pytest.LogCaptureFixture,
) -> None:
    oneroster_server.faults.total_count_delta = 5
    caplog.set_level(logging.WARNING, logger="oneroster_client")
    listing = client.users.list(page_size=60, allow_incomplete=True)
    records = listing.all()
    assert [r.sourced_id for r in records] == _wire_ids(oneroster_district, "users")
    assert listing.complete is False
    assert listing.total == len(records) + 5
    assert any("incomplete listing" in r.getMessage() for r in caplog.records)


def test_a_next_link_to_another_host_is_refused(
    client: OneRosterClient, oneroster_server: OneRosterServer
) -> None:
    oneroster_server.faults.foreign_next_link = True
    with pytest.raises(ResponseFormatError, match="another host") as info:
        client.users.list(page_size=50).all()
    assert "other-host.invalid" in str(info.value)
    assert len(oneroster_server.requests) == 1


def test_a_foreign_next_link_is_never_followed_when_paging_by_offsets(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    # Concurrent paging builds its own URLs from the total: the foreign link is unused.
    oneroster_server.faults.foreign_next_link = True
    records = client.users.list(page_size=50, max_workers=3).all()
    assert len(records) == len(oneroster_district["users"])
    assert all(r.path.endswith("/users") for r in oneroster_server.requests)


# --- records that cannot be read --------------------------------------------------------------


def test_unreadable_records_are_reported_with_raw_payload_and_position(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    ids = _wire_ids(oneroster_district, "users")
    broken = {ids[3]: 3, ids[77]: 77}
    oneroster_server.faults.corrupt_records = set(broken)
    with pytest.raises(IncompleteResultError, match=r"2 of \d+ records could not be read"):
        client.users.list(page_size=50).all()

    listing = client.users.list(page_size=50, allow_incomplete=True)
    records = listing.all()
    assert [r.sourced_id for r in records] == [i for i in ids if i not in broken]
    assert listing.complete is False
    assert {e.raw["sourcedId"]: e.position for e in listing.errors} == broken
    for error in listing.errors:
        assert error.raw["dateLastModified"] == "not a date"
        assert error.error.field == "dateLastModified"
        assert error.error.sourced_id == error.raw["sourcedId"]
        assert str(error).startswith(f"record #{error.position}:")


def test_unreadable_records_in_pages(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    target = _wire_ids(oneroster_district, "users")[55]
    oneroster_server.faults.corrupt_records = {target}
    pages = list(client.users.list(page_size=50, allow_incomplete=True).pages())
    assert [len(p.errors) for p in pages][:2] == [0, 1]
    assert pages[1].received == len(pages[1].items) + 1


# --- vendor quirks ----------------------------------------------------------------------------


def test_envelope_key_variants_are_read(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    oneroster_server.faults.envelope_keys = {
        "users": "students",
        "orgs": "schools",
        "user": "student",
    }
    users = client.users.list(page_size=100).all()
    assert len(users) == len(oneroster_district["users"])
    students = client.students.list().all()
    assert students and all(s.role == RoleType.STUDENT for s in students)
    klass = next(
        e["class"]["sourcedId"] for e in oneroster_district["enrollments"] if e["role"] == "student"
    )
    assert client.classes.students(klass).all()
    schools = [o for o in oneroster_district["orgs"] if o["type"] == "school"]
    assert len(client.schools.list().all()) == len(schools)
    assert client.users.get(students[0].sourced_id).sourced_id == students[0].sourced_id


def test_strings_for_booleans_are_read_as_booleans(
    client: OneRosterClient, oneroster_server: OneRosterServer
) -> None:
    oneroster_server.faults.strings_for_booleans = True
    users = client.users.list().all()
    assert all(isinstance(u.enabled_user, bool) for u in users)
    enrollments = client.enrollments.list(page_size=1000).all()
    assert {type(e.primary) for e in enrollments if e.primary is not None} == {bool}
    demographics = client.demographics.list().all()
    assert all(isinstance(d.white, bool) for d in demographics if d.white is not None)


def test_unknown_role_is_kept_as_a_string_with_a_warning(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    oneroster_server.faults.unknown_role = "districtAdministrator"
    administrators = {
        u["sourcedId"] for u in oneroster_district["users"] if u["role"] == "administrator"
    }
    assert administrators
    listing = client.users.list()
    users = {u.sourced_id: u for u in listing}
    assert listing.complete is True
    assert len(users) == len(oneroster_district["users"])
    for sourced_id in administrators:
        role = users[sourced_id].role
        assert role == "districtAdministrator"
        assert not isinstance(role, RoleType)
    assert len(listing.value_warnings) >= len(administrators)
    assert all(w.value == "districtAdministrator" for w in listing.value_warnings)
    assert {w.field for w in listing.value_warnings} == {"role"}


# --- concurrent paging ------------------------------------------------------------------------


@pytest.mark.parametrize(("attribute", "page_size"), [("results", 100), ("users", 13)])
def test_concurrent_paging_gives_the_same_records_in_the_same_order(
    client: OneRosterClient, attribute: str, page_size: int
) -> None:
    sequential = getattr(client, attribute).list(page_size=page_size).all()
    concurrent_listing = getattr(client, attribute).list(page_size=page_size, max_workers=4)
    concurrent = concurrent_listing.all()
    assert concurrent == sequential
    assert concurrent_listing.complete is True


def test_concurrent_paging_backs_off_when_rate_limited(
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    caplog: pytest.LogCaptureFixture,
) -> None:
    oneroster_server.faults.rate_limit_every = 3
    waits: list[float] = []
    caplog.set_level(logging.INFO, logger="oneroster_client")
    with OneRosterClient(
        oneroster_server.base_url,
        auth=oneroster_server.oauth1(),
        retry=RetryPolicy(sleep=waits.append, max_attempts=10),
        max_workers=4,
    ) as client:
        listing = client.results.list(page_size=100)
        records = listing.all()
    assert [r.sourced_id for r in records] == _wire_ids(oneroster_district, "results")
    assert listing.complete is True
    assert waits and set(waits) == {1.0}
    assert any("lowering concurrent page requests" in r.getMessage() for r in caplog.records)


def test_client_default_max_workers_applies_to_listings(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    with OneRosterClient(
        oneroster_server.base_url, auth=oneroster_server.oauth2(), max_workers=3, page_size=30
    ) as client:
        listing = client.enrollments.list()
        assert listing.max_workers == 3
        assert len(listing.all()) == len(oneroster_district["enrollments"])


# --- first, count ----------------------------------------------------------------------------


def test_first_fetches_only_the_pages_it_needs(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    ids = _wire_ids(oneroster_district, "users")
    listing = client.users.list(page_size=50)

    assert [u.sourced_id for u in listing.first()] == ids[:1]
    assert oneroster_server.requests[-1].query["limit"] == "1"
    assert len(oneroster_server.requests) == 1

    assert [u.sourced_id for u in listing.first(3)] == ids[:3]
    assert len(oneroster_server.requests) == 2

    assert [u.sourced_id for u in listing.first(120)] == ids[:120]
    assert _offsets(oneroster_server)[2:] == [0, 50, 100]
    assert listing.page_size == 50  # restored

    assert listing.first(0) == []
    assert len(oneroster_server.requests) == 5


def test_first_more_than_there_are(client: OneRosterClient, oneroster_district: District) -> None:
    orgs = client.orgs.list(page_size=2).first(100)
    assert len(orgs) == len(oneroster_district["orgs"])


def test_count_uses_x_total_count_in_one_request(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    assert client.results.list().count() == len(oneroster_district["results"])
    assert client.students.list(filter="role='student'").count() == sum(
        1 for u in oneroster_district["users"] if u["role"] == "student"
    )
    assert [r.query["limit"] for r in oneroster_server.requests] == ["1", "1"]


def test_count_without_paging_headers_reads_the_listing(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    oneroster_server.faults.paging_headers = False
    assert client.classes.list(page_size=50).count() == len(oneroster_district["classes"])
    assert len(oneroster_server.requests) > 1


def test_typed_records(client: OneRosterClient) -> None:
    user = client.users.list().first()[0]
    enrollment = client.enrollments.list().first()[0]
    assert isinstance(user, User)
    assert isinstance(enrollment, Enrollment)
    assert isinstance(enrollment.user.sourced_id, str)


# --- notebooks --------------------------------------------------------------------------------


def test_to_dataframe(client: OneRosterClient, oneroster_district: District) -> None:
    pd: Any = pytest.importorskip("pandas")
    frame = client.classes.list(page_size=50).to_dataframe()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == len(oneroster_district["classes"])
    assert {"sourced_id", "title", "course", "school", "terms"} <= set(frame.columns)
    first = oneroster_district["classes"][0]
    assert frame.iloc[0]["course"] == first["course"]["sourcedId"]
    assert frame.iloc[0]["terms"] == [t["sourcedId"] for t in first["terms"]]


# --- dicts, first with fields, repr ----------------------------------------------------------


@pytest.mark.parametrize("max_workers", [1, 3])
def test_dicts_read_several_full_pages_completely(
    client: OneRosterClient,
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    max_workers: int,
) -> None:
    listing = client.users.list(page_size=10, max_workers=max_workers)
    rows = list(listing.dicts())
    assert [row["sourcedId"] for row in rows] == _wire_ids(oneroster_district, "users")
    assert all(isinstance(row, dict) for row in rows)
    assert (listing.complete, listing.problems) == (True, [])


def test_dicts_of_partial_records_always_ask_for_the_sourced_id(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    listing = client.users.list(fields=["family_name"], page_size=25)
    rows = list(listing.dicts())
    assert listing.complete is True
    assert len(rows) == len(oneroster_district["users"])
    assert {r.query["fields"] for r in oneroster_server.requests} == {"sourcedId,familyName"}
    # Namesakes are different records: they are told apart by their sourcedId.
    assert len({row["sourcedId"] for row in rows}) == len(rows)


def test_first_refuses_partial_fields_like_all_does(
    client: OneRosterClient, oneroster_server: OneRosterServer
) -> None:
    listing = client.users.list(fields="sourcedId,role")
    for read in (listing.first, lambda: listing.first(5), listing.all):
        with pytest.raises(FilterError, match=r"leaves out .*listing\.dicts\(\)"):
            read()
    assert oneroster_server.requests == []


def test_first_reports_problems_in_the_pages_it_read(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    target = _wire_ids(oneroster_district, "users")[1]
    oneroster_server.faults.corrupt_records = {target}
    with pytest.raises(IncompleteResultError, match="could not be read"):
        client.users.list(page_size=50).first(500)
    # Stopping before the broken record is fine; stopping after it is not.
    assert len(client.users.list(page_size=50).first(1)) == 1


def test_repr_redacts_filter_values(client: OneRosterClient, oneroster_district: District) -> None:
    email = next(u["email"] for u in oneroster_district["users"] if u.get("email"))
    listing = client.users.list(
        filter=(F.email == email) | (F.family_name == "Brien-Smith, Jo"), sort="family_name"
    )
    shown = repr(listing)
    assert email not in shown and "Brien" not in shown
    assert "email='REDACTED'" in shown and "familyName='REDACTED'" in shown
    assert "sort=familyName" in shown and shown.startswith("Listing(User, /users?")
    listing.all()
    assert email not in repr(listing)
    assert "complete=True" in repr(listing)
