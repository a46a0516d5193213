"""OAuth 2 client credentials (RFC 6749 section 4.4; OneRoster 1.1 section 9.2).

:class:`OAuth2ClientCredentials` obtains, caches and renews a bearer token through
authlib's protocol client (imported on the first token request). Around it:

* token requests never follow redirects: a ``3xx`` would carry the client credentials to
  whatever host the ``Location`` names, so it is an error that names that host;
* transient failures (429, 502, 503, 504, connection errors, timeouts) are retried with
  the same :class:`~oneroster_client.retry.RetryPolicy` rules as API requests;
* every refusal becomes a clear error saying what to fix (credentials, scopes, grant,
  token URL), with the client secret, the Basic credentials and tokens redacted.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import attrs
import requests
from requests.auth import AuthBase

from oneroster_client._redact import mask, redact_text, redact_url
from oneroster_client._urls import check_service_url
from oneroster_client.auth._common import UNSAFE_HEADER_CHARS, basic_credentials
from oneroster_client.errors import (
    ConfigurationError,
    OneRosterError,
    RateLimitError,
    ServerError,
    TokenProblem,
    TokenRefusedError,
    TransportError,
)
from oneroster_client.retry import RetryPolicy, parse_retry_after
from oneroster_client.status import tls_failure

__all__ = ["ClientAuthMethod", "OAuth2ClientCredentials", "TokenProblem", "TokenRefusedError"]

logger = logging.getLogger("oneroster_client.auth")

ClientAuthMethod = Literal["basic", "body"]

# Token lifetime assumed when the token endpoint omits expires_in (RFC 6749 leaves it optional).
_DEFAULT_TOKEN_LIFETIME = 3600.0
_SCOPE_EXAMPLE = "'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly'"
_EXCERPT_CHARS = 300
_DESCRIPTION_CHARS = 200
# Only the start of an error body is redacted and shown: this bounds the work on a huge one
# and is far longer than any secret, so none is cut in half before redaction.
_REDACT_WINDOW = 64 * 1024


class _TokenFailure(Exception):
    """One failed token attempt: the error to raise, and what the retry policy judges by."""

    def __init__(
        self,
        error: OneRosterError,
        *,
        status_code: int | None = None,
        retry_after: str | None = None,
        exception: BaseException | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.status_code = status_code
        self.retry_after = retry_after
        self.exception = exception

    @property
    def summary(self) -> str:
        if self.status_code is not None:
            return f"HTTP {self.status_code}"
        return type(self.exception).__name__ if self.exception else "failed"


@dataclass(frozen=True)
class _CachedToken:
    access_token: str
    renew_at: float  # on the instance's clock

    @property
    def authorization(self) -> str:
        return f"Bearer {self.access_token}"


@dataclass(frozen=True)
class _Body:
    """A token response body read as JSON."""

    payload: dict[str, Any] | None  # the JSON object, or None when the body is not one
    too_deep: bool = False  # JSON nested too deeply to read


def _read_body(content: bytes) -> _Body:
    try:
        value = json.loads(content)
    except ValueError:  # not JSON, or not text (UnicodeDecodeError is a ValueError)
        return _Body(None)
    except RecursionError:
        return _Body(None, too_deep=True)
    return _Body(value if isinstance(value, dict) else None)


def _normalise_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    for scope in items:
        if not isinstance(scope, str) or not scope or any(ch.isspace() for ch in scope):
            raise ConfigurationError(
                f"invalid OAuth 2 scope {scope!r}: each scope is one non-empty word such as "
                f"{_SCOPE_EXAMPLE}"
            )
    return tuple(items)


def _check_settings(
    client_id: object,
    client_secret: object,
    client_auth: object,
    renew_margin: float,
    timeout: float,
) -> None:
    if not isinstance(client_id, str) or not client_id:
        raise ConfigurationError("OAuth2ClientCredentials needs a non-empty client_id")
    if not isinstance(client_secret, str) or not client_secret:
        raise ConfigurationError("OAuth2ClientCredentials needs a non-empty client_secret")
    if client_auth not in ("basic", "body"):
        raise ConfigurationError(
            f"client_auth must be 'basic' (HTTP Basic, the usual choice) or 'body' "
            f"(credentials as form fields), got {client_auth!r}"
        )
    if not renew_margin >= 0:
        raise ConfigurationError(f"renew_margin must be >= 0 seconds, got {renew_margin!r}")
    if (
        not isinstance(timeout, int | float)
        or isinstance(timeout, bool)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        # 0 fails every token request; NaN or infinity would wait on a silent server for ever.
        raise ConfigurationError(
            f"timeout must be a finite number of seconds more than 0 (e.g. 30), got {timeout!r}"
        )


def _token_retry_policy(retry: RetryPolicy) -> RetryPolicy:
    # The token request is a POST, but repeating it changes nothing on the server except
    # minting one more token, so it is retried like an idempotent request.
    return attrs.evolve(retry, retry_methods=retry.retry_methods | {"POST"})


def _parse_lifetime(expires_in: object) -> float | None:
    if isinstance(expires_in, bool):
        return None
    if isinstance(expires_in, int | float):
        lifetime = float(expires_in)
    elif isinstance(expires_in, str):
        try:
            lifetime = float(expires_in.strip())
        except ValueError:
            return None
    else:
        return None
    return lifetime if lifetime > 0 and lifetime != float("inf") else None


def _classify(status: int, oauth_error: str | None, description: str) -> TokenProblem:
    """What a refused token request asks the user to fix (RFC 6749 section 5.2 codes)."""
    if oauth_error == "invalid_scope" or (
        oauth_error == "invalid_request" and "scope" in description.lower()
    ):
        return "scope"
    if oauth_error in ("unauthorized_client", "unsupported_grant_type"):
        return "grant"
    if oauth_error in ("invalid_client", "invalid_request", "access_denied") or status in (
        400,
        401,
        403,
    ):
        return "credentials"
    return "endpoint"


def _describe_transport_error(error: requests.RequestException, timeout: float) -> str:
    if isinstance(error, requests.exceptions.SSLError):
        failure = tls_failure(error)
        if failure.kind == "other":
            return "the TLS handshake failed; check the certificate or the session's verify setting"
        return f"the TLS handshake failed: {failure.advice(setting='token_url')}"
    if isinstance(error, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(error, requests.ConnectionError):
        return "the connection failed (refused, DNS or network); check token_url and the network"
    return f"the request failed ({type(error).__name__})"


class OAuth2ClientCredentials(AuthBase):
    """OAuth 2 client-credentials grant with a cached, self-renewing bearer token.

    OneRoster 1.1 section 9.2: the token is requested from ``token_url`` with
    ``grant_type=client_credentials`` and the scopes, and sent as ``Authorization: Bearer
    <token>`` on every call. It is renewed shortly before it expires. A lock makes sure
    only one token request is in flight when several threads fetch pages at once; the
    others wait and reuse the new token.

    Token requests never follow redirects, so the credentials only ever go to
    ``token_url``'s host. Transient failures (429, 502, 503, 504, connection errors and
    timeouts) are retried as ``retry`` says, honouring ``Retry-After``; refusals (400,
    401) are not.

    Example:
        >>> auth = OAuth2ClientCredentials(
        ...     "https://sis.example.org/oauth/token", "client-id", "client-secret",
        ...     scopes=["https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly"],
        ... )

    Args:
        token_url: the provider's token endpoint. It must be https, except on a loopback
            host (``localhost``, ``127.0.0.0/8``, ``::1``) or with ``allow_insecure_http``.
        client_id: the OAuth 2 client id.
        client_secret: the OAuth 2 client secret.
        scopes: the scopes to request, as full URIs; a string is split on whitespace.
            Empty means no ``scope`` field is sent.
        client_auth: ``"basic"`` sends the credentials with HTTP Basic
            (``client_secret_basic``, the OneRoster default); ``"body"`` sends them as form
            fields (``client_secret_post``).
        renew_margin: renew the token this many seconds before it expires. When the token
            lives less than twice this long, half its lifetime is used instead.
        timeout: seconds to wait for the token endpoint, per attempt.
        session: the ``requests.Session`` to send token requests through; a new one by
            default.
        clock: a monotonic clock in seconds; injectable for tests.
        retry: when to repeat a failed token request; ``RetryPolicy()`` by default. The
            token request is a POST but is retried as if idempotent: repeating it only
            mints another token.
        allow_insecure_http: accept a plain ``http://`` token URL on a non-loopback host.

    Raises:
        ConfigurationError: a setting is invalid; the message says which.
    """

    auth_kind = "oauth2"  # error messages say what to check (client id and secret)

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: str | Iterable[str] = (),
        client_auth: ClientAuthMethod = "basic",
        *,
        renew_margin: float = 60.0,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry: RetryPolicy | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        self._token_url = check_service_url(
            token_url,
            name="token_url",
            example="https://sis.example.org/oauth/token",
            allow_insecure_http=allow_insecure_http,
            allow_query=True,
        )
        _check_settings(client_id, client_secret, client_auth, renew_margin, timeout)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError(f"retry must be a RetryPolicy or None, got {retry!r}")
        self._client_id = client_id
        self._client_secret = client_secret
        self._scopes = _normalise_scopes(scopes)
        self._client_auth: ClientAuthMethod = client_auth
        self._renew_margin = float(renew_margin)
        self._timeout = float(timeout)
        self._clock = clock
        self._retry = _token_retry_policy(retry if retry is not None else RetryPolicy())
        self._session = session if session is not None else requests.Session()
        self._token_host = urlsplit(self._token_url).netloc
        self._token_url_for_errors = redact_url(self._token_url)

        self._client: Any = None  # authlib's protocol client, made on the first request
        self._lock = threading.Lock()
        self._cached: _CachedToken | None = None
        self._last_token: str | None = None  # kept to redact it from later error bodies
        self._granted: tuple[str, ...] | None = None
        self._payload: dict[str, Any] | None = None
        self._token_requests = 0

    @property
    def token_url(self) -> str:
        """The token endpoint URL."""
        return self._token_url

    @property
    def client_id(self) -> str:
        """The OAuth 2 client id."""
        return self._client_id

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes requested with every token."""
        return self._scopes

    @property
    def granted_scopes(self) -> tuple[str, ...] | None:
        """The scopes of the last token issued; ``None`` until a token was issued.

        Taken from the token response's ``scope`` field (RFC 6749 section 5.1); when the
        server leaves it out, the scopes were granted as requested.
        """
        return self._granted

    @property
    def client_auth(self) -> ClientAuthMethod:
        """How the client credentials are sent: ``"basic"`` or ``"body"``."""
        return self._client_auth

    @property
    def token_requests(self) -> int:
        """How many token requests this object has sent, failed ones and retries included."""
        return self._token_requests

    def __repr__(self) -> str:
        return (
            f"OAuth2ClientCredentials(token_url={self._token_url_for_errors!r}, "
            f"client_id={mask(self._client_id)!r}, scopes={self._scopes!r}, "
            f"client_auth={self._client_auth!r})"
        )

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set ``Authorization: Bearer <token>``, fetching or renewing the token if needed.

        Args:
            r: the request to authorise.

        Returns:
            The same request.

        Raises:
            AuthenticationError: the token endpoint refused the credentials or scopes, or
                redirected the request (a :class:`TokenRefusedError`).
            RateLimitError: the token endpoint kept answering 429 after the retries.
            ServerError: the token endpoint kept failing after the retries.
            TransportError: the token endpoint could not be reached.
        """
        r.headers["Authorization"] = self._current_token().authorization
        return r

    def invalidate(self, used_authorization: str | None = None) -> None:
        """Forget the cached token so the next request fetches a new one.

        Call it after a 401 from the API. When several threads see a 401 for the same
        token, pass the ``Authorization`` header each one sent: only the first forgets the
        token, and the others keep the one renewed in between.

        Args:
            used_authorization: the ``Authorization`` header value the refused request
                carried. When given and it is not the current token's header (the token has
                been renewed or forgotten already), nothing happens.
        """
        with self._lock:
            cached = self._cached
            if cached is None:
                return
            if used_authorization is not None and used_authorization != cached.authorization:
                return
            self._cached = None
            logger.info(
                "OAuth 2 token from %s invalidated; the next request fetches a new one",
                self._token_host,
            )

    # --- fetching -----------------------------------------------------------------------

    def _current_token(self) -> _CachedToken:
        cached = self._cached
        if cached is not None and self._clock() < cached.renew_at:
            return cached  # the common case, without taking the lock
        with self._lock:
            # Another thread may have renewed the token while this one waited for the lock.
            cached = self._cached
            if cached is None or self._clock() >= cached.renew_at:
                cached = self._fetch_token()
                self._cached = cached
            return cached

    def _fetch_token(self) -> _CachedToken:
        """Request a new token, retrying transient failures; the caller holds the lock."""
        state = self._retry.start()
        while True:
            try:
                return self._request_token()
            except _TokenFailure as failure:
                wait = state.next_wait(
                    method="POST",
                    status_code=failure.status_code,
                    exception=failure.exception,
                    retry_after=failure.retry_after,
                )
                if wait is None:
                    raise failure.error from failure.exception
                logger.warning(
                    "token request to %s failed (%s); retry %d in %.2f s",
                    self._token_host,
                    failure.summary,
                    state.attempts,
                    wait,
                )
                state.sleep(wait)

    def _protocol_client(self) -> Any:
        if self._client is None:
            from oneroster_client.auth._token_client import new_token_client

            self._client = new_token_client(
                self._session,
                client_id=self._client_id,
                client_secret=self._client_secret,
                send_in_body=self._client_auth == "body",
                on_response=self._check_response,
            )
        return self._client

    def _request_token(self) -> _CachedToken:
        """Send one token request; raise :class:`_TokenFailure` when it fails."""
        self._token_requests += 1
        self._payload = None
        logger.info("fetching OAuth 2 token from %s", self._token_host)
        started = self._clock()
        # Never follow a redirect: it would carry the credentials to another host.
        extra: dict[str, Any] = {"timeout": self._timeout, "allow_redirects": False}
        if self._scopes:
            extra["scope"] = " ".join(self._scopes)
        client = self._protocol_client()
        try:
            client.fetch_token(self._token_url, grant_type="client_credentials", **extra)
        except requests.RequestException as error:
            raise _TokenFailure(
                TransportError(
                    f"could not reach the OAuth 2 token endpoint at {self._token_host}: "
                    f"{_describe_transport_error(error, self._timeout)}",
                    url=self._token_url_for_errors,
                    method="POST",
                ),
                exception=error,
            ) from None
        except (ValueError, TypeError):
            # authlib could not compute its own expiry from an unusual expires_in (such as
            # "3600.0"); _check_response has already validated the payload we rely on.
            if self._payload is None:
                raise
        payload, self._payload = self._payload, None
        if payload is None:  # defensive: authlib ran no response hook
            raise _TokenFailure(self._no_token_error(200, "returned no token"), status_code=200)
        return self._cache_entry(payload, started)

    def _cache_entry(self, payload: Mapping[str, Any], started: float) -> _CachedToken:
        lifetime = _parse_lifetime(payload.get("expires_in"))
        if lifetime is None:
            lifetime = _DEFAULT_TOKEN_LIFETIME
        margin = self._renew_margin if lifetime >= 2 * self._renew_margin else lifetime / 2
        token_type = payload.get("token_type")
        if isinstance(token_type, str) and token_type.lower() != "bearer":
            logger.warning(
                "token endpoint at %s returned token_type %r; sending it as a Bearer token",
                self._token_host,
                token_type,
            )
        self._granted = self._granted_scopes(payload.get("scope"))
        logger.debug(
            "OAuth 2 token from %s valid for %.0f s; renewing %.0f s before expiry",
            self._token_host,
            lifetime,
            margin,
        )
        token = str(payload["access_token"])
        self._last_token = token
        # Timed from before the request, so network latency only makes renewal earlier.
        return _CachedToken(token, started + lifetime - margin)

    def _granted_scopes(self, granted: object) -> tuple[str, ...]:
        if not isinstance(granted, str):
            return self._scopes  # RFC 6749 section 5.1: omitted means "as requested"
        scopes = tuple(granted.split())
        missing = sorted(set(self._scopes) - set(scopes))
        if missing:
            logger.warning(
                "token endpoint at %s did not grant scopes %s; requests needing them will "
                "get HTTP 403",
                self._token_host,
                missing,
            )
        return scopes

    # --- reading responses --------------------------------------------------------------

    def _check_response(self, response: requests.Response) -> requests.Response:
        """authlib compliance hook: accept a usable token response or raise a clear error."""
        status = response.status_code
        if 300 <= status < 400:
            raise self._failure(response, self._redirect_error(response))
        body = _read_body(response.content)
        if not 200 <= status < 300 or (body.payload is not None and "error" in body.payload):
            raise self._failure(response, self._refusal(response, body.payload))
        if body.payload is None:
            if body.too_deep:
                what = "JSON nested too deeply to read"
            else:
                what = f"{response.headers.get('Content-Type', 'unknown')} instead of a JSON token"
            raise self._failure(
                response,
                self._no_token_error(
                    status,
                    f"answered HTTP {status} with {what}: check that token_url is the "
                    "provider's OAuth 2 token endpoint, not a web page",
                ),
            )
        self._accept(status, body.payload)
        return response

    def _accept(self, status: int, payload: dict[str, Any]) -> None:
        access_token = payload.get("access_token")
        if (
            isinstance(access_token, str)
            and access_token
            and not UNSAFE_HEADER_CHARS.search(access_token)
        ):
            self._payload = payload
            return
        # Field names only: the body might hold a token under another name.
        fields = ", ".join(sorted(str(name) for name in payload)) or "none"
        raise _TokenFailure(
            self._no_token_error(
                status,
                f"answered HTTP {status} without a usable access_token (fields present: "
                f"{fields}): check that token_url is the provider's OAuth 2 token endpoint "
                "for the client-credentials grant",
            ),
            status_code=status,
        )

    def _no_token_error(self, status: int, what: str) -> TokenRefusedError:
        return TokenRefusedError(
            f"the token endpoint at {self._token_host} {what}",
            problem="endpoint",
            status_code=status,
            url=self._token_url_for_errors,
            method="POST",
        )

    def _failure(self, response: requests.Response, error: OneRosterError) -> _TokenFailure:
        return _TokenFailure(
            error,
            status_code=response.status_code,
            retry_after=response.headers.get("Retry-After"),
        )

    def _secrets(self) -> tuple[str, ...]:
        """Values an error body might echo that must never be shown."""
        known = [
            self._client_secret,
            basic_credentials(self._client_id, self._client_secret),
            f"{self._client_id}:{self._client_secret}",
        ]
        if self._last_token:
            known.append(self._last_token)
        return tuple(known)

    def _redact(self, text: str, limit: int) -> str:
        # Redact first, then cut: cutting first could leave half a secret unrecognised.
        return redact_text(text[:_REDACT_WINDOW], self._secrets())[:limit]

    def _common(self, response: requests.Response) -> dict[str, Any]:
        return {
            "status_code": response.status_code,
            "url": self._token_url_for_errors,
            "method": "POST",
            "body_excerpt": self._redact(response.text, _EXCERPT_CHARS) or None,
        }

    def _redirect_error(self, response: requests.Response) -> TokenRefusedError:
        status = response.status_code
        location = response.headers.get("Location", "").strip()
        try:
            target = urljoin(self._token_url, location) if location else ""
            host = urlsplit(target).netloc.rpartition("@")[2]
        except ValueError:
            target, host = location, ""
        where = f"the token endpoint at {self._token_host}"
        never = (
            "token requests never follow redirects, so the client credentials were not sent there"
        )
        if host:
            shown = self._redact(redact_url(target), _DESCRIPTION_CHARS)
            message = (
                f"{where} answered HTTP {status} redirecting the token request to {host} "
                f"({shown}); {never}. If {host} is the provider's token endpoint, set "
                "token_url to that URL"
            )
        else:
            message = (
                f"{where} answered HTTP {status} (a redirect without a usable Location); "
                f"{never}. Set token_url to the provider's OAuth 2 token endpoint"
            )
        return TokenRefusedError(
            message, problem="redirect", redirect_host=host or None, **self._common(response)
        )

    def _refusal(
        self, response: requests.Response, payload: dict[str, Any] | None
    ) -> OneRosterError:
        status = response.status_code
        oauth_error = payload.get("error") if payload is not None else None
        oauth_error = oauth_error if isinstance(oauth_error, str) else None
        description = payload.get("error_description") if payload is not None else None
        description = description.strip() if isinstance(description, str) else ""
        said = ""
        if description:
            said = f" (server said: {self._redact(description, _DESCRIPTION_CHARS)!r})"
        code = f"HTTP {status}" + (f" {oauth_error}" if oauth_error else "")
        common = self._common(response)
        where = f"the token endpoint at {self._token_host}"
        if status == 429:
            return RateLimitError(
                f"{where} is rate limiting token requests ({code}): wait and try again",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                **common,
            )
        if status >= 500:
            return ServerError(
                f"{where} failed ({code}): the provider's authorisation server is having "
                f"trouble; try again later{said}",
                **common,
            )
        problem = _classify(status, oauth_error, description)
        return TokenRefusedError(
            f"{where} {self._advice(problem, code)}{said}",
            problem=problem,
            oauth_error=oauth_error,
            **common,
        )

    def _advice(self, problem: TokenProblem, code: str) -> str:
        """What the refusal means and what to do, after "the token endpoint at HOST"."""
        if problem == "scope":
            if self._scopes:
                return (
                    f"refused the requested scopes ({code}): check scopes="
                    f"{list(self._scopes)!r}: request only scopes this client is registered "
                    f"for, spelled as full URIs such as {_SCOPE_EXAMPLE}"
                )
            return (
                f"requires a scope, but none was requested ({code}): pass scopes=[...] with "
                f"the scopes this client is registered for, such as {_SCOPE_EXAMPLE}"
            )
        if problem == "grant":
            return (
                "does not allow the client-credentials grant for this client "
                f"({code}): ask the provider to enable client credentials for this client_id"
            )
        if problem == "credentials":
            if self._client_auth == "basic":
                how = (
                    "sent with HTTP Basic; some servers want them in the form body: "
                    "client_auth='body'"
                )
            else:
                how = "sent in the form body; most servers want HTTP Basic: client_auth='basic'"
            return (
                f"refused the client credentials ({code}): check client_id and "
                f"client_secret ({how})"
            )
        return (
            f"answered {code} to the token request: check that token_url is the provider's "
            "OAuth 2 token endpoint"
        )
