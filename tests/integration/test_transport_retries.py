"""Integration: retries, Retry-After, backoff and the deadline, through real HTTP.

The retry policy gets an injected sleep (and, for the deadline, an injected clock), so
nothing really waits: the recorded waits are what the client would have slept.
"""

from __future__ import annotations

from typing import Any

import pytest

from oneroster_client import OneRosterClient, RetryPolicy
from oneroster_client.errors import RateLimitError, ServerError
from oneroster_client.models import Category
from oneroster_client.testing.district import District
from oneroster_client.testing.server import OneRosterServer


def _an_org(server: OneRosterServer) -> str:
    """The sourcedId of an org the server holds."""
    return str(server.district["orgs"][0]["sourcedId"])


class FakeTime:
    """A monotonic clock that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 5000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _client(server: OneRosterServer, fake: FakeTime, **policy: Any) -> OneRosterClient:
    policy.setdefault("random", lambda: 1.0)  # no jitter: waits are exactly the ceilings
    retry = RetryPolicy(sleep=fake.sleep, clock=fake.clock, **policy)
    return OneRosterClient(server.base_url, auth=server.oauth1(), retry=retry)


def test_429_retry_after_in_seconds_is_obeyed(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    oneroster_server.faults.retry_after = "7"
    oneroster_server.faults.fail_next(429, 2)
    fake = FakeTime()
    with _client(oneroster_server, fake) as client:
        orgs = client.orgs.list().all()
    assert len(orgs) == len(oneroster_district["orgs"])
    assert fake.sleeps == [7.0, 7.0]
    assert oneroster_server.statuses() == [429, 429, 200]


def test_429_retry_after_as_http_date_is_obeyed(oneroster_server: OneRosterServer) -> None:
    oneroster_server.faults.retry_after = "5"
    oneroster_server.faults.retry_after_http_date = True
    oneroster_server.faults.fail_next(429)
    fake = FakeTime()
    with _client(oneroster_server, fake) as client:
        client.orgs.get(_an_org(oneroster_server))
    # The HTTP-date has whole seconds: the wait is the 5 s asked for, minus under a second.
    assert len(fake.sleeps) == 1
    assert 3.9 <= fake.sleeps[0] <= 5.0
    assert oneroster_server.statuses() == [429, 200]


def test_retry_after_longer_than_the_policy_allows_gives_up_at_once(
    oneroster_server: OneRosterServer,
) -> None:
    oneroster_server.faults.retry_after = "600"
    oneroster_server.faults.fail_next(429)
    fake = FakeTime()
    with _client(oneroster_server, fake) as client, pytest.raises(RateLimitError) as info:
        client.orgs.list().all()
    assert fake.sleeps == []
    assert info.value.retry_after == 600.0
    assert info.value.status_code == 429
    assert "600" in str(info.value)
    assert oneroster_server.statuses() == [429]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_transient_gateway_burst_is_survived_with_growing_backoff(
    oneroster_server: OneRosterServer, oneroster_district: District, status: int
) -> None:
    oneroster_server.faults.fail_next(status, 3)
    fake = FakeTime()
    with _client(oneroster_server, fake, backoff_base=0.5) as client:
        users = client.users.list().all()
    assert len(users) == len(oneroster_district["users"])
    assert fake.sleeps == [0.5, 1.0, 2.0]
    assert oneroster_server.statuses()[:4] == [status, status, status, 200]


def test_503_burst_with_jitter_waits_within_the_backoff_ceilings(
    oneroster_server: OneRosterServer,
) -> None:
    oneroster_server.faults.fail_next(503, 3)
    fake = FakeTime()
    draws = iter([0.25, 0.5, 0.75])
    with _client(oneroster_server, fake, backoff_base=1.0, random=lambda: next(draws)) as client:
        client.orgs.list().all()
    assert fake.sleeps == [0.25, 1.0, 3.0]  # draw x ceiling 1, 2, 4


def test_503_burst_on_a_later_page_keeps_the_listing_complete(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    pages = 0

    def fail_after_first_page(received: int, total: int | None) -> None:
        nonlocal pages
        pages += 1
        if pages == 1:
            oneroster_server.faults.fail_next(503, 3)

    fake = FakeTime()
    with _client(oneroster_server, fake) as client:
        listing = client.users.list(page_size=60, progress=fail_after_first_page)
        users = listing.all()
    assert [u.sourced_id for u in users] == [u["sourcedId"] for u in oneroster_district["users"]]
    assert listing.complete is True
    assert len(fake.sleeps) == 3


def test_put_is_retried_after_503(oneroster_server: OneRosterServer) -> None:
    oneroster_server.faults.fail_next(503, 2)
    fake = FakeTime()
    with _client(oneroster_server, fake) as client:
        result = client.categories.put(Category(sourced_id="cat-retry", title="Labs"))
    assert result.created is True
    assert [(r.method, r.status) for r in oneroster_server.requests] == [
        ("PUT", 503),
        ("PUT", 503),
        ("PUT", 201),
    ]


def test_persistent_503_gives_up_before_crossing_the_deadline(
    oneroster_server: OneRosterServer,
) -> None:
    oneroster_server.faults.fail_always = 503
    fake = FakeTime()
    with (
        _client(oneroster_server, fake, max_attempts=100, backoff_base=1.0, deadline=10.0) as c,
        pytest.raises(ServerError) as info,
    ):
        c.orgs.list().all()
    # Waits 1, 2, 4 reach 7 s; the next one (8 s) would end at 15 s > 10 s: give up instead.
    assert fake.sleeps == [1.0, 2.0, 4.0]
    assert sum(fake.sleeps) <= 10.0
    assert len(oneroster_server.requests) == 4
    assert info.value.status_code == 503
    assert "gave up after 4 attempts" in str(info.value)


def test_rate_limit_waits_count_against_the_deadline(oneroster_server: OneRosterServer) -> None:
    oneroster_server.faults.retry_after = "6"
    oneroster_server.faults.fail_always = 429
    fake = FakeTime()
    with (
        _client(oneroster_server, fake, max_attempts=100, deadline=10.0) as client,
        pytest.raises(RateLimitError) as info,
    ):
        client.orgs.get(_an_org(oneroster_server))
    assert fake.sleeps == [6.0]
    assert info.value.retry_after == 6.0
    assert len(oneroster_server.requests) == 2


def test_persistent_503_uses_up_max_attempts(oneroster_server: OneRosterServer) -> None:
    oneroster_server.faults.fail_always = 503
    fake = FakeTime()
    with (
        _client(oneroster_server, fake, max_attempts=3, deadline=None) as client,
        pytest.raises(ServerError) as info,
    ):
        client.orgs.list().all()
    assert len(fake.sleeps) == 2
    assert len(oneroster_server.requests) == 3
    assert "gave up after 3 attempts" in str(info.value)


def test_persistent_500_is_not_retried_and_carries_status_infos(
    oneroster_server: OneRosterServer,
) -> None:
    oneroster_server.faults.fail_always = 500
    fake = FakeTime()
    with _client(oneroster_server, fake) as client, pytest.raises(ServerError) as info:
        client.users.list().all()
    error = info.value
    assert fake.sleeps == []
    assert len(oneroster_server.requests) == 1
    assert error.status_code == 500
    assert error.status_infos, "the statusInfoSet of the 500 answer was not parsed"
    assert error.code_minors == ("internalservererror",)
    assert error.status_infos[0].severity == "error"
    assert "HTTP 500" in str(error)
    assert "attempts" not in str(error)  # one attempt: nothing to say about retries


def test_rate_limited_concurrent_listing_backs_off_and_completes(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    oneroster_server.faults.rate_limit_every = 4
    oneroster_server.faults.retry_after = "1"
    fake = FakeTime()
    with _client(oneroster_server, fake, max_attempts=10) as client:
        concurrent = client.results.list(page_size=100, max_workers=4)
        results = concurrent.all()
    expected = [r["sourcedId"] for r in oneroster_district["results"]]
    assert [r.sourced_id for r in results] == expected
    assert concurrent.complete is True
    assert 429 in oneroster_server.statuses()
    assert set(fake.sleeps) == {1.0}
    assert len(fake.sleeps) == oneroster_server.statuses().count(429)
