"""HTTP transport: one ``requests.Session``, exact URLs, retries, auth renewal, logging.

Implements the request side of the OneRoster 1.1 REST binding (sections 8 and 9 of the
reference digest): the query string is encoded here, once, with ``%20`` for spaces, and
the finished URL is what the OAuth 1 plug-in signs. Every attempt, including each retry
and each page, is a new request prepared and signed afresh (servers refuse a reused OAuth
1 nonce). A 401 makes a renewable auth plug-in fetch a new token, and the call is retried
once. Logs carry method, path, status, duration and retry decisions, never credentials,
tokens, signatures or record contents.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import attrs
import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.structures import CaseInsensitiveDict

from oneroster_client import __version__
from oneroster_client._redact import redact_url
from oneroster_client.errors import ConfigurationError, ResponseFormatError, TransportError
from oneroster_client.retry import RetryPolicy
from oneroster_client.status import error_from_response

__all__ = ["Response", "Transport", "encode_query", "is_loopback_host", "same_origin"]

logger = logging.getLogger("oneroster_client")

USER_AGENT = f"oneroster-client/{__version__} (+https://pypi.org/project/oneroster-client/)"


def encode_query(params: Iterable[tuple[str, str]]) -> str:
    """Encode query parameters the way OneRoster servers and OAuth 1 signatures expect.

    Every reserved character is percent-encoded (``'`` -> ``%27``, ``=`` -> ``%3D``, space ->
    ``%20``, never ``+``), so the string is the same one the signature covers.
    """
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in params)


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def same_origin(url: str, other: str) -> bool:
    """True when both URLs have the same scheme, host and port."""
    a, b = urlsplit(url), urlsplit(other)
    default = {"http": 80, "https": 443}
    return (
        a.scheme.lower() == b.scheme.lower()
        and (a.hostname or "").lower() == (b.hostname or "").lower()
        and (a.port or default.get(a.scheme.lower())) == (b.port or default.get(b.scheme.lower()))
    )


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

    def json(self) -> Any:
        """The body parsed as JSON; :class:`ResponseFormatError` when it is not JSON."""
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError):
            excerpt = self.content[:200].decode("utf-8", "replace")
            raise ResponseFormatError(
                f"{self.method} {_path_of(self.url)} answered HTTP {self.status_code} with a "
                "body that is not JSON (truncated or an HTML error page?)",
                url=self.url,
                body_excerpt=excerpt,
            ) from None


def _path_of(url: str) -> str:
    split = urlsplit(url)
    return split.path + (f"?{split.query}" if split.query else "")


class Transport:
    """Sends OneRoster requests: URL building, auth, retries, error mapping, logging.

    Args:
        base_url: the OneRoster base URL, e.g. ``https://sis.example.org/ims/oneroster/v1p1``.
        auth: a ``requests`` auth plug-in, or ``None`` for an open server.
        timeout: seconds, or a ``(connect, read)`` pair.
        retry: the retry policy; :class:`RetryPolicy` defaults when omitted.
        session: a ``requests.Session`` to use (not closed by :meth:`close`).
        allow_http: permit plain ``http`` to a non-loopback host.
        user_agent: the ``User-Agent`` header.
        renew_auth_on: statuses after which a renewable auth plug-in is asked for new
            credentials and the call retried once (401; some servers answer an expired
            token with 403 or 500).
        pool_size: connections kept per host (raise it for concurrent paging).
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: AuthBase | None,
        timeout: float | tuple[float, float] = 30.0,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        allow_http: bool = False,
        user_agent: str = USER_AGENT,
        renew_auth_on: Iterable[int] = (401,),
        pool_size: int = 10,
    ) -> None:
        self.base_url = validate_base_url(base_url, allow_http=allow_http)
        self.auth = auth
        self.timeout = timeout
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
            TransportError: no HTTP answer (connection, timeout, TLS).
        """
        state = self.retry.start()
        renewed = False
        safe_url = redact_url(url)
        body = None if json_body is None else json.dumps(json_body).encode("utf-8")
        sent = 0  # requests sent, retries and the one after renewing credentials included
        while True:
            prepared = self._prepare(method, url, body)
            started = time.monotonic()
            sent += 1
            try:
                raw = self.session.send(prepared, timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as exc:
                elapsed = time.monotonic() - started
                wait = state.next_wait(method=method, exception=exc)
                logger.warning(
                    "%s %s failed after %.0f ms: %s%s",
                    method,
                    _path_of(safe_url),
                    elapsed * 1000,
                    type(exc).__name__,
                    "" if wait is None else f"; retrying in {wait:.2f} s",
                )
                if wait is None:
                    raise TransportError(
                        _describe_transport(exc, safe_url), url=safe_url, method=method
                    ) from None
                if on_retry is not None:
                    on_retry(None)
                state.sleep(wait)
                continue
            elapsed = time.monotonic() - started
            status = raw.status_code
            logger.debug(
                "%s %s -> %d in %.0f ms", method, _path_of(safe_url), status, elapsed * 1000
            )
            if status < 300:
                return Response(
                    status_code=status,
                    headers=raw.headers,
                    content=raw.content,
                    url=safe_url,
                    method=method,
                    elapsed=elapsed,
                )
            content = raw.content
            if status in self.renew_auth_on and not renewed and _renewable(self.auth):
                renewed = True
                logger.info(
                    "%s %s -> %d: renewing credentials and retrying once",
                    method,
                    _path_of(safe_url),
                    status,
                )
                self.auth.invalidate(prepared.headers.get("Authorization"))  # type: ignore[union-attr]
                continue
            wait = state.next_wait(
                method=method, status_code=status, retry_after=raw.headers.get("Retry-After")
            )
            if wait is None:
                logger.info(
                    "%s %s -> %d in %.0f ms", method, _path_of(safe_url), status, elapsed * 1000
                )
                raise error_from_response(
                    method=method,
                    url=url,
                    status_code=status,
                    headers=CaseInsensitiveDict(raw.headers),
                    body=content,
                    attempts=sent,
                ) from None
            logger.info(
                "%s %s -> %d; retry %d in %.2f s",
                method,
                _path_of(safe_url),
                status,
                state.attempts,
                wait,
            )
            if on_retry is not None:
                on_retry(status)
            state.sleep(wait)

    def _prepare(self, method: str, url: str, body: bytes | None) -> requests.PreparedRequest:
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = requests.Request(method, url, headers=headers, data=body, auth=self.auth)
        return self.session.prepare_request(request)


def _renewable(auth: AuthBase | None) -> bool:
    return (
        auth is not None
        and callable(getattr(auth, "invalidate", None))
        and getattr(auth, "renewable", True)
    )


def _describe_transport(exc: requests.RequestException, safe_url: str) -> str:
    host = urlsplit(safe_url).netloc
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS handshake with {host} failed: check the base URL and the server certificate"
    if isinstance(exc, requests.Timeout):
        return f"{host} did not answer in time: the server may be slow or unreachable"
    if isinstance(exc, requests.ConnectionError):
        return f"could not connect to {host}: check the base URL, DNS and network access"
    return f"request to {host} failed: {type(exc).__name__}"


def validate_base_url(base_url: str, *, allow_http: bool = False) -> str:
    """Check and normalise a OneRoster base URL (no trailing slash).

    Raises:
        ConfigurationError: the URL is not absolute, or uses plain http to a host that is
            not loopback without ``allow_http``.
    """
    if not isinstance(base_url, str) or not base_url.strip():
        raise ConfigurationError(
            "base_url is required, e.g. https://sis.example.org/ims/oneroster/v1p1"
        )
    url = base_url.strip().rstrip("/")
    split = urlsplit(url)
    if split.scheme.lower() not in ("http", "https") or not split.hostname:
        raise ConfigurationError(
            f"base_url must be an absolute http(s) URL such as "
            f"https://sis.example.org/ims/oneroster/v1p1, got {redact_url(url)!r}"
        )
    if split.query or split.fragment:
        raise ConfigurationError("base_url must not contain a query string or fragment")
    if split.scheme.lower() == "http" and not allow_http and not is_loopback_host(split.hostname):
        raise ConfigurationError(
            f"base_url {redact_url(url)!r} uses plain http: credentials and student data would "
            "travel unencrypted. Use https, or pass allow_http=True for a test server."
        )
    return url
