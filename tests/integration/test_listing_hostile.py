"""Integration: listings against servers that page wrongly, through real HTTP.

Each server here is a :class:`ScriptedServer` serving a users collection the way a
misbehaving vendor does: totals too low (or the page's own length), next links that
skip or re-read records, offsets ignored, records reordered between pages, errors
reported inside a 200, relative links, absurd totals. A listing must read every record
it can and never say it is complete while records were left unread or read twice.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import pytest

from oneroster_client import OneRosterClient, RetryPolicy
from oneroster_client.errors import IncompleteResultError, ResponseFormatError
from oneroster_client.testing.generator import generate_district
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer

BASE_PATH = "/ims/oneroster/v1p1"
USERS_PATH = BASE_PATH + "/users"
WORKERS = [1, 4]

Headers = Callable[[int, int, list[dict[str, Any]]], list[tuple[str, str]]]


@pytest.fixture(scope="module")
def users() -> list[dict[str, Any]]:
    rows = generate_district(students=150, seed=3, with_gradebook=False)["users"]
    return [row for row in rows if row["role"] == "student"][:150]


def _window(request: Received) -> tuple[int, int]:
    return int(request.param("offset") or 0), int(request.param("limit") or 100)


def collection(
    records: list[dict[str, Any]],
    *,
    headers: Headers | None = None,
    order: Callable[[int], list[dict[str, Any]]] | None = None,
    ignore_offset: bool = False,
    extra: Callable[[int], dict[str, Any]] | None = None,
) -> Callable[[Received], Reply]:
    """A script serving ``records`` as ``/users`` with the given misbehaviour.

    Args:
        records: the records of the collection.
        headers: paging headers for (offset, limit, page); none by default.
        order: the records in the order of the n-th request (reordering servers).
        ignore_offset: serve from offset 0 whatever was asked.
        extra: more envelope properties for the page at an offset (statusInfoSet).
    """
    served = [0]

    def script(request: Received) -> Reply:
        offset, limit = _window(request)
        rows = order(served[0]) if order is not None else records
        served[0] += 1
        start = 0 if ignore_offset else offset
        page = rows[start : start + limit]
        body: dict[str, Any] = {"users": page, **(extra(offset) if extra else {})}
        return Reply(200, body=body, headers=headers(offset, limit, page) if headers else [])

    return script


def total_of(value: int | str) -> Headers:
    return lambda offset, limit, page: [("X-Total-Count", str(value))]


def client_for(server: ScriptedServer, **options: Any) -> OneRosterClient:
    return OneRosterClient(
        server.url(BASE_PATH),
        auth=None,
        timeout=2.0,
        retry=RetryPolicy(sleep=lambda seconds: None, max_attempts=2),
        **options,
    )


def read_all(server: ScriptedServer, **options: Any) -> tuple[list[str], Any]:
    with client_for(server) as client:
        listing = client.users.list(allow_incomplete=True, **options)
        ids = [user.sourced_id for user in listing]
    return ids, listing


def offsets(server: ScriptedServer) -> list[int]:
    return [int(r.param("offset") or 0) for r in server.received]


# --- 1. a total lower than the real count -------------------------------------------------


@pytest.mark.parametrize("max_workers", WORKERS)
def test_a_total_too_low_on_a_page_boundary_is_detected_and_read_past(
    serve: Any, users: list[dict[str, Any]], max_workers: int
) -> None:
    server = serve(collection(users, headers=total_of(100)))
    with (
        client_for(server) as client,
        pytest.raises(IncompleteResultError, match="announced 100 records but 150 arrived"),
    ):
        client.users.list(page_size=50, max_workers=max_workers).all()

    ids, listing = read_all(server, page_size=50, max_workers=max_workers)
    assert ids == [u["sourcedId"] for u in users]
    assert listing.complete is False
    assert listing.received == 150


@pytest.mark.parametrize("max_workers", WORKERS)
def test_the_page_length_sent_as_the_total_is_not_taken_for_the_end(
    serve: Any, users: list[dict[str, Any]], max_workers: int
) -> None:
    server = serve(
        collection(users[:120], headers=lambda o, limit, page: [("X-Total-Count", str(len(page)))])
    )
    ids, listing = read_all(server, page_size=40, max_workers=max_workers)
    assert ids == [u["sourcedId"] for u in users[:120]]
    assert listing.complete is False
    assert any("announced 40 records but 120 arrived" in p for p in listing.problems)
    assert offsets(server)[-1] == 120  # read until the server ran out


@pytest.mark.parametrize("max_workers", WORKERS)
def test_a_right_total_on_a_page_boundary_is_complete_after_one_probe(
    serve: Any, users: list[dict[str, Any]], max_workers: int
) -> None:
    server = serve(collection(users[:100], headers=total_of(100)))
    ids, listing = read_all(server, page_size=50, max_workers=max_workers)
    assert len(ids) == 100
    assert listing.complete is True
    assert sorted(offsets(server)) == [0, 50, 100]


def test_a_capped_page_size_counts_as_full_at_the_total(
    serve: Any, users: list[dict[str, Any]]
) -> None:
    # The server serves 25 whatever the limit: 25 is its full page, so the total (75,
    # too low) reached by a page of 25 is checked, and the 25 records after it are read.
    def capped(request: Received) -> Reply:
        offset, _ = _window(request)
        page = users[offset : offset + 25]
        return Reply(200, body={"users": page}, headers=[("X-Total-Count", "75")])

    server = serve(capped)
    ids, listing = read_all(server, page_size=100)
    assert ids == [u["sourcedId"] for u in users]
    assert listing.complete is False


# --- 2. next links that skip or overlap ---------------------------------------------------


def _link_off_by(delta: int) -> Headers:
    def headers(offset: int, limit: int, page: list[dict[str, Any]]) -> list[tuple[str, str]]:
        if not page:
            return []
        target = f"{USERS_PATH}?limit={limit}&offset={offset + len(page) + delta}"
        return [("Link", f'<{target}>; rel="next"')]

    return headers


@pytest.mark.parametrize(("delta", "effect"), [(10, "skip 10"), (-5, "read 5 record(s) again")])
def test_a_next_link_that_skips_or_overlaps_is_a_problem(
    serve: Any, users: list[dict[str, Any]], delta: int, effect: str
) -> None:
    server = serve(collection(users, headers=_link_off_by(delta)))
    with (
        client_for(server) as client,
        pytest.raises(IncompleteResultError, match=re.escape(effect)),
    ):
        client.users.list(page_size=40).all()

    ids, listing = read_all(server, page_size=40)
    # The listing pages by offset itself after the bad link: nothing skipped, no repeats.
    assert ids == [u["sourcedId"] for u in users]
    assert listing.complete is False
    assert len(listing.problems) == 1


def test_a_next_link_with_the_right_offset_is_followed(
    serve: Any, users: list[dict[str, Any]]
) -> None:
    server = serve(collection(users, headers=_link_off_by(0)))
    ids, listing = read_all(server, page_size=40)
    assert ids == [u["sourcedId"] for u in users]
    assert listing.complete is True
    assert offsets(server) == [0, 40, 80, 120, 150]


# --- 3. offsets ignored, records reordered ------------------------------------------------


@pytest.mark.parametrize("max_workers", WORKERS)
@pytest.mark.parametrize("with_total", [True, False])
def test_a_server_that_ignores_offset_and_shuffles_stops_with_a_problem(
    serve: Any, users: list[dict[str, Any]], max_workers: int, with_total: bool
) -> None:
    # Every answer is the first page, in a new order each time: a signature of the first
    # and last ids does not see the repeat; remembering the sourcedIds does.
    shuffler = random.Random(5)

    def shuffled(n: int) -> list[dict[str, Any]]:
        head = users[:50]
        return shuffler.sample(head, len(head))

    headers = total_of(len(users)) if with_total else None
    server = serve(collection(users, headers=headers, order=shuffled, ignore_offset=True))
    with client_for(server) as client, pytest.raises(IncompleteResultError, match="repeats"):
        client.users.list(page_size=50, max_workers=max_workers).all()

    ids, listing = read_all(server, page_size=50, max_workers=max_workers)
    assert len(ids) == len(set(ids)) == 50
    assert listing.complete is False
    assert len(server.received) < 20  # it stopped; it did not loop


@pytest.mark.parametrize("max_workers", WORKERS)
def test_records_reordered_between_pages_are_not_handed_out_twice(
    serve: Any, users: list[dict[str, Any]], max_workers: int
) -> None:
    # An unstable sort: each request sees the collection rotated a little further, so
    # pages overlap and some records are never served. The counts still match.
    def rotated(n: int) -> list[dict[str, Any]]:
        shift = 7 * n
        return users[shift:] + users[:shift]

    server = serve(collection(users, headers=total_of(len(users)), order=rotated))
    with client_for(server) as client, pytest.raises(IncompleteResultError, match="reorders"):
        client.users.list(page_size=30, max_workers=max_workers).all()

    ids, listing = read_all(server, page_size=30, max_workers=max_workers)
    assert len(ids) == len(set(ids))
    assert listing.received == len(users)  # the count alone would have looked complete
    assert listing.complete is False


# --- 4. an error status inside a 200 ------------------------------------------------------


@pytest.mark.parametrize("max_workers", WORKERS)
def test_a_page_whose_status_reports_failure_makes_the_listing_incomplete(
    serve: Any, users: list[dict[str, Any]], max_workers: int
) -> None:
    failure = {
        "statusInfoSet": [
            {
                "imsx_codeMajor": "failure",
                "imsx_severity": "error",
                "imsx_codeMinor": {
                    "imsx_codeMinorField": [
                        {
                            "imsx_codeMinorFieldName": "TargetEndSystem",
                            "imsx_codeMinorFieldValue": "server_busy",
                        }
                    ]
                },
                "imsx_description": "page truncated",
            }
        ]
    }
    server = serve(
        collection(
            users[:90],
            headers=total_of(90),
            extra=lambda offset: failure if offset == 30 else {},
        )
    )
    with client_for(server) as client, pytest.raises(IncompleteResultError, match="server_busy"):
        client.users.list(page_size=30, max_workers=max_workers).all()

    ids, listing = read_all(server, page_size=30, max_workers=max_workers)
    assert len(ids) == 90
    assert listing.complete is False
    assert any("offset 30" in p and "error status" in p for p in listing.problems)


# --- 5. relative links ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        USERS_PATH + "?limit={limit}&offset={offset}",
        "?limit={limit}&offset={offset}",
        "users?limit={limit}&offset={offset}",
    ],
    ids=["absolute-path", "query-only", "relative-path"],
)
def test_a_relative_next_link_is_resolved_against_the_request(
    serve: Any, users: list[dict[str, Any]], template: str
) -> None:
    def headers(offset: int, limit: int, page: list[dict[str, Any]]) -> list[tuple[str, str]]:
        if offset + len(page) >= len(users):
            return []
        target = template.format(limit=limit, offset=offset + len(page))
        return [("Link", f'<{target}>; rel="next"')]

    server = serve(collection(users, headers=headers))
    ids, listing = read_all(server, page_size=50)
    assert ids == [u["sourcedId"] for u in users]
    assert listing.complete is True
    assert {r.path for r in server.received} == {USERS_PATH}


@pytest.mark.parametrize(
    "target", ["http://other-host.invalid/users?offset=50", "//evil.invalid/x"]
)
def test_a_next_link_to_another_origin_is_still_refused(
    serve: Any, users: list[dict[str, Any]], target: str
) -> None:
    server = serve(
        collection(users, headers=lambda o, limit, page: [("Link", f'<{target}>; rel="next"')])
    )
    with client_for(server) as client, pytest.raises(ResponseFormatError, match="another host"):
        client.users.list(page_size=50).all()
    assert len(server.received) == 1


# --- 9. absurd totals -----------------------------------------------------------------------


@pytest.mark.parametrize("max_workers", WORKERS)
def test_an_absurd_total_ends_as_an_incomplete_listing(
    serve: Any, users: list[dict[str, Any]], max_workers: int
) -> None:
    server = serve(collection(users[:120], headers=total_of(10**18)))
    with (
        client_for(server) as client,
        pytest.raises(IncompleteResultError, match=f"announced {10**18} records but 120 arrived"),
    ):
        client.users.list(page_size=50, max_workers=max_workers).all()
    assert len(server.received) <= 3 + max_workers * 2


@pytest.mark.parametrize("value", ["9" * 5000, "-40", "lots"])
def test_an_unreadable_total_is_ignored(
    serve: Any, users: list[dict[str, Any]], value: str
) -> None:
    server = serve(collection(users[:60], headers=total_of(value)))
    ids, listing = read_all(server, page_size=25, max_workers=4)
    assert len(ids) == 60
    assert (listing.total, listing.complete) == (None, True)


# --- count ------------------------------------------------------------------------------------


def test_count_does_not_trust_a_total_that_is_the_page_length(
    serve: Any, users: list[dict[str, Any]]
) -> None:
    server = serve(
        collection(users[:70], headers=lambda o, limit, page: [("X-Total-Count", str(len(page)))])
    )
    with client_for(server) as client:
        assert client.users.list(page_size=30, allow_incomplete=True).count() == 70
        with pytest.raises(IncompleteResultError, match="announced 30 records but 70 arrived"):
            client.users.list(page_size=30).count()


def test_count_trusts_a_total_larger_than_the_probe(
    serve: Any, users: list[dict[str, Any]]
) -> None:
    server = serve(collection(users[:70], headers=total_of(70)))
    with client_for(server) as client:
        assert client.users.list().count() == 70
    assert [r.param("limit") for r in server.received] == ["1"]


def test_pages_a_preprocessor_empties_cannot_loop_forever(
    serve: Any, users: list[dict[str, Any]]
) -> None:
    # A vendor repair that drops rows it has seen (as the Skyward adapter does for repeated
    # staff rows) leaves nothing to compare when the server repeats its first page.
    server = serve(collection(users, ignore_offset=True))
    with (
        client_for(server, preprocessor=lambda op: lambda records: []) as client,
        pytest.raises(IncompleteResultError, match="brought no record"),
    ):
        client.users.list(page_size=10).all()
    assert len(server.received) == 20
