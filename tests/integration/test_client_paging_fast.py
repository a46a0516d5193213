"""Integration: the fast reading path of listings, through real HTTP.

A listing fetches the next page on a worker thread while the caller works on the current
one (read-ahead), keeps every worker busy in parallel paging, and shares equal
references between the records it reads. None of this may change what a listing hands
out, in what order, or which requests it makes beyond one page of read-ahead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from oneroster_client import OneRosterClient, RetryPolicy
from oneroster_client.errors import IncompleteResultError, OneRosterError
from oneroster_client.models import Enrollment
from oneroster_client.testing import OneRosterServer
from oneroster_client.testing.district import District
from oneroster_client.testing.generator import generate_district
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer

from .test_listing_hostile import client_for as _client


@pytest.fixture(scope="module")
def users() -> list[dict[str, Any]]:
    rows = generate_district(students=120, seed=5, with_gradebook=False)["users"]
    return [row for row in rows if row["role"] == "student"][:120]


def _window(request: Received) -> tuple[int, int]:
    return int(request.param("offset") or 0), int(request.param("limit") or 100)


def _paged(
    records: list[dict[str, Any]], *, total: bool = True, delay: float = 0.0
) -> Callable[[Received], Reply]:
    def script(request: Received) -> Reply:
        offset, limit = _window(request)
        page = records[offset : offset + limit]
        headers = [("X-Total-Count", str(len(records)))] if total else []
        return Reply(200, body={"users": page}, headers=headers, delay=delay)

    return script


@pytest.fixture
def client(oneroster_server: OneRosterServer) -> Iterator[OneRosterClient]:
    with OneRosterClient(
        oneroster_server.base_url,
        auth=oneroster_server.oauth2(),
        retry=RetryPolicy(sleep=lambda seconds: None),
    ) as one:
        yield one


def _page_threads() -> list[threading.Thread]:
    return [
        thread
        for thread in threading.enumerate()
        if thread.name.startswith(("oneroster-read-ahead", "oneroster-page"))
    ]


def offsets(server: ScriptedServer) -> list[int]:
    return [int(r.param("offset") or 0) for r in server.received]


def _wire_ids(district: District, collection: str) -> list[str]:
    return [row["sourcedId"] for row in district[collection]]


# --- read-ahead ---------------------------------------------------------------------------


def test_read_ahead_hands_out_every_record_in_server_order(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    listing = client.enrollments.list(page_size=37)
    records = listing.all()
    assert [r.sourced_id for r in records] == _wire_ids(oneroster_district, "enrollments")
    assert records == [
        Enrollment.from_dict(row) for row in listing.dicts()
    ]  # same models as one record at a time
    assert listing.complete is True
    offsets = [int(r.query["offset"]) for r in oneroster_server.requests]
    # The same requests as without read-ahead, once per iteration, in order.
    assert offsets == 2 * list(range(0, len(records), 37))


def test_read_ahead_asks_for_at_most_two_pages_past_what_was_taken(
    serve: Callable[[Callable[[Received], Reply]], ScriptedServer], users: list[dict[str, Any]]
) -> None:
    server = serve(_paged(users))
    with _client(server) as client:
        records = iter(client.users.list(page_size=10))
        taken = [next(records) for _ in range(15)]  # into the second page
        time.sleep(0.2)  # give a runaway reader time to fetch more
        requested = offsets(server)
        records.close()
    assert [u.sourced_id for u in taken] == [row["sourcedId"] for row in users[:15]]
    # Two pages taken; the third read into models, the fourth asked for meanwhile.
    assert requested == [0, 10, 20, 30]
    assert offsets(server) == requested  # and nothing after the caller stopped
    assert _page_threads() == []


def test_breaking_out_of_a_listing_leaves_no_thread_behind(
    serve: Callable[[Callable[[Received], Reply]], ScriptedServer], users: list[dict[str, Any]]
) -> None:
    server = serve(_paged(users, delay=0.05))
    with _client(server) as client:
        for index, _user in enumerate(client.users.list(page_size=10)):
            if index == 12:
                break
    # The generator was closed by the break: the requests under way ended, the pool with it.
    assert _page_threads() == []
    assert len(server.received) <= 4


def test_an_error_on_a_later_page_comes_after_the_pages_before_it(
    serve: Callable[[Callable[[Received], Reply]], ScriptedServer], users: list[dict[str, Any]]
) -> None:
    paged = _paged(users)

    def script(request: Received) -> Reply:
        offset, _limit = _window(request)
        return Reply(503, body="down") if offset >= 20 else paged(request)

    server = serve(script)
    handed_out: list[str] = []
    with _client(server) as client, pytest.raises(OneRosterError):
        for user in client.users.list(page_size=10):
            handed_out.append(user.sourced_id)
    assert handed_out == [row["sourcedId"] for row in users[:20]]
    assert _page_threads() == []


def test_a_foreign_link_is_refused_after_the_page_that_carried_it(
    serve: Callable[[Callable[[Received], Reply]], ScriptedServer], users: list[dict[str, Any]]
) -> None:
    def script(request: Received) -> Reply:
        offset, limit = _window(request)
        link = [("Link", '<https://other-host.invalid/users?offset=10>; rel="next"')]
        return Reply(200, body={"users": users[offset : offset + limit]}, headers=link)

    server = serve(script)
    handed_out: list[str] = []
    with _client(server) as client, pytest.raises(OneRosterError, match="another host"):
        for user in client.users.list(page_size=10):
            handed_out.append(user.sourced_id)
    assert handed_out == [row["sourcedId"] for row in users[:10]]
    assert len(server.received) == 1


def test_read_ahead_keeps_the_completeness_checks(
    serve: Callable[[Callable[[Received], Reply]], ScriptedServer], users: list[dict[str, Any]]
) -> None:
    # A server that ignores offset: the second page repeats the first.
    def script(request: Received) -> Reply:
        return Reply(200, body={"users": users[:10]}, headers=[("X-Total-Count", "120")])

    server = serve(script)
    with _client(server) as client, pytest.raises(IncompleteResultError, match="repeats"):
        client.users.list(page_size=10).all()
    # The repeated second page ends the listing; the third was asked for early, unused.
    assert offsets(server) == [0, 10, 20]
    assert _page_threads() == []


# --- parallel pages -----------------------------------------------------------------------


def test_parallel_pages_are_identical_to_a_sequential_read(
    client: OneRosterClient, oneroster_district: District
) -> None:
    sequential = client.enrollments.list(page_size=23).all()
    for workers in (2, 4, 8):
        assert client.enrollments.list(page_size=23, max_workers=workers).all() == sequential
    assert [r.sourced_id for r in sequential] == _wire_ids(oneroster_district, "enrollments")
    assert _page_threads() == []


def test_every_worker_stays_busy_while_the_caller_works_on_a_page(
    serve: Callable[[Callable[[Received], Reply]], ScriptedServer], users: list[dict[str, Any]]
) -> None:
    server = serve(_paged(users, delay=0.3))
    with _client(server) as client:
        pages = client.users.list(page_size=10, max_workers=3).pages()
        next(pages)  # the first page tells the total: 3 requests go out at once
        next(pages)  # the second page is taken: the workers that are done get new ones
        time.sleep(0.15)  # well before any answer to the new requests
        requested = len(server.received)
        pages.close()
    # The first page, the first 3 of the rest, and one to three more (as many workers as
    # had finished): none waits for the caller to finish with the page it holds.
    assert 1 + 3 + 1 <= requested <= 1 + 3 + 3
    assert _page_threads() == []


def test_parallel_paging_backs_off_after_a_429(
    serve: Callable[[Callable[[Received], Reply]], ScriptedServer], users: list[dict[str, Any]]
) -> None:
    paged = _paged(users)
    refused: set[int] = set()
    lock = threading.Lock()

    def script(request: Received) -> Reply:
        offset, _limit = _window(request)
        with lock:
            first_time = offset == 40 and offset not in refused
            refused.add(offset)
        if first_time:
            return Reply(429, body="slow down", headers=[("Retry-After", "0")])
        return paged(request)

    server = serve(script)
    with _client(server) as client:
        listing = client.users.list(page_size=10, max_workers=4)
        ids = [user.sourced_id for user in listing]
    assert ids == [row["sourcedId"] for row in users]
    assert listing.complete is True
    assert sum(1 for r in server.received if int(r.param("offset") or 0) == 40) == 2


# --- shared references --------------------------------------------------------------------


def test_equal_references_in_a_listing_are_one_immutable_instance(
    client: OneRosterClient,
) -> None:
    enrollments = client.enrollments.list(page_size=50).all()
    schools = {}
    for enrollment in enrollments:
        shared = schools.setdefault(enrollment.school.sourced_id, enrollment.school)
        assert enrollment.school is shared
        assert enrollment.school == shared
    assert len(schools) < len(enrollments)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        enrollments[0].school.sourced_id = "changed"  # type: ignore[misc]
    # Equal but separate listings do not share instances: nothing outlives a listing.
    again = client.enrollments.list(page_size=50).first()[0]
    assert again.school == enrollments[0].school
    assert again.school is not enrollments[0].school
