"""Two-legged OAuth 1.0a request signing, as OneRoster 1.1 section 9.1 specifies (RFC 5849).

The signing itself is authlib's RFC 5849 code (see :mod:`oneroster_client.auth._rfc5849`,
imported on first use so ``import oneroster_client`` stays light). The module-level
functions :func:`percent_encode`, :func:`signature_base_string`, :func:`sign` and
:func:`parse_authorization_header` are pure, so a server (such as the loopback server in
``oneroster_client.testing``) can verify what :class:`OAuth1` produced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Literal

import requests
from requests.auth import AuthBase

from oneroster_client._redact import mask
from oneroster_client.auth._common import UNSAFE_HEADER_CHARS, parse_authorization_header
from oneroster_client.errors import ConfigurationError

__all__ = [
    "SIGNATURE_METHODS",
    "OAuth1",
    "SignatureMethod",
    "parse_authorization_header",
    "percent_encode",
    "sign",
    "signature_base_string",
]

SignatureMethod = Literal["HMAC-SHA256", "HMAC-SHA1"]
SIGNATURE_METHODS: tuple[SignatureMethod, ...] = ("HMAC-SHA256", "HMAC-SHA1")
"""The signature methods OneRoster 1.1 servers use: HMAC-SHA256, and HMAC-SHA1 on old ones."""

_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_UNSUPPORTED = (
    "unsupported OAuth 1 signature method {method!r}: use 'HMAC-SHA256' (OneRoster 1.1) "
    "or 'HMAC-SHA1' (older servers)"
)


def _rfc5849() -> ModuleType:
    """The authlib-based signing module, imported on first use (authlib is slow to import)."""
    from oneroster_client.auth import _rfc5849

    return _rfc5849


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
    encoded: str = _rfc5849().escape(s)
    return encoded


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
    result: str = _rfc5849().base_string(method, url, oauth_params, form_body)
    return result


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
    function = _rfc5849().signature_function(signature_method)
    if function is None:
        raise ConfigurationError(_UNSUPPORTED.format(method=signature_method))
    signature: str = function(base_string, secret, None)
    return signature


def _signed_form_body(r: requests.PreparedRequest) -> str | bytes | None:
    """The body to sign: RFC 5849 signs form-encoded bodies only, never OneRoster's JSON."""
    content_type = r.headers.get("Content-Type", "")
    if content_type.lower().startswith(_FORM_CONTENT_TYPE) and isinstance(r.body, str | bytes):
        return r.body
    return None


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
        nonce_factory: returns a fresh nonce; injectable for tests. By default a random
            30-character nonce.

    Raises:
        ConfigurationError: a credential is empty, or the method or realm is invalid.
    """

    auth_kind = "oauth1"  # error messages say what to check (key, secret, clock)

    def __init__(
        self,
        key: str,
        secret: str,
        signature_method: SignatureMethod | str = "HMAC-SHA256",
        *,
        include_version: bool = True,
        realm: str | None = None,
        clock: Callable[[], float] = time.time,
        nonce_factory: Callable[[], str] | None = None,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ConfigurationError("OAuth1 needs a non-empty consumer key (key=...)")
        if not isinstance(secret, str) or not secret:
            raise ConfigurationError("OAuth1 needs a non-empty consumer secret (secret=...)")
        method = signature_method.upper() if isinstance(signature_method, str) else ""
        if method not in SIGNATURE_METHODS:
            raise ConfigurationError(_UNSUPPORTED.format(method=signature_method))
        if realm is not None and (
            '"' in realm or "\\" in realm or UNSAFE_HEADER_CHARS.search(realm)
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
        self._signer: Any = None  # authlib's signer, made on first use

    @property
    def key(self) -> str:
        """The consumer key."""
        return self._key

    @property
    def signature_method(self) -> str:
        """The signature method, ``"HMAC-SHA256"`` or ``"HMAC-SHA1"``."""
        return self._signature_method

    def __repr__(self) -> str:
        return f"OAuth1(key={mask(self._key)!r}, signature_method={self._signature_method!r})"

    def _client_auth(self) -> Any:
        if self._signer is None:
            # Stateless once built, so two threads racing here both get a working signer.
            self._signer = _rfc5849().OneRosterClientAuth(
                self._key,
                self._secret,
                signature_method=self._signature_method,
                realm=self._realm,
                include_version=self._include_version,
                clock=self._clock,
                nonce_factory=self._nonce_factory,
            )
        return self._signer

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Sign a prepared request and set its ``Authorization: OAuth ...`` header.

        Args:
            r: the request, with its final URL (query string included).

        Returns:
            The same request, signed.
        """
        if r.url is None or r.method is None:
            raise ValueError("OAuth1 can only sign a prepared request with a method and URL")
        form_body = _signed_form_body(r)
        headers = {"Content-Type": _FORM_CONTENT_TYPE} if form_body is not None else {}
        signer = self._client_auth()
        _, signed_headers, _ = signer.sign(
            r.method, r.url, headers, form_body if form_body is not None else b""
        )
        r.headers["Authorization"] = signed_headers["Authorization"]
        return r
