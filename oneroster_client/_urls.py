"""The one URL policy of the library: loopback hosts, same-origin checks, service URLs.

Every URL a user configures (a OneRoster base URL, an OAuth 2 token URL, a Buzz server
URL) goes through :func:`check_service_url`, so the rules are the same everywhere:

- absolute ``http``/``https`` with a host;
- no credentials inside the URL (``user:pass@``) and no secret-looking query parameters:
  they would end up in logs, reprs and error messages; pass them to the auth object;
- plain ``http`` only to a loopback host (``localhost``, ``127.0.0.0/8``, ``::1``) unless
  the caller passes ``allow_insecure_http=True``: credentials and student data would
  otherwise travel unencrypted.

Error messages show the URL redacted (see :func:`oneroster_client._redact.redact_url`).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from oneroster_client._redact import redact_url, secret_query_values
from oneroster_client.errors import ConfigurationError

__all__ = ["check_service_url", "is_loopback_host", "same_origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and every loopback IP address (``127.0.0.0/8``, ``::1``)."""
    if not host:
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def same_origin(url: str, other: str) -> bool:
    """True when both absolute URLs have the same scheme, host and port (RFC 6454)."""
    try:
        a, b = urlsplit(url), urlsplit(other)
        a_port = a.port or _DEFAULT_PORTS.get(a.scheme.lower())
        b_port = b.port or _DEFAULT_PORTS.get(b.scheme.lower())
    except ValueError:  # a port that is not a number
        return False
    return (
        a.scheme.lower() == b.scheme.lower()
        and (a.hostname or "").lower() == (b.hostname or "").lower()
        and a_port == b_port
    )


def check_service_url(
    url: object,
    *,
    name: str,
    example: str,
    allow_insecure_http: bool = False,
    allow_query: bool = False,
) -> str:
    """Check a configured service URL and return it normalised (trimmed, no trailing ``/``).

    Args:
        url: the URL as the user gave it.
        name: the setting's name for messages, e.g. ``"base_url"`` or ``"token_url"``.
        example: a correct example for messages.
        allow_insecure_http: accept plain ``http`` to a host that is not loopback.
        allow_query: accept a query string (token URLs of some vendors carry one).

    Raises:
        ConfigurationError: the URL is missing, relative, carries credentials, has a
            query or fragment where none is allowed, or uses plain http to a remote host.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(f"{name} is required, e.g. {example}")
    text = url.strip().rstrip("/")
    shown = redact_url(text)
    try:
        split = urlsplit(text)
        split.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigurationError(
            f"{name} {shown!r} is not a valid URL; expected something like {example}"
        ) from None
    scheme = split.scheme.lower()
    if scheme not in ("http", "https") or not split.hostname:
        raise ConfigurationError(
            f"{name} must be an absolute http(s) URL such as {example}, got {shown!r}"
        )
    if split.username is not None or split.password is not None:
        raise ConfigurationError(
            f"{name} {shown!r} carries credentials in the URL (user:password@); remove them "
            "and pass them to the auth object, so they never appear in logs or messages"
        )
    if secret_query_values(text):
        raise ConfigurationError(
            f"{name} {shown!r} carries a secret in its query string; remove it and pass it to "
            "the auth object, so it never appears in logs or messages"
        )
    if split.fragment or (split.query and not allow_query):
        raise ConfigurationError(f"{name} {shown!r} must not contain a query string or fragment")
    if scheme == "http" and not allow_insecure_http and not is_loopback_host(split.hostname):
        raise ConfigurationError(
            f"{name} {shown!r} uses plain http: credentials and student data would travel "
            "unencrypted. Use https, or pass allow_insecure_http=True for a test server."
        )
    return text
