"""The HTTP layer: a threaded HTTP/1.1 server that reads requests within limits.

Every connection gets an answer or is closed, never left hanging: a request that does not
arrive in full within ``request_timeout`` gets 408 (or, if nothing at all arrived, the
connection is closed), a body with a missing, malformed, negative or oversized
``Content-Length`` gets 400 or 413, and the connection is closed whenever the body was not
read in full, so the rest of it cannot be parsed as the next request. The application
behind it is a callable from :class:`Request` to :class:`Response`.
"""

from __future__ import annotations

import contextlib
import io
import socket
import time
from collections.abc import Callable
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

from oneroster_client.testing.server.refusal import Refusal, error_payload

__all__ = ["HTTPServer", "Limits", "Request", "Response"]

_MAX_REQUEST_LINE = 65536
_READ_CHUNK = 64 * 1024
_METHODS = frozenset({"GET", "PUT", "DELETE", "POST", "PATCH"})


@attrs.frozen
class Limits:
    """What the server tolerates from a client.

    Attributes:
        request_timeout: seconds a request may take to arrive in full (request line,
            headers and body), and seconds an idle keep-alive connection is kept open.
        max_body_bytes: the largest request body accepted; larger ones get 413.
    """

    request_timeout: float = 10.0
    max_body_bytes: int = 1024 * 1024


@attrs.frozen
class Request:
    """One request, read in full.

    Attributes:
        method: the HTTP method.
        target: the request target as sent (path and query, still encoded).
        path: the decoded path.
        query_pairs: the decoded query parameters, in order, blanks kept.
        headers: the request headers.
        body: the request body (empty when it could not be read).
        body_error: why the body could not be read; the application answers with it.
    """

    method: str
    target: str
    path: str
    query_pairs: list[tuple[str, str]]
    headers: Message
    body: bytes = b""
    body_error: Refusal | None = None

    @property
    def query(self) -> dict[str, str]:
        """The query parameters as a dict (the last of repeated names wins)."""
        return dict(self.query_pairs)

    def header(self, name: str) -> str:
        """A request header by case-insensitive name; ``""`` when absent."""
        return str(self.headers.get(name, ""))


@attrs.define
class Response:
    """What to send back, including how to misdeliver it.

    Attributes:
        status: the HTTP status.
        payload: the body bytes.
        headers: extra headers (``Content-Type`` and ``Content-Length`` are added).
        close: announce ``Connection: close`` and close after answering.
        drip_seconds: pause before each chunk of the body.
        drip_chunk_bytes: the chunk size when dripping.
        cut_after: send only this many body bytes, then drop the connection.
    """

    status: int
    payload: bytes = b""
    headers: dict[str, str] = attrs.field(factory=dict)
    close: bool = False
    drip_seconds: float = 0.0
    drip_chunk_bytes: int = 1024
    cut_after: int | None = None


Application = Callable[[Request], Response]


class HTTPServer(ThreadingHTTPServer):
    """A threaded server that hands each request to ``app``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: Application, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        super().__init__(address, _Handler)


class _DeadlineReader(io.RawIOBase):
    """Socket reads that give up at a deadline, not just after a quiet spell.

    A per-read timeout alone lets a client that sends one byte now and then hold a handler
    thread for ever; the deadline bounds the whole request.
    """

    def __init__(self, sock: socket.socket, idle_timeout: float) -> None:
        self._sock = sock
        self._idle_timeout = idle_timeout
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        timeout = self._idle_timeout
        if self.deadline is not None:
            timeout = min(timeout, self.deadline - time.monotonic())
            if timeout <= 0:
                raise TimeoutError("request deadline passed")
        self._sock.settimeout(timeout)
        return self._sock.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    # and delayed ACKs add about 40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: HTTPServer

    def setup(self) -> None:
        super().setup()
        # Replace the stock reader, closing it: an open makefile() keeps the socket alive.
        self.rfile.close()
        self._reader = _DeadlineReader(self.connection, self.server.limits.request_timeout)
        self._buffered = io.BufferedReader(self._reader)
        self.rfile = self._buffered

    def handle_one_request(self) -> None:
        self._reader.deadline = None
        try:
            if not self._buffered.peek(1):
                self.close_connection = True
                return
        except OSError:
            # Nothing arrived (an idle keep-alive connection, or a client that never
            # spoke): there is no request to answer, so just close.
            self.close_connection = True
            return
        self._reader.deadline = time.monotonic() + self.server.limits.request_timeout
        self._headers_sent = False
        # What parse_request would set; an answer to an unparsed request needs them.
        self.command, self.requestline, self.request_version = "", "", "HTTP/1.1"
        try:
            self._serve_one()
        except TimeoutError:
            self._give_up(Refusal(408, "invalid data", "the request did not arrive in time"))
        except OSError:
            self.close_connection = True

    def _serve_one(self) -> None:
        if not self._read_head():
            return
        request = self._build_request()
        try:
            response = self.server.app(request)
        except Exception:  # the application answers its own errors; this is a last resort
            response = Response(500, error_payload(_internal_error()), close=True)
        self._reader.deadline = None
        self._send(response)

    def _read_head(self) -> bool:
        """Read and parse the request line and headers; False when already answered."""
        self.raw_requestline = self.rfile.readline(_MAX_REQUEST_LINE + 1)
        if len(self.raw_requestline) > _MAX_REQUEST_LINE:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            self.close_connection = True
            return False
        if not self.raw_requestline.endswith(b"\n"):
            # The client stopped sending in the middle of the request line; it may still
            # be listening.
            self._give_up(Refusal(400, "invalid data", "the request line is incomplete"))
            return False
        if not self.parse_request():
            return False
        if self.command not in _METHODS:
            self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"unsupported method {self.command!r}")
            self.close_connection = True
            return False
        return True

    def _build_request(self) -> Request:
        split = urlsplit(self.path)
        body, body_error = b"", None
        try:
            body = self._read_body()
        except Refusal as refusal:
            body_error = refusal
        return Request(
            method=self.command,
            target=self.path,
            path=unquote(split.path),
            query_pairs=parse_qsl(split.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            body_error=body_error,
        )

    def _read_body(self) -> bytes:
        """Read the body announced by ``Content-Length``; raise a closing Refusal if bad."""
        if self.headers.get("Transfer-Encoding"):
            raise Refusal(411, "invalid data", "send the body with a Content-Length", close=True)
        length = _content_length(self.headers.get_all("Content-Length") or [])
        limit = self.server.limits.max_body_bytes
        if length > limit:
            raise Refusal(
                413,
                "invalid data",
                f"the body is {length} bytes; this server accepts at most {limit}",
                close=True,
            )
        chunks: list[bytes] = []
        received = 0
        while received < length:
            # TimeoutError propagates: the caller answers 408.
            chunk = self.rfile.read(min(_READ_CHUNK, length - received))
            if not chunk:
                raise Refusal(
                    400,
                    "invalid data",
                    f"the body ended after {received} of the {length} bytes announced",
                    close=True,
                )
            chunks.append(chunk)
            received += len(chunk)
        return b"".join(chunks)

    def _give_up(self, refusal: Refusal) -> None:
        """Answer a request that could not be read (if nothing was sent yet) and close."""
        self.close_connection = True
        if self._headers_sent:
            return
        self._reader.deadline = None
        response = Response(refusal.status, error_payload(refusal), close=True)
        with contextlib.suppress(OSError):
            self._send(response)

    def _send(self, response: Response) -> None:
        self.connection.settimeout(self.server.limits.request_timeout)
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = ""
        self._headers_sent = True
        self.send_response(response.status, phrase)
        if response.payload or response.status != 204:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(response.payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.close:
            self.send_header("Connection", "close")
        self.end_headers()
        self._write_body(response)

    def _write_body(self, response: Response) -> None:
        payload = response.payload
        if response.cut_after is not None:
            payload = payload[: response.cut_after]
            self.close_connection = True
        if not response.drip_seconds:
            self.wfile.write(payload)
            return
        step = max(1, response.drip_chunk_bytes)
        for start in range(0, len(payload), step):
            time.sleep(response.drip_seconds)
            self.wfile.write(payload[start : start + step])

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: tests read server.requests instead of stderr noise.
        return


def _content_length(values: list[str]) -> int:
    """The announced body length; 0 when absent. Raises a closing 400 Refusal if invalid."""
    distinct = {value.strip() for value in values}
    if not distinct:
        return 0
    if len(distinct) > 1:
        raise Refusal(400, "invalid data", "conflicting Content-Length headers", close=True)
    text = distinct.pop()
    if not (text.isascii() and text.isdigit()):
        raise Refusal(
            400,
            "invalid data",
            "Content-Length must be a whole number of bytes, 0 or more",
            close=True,
        )
    # Compare as text first: int() of a huge digit string is slow and pointless.
    return int(text) if len(text) <= 18 else 10**18


def _internal_error() -> Refusal:
    return Refusal(500, "internal_server_error", "the server failed to answer this request")
