"""What the loopback Buzz server gets wrong on request: throttling, 5xx, token loss, item failures.

:class:`BuzzFaults` holds the switches (all off by default, combinable, changeable while
the server runs); :class:`FaultState` keeps the counters and decides, request by request,
which fault applies. Counters are per server and count DLAP command requests only (not
token requests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import attrs

__all__ = ["BuzzFaults", "FaultState", "HttpFault"]


@attrs.define
class BuzzFaults:
    """Fault switches for :class:`~oneroster_client.buzz.testing.BuzzServer`.

    Attributes:
        latency: seconds added before every answer (token requests included).
        rate_limit_every: every Nth command gets HTTP 429 with ``Retry-After`` and
            ``X-RateLimit-Limit/Remaining/Reset`` (Buzz's rate limiting of sensitive
            commands per 5-minute window). The body is a DLAP envelope with code
            ``TooManyRequests`` and the reset is given in epoch seconds; Buzz's exact
            body and reset format are unconfirmed.
        retry_after: the ``Retry-After`` value sent with 429 and 503 (seconds, as text).
        rate_limit_limit: the ``X-RateLimit-Limit`` announced with 429.
        overwhelmed_every: every Nth command gets HTTP 503 with DLAP code
            ``ServerOverwhelmed``.
        status_every: every Nth command gets HTTP ``status_code`` (500, 502 or 504).
        status_code: the status sent by ``status_every``; 502 and 504 come with an HTML
            body, as from a gateway, 500 with a DLAP ``InternalError`` envelope.
        status_after_commit: ``status_every`` and ``fail_statuses`` faults run the command
            first and then answer the error (a timeout after the write happened), so a
            blind retry would write twice.
        fail_statuses: statuses for the next commands, consumed in order; see
            :meth:`fail_next`.
        not_implemented_every: every Nth command gets HTTP 501.
        expire_tokens_after: a token (OAuth or session) stops working after this many
            commands; the next one answers ``NoAuthentication``.
        fail_batch_item_every: every Nth item of batch commands (counted across
            requests) fails with ``fail_batch_item_code`` and is not applied.
        fail_batch_item_code: the DLAP code of those item failures.
        time_budget_ms: Buzz's time limiting: server milliseconds granted per second,
            announced as ``X-Provisioned-Ms``; ``X-Provisioned-Ms-Remaining`` counts down
            by ``request_cost_ms`` per command and refills at ``time_budget_ms`` per second.
            (That ``X-Provisioned-Ms`` carries the budget rather than the time used is a
            reading of Buzz's documentation, unconfirmed.)
        request_cost_ms: milliseconds each command takes from the budget.
        enforce_time_budget: answer 429 (with ``Retry-After``) when the budget is spent;
            off by default, so the headers only inform.
        collapse_lists: write lists as Buzz's XML-born JSON sometimes does: no element
            key for an empty list, a bare object for a list of one.
    """

    latency: float = 0.0
    rate_limit_every: int | None = None
    retry_after: str = "1"
    rate_limit_limit: int = 100
    overwhelmed_every: int | None = None
    status_every: int | None = None
    status_code: int = 500
    status_after_commit: bool = False
    fail_statuses: list[int] = attrs.field(factory=list)
    not_implemented_every: int | None = None
    expire_tokens_after: int | None = None
    fail_batch_item_every: int | None = None
    fail_batch_item_code: str = "BadRequest"
    time_budget_ms: int = 1000
    request_cost_ms: int = 10
    enforce_time_budget: bool = False
    collapse_lists: bool = False

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer the next ``count`` commands with HTTP ``status`` (e.g. 503 for a burst)."""
        self.fail_statuses.extend([status] * count)


@attrs.frozen
class HttpFault:
    """An HTTP-level fault chosen for one request."""

    status: int
    after_commit: bool = False
    headers: tuple[tuple[str, str], ...] = ()


def _every(count: int, every: int | None) -> bool:
    return bool(every) and every is not None and every > 0 and count % every == 0


class FaultState:
    """Counters behind :class:`BuzzFaults`; thread-safe."""

    def __init__(self, faults: Callable[[], BuzzFaults]) -> None:
        # A getter, so that a test may replace ``server.faults`` wholesale.
        self._faults = faults
        self._lock = threading.Lock()
        self._commands = 0
        self._batch_items = 0
        self._remaining_ms = float(faults().time_budget_ms)
        self._refilled_at = time.monotonic()

    @property
    def faults(self) -> BuzzFaults:
        """The switches in force now."""
        return self._faults()

    def next_command(self) -> HttpFault | None:
        """Count one command and return the HTTP fault to answer it with, if any."""
        faults = self.faults
        with self._lock:
            self._commands += 1
            count = self._commands
            queued = faults.fail_statuses.pop(0) if faults.fail_statuses else None
        if queued is not None:
            return self._status_fault(queued)
        if _every(count, faults.status_every):
            return self._status_fault(faults.status_code)
        if _every(count, faults.not_implemented_every):
            return HttpFault(501)
        if _every(count, faults.overwhelmed_every):
            return HttpFault(503, headers=(("Retry-After", faults.retry_after),))
        if _every(count, faults.rate_limit_every):
            return HttpFault(429, headers=self._rate_limit_headers())
        return None

    def _status_fault(self, status: int) -> HttpFault:
        if status == 429:
            return HttpFault(429, headers=self._rate_limit_headers())
        if status == 503:
            return HttpFault(503, headers=(("Retry-After", self.faults.retry_after),))
        return HttpFault(status, after_commit=self.faults.status_after_commit)

    def _rate_limit_headers(self) -> tuple[tuple[str, str], ...]:
        reset = int(time.time()) + max(1, int(float(self.faults.retry_after)))
        return (
            ("Retry-After", self.faults.retry_after),
            ("X-RateLimit-Limit", str(self.faults.rate_limit_limit)),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", str(reset)),
        )

    def spend_time_budget(self) -> tuple[dict[str, str], bool]:
        """Take one command's cost from the budget.

        Returns:
            The time-limit headers for the answer, and whether the budget was already
            spent (the request must be refused when ``enforce_time_budget``).
        """
        faults = self.faults
        with self._lock:
            now = time.monotonic()
            refill = (now - self._refilled_at) * faults.time_budget_ms
            self._remaining_ms = min(float(faults.time_budget_ms), self._remaining_ms + refill)
            self._refilled_at = now
            exhausted = self._remaining_ms < faults.request_cost_ms
            if not exhausted:
                self._remaining_ms -= faults.request_cost_ms
            remaining = max(0, int(self._remaining_ms))
        headers = {
            "X-Provisioned-Ms": str(faults.time_budget_ms),
            "X-Provisioned-Ms-Remaining": str(remaining),
        }
        return headers, exhausted and faults.enforce_time_budget

    def fail_batch_item(self) -> str | None:
        """Count one batch item; the DLAP code to fail it with, if its turn has come."""
        with self._lock:
            self._batch_items += 1
            count = self._batch_items
        if _every(count, self.faults.fail_batch_item_every):
            return self.faults.fail_batch_item_code
        return None
