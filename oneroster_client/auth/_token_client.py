"""authlib's OAuth 2 protocol client, set up for the client-credentials grant.

Importing this module imports authlib (slow: it pulls in JOSE and cryptography), so
:mod:`oneroster_client.auth.oauth2` imports it on the first token request only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.client import OAuth2Client

from oneroster_client.auth._common import basic_credentials

__all__ = ["new_token_client"]


def _client_secret_basic(
    client: Any, method: str, uri: str, headers: dict[str, str], body: str
) -> tuple[str, dict[str, str], str]:
    """HTTP Basic client authentication, form-encoding id and secret first (RFC 6749 2.3.1).

    authlib's built-in ``client_secret_basic`` skips that encoding and cannot send a
    non-Latin-1 secret, so this replaces it on our own client only.
    """
    headers["Authorization"] = "Basic " + basic_credentials(client.client_id, client.client_secret)
    return uri, headers, body


class _TokenClient(OAuth2Client):  # type: ignore[misc]  # authlib ships no type hints
    """authlib's OAuth 2 protocol client speaking through any ``requests.Session``.

    It uses the same ``requests`` plug-ins as authlib's ``OAuth2Session``, but lets the
    caller supply the session (proxies, TLS settings, mounted adapters).
    """

    client_auth_class = OAuth2Session.client_auth_class
    token_auth_class = OAuth2Session.token_auth_class
    oauth_error_class = OAuth2Session.oauth_error_class
    SESSION_REQUEST_PARAMS = OAuth2Session.SESSION_REQUEST_PARAMS


def new_token_client(
    session: requests.Session,
    *,
    client_id: str,
    client_secret: str,
    send_in_body: bool,
    on_response: Callable[[requests.Response], requests.Response],
) -> Any:
    """A protocol client whose token responses all go through ``on_response`` first.

    Args:
        session: the session to send token requests through.
        client_id: the OAuth 2 client id.
        client_secret: the OAuth 2 client secret.
        send_in_body: send the credentials as form fields (``client_secret_post``) rather
            than with HTTP Basic.
        on_response: checks every token response and raises for a failed one, before
            authlib reads it.

    Returns:
        The client; call ``fetch_token(url, grant_type="client_credentials", ...)``.
    """
    client = _TokenClient(
        session,
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method="client_secret_post" if send_in_body else "client_secret_basic",
    )
    # Registered on this client instance only: no shared registry is changed.
    client.register_client_auth_method(("client_secret_basic", _client_secret_basic))
    client.register_compliance_hook("access_token_response", on_response)
    return client
