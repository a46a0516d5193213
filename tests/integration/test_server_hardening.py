"""Integration: the loopback server answers malformed and stalled requests, never hangs.

Raw sockets and ``requests`` against a server with a short ``request_timeout``: deeply
nested bodies, bad ``Content-Length`` values, bodies shorter than announced, connections
that send nothing or half a request line, headers dripped past the deadline, and OAuth 1
timestamps that are not whole numbers. Each gets an HTTP answer (400, 401, 408, 413) or a
closed connection within the timeout, and the server keeps serving afterwards.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from oauthlib import oauth1

from oneroster_client.testing.generator import generate_district
from oneroster_client.testing.server import OneRosterServer

TIMEOUT = 0.3  # the server's request_timeout in these tests
PATIENCE = 5.0  # how long a test waits for an answer before calling the server hung


@pytest.fixture
def server() -> Iterator[OneRosterServer]:
    district = generate_district(students=10, seed=3)
    with OneRosterServer(district, request_timeout=TIMEOUT, max_body_bytes=256 * 1024) as started:
        yield started


def _connect(server: OneRosterServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=PATIENCE)


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; fails if it neither answers nor closes."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        except TimeoutError:
            pytest.fail(f"the server neither answered nor closed within {PATIENCE} s")
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _status(raw: bytes) -> int:
    assert raw.startswith(b"HTTP/1.1 "), raw[:80]
    return int(raw.split(b" ", 2)[1])


def _status_info(raw: bytes) -> dict[str, str]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower(), head
    (info,) = json.loads(body)["statusInfoSet"]
    assert (info["imsx_codeMajor"], info["imsx_severity"]) == ("failure", "error")
    return info  # type: ignore[no-any-return]


def _raw_request(server: OneRosterServer, data: bytes, *, half_close: bool = False) -> bytes:
    with _connect(server) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return _read_until_closed(sock)


def _put_head(server: OneRosterServer, content_length: str) -> bytes:
    return (
        f"PUT {server.base_path}/categories/cat-x HTTP/1.1\r\n"
        f"Host: {server.host}:{server.port}\r\n"
        f"Authorization: Bearer {server.issue_token()}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {content_length}\r\n\r\n"
    ).encode()


def _assert_still_serving(server: OneRosterServer) -> None:
    token = server.issue_token()
    response = requests.get(
        server.base_url + "/orgs", headers={"Authorization": f"Bearer {token}"}, timeout=PATIENCE
    )
    assert response.status_code == 200


def _put(server: OneRosterServer, body: bytes) -> requests.Response:
    headers = {
        "Authorization": f"Bearer {server.issue_token()}",
        "Content-Type": "application/json",
    }
    return requests.put(
        server.base_url + "/categories/cat-x", data=body, headers=headers, timeout=PATIENCE
    )


# --- bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000, id="bare-brackets"),
        pytest.param(b'{"category": ' + b"[" * 100_000, id="in-the-envelope"),
        pytest.param(b'{"category": {"metadata": ' + b'{"a": ' * 30_000, id="nested-objects"),
    ],
)
def test_deeply_nested_put_body_is_a_bad_request(server: OneRosterServer, body: bytes) -> None:
    response = _put(server, body)
    assert response.status_code == 400, response.text
    (info,) = response.json()["statusInfoSet"]
    assert info["imsx_codeMinor"] == "invalid data"
    assert "nested too deeply" in info["imsx_description"]
    _assert_still_serving(server)


@pytest.mark.parametrize(
    ("length", "status", "fragment"),
    [
        ("abc", 400, "Content-Length must be a whole number"),
        ("-5", 400, "Content-Length must be a whole number"),
        ("+5", 400, "Content-Length must be a whole number"),
        ("1e3", 400, "Content-Length must be a whole number"),
        ("", 400, "Content-Length must be a whole number"),
        ("\u0663", 400, "Content-Length must be a whole number"),  # a non-ASCII digit
        ("262145", 413, "accepts at most 262144"),
        ("99999999999999999999999999999999", 413, "accepts at most 262144"),
    ],
)
def test_bad_content_length_is_answered_and_the_connection_closed(
    server: OneRosterServer, length: str, status: int, fragment: str
) -> None:
    raw = _raw_request(server, _put_head(server, length))
    assert _status(raw) == status
    assert fragment in _status_info(raw)["imsx_description"]
    assert server.requests[-1].status == status
    _assert_still_serving(server)


def test_conflicting_content_lengths_are_a_bad_request(server: OneRosterServer) -> None:
    head = _put_head(server, "5").replace(b"\r\n\r\n", b"\r\nContent-Length: 7\r\n\r\n")
    raw = _raw_request(server, head + b"1234567")
    assert _status(raw) == 400
    assert "conflicting Content-Length" in _status_info(raw)["imsx_description"]


def test_body_shorter_than_announced_gets_408_after_the_timeout(server: OneRosterServer) -> None:
    started = time.monotonic()
    with _connect(server) as sock:
        sock.sendall(_put_head(server, "100") + b'{"category"')
        raw = _read_until_closed(sock)
    elapsed = time.monotonic() - started
    assert _status(raw) == 408
    assert "did not arrive in time" in _status_info(raw)["imsx_description"]
    assert TIMEOUT * 0.8 <= elapsed < PATIENCE
    _assert_still_serving(server)


def test_body_cut_short_by_the_client_is_a_bad_request(server: OneRosterServer) -> None:
    raw = _raw_request(server, _put_head(server, "100") + b'{"category"', half_close=True)
    assert _status(raw) == 400
    assert "ended after 11 of the 100 bytes" in _status_info(raw)["imsx_description"]


# --- stalled connections --------------------------------------------------------------------


def test_a_connection_that_sends_nothing_is_closed_after_the_timeout(
    server: OneRosterServer,
) -> None:
    started = time.monotonic()
    with _connect(server) as sock:
        assert _read_until_closed(sock) == b""  # closed, with nothing to answer
    assert TIMEOUT * 0.8 <= time.monotonic() - started < PATIENCE


def test_half_a_request_line_gets_408_after_the_timeout(server: OneRosterServer) -> None:
    started = time.monotonic()
    with _connect(server) as sock:
        sock.sendall(f"GET {server.base_path}/or".encode())
        raw = _read_until_closed(sock)
    assert _status(raw) == 408
    assert TIMEOUT * 0.8 <= time.monotonic() - started < PATIENCE


def test_half_a_request_line_then_end_of_input_is_a_bad_request(server: OneRosterServer) -> None:
    raw = _raw_request(server, f"GET {server.base_path}/or".encode(), half_close=True)
    assert _status(raw) == 400
    assert "request line is incomplete" in _status_info(raw)["imsx_description"]


def test_headers_dripped_past_the_deadline_get_408(server: OneRosterServer) -> None:
    # Each byte arrives well within the timeout; the request as a whole does not.
    head = f"GET {server.base_path}/orgs HTTP/1.1\r\nX-Slow: " + "z" * 40
    started = time.monotonic()
    with _connect(server) as sock:
        answered = b""
        for byte in head.encode():
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            readable, _, _ = select.select([sock], [], [], TIMEOUT / 6)
            if readable:
                answered = _read_until_closed(sock)
                break
        else:
            answered = _read_until_closed(sock)
    assert _status(answered) == 408
    # Without a deadline the last byte would go out after about 3.5 s and the 408 follow.
    assert time.monotonic() - started < 2.5


def test_an_idle_keep_alive_connection_is_closed_without_a_stray_answer(
    server: OneRosterServer,
) -> None:
    # A 408 sent on an idle connection would be read as the answer to the client's next
    # request on it; closing quietly lets the client's pool open a new connection.
    request = (
        f"GET {server.base_path}/orgs HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {server.issue_token()}\r\n\r\n"
    ).encode()
    with _connect(server) as sock:
        sock.sendall(request)
        raw = _read_until_closed(sock)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert _status(raw) == 200
    length = int(next(v for k, v in _headers(head) if k == "content-length"))
    assert len(body) == length, "nothing may follow the answer on an idle connection"


def _headers(head: bytes) -> list[tuple[str, str]]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines)]


def test_stalled_connections_do_not_hold_up_other_clients() -> None:
    # A long timeout here, so an answer that waited for the stalled ones would show.
    with OneRosterServer(generate_district(students=10, seed=3), request_timeout=30.0) as slow:
        stalled = [_connect(slow) for _ in range(8)]
        try:
            for sock in stalled[:4]:
                sock.sendall(b"GET /ims/one")
            started = time.monotonic()
            _assert_still_serving(slow)
            assert time.monotonic() - started < PATIENCE / 2
        finally:
            for sock in stalled:
                sock.close()


def test_an_unexpected_error_is_answered_with_500(
    server: OneRosterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(server._operations, "run", broken)
    token = server.issue_token()
    response = requests.get(
        server.base_url + "/orgs", headers={"Authorization": f"Bearer {token}"}, timeout=PATIENCE
    )
    assert response.status_code == 500
    (info,) = response.json()["statusInfoSet"]
    assert info["imsx_codeMinor"] == "internal_server_error"
    assert "KeyError" in info["imsx_description"]


# --- OAuth 1 timestamps ---------------------------------------------------------------------


def _signed_with_timestamp(server: OneRosterServer, url: str, timestamp: str) -> dict[str, str]:
    """Headers signed by oauthlib (valid signature) with ``timestamp`` as oauth_timestamp."""
    client = oauth1.Client(
        server.client_id,
        client_secret=server.client_secret,
        signature_method=oauth1.SIGNATURE_HMAC_SHA256,
        timestamp=timestamp or "0",
    )
    _uri, headers, _body = client.sign(url)
    if not timestamp:
        headers["Authorization"] = headers["Authorization"].replace(
            'oauth_timestamp="0"', 'oauth_timestamp=""'
        )
    return headers  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "timestamp",
    [
        *("nan", "NaN", "inf", "1e309", "12.5", "", " 1700000000", "+1700000000", "-1"),
        "\u0661\u0667" + "\u0660" * 8,  # Arabic-Indic digits: int() would read them
    ],
)
def test_oauth1_timestamp_that_is_not_whole_seconds_is_unauthorized(
    server: OneRosterServer, timestamp: str
) -> None:
    url = server.base_url + "/orgs"
    if timestamp.strip() == "1700000000" or timestamp == "+1700000000":
        # Otherwise plausible: put it in the window, so only its spelling is wrong.
        timestamp = timestamp.replace("1700000000", str(int(time.time())))
    response = requests.get(
        url, headers=_signed_with_timestamp(server, url, timestamp), timeout=PATIENCE
    )
    assert response.status_code == 401, response.text
    (info,) = response.json()["statusInfoSet"]
    assert info["imsx_codeMinor"] == "unauthorized"
    assert "oauth_timestamp must be a whole number of seconds" in info["imsx_description"]


def test_oauth1_timestamp_in_whole_seconds_is_accepted(server: OneRosterServer) -> None:
    url = server.base_url + "/orgs"
    headers = _signed_with_timestamp(server, url, str(int(time.time())))
    assert requests.get(url, headers=headers, timeout=PATIENCE).status_code == 200


def test_token_request_with_a_bad_content_length_is_answered(server: OneRosterServer) -> None:
    head = (
        "POST /oauth/token HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: -1\r\n\r\n"
    )
    raw = _raw_request(server, head.encode())
    assert _status(raw) == 400
    assert "Content-Length" in _status_info(raw)["imsx_description"]
    assert server.token_requests == 1
    assert server.requests == [], "token requests are not API requests"
