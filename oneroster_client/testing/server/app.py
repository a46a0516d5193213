"""The server object: lifecycle, the helpers tests use, and the answer to each request."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any

import attrs

from oneroster_client.testing.background import BackgroundServer
from oneroster_client.testing.district import District
from oneroster_client.testing.server import faults as fault_modes
from oneroster_client.testing.server.auth import ALL_SCOPES, Authenticator
from oneroster_client.testing.server.faults import Faults
from oneroster_client.testing.server.gradebook import GradebookRules
from oneroster_client.testing.server.http import HTTPServer, Limits, Request, Response
from oneroster_client.testing.server.refusal import Refusal, error_payload
from oneroster_client.testing.server.render import Renderer
from oneroster_client.testing.server.routes import Call, Operations, Outcome, Router
from oneroster_client.testing.server.store import Store

__all__ = ["OneRosterServer", "ServedRequest"]

_TOKEN_PATH = "/oauth/token"


@attrs.frozen
class ServedRequest:
    """One request the server answered (no headers kept: they may carry secrets).

    Attributes:
        method: the HTTP method.
        path: the decoded path.
        query: the decoded query parameters.
        status: the status answered.
        auth: ``"bearer"``, ``"oauth1"``, or ``None`` before (or without) authentication.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    auth: str | None


class OneRosterServer(BackgroundServer):
    """A real OneRoster 1.1 HTTP server on loopback, for tests, demos and benchmarks.

    Args:
        district: the data to serve; an empty district when omitted. Gradebook PUT and
            DELETE change it in place.
        host: the interface; loopback by default, and tests should keep it so.
        port: 0 picks a free port.
        base_path: the OneRoster base path, after any vendor prefix.
        client_id: the OAuth 2 client id, also the OAuth 1 consumer key.
        client_secret: the secret for both schemes; random when omitted.
        scopes: the scopes this client may be granted.
        auth: accepted schemes: any of ``"oauth1"``, ``"oauth2"``; empty for no auth.
        default_limit: page size when the request gives no ``limit``.
        delete_status: 204 (default) or 200 for gradebook DELETE.
        faults: what to get wrong; change ``server.faults`` attributes at any time.
        request_timeout: seconds a request may take to arrive in full, and seconds an idle
            connection is kept open; a request still incomplete then gets 408.
        max_body_bytes: the largest request body accepted; larger ones get 413.
        gradebook_rules: what gradebook writes must satisfy beyond the checks every write
            gets (DateTimes only, whole-number points possible, short titles, a score on
            every result), as some SIS demand; none by default. Change
            ``server.gradebook_rules`` at any time.

    Gradebook PUTs are validated as a strict SIS does (see
    :mod:`oneroster_client.testing.server.gradebook`): references to unknown records,
    values outside the 1.1 vocabularies, wrong number or date types and a body sourcedId
    that differs from the path are refused with 422 and one ``statusInfo`` per field.
    """

    _thread_name = "oneroster-server"

    def __init__(
        self,
        district: District | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        base_path: str = "/ims/oneroster/v1p1",
        client_id: str = "oneroster-test-client",
        client_secret: str | None = None,
        scopes: Iterable[str] = ALL_SCOPES,
        auth: Iterable[str] = ("oauth1", "oauth2"),
        default_limit: int = 100,
        delete_status: int = 204,
        faults: Faults | None = None,
        request_timeout: float = 10.0,
        max_body_bytes: int = 1024 * 1024,
        gradebook_rules: GradebookRules | None = None,
    ) -> None:
        self.district = district if district is not None else District()
        self.host = host
        self.base_path = "/" + base_path.strip("/")
        self.faults = faults if faults is not None else Faults()
        self.gradebook_rules = gradebook_rules if gradebook_rules is not None else GradebookRules()
        self.requests: list[ServedRequest] = []
        self.token_requests = 0
        self._lock = threading.Lock()
        self._api_requests = 0
        self._auth = Authenticator(
            client_id,
            client_secret or secrets.token_urlsafe(24),
            frozenset(scopes),
            frozenset(auth),
            origin=lambda: self.origin,
            faults=lambda: self.faults,
        )
        self._router = Router(self.base_path)
        self._operations = Operations(
            Store(self.district),
            Renderer(base_url=lambda: self.base_url, faults=lambda: self.faults),
            origin=lambda: self.origin,
            faults=lambda: self.faults,
            default_limit=default_limit,
            delete_status=delete_status,
            gradebook_rules=lambda: self.gradebook_rules,
        )
        limits = Limits(request_timeout=request_timeout, max_body_bytes=max_body_bytes)
        self._httpd = HTTPServer((host, port), self._answer, limits)

    def __repr__(self) -> str:
        return f"OneRosterServer(base_url={self.base_url!r}, client_id={self.client_id!r})"

    # --- configuration ------------------------------------------------------------------

    @property
    def client_id(self) -> str:
        """The OAuth 2 client id, also the OAuth 1 consumer key."""
        return self._auth.client_id

    @property
    def client_secret(self) -> str:
        """The secret for both schemes."""
        return self._auth.client_secret

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes this client may be granted."""
        return self._auth.scopes

    @property
    def auth_schemes(self) -> frozenset[str]:
        """The accepted schemes (``"oauth1"``, ``"oauth2"``)."""
        return self._auth.schemes

    @property
    def default_limit(self) -> int:
        """The page size when a request gives no ``limit``."""
        return self._operations.default_limit

    @property
    def delete_status(self) -> int:
        """The status of a successful gradebook DELETE."""
        return self._operations.delete_status

    @property
    def _tokens(self) -> dict[str, tuple[float, float, frozenset[str]]]:
        # Tests reach in to age tokens: token -> (announced expiry, real expiry, scopes).
        return self._auth.tokens

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OneRoster base URL, e.g. ``http://127.0.0.1:5123/ims/oneroster/v1p1``."""
        return self.origin + self.base_path

    @property
    def token_url(self) -> str:
        """The OAuth 2 token endpoint."""
        return self.origin + _TOKEN_PATH

    # --- helpers for tests --------------------------------------------------------------

    def oauth1(self, signature_method: str = "HMAC-SHA256") -> Any:
        """An :class:`~oneroster_client.auth.OAuth1` plug-in with this server's credentials."""
        from oneroster_client.auth import OAuth1

        return OAuth1(self.client_id, self.client_secret, signature_method=signature_method)

    def oauth2(self, scopes: Iterable[str] = (), client_auth: str = "basic") -> Any:
        """An :class:`~oneroster_client.auth.OAuth2ClientCredentials` for this server."""
        from oneroster_client.auth import OAuth2ClientCredentials

        return OAuth2ClientCredentials(
            self.token_url,
            self.client_id,
            self.client_secret,
            scopes=tuple(scopes),
            client_auth=client_auth,  # type: ignore[arg-type]
        )

    def issue_token(self, scopes: Iterable[str] | None = None, lifetime: float = 3600.0) -> str:
        """Mint a bearer token directly (for pre-issued token tests)."""
        granted = frozenset(scopes) if scopes is not None else self.scopes
        return self._auth.issue(granted, lifetime, lifetime)

    def expire_tokens(self) -> None:
        """Make every issued token invalid now (a server that restarted, say)."""
        self._auth.expire_all()

    def statuses(self) -> list[int]:
        """HTTP statuses of the API requests served so far, in order."""
        return [request.status for request in self.requests]

    # --- request handling ---------------------------------------------------------------

    def _answer(self, request: Request) -> Response:
        """The response to one request; never raises."""
        try:
            if request.path == _TOKEN_PATH:
                return self._answer_token(request)
            return self._answer_api(request)
        except Exception as exc:  # a test server must answer, not drop the connection
            refusal = Refusal(
                500, "internal_server_error", f"the server failed ({type(exc).__name__})"
            )
            return Response(500, error_payload(refusal), close=True)

    def _answer_token(self, request: Request) -> Response:
        with self._lock:
            self.token_requests += 1
        if request.body_error is not None:
            return _refusal_response(request.body_error)
        self._delay()
        status, body = self._auth.token_endpoint(request)
        return Response(status, _json(body), {"Cache-Control": "no-store"})

    def _answer_api(self, request: Request) -> Response:
        auth_kind: str | None = None
        try:
            if request.body_error is not None:
                raise request.body_error
            self._delay()
            route = self._router.match(request.method, request.path)
            if route is None:
                # Unknown paths say so before any auth check, like real servers' routers.
                raise Refusal(
                    404,
                    "unknown object",
                    f"no OneRoster operation at {request.method} {request.path}",
                )
            auth_kind = self._auth.authenticate(request, route[0])
            response = self._run(Call(route[0], route[1], request, self._count_request()))
        except Refusal as refusal:
            response = _refusal_response(refusal)
        with self._lock:
            served = ServedRequest(
                request.method, request.path, request.query, response.status, auth_kind
            )
            self.requests.append(served)
        return response

    def _delay(self) -> None:
        if self.faults.latency:
            time.sleep(self.faults.latency)

    def _count_request(self) -> int:
        with self._lock:
            self._api_requests += 1
            return self._api_requests

    def _run(self, call: Call) -> Response:
        faults = self.faults
        failure = fault_modes.injected_failure(faults, call.count, self._lock)
        if failure is not None:
            raise failure
        status, body, headers = self._operations.run(call)
        response = Response(status, self._encode(call, (status, body, headers)), headers)
        fault_modes.misdeliver(faults, call.count, response)
        return response

    def _encode(self, call: Call, outcome: Outcome) -> bytes:
        status, body, _headers = outcome
        if body is None:
            return b""
        key = call.op.key or ""
        if call.op.method == "GET" and status == 200:
            fault_modes.withhold_records(self.faults, call.count, body, key)
        kind = fault_modes.take_malformed(self.faults, self._lock)
        return fault_modes.encode_body(self.faults, body, key, kind)


def _refusal_response(refusal: Refusal) -> Response:
    return Response(
        refusal.status, error_payload(refusal), dict(refusal.headers), close=refusal.close
    )


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
