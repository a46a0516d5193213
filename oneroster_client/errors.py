"""Errors raised by oneroster-client: one root, subclasses by meaning.

Transport failures (connection, timeout, TLS) are kept apart from HTTP errors, and HTTP
errors carry the parsed OneRoster ``statusInfoSet`` (section 7 of the OneRoster 1.1 REST
binding). Messages never contain credentials, tokens, signatures or record contents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from oneroster_client.status_info import StatusInfo


class OneRosterError(Exception):
    """Root of every error raised by this library."""


class ConfigurationError(OneRosterError, ValueError):
    """A client, auth or adapter setting is invalid; the message says which and how to fix it."""


class TransportError(OneRosterError):
    """The request never got an HTTP answer: connection refused, DNS, timeout, TLS."""

    def __init__(self, message: str, *, url: str | None = None, method: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.method = method


class APIError(OneRosterError):
    """The server answered with an HTTP error status.

    Attributes:
        status_code: the HTTP status.
        status_infos: the parsed OneRoster status infos, possibly empty.
        url: the request URL with secrets removed.
        method: the HTTP method.
        request_id: a server request id header, when one was sent (redacted).
        body_excerpt: the first few hundred characters of the error body, for diagnosis;
            credentials that were sent, token-looking values and the filter values of the
            request are replaced by ``REDACTED`` before it is cut short.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        status_infos: Sequence[StatusInfo] = (),
        url: str | None = None,
        method: str | None = None,
        request_id: str | None = None,
        body_excerpt: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.status_infos: tuple[StatusInfo, ...] = tuple(status_infos)
        self.url = url
        self.method = method
        self.request_id = request_id
        self.body_excerpt = body_excerpt

    @property
    def code_minors(self) -> tuple[str, ...]:
        """Normalised codeMinor tokens of the status infos (e.g. ``"invalidfilterfield"``)."""
        return tuple(info.code_minor for info in self.status_infos if info.code_minor)


class BadRequestError(APIError):
    """HTTP 400: the request was malformed, e.g. ``invalid_filter_field``."""


class AuthenticationError(APIError):
    """HTTP 401 (or a failed token request): credentials were missing or refused."""


class PermissionDeniedError(APIError):
    """HTTP 403: authenticated, but not allowed; often a missing OAuth 2 scope."""


class NotFoundError(APIError):
    """HTTP 404: the sourcedId (or its parent in a nested path) does not exist."""


class UnprocessableEntityError(APIError):
    """HTTP 422: the server could not validate the record sent in a PUT."""


class RateLimitError(APIError):
    """HTTP 429: rate limited. ``retry_after`` is the wait the server asked for, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """HTTP 5xx: the server failed."""


class ResponseFormatError(OneRosterError):
    """A response the client cannot read: not JSON, no expected envelope, or too large.

    Attributes:
        url: the request URL with secrets removed.
        body_excerpt: always ``None`` for what the transport raises: a successful body is
            student data, so the message says where it broke (line and column, content
            type) instead of quoting it.
    """

    def __init__(
        self, message: str, *, url: str | None = None, body_excerpt: str | None = None
    ) -> None:
        super().__init__(message)
        self.url = url
        self.body_excerpt = body_excerpt


class FilterError(OneRosterError, ValueError):
    """A filter expression that a OneRoster 1.1 server cannot parse; the message says why."""


class RecordValidationError(OneRosterError, ValueError):
    """A record could not be read or written as a OneRoster model.

    Attributes:
        model: the model name, e.g. ``"User"``.
        field: the wire field path, e.g. ``"enabledUser"`` or ``"agents[0].sourcedId"``,
            or ``None`` when the record as a whole is wrong (not an object).
        sourced_id: the record's sourcedId when it could be read.
        reason: what was wrong, without the model and field prefix.
    """

    def __init__(
        self,
        *,
        model: str,
        field: str | None,
        reason: str,
        sourced_id: str | None = None,
    ) -> None:
        self.model = model
        self.field = field
        self.reason = reason
        self.sourced_id = sourced_id
        where = f"{model}.{field}" if field else model
        suffix = f" (record {sourced_id!r})" if sourced_id else ""
        super().__init__(f"{where}: {reason}{suffix}")


class IncompleteResultError(OneRosterError):
    """A listing ended with fewer (or duplicated) records than the server announced."""


TokenProblem = Literal["credentials", "scope", "grant", "redirect", "endpoint"]


class TokenRefusedError(AuthenticationError):
    """The OAuth 2 token endpoint did not issue a token; :attr:`problem` says what to fix.

    Attributes:
        problem: ``"credentials"`` (client id or secret refused, or sent the way the server
            does not want), ``"scope"`` (a requested scope refused, or a required scope
            missing), ``"grant"`` (the client may not use client credentials),
            ``"redirect"`` (the endpoint answered with a redirect, which was not followed)
            or ``"endpoint"`` (the answer does not look like a token endpoint's).
        oauth_error: the OAuth 2 ``error`` code (RFC 6749 section 5.2), when one was sent.
        redirect_host: for a redirect, the ``host[:port]`` its ``Location`` named.
    """

    def __init__(
        self,
        message: str,
        *,
        problem: TokenProblem,
        oauth_error: str | None = None,
        redirect_host: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.problem: TokenProblem = problem
        self.oauth_error = oauth_error
        self.redirect_host = redirect_host
