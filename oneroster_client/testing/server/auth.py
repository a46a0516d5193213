"""Authentication: OAuth 1.0a signature checks and OAuth 2 client-credentials tokens.

OAuth 1.0a (RFC 5849) requests are verified with HMAC-SHA256 or HMAC-SHA1, a timestamp
window and nonce replay detection; OAuth 2 (RFC 6749 section 4.4) tokens are issued by the
token endpoint with scopes, and checked on every request.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from oneroster_client.auth import parse_authorization_header, sign, signature_base_string
from oneroster_client.endpoints import SCOPE_PREFIX, Operation
from oneroster_client.testing.server.faults import Faults
from oneroster_client.testing.server.http import Request
from oneroster_client.testing.server.refusal import Refusal

__all__ = ["ALL_SCOPES", "Authenticator", "TokenAnswer"]

ALL_SCOPES: tuple[str, ...] = tuple(
    SCOPE_PREFIX + name
    for name in (
        "roster-core.readonly",
        "roster.readonly",
        "roster-demographics.readonly",
        "resource.readonly",
        "gradebook.readonly",
        "gradebook.createput",
        "gradebook.delete",
    )
)
"""Every OneRoster 1.1 scope; granted to the test client unless a test says otherwise."""

TokenAnswer = tuple[int, dict[str, Any]]
"""A token endpoint answer: HTTP status and the JSON body (RFC 6749 section 5)."""

_NONCE_WINDOW = 90 * 60.0  # seconds a nonce is remembered
_TIMESTAMP_SKEW = 45 * 60.0  # seconds a timestamp may differ from the server clock
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)  # whole seconds; 12 digits reach year 33658
_OAUTH1_REQUIRED = (
    "oauth_consumer_key",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
)
_SIGNATURE_METHODS = ("HMAC-SHA256", "HMAC-SHA1")
_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="oneroster"'}


class Authenticator:
    """Checks credentials on API requests and answers the token endpoint.

    Args:
        client_id: the OAuth 2 client id, also the OAuth 1 consumer key.
        client_secret: the secret for both schemes.
        scopes: the scopes the client may be granted.
        schemes: accepted schemes, any of ``"oauth1"`` and ``"oauth2"``.
        origin: the server origin (``http://127.0.0.1:<port>``), part of signed URLs.
        faults: returns the faults in force (they can be replaced at any time).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        scopes: frozenset[str],
        schemes: frozenset[str],
        origin: Callable[[], str],
        faults: Callable[[], Faults],
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self.schemes = schemes
        self._origin = origin
        self._faults = faults
        # token -> (announced expiry, real expiry, granted scopes), monotonic clock.
        self.tokens: dict[str, tuple[float, float, frozenset[str]]] = {}
        self._nonces: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    # --- API requests -------------------------------------------------------------------

    def authenticate(self, request: Request, op: Operation) -> str | None:
        """Check the request's credentials and scope.

        Returns:
            ``"bearer"``, ``"oauth1"``, or ``None`` when the server takes no credentials.

        Raises:
            Refusal: 401 for missing or bad credentials, 400 for malformed OAuth 1
                parameters, 403 when the scopes do not cover ``op``.
        """
        if not self.schemes:
            return None
        header = request.header("Authorization")
        scheme = header.split(" ", 1)[0].lower()
        if scheme == "bearer" and "oauth2" in self.schemes:
            granted = self._check_bearer(header[7:].strip())
            kind = "bearer"
        elif scheme == "oauth" and "oauth1" in self.schemes:
            self._check_oauth1(request, header)
            granted = self.scopes
            kind = "oauth1"
        else:
            raise Refusal(
                401,
                "unauthorized",
                "missing or unsupported Authorization header",
                headers=_BEARER_CHALLENGE,
            )
        if not granted.intersection(op.scope_uris):
            raise Refusal(
                403,
                "forbidden",
                f"{op.operation_id} needs one of the scopes {', '.join(op.scope_uris)}",
                oauth_error="insufficient_scope",
            )
        return kind

    def _check_bearer(self, token: str) -> frozenset[str]:
        with self._lock:
            entry = self.tokens.get(token)
        if entry is None or time.monotonic() >= entry[1]:
            if entry is not None and self._faults().token_500_when_expired:
                raise Refusal(500, "internal_server_error", "Token has expired")
            raise Refusal(
                401,
                "unauthorized",
                "the access token is invalid or has expired",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                oauth_error="invalid_token",
            )
        return entry[2]

    def _check_oauth1(self, request: Request, header: str) -> None:
        params = _oauth1_parameters(header)
        if not hmac.compare_digest(params["oauth_consumer_key"], self.client_id):
            raise Refusal(401, "unauthorized", "unknown consumer key")
        now = time.time()
        timestamp = _oauth1_timestamp(params["oauth_timestamp"])
        if abs(now - timestamp) > _TIMESTAMP_SKEW:
            raise Refusal(401, "unauthorized", "oauth_timestamp outside the accepted window")
        url = self._origin() + request.target
        base_string = signature_base_string(request.method, url, params)
        expected = sign(base_string, self.client_secret, params["oauth_signature_method"])
        if not hmac.compare_digest(expected, params["oauth_signature"]):
            raise Refusal(401, "unauthorized", "invalid OAuth 1 signature")
        self._remember_nonce((params["oauth_nonce"], params["oauth_timestamp"]), now)

    def _remember_nonce(self, nonce_key: tuple[str, str], now: float) -> None:
        with self._lock:
            for key, seen in list(self._nonces.items()):
                if now - seen > _NONCE_WINDOW:
                    del self._nonces[key]
            if nonce_key in self._nonces:
                raise Refusal(401, "unauthorized", "oauth_nonce already used")
            self._nonces[nonce_key] = now

    # --- tokens -------------------------------------------------------------------------

    def issue(self, scopes: frozenset[str], lifetime: float, valid_for: float) -> str:
        """Mint a bearer token announced for ``lifetime`` seconds, valid for ``valid_for``."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            self.tokens[token] = (now + lifetime, now + valid_for, scopes)
        return token

    def expire_all(self) -> None:
        """Make every issued token invalid now."""
        with self._lock:
            self.tokens.clear()

    def token_endpoint(self, request: Request) -> TokenAnswer:
        """Answer a client-credentials token request (RFC 6749 section 4.4)."""
        if request.method != "POST":
            return 405, {"error": "invalid_request", "error_description": "use POST"}
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        try:
            client_id, client_secret = self._client_credentials(request, form)
        except _TokenError as error:
            return error.answer
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if not self._credentials_match(client_id, client_secret):
            return 401, {
                "error": "invalid_client",
                "error_description": "client authentication failed",
            }
        requested = frozenset(form.get("scope", "").split())
        if requested - self.scopes:
            allowed = requested & self.scopes
            if not (self._faults().narrow_scopes and allowed):
                return 400, {"error": "invalid_scope", "error_description": "scope not allowed"}
            requested = allowed
        return 200, self._grant(requested or self.scopes)

    def _client_credentials(
        self, request: Request, form: dict[str, str]
    ) -> tuple[str | None, str | None]:
        """The client id and secret from HTTP Basic or the form."""
        header = request.header("Authorization")
        if header.lower().startswith("basic "):
            if self._faults().refuse_basic_token_auth:
                raise _TokenError(401, "invalid_client", "use form credentials")
            try:
                decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise _TokenError(401, "invalid_client") from None
            raw_id, _, raw_secret = decoded.partition(":")
            return unquote(raw_id), unquote(raw_secret)
        if "client_id" in form:
            return form.get("client_id"), form.get("client_secret")
        return None, None

    def _credentials_match(self, client_id: str | None, client_secret: str | None) -> bool:
        return (
            client_id is not None
            and client_secret is not None
            and hmac.compare_digest(client_id, self.client_id)
            and hmac.compare_digest(client_secret, self.client_secret)
        )

    def _grant(self, granted: frozenset[str]) -> dict[str, Any]:
        faults = self._faults()
        lifetime = float(faults.token_lifetime)
        valid_for = faults.token_valid_for if faults.token_valid_for is not None else lifetime
        token = self.issue(granted, lifetime, valid_for)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": faults.token_lifetime,
            "scope": " ".join(sorted(granted)),
        }


class _TokenError(Exception):
    """A token endpoint error answer (RFC 6749 section 5.2)."""

    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(error)
        body = {"error": error}
        if description is not None:
            body["error_description"] = description
        self.answer: TokenAnswer = (status, body)


def _oauth1_parameters(header: str) -> dict[str, str]:
    """The OAuth 1 protocol parameters; 400 when malformed, missing or unsupported."""
    try:
        params = parse_authorization_header(header)
    except ValueError as exc:
        raise Refusal(400, "invalid data", str(exc)) from None
    # An empty timestamp is present but invalid (401 below), not missing (400).
    missing = [
        name
        for name in _OAUTH1_REQUIRED
        if name not in params or (not params[name] and name != "oauth_timestamp")
    ]
    if missing:
        raise Refusal(400, "invalid data", f"missing OAuth parameters: {', '.join(missing)}")
    method = params["oauth_signature_method"]
    if method not in _SIGNATURE_METHODS:
        raise Refusal(400, "invalid data", f"unsupported signature method {method}")
    return params


def _oauth1_timestamp(text: str) -> int:
    """``oauth_timestamp`` as whole seconds since 1970 (RFC 5849 section 3.3); else 401."""
    if not _TIMESTAMP.fullmatch(text):
        raise Refusal(
            401,
            "unauthorized",
            "oauth_timestamp must be a whole number of seconds since 1970-01-01 (digits only)",
        )
    return int(text)
