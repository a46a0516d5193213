"""Remove secrets (and filter values) from URLs and text before they reach messages or logs.

Secrets and student data never leak into the places where the client shows a request:
exception messages, ``APIError.url``, body excerpts, logs. The credentials are those of
OneRoster 1.1 security (section 9 of the REST binding): OAuth 1
``oauth_signature``/``oauth_nonce``, OAuth 2 ``access_token``/``client_secret``, HTTP Basic
and Bearer headers (RFC 7617, RFC 6750).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "authorization_secrets",
    "filter_literals",
    "mask",
    "redact_text",
    "redact_url",
    "secret_query_values",
]

REDACTED = "REDACTED"
"""The replacement shown wherever a secret value was removed."""

# Exact parameter names (lower-case, ``-`` read as ``_``) that carry a secret.
_SECRET_NAMES = frozenset(
    {
        "key",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "oauth_signature",
        "oauth_nonce",
        "client_assertion",
        "assertion",
        "sig",
        "signature",
    }
)
# Any name ending like this is a secret: access_token, refreshToken, client_secret, ...
_SECRET_SUFFIXES = ("token", "secret", "password", "passwd", "signature", "api_key", "apikey")
# Identifies the client but does not authenticate it: shown masked so a reader can still
# tell which key was used.
_MASKED_NAMES = frozenset({"oauth_consumer_key", "client_id"})

# A single-quoted literal in a OneRoster filter (section 8.3); may be unterminated when the
# URL itself was cut short.
_FILTER_LITERAL = re.compile(r"'[^']*(?:'|$)")

_KEY_NAME = (
    r"(?:[a-z0-9_\-]*?(?:token|secret|password|passwd|signature|api[_\-]?key|nonce|assertion)"
    r"|key|authorization)"
)
# key, optional closing quote, ':' or '=', then a double-quoted (possibly unterminated,
# as in a truncated body), single-quoted or bare value.
_KEY_VALUE = re.compile(
    r"(?<![a-z0-9_\-])(?P<head>" + _KEY_NAME + r"[\"']?\s*[:=]\s*)"
    r"(?P<value>\"(?:[^\"\\]|\\.)*(?:\"|$)|'[^']*(?:'|$)|[^\s&,;\"'}\]\)]+)",
    re.IGNORECASE,
)
# Authorization header schemes; 8+ characters so ``Basic realm="x"`` stays readable.
_AUTH_SCHEME = re.compile(r"\b(?P<scheme>Bearer|Basic)\s+[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE)
# Shorter "secrets" (a one-letter URL password) would turn every occurrence of that letter
# into REDACTED and make the text useless.
_MIN_SECRET_LENGTH = 4
# A JSON Web Token anywhere in the text, even without a telling key.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*")
# Prose that names a credential and then shows it ("token 4f9a...e1 expired"): a long
# opaque word after the name. 16+ characters so "token expired" stays readable.
_NAMED_OPAQUE = re.compile(
    r"\b(?P<head>(?:access[ _\-]?|bearer[ _\-]?|refresh[ _\-]?)?token|secret|api[ _\-]?key)"
    r"(?P<gap>\s+)(?P<value>[A-Za-z0-9\-._~+/]{16,}=*)",
    re.IGNORECASE,
)
# OAuth 1 Authorization header parameters (RFC 5849 3.5.1) whose values authenticate.
_OAUTH1_SECRET_PARAMS = frozenset({"oauth_signature", "oauth_nonce", "oauth_token"})
_OAUTH1_PARAM = re.compile(r'(?P<name>[A-Za-z_]+)\s*=\s*"(?P<value>[^"]*)"')


def mask(value: str) -> str:
    """Return a recognisable but unusable form of a credential.

    Values of 8 characters or more keep their first and last two characters
    (``"test-key-1234"`` -> ``"te…34"``); shorter ones become ``"***"`` because two plus
    two characters would reveal most of them.

    Args:
        value: the credential, e.g. an OAuth consumer key or client id.

    Returns:
        The masked form.
    """
    if len(value) >= 8:
        return f"{value[:2]}…{value[-2:]}"
    return "***"


def _normalised_name(name: str) -> str:
    return unquote_plus(name).strip().lower().replace("-", "_")


def _is_secret_name(name: str) -> bool:
    normalised = _normalised_name(name)
    if normalised in _MASKED_NAMES:
        return False
    return normalised in _SECRET_NAMES or normalised.endswith(_SECRET_SUFFIXES)


def _redact_filter(raw_value: str) -> str:
    # Filter literals can be student data (names, emails): keep the field names and
    # operators, which is what a reader needs to diagnose invalid_filter_field.
    redacted = _FILTER_LITERAL.sub(f"'{REDACTED}'", unquote(raw_value))
    return quote(redacted, safe="~'=!<>")


def _redact_query(query: str) -> str:
    if not query:
        return query
    pieces = []
    for piece in query.split("&"):
        name, sep, value = piece.partition("=")
        normalised = _normalised_name(name)
        if not sep:
            pieces.append(piece)
        elif _is_secret_name(name):
            pieces.append(f"{name}={REDACTED}")
        elif normalised in _MASKED_NAMES:
            pieces.append(f"{name}={mask(unquote_plus(value))}")
        elif normalised == "filter":
            pieces.append(f"{name}={_redact_filter(value)}")
        else:
            pieces.append(piece)
    return "&".join(pieces)


def redact_url(url: str) -> str:
    """Return ``url`` with credentials and filter values removed, for messages and logs.

    Removes ``user:password@`` userinfo; replaces the values of query (and fragment)
    parameters that carry secrets (``access_token``, ``token``, ``client_secret``,
    ``secret``, ``password``, ``api_key``, ``key``, ``oauth_signature``, ``oauth_nonce``
    and any name ending in ``token``/``secret``/``password``) with ``REDACTED``; masks
    ``oauth_consumer_key`` and ``client_id`` (see :func:`mask`); replaces the quoted
    literals of a ``filter`` with ``'REDACTED'`` because they may be student data. The
    result is for display only: it is not meant to be requested.

    Args:
        url: an absolute URL or a path with a query string.

    Returns:
        The redacted URL. Never raises: an unparseable URL is redacted as plain text.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            parts.path,
            _redact_query(parts.query),
            _redact_query(parts.fragment),
        )
    )


def secret_query_values(url: str) -> tuple[str, ...]:
    """Return the secret values carried by ``url`` (query/fragment parameters, userinfo).

    Used to scrub a response body that echoes what was sent, e.g. a server quoting the
    rejected ``access_token`` in its error description.

    Args:
        url: the request URL as sent.

    Returns:
        The decoded secret values, empty strings left out.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    found: list[str] = []
    if parts.password:
        found.append(unquote(parts.password))
    for query in (parts.query, parts.fragment):
        for piece in query.split("&"):
            name, sep, value = piece.partition("=")
            if sep and value and _is_secret_name(name):
                found.append(unquote_plus(value))
    return tuple(found)


def filter_literals(url: str) -> tuple[str, ...]:
    """Return the quoted literals of the ``filter`` parameters of ``url``, decoded.

    Filter values (section 3.4 of the REST binding) are often student data, e.g.
    ``email='pat@example.org'``; a server may echo them in an error description, so the
    caller scrubs them from server text like secrets.

    Args:
        url: the request URL as sent.

    Returns:
        The literal values without their quotes, empty ones left out.
    """
    try:
        query = urlsplit(url).query
    except ValueError:
        return ()
    found: list[str] = []
    for piece in query.split("&"):
        name, sep, value = piece.partition("=")
        if sep and _normalised_name(name) == "filter":
            for literal in _FILTER_LITERAL.findall(unquote(value)):
                inner = literal.strip("'")
                if inner:
                    found.append(inner)
    return tuple(found)


def authorization_secrets(header: str | bytes | None) -> tuple[str, ...]:
    """Return the credential parts of an ``Authorization`` header value.

    ``Bearer <token>`` gives the token (RFC 6750); ``Basic <b64>`` gives the encoded form
    and the decoded password (RFC 7617); ``OAuth ...`` gives the values of
    ``oauth_signature``, ``oauth_nonce`` and ``oauth_token`` (RFC 5849). A server that
    echoes any of them in an error body, header or HTML page is then scrubbed with
    :func:`redact_text`.

    Args:
        header: the header value sent, or ``None``.

    Returns:
        The secret strings, possibly empty.
    """
    if header is None:
        return ()
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    scheme = scheme.lower()
    found: list[str] = []
    if scheme == "bearer" and credentials:
        found.append(credentials)
    elif scheme == "basic" and credentials:
        found.append(credentials)
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            decoded = ""
        found.append(decoded.partition(":")[2])
    elif scheme == "oauth":
        for match in _OAUTH1_PARAM.finditer(credentials):
            if match.group("name").lower() in _OAUTH1_SECRET_PARAMS:
                found.append(match.group("value"))
                found.append(unquote(match.group("value")))
    elif scheme and not credentials:
        found.append(scheme)  # a bare token sent without a scheme
    return tuple(value for value in dict.fromkeys(found) if value)


def _replace_value(match: re.Match[str]) -> str:
    value = match.group("value")
    if value.startswith('"'):
        replacement = f'"{REDACTED}"' if value.endswith('"') and len(value) > 1 else f'"{REDACTED}'
    elif value.startswith("'"):
        replacement = f"'{REDACTED}'" if value.endswith("'") and len(value) > 1 else f"'{REDACTED}"
    else:
        replacement = REDACTED
    return match.group("head") + replacement


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with known secrets and token-looking values replaced by ``REDACTED``.

    Replaces, in order: every string in ``secrets`` (also in its percent-encoded forms);
    ``Bearer``/``Basic`` credentials; JSON Web Tokens; a long opaque word right after
    ``token``/``secret``/``api key`` in prose; and the value after any key that names a
    secret, in JSON (``"access_token": "..."``), form (``client_secret=...``) or header
    (``oauth_signature="..."``) style, including a value cut off by truncation. Redact
    before cutting text short: a secret cut in half is no longer recognised.

    Args:
        text: a response body, error description or other free text.
        secrets: exact secret strings known to the caller (passwords, client secrets).
            Strings shorter than 4 characters are ignored: replacing them would garble
            the text, and they protect nothing.

    Returns:
        The redacted text.
    """
    ordered = sorted(
        {secret for secret in secrets if len(secret) >= _MIN_SECRET_LENGTH}, key=len, reverse=True
    )
    for secret in ordered:
        for form in {secret, quote(secret, safe=""), quote_plus(secret, safe="")}:
            text = text.replace(form, REDACTED)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group('scheme')} {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    text = _NAMED_OPAQUE.sub(lambda m: f"{m.group('head')}{m.group('gap')}{REDACTED}", text)
    return _KEY_VALUE.sub(_replace_value, text)
