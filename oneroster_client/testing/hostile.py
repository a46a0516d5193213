"""A scripted loopback HTTP server for testing clients against misbehaving servers.

:class:`ScriptedServer` answers every request with whatever a script says: any status,
headers and body, and also what well-behaved servers never do: drip the body a byte at a
time, close the connection without answering, cut the body short after announcing its
length, or send a compressed body that expands enormously. Tests use it where the
loopback :class:`~oneroster_client.testing.OneRosterServer` would be too polite::

    def script(request: Received) -> Reply:
        if request.path.endswith("/token"):
            return Reply(307, headers=[("Location", "http://evil.example/token")])
        return Reply(200, body={"users": []})

    with ScriptedServer(script) as server:
        ...  # point a client at server.url("/ims/oneroster/v1p1")

It binds to 127.0.0.1 only and records every request it received in
:attr:`ScriptedServer.received`.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from oneroster_client.testing.background import BackgroundServer

__all__ = ["Received", "Reply", "ScriptedServer", "gzip_bomb"]


@attrs.frozen
class Received:
    """A request as the scripted server received it.

    Attributes:
        method: the HTTP method.
        target: the request target as sent (path and query).
        path: the path part of the target.
        query: the query parameters, decoded, in order.
        headers: the request headers (names as sent).
        body: the request body.
    """

    method: str
    target: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def param(self, name: str) -> str | None:
        """The first query parameter called ``name``."""
        for key, value in self.query:
            if key == name:
                return value
        return None


@attrs.frozen
class Reply:
    """What the scripted server answers.

    Attributes:
        status: the HTTP status code.
        body: bytes, text, or any other value sent as JSON.
        headers: extra response headers, in order.
        drip: seconds to wait before each byte of the body (a slow-loris server).
        close: close the connection without sending anything.
        cut_after: send this many bytes of the body, then close (the announced
            ``Content-Length`` stays the full length).
        content_length: announce this ``Content-Length`` instead of the real one.
        delay: seconds to wait before answering at all.
    """

    status: int = 200
    body: Any = b""
    headers: Sequence[tuple[str, str]] = ()
    drip: float | None = None
    close: bool = False
    cut_after: int | None = None
    content_length: int | None = None
    delay: float = 0.0

    def payload(self) -> bytes:
        """The body as bytes."""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


Script = Callable[[Received], Reply] | Sequence[Reply]


def gzip_bomb(expanded_bytes: int) -> bytes:
    """A small gzip body that expands to ``expanded_bytes`` of JSON-looking whitespace."""
    chunk = b" " * (1 << 20)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as stream:
        stream.write(b'{"users": [')
        remaining = expanded_bytes
        while remaining > 0:
            piece = chunk[: min(len(chunk), remaining)]
            stream.write(piece)
            remaining -= len(piece)
        stream.write(b"]}")
    return buffer.getvalue()


class ScriptedServer(BackgroundServer):
    """A loopback HTTP/1.1 server that answers from a script.

    Args:
        script: a function from :class:`Received` to :class:`Reply`, or a list of replies
            served in order (the last one repeats).
    """

    _thread_name = "scripted-server"

    def __init__(self, script: Script) -> None:
        self._script = script
        self._served = 0
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.scripted = self

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        """An absolute URL on this server."""
        return self.origin + path

    def _reply_for(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            index = self._served
            self._served += 1
        if callable(self._script):
            return self._script(request)
        replies = list(self._script)
        return replies[min(index, len(replies) - 1)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    scripted: ScriptedServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        request = Received(
            method=self.command,
            target=self.path,
            path=split.path,
            query=parse_qsl(split.query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            body=body,
        )
        reply = self.server.scripted._reply_for(request)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.close:
            self.close_connection = True
            self._drop()
            return
        payload = reply.payload()
        self.send_response(reply.status)
        names = {name.lower() for name, _ in reply.headers}
        for name, value in reply.headers:
            self.send_header(name, value)
        if "content-type" not in names and payload:
            self.send_header("Content-Type", "application/json")
        if "content-length" not in names:
            announced = reply.content_length if reply.content_length is not None else len(payload)
            self.send_header("Content-Length", str(announced))
        self.end_headers()
        if reply.cut_after is not None:
            self.wfile.write(payload[: reply.cut_after])
            self.wfile.flush()
            self.close_connection = True
            self._drop()
            return
        if reply.drip is not None:
            for index in range(len(payload)):
                self.wfile.write(payload[index : index + 1])
                self.wfile.flush()
                time.sleep(reply.drip)
            return
        self.wfile.write(payload)

    def _drop(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle
