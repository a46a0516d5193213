"""Error answers: an HTTP status with one OneRoster ``statusInfo`` (1.1 section 3.3)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

__all__ = ["Refusal", "error_payload", "status_info"]


class Refusal(Exception):
    """An error answer: HTTP status plus one statusInfo.

    Args:
        status: the HTTP status.
        code_minor: the 1.1 codeMinor token (``"invalid data"``, ``"unauthorized"`` ...).
        description: the ``imsx_description``; never a secret or a filter value.
        headers: extra response headers (``Retry-After``, ``WWW-Authenticate``).
        oauth_error: an OAuth 2 ``error`` value to add to the body.
        close: close the connection after answering (the request body was not read).
        more: further ``(code_minor, description)`` errors, sent as more statusInfos
            (a write refused for several fields names each one).
    """

    def __init__(
        self,
        status: int,
        code_minor: str,
        description: str,
        *,
        headers: Mapping[str, str] | None = None,
        oauth_error: str | None = None,
        close: bool = False,
        more: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code_minor = code_minor
        self.description = description
        self.headers = dict(headers or {})
        self.oauth_error = oauth_error
        self.close = close
        self.more = tuple(more)


def status_info(severity: str, code_minor: str, description: str) -> dict[str, str]:
    """One ``statusInfo`` object; ``codeMajor`` is ``failure`` for errors only.

    Args:
        severity: ``"error"``, ``"warning"`` or ``"status"``.
        code_minor: the codeMinor token.
        description: the human-readable description.
    """
    return {
        "imsx_codeMajor": "failure" if severity == "error" else "success",
        "imsx_severity": severity,
        "imsx_codeMinor": code_minor,
        "imsx_description": description,
    }


def error_payload(refusal: Refusal) -> bytes:
    """The JSON body of an error answer: a ``statusInfoSet`` with its error(s)."""
    errors = [(refusal.code_minor, refusal.description), *refusal.more]
    body: dict[str, object] = {
        "statusInfoSet": [status_info("error", minor, text) for minor, text in errors]
    }
    if refusal.oauth_error:
        body["error"] = refusal.oauth_error
    return json.dumps(body).encode()
