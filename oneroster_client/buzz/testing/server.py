"""A loopback Agilix Buzz (DLAP) server: real HTTP on loopback, faithful, faulty on request.

It answers DLAP commands at ``/cmd/<name>`` and ``/cmd?cmd=<name>`` (GET with query
parameters for reads; POST with ``{"request": {...}}`` or, for batch commands,
``{"requests": {"<entity>": [...]}}``), with Buzz's envelopes: ``{"response": {"code":
"OK", ...}}``, failures as ``{"response": {"code", "message", "errorId"}}`` inside HTTP
200, batch answers in ``response.responses.response[]`` with a code per item. It issues
tokens for RS256 JWT client assertions at ``POST /api/oauth/token`` and for ``login3``.
:class:`~oneroster_client.buzz.testing.faults.BuzzFaults` injects throttling (429,
503 ``ServerOverwhelmed``, time-limit headers), 5xx, token loss and per-item failures.

Usage::

    with BuzzServer(seed={"domains": [...], "users": [...]}) as server:
        token_url, user_id, private_key_pem, key_id = server.jwt_credentials()
        ...
        assert server.users()[0]["username"] == "ada"
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

from oneroster_client.buzz.testing.auth import Authenticator, OAuthError
from oneroster_client.buzz.testing.call import Call
from oneroster_client.buzz.testing.faults import BuzzFaults, FaultState, HttpFault
from oneroster_client.buzz.testing.gradebook import set_grade
from oneroster_client.buzz.testing.keys import default_app_key, generate_key
from oneroster_client.buzz.testing.reads import READS
from oneroster_client.buzz.testing.render import render, render_list
from oneroster_client.buzz.testing.seed import (
    APP_ID,
    SeedData,
    apply_seed,
    install_builtins,
)
from oneroster_client.buzz.testing.state import DlapError, Store
from oneroster_client.buzz.testing.writes import BATCH, SINGLE_WRITES, run_item
from oneroster_client.errors import ConfigurationError
from oneroster_client.testing.background import BackgroundServer

__all__ = ["APP_KEY_ID", "BuzzServer", "ServedCommand"]

APP_KEY_ID = "buzz-test-key-1"
"""The key id of the built-in application identity's key."""

_NO_AUTH = frozenset({"login3", "login2"})
_GATEWAY_PAGE = "<html><body><h1>{status} {phrase}</h1></body></html>"


@attrs.frozen
class ServedCommand:
    """One command the server answered (never headers, tokens or bodies).

    Attributes:
        method: ``GET`` or ``POST``.
        command: the DLAP command name ("" when none could be read).
        entities: the number of items of a batch command (0 for other commands).
        status: the HTTP status.
        code: the DLAP code of the answer ("" for a non-DLAP answer such as a 502 page).
        user_agent: the ``User-Agent`` sent (Buzz requires one naming the calling system).
    """

    method: str
    command: str
    entities: int
    status: int
    code: str
    user_agent: str = ""


@attrs.define
class _Answer:
    status: int = 200
    body: dict[str, Any] | str = attrs.field(factory=dict)
    headers: dict[str, str] = attrs.field(factory=dict)
    items: int = 0
    command: str = ""


def _failure(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "errorId": uuid.uuid4().hex}


def _envelope(code: str, message: str) -> dict[str, Any]:
    return {"response": _failure(code, message)}


def _as_parameters(request: dict[str, Any]) -> dict[str, str]:
    """A ``request`` object's values as query-string-like text (DLAP parameters are text)."""
    out: dict[str, str] = {}
    for name, value in request.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, str):
            out[name] = value
        else:
            out[name] = json.dumps(value)
    return out


class BuzzServer(BackgroundServer):
    """A real Buzz DLAP HTTP server on loopback, for tests and demos.

    Args:
        seed: entities to start from: a dict or the path of a JSON file (see
            :mod:`oneroster_client.buzz.testing.seed` for the format).
        host: the interface; keep it loopback.
        port: 0 picks a free port.
        faults: what to get wrong; change ``server.faults`` at any time.
        token_lifetime: seconds an OAuth token lasts (``expires_in``).
        session_minutes: minutes a ``login3`` session lasts after its last command.
        max_limit: the largest page a list command serves (``None``: no cap).
        admin_password: the ``login3`` password of the built-in administrator
            (random when omitted).

    Attributes:
        faults: the :class:`BuzzFaults` in force.
        store: the server's state (prefer the snapshot methods such as :meth:`users`).
        requests: a :class:`ServedCommand` per command answered, in order.
        errors: exceptions raised by server bugs (each answered HTTP 500); a test may
            assert it stays empty.
        token_requests: how many requests reached the token endpoint.
    """

    _thread_name = "buzz-server"

    def __init__(
        self,
        seed: SeedData | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: BuzzFaults | None = None,
        token_lifetime: int = 3600,
        session_minutes: int = 15,
        max_limit: int | None = None,
        admin_password: str | None = None,
    ) -> None:
        self.host = host
        self.faults = faults if faults is not None else BuzzFaults()
        self.max_limit = max_limit
        self.store = Store()
        self.requests: list[ServedCommand] = []
        self.errors: list[BaseException] = []
        self.token_requests = 0
        self._admin_password = admin_password or secrets.token_urlsafe(18)
        install_builtins(self.store, self._admin_password)
        self._auth = Authenticator(
            self.store,
            token_lifetime=token_lifetime,
            session_minutes=session_minutes,
            expire_after=lambda: self.faults.expire_tokens_after,
        )
        self._fault_state = FaultState(lambda: self.faults)
        self._private_key_pem, public = default_app_key()
        self._auth.register_key(APP_ID, public, APP_KEY_ID)
        self._log_lock = threading.Lock()
        if seed is not None:
            apply_seed(self.store, seed)
        self._httpd = _HTTPServer((host, port), _Handler, self)

    def __repr__(self) -> str:
        return f"BuzzServer(base_url={self.base_url!r})"

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The server URL (``http://127.0.0.1:<port>``); commands are under ``/cmd``."""
        return f"http://{self.host}:{self.port}"

    @property
    def token_url(self) -> str:
        """The OAuth 2 token endpoint, also the ``aud`` assertions must name."""
        return self.base_url + "/api/oauth/token"

    def cmd_url(self, command: str) -> str:
        """The path-form URL of a command, e.g. ``.../cmd/listusers``."""
        return f"{self.base_url}/cmd/{command}"

    # --- credentials --------------------------------------------------------------------

    generate_key = staticmethod(generate_key)

    @property
    def app_user_id(self) -> str:
        """The id of the built-in application-identity user (for JWT assertions)."""
        return APP_ID

    @property
    def private_key_pem(self) -> str:
        """The private key registered for :attr:`app_user_id` under :data:`APP_KEY_ID`."""
        return self._private_key_pem

    @property
    def key_id(self) -> str:
        """The key id of :attr:`private_key_pem`."""
        return APP_KEY_ID

    def jwt_credentials(self) -> tuple[str, str, str, str]:
        """``(token_url, user_id, private_key_pem, key_id)`` of the application identity."""
        return self.token_url, APP_ID, self._private_key_pem, APP_KEY_ID

    def register_key(self, user_id: str, public_key_pem: str, key_id: str | None = None) -> None:
        """Accept JWT assertions from ``user_id`` signed with this key's private half."""
        self._auth.register_key(user_id, public_key_pem, key_id)

    @property
    def login_username(self) -> str:
        """The built-in administrator's ``login3`` name, ``root/administrator``."""
        return "root/administrator"

    @property
    def login_password(self) -> str:
        """The built-in administrator's password."""
        return self._admin_password

    def login_credentials(self) -> tuple[str, str]:
        """``(username, password)`` for ``login3`` as the built-in administrator."""
        return self.login_username, self._admin_password

    def issue_token(self, user_id: str | None = None, lifetime: float | None = None) -> str:
        """Mint a bearer token directly (default: for the application identity)."""
        return self._auth.issue(user_id or APP_ID, lifetime=lifetime)

    def expire_tokens(self) -> None:
        """Invalidate every issued token and session now."""
        self._auth.expire_all()

    # --- state --------------------------------------------------------------------------

    def seed(self, data: SeedData) -> None:
        """Add entities from a dict or a JSON file (see the ``seed`` argument)."""
        apply_seed(self.store, data)

    def set_grade(
        self,
        enrollment_id: str,
        achieved: float | None,
        possible: float | None,
        *,
        letter: str | None = None,
        itemid: str | None = None,
        title: str | None = None,
        scoreddate: str | None = None,
        status: int = 0,
    ) -> None:
        """Record a grade: the course roll-up without ``itemid``, else one item's score.

        A roll-up never set is the sum of the item scores.

        Raises:
            ConfigurationError: for an unknown enrollment or a score that is not a number.
        """
        try:
            set_grade(
                self.store,
                str(enrollment_id),
                achieved,
                possible,
                letter=letter,
                itemid=itemid,
                title=title,
                scoreddate=scoreddate,
                status=status,
            )
        except DlapError as exc:
            raise ConfigurationError(f"set_grade: {exc.message}") from None

    def _snapshot(self, kind: str, include_deleted: bool) -> list[dict[str, Any]]:
        with self.store.lock:
            rows = self.store.rows(kind, "all" if include_deleted else "current")
            out = []
            for row in rows:
                rendered = copy.deepcopy(render(self.store, kind, row, detail=True))
                if include_deleted:
                    rendered["deleted"] = self.store.is_deleted(row["id"])
                out.append(rendered)
            return out

    def domains(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Domains as ``getdomain2`` renders them (with ``deleted`` when asked)."""
        return self._snapshot("domain", include_deleted)

    def users(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Users as ``getuser2`` renders them (with ``deleted`` when asked)."""
        return self._snapshot("user", include_deleted)

    def courses(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Courses as ``getcourse2`` renders them (with ``deleted`` when asked)."""
        return self._snapshot("course", include_deleted)

    def enrollments(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Enrollments as ``getenrollment3`` renders them (with ``deleted`` when asked)."""
        return self._snapshot("enrollment", include_deleted)

    def roles(self) -> list[dict[str, Any]]:
        """Roles as ``listroles`` renders them."""
        return self._snapshot("role", False)

    def rights(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Rights granted with ``updaterights``: ``(actorid, entityid) -> {flags, roleid}``."""
        with self.store.lock:
            return copy.deepcopy(self.store.rights)

    def commands(self) -> list[str]:
        """Names of the commands served so far, in order."""
        return [served.command for served in self.requests]

    def statuses(self) -> list[int]:
        """HTTP statuses of the commands served so far, in order."""
        return [served.status for served in self.requests]

    # --- request handling ---------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        path = unquote(split.path).rstrip("/")
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if self.faults.latency:
            time.sleep(self.faults.latency)
        if path == "/api/oauth/token":
            self._send(handler, self._token(handler))
            return
        if path != "/cmd" and not path.startswith("/cmd/"):
            self._send(handler, _Answer(404, _envelope("BadRequest", "Not found")))
            return
        if handler.command not in ("GET", "POST"):
            answer = _Answer(405, _envelope("BadRequest", "DLAP commands use GET or POST"))
            answer.headers["Allow"] = "GET, POST"
        else:
            answer = self._guarded(handler, path, query)
        code = answer.body["response"]["code"] if isinstance(answer.body, dict) else ""
        agent = handler.headers.get("User-Agent") or ""
        served = ServedCommand(
            handler.command, answer.command, answer.items, answer.status, code, agent
        )
        with self._log_lock:
            self.requests.append(served)
        self._send(handler, answer)

    def _guarded(self, handler: _Handler, path: str, query: dict[str, str]) -> _Answer:
        """Serve a command; a bug in the server answers 500 and is kept in ``errors``."""
        try:
            return self._command(handler, path, query)
        except Exception as exc:
            with self._log_lock:
                self.errors.append(exc)
            message = f"Loopback server bug: {type(exc).__name__}"
            return _Answer(500, _envelope("InternalError", message))

    def _token(self, handler: _Handler) -> _Answer:
        with self._log_lock:
            self.token_requests += 1
        headers = {"Cache-Control": "no-store"}
        if handler.command != "POST":
            return _Answer(405, {"error": "invalid_request"}, headers)
        form = dict(parse_qsl(handler.body.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            return _Answer(200, self._auth.token_endpoint(form, self.token_url), headers)
        except OAuthError as exc:
            body = {"error": exc.error, "error_description": exc.description}
            return _Answer(exc.status, body, headers)

    def _command(self, handler: _Handler, path: str, query: dict[str, str]) -> _Answer:
        try:
            body = self._json_body(handler)
            name = self._command_name(path, query, body)
        except DlapError as exc:
            return _Answer(body=_envelope(exc.code, exc.message))
        fault = self._fault_state.next_command()
        if fault is not None and not fault.after_commit:
            return self._fault_answer(fault, name)
        budget, exhausted = self._fault_state.spend_time_budget()
        if exhausted:
            answer = self._fault_answer(HttpFault(429, headers=(("Retry-After", "1"),)), name)
        else:
            answer = self._execute(handler, name, query, body)
            if fault is not None:
                answer = self._fault_answer(fault, name, answer.items)
        answer.headers.update(budget)
        return answer

    @staticmethod
    def _json_body(handler: _Handler) -> dict[str, Any]:
        if not handler.body.strip():
            return {}
        try:
            body = json.loads(handler.body)
        except (ValueError, RecursionError):
            raise DlapError("BadRequest", "The request body is not JSON") from None
        if not isinstance(body, dict):
            raise DlapError("BadRequest", "The request body must be a JSON object")
        return body

    @staticmethod
    def _command_name(path: str, query: dict[str, str], body: dict[str, Any]) -> str:
        request = body.get("request")
        from_body = request.get("cmd") if isinstance(request, dict) else None
        name = path[len("/cmd/") :] if path.startswith("/cmd/") else query.get("cmd") or from_body
        if not isinstance(name, str) or not name.strip():
            raise DlapError("BadRequest", "No command was given (use /cmd/<name> or cmd=<name>)")
        return name.strip().lower()

    def _fault_answer(self, fault: HttpFault, name: str, items: int = 0) -> _Answer:
        headers = dict(fault.headers)
        status = fault.status
        body: dict[str, Any] | str
        if status in (502, 504):
            phrase = HTTPStatus(status).phrase
            body = _GATEWAY_PAGE.format(status=status, phrase=phrase)
        elif status == 503:
            body = _envelope("ServerOverwhelmed", "The server is too busy; retry later")
        elif status == 429:
            body = _envelope("TooManyRequests", "Rate limit exceeded; retry later")
        elif status == 501:
            body = _envelope("NotImplemented", "Not implemented")
        else:
            body = _envelope("InternalError", "Internal server error")
        return _Answer(status, body, headers, items, name)

    def _execute(
        self, handler: _Handler, name: str, query: dict[str, str], body: dict[str, Any]
    ) -> _Answer:
        raw = body.get("request")
        request: dict[str, Any] = raw if isinstance(raw, dict) else {}
        params: dict[str, Any] = {**query, **_as_parameters(request)}
        answer = _Answer(command=name)
        try:
            kind = self._kind(name)
            token = self._token_of(handler, params)
            caller = "" if name in _NO_AUTH else self._auth.check(token)
            call = Call(
                name, params, self.store, caller, token, self.faults_collapse, self.max_limit
            )
            if kind == "batch":
                items = self._batch_items(handler, name, body)
                answer.items = len(items)
                result = self._run_batch(call, items)
            else:
                with self.store.lock:
                    result = self._run_single(call, kind)
            answer.body = {"response": {"code": "OK", **result}}
        except DlapError as exc:
            answer.body = _envelope(exc.code, exc.message)
        return answer

    @property
    def faults_collapse(self) -> bool:
        """Whether lists are written in the collapsed form (``faults.collapse_lists``)."""
        return bool(self.faults.collapse_lists)

    @staticmethod
    def _kind(name: str) -> str:
        if name in BATCH:
            return "batch"
        if name in READS or name in SINGLE_WRITES or name in ("login3", "login2", "extendsession"):
            return "single"
        raise DlapError("BadRequest", f"Unknown command '{name[:64]}'")

    @staticmethod
    def _token_of(handler: _Handler, params: dict[str, Any]) -> str:
        header = handler.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        token = params.pop("_token", "")
        return token if isinstance(token, str) else ""

    @staticmethod
    def _batch_items(handler: _Handler, name: str, body: dict[str, Any]) -> list[Any]:
        root = BATCH[name][0]
        shape = f'{{"requests": {{"{root}": [...]}}}}'
        if handler.command != "POST":
            raise DlapError("BadRequest", f"{name} needs a POST body {shape}")
        requests = body.get("requests")
        if not isinstance(requests, dict) or root not in requests:
            raise DlapError("BadRequest", f"{name} expects a body {shape}")
        items = requests[root]
        # Buzz's XML-born JSON accepts one object where a list of one is meant.
        return items if isinstance(items, list) else [items]

    def _run_batch(self, call: Call, items: list[Any]) -> dict[str, Any]:
        handler = BATCH[call.name][1]
        results: list[dict[str, Any]] = []
        for item in items:
            injected = self._fault_state.fail_batch_item()
            if injected is not None:
                results.append(_failure(injected, "Injected failure of this item"))
                continue
            try:
                results.append({"code": "OK", **run_item(call, handler, item)})
            except DlapError as exc:
                results.append(_failure(exc.code, exc.message))
        return {"responses": render_list(results, "response", collapse=call.collapse)}

    def _run_single(self, call: Call, kind: str) -> dict[str, Any]:
        if call.name in ("login3", "login2"):
            return {
                "user": self._auth.login(call.params.get("username"), call.params.get("password"))
            }
        if call.name == "extendsession":
            minutes = self._auth.remaining_minutes(call.token)
            return {
                "session": {
                    "token": call.token,
                    "authenticationexpirationminutes": minutes,
                    "userid": call.caller,
                }
            }
        handler: Callable[[Call], dict[str, Any]] = READS.get(call.name) or SINGLE_WRITES[call.name]
        return handler(call)

    def _send(self, handler: _Handler, answer: _Answer) -> None:
        if isinstance(answer.body, str):
            payload = answer.body.encode("utf-8")
            content_type = "text/html; charset=utf-8"
        else:
            payload = json.dumps(answer.body, separators=(",", ":")).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        try:
            phrase = HTTPStatus(answer.status).phrase
        except ValueError:
            phrase = ""
        handler.send_response(answer.status, phrase)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], app: BuzzServer) -> None:
        self.app = app
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without TCP_NODELAY, Nagle's algorithm and delayed ACKs add ~40 ms per keep-alive request.
    disable_nagle_algorithm = True
    server: _HTTPServer

    body: bytes = b""

    def _dispatch(self) -> None:
        # Read the whole body first, so a refusal never leaves it to be parsed as a request.
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.app._handle(self)

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: tests read server.requests instead.
        return
