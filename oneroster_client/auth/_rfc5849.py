"""OAuth 1.0a (RFC 5849) signing on authlib's implementation, plus HMAC-SHA256.

authlib does the RFC 5849 work: percent-encoding (section 3.6), the base string URI
(section 3.4.1.2), parameter normalisation (section 3.4.1.3.2), HMAC-SHA1 (section 3.4.2)
and the ``Authorization`` header (section 3.5.1). This module adds what OneRoster 1.1
section 9.1 needs on top:

* ``HMAC-SHA256``, registered on :class:`OneRosterClientAuth` only (a copy of the method
  table, never authlib's shared registry);
* parameters collected from the exact query string on the wire, decoded to bytes, so a
  percent-encoded byte that is not UTF-8 is signed as the server will see it;
* protocol parameters taken as given: authlib's ``construct_base_string`` decodes
  ``oauth_*`` values a second time, which would sign ``a%41b`` as ``aAb``.

Importing this module imports authlib; :mod:`oneroster_client.auth.oauth1` does so on
first use only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit, urlunsplit

from authlib.oauth1.rfc5849.client_auth import ClientAuth
from authlib.oauth1.rfc5849.signature import (
    hmac_sha1_signature,
    normalize_base_string_uri,
    normalize_parameters,
)
from authlib.oauth1.rfc5849.util import escape

from oneroster_client.auth._common import parse_authorization_header

__all__ = ["OneRosterClientAuth", "base_string", "escape", "signature_function"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_DEFAULT_PORTS = (("http", 80), ("https", 443))


def hmac_sha256_signature(
    base_string: str, client_secret: str | None, token_secret: str | None
) -> str:
    """HMAC-SHA256 over the base string, keyed like HMAC-SHA1 (RFC 5849 section 3.4.2)."""
    key = escape(client_secret or "") + "&" + escape(token_secret or "")
    mac = hmac.new(key.encode("utf-8"), base_string.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


_SIGNATURE_FUNCTIONS: dict[str, Callable[[str, str | None, str | None], str]] = {
    "HMAC-SHA256": hmac_sha256_signature,
    "HMAC-SHA1": hmac_sha1_signature,
}


def signature_function(method: str) -> Callable[[str, str | None, str | None], str] | None:
    """The function ``(base_string, client_secret, token_secret) -> signature`` of a method."""
    return _SIGNATURE_FUNCTIONS.get(method)


def _form_pairs(form: str | bytes) -> list[tuple[bytes, bytes]]:
    """Split a query string or form body into (name, value) bytes, decoded as form data.

    RFC 5849 section 3.4.1.3.1 decodes the query as ``application/x-www-form-urlencoded``
    (``+`` is a space). Decoding to bytes rather than text keeps a byte that is not UTF-8
    as the server sees it; authlib's encoder accepts bytes as well as text.
    """
    raw = form.encode("utf-8") if isinstance(form, str) else form
    pairs: list[tuple[bytes, bytes]] = []
    for part in raw.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            pairs.append(
                (
                    unquote_to_bytes(name.replace(b"+", b" ")),
                    unquote_to_bytes(value.replace(b"+", b" ")),
                )
            )
    return pairs


def _authority(url: str) -> tuple[str, str]:
    """The scheme and the ``host[:port]`` of the base string URI (RFC 5849 section 3.4.1.2).

    Worked out here because authlib splits the authority at its first ``:``, which misreads
    an IPv6 literal and a ``user:password@`` prefix.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname  # lower-cased, without userinfo or brackets
    if not scheme or not host:
        raise ValueError("the URL to sign must be absolute, with a scheme and a host")
    port = parts.port  # raises ValueError for a port that is not a number
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in _DEFAULT_PORTS:
        return scheme, host
    return scheme, f"{host}:{port}"


def base_string(
    method: str, url: str, oauth_params: Mapping[str, str], form_body: str | bytes | None
) -> str:
    """The RFC 5849 section 3.4.1 signature base string; see ``signature_base_string``."""
    scheme, authority = _authority(url)
    parts = urlsplit(url)
    base_uri = normalize_base_string_uri(
        urlunsplit((scheme, authority, parts.path, "", "")), authority
    )
    params: list[tuple[str | bytes, str | bytes]] = []
    collected = _form_pairs(parts.query)
    if form_body is not None:
        collected += _form_pairs(form_body)
    params += [(name, value) for name, value in collected if name != b"oauth_signature"]
    params += [
        (name, value)
        for name, value in oauth_params.items()
        if name not in ("oauth_signature", "realm")
    ]
    normalised: str = normalize_parameters(params)
    return "&".join((escape(method.upper()), escape(base_uri), escape(normalised)))


@dataclass(frozen=True)
class SigningRequest:
    """What a signature covers: the request line, its form body and the protocol parameters."""

    method: str
    uri: str
    oauth_params: Mapping[str, str]
    form_body: str | bytes | None

    @property
    def base_string(self) -> str:
        """The signature base string of this request."""
        return base_string(self.method, self.uri, self.oauth_params, self.form_body)


def _sign_with(name: str) -> Callable[[Any, SigningRequest], str]:
    function = _SIGNATURE_FUNCTIONS[name]

    def sign(client: Any, request: SigningRequest) -> str:
        return function(request.base_string, client.client_secret, client.token_secret)

    sign.__name__ = f"sign_{name.lower().replace('-', '_')}"
    return sign


class OneRosterClientAuth(ClientAuth):  # type: ignore[misc]  # authlib ships no type hints
    """authlib's RFC 5849 client signer, two-legged, with HMAC-SHA256 and injectable clocks.

    ``SIGNATURE_METHODS`` is this class's own table: authlib's
    ``register_signature_method`` would change the table every ``ClientAuth`` shares.

    Args:
        client_id: the consumer key.
        client_secret: the consumer secret.
        signature_method: ``"HMAC-SHA256"`` or ``"HMAC-SHA1"``.
        realm: the ``realm`` to put first in the header, or ``None``.
        include_version: send ``oauth_version="1.0"``.
        clock: the current Unix time in seconds.
        nonce_factory: a fresh nonce, or ``None`` for authlib's.
    """

    SIGNATURE_METHODS = {name: _sign_with(name) for name in _SIGNATURE_FUNCTIONS}

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        signature_method: str,
        realm: str | None,
        include_version: bool,
        clock: Callable[[], float],
        nonce_factory: Callable[[], str] | None,
    ) -> None:
        super().__init__(client_id, client_secret, signature_method=signature_method, realm=realm)
        self._include_version = include_version
        self._clock = clock
        self._nonce_factory = nonce_factory

    def get_oauth_params(self, nonce: str, timestamp: str) -> list[tuple[str, str]]:
        """The protocol parameters in header order, from the injected clock and nonce."""
        params = [
            ("oauth_consumer_key", self.client_id),
            ("oauth_nonce", self._nonce_factory() if self._nonce_factory else nonce),
            ("oauth_signature_method", self.signature_method),
            ("oauth_timestamp", str(int(self._clock()))),
        ]
        if self._include_version:
            params.append(("oauth_version", "1.0"))
        return params

    def get_oauth_signature(
        self, method: str, uri: str, headers: Mapping[str, str], body: str | bytes
    ) -> str:
        """Sign the request rendered with its protocol parameters (but no signature yet).

        The parameters are read back from the rendered header, so the signature covers
        what goes on the wire.
        """
        sign = self.SIGNATURE_METHODS.get(self.signature_method)
        if sign is None:
            raise ValueError(f"unsupported signature method {self.signature_method!r}")
        form = headers.get("Content-Type") == FORM_CONTENT_TYPE and bool(body)
        request = SigningRequest(
            method=method,
            uri=uri,
            oauth_params=parse_authorization_header(headers["Authorization"]),
            form_body=body if form else None,
        )
        signature: str = sign(self, request)
        return signature
