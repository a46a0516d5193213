"""Authentication plug-ins for the Buzz client (``requests`` auth objects).

- :class:`BuzzJWTAuth`: what Agilix recommends. OAuth 2 client credentials where the
  client proves itself with an RS256 JWT assertion (RFC 7523 section 2.2) signed by the
  private key registered for an "application identity" user.
- :class:`BuzzLogin`: the legacy ``login3`` command with a user name and password.
- :class:`BuzzToken`: a token issued elsewhere; it cannot be renewed.

All three send ``Authorization: Bearer <token>``. When Buzz answers ``NoAuthentication``
the client calls :meth:`BuzzAuth.invalidate` and retries once. Private keys, passwords,
tokens and assertions never appear in a ``repr``, a log line or an error message.
"""

from __future__ import annotations

import abc
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.auth import AuthBase

from oneroster_client._redact import redact_text
from oneroster_client._urls import check_service_url
from oneroster_client.buzz.errors import BuzzAuthenticationError, BuzzTransportError
from oneroster_client.errors import ConfigurationError

__all__ = ["BuzzAuth", "BuzzJWTAuth", "BuzzLogin", "BuzzToken"]

logger = logging.getLogger("oneroster_client.buzz")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Agilix: an assertion may live at most 5 minutes; a token is renewed 5 minutes early.
ASSERTION_LIFETIME = 300
RENEW_EARLY = 300.0


class BuzzAuth(AuthBase, abc.ABC):
    """Base of the Buzz auth plug-ins: a cached bearer token, renewed on demand.

    The client calls :meth:`bind` once so plug-ins that talk to Buzz (``login3``) use the
    client's host, session and User-Agent.
    """

    renewable = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: requests.Session | None = None
        self._base_url: str | None = None
        self._user_agent = "oneroster-client"
        self._timeout: float | tuple[float, float] = 30.0

    def bind(
        self,
        *,
        base_url: str,
        session: requests.Session,
        user_agent: str,
        timeout: float | tuple[float, float],
    ) -> None:
        """Use the client's host, session, User-Agent and timeout for auth requests."""
        self._base_url = base_url
        self._session = session
        self._user_agent = user_agent
        self._timeout = timeout

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token()}"
        return r

    @abc.abstractmethod
    def token(self) -> str:
        """The current bearer token, fetched or renewed first when needed."""

    def invalidate(self) -> None:
        """Forget the current token: the next request authenticates afresh."""

    def secrets(self) -> tuple[str, ...]:
        """Secret strings to scrub from any text shown to the user."""
        return ()

    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def _post(self, url: str, **kwargs: Any) -> requests.Response:
        headers = {"User-Agent": self._user_agent, "Accept": "application/json"}
        try:
            return self._http().post(
                url, headers=headers, timeout=self._timeout, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            raise BuzzTransportError(
                f"authentication request to {_host(url)} failed: {type(exc).__name__}",
                url=url,
                method="POST",
            ) from None


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _json_object(response: requests.Response) -> Mapping[str, Any] | None:
    try:
        payload = response.json()
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        return None
    return payload if isinstance(payload, Mapping) else None


class BuzzJWTAuth(BuzzAuth):
    """OAuth 2 client credentials with an RS256 JWT client assertion (RFC 7523).

    Each token request carries a fresh assertion: ``iss`` and ``sub`` are the application
    identity's user id, ``aud`` the token URL, ``jti`` random, ``exp`` 5 minutes ahead,
    and the header carries ``kid`` when ``key_id`` is given. The token is cached and
    renewed 5 minutes before it expires; threads share one token request.

    Args:
        token_url: e.g. ``https://api.agilixbuzz.com/api/oauth/token``.
        user_id: the Buzz user id of the application identity.
        private_key: the RSA private key in PEM form whose public key is registered for
            that user.
        key_id: the key id (``kid``) it was registered under.
        allow_insecure_http: permit plain http to a host that is not loopback.
        clock: monotonic seconds; injectable for tests.

    Raises:
        ConfigurationError: a missing user id or URL, or a key that is not an RSA
            private key.
    """

    def __init__(
        self,
        token_url: str,
        user_id: str,
        private_key: str | bytes,
        key_id: str | None = None,
        *,
        allow_insecure_http: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.token_url = check_service_url(
            token_url,
            name="token_url",
            example="https://api.agilixbuzz.com/api/oauth/token",
            allow_insecure_http=allow_insecure_http,
        )
        if not isinstance(user_id, str | int) or isinstance(user_id, bool) or not str(user_id):
            raise ConfigurationError("user_id is required: the Buzz id of the application user")
        self.user_id = str(user_id)
        self.key_id = key_id
        self._key = _import_rsa_key(private_key)
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self.token_requests = 0

    def __repr__(self) -> str:
        kid = f", key_id={self.key_id!r}" if self.key_id else ""
        return f"BuzzJWTAuth(token_url={self.token_url!r}, user_id={self.user_id!r}{kid})"

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def secrets(self) -> tuple[str, ...]:
        return (self._token,) if self._token else ()

    def assertion(self) -> str:
        """Sign a fresh client assertion (exposed for tests; never log it)."""
        from authlib.oauth2.rfc7523 import private_key_jwt_sign

        header = {"alg": "RS256", **({"kid": self.key_id} if self.key_id else {})}
        signed = private_key_jwt_sign(
            self._key,
            client_id=self.user_id,
            token_endpoint=self.token_url,
            header=header,
            expires_in=ASSERTION_LIFETIME,
        )
        return signed.decode("ascii") if isinstance(signed, bytes) else str(signed)

    def _fetch(self) -> None:
        started = self._clock()
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        self.token_requests += 1
        response = self._post(self.token_url, data=form)
        payload = _json_object(response)
        if response.status_code != 200 or payload is None:
            raise self._refusal(response, payload)
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise BuzzAuthenticationError(
                f"the token endpoint {_host(self.token_url)} answered without an access_token",
                status_code=response.status_code,
            )
        lifetime = _lifetime(payload.get("expires_in"))
        self._token = token
        # Renew 5 minutes early; a very short lifetime is renewed half-way instead.
        self._renew_at = started + max(lifetime - RENEW_EARLY, lifetime / 2)
        logger.info("Buzz token obtained for application user %s", self.user_id)

    def _refusal(
        self, response: requests.Response, payload: Mapping[str, Any] | None
    ) -> BuzzAuthenticationError:
        code = payload.get("error") if payload else None
        detail = payload.get("error_description") if payload else None
        text = f"the token endpoint {_host(self.token_url)} refused the client assertion "
        text += f"(HTTP {response.status_code}"
        text += f", {code}" if isinstance(code, str) else ""
        text += ")"
        if isinstance(detail, str) and detail:
            text += ": " + redact_text(detail[:300], secrets=self.secrets())
        text += "; check user_id, key_id and that the public key is registered for that user"
        return BuzzAuthenticationError(
            text, code=code if isinstance(code, str) else None, status_code=response.status_code
        )


_PEM_LABEL = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,40})-----")
_PEM_FORM = (
    "the RSA private key in PEM form ('-----BEGIN PRIVATE KEY-----' or "
    "'-----BEGIN RSA PRIVATE KEY-----')"
)


def _import_rsa_key(private_key: str | bytes) -> Any:
    """Read the RSA private key (joserfc is authlib's JOSE implementation).

    A key that cannot be read is described by its PEM label only (never its content):
    no PEM block at all, a public key or certificate, an encrypted key, or a private
    key of another kind.
    """
    from joserfc.errors import JoseError
    from joserfc.jwk import RSAKey

    if not isinstance(private_key, str | bytes) or not private_key:
        raise ConfigurationError(f"private_key is required: {_PEM_FORM}")
    try:
        key = RSAKey.import_key(private_key)
    except (JoseError, ValueError, TypeError):
        key = None
    if key is None or not key.is_private:
        raise ConfigurationError(_key_problem(private_key, key is not None))
    return key


def _key_problem(private_key: str | bytes, is_rsa_public: bool) -> str:
    """What is wrong with a ``private_key`` that cannot sign, from its PEM label."""
    text = private_key.decode("ascii", "replace") if isinstance(private_key, bytes) else private_key
    labels = _PEM_LABEL.findall(text)
    label = labels[0] if labels else ""
    cannot = "private_key cannot sign RS256 assertions"
    if is_rsa_public or "PUBLIC KEY" in label or "CERTIFICATE" in label:
        what = "a certificate" if "CERTIFICATE" in label else "a public key"
        return (
            f"{cannot}: it is {what}, but signing needs the private key; pass {_PEM_FORM} "
            "(the public key is the one registered with Buzz)"
        )
    if not labels:
        return (
            f"{cannot}: it is not a PEM key at all (no '-----BEGIN ...-----' line); "
            f"pass {_PEM_FORM}"
        )
    if "ENCRYPTED" in label or "Proc-Type: 4,ENCRYPTED" in text:
        return (
            f"{cannot}: the key is encrypted with a passphrase; pass it unencrypted, e.g. "
            "from 'openssl pkey -in key.pem -out plain-key.pem'"
        )
    if "PRIVATE KEY" in label:
        return (
            f"{cannot}: it is a PEM block labelled {label!r} that is not a readable RSA "
            "private key (another key type such as EC, or a damaged copy; Buzz signs with "
            f"RSA, RS256); pass {_PEM_FORM}"
        )
    return f"{cannot}: it is a PEM block labelled {label!r}, not a private key; pass {_PEM_FORM}"


def _lifetime(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 3600.0  # Agilix documents one hour
    return seconds if math.isfinite(seconds) and seconds > 0 else 3600.0


def _minutes(value: Any) -> float | None:
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        return None
    return minutes if math.isfinite(minutes) and minutes > 0 else None


class BuzzLogin(BuzzAuth):
    """The legacy ``login3`` command (Agilix recommends :class:`BuzzJWTAuth` instead).

    The session lasts ``authenticationexpirationminutes`` (from the login answer) after
    the last request. When half of that has passed without a request, ``extendsession``
    keeps it alive; when all of it has passed, the plug-in logs in again.

    Args:
        username: ``"<userspace>/<username>"`` (a user name is unique only within its
            domain's userspace).
        password: the password.
        clock: monotonic seconds; injectable for tests.
    """

    def __init__(
        self, username: str, password: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        if not isinstance(username, str) or "/" not in username.strip("/"):
            raise ConfigurationError(
                "username must be '<userspace>/<username>', e.g. 'myschool/sync-bot'"
            )
        if not isinstance(password, str) or not password:
            raise ConfigurationError("password is required for BuzzLogin")
        self.username = username
        self._password = password
        self._clock = clock
        self._token: str | None = None
        self._lifetime = 15 * 60.0
        self._last_used = 0.0
        self.logins = 0
        self.extensions = 0

    def __repr__(self) -> str:
        userspace = self.username.split("/", 1)[0]
        return f"BuzzLogin(userspace={userspace!r}, username='***', password='***')"

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self._password, self._token) if s)

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def token(self) -> str:
        with self._lock:
            now = self._clock()
            idle = now - self._last_used
            expired = self._token is None or idle >= self._lifetime
            if expired or (idle >= self._lifetime / 2 and not self._extend()):
                self._login()
            self._last_used = self._clock()
            assert self._token is not None
            return self._token

    def _command_url(self, cmd: str) -> str:
        if self._base_url is None:
            raise ConfigurationError("BuzzLogin must be used through a BuzzClient (no server URL)")
        return f"{self._base_url}/cmd/{cmd}"

    def _login(self) -> None:
        body = {"request": {"cmd": "login3", "username": self.username, "password": self._password}}
        response = self._post(self._command_url("login3"), json=body)
        answer = _dlap_response(response)
        user = answer.get("user") if answer else None
        code = answer.get("code") if answer else None
        token = user.get("token") if isinstance(user, Mapping) else None
        if code != "OK" or not isinstance(token, str) or not token:
            raise BuzzAuthenticationError(
                f"login3 on {_host(self._command_url('login3'))} was refused "
                f"(HTTP {response.status_code}, code {code!r}); check the userspace, "
                "user name and password",
                code=code if isinstance(code, str) else None,
                status_code=response.status_code,
            )
        minutes = _minutes(user.get("authenticationexpirationminutes") if user else None)
        self._lifetime = minutes * 60.0 if minutes is not None else 15 * 60.0
        self._token = token
        self.logins += 1
        logger.info("Buzz login3 session opened for userspace %s", self.username.split("/")[0])

    def _extend(self) -> bool:
        headers = {"Authorization": f"Bearer {self._token}", "User-Agent": self._user_agent}
        try:
            response = self._http().get(
                self._command_url("extendsession"), headers=headers, timeout=self._timeout
            )
        except requests.RequestException:
            return False
        answer = _dlap_response(response)
        if not answer or answer.get("code") != "OK":
            return False
        self.extensions += 1
        return True


def _dlap_response(response: requests.Response) -> Mapping[str, Any] | None:
    payload = _json_object(response)
    inner = payload.get("response") if payload else None
    return inner if isinstance(inner, Mapping) else None


class BuzzToken(BuzzAuth):
    """A bearer token obtained elsewhere. It cannot be renewed: a ``NoAuthentication``
    answer raises :class:`~oneroster_client.buzz.BuzzAuthenticationError`."""

    renewable = False

    def __init__(self, token: str) -> None:
        super().__init__()
        if not isinstance(token, str) or not token.strip():
            raise ConfigurationError("token is required for BuzzToken")
        self._token = token.strip()

    def __repr__(self) -> str:
        # A token is a whole credential: nothing of it is shown (``mask`` is for ids).
        return "BuzzToken(token='***')"

    def token(self) -> str:
        return self._token

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)
