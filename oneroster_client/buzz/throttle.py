"""Agilix's retry and throttling guidance, as a policy object with injectable time.

Agilix asks API clients to retry network errors, timeouts and HTTP 429, 500, 502, 503 and
504 up to 5 times, waiting 1 s and doubling to a 64 s cap, honouring ``Retry-After``;
other 4xx and 501/505/506/508/510/511 are not retried. Each customer also has a time
budget of server milliseconds per host; answers report it in ``X-Provisioned-Ms`` and
``X-Provisioned-Ms-Remaining``, and a client should slow down before it runs out.
"""

from __future__ import annotations

import math
import random as _random
import time
from collections.abc import Callable, Iterable, Mapping

import attrs

from oneroster_client.errors import ConfigurationError
from oneroster_client.retry import parse_retry_after

__all__ = ["BuzzRetryPolicy"]

# Answers that mean "the request was refused before Buzz did anything": safe to re-send
# even a write. 500/502/504 and broken connections may strike after Buzz acted.
NOT_PROCESSED_STATUSES = frozenset({429, 503})


def _statuses(values: Iterable[int]) -> frozenset[int]:
    return frozenset(values)


def _check_seconds(name: str, value: float) -> None:
    if not isinstance(value, int | float) or not value >= 0 or math.isinf(value):
        raise ConfigurationError(
            f"BuzzRetryPolicy.{name} must be a finite number of seconds >= 0, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class BuzzRetryPolicy:
    """When and how long the Buzz client waits before repeating a request.

    Attributes:
        max_retries: retries after the first attempt (Agilix: 5).
        initial_wait: the first backoff ceiling in seconds (Agilix: 1 s); it doubles.
        max_wait: the longest backoff wait (Agilix: 64 s).
        max_retry_after: the longest ``Retry-After`` honoured; a longer one gives up at
            once with :class:`~oneroster_client.buzz.BuzzThrottledError` carrying it, so a
            scheduler can come back later instead of blocking.
        retry_statuses: HTTP statuses worth repeating.
        budget_threshold: slow down when ``X-Provisioned-Ms-Remaining`` falls below this
            share of ``X-Provisioned-Ms`` (0.1 = 10 %).
        budget_pause: the pause in seconds when the remaining budget is 0; smaller in
            proportion as more budget remains (the budget refills every second).
        sleep: waits the given seconds; inject a fake in tests.
        random: a float in [0, 1) for jitter; inject a fixed one in tests.
    """

    max_retries: int = 5
    initial_wait: float = 1.0
    max_wait: float = 64.0
    max_retry_after: float = 300.0
    retry_statuses: frozenset[int] = attrs.field(
        default=frozenset({429, 500, 502, 503, 504}), converter=_statuses
    )
    budget_threshold: float = 0.1
    budget_pause: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = _random.random

    def __attrs_post_init__(self) -> None:
        retries = self.max_retries
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ConfigurationError(
                f"BuzzRetryPolicy.max_retries must be an integer >= 0 (0 disables retries), "
                f"got {retries!r}"
            )
        for name in ("initial_wait", "max_wait", "max_retry_after", "budget_pause"):
            _check_seconds(name, getattr(self, name))
        if not 0 <= self.budget_threshold <= 1:
            raise ConfigurationError(
                f"BuzzRetryPolicy.budget_threshold must be a share between 0 and 1, "
                f"got {self.budget_threshold!r}"
            )

    @classmethod
    def none(cls) -> BuzzRetryPolicy:
        """A policy that never retries and never slows down."""
        return cls(max_retries=0, budget_threshold=0.0)

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1-based) when Buzz gave no ``Retry-After``.

        The ceiling doubles from ``initial_wait`` to ``max_wait``; the wait is drawn
        between half the ceiling and the ceiling, so clients that failed together spread
        out but none retries almost at once.
        """
        ceiling = min(self.max_wait, self.initial_wait * 2.0 ** min(retry - 1, 60))
        return ceiling / 2 + self.random() * ceiling / 2

    def wait_before_retry(self, retry: int, retry_after: str | None) -> float | None:
        """The wait before retry number ``retry``, or ``None`` to give up.

        Args:
            retry: 1 for the first retry.
            retry_after: the ``Retry-After`` header of the failed answer, if any.
        """
        if retry > self.max_retries:
            return None
        requested = parse_retry_after(retry_after)
        if requested is None:
            return self.backoff(retry)
        if requested > self.max_retry_after:
            return None
        return requested

    def budget_delay(self, headers: Mapping[str, str]) -> float:
        """The pause before the next request given an answer's time-budget headers.

        Returns 0 when the headers are absent or unreadable, or the remaining budget is
        above the threshold; otherwise ``budget_pause`` scaled by how far below it is.
        """
        provisioned = _header_number(headers, "X-Provisioned-Ms")
        remaining = _header_number(headers, "X-Provisioned-Ms-Remaining")
        if provisioned is None or remaining is None or provisioned <= 0:
            return 0.0
        floor = self.budget_threshold * provisioned
        if floor <= 0 or remaining >= floor:
            return 0.0
        return self.budget_pause * (1.0 - max(remaining, 0.0) / floor)


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
