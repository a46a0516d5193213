"""Authentication for the loopback Buzz server: JWT client assertions, bearer tokens, sessions.

Two ways in, as Buzz offers them:

* OAuth 2 client credentials with an RS256 JWT client assertion (RFC 7523 section 2.2)
  at ``POST /api/oauth/token``. The assertion must be signed by a key registered for the
  user it names, with ``iss`` = ``sub`` = that user id, ``aud`` = the token URL, an
  ``exp`` no more than 5 minutes ahead and a ``jti`` never seen before. Errors follow
  RFC 6749 section 5.2.
* ``login3`` with ``<userspace>/<username>`` and a password, giving a session token that
  every command extends (``extendsession`` exists for idle periods).

Tokens travel as ``Authorization: Bearer`` or as a ``_token`` parameter. A missing,
unknown or expired token makes a command answer ``NoAuthentication`` (in HTTP 200).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from oneroster_client.buzz.testing.state import DlapError, Store

__all__ = ["JWT_BEARER", "MAX_ASSERTION_LIFETIME", "Authenticator", "OAuthError"]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 300
"""Seconds an assertion's ``exp`` may lie ahead (Buzz's 5-minute limit)."""
_CLOCK_SKEW = 5


class OAuthError(Exception):
    """A token-endpoint refusal (RFC 6749 section 5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@attrs.define
class _Token:
    user_id: str
    expires_at: float
    kind: str  # "oauth" or "session"
    uses: int = 0


def _segment(part: str) -> dict[str, Any]:
    padded = part + "=" * (-len(part) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parts = assertion.split(".")
    if len(parts) != 3:
        raise OAuthError("invalid_client", "client_assertion is not a signed JWT", 401)
    try:
        return _segment(parts[0]), _segment(parts[1])
    except (ValueError, UnicodeError, binascii.Error):
        raise OAuthError("invalid_client", "client_assertion is not a readable JWT", 401) from None


class Authenticator:
    """Keys, issued tokens and used ``jti`` values of one server."""

    def __init__(
        self,
        store: Store,
        *,
        token_lifetime: int,
        session_minutes: int,
        expire_after: Callable[[], int | None],
    ) -> None:
        self.store = store
        self.token_lifetime = token_lifetime
        self.session_minutes = session_minutes
        self._expire_after = expire_after
        self._keys: dict[str, dict[str | None, str]] = {}
        self._tokens: dict[str, _Token] = {}
        self._jtis: dict[str, float] = {}
        self._lock = threading.Lock()

    # --- keys and tokens ---------------------------------------------------------------

    def register_key(self, user_id: str, public_key_pem: str, key_id: str | None = None) -> None:
        """Accept assertions from ``user_id`` signed by the private half of this key."""
        with self._lock:
            self._keys.setdefault(str(user_id), {})[key_id] = public_key_pem

    def issue(self, user_id: str, *, kind: str = "oauth", lifetime: float | None = None) -> str:
        """Mint a token for ``user_id`` directly."""
        seconds = lifetime if lifetime is not None else self._lifetime(kind)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = _Token(str(user_id), time.monotonic() + seconds, kind)
        return token

    def _lifetime(self, kind: str) -> float:
        return float(self.token_lifetime if kind == "oauth" else self.session_minutes * 60)

    def expire_all(self) -> None:
        """Invalidate every issued token."""
        with self._lock:
            self._tokens.clear()

    def check(self, token: str | None) -> str:
        """The user a token belongs to; counts a use and slides a session's expiry.

        Raises:
            DlapError: ``NoAuthentication`` for a missing, unknown or expired token.
        """
        if not token:
            raise DlapError("NoAuthentication", "No authentication token was sent")
        limit = self._expire_after()
        with self._lock:
            entry = self._tokens.get(token)
            now = time.monotonic()
            if entry is not None:
                entry.uses += 1
                if entry.expires_at <= now or (limit is not None and entry.uses > limit):
                    del self._tokens[token]
                    entry = None
            if entry is None:
                raise DlapError("NoAuthentication", "The token is invalid or has expired")
            if entry.kind == "session":
                entry.expires_at = now + self._lifetime("session")
            return entry.user_id

    def remaining_minutes(self, token: str) -> int:
        """Whole minutes until ``token`` expires (0 when unknown)."""
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None:
            return 0
        return max(0, int((entry.expires_at - time.monotonic()) // 60))

    # --- login3 ------------------------------------------------------------------------

    def login(self, username: Any, password: Any) -> dict[str, Any]:
        """``login3``: the answer's ``user`` object with a session token.

        Raises:
            DlapError: ``InvalidCredentials`` (without echoing what was sent).
        """
        user = self._find_login(username)
        stored = self.store.passwords.get(user["id"]) if user else None
        if (
            user is None
            or stored is None
            or not isinstance(password, str)
            or not hmac.compare_digest(stored.encode(), password.encode())
        ):
            raise DlapError("InvalidCredentials", "Invalid username or password")
        token = self.issue(user["id"], kind="session")
        domain = self.store.records["domain"][user["domainid"]]
        return {
            "userid": user["id"],
            "username": user["username"],
            "firstname": user["firstname"],
            "lastname": user["lastname"],
            "email": user["email"],
            "domainid": user["domainid"],
            "domainname": domain["name"],
            "userspace": domain["userspace"],
            "token": token,
            "authenticationexpirationminutes": self.session_minutes,
        }

    def _find_login(self, username: Any) -> dict[str, Any] | None:
        if not isinstance(username, str) or "/" not in username:
            return None
        userspace, _, name = username.partition("/")
        for user in self.store.users_named(name):
            if (
                not self.store.is_deleted(user["id"])
                and self.store.userspace_of(user["domainid"]).casefold() == userspace.casefold()
                and not self.store.is_deleted(user["domainid"])
            ):
                return user
        return None

    # --- the token endpoint ------------------------------------------------------------

    def token_endpoint(self, form: dict[str, str], token_url: str) -> dict[str, Any]:
        """Answer a client-credentials request with a JWT assertion.

        Raises:
            OAuthError: for every refusal, with the RFC 6749 error code.
        """
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != JWT_BEARER:
            raise OAuthError("invalid_request", f"client_assertion_type must be {JWT_BEARER}")
        assertion = form.get("client_assertion", "")
        if not assertion:
            raise OAuthError("invalid_request", "client_assertion is missing")
        user_id = self._verify(assertion, token_url)
        token = self.issue(user_id)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}

    def _verify(self, assertion: str, token_url: str) -> str:
        header, unverified = _unverified(assertion)
        user_id = str(unverified.get("iss", ""))
        with self._lock:
            keys = dict(self._keys.get(user_id, {}))
        if not keys:
            raise OAuthError("invalid_client", "No key is registered for this issuer", 401)
        kid = header.get("kid")
        candidates = [keys[kid]] if kid in keys else ([] if kid else list(keys.values()))
        if not candidates:
            raise OAuthError("invalid_client", "The key id is not registered for this issuer", 401)
        claims = self._decode(assertion, candidates)
        self._check_claims(claims, user_id, token_url)
        if user_id not in self.store.records["user"] or self.store.is_deleted(user_id):
            raise OAuthError("invalid_client", "The issuer is not an active user", 401)
        return user_id

    @staticmethod
    def _decode(assertion: str, keys: list[str]) -> dict[str, Any]:
        # Only RS256: an HS256 token "signed" with the public key must not pass.
        for key in keys:
            try:
                return dict(
                    jwt.decode(assertion, RSAKey.import_key(key), algorithms=["RS256"]).claims
                )
            except (JoseError, ValueError):
                continue
        raise OAuthError("invalid_client", "The assertion signature does not verify", 401)

    def _check_claims(self, claims: dict[str, Any], user_id: str, token_url: str) -> None:
        if str(claims.get("sub", "")) != user_id:
            raise OAuthError("invalid_client", "iss and sub must both be the user id", 401)
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if token_url not in audiences:
            raise OAuthError("invalid_client", "aud must be the token URL", 401)
        exp = claims.get("exp")
        now = time.time()
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise OAuthError("invalid_client", "exp is missing", 401)
        if exp <= now - _CLOCK_SKEW:
            raise OAuthError("invalid_client", "The assertion has expired", 401)
        if exp > now + MAX_ASSERTION_LIFETIME + _CLOCK_SKEW:
            raise OAuthError("invalid_client", "exp is more than 5 minutes ahead", 401)
        self._use_jti(claims.get("jti"), float(exp))

    def _use_jti(self, jti: Any, exp: float) -> None:
        if not isinstance(jti, str) or not jti:
            raise OAuthError("invalid_client", "jti is missing", 401)
        now = time.time()
        with self._lock:
            self._jtis = {k: v for k, v in self._jtis.items() if v > now - _CLOCK_SKEW}
            if jti in self._jtis:
                raise OAuthError("invalid_client", "The jti was used before", 401)
            self._jtis[jti] = exp
