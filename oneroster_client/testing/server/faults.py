"""What the loopback server can be told to get wrong, and the code that gets it wrong.

Every fault is a field of :class:`Faults`, off by default; any combination may be on at
once. The helpers below apply them: the server calls them at the points where a real
server would misbehave, passing the number of the API request being answered.
"""

from __future__ import annotations

import json
import random
import threading
import time
from email.utils import formatdate
from typing import Any

import attrs

from oneroster_client.testing.server.http import Response
from oneroster_client.testing.server.refusal import Refusal, status_info

__all__ = ["MALFORMED_KINDS", "Faults"]

MALFORMED_KINDS = ("invalid", "truncated", "no_envelope")
"""The kinds of broken bodies :attr:`Faults.malformed` can hold."""


@attrs.define
class Faults:
    """What the server does wrong, configurable per test; all off by default.

    Counters are per server. "Requests" below means OneRoster API requests, not token
    requests, unless stated; "every Nth request" counts all API requests, so several
    periodic faults may hit the same request.

    Attributes:
        latency: seconds added before every answer.
        rate_limit_every: every Nth API request gets 429 with ``Retry-After``.
        retry_after: the ``Retry-After`` value sent with 429 (seconds, as text, or an
            HTTP-date when ``retry_after_http_date``).
        retry_after_http_date: send ``Retry-After`` as an HTTP-date.
        fail_statuses: statuses to answer the next API requests with, consumed in order
            (e.g. ``[503, 503, 503]`` for a burst); see :meth:`fail_next`.
        fail_always: answer every API request with this status (e.g. 500).
        malformed: kinds of broken bodies for the next successful answers, consumed in
            order: ``"invalid"`` (not JSON), ``"truncated"`` (cut in half),
            ``"no_envelope"`` (JSON without the expected key).
        cap_page_size: silently serve at most this many records per page.
        paging_headers: send ``X-Total-Count`` and ``Link``; off mimics servers without them.
        total_count_delta: added to the announced ``X-Total-Count`` (a server that lies).
        total_count_is_page_length: announce the page's own length as ``X-Total-Count``
            instead of the number of matching records.
        next_link_offset_delta: added to the offset of ``Link rel="next"``: positive skips
            records, negative serves some twice.
        ignore_offset: serve the first page whatever the offset (duplicate pages).
        shuffle_pages: put the records in a different order on every request, so pages
            read one after the other overlap and miss records.
        shuffle_seed: the seed of those orders; the same seed gives the same orders.
        status_failure_every: the Nth, 2Nth ... API request, when it is a read that
            succeeds, is answered 200 with its records withheld and a ``statusInfoSet``
            whose codeMajor is ``failure``.
        relative_links: ``Link`` URLs are relative references (``/ims/...?offset=...``).
        foreign_next_link: point ``Link rel="next"`` at another host.
        drip_seconds: pause before each chunk of a successful API answer's body.
        drip_chunk_bytes: the chunk size for ``drip_seconds``.
        cut_body_every: the Nth, 2Nth ... API request, when it succeeds, gets the
            headers and half the body, then the connection is dropped.
        token_lifetime: the ``expires_in`` announced for OAuth 2 tokens.
        token_valid_for: seconds a token really stays valid (tokens that expire early).
        token_500_when_expired: answer an expired token with 500 instead of 401 (seen
            with Skyward-like servers).
        strings_for_booleans: write booleans as ``"true"``/``"false"`` strings.
        unknown_role: render users and enrollments with role ``administrator`` with this
            role instead (e.g. ``"districtAdministrator"``).
        envelope_keys: rename envelope keys (``{"users": "students"}``).
        corrupt_records: sourcedIds whose records are served with an unreadable field.
        refuse_basic_token_auth: the token endpoint accepts only form credentials.
        gradebook_writes_forbidden: PUT and DELETE answer 403 (passback not licensed).
        narrow_scopes: the token endpoint grants the allowed part of the requested scopes
            (listed in the answer's ``scope``) instead of refusing with ``invalid_scope``,
            as RFC 6749 section 3.3 permits.
    """

    latency: float = 0.0
    rate_limit_every: int | None = None
    retry_after: str = "1"
    retry_after_http_date: bool = False
    fail_statuses: list[int] = attrs.field(factory=list)
    fail_always: int | None = None
    malformed: list[str] = attrs.field(factory=list)
    cap_page_size: int | None = None
    paging_headers: bool = True
    total_count_delta: int = 0
    total_count_is_page_length: bool = False
    next_link_offset_delta: int = 0
    ignore_offset: bool = False
    shuffle_pages: bool = False
    shuffle_seed: int = 0
    status_failure_every: int | None = None
    relative_links: bool = False
    foreign_next_link: bool = False
    drip_seconds: float = 0.0
    drip_chunk_bytes: int = 1024
    cut_body_every: int | None = None
    token_lifetime: int = 3600
    token_valid_for: float | None = None
    token_500_when_expired: bool = False
    strings_for_booleans: bool = False
    unknown_role: str | None = None
    envelope_keys: dict[str, str] = attrs.field(factory=dict)
    corrupt_records: set[str] = attrs.field(factory=set)
    refuse_basic_token_auth: bool = False
    gradebook_writes_forbidden: bool = False
    narrow_scopes: bool = False

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer the next ``count`` API requests with ``status``."""
        self.fail_statuses.extend([status] * count)

    def malform_next(self, kind: str = "invalid", count: int = 1) -> None:
        """Break the bodies of the next ``count`` successful answers (see ``malformed``)."""
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"unknown malformed body kind {kind!r}")
        self.malformed.extend([kind] * count)


def every(period: int | None, count: int) -> bool:
    """Whether request number ``count`` (from 1) is one of every ``period``-th requests."""
    return period is not None and period > 0 and count % period == 0


def injected_failure(faults: Faults, count: int, lock: threading.Lock) -> Refusal | None:
    """The failure to answer API request number ``count`` with, if any."""
    with lock:
        failing = faults.fail_statuses.pop(0) if faults.fail_statuses else faults.fail_always
    if failing is None and every(faults.rate_limit_every, count):
        failing = 429
    if failing == 429:
        return Refusal(429, "server_busy", "rate limited", headers=_retry_after(faults))
    if failing is not None:
        return Refusal(failing, "internal_server_error", f"injected failure {failing}")
    return None


def _retry_after(faults: Faults) -> dict[str, str]:
    if faults.retry_after_http_date:
        seconds = float(faults.retry_after)
        return {"Retry-After": formatdate(time.time() + seconds, usegmt=True)}
    return {"Retry-After": faults.retry_after}


def shuffled(faults: Faults, rows: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``rows`` in this request's own order when ``shuffle_pages`` is on."""
    if not faults.shuffle_pages:
        return rows
    reordered = list(rows)
    # A str seed is hashed the same way in every process, so orders are reproducible.
    random.Random(f"{faults.shuffle_seed}:{count}").shuffle(reordered)
    return reordered


def announced_total(faults: Faults, total: int, page_length: int) -> int:
    """The ``X-Total-Count`` to announce for ``total`` matching records."""
    base = page_length if faults.total_count_is_page_length else total
    return base + faults.total_count_delta


def next_offset(faults: Faults, offset: int, limit: int) -> int:
    """The offset ``Link rel="next"`` points at."""
    return max(0, offset + limit + faults.next_link_offset_delta)


def withhold_records(faults: Faults, count: int, body: dict[str, Any], key: str) -> bool:
    """Turn a successful body into a 200 failure when ``status_failure_every`` says so.

    Returns:
        Whether the body was changed.
    """
    if not every(faults.status_failure_every, count):
        return False
    if isinstance(body.get(key), list):
        body[key] = []
    else:
        body.pop(key, None)
    body["statusInfoSet"] = [
        status_info("error", "internal_server_error", "the records could not be read")
    ]
    return True


def take_malformed(faults: Faults, lock: threading.Lock) -> str | None:
    """The next queued malformed-body kind, consumed; ``None`` when the queue is empty."""
    with lock:
        return faults.malformed.pop(0) if faults.malformed else None


def encode_body(faults: Faults, body: dict[str, Any], key: str, kind: str | None) -> bytes:
    """The JSON of ``body``, with renamed envelope keys and broken as ``kind`` says."""
    renamed = faults.envelope_keys
    if renamed and key in renamed:
        body = {renamed[key] if name == key else name: value for name, value in body.items()}
    if kind == "no_envelope":
        body = {"data": body.get(key)}
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    if kind == "invalid":
        return b"<html><body>Service temporarily unavailable</body></html>"
    if kind == "truncated":
        return payload[: max(1, len(payload) // 2)]
    return payload


def misdeliver(faults: Faults, count: int, response: Response) -> None:
    """Make ``response`` slow or cut short, as ``drip_seconds`` and ``cut_body_every`` say."""
    if faults.drip_seconds > 0:
        response.drip_seconds = faults.drip_seconds
        response.drip_chunk_bytes = max(1, faults.drip_chunk_bytes)
    if 200 <= response.status < 300 and response.payload and every(faults.cut_body_every, count):
        response.cut_after = len(response.payload) // 2
