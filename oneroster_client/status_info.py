"""The OneRoster status info record (section 7.1) and codeMinor normalisation (section 7.2).

This module sits below :mod:`oneroster_client.errors` (API errors carry status infos) and
imports nothing from the package, so errors, parsing and the transport can all use it
without an import circle. Parsing bodies and mapping HTTP statuses to exceptions live in
:mod:`oneroster_client.status`.
"""

from __future__ import annotations

import re

import attrs

__all__ = ["StatusInfo", "normalize_code_minor"]

_SEPARATORS = re.compile(r"[\s_\-]+")


def normalize_code_minor(token: str) -> str:
    """Return the comparable form of a codeMinor token.

    OneRoster 1.1 implementations spell the same token with spaces, underscores or
    nothing (``"unknown object"``, ``"unknownobject"``; ``"invalid_filter_field"``), so
    tokens are lower-cased and stripped of whitespace, underscores and hyphens before
    comparing.

    Args:
        token: the token as sent.

    Returns:
        The normalised token, e.g. ``"invalidfilterfield"``.
    """
    return _SEPARATORS.sub("", token.lower())


def _optional_code_minor(token: str | None) -> str | None:
    if token is None:
        return None
    return normalize_code_minor(token) or None


@attrs.frozen(kw_only=True)
class StatusInfo:
    """One OneRoster status info (section 7.1), whatever shape it arrived in.

    Attributes:
        code_major: ``imsx_codeMajor`` as sent (``success``, ``failure``, ...).
        severity: ``imsx_severity`` as sent (``status``, ``warning``, ``error``).
        code_minor: the codeMinor token normalised by :func:`normalize_code_minor`
            (``"unknownobject"``); pass the raw token, it is normalised on construction.
        code_minor_raw: the codeMinor token exactly as sent (``"unknown object"``).
        description: ``imsx_description``; for field errors the offending field name.
        message_ref_identifier: ``imsx_messageRefIdentifier``, an optional correlation id.
        operation_ref_identifier: ``imsx_operationRefIdentifier``, an optional operation name.
    """

    code_major: str | None = None
    severity: str | None = None
    code_minor: str | None = attrs.field(default=None, converter=_optional_code_minor)
    code_minor_raw: str | None = None
    description: str | None = None
    message_ref_identifier: str | None = None
    operation_ref_identifier: str | None = None

    @property
    def is_error(self) -> bool:
        """True for severity ``error`` or codeMajor ``failure``/``unsupported``.

        Either one is enough: some servers send codeMajor ``success`` with severity
        ``error`` on a 400 (section 7.3), so codeMajor alone cannot be trusted.
        """
        severity = (self.severity or "").strip().lower()
        code_major = (self.code_major or "").strip().lower()
        return severity == "error" or code_major in {"failure", "unsupported"}

    @property
    def is_warning(self) -> bool:
        """True for severity ``warning`` (e.g. ``invalid_sort_field`` on a 200), unless an error."""
        return (self.severity or "").strip().lower() == "warning" and not self.is_error
