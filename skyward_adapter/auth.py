"""Authentication for Skyward: which plug-in to use, and OAuth 2 that finds how to send credentials.

Qmlativ Integration Access uses OAuth 2 client credentials (OAuth 1 was removed from it);
older SMS 2.0 and API User Access setups sign requests with OAuth 1.0a; Buzz also offers a
pre-issued access token. Skyward token endpoints differ in how they want the Key and
Secret: HTTP Basic (the OneRoster default) or form fields. :class:`SkywardOAuth2` tries
Basic first and, when the token endpoint refuses it as a client-authentication failure,
sends the credentials in the form body instead, and remembers what worked. Nothing else
triggers that second try: a redirect, a scope problem or a failing server is reported as
it is, so the credentials are never sent again to where they should not go.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from oneroster_client._redact import mask
from oneroster_client.auth import BearerToken, OAuth1, OAuth2ClientCredentials, TokenRefusedError
from oneroster_client.errors import APIError, AuthenticationError
from oneroster_client.retry import RetryPolicy
from skyward_adapter.settings import SkywardSettings

__all__ = ["SkywardOAuth2", "build_auth"]

logger = logging.getLogger("skyward_adapter")

ClientAuth = Literal["auto", "basic", "body"]

_ERROR_CODE = re.compile(r'"error"\s*:\s*"([^"]+)"')


def token_error_code(error: APIError) -> str | None:
    """The OAuth 2 ``error`` code of a refused token request, if the body carried one."""
    if isinstance(error, TokenRefusedError) and error.oauth_error is not None:
        return error.oauth_error
    excerpt = error.body_excerpt or ""
    try:
        body: Any = json.loads(excerpt)
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    match = _ERROR_CODE.search(excerpt)
    return match.group(1) if match else None


def _basic_refused(error: AuthenticationError) -> bool:
    """True when a token endpoint refused HTTP Basic client authentication as such.

    Only then is sending the credentials again, as form fields, worth it. A redirect, a
    scope problem or a refused grant would be answered the same way whichever way the
    credentials travel.
    """
    return (
        isinstance(error, TokenRefusedError)
        and error.problem == "credentials"
        and error.status_code in (400, 401)
    )


class SkywardOAuth2(AuthBase):
    """OAuth 2 client credentials for Skyward, sending the Key and Secret the way the server wants.

    With ``client_auth="auto"`` the first token request sends the credentials with HTTP
    Basic; if the token endpoint answers 400 or 401 ``invalid_client`` (or
    ``invalid_request``), the request is repeated with the credentials as form fields.
    Whichever worked is remembered for the life of this object. Tokens are cached and
    renewed by :class:`~oneroster_client.auth.OAuth2ClientCredentials`.

    Args:
        token_url: the API Token URL.
        key: the Key (``client_id``).
        secret: the Secret (``client_secret``).
        scopes: scopes to request.
        client_auth: ``"auto"``, ``"basic"`` or ``"body"``.
        timeout: seconds to wait for the token endpoint.
        session: the ``requests.Session`` for token requests.
        retry: when to repeat a token request after a transient failure (429, 502, 503,
            504, connection errors); ``RetryPolicy()`` by default.
        allow_insecure_http: accept a plain-http token URL (loopback tests).
    """

    auth_kind = "oauth2"  # error messages say what to check (the Key and Secret)

    def __init__(
        self,
        token_url: str,
        key: str,
        secret: str,
        scopes: Iterable[str] = (),
        *,
        client_auth: ClientAuth = "auto",
        timeout: float = 30.0,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        options: dict[str, Any] = {
            "scopes": tuple(scopes),
            "timeout": timeout,
            "session": session,
            "retry": retry,
            "allow_insecure_http": allow_insecure_http,
        }
        self._basic = OAuth2ClientCredentials(
            token_url, key, secret, client_auth="basic", **options
        )
        self._body = OAuth2ClientCredentials(token_url, key, secret, client_auth="body", **options)
        self._requested = client_auth
        self._chosen: Literal["basic", "body"] | None = (
            None if client_auth == "auto" else client_auth
        )
        self._key = key
        self._token_url = token_url
        self._lock = threading.Lock()

    @property
    def token_url(self) -> str:
        """The API Token URL."""
        return self._token_url

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes requested with every token."""
        return self._basic.scopes

    @property
    def granted_scopes(self) -> tuple[str, ...] | None:
        """The scopes of the last token issued; ``None`` until a token was issued."""
        return self._current().granted_scopes

    @property
    def client_auth(self) -> Literal["basic", "body"] | None:
        """How the credentials are sent; ``None`` until the first token in ``auto`` mode."""
        return self._chosen

    @property
    def token_requests(self) -> int:
        """Token requests made so far, failed ones included."""
        return self._basic.token_requests + self._body.token_requests

    def __repr__(self) -> str:
        chosen = self._chosen or "not yet chosen"
        return (
            f"SkywardOAuth2(token_url={self._token_url!r}, key={mask(self._key)!r}, "
            f"client_auth={self._requested!r} ({chosen}))"
        )

    def _current(self) -> OAuth2ClientCredentials:
        return self._body if self._chosen == "body" else self._basic

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set ``Authorization: Bearer <token>``, fetching a token the first time."""
        if self._chosen is not None:
            return self._current()(r)
        with self._lock:
            if self._chosen is not None:
                return self._current()(r)
            try:
                signed = self._basic(r)
            except AuthenticationError as basic_error:
                if not _basic_refused(basic_error):
                    raise
                logger.info(
                    "the token endpoint refused HTTP Basic client authentication (HTTP %s); "
                    "sending the Key and Secret as form fields instead",
                    basic_error.status_code,
                )
                try:
                    signed = self._body(r)
                except AuthenticationError as body_error:
                    raise _both_refused(basic_error, body_error) from None
                self._chosen = "body"
                return signed
            self._chosen = "basic"
            return signed

    def invalidate(self, used_authorization: str | None = None) -> None:
        """Forget the cached token (after the API refused it) so the next call fetches one."""
        self._current().invalidate(used_authorization)

    def fetch_token(self) -> None:
        """Make sure a token is cached, fetching one now if needed (for diagnostics).

        Raises:
            AuthenticationError: the token endpoint refused the credentials or scopes.
            TransportError: the token endpoint could not be reached.
        """
        self(requests.Request("GET", "https://token-check.invalid/").prepare())


def _both_refused(basic: AuthenticationError, body: AuthenticationError) -> AuthenticationError:
    if not _basic_refused(body):
        return body  # the second answer says something else (scope, grant): report it as is
    code = token_error_code(body) or token_error_code(basic)
    status = f"HTTP {body.status_code}" + (f" {code}" if code else "")
    host = urlsplit(body.url or "").netloc or "the token endpoint"
    return TokenRefusedError(
        f"the token endpoint at {host} refused the Key and Secret, sent both with HTTP Basic "
        f"and as form fields ({status}): check the Key and Secret of the Skyward Integration "
        "Access; after a migration from API User Access, generate a new Secret",
        problem="credentials",
        oauth_error=code,
        status_code=body.status_code,
        status_infos=body.status_infos,
        url=body.url,
        method=body.method,
        request_id=body.request_id,
        body_excerpt=body.body_excerpt,
    )


def build_auth(
    settings: SkywardSettings,
    *,
    timeout: float = 30.0,
    session: requests.Session | None = None,
    client_auth: ClientAuth = "auto",
    retry: RetryPolicy | None = None,
) -> AuthBase:
    """The auth plug-in the settings call for.

    * ``oauth2`` (``auto`` with an API Token URL): :class:`SkywardOAuth2`;
    * ``oauth1`` (``auto`` without a token URL or access token): OAuth 1.0a HMAC-SHA256;
    * ``token`` (``auto`` with only an access token): a pre-issued bearer token.

    Args:
        settings: validated settings.
        timeout: seconds to wait for the token endpoint.
        session: the ``requests.Session`` for token requests.
        client_auth: how OAuth 2 credentials are sent (``"auto"`` tries Basic, then form).
        retry: when to repeat a failed OAuth 2 token request; ``RetryPolicy()`` by default.
    """
    mode = settings.auth_mode
    if mode == "oauth2":
        assert settings.token_url and settings.key and settings.secret  # checked by settings
        return SkywardOAuth2(
            settings.token_url,
            settings.key,
            settings.secret,
            settings.requested_scopes,
            client_auth=client_auth,
            timeout=timeout,
            session=session,
            retry=retry,
            allow_insecure_http=settings.allow_insecure_http,
        )
    if mode == "token":
        assert settings.access_token  # checked by settings
        return BearerToken(settings.access_token)
    assert settings.key and settings.secret  # checked by settings
    return OAuth1(settings.key, settings.secret, "HMAC-SHA256")
