"""Retry policy: which failures to retry, how long to wait, when to give up.

Covers the OneRoster 1.1 REST binding's error statuses (section 7.3): 429 ``server_busy``
and the transient gateway errors 502/503/504 are retried, as are connection failures;
waits use exponential backoff with full jitter, a ``Retry-After`` header (seconds or
HTTP-date) overrides the backoff, every wait is capped, and one logical call has an
overall deadline. ``sleep``, ``clock`` and ``random`` are injectable so tests never
really sleep.

Typical use by the transport::

    state = policy.start()
    while True:
        try:
            response = send()
        except requests.RequestException as exc:
            wait = state.next_wait(method=method, exception=exc)
            if wait is None:
                raise TransportError(...) from exc
            state.sleep(wait)
            continue
        if response.status_code < 400:
            return response
        wait = state.next_wait(
            method=method,
            status_code=response.status_code,
            retry_after=response.headers.get("Retry-After"),
        )
        if wait is None:
            raise error_from_response(..., attempts=state.attempts)
        state.sleep(wait)
"""

from __future__ import annotations

import math
import random as _random
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import attrs
import requests

from oneroster_client.errors import ConfigurationError, TransportError

__all__ = ["RetryPolicy", "RetryState", "parse_retry_after"]

# delay-seconds is 1*DIGIT; a decimal fraction or exponent is tolerated, a sign or an
# underscore (which float() would accept) is not.
_DELAY_SECONDS = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_NUMBER_LIKE = re.compile(r"[+\-]?[0-9._eE+\-]*|[+\-]?(?:nan|inf|infinity)", re.IGNORECASE)

# Backoff doubles per retry; past this exponent the cap has long taken over, and bigger
# exponents would overflow float conversion.
_MAX_EXPONENT = 60


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header value as a number of seconds to wait (RFC 9110 10.2.3).

    This is the one parser of the header in the library: the retry policy, the error
    mapping and the OAuth 2 token client all use it.

    Accepts delay-seconds (``"120"``, also the lenient ``"1.5"`` and ``"1e2"`` some servers
    send) and an HTTP-date: the IMF-fixdate ``"Wed, 21 Oct 2015 07:28:00 GMT"`` and the
    obsolete RFC 850 and asctime forms. A date is turned into seconds from ``now``; a date
    in the past means "now" (0.0), never a negative wait.

    Args:
        value: the header value, or ``None`` when the header was absent.
        now: the current time for HTTP-dates; defaults to the system clock in UTC. A naive
            datetime is taken as UTC.

    Returns:
        The seconds to wait, or ``None`` when the value is absent, negative, ``nan``,
        infinite or not understood.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    if _NUMBER_LIKE.fullmatch(text):
        return None  # negative, nan, inf, 1_000: a number, but not a usable delay
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    try:
        return max(0.0, (when - current).total_seconds())
    except OverflowError:
        return None


def _upper_methods(methods: Iterable[str]) -> frozenset[str]:
    return frozenset(method.upper() for method in methods)


def _status_set(statuses: Iterable[int]) -> frozenset[int]:
    return frozenset(statuses)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how long to wait before repeating a failed request.

    Attributes:
        max_attempts: total attempts per logical call, the first one included (1 = never
            retry).
        backoff_base: the first backoff ceiling in seconds; it doubles per retry.
        backoff_max: the longest single wait in seconds, for backoff and ``Retry-After``.
        deadline: seconds one logical call may take, waits included; ``None`` for no
            limit. A wait that would cross the deadline is not started.
        retry_statuses: HTTP statuses worth repeating. 500 is left out on purpose: it
            usually means a bug on the server that repeating will not fix.
        retry_methods: methods that may be repeated (idempotent ones; every OneRoster 1.1
            operation is a GET, PUT or DELETE).
        retry_on_connection_errors: repeat requests that got no HTTP answer.
        sleep: waits the given seconds; injectable for tests.
        clock: monotonic seconds; injectable for tests.
        random: a float in [0, 1) for jitter; injectable for tests.
    """

    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    deadline: float | None = 120.0
    retry_statuses: frozenset[int] = attrs.field(
        default=frozenset({429, 502, 503, 504}), converter=_status_set
    )
    retry_methods: frozenset[str] = attrs.field(
        default=frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"}), converter=_upper_methods
    )
    retry_on_connection_errors: bool = True
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    random: Callable[[], float] = _random.random

    def __attrs_post_init__(self) -> None:
        if (
            not isinstance(self.max_attempts, int)
            or isinstance(self.max_attempts, bool)
            or self.max_attempts < 1
        ):
            raise ConfigurationError(
                f"RetryPolicy.max_attempts must be an integer of at least 1 (1 disables "
                f"retries), got {self.max_attempts!r}"
            )
        for name in ("backoff_base", "backoff_max"):
            value = getattr(self, name)
            # `not value >= 0` also catches NaN.
            if not value >= 0 or math.isinf(value):
                raise ConfigurationError(
                    f"RetryPolicy.{name} must be a finite number of seconds >= 0, got {value!r}"
                )
        if self.deadline is not None and not self.deadline >= 0:
            raise ConfigurationError(
                f"RetryPolicy.deadline must be seconds >= 0 or None for no deadline, "
                f"got {self.deadline!r}"
            )

    @classmethod
    def none(cls) -> RetryPolicy:
        """Return a policy that never retries: every failure is raised at once."""
        return cls(max_attempts=1)

    def start(self) -> RetryState:
        """Begin one logical call (which may span several attempts) and start its deadline."""
        return RetryState(policy=self, started_at=self.clock())


def _is_connection_failure(exception: BaseException) -> bool:
    return isinstance(exception, requests.ConnectionError | requests.Timeout | TransportError)


def _exception_is_retryable(exception: BaseException, method_is_idempotent: bool) -> bool:
    # A TransportError usually wraps the requests exception that tells what happened.
    cause = exception.__cause__
    if isinstance(exception, TransportError) and isinstance(cause, requests.RequestException):
        exception = cause
    if isinstance(exception, requests.exceptions.SSLError):
        # Certificate or protocol mismatch: repeating gives the same answer.
        return False
    if isinstance(exception, requests.ConnectTimeout):
        # Nothing reached the server, so even a non-idempotent request is safe to repeat.
        return True
    if isinstance(exception, requests.exceptions.ChunkedEncodingError):
        return method_is_idempotent
    # Other connection errors and read timeouts may strike after the server acted.
    return _is_connection_failure(exception) and method_is_idempotent


@attrs.define(kw_only=True)
class RetryState:
    """The retry bookkeeping of one logical call; create it with :meth:`RetryPolicy.start`.

    Attributes:
        policy: the policy in force.
        started_at: the policy clock's reading when the call began.
        attempts: attempts reported so far through :meth:`next_wait`.
    """

    policy: RetryPolicy
    started_at: float
    attempts: int = 0

    @property
    def elapsed(self) -> float:
        """Seconds since the call began, by the policy clock."""
        return self.policy.clock() - self.started_at

    def next_wait(
        self,
        *,
        method: str,
        status_code: int | None = None,
        exception: BaseException | None = None,
        retry_after: str | None = None,
    ) -> float | None:
        """Record a failed attempt and decide whether to try again.

        Pass either the ``exception`` raised (no HTTP answer) or the ``status_code`` and
        ``Retry-After`` header of the error response.

        A ``Retry-After`` the policy cannot honour (longer than ``backoff_max`` or past the
        deadline) gives up instead of retrying early: repeating sooner than the server asked
        would likely be refused again. The caller then raises
        :class:`~oneroster_client.errors.RateLimitError` carrying the server's
        ``retry_after`` so the application can schedule its own retry.

        Args:
            method: the HTTP method of the failed attempt.
            status_code: the HTTP status of the error response.
            exception: the exception raised instead of a response.
            retry_after: the response's ``Retry-After`` header, if any.

        Returns:
            Seconds to wait before the next attempt, or ``None`` to give up: the failure is
            not retryable, the attempts are used up, or the wait would cross the deadline.
        """
        self.attempts += 1
        policy = self.policy
        idempotent = method.upper() in policy.retry_methods
        if exception is not None:
            if not policy.retry_on_connection_errors:
                return None
            if not _exception_is_retryable(exception, idempotent):
                return None
        elif status_code is None or status_code not in policy.retry_statuses or not idempotent:
            return None
        if self.attempts >= policy.max_attempts:
            return None

        requested = parse_retry_after(retry_after) if exception is None else None
        if requested is not None:
            if requested > policy.backoff_max:
                return None
            wait = requested
        else:
            exponent = min(self.attempts - 1, _MAX_EXPONENT)
            ceiling = min(policy.backoff_max, policy.backoff_base * 2.0**exponent)
            # Full jitter: spreads out clients that failed together.
            wait = policy.random() * ceiling

        if policy.deadline is not None and self.elapsed + wait > policy.deadline:
            return None
        return wait

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` using the policy's (possibly injected) sleep."""
        self.policy.sleep(seconds)
