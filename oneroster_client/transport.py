"""HTTP transport: one ``requests.Session``, exact URLs, retries, auth renewal, logging.

Implements the request side of the OneRoster 1.1 REST binding (sections 3 and 9): the
query string is encoded here, once, with ``%20`` for spaces, and the finished URL is what
the OAuth 1 plug-in signs. Every attempt, including each retry and each page, is a new
request prepared and signed afresh (servers refuse a reused OAuth 1 nonce). A 401 makes a
renewable auth plug-in fetch a new token, and the call is retried once.

Every attempt is bounded in time and memory: the body is streamed in chunks, an attempt
that takes longer than ``request_deadline`` in total is abandoned (``timeout`` alone only
bounds each socket read, so a server dripping a byte at a time could hold a call for
hours), and a body that decodes to more than ``max_response_bytes`` is refused as it
arrives, compressed or not. Logs carry method, path, status, duration and retry
decisions, never credentials, tokens, signatures or record contents.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import socket
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import attrs
import requests
import urllib3.exceptions
import urllib3.response
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.structures import CaseInsensitiveDict

from oneroster_client import _json
from oneroster_client._redact import authorization_secrets, redact_url
from oneroster_client._urls import check_service_url
from oneroster_client._version import __version__
from oneroster_client.errors import ConfigurationError, ResponseFormatError, TransportError
from oneroster_client.retry import RetryPolicy, RetryState
from oneroster_client.status import error_chain, error_from_response, tls_failure

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_DEFAULT_REQUEST_DEADLINE",
    "BodyTooLarge",
    "Response",
    "Transport",
    "check_max_response_bytes",
    "check_request_deadline",
    "check_timeout",
    "encode_query",
    "read_limited_body",
]

logger = logging.getLogger("oneroster_client")

USER_AGENT = f"oneroster-client/{__version__} (+https://pypi.org/project/oneroster-client/)"

DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""The largest decoded body accepted by default: 64 MiB.

A page of 1,000 users is about 1 MB of JSON, so this leaves ample room for large pages
and unpaged collections, while a parsed body (several times its size in Python objects)
still fits comfortably in memory. A hostile or broken server cannot make the client
allocate more than this plus one chunk.
"""

MAX_DEFAULT_REQUEST_DEADLINE = 300.0
"""The default total time one attempt may take is 5 times the read timeout, at most this."""

_DEADLINE_PER_READ_TIMEOUT = 5.0
# Bytes asked of the socket per read (a read returns as soon as some bytes are there, so
# the deadline is still checked as they trickle in). urllib3 2.6+, which the package
# requires, decodes compressed bodies with the same bound, so a gzip bomb expands by at
# most this much per step before the size limit stops it. Larger reads cost fewer trips
# through the GIL: typed listings ran about 6% faster than with 16 KiB reads.
_CHUNK = 256 * 1024


def encode_query(params: Iterable[tuple[str, str]]) -> str:
    """Encode query parameters the way OneRoster servers and OAuth 1 signatures expect.

    Every reserved character is percent-encoded (``'`` -> ``%27``, ``=`` -> ``%3D``, space ->
    ``%20``, never ``+``), so the string is the same one the signature covers.
    """
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in params)


@attrs.frozen
class Response:
    """A successful HTTP answer, read in full.

    Attributes:
        status_code: the HTTP status (2xx).
        headers: response headers, case-insensitive.
        content: the raw body.
        url: the request URL with secrets removed (safe to log or show).
        method: the HTTP method.
        elapsed: seconds the final attempt took.
    """

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    url: str
    method: str
    elapsed: float

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header without parameters, or ``"no content type"``."""
        value = self.headers.get("Content-Type") or ""
        return value.partition(";")[0].strip()[:80] or "no content type"

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            ResponseFormatError: the body is not JSON, not UTF-8, or nested too deeply to
                read. The message says where the body broke (line and column) and its
                content type; it never quotes the body, which holds student data.
        """
        try:
            return _json.loads(self.content)
        except RecursionError:
            problem = "JSON nested too deeply to read"
        except json.JSONDecodeError as exc:
            problem = f"a body that is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        except UnicodeDecodeError as exc:
            problem = f"a body that is not UTF-8 text (byte {exc.start})"
        except ValueError:
            problem = "a body that is not JSON"
        raise ResponseFormatError(
            f"{self.method} {_path_of(self.url)} answered HTTP {self.status_code} with "
            f"{problem}; content type {self.content_type}, {len(self.content)} bytes "
            "(truncated, or an HTML error page from a proxy?)",
            url=self.url,
        ) from None


def _path_of(url: str) -> str:
    split = urlsplit(url)
    return split.path + (f"?{split.query}" if split.query else "")


class _CutOff(requests.exceptions.ChunkedEncodingError):
    """The connection closed before the whole body arrived."""

    def __init__(self, received: int, expected: int | None) -> None:
        super().__init__(f"body cut off after {received} bytes")
        self.received = received
        self.expected = expected


class _TooSlow(requests.exceptions.ReadTimeout):
    """The attempt took longer than its total time limit."""

    def __init__(self, limit: float, received: int) -> None:
        super().__init__(f"no complete answer within {limit:g} s")
        self.limit = limit
        self.received = received


@attrs.define(kw_only=True)
class _Call:
    """The state of one logical request across its attempts."""

    method: str
    url: str
    safe_url: str
    body: bytes | None
    state: RetryState
    on_retry: Any
    sent: int = 0  # requests sent, retries and the one after renewing credentials included
    renewed: bool = False

    @property
    def path(self) -> str:
        return _path_of(self.safe_url)


class Transport:
    """Sends OneRoster requests: URL building, auth, retries, error mapping, logging.

    Args:
        base_url: the OneRoster base URL, e.g. ``https://sis.example.org/ims/oneroster/v1p1``.
        auth: a ``requests`` auth plug-in, or ``None`` for an open server.
        timeout: seconds, or a ``(connect, read)`` pair; the read timeout bounds each
            socket read.
        retry: the retry policy; :class:`RetryPolicy` defaults when omitted.
        session: a ``requests.Session`` to use (not closed by :meth:`close`).
        allow_insecure_http: permit plain ``http`` to a non-loopback host.
        user_agent: the ``User-Agent`` header.
        renew_auth_on: statuses after which a renewable auth plug-in is asked for new
            credentials and the call retried once (401; some servers answer an expired
            token with 403 or 500).
        pool_size: connections kept per host (raise it for concurrent paging).
        request_deadline: seconds one attempt may take in total, from sending the request
            to the last byte of the answer. ``None`` (the default) means 5 times the read
            timeout, at most 300 s. An attempt is also cut short at the retry policy's
            deadline (but is always given at least one read timeout).
        max_response_bytes: the largest body accepted, counted after decompression;
            :data:`DEFAULT_MAX_RESPONSE_BYTES` (64 MiB) by default.

    Raises:
        ConfigurationError: the base URL is invalid (see
            :func:`oneroster_client._urls.check_service_url`), the timeout is not a
            finite number of seconds more than 0 (or a pair of them), or a limit is not a
            positive number.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: AuthBase | None,
        timeout: float | tuple[float, float] = 30.0,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        allow_insecure_http: bool = False,
        user_agent: str = USER_AGENT,
        renew_auth_on: Iterable[int] = (401,),
        pool_size: int = 10,
        request_deadline: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = check_service_url(
            base_url,
            name="base_url",
            example="https://sis.example.org/ims/oneroster/v1p1",
            allow_insecure_http=allow_insecure_http,
        )
        self.auth = auth
        self.timeout = check_timeout(timeout)
        self.request_deadline = check_request_deadline(request_deadline, timeout)
        self.max_response_bytes = check_max_response_bytes(max_response_bytes)
        self.retry = retry if retry is not None else RetryPolicy()
        self.renew_auth_on = frozenset(renew_auth_on)
        self._own_session = session is None
        self.session = session if session is not None else requests.Session()
        if self._own_session:
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(1, pool_size))
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)
        self.user_agent = user_agent

    def close(self) -> None:
        """Close the session if this transport created it."""
        if self._own_session:
            self.session.close()

    def url_for(self, path: str, params: Sequence[tuple[str, str]] = ()) -> str:
        """The absolute URL of ``path`` (relative to the base URL) with an encoded query."""
        url = self.base_url + path
        if params:
            url += "?" + encode_query(params)
        return url

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        on_retry: Any = None,
    ) -> Response:
        """Send one logical request, retrying per the policy; return a 2xx response.

        Args:
            method: ``GET``, ``PUT`` or ``DELETE``.
            url: an absolute URL, normally from :meth:`url_for` or a server's next link.
            json_body: a JSON-serialisable body (gradebook PUT).
            on_retry: called with the status code (or ``None`` for a connection error)
                before each retry; the paging layer uses it to slow down after a 429.

        Raises:
            APIError: a subclass by meaning, for an HTTP error answer.
            TransportError: no complete HTTP answer (connection, timeout, TLS, a body cut
                off, an answer slower than ``request_deadline``).
            ResponseFormatError: the body is larger than ``max_response_bytes``.
        """
        call = _Call(
            method=method,
            url=url,
            safe_url=redact_url(url),
            body=None if json_body is None else json.dumps(json_body).encode("utf-8"),
            state=self.retry.start(),
            on_retry=on_retry,
        )
        while True:
            response = self._attempt(call)
            if response is not None:
                return response

    # --- one attempt -----------------------------------------------------------------

    def _attempt(self, call: _Call) -> Response | None:
        """Send once; the response on success, ``None`` after waiting for a retry."""
        prepared = self._prepare(call.method, call.url, call.body)
        call.sent += 1
        started = time.monotonic()
        try:
            raw = self.session.send(
                prepared, timeout=self.timeout, allow_redirects=False, stream=True
            )
            content = self._read_body(raw, call, started)
        except requests.RequestException as exc:
            self._after_no_answer(call, exc, time.monotonic() - started)
            return None
        elapsed = time.monotonic() - started
        status = raw.status_code
        logger.debug("%s %s -> %d in %.0f ms", call.method, call.path, status, elapsed * 1000)
        if status < 300:
            return Response(
                status_code=status,
                headers=raw.headers,
                content=content,
                url=call.safe_url,
                method=call.method,
                elapsed=elapsed,
            )
        self._after_error_status(call, prepared, raw, content, elapsed)
        return None

    def _prepare(self, method: str, url: str, body: bytes | None) -> requests.PreparedRequest:
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = requests.Request(method, url, headers=headers, data=body, auth=self.auth)
        return self.session.prepare_request(request)

    def _attempt_limit(self, state: RetryState) -> float:
        """Seconds this attempt may take: the request deadline, cut at the retry deadline."""
        limit = self.request_deadline
        policy_deadline = state.policy.deadline
        if policy_deadline is not None:
            remaining = policy_deadline - state.elapsed
            limit = min(limit, max(remaining, _read_timeout(self.timeout) or 0.0))
        return limit

    def _read_body(self, raw: requests.Response, call: _Call, started: float) -> bytes:
        """Stream the body within the attempt's time limit and the size limit."""
        limit = self._attempt_limit(call.state)
        try:
            return read_limited_body(
                raw, started=started, time_limit=limit, max_bytes=self.max_response_bytes
            )
        except BodyTooLarge:
            raise self._too_large(call) from None

    def _too_large(self, call: _Call) -> ResponseFormatError:
        limit = self.max_response_bytes
        return ResponseFormatError(
            f"{call.method} {call.path}: the answer is larger than max_response_bytes="
            f"{limit} ({limit / (1024 * 1024):g} MiB, counted after decompression) and was "
            "refused; ask for smaller pages (a lower page size), or pass a larger "
            "max_response_bytes if the server really sends answers this big",
            url=call.safe_url,
        )

    # --- after a failed attempt --------------------------------------------------------

    def _after_no_answer(self, call: _Call, exc: requests.RequestException, elapsed: float) -> None:
        """Wait before the next attempt, or raise :class:`TransportError`."""
        wait = call.state.next_wait(method=call.method, exception=exc)
        logger.warning(
            "%s %s failed after %.0f ms: %s%s",
            call.method,
            call.path,
            elapsed * 1000,
            type(exc).__name__,
            "" if wait is None else f"; retrying in {wait:.2f} s",
        )
        if wait is None:
            message = _describe_transport(exc, call.safe_url, method=call.method)
            if call.sent > 1:
                message += f" (gave up after {call.sent} attempts)"
            raise TransportError(message, url=call.safe_url, method=call.method) from None
        if call.on_retry is not None:
            call.on_retry(None)
        call.state.sleep(wait)

    def _after_error_status(
        self,
        call: _Call,
        prepared: requests.PreparedRequest,
        raw: requests.Response,
        content: bytes,
        elapsed: float,
    ) -> None:
        """Renew credentials or wait before the next attempt, or raise the API error."""
        status = raw.status_code
        sent_authorization = prepared.headers.get("Authorization")
        if status in self.renew_auth_on and not call.renewed and _renewable(self.auth):
            call.renewed = True
            logger.info(
                "%s %s -> %d: renewing credentials and retrying once",
                call.method,
                call.path,
                status,
            )
            self.auth.invalidate(sent_authorization)  # type: ignore[union-attr]
            return
        wait = call.state.next_wait(
            method=call.method, status_code=status, retry_after=raw.headers.get("Retry-After")
        )
        if wait is None:
            logger.info("%s %s -> %d in %.0f ms", call.method, call.path, status, elapsed * 1000)
            raise error_from_response(
                method=call.method,
                url=call.url,
                status_code=status,
                headers=CaseInsensitiveDict(raw.headers),
                body=content,
                attempts=call.sent,
                secrets=authorization_secrets(sent_authorization),
                granted_scopes=_granted_scopes(self.auth),
                auth_kind=_auth_kind(self.auth),
            ) from None
        logger.info(
            "%s %s -> %d; retry %d in %.2f s",
            call.method,
            call.path,
            status,
            call.state.attempts,
            wait,
        )
        if call.on_retry is not None:
            call.on_retry(status)
        call.state.sleep(wait)


# --- settings ------------------------------------------------------------------------


def _read_timeout(timeout: Any) -> float | None:
    value = timeout[1] if isinstance(timeout, tuple) else timeout
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


_TIMEOUT_RANGE = (
    "a finite number of seconds more than 0 (e.g. 30), or a (connect, read) pair of them"
)


def _seconds(value: Any) -> float | None:
    """``value`` as seconds when it is a finite number more than 0, else ``None``."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def check_timeout(value: Any) -> float | tuple[float, float]:
    """``value`` checked as a request timeout: seconds, or a ``(connect, read)`` pair.

    A timeout of 0 would fail every request, a negative one is meaningless, and NaN or
    infinity (or ``None``) would let a silent server hold a request for ever.

    Raises:
        ConfigurationError: naming ``timeout`` and the allowed range.
    """
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ConfigurationError(
                f"timeout must be {_TIMEOUT_RANGE}; got a sequence of {len(value)} values"
            )
        connect, read = (_seconds(part) for part in value)
        wrong = [name for name, part in (("connect", connect), ("read", read)) if part is None]
        if connect is None or read is None:
            parts = " and ".join(wrong) + (" parts are" if len(wrong) == 2 else " part is")
            raise ConfigurationError(
                f"timeout must be {_TIMEOUT_RANGE}; the {parts} not, in {tuple(value)!r}"
            )
        return (connect, read)
    seconds = _seconds(value)
    if seconds is None:
        raise ConfigurationError(f"timeout must be {_TIMEOUT_RANGE}; got {value!r}")
    return seconds


def check_request_deadline(value: Any, timeout: Any) -> float:
    """The total seconds one attempt may take: ``value``, or 5 x the read timeout (at most 300 s).

    Raises:
        ConfigurationError: ``value`` is not a positive, finite number of seconds.
    """
    if value is None:
        read = _read_timeout(timeout)
        if read is None:
            return MAX_DEFAULT_REQUEST_DEADLINE
        return min(MAX_DEFAULT_REQUEST_DEADLINE, _DEADLINE_PER_READ_TIMEOUT * read)
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(
            f"request_deadline must be a positive number of seconds, or None for 5 x the "
            f"read timeout (at most {MAX_DEFAULT_REQUEST_DEADLINE:g} s), got {value!r}"
        )
    return float(value)


def check_max_response_bytes(value: Any) -> int:
    """``value`` checked as the largest decoded answer accepted, in bytes.

    Raises:
        ConfigurationError: ``value`` is not a positive whole number.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(
            f"max_response_bytes must be a positive whole number of bytes (default "
            f"{DEFAULT_MAX_RESPONSE_BYTES}), got {value!r}"
        )
    return value


# --- streaming -----------------------------------------------------------------------


class BodyTooLarge(Exception):
    """An answer decoded to more than the size limit (raised by :func:`read_limited_body`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the answer is larger than {limit} bytes")
        self.limit = limit


def read_limited_body(
    raw: requests.Response, *, started: float, time_limit: float, max_bytes: int
) -> bytes:
    """Read a streamed answer's body within a time limit and a size limit.

    The one place where bodies from outside are read (OneRoster and Buzz alike): decoded
    chunks are counted as they arrive, so a small compressed body that expands enormously
    is refused early, and the clock is checked after every chunk, so a server dripping a
    byte at a time cannot hold the call past its time limit.

    Args:
        raw: a response requested with ``stream=True``.
        started: ``time.monotonic()`` when the request was sent.
        time_limit: seconds from ``started`` by which the whole body must have arrived.
        max_bytes: the largest decoded body accepted.

    Raises:
        BodyTooLarge: the decoded body passed ``max_bytes``.
        requests.exceptions.ReadTimeout: the body was still arriving at the deadline.
        requests.exceptions.ChunkedEncodingError: the connection broke mid-body (the
            message says how many bytes had arrived).
    """
    deadline = started + time_limit
    chunks: list[bytes] = []
    received = 0
    complete = False
    try:
        for chunk in _body_chunks(raw):
            received += len(chunk)
            if received > max_bytes:
                raise BodyTooLarge(max_bytes)
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _TooSlow(time_limit, received)
        complete = True
    finally:
        _release(raw, complete=complete)
    return b"".join(chunks)


def _content_length(headers: Mapping[str, str]) -> int | None:
    try:
        value = int(headers.get("Content-Length") or "")
    except ValueError:
        return None
    return value if value >= 0 else None


def _body_chunks(raw: requests.Response) -> Iterator[bytes]:
    """The decoded body in chunks, each as soon as the connection delivers it."""
    stream = raw.raw
    if isinstance(stream, urllib3.response.HTTPResponse) and hasattr(stream, "read1"):
        return _chunks(stream, expected=_content_length(raw.headers))
    # Another response object (urllib3 1.x, a recording library's stub, a test double):
    # requests reads it in chunks too, each read waiting for a whole chunk.
    return raw.iter_content(_CHUNK)


def _chunks(stream: Any, *, expected: int | None) -> Iterator[bytes]:
    """Decoded chunks as soon as the socket has them; urllib3 errors become requests ones."""
    received = 0
    while True:
        try:
            chunk = stream.read1(_CHUNK, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(exc) from exc
        except urllib3.exceptions.SSLError as exc:
            raise requests.exceptions.SSLError(exc) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        except (urllib3.exceptions.ProtocolError, http.client.HTTPException, OSError) as exc:
            raise _CutOff(received, expected) from exc
        if not chunk:
            return
        received += len(chunk)
        yield chunk


def _release(raw: requests.Response, *, complete: bool) -> None:
    """Give the connection back to the pool, or drop it when the body was not read."""
    if not complete:
        raw.close()
        return
    release = getattr(raw.raw, "release_conn", None)
    if callable(release):
        release()


# --- messages ------------------------------------------------------------------------


def _granted_scopes(auth: AuthBase | None) -> tuple[str, ...] | None:
    """The scopes an OAuth 2 plug-in says its token carries, or ``None`` when unknown."""
    try:
        scopes = getattr(auth, "granted_scopes", None)
        if callable(scopes):
            scopes = scopes()
        if not isinstance(scopes, list | tuple | set | frozenset):
            return None
        return tuple(scope for scope in scopes if isinstance(scope, str))
    except Exception:  # a hint must never hide the real error
        return None


def _auth_kind(auth: AuthBase | None) -> str | None:
    """What credentials the plug-in sends (``"oauth1"``, ``"oauth2"``, ``"token"``), if it says."""
    kind = getattr(auth, "auth_kind", None)
    return kind if isinstance(kind, str) else None


def _renewable(auth: AuthBase | None) -> bool:
    return (
        auth is not None
        and callable(getattr(auth, "invalidate", None))
        and getattr(auth, "renewable", True)
    )


def _describe_transport(exc: requests.RequestException, safe_url: str, *, method: str) -> str:
    """One line saying why no complete answer came, and what to check."""
    host = urlsplit(safe_url).netloc
    target = f"{method} {_path_of(safe_url)}"
    if isinstance(exc, _TooSlow):
        return (
            f"{target}: {host} sent the answer too slowly: no complete answer within "
            f"{exc.limit:g} s ({exc.received} bytes of the body received); the server or "
            "the network is overloaded (request_deadline bounds one attempt)"
        )
    if isinstance(exc, _CutOff):
        of = f" of {exc.expected}" if exc.expected is not None else ""
        return (
            f"{target}: the answer from {host} was cut off after {exc.received}{of} bytes of "
            "the body (the connection closed mid-answer); the server or a proxy dropped it"
        )
    if isinstance(exc, requests.exceptions.SSLError):
        advice = tls_failure(exc).advice(setting="the base URL")
        return f"{target}: TLS handshake with {host} failed: {advice}"
    if isinstance(exc, requests.ConnectTimeout):
        return (
            f"{target}: could not connect to {host} in time: check the base URL, network "
            "access and firewalls"
        )
    if isinstance(exc, requests.Timeout):
        return f"{target}: {host} did not answer in time: the server may be slow or unreachable"
    cause = _describe_cause(list(error_chain(exc)), safe_url)
    if cause is not None:
        return f"{target}: {cause}"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return f"{target}: the compressed answer from {host} could not be decoded"
    if isinstance(exc, requests.ConnectionError):
        return (
            f"{target}: could not connect to {host} ({type(exc).__name__}): check the base "
            "URL and network access"
        )
    return f"{target}: request to {host} failed: {type(exc).__name__}"


def _describe_cause(causes: list[BaseException], safe_url: str) -> str | None:
    """Why a connection failed, from the root causes requests wraps; ``None`` if unknown."""
    host = urlsplit(safe_url).netloc
    # urllib3's NameResolutionError is raised from the socket.gaierror of the look-up.
    if any(isinstance(c, socket.gaierror) for c in causes):
        hostname = urlsplit(safe_url).hostname
        return f"could not resolve the host name {hostname!r}: check the base URL and DNS"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return (
            f"could not connect to {host}: the connection was refused; check the "
            "base URL and port, and that the server is running"
        )
    if any(isinstance(c, http.client.RemoteDisconnected) for c in causes):
        return (
            f"{host} closed the connection without answering (the server or a "
            "proxy dropped the request; it may be overloaded or restarting)"
        )
    if any(isinstance(c, ConnectionResetError | http.client.BadStatusLine) for c in causes):
        return (
            f"{host} reset the connection without a valid answer (the server or a "
            "proxy dropped the request)"
        )
    return None
