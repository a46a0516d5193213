"""Authentication plug-ins for ``requests``: OAuth 1.0a signing, OAuth 2 client credentials, bearer.

Implements section 9 (Security) of the OneRoster 1.1 REST binding:

* :class:`OAuth1` signs every request with two-legged OAuth 1.0a (RFC 5849, section 9.1):
  a consumer key and secret, no token, ``HMAC-SHA256`` (or ``HMAC-SHA1`` for old servers).
* :class:`OAuth2ClientCredentials` obtains, caches and renews a bearer token with the OAuth 2
  client-credentials grant (RFC 6749 section 4.4; OneRoster section 9.2) through authlib.
* :class:`BearerToken` sends a token that was issued out of band.

The module-level functions :func:`percent_encode`, :func:`signature_base_string`,
:func:`sign` and :func:`parse_authorization_header` are pure, so a server (such as the
loopback server in ``oneroster_client.testing``) can verify what :class:`OAuth1` produced.

Secrets, tokens and signatures never appear in a ``repr``, a log record or an error message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, quote_plus, unquote, unquote_to_bytes, urlsplit, urlunsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.client import OAuth2Client
from requests.auth import AuthBase

from oneroster_client.errors import (
    AuthenticationError,
    ConfigurationError,
    OneRosterError,
    RateLimitError,
    ServerError,
    TransportError,
)

__all__ = [
    "BearerToken",
    "OAuth1",
    "OAuth2ClientCredentials",
    "parse_authorization_header",
    "percent_encode",
    "sign",
    "signature_base_string",
]

logger = logging.getLogger("oneroster_client.auth")

SignatureMethod = Literal["HMAC-SHA256", "HMAC-SHA1"]
ClientAuthMethod = Literal["basic", "body"]

_DIGESTS: dict[str, Callable[[], Any]] = {
    "HMAC-SHA256": hashlib.sha256,
    "HMAC-SHA1": hashlib.sha1,
}
_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
# Token lifetime assumed when the token endpoint omits expires_in (RFC 6749 leaves it optional).
_DEFAULT_TOKEN_LIFETIME = 3600.0
# Characters that would let a header value be split or forged.
_UNSAFE_HEADER_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _mask(value: str) -> str:
    """Return an identifier shortened for display: enough to tell credentials apart."""
    return value[:4] + "***" if len(value) >= 8 else "***"


# --------------------------------------------------------------------------- OAuth 1.0a


def percent_encode(s: str) -> str:
    """Percent-encode a string as RFC 5849 section 3.6 requires.

    Only the RFC 3986 unreserved characters (``A-Z a-z 0-9 - . _ ~``) stay as they are;
    everything else, including space (``%20``), ``/``, ``'``, ``=`` and ``,``, is encoded
    from its UTF-8 bytes with upper-case hex digits.

    Args:
        s: the text to encode.

    Returns:
        The encoded text.
    """
    return quote(s, safe="~")


def _encode_bytes(raw: bytes) -> str:
    # Same alphabet as percent_encode, but for bytes that may not be valid UTF-8.
    return quote(raw, safe="~")


def _form_decoded_pairs(form: str | bytes) -> list[tuple[bytes, bytes]]:
    """Split a query string or form body into (name, value) bytes, decoded as form data.

    Decoding to bytes (not text) keeps a percent-encoded byte that is not UTF-8 exactly as
    the server will see it, so the signature still matches.
    """
    raw = form.encode("utf-8") if isinstance(form, str) else form
    pairs: list[tuple[bytes, bytes]] = []
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        # Form decoding: "+" is a space; RFC 5849 section 3.4.1.3.1 decodes the query this way.
        pairs.append(
            (
                unquote_to_bytes(name.replace(b"+", b" ")),
                unquote_to_bytes(value.replace(b"+", b" ")),
            )
        )
    return pairs


def _base_string_uri(url: str) -> str:
    """Return the RFC 5849 section 3.4.1.2 base string URI of an absolute URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if not scheme or not host:
        raise ValueError("the URL to sign must be absolute, with a scheme and a host")
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    port = parts.port
    default_port = (scheme, port) in (("http", 80), ("https", 443))
    netloc = host if port is None or default_port else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def signature_base_string(
    method: str,
    url: str,
    oauth_params: Mapping[str, str],
    *,
    form_body: str | bytes | None = None,
) -> str:
    """Build the RFC 5849 signature base string of a request.

    The result is ``METHOD & enc(base_uri) & enc(normalised parameters)``, where the base
    URI is the scheme, lower-case host, port (only when not the default) and path, and the
    parameters are every query parameter of ``url`` (form-decoded, then re-encoded with
    :func:`percent_encode`), the protocol parameters and any form body parameters, sorted
    by encoded name and then encoded value.

    Args:
        method: the HTTP method; upper-cased here.
        url: the request URL exactly as it goes on the wire, query string included.
        oauth_params: the protocol parameters (``oauth_consumer_key``, ``oauth_nonce``,
            ...), decoded, e.g. from :func:`parse_authorization_header`. ``oauth_signature``
            and ``realm`` are left out, as RFC 5849 section 3.4.1.3.1 requires.
        form_body: an ``application/x-www-form-urlencoded`` request body, whose parameters
            are signed too. JSON bodies are never signed: leave this ``None`` for them.

    Returns:
        The base string.

    Raises:
        ValueError: ``url`` is not absolute or has an invalid port.
    """
    encoded: list[tuple[str, str]] = []
    query = urlsplit(url).query
    raw_pairs = _form_decoded_pairs(query)
    if form_body is not None:
        raw_pairs += _form_decoded_pairs(form_body)
    for name, value in raw_pairs:
        if name != b"oauth_signature":
            encoded.append((_encode_bytes(name), _encode_bytes(value)))
    for name_text, value_text in oauth_params.items():
        if name_text not in ("oauth_signature", "realm"):
            encoded.append((percent_encode(name_text), percent_encode(value_text)))
    encoded.sort()
    normalised = "&".join(f"{name}={value}" for name, value in encoded)
    return "&".join(
        (
            percent_encode(method.upper()),
            percent_encode(_base_string_uri(url)),
            percent_encode(normalised),
        )
    )


def sign(base_string: str, secret: str, signature_method: str) -> str:
    """Sign a base string for two-legged OAuth 1.0a.

    The key is ``percent_encode(secret) + "&"``: OneRoster uses no token, so the token
    secret after the ampersand is empty.

    Args:
        base_string: the output of :func:`signature_base_string`.
        secret: the consumer secret.
        signature_method: ``"HMAC-SHA256"`` or ``"HMAC-SHA1"``.

    Returns:
        The base64-encoded signature (the decoded ``oauth_signature`` value).

    Raises:
        ConfigurationError: the signature method is not supported.
    """
    digest = _DIGESTS.get(signature_method)
    if digest is None:
        raise ConfigurationError(
            f"unsupported OAuth 1 signature method {signature_method!r}: use 'HMAC-SHA256' "
            "(OneRoster 1.1) or 'HMAC-SHA1' (older servers)"
        )
    key = (percent_encode(secret) + "&").encode("utf-8")
    mac = hmac.new(key, base_string.encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


_AUTH_PARAM = re.compile(r'\s*([^\s=,]+)\s*=\s*(?:"([^"]*)"|([^\s,"]*))\s*(?:,|$)')


def parse_authorization_header(value: str) -> dict[str, str]:
    """Decode an ``Authorization: OAuth ...`` header value into its parameters.

    Parameter values are percent-decoded (RFC 5849 section 3.5.1), except ``realm``, which
    is a plain quoted string.

    Args:
        value: the header value, e.g. ``'OAuth oauth_consumer_key="k", oauth_nonce="n"'``.

    Returns:
        The parameters by name, decoded.

    Raises:
        ValueError: the value does not use the ``OAuth`` scheme or is malformed.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "oauth":
        raise ValueError("not an OAuth 1 Authorization header: the scheme must be 'OAuth'")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _AUTH_PARAM.match(rest, position)
        if match is None or match.end() == position:
            raise ValueError(
                f"malformed OAuth Authorization header near character {position}: expected "
                'name="value" pairs separated by commas'
            )
        name = match.group(1)
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        params[name] = raw if name == "realm" else unquote(raw)
        position = match.end()
    return params


def _new_nonce() -> str:
    return secrets.token_hex(16)


class OAuth1(AuthBase):
    """Two-legged OAuth 1.0a request signing, as OneRoster 1.1 section 9.1 specifies.

    Every request gets a fresh nonce and timestamp, so retries and each page of a listing
    are signed afresh. The signature covers the exact URL on the wire, so build the query
    string yourself rather than letting a library re-encode it after signing.

    Example:
        >>> auth = OAuth1("consumer-key", "consumer-secret")
        >>> requests.get(url, auth=auth)  # doctest: +SKIP

    Args:
        key: the consumer key (``oauth_consumer_key``).
        secret: the consumer secret.
        signature_method: ``"HMAC-SHA256"`` (OneRoster 1.1) or ``"HMAC-SHA1"``.
        include_version: send ``oauth_version="1.0"``; some servers want it absent.
        realm: an optional ``realm`` to put first in the header (not signed).
        clock: returns the current Unix time in seconds; injectable for tests.
        nonce_factory: returns a fresh nonce; injectable for tests.

    Raises:
        ConfigurationError: a credential is empty, or the method or realm is invalid.
    """

    def __init__(
        self,
        key: str,
        secret: str,
        signature_method: SignatureMethod | str = "HMAC-SHA256",
        *,
        include_version: bool = True,
        realm: str | None = None,
        clock: Callable[[], float] = time.time,
        nonce_factory: Callable[[], str] = _new_nonce,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ConfigurationError("OAuth1 needs a non-empty consumer key (key=...)")
        if not isinstance(secret, str) or not secret:
            raise ConfigurationError("OAuth1 needs a non-empty consumer secret (secret=...)")
        method = signature_method.upper() if isinstance(signature_method, str) else ""
        if method not in _DIGESTS:
            raise ConfigurationError(
                f"unsupported OAuth 1 signature method {signature_method!r}: use "
                "'HMAC-SHA256' (OneRoster 1.1) or 'HMAC-SHA1' (older servers)"
            )
        if realm is not None and (
            '"' in realm or "\\" in realm or _UNSAFE_HEADER_CHARS.search(realm)
        ):
            raise ConfigurationError(
                "OAuth1 realm must not contain quotes, backslashes or control characters"
            )
        self._key = key
        self._secret = secret
        self._signature_method = method
        self._include_version = include_version
        self._realm = realm
        self._clock = clock
        self._nonce_factory = nonce_factory

    @property
    def key(self) -> str:
        """The consumer key."""
        return self._key

    @property
    def signature_method(self) -> str:
        """The signature method, ``"HMAC-SHA256"`` or ``"HMAC-SHA1"``."""
        return self._signature_method

    def __repr__(self) -> str:
        return f"OAuth1(key={_mask(self._key)!r}, signature_method={self._signature_method!r})"

    def oauth_params(self) -> dict[str, str]:
        """Return fresh protocol parameters (without the signature) for one request.

        Returns:
            ``oauth_consumer_key``, ``oauth_nonce``, ``oauth_signature_method``,
            ``oauth_timestamp`` and, unless disabled, ``oauth_version``.
        """
        params = {
            "oauth_consumer_key": self._key,
            "oauth_nonce": self._nonce_factory(),
            "oauth_signature_method": self._signature_method,
            "oauth_timestamp": str(int(self._clock())),
        }
        if self._include_version:
            params["oauth_version"] = "1.0"
        return params

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Sign a prepared request and set its ``Authorization: OAuth ...`` header.

        Args:
            r: the request, with its final URL (query string included).

        Returns:
            The same request, signed.
        """
        if r.url is None or r.method is None:
            raise ValueError("OAuth1 can only sign a prepared request with a method and URL")
        params = self.oauth_params()
        form_body: str | bytes | None = None
        content_type = r.headers.get("Content-Type", "")
        # RFC 5849 signs form-encoded bodies only; OneRoster's JSON bodies are not signed.
        if content_type.lower().startswith(_FORM_CONTENT_TYPE) and isinstance(r.body, str | bytes):
            form_body = r.body
        base_string = signature_base_string(r.method, r.url, params, form_body=form_body)
        params["oauth_signature"] = sign(base_string, self._secret, self._signature_method)
        fields = [f'realm="{self._realm}"'] if self._realm is not None else []
        fields += [f'{name}="{percent_encode(value)}"' for name, value in params.items()]
        r.headers["Authorization"] = "OAuth " + ", ".join(fields)
        return r


# --------------------------------------------------------------------------- OAuth 2


def _client_secret_basic(
    client: Any, method: str, uri: str, headers: dict[str, str], body: str
) -> tuple[str, dict[str, str], str]:
    """HTTP Basic client authentication, form-encoding id and secret first (RFC 6749 2.3.1).

    authlib's built-in ``client_secret_basic`` skips that encoding and cannot send a
    non-Latin-1 secret, so this replaces it on our own client only.
    """
    credentials = f"{quote_plus(client.client_id)}:{quote_plus(client.client_secret)}"
    headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode("ascii")).decode(
        "ascii"
    )
    return uri, headers, body


class _TokenClient(OAuth2Client):  # type: ignore[misc]  # authlib ships no type hints
    """authlib's OAuth 2 protocol client speaking through any ``requests.Session``.

    It uses the same ``requests`` plug-ins as authlib's ``OAuth2Session``, but lets the
    caller supply the session (proxies, TLS settings, mounted adapters).
    """

    client_auth_class = OAuth2Session.client_auth_class
    token_auth_class = OAuth2Session.token_auth_class
    oauth_error_class = OAuth2Session.oauth_error_class
    SESSION_REQUEST_PARAMS = OAuth2Session.SESSION_REQUEST_PARAMS


@dataclass(frozen=True)
class _CachedToken:
    access_token: str
    renew_at: float  # on the instance's clock

    @property
    def authorization(self) -> str:
        return f"Bearer {self.access_token}"


def _normalise_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    for scope in items:
        if not isinstance(scope, str) or not scope or any(ch.isspace() for ch in scope):
            raise ConfigurationError(
                f"invalid OAuth 2 scope {scope!r}: each scope is one non-empty word such as "
                "'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly'"
            )
    return tuple(items)


def _check_token_url(token_url: str, allow_insecure_http: bool) -> str:
    parts = urlsplit(token_url) if isinstance(token_url, str) else None
    if parts is None or parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(
            f"token_url must be an absolute https:// URL of the OAuth 2 token endpoint, "
            f"got {token_url!r}"
        )
    if (
        parts.scheme.lower() == "http"
        and parts.hostname not in _LOOPBACK_HOSTS
        and not allow_insecure_http
    ):
        raise ConfigurationError(
            f"token_url {token_url!r} uses plain http, which would send the client secret "
            "unencrypted: use https, or pass allow_insecure_http=True for a test server"
        )
    return token_url


def _parse_lifetime(expires_in: object) -> float | None:
    if isinstance(expires_in, bool):
        return None
    if isinstance(expires_in, int | float):
        lifetime = float(expires_in)
    elif isinstance(expires_in, str):
        try:
            lifetime = float(expires_in.strip())
        except ValueError:
            return None
    else:
        return None
    return lifetime if lifetime > 0 and lifetime != float("inf") else None


def _retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP-date: left for the caller's retry policy to ignore
    return max(seconds, 0.0)


class OAuth2ClientCredentials(AuthBase):
    """OAuth 2 client-credentials grant with a cached, self-renewing bearer token.

    OneRoster 1.1 section 9.2: the token is requested from ``token_url`` with
    ``grant_type=client_credentials`` and the scopes, and sent as ``Authorization: Bearer
    <token>`` on every call. It is renewed shortly before it expires. A lock makes sure
    only one token request is in flight when several threads fetch pages at once; the
    others wait and reuse the new token.

    Example:
        >>> auth = OAuth2ClientCredentials(
        ...     "https://sis.example.org/oauth/token", "client-id", "client-secret",
        ...     scopes=["https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly"],
        ... )

    Args:
        token_url: the provider's token endpoint. It must be https, except on a loopback
            host (``127.0.0.1``, ``::1``, ``localhost``) or with ``allow_insecure_http``.
        client_id: the OAuth 2 client id.
        client_secret: the OAuth 2 client secret.
        scopes: the scopes to request, as full URIs; a string is split on whitespace.
            Empty means no ``scope`` field is sent.
        client_auth: ``"basic"`` sends the credentials with HTTP Basic
            (``client_secret_basic``, the OneRoster default); ``"body"`` sends them as form
            fields (``client_secret_post``).
        renew_margin: renew the token this many seconds before it expires. When the token
            lives less than twice this long, half its lifetime is used instead.
        timeout: seconds to wait for the token endpoint.
        session: the ``requests.Session`` to send token requests through; a new one by
            default.
        clock: a monotonic clock in seconds; injectable for tests.
        allow_insecure_http: accept a plain ``http://`` token URL on a non-loopback host.

    Raises:
        ConfigurationError: a setting is invalid; the message says which.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: str | Iterable[str] = (),
        client_auth: ClientAuthMethod = "basic",
        *,
        renew_margin: float = 60.0,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        allow_insecure_http: bool = False,
    ) -> None:
        self._token_url = _check_token_url(token_url, allow_insecure_http)
        if not isinstance(client_id, str) or not client_id:
            raise ConfigurationError("OAuth2ClientCredentials needs a non-empty client_id")
        if not isinstance(client_secret, str) or not client_secret:
            raise ConfigurationError("OAuth2ClientCredentials needs a non-empty client_secret")
        if client_auth not in ("basic", "body"):
            raise ConfigurationError(
                f"client_auth must be 'basic' (HTTP Basic, the usual choice) or 'body' "
                f"(credentials as form fields), got {client_auth!r}"
            )
        if not renew_margin >= 0:
            raise ConfigurationError(f"renew_margin must be >= 0 seconds, got {renew_margin!r}")
        if not timeout > 0:
            raise ConfigurationError(f"timeout must be > 0 seconds, got {timeout!r}")
        self._client_id = client_id
        self._client_secret = client_secret
        self._scopes = _normalise_scopes(scopes)
        self._client_auth: ClientAuthMethod = client_auth
        self._renew_margin = float(renew_margin)
        self._timeout = float(timeout)
        self._clock = clock
        parts = urlsplit(self._token_url)
        self._token_host = parts.netloc.rpartition("@")[2]
        # The URL as reported in errors: no query or fragment, which might carry secrets.
        self._token_url_for_errors = urlunsplit(
            (parts.scheme, self._token_host, parts.path, "", "")
        )

        self._client = _TokenClient(
            session if session is not None else requests.Session(),
            client_id=client_id,
            client_secret=client_secret,
            token_endpoint_auth_method=(
                "client_secret_basic" if client_auth == "basic" else "client_secret_post"
            ),
        )
        # Registered on this client instance only: no shared registry is changed.
        self._client.register_client_auth_method(("client_secret_basic", _client_secret_basic))
        self._client.register_compliance_hook("access_token_response", self._check_response)

        self._lock = threading.Lock()
        self._cached: _CachedToken | None = None
        self._payload: dict[str, Any] | None = None
        self._token_requests = 0

    @property
    def token_url(self) -> str:
        """The token endpoint URL."""
        return self._token_url

    @property
    def client_id(self) -> str:
        """The OAuth 2 client id."""
        return self._client_id

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes requested with every token."""
        return self._scopes

    @property
    def client_auth(self) -> ClientAuthMethod:
        """How the client credentials are sent: ``"basic"`` or ``"body"``."""
        return self._client_auth

    @property
    def token_requests(self) -> int:
        """How many token requests this object has made, failed ones included."""
        return self._token_requests

    def __repr__(self) -> str:
        return (
            f"OAuth2ClientCredentials(token_url={self._token_url_for_errors!r}, "
            f"client_id={_mask(self._client_id)!r}, scopes={self._scopes!r}, "
            f"client_auth={self._client_auth!r})"
        )

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set ``Authorization: Bearer <token>``, fetching or renewing the token if needed.

        Args:
            r: the request to authorise.

        Returns:
            The same request.

        Raises:
            AuthenticationError: the token endpoint refused the credentials or scopes.
            TransportError: the token endpoint could not be reached.
        """
        r.headers["Authorization"] = self._current_token().authorization
        return r

    def invalidate(self, used_authorization: str | None = None) -> None:
        """Forget the cached token so the next request fetches a new one.

        Call it after a 401 from the API. When several threads see a 401 for the same
        token, pass the ``Authorization`` header each one sent: only the first forgets the
        token, and the others keep the one renewed in between.

        Args:
            used_authorization: the ``Authorization`` header value the refused request
                carried. When given and it is not the current token's header (the token has
                been renewed or forgotten already), nothing happens.
        """
        with self._lock:
            cached = self._cached
            if cached is None:
                return
            if used_authorization is not None and used_authorization != cached.authorization:
                return
            self._cached = None
            logger.info(
                "OAuth 2 token from %s invalidated; the next request fetches a new one",
                self._token_host,
            )

    def _current_token(self) -> _CachedToken:
        cached = self._cached
        if cached is not None and self._clock() < cached.renew_at:
            return cached  # the common case, without taking the lock
        with self._lock:
            # Another thread may have renewed the token while this one waited for the lock.
            cached = self._cached
            if cached is None or self._clock() >= cached.renew_at:
                cached = self._fetch_token()
                self._cached = cached
            return cached

    def _fetch_token(self) -> _CachedToken:
        """Request a new token; the caller holds the lock."""
        self._token_requests += 1
        self._payload = None
        logger.info("fetching OAuth 2 token from %s", self._token_host)
        started = self._clock()
        extra: dict[str, Any] = {"timeout": self._timeout}
        if self._scopes:
            extra["scope"] = " ".join(self._scopes)
        try:
            self._client.fetch_token(self._token_url, grant_type="client_credentials", **extra)
        except requests.RequestException as error:
            raise TransportError(
                f"could not reach the OAuth 2 token endpoint at {self._token_host}: "
                f"{_describe_transport_error(error, self._timeout)}",
                url=self._token_url_for_errors,
                method="POST",
            ) from error
        except (ValueError, TypeError):
            # authlib could not compute its own expiry from an unusual expires_in (such as
            # "3600.0"); _check_response has already validated the payload we rely on.
            if self._payload is None:
                raise
        payload = self._payload
        if payload is None:  # defensive: authlib ran no response hook
            raise AuthenticationError(
                f"the token endpoint at {self._token_host} returned no token",
                status_code=200,
                url=self._token_url_for_errors,
                method="POST",
            )
        self._payload = None
        return self._cache_entry(payload, started)

    def _cache_entry(self, payload: Mapping[str, Any], started: float) -> _CachedToken:
        lifetime = _parse_lifetime(payload.get("expires_in"))
        if lifetime is None:
            lifetime = _DEFAULT_TOKEN_LIFETIME
        margin = self._renew_margin if lifetime >= 2 * self._renew_margin else lifetime / 2
        token_type = payload.get("token_type")
        if isinstance(token_type, str) and token_type.lower() != "bearer":
            logger.warning(
                "token endpoint at %s returned token_type %r; sending it as a Bearer token",
                self._token_host,
                token_type,
            )
        granted = payload.get("scope")
        if isinstance(granted, str) and self._scopes:
            missing = sorted(set(self._scopes) - set(granted.split()))
            if missing:
                logger.warning(
                    "token endpoint at %s did not grant scopes %s; requests needing them will "
                    "get HTTP 403",
                    self._token_host,
                    missing,
                )
        logger.debug(
            "OAuth 2 token from %s valid for %.0f s; renewing %.0f s before expiry",
            self._token_host,
            lifetime,
            margin,
        )
        # Timed from before the request, so network latency only makes renewal earlier.
        return _CachedToken(str(payload["access_token"]), started + lifetime - margin)

    def _check_response(self, response: requests.Response) -> requests.Response:
        """authlib compliance hook: turn a failed token response into a clear error."""
        status = response.status_code
        try:
            body: object = response.json()
        except ValueError:
            body = None
        payload = body if isinstance(body, dict) else None
        if 200 <= status < 300 and payload is not None and "error" not in payload:
            access_token = payload.get("access_token")
            if (
                isinstance(access_token, str)
                and access_token
                and not _UNSAFE_HEADER_CHARS.search(access_token)
            ):
                self._payload = payload
                return response
            # Field names only: the body might hold a token under another name.
            fields = ", ".join(sorted(str(name) for name in payload)) or "none"
            raise AuthenticationError(
                f"the token endpoint at {self._token_host} answered HTTP {status} without a "
                f"usable access_token (fields present: {fields}): check that token_url is the "
                "provider's OAuth 2 token endpoint for the client-credentials grant",
                status_code=status,
                url=self._token_url_for_errors,
                method="POST",
            )
        if 200 <= status < 300 and payload is None:
            content_type = response.headers.get("Content-Type", "unknown")
            raise AuthenticationError(
                f"the token endpoint at {self._token_host} answered HTTP {status} with "
                f"{content_type} instead of a JSON token: check that token_url is the "
                "provider's OAuth 2 token endpoint, not a web page",
                status_code=status,
                url=self._token_url_for_errors,
                method="POST",
            )
        raise self._refusal(response, payload)

    def _refusal(
        self, response: requests.Response, payload: dict[str, Any] | None
    ) -> OneRosterError:
        status = response.status_code
        error_code = payload.get("error") if payload is not None else None
        error_code = error_code if isinstance(error_code, str) else None
        description = payload.get("error_description") if payload is not None else None
        said = ""
        if isinstance(description, str) and description.strip():
            said = f" (server said: {self._redact(description.strip())[:200]!r})"
        code = f"HTTP {status}" + (f" {error_code}" if error_code else "")
        common: dict[str, Any] = {
            "status_code": status,
            "url": self._token_url_for_errors,
            "method": "POST",
            "body_excerpt": self._redact(response.text[:300]) or None,
        }
        where = f"the token endpoint at {self._token_host}"

        if status == 429:
            return RateLimitError(
                f"{where} is rate limiting token requests ({code}): wait and try again",
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
                **common,
            )
        if status >= 500:
            return ServerError(
                f"{where} failed ({code}): the provider's authorisation server is having "
                f"trouble; try again later{said}",
                **common,
            )
        if error_code == "invalid_scope":
            if self._scopes:
                hint = (
                    f"check scopes={list(self._scopes)!r}: request only scopes this client is "
                    "registered for, spelled as full URIs such as "
                    "'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly'"
                )
            else:
                hint = "no scopes were requested: pass the scopes this client is registered for"
            return AuthenticationError(
                f"{where} refused the requested scopes ({code}): {hint}{said}", **common
            )
        if error_code in ("unauthorized_client", "unsupported_grant_type"):
            return AuthenticationError(
                f"{where} does not allow the client-credentials grant for this client "
                f"({code}): ask the provider to enable client credentials for this client_id"
                f"{said}",
                **common,
            )
        if error_code in ("invalid_client", "invalid_request", "access_denied") or status in (
            400,
            401,
            403,
        ):
            if self._client_auth == "basic":
                how = (
                    "sent with HTTP Basic; some servers want them in the form body: "
                    "client_auth='body'"
                )
            else:
                how = "sent in the form body; most servers want HTTP Basic: client_auth='basic'"
            return AuthenticationError(
                f"{where} refused the client credentials ({code}): check client_id and "
                f"client_secret ({how}){said}",
                **common,
            )
        return AuthenticationError(
            f"{where} answered {code} to the token request: check that token_url is the "
            f"provider's OAuth 2 token endpoint{said}",
            **common,
        )

    def _redact(self, text: str) -> str:
        for secret in (self._client_secret, quote_plus(self._client_secret)):
            text = text.replace(secret, "***")
        return text


def _describe_transport_error(error: requests.RequestException, timeout: float) -> str:
    if isinstance(error, requests.exceptions.SSLError):
        return "the TLS handshake failed; check the certificate or the session's verify setting"
    if isinstance(error, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(error, requests.ConnectionError):
        return "the connection failed (refused, DNS or network); check token_url and the network"
    return f"the request failed ({type(error).__name__})"


# --------------------------------------------------------------------------- bearer


class BearerToken(AuthBase):
    """A pre-issued bearer token, sent as ``Authorization: Bearer <token>``.

    Args:
        token: the access token.

    Raises:
        ConfigurationError: the token is empty or contains whitespace or control characters.
    """

    renewable = False  # the transport does not retry a 401 hoping for a new token

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token or any(ch.isspace() for ch in token):
            raise ConfigurationError(
                "BearerToken needs a non-empty token without spaces or line breaks "
                "(pass the token itself, not 'Bearer <token>')"
            )
        if _UNSAFE_HEADER_CHARS.search(token):
            raise ConfigurationError("BearerToken must not contain control characters")
        self._authorization = f"Bearer {token}"

    def __repr__(self) -> str:
        return "BearerToken(token='***')"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set the ``Authorization`` header.

        Args:
            r: the request to authorise.

        Returns:
            The same request.
        """
        r.headers["Authorization"] = self._authorization
        return r

    def invalidate(self, used_authorization: str | None = None) -> None:
        """Do nothing: a pre-issued token cannot be renewed.

        Present so the transport can treat every auth plug-in alike after a 401.

        Args:
            used_authorization: ignored.
        """
