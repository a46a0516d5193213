"""Tests for oneroster_client.retry: backoff, jitter, cap, deadline, Retry-After, giving up.

Every test injects sleep, clock and random, so nothing really waits.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import attrs
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client.errors import ConfigurationError, TransportError
from oneroster_client.retry import RetryPolicy, RetryState, parse_retry_after


class FakeTime:
    """A clock that only moves when the code under test sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_policy(fake: FakeTime, *, jitter: float = 1.0, **overrides: Any) -> RetryPolicy:
    policy = RetryPolicy(sleep=fake.sleep, clock=fake.clock, random=lambda: jitter)
    return attrs.evolve(policy, **overrides)


def waits_until_give_up(state: RetryState, *, status_code: int = 503) -> list[float]:
    waits: list[float] = []
    while (wait := state.next_wait(method="GET", status_code=status_code)) is not None:
        waits.append(wait)
        state.sleep(wait)
    return waits


def test_defaults_match_the_design() -> None:
    policy = RetryPolicy()

    assert policy.max_attempts == 5
    assert policy.backoff_base == 0.5
    assert policy.backoff_max == 30.0
    assert policy.deadline == 120.0
    assert policy.retry_statuses == frozenset({429, 502, 503, 504})
    assert policy.retry_methods == frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
    assert policy.retry_on_connection_errors is True


def test_backoff_doubles_with_full_jitter_upper_bound() -> None:
    fake = FakeTime()
    state = make_policy(fake, jitter=1.0).start()

    assert waits_until_give_up(state) == [0.5, 1.0, 2.0, 4.0]
    assert state.attempts == 5
    assert fake.sleeps == [0.5, 1.0, 2.0, 4.0]


def test_backoff_with_zero_jitter_retries_immediately() -> None:
    fake = FakeTime()
    state = make_policy(fake, jitter=0.0).start()

    assert waits_until_give_up(state) == [0.0, 0.0, 0.0, 0.0]


def test_jitter_scales_the_ceiling() -> None:
    fake = FakeTime()
    state = make_policy(fake, jitter=0.25, backoff_base=2.0).start()

    assert waits_until_give_up(state) == [0.5, 1.0, 2.0, 4.0]


def test_each_wait_is_capped_by_backoff_max() -> None:
    fake = FakeTime()
    state = make_policy(fake, max_attempts=7, backoff_base=1.0, backoff_max=3.0).start()

    assert waits_until_give_up(state) == [1.0, 2.0, 3.0, 3.0, 3.0, 3.0]


def test_huge_attempt_counts_do_not_overflow() -> None:
    fake = FakeTime()
    state = make_policy(fake, max_attempts=5000, deadline=None).start()
    state.attempts = 4000

    assert state.next_wait(method="GET", status_code=503) == 30.0


def test_wait_that_would_cross_the_deadline_gives_up() -> None:
    fake = FakeTime()
    policy = make_policy(fake, max_attempts=10, backoff_base=1.0, backoff_max=100.0, deadline=5.0)
    state = policy.start()

    # 1 s, then 2 s (3 s elapsed); the next 4 s wait would end at 7 s > 5 s.
    assert waits_until_give_up(state) == [1.0, 2.0]
    assert state.attempts == 3
    assert fake.now - 1000.0 <= 5.0


def test_deadline_counts_time_spent_in_requests_too() -> None:
    fake = FakeTime()
    state = make_policy(fake, deadline=10.0).start()
    fake.now += 9.8  # a slow first attempt

    assert state.next_wait(method="GET", status_code=503) is None
    assert state.elapsed == pytest.approx(9.8)


def test_no_deadline_allows_any_total_time() -> None:
    fake = FakeTime()
    state = make_policy(fake, deadline=None).start()
    fake.now += 1_000_000.0

    assert state.next_wait(method="GET", status_code=503) == 0.5


def test_retry_after_seconds_overrides_backoff() -> None:
    fake = FakeTime()
    state = make_policy(fake, jitter=0.0).start()

    assert state.next_wait(method="GET", status_code=429, retry_after="7") == 7.0
    assert state.next_wait(method="GET", status_code=503, retry_after="1.5") == 1.5


def test_retry_after_http_date_is_honoured() -> None:
    fake = FakeTime()
    state = make_policy(fake, jitter=0.0).start()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)

    wait = state.next_wait(method="GET", status_code=429, retry_after=when)

    assert wait is not None
    assert 18.0 <= wait <= 20.0


def test_retry_after_longer_than_backoff_max_gives_up_instead_of_retrying_early() -> None:
    fake = FakeTime()
    state = make_policy(fake, backoff_max=30.0).start()

    assert state.next_wait(method="GET", status_code=429, retry_after="31") is None


def test_retry_after_past_the_deadline_gives_up() -> None:
    fake = FakeTime()
    state = make_policy(fake, deadline=10.0).start()
    fake.now += 5.0

    assert state.next_wait(method="GET", status_code=429, retry_after="6") is None


def test_unreadable_retry_after_falls_back_to_backoff() -> None:
    fake = FakeTime()
    state = make_policy(fake).start()

    assert state.next_wait(method="GET", status_code=429, retry_after="soon") == 0.5


@pytest.mark.parametrize("status_code", [400, 401, 403, 404, 409, 422, 500, 501, 505])
def test_other_statuses_are_not_retried(status_code: int) -> None:
    state = make_policy(FakeTime()).start()

    assert state.next_wait(method="GET", status_code=status_code) is None
    assert state.attempts == 1


@pytest.mark.parametrize("status_code", [429, 502, 503, 504])
def test_transient_statuses_are_retried(status_code: int) -> None:
    state = make_policy(FakeTime()).start()

    assert state.next_wait(method="GET", status_code=status_code) == 0.5


@pytest.mark.parametrize("method", ["GET", "get", "PUT", "DELETE", "HEAD", "OPTIONS"])
def test_idempotent_methods_are_retried(method: str) -> None:
    state = make_policy(FakeTime()).start()

    assert state.next_wait(method=method, status_code=503) == 0.5


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_non_idempotent_methods_are_not_retried(method: str) -> None:
    state = make_policy(FakeTime()).start()

    assert state.next_wait(method=method, status_code=503) is None


def test_retry_methods_and_statuses_are_configurable() -> None:
    fake = FakeTime()
    policy = make_policy(fake, retry_methods=["post"], retry_statuses=[500])

    assert policy.retry_methods == frozenset({"POST"})
    assert policy.start().next_wait(method="POST", status_code=500) == 0.5
    assert policy.start().next_wait(method="GET", status_code=503) is None


def test_nothing_to_retry_on_gives_up() -> None:
    assert make_policy(FakeTime()).start().next_wait(method="GET") is None


@pytest.mark.parametrize(
    ("exception", "method", "retried"),
    [
        (requests.ConnectionError("refused"), "GET", True),
        (requests.ConnectionError("reset after send"), "POST", False),
        (requests.ConnectTimeout("no connection"), "POST", True),
        (requests.ReadTimeout("slow"), "GET", True),
        (requests.ReadTimeout("slow"), "PUT", True),
        (requests.ReadTimeout("slow"), "POST", False),
        (requests.exceptions.ChunkedEncodingError("cut"), "GET", True),
        (requests.exceptions.SSLError("bad certificate"), "GET", False),
        (TransportError("connection refused", url="https://h/x", method="GET"), "GET", True),
        (ValueError("a bug, not the network"), "GET", False),
    ],
)
def test_connection_errors(exception: BaseException, method: str, retried: bool) -> None:
    state = make_policy(FakeTime()).start()

    wait = state.next_wait(method=method, exception=exception)

    assert (wait is not None) is retried


def test_transport_error_is_judged_by_its_cause() -> None:
    state = make_policy(FakeTime()).start()
    try:
        try:
            raise requests.exceptions.SSLError("certificate verify failed")
        except requests.RequestException as exc:
            raise TransportError("TLS failed") from exc
    except TransportError as wrapped:
        assert state.next_wait(method="GET", exception=wrapped) is None


def test_retry_after_is_ignored_for_exceptions() -> None:
    state = make_policy(FakeTime()).start()

    wait = state.next_wait(method="GET", exception=requests.ConnectionError(), retry_after="9")

    assert wait == 0.5


def test_connection_errors_can_be_excluded() -> None:
    state = make_policy(FakeTime(), retry_on_connection_errors=False).start()

    assert state.next_wait(method="GET", exception=requests.ConnectionError()) is None


def test_attempts_are_exhausted() -> None:
    fake = FakeTime()
    state = make_policy(fake, max_attempts=3).start()

    assert state.next_wait(method="GET", status_code=503) == 0.5
    assert state.next_wait(method="GET", status_code=503) == 1.0
    assert state.next_wait(method="GET", status_code=503) is None
    assert state.attempts == 3


def test_none_never_retries() -> None:
    policy = RetryPolicy.none()

    assert policy.max_attempts == 1
    assert policy.start().next_wait(method="GET", status_code=503) is None
    assert policy.start().next_wait(method="GET", exception=requests.ConnectTimeout()) is None


def test_each_logical_call_gets_fresh_state() -> None:
    fake = FakeTime()
    policy = make_policy(fake, max_attempts=2)
    first = policy.start()
    assert first.next_wait(method="GET", status_code=503) == 0.5
    assert first.next_wait(method="GET", status_code=503) is None

    assert policy.start().next_wait(method="GET", status_code=503) == 0.5


def test_state_sleep_uses_the_injected_sleep() -> None:
    fake = FakeTime()
    state = make_policy(fake).start()

    state.sleep(2.5)

    assert fake.sleeps == [2.5]
    assert state.elapsed == 2.5


def test_transport_style_loop_succeeds_after_transient_failures() -> None:
    fake = FakeTime()
    state = make_policy(fake).start()
    responses = iter([503, 429, 200])

    while (status := next(responses)) >= 400:
        wait = state.next_wait(method="GET", status_code=status, retry_after=None)
        assert wait is not None
        state.sleep(wait)

    assert status == 200
    assert state.attempts == 2
    assert fake.sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_attempts": 0},
        {"max_attempts": -1},
        {"max_attempts": True},
        {"max_attempts": 2.5},
        {"backoff_base": -0.1},
        {"backoff_base": float("nan")},
        {"backoff_max": -1.0},
        {"backoff_max": float("inf")},
        {"deadline": -1.0},
        {"deadline": float("nan")},
    ],
)
def test_invalid_settings_raise_configuration_error(overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="RetryPolicy"):
        attrs.evolve(RetryPolicy(), **overrides)


def test_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_zero_waits_and_zero_deadline_are_allowed() -> None:
    policy = RetryPolicy(backoff_base=0.0, backoff_max=0.0, deadline=0.0)

    assert policy.deadline == 0.0


@given(
    jitter=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    base=st.floats(min_value=0.0, max_value=10.0),
    cap=st.floats(min_value=0.0, max_value=60.0),
    failures=st.integers(min_value=1, max_value=40),
)
def test_backoff_stays_within_full_jitter_bounds(
    jitter: float, base: float, cap: float, failures: int
) -> None:
    fake = FakeTime()
    policy = make_policy(
        fake, jitter=jitter, backoff_base=base, backoff_max=cap, max_attempts=100, deadline=None
    )
    state = policy.start()
    state.attempts = failures - 1

    wait = state.next_wait(method="GET", status_code=503)

    assert wait is not None
    assert 0.0 <= wait <= min(cap, base * 2.0 ** (failures - 1))


# --- parse_retry_after -------------------------------------------------------------------

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("Wed, 01 May 2024 12:00:30 GMT", 30.0),
        ("Wed, 01 May 2024 11:59:00 GMT", 0.0),  # in the past: go now
        ("Wednesday, 01-May-24 12:01:00 GMT", 60.0),  # obsolete RFC 850 form
        (None, None),
        ("", None),
        ("   ", None),
        ("-5", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Wed, 99 Foo 2024 12:00:30 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_retry_after_treats_naive_now_as_utc() -> None:
    naive = datetime(2024, 5, 1, 12, 0, 0)

    assert parse_retry_after("Wed, 01 May 2024 12:00:10 GMT", now=naive) == 10.0


def test_parse_retry_after_defaults_to_the_system_clock() -> None:
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=100), usegmt=True)

    seconds = parse_retry_after(future)

    assert seconds is not None
    assert 98.0 <= seconds <= 100.0


# The union of the two parsers the library used to have: seconds as the retry policy read
# them (non-negative finite numbers, fractions allowed) and HTTP-dates in every form
# RFC 9110 section 5.6.7 lists, which the OAuth 2 token client used to ignore.


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Wed, 01 May 2024 12:00:45 GMT", 45.0),  # IMF-fixdate
        ("Wednesday, 01-May-24 12:00:45 GMT", 45.0),  # obsolete RFC 850 form
        ("Wed May  1 12:00:45 2024", 45.0),  # obsolete asctime form, read as UTC
        ("1e2", 100.0),
        (".5", 0.5),
    ],
)
def test_parse_retry_after_reads_every_http_date_form_and_lenient_seconds(
    value: str, expected: float
) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    "value",
    ["-1", "-0.5", "+5", "NaN", " nan ", "-inf", "Infinity", "1e999", "1_000", "0x10", "5s"],
)
def test_parse_retry_after_refuses_numbers_that_are_no_usable_delay(value: str) -> None:
    assert parse_retry_after(value, now=NOW) is None


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 99999 08:49:37 GMT",  # year out of range
        "Sun, 06 Nov 1994 08:49:37 +9999",  # offset out of range
    ],
)
def test_parse_retry_after_out_of_range_dates_are_not_understood(value: str) -> None:
    assert parse_retry_after(value, now=NOW) is None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=60), st.from_regex(r"[ 0-9.eE+\-naifty_]{0,20}")))
def test_parse_retry_after_never_raises_and_never_returns_a_bad_wait(value: str | None) -> None:
    seconds = parse_retry_after(value, now=NOW)

    assert seconds is None or (math.isfinite(seconds) and seconds >= 0.0)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),  # email dates read years below 100 as 19xx/20xx
        max_value=datetime(9999, 1, 1),
        timezones=st.just(UTC),
    )
)
def test_parse_retry_after_http_dates_are_seconds_from_now_never_negative(
    when: datetime,
) -> None:
    when = when.replace(microsecond=0)
    seconds = parse_retry_after(format_datetime(when, usegmt=True), now=NOW)

    assert seconds == max(0.0, (when - NOW).total_seconds())
