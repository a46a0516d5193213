"""Errors raised by the Buzz (DLAP) client.

:class:`BuzzError` derives from :class:`oneroster_client.errors.OneRosterError`, so an
application that syncs a SIS into Buzz can catch every failure of this library, OneRoster
side or Buzz side, with one ``except OneRosterError``; ``except BuzzError`` narrows it to
the Buzz side. Settings errors stay :class:`~oneroster_client.errors.ConfigurationError`,
the library's one error for bad configuration.

Messages name the command, host and item index, never credentials, tokens, passwords or
record contents (names and emails are personal data).
"""

from __future__ import annotations

from typing import Any

from oneroster_client.errors import OneRosterError, TransportError

__all__ = [
    "BuzzAuthenticationError",
    "BuzzCommandError",
    "BuzzError",
    "BuzzHTTPError",
    "BuzzPagingError",
    "BuzzResponseError",
    "BuzzThrottledError",
    "BuzzTransportError",
    "explain_missing_domain",
]


class BuzzError(OneRosterError):
    """Root of every error raised by the Buzz client.

    Attributes:
        partial: for an error that stopped a batch command, the outcome of the items
            handled before it (a :class:`~oneroster_client.buzz.BatchResult`), else
            ``None``. Items not in it were not confirmed either way.
    """

    partial: Any = None


class BuzzCommandError(BuzzError):
    """DLAP answered a command with a code other than ``OK`` (usually inside HTTP 200).

    Attributes:
        command: the DLAP command name, e.g. ``"createusers2"``.
        code: the DLAP code, e.g. ``"BadRequest"``, ``"AccessDenied"``.
        message: Buzz's message, with secrets removed.
        error_id: Buzz's ``errorId`` to quote to Agilix support, when given.
    """

    def __init__(
        self,
        text: str,
        *,
        command: str,
        code: str,
        message: str | None = None,
        error_id: str | None = None,
    ) -> None:
        super().__init__(text)
        self.command = command
        self.code = code
        self.message = message
        self.error_id = error_id


class BuzzAuthenticationError(BuzzError):
    """Authentication failed: the token request or login was refused, or Buzz still
    answered ``NoAuthentication`` after one re-authentication.

    Attributes:
        code: the DLAP code or OAuth ``error`` value, when one was given.
        status_code: the HTTP status of the refusing answer, when there was one.
    """

    def __init__(self, text: str, *, code: str | None = None, status_code: int | None = None):
        super().__init__(text)
        self.code = code
        self.status_code = status_code


class BuzzHTTPError(BuzzError):
    """Buzz answered with an HTTP error status that is not retried (or retries ran out).

    Attributes:
        status_code: the HTTP status.
        command: the DLAP command name.
        body_excerpt: the start of the body, with secrets removed.
    """

    def __init__(
        self, text: str, *, status_code: int, command: str, body_excerpt: str | None = None
    ) -> None:
        super().__init__(text)
        self.status_code = status_code
        self.command = command
        self.body_excerpt = body_excerpt


class BuzzThrottledError(BuzzHTTPError):
    """Buzz kept throttling (429, or 503 ``ServerOverwhelmed``) after every retry.

    Attributes:
        retry_after: the wait in seconds Buzz last asked for, when it said.
    """

    def __init__(
        self,
        text: str,
        *,
        status_code: int,
        command: str,
        retry_after: float | None = None,
        body_excerpt: str | None = None,
    ) -> None:
        super().__init__(text, status_code=status_code, command=command, body_excerpt=body_excerpt)
        self.retry_after = retry_after


class BuzzTransportError(BuzzError, TransportError):
    """No HTTP answer at all: connection refused, DNS, TLS or timeout, after every retry."""


class BuzzResponseError(BuzzError):
    """An answer that does not have the DLAP shape: not JSON, no ``response``, or a batch
    answer whose item count differs from the request's (items are never matched by guess).

    Attributes:
        command: the DLAP command name.
    """

    def __init__(self, text: str, *, command: str) -> None:
        super().__init__(text)
        self.command = command


class BuzzPagingError(BuzzResponseError):
    """A listing did not advance: the server repeated an id already seen, so it probably
    ignores ``query=/id>N`` and paging would never end."""


def explain_missing_domain(error: BuzzError, domain_id: str) -> BuzzError:
    """``error`` said plainly when it means the district's domain does not exist.

    Buzz answers ``DoesNotExist`` to a listing under a domain id it does not know (``No
    domain with id 999``); the run's first such listing is under the configured district
    domain, so the setting is what to check. Any other error is returned unchanged.

    Args:
        error: the error a listing under the district domain raised.
        domain_id: the configured district domain id (``parent_domain_id``).
    """
    if not isinstance(error, BuzzCommandError) or error.code != "DoesNotExist":
        return error
    said = error.message or ""
    if domain_id not in said and not error.command.startswith("list"):
        return error
    return BuzzCommandError(
        f"the district's Buzz domain {domain_id} was not found (Buzz {error.command} "
        f"answered DoesNotExist{f': {said}' if said else ''}): check parent_domain_id, "
        "the id of the district's domain in Buzz",
        command=error.command,
        code=error.code,
        message=error.message,
        error_id=error.error_id,
    )
