"""A pre-issued bearer token (RFC 6750), sent as ``Authorization: Bearer <token>``."""

from __future__ import annotations

import requests
from requests.auth import AuthBase

from oneroster_client.auth._common import UNSAFE_HEADER_CHARS
from oneroster_client.errors import ConfigurationError

__all__ = ["BearerToken"]


class BearerToken(AuthBase):
    """A pre-issued bearer token, sent as ``Authorization: Bearer <token>``.

    Args:
        token: the access token.

    Raises:
        ConfigurationError: the token is empty or contains whitespace or control characters.
    """

    renewable = False  # the transport does not retry a 401 hoping for a new token
    auth_kind = "token"  # a refusal is about this token, not client credentials

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token or any(ch.isspace() for ch in token):
            raise ConfigurationError(
                "BearerToken needs a non-empty token without spaces or line breaks "
                "(pass the token itself, not 'Bearer <token>')"
            )
        if UNSAFE_HEADER_CHARS.search(token):
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
