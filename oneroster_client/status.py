"""OneRoster status infos and the one mapping from an HTTP error response to an exception.

Implements section 7 of the OneRoster 1.1 REST binding: every status info container
variant providers send (7.1), codeMinor tokens compared in normalised form (7.2), and the
HTTP status mapping (7.3); also the ``statusInfoSet`` warnings that ride on successful
responses. One error root, subclasses by meaning, messages that say what to do next.
:class:`StatusInfo` itself lives in :mod:`oneroster_client.status_info` (below the errors
module) and is re-exported here.
"""

from __future__ import annotations

import http
import json
import re
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from urllib.parse import urlsplit

import attrs

from oneroster_client._redact import (
    filter_literals,
    redact_text,
    redact_url,
    secret_query_values,
)
from oneroster_client.endpoints import OPERATIONS
from oneroster_client.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from oneroster_client.retry import parse_retry_after
from oneroster_client.status_info import StatusInfo, normalize_code_minor

__all__ = [
    "StatusInfo",
    "TLSFailure",
    "error_chain",
    "error_from_response",
    "normalize_code_minor",
    "parse_status_infos",
    "tls_failure",
    "warnings_from_body",
]

# --- parsing -------------------------------------------------------------------------

# Keys are compared after _key(): lower-cased, without the "imsx_" prefix and underscores,
# so imsx_codeMinor, imsx_CodeMinor, CodeMinor and codeMinor are all "codeminor".
_CONTAINER_KEYS = frozenset({"statusinfoset", "statusinfo", "statusinfos"})
_STRONG_STATUS_KEYS = frozenset({"codemajor", "severity", "codeminor"})
# Status containers nest at most a few levels (statusInfoSet -> imsx_statusInfo -> list);
# the limit keeps a hostile body from recursing deeply.
_MAX_DEPTH = 6


def _key(name: str) -> str:
    lowered = name.lower()
    lowered = lowered.removeprefix("imsx_")
    return lowered.replace("_", "")


def _keyed(node: Mapping[object, object]) -> dict[str, object]:
    keyed: dict[str, object] = {}
    for name, value in node.items():
        if isinstance(name, str):
            keyed.setdefault(_key(name), value)
    return keyed


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _code_minor_tokens(value: object, depth: int = 0) -> list[str]:
    """Tokens from a plain codeMinor string or the nested imsx_codeMinorField shape."""
    if depth > _MAX_DEPTH:
        return []
    text = _text(value)
    if text is not None:
        return [text]
    if isinstance(value, list):
        return [token for item in value for token in _code_minor_tokens(item, depth + 1)]
    if isinstance(value, dict):
        keyed = _keyed(value)
        if "codeminorfield" in keyed:
            return _code_minor_tokens(keyed["codeminorfield"], depth + 1)
        field_value = _text(keyed.get("codeminorfieldvalue"))
        return [field_value] if field_value is not None else []
    return []


def _from_status_object(keyed: Mapping[str, object]) -> list[StatusInfo]:
    common: dict[str, str | None] = {
        "code_major": _text(keyed.get("codemajor")),
        "severity": _text(keyed.get("severity")),
        "description": _text(keyed.get("description")),
        "message_ref_identifier": _text(keyed.get("messagerefidentifier")),
        "operation_ref_identifier": _text(keyed.get("operationrefidentifier")),
    }
    tokens: list[str | None] = list(_code_minor_tokens(keyed.get("codeminor")))
    # A nested codeMinor may list several fields: one StatusInfo each, so no token is lost.
    return [
        StatusInfo(code_minor=token, code_minor_raw=token, **common) for token in tokens or [None]
    ]


def _from_error_object(keyed: Mapping[str, object]) -> StatusInfo | None:
    error = keyed.get("error")
    token = _text(error)
    if token is not None:
        # OAuth 2 error (RFC 6749 5.2, RFC 6750 3.1), e.g. insufficient_scope: an error by
        # definition, so codeMajor/severity are filled in for is_error.
        description = _text(keyed.get("errordescription")) or _text(keyed.get("message"))
        return StatusInfo(
            code_major="failure",
            severity="error",
            code_minor=token,
            code_minor_raw=token,
            description=description,
        )
    if isinstance(error, dict):
        # Google-style JSON error: {"error": {"code": 403, "message": ..., "status": ...}}.
        inner = _keyed(error)
        status = _text(inner.get("status"))
        message = _text(inner.get("message"))
        if status is None and message is None:
            return None
        return StatusInfo(
            code_major="failure",
            severity="error",
            code_minor=status,
            code_minor_raw=status,
            description=message,
        )
    return None


def _collect(node: object, *, in_container: bool, depth: int, found: list[StatusInfo]) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, list):
        for item in node:
            _collect(item, in_container=in_container, depth=depth + 1, found=found)
        return
    if not isinstance(node, dict):
        return
    keyed = _keyed(node)
    containers = [value for name, value in keyed.items() if name in _CONTAINER_KEYS]
    if containers:
        for container in containers:
            _collect(container, in_container=True, depth=depth + 1, found=found)
        return
    # Inside a container any status field will do; at the root a lone "description" is
    # too weak a sign (records have descriptions) unless it carries the imsx_ prefix.
    looks_like_status = bool(keyed.keys() & _STRONG_STATUS_KEYS) or (
        "description" in keyed
        and (in_container or any(str(name).lower() == "imsx_description" for name in node))
    )
    if not looks_like_status:
        error_info = _from_error_object(keyed)
        if error_info is not None:
            found.append(error_info)
        return
    found.extend(_from_status_object(keyed))


def _json_or_none(body: object) -> object:
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8-sig", errors="replace")
    if not isinstance(body, str):
        return body
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def parse_status_infos(body: object) -> tuple[StatusInfo, ...]:
    """Read the status infos from a response body, whatever container shape it uses.

    Understands (section 7.1): ``statusInfoSet`` as a list or a single object, next to
    data or alone; a bare imsx object at the root; an ``imsx_statusInfo`` wrapper;
    ``imsx_codeMinor`` as a plain string or as the nested
    ``imsx_CodeMinor.imsx_codeMinorField[].imsx_codeMinorFieldValue`` (list or single
    object; several fields give one StatusInfo each); prefixed, ``CodeMajor``-style and
    ``codeMajor``-style keys in any case; OAuth 2 ``{"error": ..., "error_description":
    ...}`` bodies, whose ``error`` becomes the codeMinor. Anything else gives an empty
    tuple: this reads error bodies, so it never raises.

    Args:
        body: the decoded JSON body; ``bytes`` or ``str`` are decoded as JSON first.

    Returns:
        The status infos in body order, possibly empty.
    """
    found: list[StatusInfo] = []
    _collect(_json_or_none(body), in_container=False, depth=0, found=found)
    return tuple(found)


def warnings_from_body(body: object) -> tuple[StatusInfo, ...]:
    """Return the status infos that ride on a successful response (section 7.3, 200 rows).

    Only the ``statusInfoSet`` (or ``imsx_statusInfo``) container next to the data is
    read; the records themselves are never mistaken for status infos. Plain success
    reports (severity ``status``, codeMajor ``success`` or codeMinor ``full success``,
    without a warning or error severity) are left out, so what
    remains is what a caller should see: ``invalid_sort_field``, ``invalid_selection_field``
    and anything odder.

    Args:
        body: the decoded JSON body of a 2xx response; ``bytes`` or ``str`` are decoded.

    Returns:
        The warnings (and any errors reported alongside data), possibly empty.
    """
    parsed = _json_or_none(body)
    if not isinstance(parsed, dict):
        return ()
    found: list[StatusInfo] = []
    for name, value in _keyed(parsed).items():
        if name in _CONTAINER_KEYS:
            _collect(value, in_container=True, depth=1, found=found)
    return tuple(info for info in found if not _is_plain_success(info))


def _is_plain_success(info: StatusInfo) -> bool:
    if info.is_error or info.is_warning:
        return False
    severity = (info.severity or "").strip().lower()
    code_major = (info.code_major or "").strip().lower()
    return severity == "status" or code_major == "success" or info.code_minor == "fullsuccess"


# --- HTTP error mapping ----------------------------------------------------------------

_EXCERPT_LENGTH = 300
# The excerpt is taken from the redacted start of the body; the window is cut back to a
# separator (see _excerpt) so no secret is ever cut in half before redaction.
_REDACT_WINDOW = 16_000
_SEPARATOR = re.compile(r"[\s\"'<>,;&{}\[\]]")
# How much of the body the OAuth 1 hints look at.
_HINT_WINDOW = 4000
_SIGNATURE_METHOD_REFUSED = re.compile(
    r"signature[\s_\-]*method[\s_\-]*rejected"
    r"|(?:unsupported|not\s+supported|unknown|invalid)[\s\w]{0,20}signature[\s_\-]*method"
    r"|signature[\s_\-]*method[\s\w'\"=:\-]{0,40}(?:not\s+supported|unsupported|unknown)",
    re.IGNORECASE,
)
_SIGNATURE_INVALID = re.compile(
    r"signature[\s_\-]*invalid|invalid[\s_\-]*(?:oauth[\s_\-]*1?[\s_\-]*)?signature"
    r"|signature[\s\w]{0,20}(?:mismatch|does\s+not\s+match|failed)",
    re.IGNORECASE,
)
_DETAIL_LENGTH = 160
_TARGET_LENGTH = 300
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id")
_CREDENTIALS_HINT = (
    "the server did not accept the credentials; check the key/client_id and secret, "
    "and for OAuth 2 the token URL (for OAuth 1 also the system clock)"
)


def _header(headers: Mapping[str, str], wanted: str) -> str | None:
    for name, value in headers.items():
        if name.lower() == wanted:
            return value
    return None


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _request_target(safe_url: str) -> str:
    try:
        parts = urlsplit(safe_url)
    except ValueError:
        return _one_line(safe_url, _TARGET_LENGTH)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _one_line(target, _TARGET_LENGTH)


def _scope_candidates(method: str, path: str) -> tuple[str, ...]:
    # Scope names per section 9.3; the endpoint-to-scope mapping varies by provider.
    segments = {segment.lower() for segment in path.split("/")}
    if segments & {"categories", "lineitems", "results"}:
        if method == "PUT":
            return ("gradebook.createput",)
        if method == "DELETE":
            return ("gradebook.delete",)
        return ("gradebook.readonly",)
    if "resources" in segments:
        return ("resource.readonly",)
    if "demographics" in segments:
        return ("roster-demographics.readonly", "roster.readonly")
    return ("roster-core.readonly", "roster.readonly")


def _short_scope(scope: str) -> str:
    # Granted scopes are usually full URIs (".../scope/roster-core.readonly").
    return scope.rstrip("/").rpartition("/")[2].strip().lower()


@attrs.frozen(kw_only=True)
class _Context:
    """What the message builders need to know about one error response."""

    method: str
    target: str
    path: str
    status_code: int
    infos: tuple[StatusInfo, ...]
    secrets: tuple[str, ...]
    body_empty: bool
    retry_after: float | None
    hint_text: str = ""
    granted_scopes: tuple[str, ...] | None = None
    auth_kind: str | None = None

    def has(self, *tokens: str) -> bool:
        return any(info.code_minor in tokens for info in self.infos)

    def description_for(self, *tokens: str) -> str | None:
        for info in self.infos:
            if info.code_minor in tokens and info.description:
                return self.clean(info.description)
        return None

    def clean(self, text: str) -> str:
        return _one_line(redact_text(text, self.secrets), _DETAIL_LENGTH)

    def server_said(self) -> str:
        parts = []
        for info in self.infos[:3]:
            words = [self.clean(info.code_minor_raw)] if info.code_minor_raw else []
            if info.description:
                words.append(repr(self.clean(info.description)))
            if words:
                parts.append(" ".join(words))
        return f"; server said: {', '.join(parts)}" if parts else ""


def _oauth1_hint(ctx: _Context) -> str | None:
    """The OAuth 1 specific explanation, when the server said what failed."""
    said = " ".join(
        [ctx.hint_text, *(f"{i.code_minor_raw or ''} {i.description or ''}" for i in ctx.infos)]
    )
    if _SIGNATURE_METHOD_REFUSED.search(said):
        return (
            "the server does not accept the OAuth 1 signature method the client used; pass "
            "the one the provider documents to OAuth1 (signature_method='HMAC-SHA256', the "
            "OneRoster 1.1 default, or 'HMAC-SHA1')" + ctx.server_said()
        )
    if ctx.has("invalidsignature", "signatureinvalid") or _SIGNATURE_INVALID.search(said):
        return (
            "the server could not verify the OAuth 1 signature; check the consumer secret, "
            "and that this machine's clock is right (the timestamp is signed)" + ctx.server_said()
        )
    return None


def _explain_400(ctx: _Context) -> str:
    oauth1 = _oauth1_hint(ctx)
    if oauth1 is not None:
        return oauth1
    if ctx.has("invalidfilterfield"):
        field = ctx.description_for("invalidfilterfield")
        what = f"field {field!r} is unknown" if field else "a field is unknown"
        return (
            f"the server rejected the filter: {what} or the filter could not be parsed "
            "(invalid_filter_field); check the field name against the OneRoster 1.1 model "
            "and use single-quoted values with at most two predicates"
        )
    if ctx.has("invalidblankselectionfield"):
        return (
            "the fields parameter was empty (invalid_blank_selection_field); name at least "
            "one field or leave fields out"
        )
    for token, parameter in (("invalidsortfield", "sort"), ("invalidselectionfield", "fields")):
        if ctx.has(token):
            field = ctx.description_for(token)
            named = f" {field!r}" if field else ""
            return (
                f"the server does not know the {parameter} field{named}; use a field of the "
                "OneRoster 1.1 model for this collection"
            )
    if ctx.has("invalidlimitfield", "invalidoffsetfield"):
        return "limit or offset was rejected; use non-negative integers" + ctx.server_said()
    hint = (
        "; an empty 400 can also mean missing or duplicated OAuth 1 parameters"
        if ctx.body_empty
        else ""
    )
    return (
        "the server could not accept the request; check the query parameters (filter, sort, "
        "fields, limit, offset) and the body" + ctx.server_said() + hint
    )


def _explain_401(ctx: _Context) -> str:
    if ctx.auth_kind == "token":
        # A pre-issued token: there is no client id or secret to check, and no renewal.
        code = " (invalid_token)" if ctx.has("invalidtoken") else ""
        return (
            f"the server did not accept the access token{code}; check the access token: the "
            "whole token, not expired or revoked, issued for this server (a pre-issued token "
            "is never renewed: get a new one)" + ctx.server_said()
        )
    if ctx.has("invalidtoken"):
        return (
            "the server did not accept the access token (invalid_token), it may have expired "
            "or been revoked; check the client_id and secret and the OAuth 2 token URL"
            + ctx.server_said()
        )
    oauth1 = _oauth1_hint(ctx)
    if oauth1 is not None:
        return oauth1
    return _CREDENTIALS_HINT + ctx.server_said()


def _explain_403(ctx: _Context) -> str:
    candidates = _scope_candidates(ctx.method, ctx.path)
    scope = " or ".join(candidates)
    granted = {_short_scope(s) for s in ctx.granted_scopes or ()}
    held = [candidate for candidate in candidates if candidate in granted]
    if held:
        return (
            f"the access token already carries the scope {held[0]}, which OneRoster 1.1 "
            f"names for {ctx.method} {ctx.path}, yet the server refused: its scope mapping "
            "differs from the specification; ask the provider which scope it expects for "
            "this endpoint (or whether the district shares this data with the client)"
            + ctx.server_said()
        )
    if ctx.has("insufficientscope"):
        return (
            "the access token lacks the OAuth 2 scope this request needs (insufficient_scope); "
            f"request the scope ({scope}) and have the provider grant it to this client"
            + ctx.server_said()
        )
    return (
        "the credentials were accepted but may not do this; check the OAuth 2 scopes granted "
        f"to the client ({scope} for this endpoint) and the district's sharing settings"
        + ctx.server_said()
    )


# The collection names of OneRoster 1.1 paths (every fixed segment of the endpoint table),
# lower-cased: a 404 on a listing says the listing is not served at all (a wrong base URL
# or path, or a collection this server does not offer), not that an id was not found.
_COLLECTION_SEGMENTS = frozenset(
    segment.lower()
    for operation in OPERATIONS
    for segment in operation.path.strip("/").split("/")
    if not segment.startswith("{")
)


def _explain_404(ctx: _Context) -> str:
    segments = [segment.lower() for segment in ctx.path.rstrip("/").split("/")]
    listing = segments[-1] in _COLLECTION_SEGMENTS
    # Only a nested listing (classes/{id}/students) names an id that may be unknown.
    nested = len(segments) >= 3 and segments[-3] in _COLLECTION_SEGMENTS
    if listing and not (nested and ctx.has("unknownobject")):
        return (
            "nothing is served at this path; check the base URL (its full path, vendor "
            "prefix included, e.g. .../ims/oneroster/v1p1) and that the server offers this "
            "collection, and in a nested path the parent id (an endpoint that only exists "
            "in OneRoster 1.2 also gives 404)" + ctx.server_said()
        )
    return (
        "the sourcedId or a parent id in the path was not found (unknown object); check the "
        "ids and the base URL (an endpoint that only exists in OneRoster 1.2 also gives 404)"
        + ctx.server_said()
    )


def _explain_405(ctx: _Context) -> str:
    return (
        "the server does not allow this method here; OneRoster 1.1 allows PUT and DELETE "
        "only on categories, lineItems and results" + ctx.server_said()
    )


def _explain_422(ctx: _Context) -> str:
    return (
        "the server could not validate the record sent; check its required fields and that "
        "the sourcedIds it references exist" + ctx.server_said()
    )


def _explain_429(ctx: _Context) -> str:
    if ctx.retry_after is not None:
        wait = f"the server asked to wait {ctx.retry_after:g} s before retrying"
    else:
        wait = "retry later with backoff"
    return (
        f"the server is busy (server_busy): {wait}; slow down, or allow the retry policy longer "
        "waits (backoff_max, deadline)" + ctx.server_said()
    )


def _explain_5xx(ctx: _Context) -> str:
    return (
        "server error on the provider's side; try again later, and report it to the provider "
        "(with the request id, if shown) when it persists" + ctx.server_said()
    )


def _explain_other(ctx: _Context) -> str:
    if ctx.status_code < 400:
        return "the response was not a success the client can use" + ctx.server_said()
    return "the server refused the request" + ctx.server_said()


_EXPLAIN: dict[int, Callable[[_Context], str]] = {
    400: _explain_400,
    401: _explain_401,
    403: _explain_403,
    404: _explain_404,
    405: _explain_405,
    422: _explain_422,
    429: _explain_429,
}

_ERROR_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _error_class(status_code: int) -> type[APIError]:
    if status_code >= 500:
        return ServerError
    return _ERROR_CLASSES.get(status_code, APIError)


def _verb(status_code: int) -> str:
    if status_code >= 500:
        return "failed"
    if status_code == 429:
        return "was rate limited"
    if status_code >= 400:
        return "was refused"
    return "got an unexpected answer"


def error_from_response(
    *,
    method: str,
    url: str,
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    attempts: int = 1,
    secrets: Iterable[str] = (),
    granted_scopes: Iterable[str] | None = None,
    auth_kind: str | None = None,
) -> APIError:
    """Turn an HTTP error response into the matching exception (section 7.3).

    400 -> BadRequestError, 401 -> AuthenticationError, 403 -> PermissionDeniedError,
    404 -> NotFoundError, 422 -> UnprocessableEntityError, 429 -> RateLimitError (with
    ``retry_after`` from ``Retry-After``, seconds or HTTP-date), 5xx -> ServerError, any
    other status -> APIError. The body is read as JSON when it is JSON (status infos in any
    section 7.1 shape); empty, truncated or HTML bodies are fine. The message is one line:
    method, redacted path and query, HTTP status, what it means, what to do next, and the
    server's codeMinor and description. Secrets from the URL and body never appear in the
    message, ``url``, ``request_id`` or ``body_excerpt``, nor do the literals of the
    ``filter`` that was sent (often student data a server may echo back).

    Args:
        method: the HTTP method sent.
        url: the request URL as sent; it is redacted before being stored or shown.
        status_code: the HTTP status received.
        headers: the response headers (any case).
        body: the raw response body.
        attempts: how many attempts the call made, retries included; mentioned when > 1.
        secrets: further strings to scrub from everything taken from the response, e.g.
            the credential of the ``Authorization`` header that was sent.
        granted_scopes: the OAuth 2 scopes the access token carries, when known; a 403
            then says whether the scope the specification names was already granted.
        auth_kind: the credentials sent, when known: ``"oauth1"``, ``"oauth2"`` or
            ``"token"`` (a pre-issued access token); a 401 then names what to check.

    Returns:
        The exception to raise (not raised here).
    """
    method = method.upper()
    safe_url = redact_url(url)
    text = body.decode("utf-8-sig", errors="replace")
    ctx = _context(
        method=method,
        url=url,
        status_code=status_code,
        headers=headers,
        text=text,
        secrets=(*secret_query_values(url), *filter_literals(url), *secrets),
        granted_scopes=granted_scopes,
        auth_kind=auth_kind,
    )
    request_id = _request_id(headers, ctx.secrets)
    message = (
        f"{method} {ctx.target} {_verb(status_code)} "
        f"(HTTP {status_code}{_phrase(status_code)}): {_explain(ctx)}"
    )
    if attempts > 1:
        message += f" (gave up after {attempts} attempts)"
    if request_id:
        message += f" [request id {request_id}]"
    error = _error_class(status_code)(
        message,
        status_code=status_code,
        status_infos=ctx.infos,
        url=safe_url,
        method=method,
        request_id=request_id,
        body_excerpt=_excerpt(text, ctx.secrets),
    )
    if isinstance(error, RateLimitError):
        error.retry_after = ctx.retry_after
    return error


def _context(
    *,
    method: str,
    url: str,
    status_code: int,
    headers: Mapping[str, str],
    text: str,
    secrets: tuple[str, ...],
    granted_scopes: Iterable[str] | None,
    auth_kind: str | None = None,
) -> _Context:
    """What the message builders need, with the server's text already scrubbed."""
    infos = tuple(_redacted_info(info, secrets) for info in parse_status_infos(text))
    retry_after = parse_retry_after(_header(headers, "retry-after")) if status_code == 429 else None
    target = _request_target(redact_url(url))
    return _Context(
        method=method,
        target=target,
        path=target.partition("?")[0],
        status_code=status_code,
        infos=infos,
        secrets=secrets,
        body_empty=not text.strip(),
        retry_after=retry_after,
        hint_text=text[:_HINT_WINDOW] + " " + (_header(headers, "www-authenticate") or ""),
        granted_scopes=None if granted_scopes is None else tuple(granted_scopes),
        auth_kind=auth_kind,
    )


def _redacted_info(info: StatusInfo, secrets: Iterable[str]) -> StatusInfo:
    """The status info with secrets and echoed filter values scrubbed from its text."""

    def clean(text: str | None) -> str | None:
        return None if text is None else redact_text(text, secrets)

    raw = clean(info.code_minor_raw)
    return attrs.evolve(
        info,
        # Re-derived from the scrubbed raw token (the converter normalises it again).
        code_minor=raw if raw is not None else info.code_minor,
        description=clean(info.description),
        code_minor_raw=raw,
        message_ref_identifier=clean(info.message_ref_identifier),
        operation_ref_identifier=clean(info.operation_ref_identifier),
    )


def _explain(ctx: _Context) -> str:
    status_code = ctx.status_code
    explain = _EXPLAIN.get(status_code, _explain_5xx if status_code >= 500 else _explain_other)
    return explain(ctx)


def _phrase(status_code: int) -> str:
    try:
        return f" {http.HTTPStatus(status_code).phrase.lower()}"
    except ValueError:
        return ""


def _request_id(headers: Mapping[str, str], secrets: tuple[str, ...]) -> str | None:
    """The first request id header, redacted before it is cut to one short line."""
    for name in _REQUEST_ID_HEADERS:
        value = _header(headers, name)
        if value is not None:
            return _one_line(redact_text(value, secrets), 100) or None
    return None


def _excerpt(text: str, secrets: tuple[str, ...]) -> str | None:
    """The start of an error body for diagnosis: redacted first, then cut short."""
    window = text[:_REDACT_WINDOW]
    if len(text) > len(window):
        # Cut back to a separator: a secret cut in half would no longer be recognised.
        cut = max((match.start() for match in _SEPARATOR.finditer(window)), default=0)
        window = window[:cut]
    return redact_text(window, secrets)[:_EXCERPT_LENGTH] or None


# --- TLS handshake failures ---------------------------------------------------------------

# How many wrapped exceptions are searched for the root cause of a connection error.
_MAX_CAUSE_DEPTH = 12
# OpenSSL's reasons when the other side answered the ClientHello with something that is not
# TLS: a plain-http server's "HTTP/1.1 400 ..." reads as a record of an unknown version
# (OpenSSL 1.1 and 3.0), a record layer failure (3.2 and later), or an HTTP request/answer.
_NOT_TLS = re.compile(
    r"WRONG_VERSION_NUMBER|wrong version number|RECORD_LAYER_FAILURE|record layer failure"
    r"|\[SSL: HTTP_REQUEST\]|\[SSL: HTTPS_PROXY_REQUEST\]|UNKNOWN_PROTOCOL|unknown protocol"
)
_CERTIFICATE = re.compile(r"CERTIFICATE_VERIFY_FAILED|certificate verify failed")


def error_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: causes, contexts, ``reason`` and args.

    requests wraps urllib3's errors, which wrap the socket's or ssl's; the root cause says
    what happened. The walk is bounded, so a cycle or a deep chain cannot stall it.
    """
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending and len(seen) < _MAX_CAUSE_DEPTH:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        inner += [arg for arg in current.args if isinstance(arg, BaseException)]
        pending += [item for item in inner if isinstance(item, BaseException)]


@attrs.frozen
class TLSFailure:
    """Why a TLS handshake failed, as far as the error tells.

    Attributes:
        kind: ``"not_tls"`` (the server answered in plain HTTP or another protocol, not
            TLS: the URL's scheme or port is wrong), ``"certificate"`` (the server's
            certificate was not accepted) or ``"other"``.
        detail: what the certificate check said (``"self-signed certificate"``), if known.
    """

    kind: str
    detail: str | None = None

    def advice(self, *, setting: str) -> str:
        """What to check, for a message about the handshake with ``setting`` (a URL's name).

        Args:
            setting: the name of the URL that was used, e.g. ``"the base URL"``.
        """
        if self.kind == "not_tls":
            return (
                "the server does not speak TLS (https) at that address (it answered like a "
                f"plain-http server); check the scheme (http/https) and port of {setting}"
            )
        if self.kind == "certificate":
            said = f" ({self.detail})" if self.detail else ""
            return (
                f"the server certificate was not accepted{said}; check {setting}, the server "
                "certificate, and the CA bundle or the session's verify setting"
            )
        return f"check {setting} and the server certificate"


def tls_failure(exc: BaseException) -> TLSFailure:
    """Tell a server that speaks no TLS from a refused certificate, from the error chain.

    Args:
        exc: the error of a failed https request (``requests.exceptions.SSLError``, or an
            error wrapping one).

    Returns:
        What kind of failure it was.
    """
    for cause in error_chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message if isinstance(cause.verify_message, str) else None
            return TLSFailure("certificate", detail or None)
    text = " ".join(str(cause) for cause in error_chain(exc))
    if _NOT_TLS.search(text):
        return TLSFailure("not_tls")
    if _CERTIFICATE.search(text):
        return TLSFailure("certificate")
    return TLSFailure("other")
