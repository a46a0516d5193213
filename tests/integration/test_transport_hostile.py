"""Integration: the transport against servers that misbehave, through real HTTP.

A :class:`ScriptedServer` on 127.0.0.1 drips bodies, drops connections, cuts answers
short, sends gzip bombs and deeply nested JSON, and echoes credentials and filter values
back. Every attempt must stay bounded in time and memory, every failure must be a library
error that says what happened, and no secret or student data may reach a message.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from requests.auth import AuthBase
from requests.models import PreparedRequest

from oneroster_client import BearerToken, OAuth1, RetryPolicy
from oneroster_client.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    OneRosterError,
    PermissionDeniedError,
    ResponseFormatError,
    ServerError,
    TransportError,
)
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer, gzip_bomb
from oneroster_client.transport import DEFAULT_MAX_RESPONSE_BYTES, Transport

BASE_PATH = "/ims/oneroster/v1p1"
NO_RETRY = RetryPolicy.none()
MIB = 1024 * 1024


def _no_sleep(seconds: float) -> None:
    """A retry sleep that returns at once."""


class Stage:
    """One test's script on the module's shared server (a server takes 0.5 s to stop)."""

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.script: Any = [Reply(500)]
        self.first = 0
        self.served = 0

    def play(self, script: Any) -> Stage:
        self.script = script
        self.first = len(self.server.received)
        self.served = 0
        return self

    def __call__(self, request: Received) -> Reply:
        if callable(self.script):
            return self.script(request)  # type: ignore[no-any-return]
        index, self.served = self.served, self.served + 1
        return self.script[min(index, len(self.script) - 1)]  # type: ignore[no-any-return]

    @property
    def received(self) -> list[Received]:
        return self.server.received[self.first :]

    def url(self, path: str = "") -> str:
        return self.server.url(path)


@pytest.fixture(scope="module")
def stage() -> Iterator[Stage]:
    """A scripted server shared by the tests of this module."""
    holder: list[Stage] = []
    with ScriptedServer(lambda request: holder[0](request)) as server:
        holder.append(Stage(server))
        yield holder[0]


@pytest.fixture
def serve(stage: Stage) -> Any:
    """Give the shared server this test's script."""
    return stage.play


def _transport(server: Stage, **options: Any) -> Transport:
    options.setdefault("auth", None)
    options.setdefault("retry", NO_RETRY)
    options.setdefault("timeout", 2.0)
    return Transport(server.url(BASE_PATH), **options)


def _get(transport: Transport, path: str = "/users", **params: str) -> Any:
    return transport.request("GET", transport.url_for(path, list(params.items())))


def _texts(error: BaseException) -> list[str]:
    """Every place an exception shows text to a person or a log."""
    return [
        str(error),
        repr(error),
        str(getattr(error, "body_excerpt", "") or ""),
        str(getattr(error, "request_id", "") or ""),
        str(getattr(error, "url", "") or ""),
        *(repr(info) for info in getattr(error, "status_infos", ())),
    ]


# --- bounded time -------------------------------------------------------------------------

DRIPPED = b'{"users": []}' + b" " * 400  # at 20 ms a byte: 8 s to send in full


def test_a_dripping_server_is_cut_at_the_request_deadline(serve: Any) -> None:
    server = serve([Reply(200, body=DRIPPED, drip=0.02)])
    transport = _transport(server, timeout=1.0, request_deadline=0.4)

    started = time.monotonic()
    with pytest.raises(TransportError) as info:
        _get(transport)
    took = time.monotonic() - started

    assert took < 2.5  # every byte came within the read timeout; only the total stops it
    message = str(info.value)
    assert "too slowly" in message
    assert "0.4 s" in message
    assert f"GET {BASE_PATH}/users" in message


def test_the_default_request_deadline_is_five_read_timeouts(serve: Any) -> None:
    server = serve([Reply(200, body=DRIPPED, drip=0.02)])
    transport = _transport(server, timeout=(1.0, 0.15))

    assert transport.request_deadline == pytest.approx(0.75)
    started = time.monotonic()
    with pytest.raises(TransportError, match="too slowly"):
        _get(transport)
    assert time.monotonic() - started < 3.0


def test_a_dripping_server_cannot_outlast_the_retry_deadline(serve: Any) -> None:
    server = serve([Reply(200, body=DRIPPED, drip=0.02)])
    retry = RetryPolicy(max_attempts=10, deadline=0.5, sleep=_no_sleep)
    transport = _transport(server, timeout=0.2, request_deadline=60.0, retry=retry)

    started = time.monotonic()
    with pytest.raises(TransportError, match="too slowly"):
        _get(transport)

    assert time.monotonic() - started < 2.5
    assert len(server.received) == 1  # no time left for another attempt


def test_a_slow_but_steady_answer_within_the_deadline_is_read(serve: Any) -> None:
    body = b'{"users": [{"sourcedId": "u1"}]}'
    server = serve([Reply(200, body=body, drip=0.002)])

    response = _get(_transport(server, timeout=1.0, request_deadline=5.0))

    assert response.json() == {"users": [{"sourcedId": "u1"}]}


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), "30", True])
def test_invalid_request_deadlines_are_configuration_errors(value: Any) -> None:
    with pytest.raises(OneRosterError, match="request_deadline"):
        Transport("https://sis.example.org/ims/oneroster/v1p1", auth=None, request_deadline=value)


@pytest.mark.parametrize("value", [0, -1, 1.5, "64MiB", True])
def test_invalid_size_limits_are_configuration_errors(value: Any) -> None:
    with pytest.raises(OneRosterError, match="max_response_bytes"):
        Transport("https://sis.example.org/ims/oneroster/v1p1", auth=None, max_response_bytes=value)


# --- bounded memory ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """About 250 KB of gzip that expands to 256 MiB."""
    return gzip_bomb(256 * MIB)


def test_a_gzip_bomb_is_refused_before_it_expands(serve: Any, bomb: bytes) -> None:
    server = serve([Reply(200, body=bomb, headers=[("Content-Encoding", "gzip")])])
    transport = _transport(server, max_response_bytes=1 * MIB)

    tracemalloc.start()
    try:
        with pytest.raises(ResponseFormatError) as info:
            _get(transport)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 16 * MIB  # the limit plus a chunk, never the 256 MiB expansion
    message = str(info.value)
    assert "max_response_bytes=1048576" in message
    assert "after decompression" in message
    assert "larger max_response_bytes" in message


def test_the_default_size_limit_refuses_a_bomb(serve: Any, bomb: bytes) -> None:
    server = serve([Reply(200, body=bomb, headers=[("Content-Encoding", "gzip")])])
    transport = _transport(server)

    assert transport.max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES
    with pytest.raises(ResponseFormatError, match="max_response_bytes"):
        _get(transport)


@pytest.mark.parametrize("status", [200, 500])
def test_a_plain_body_over_the_limit_is_refused_and_not_retried(serve: Any, status: int) -> None:
    server = serve([Reply(status, body=b"[" + b" " * (2 * MIB) + b"]")])
    retry = RetryPolicy(max_attempts=3, sleep=_no_sleep)
    transport = _transport(server, max_response_bytes=1 * MIB, retry=retry)

    with pytest.raises(ResponseFormatError, match="max_response_bytes"):
        _get(transport)
    assert len(server.received) == 1


def test_a_body_at_the_limit_is_accepted(serve: Any) -> None:
    body = b'{"users": []}'
    server = serve([Reply(200, body=body)])

    response = _get(_transport(server, max_response_bytes=len(body)))

    assert response.content == body


# --- deeply nested JSON --------------------------------------------------------------------

DEEP = "[" * 200_000 + "]" * 200_000


def test_deeply_nested_json_in_a_success_is_a_response_format_error(serve: Any) -> None:
    server = serve([Reply(200, body=DEEP)])
    response = _get(_transport(server))

    with pytest.raises(ResponseFormatError) as info:
        response.json()
    message = str(info.value)
    assert f"GET {BASE_PATH}/users" in message
    assert "nested too deeply" in message


@pytest.mark.parametrize(
    "body",
    [DEEP, '{"a":' * 200_000 + "1" + "}" * 200_000, '{"statusInfoSet": ' + DEEP + "}"],
)
def test_deeply_nested_json_in_an_error_still_gives_the_api_error(serve: Any, body: str) -> None:
    server = serve([Reply(400, body=body)])

    with pytest.raises(BadRequestError) as info:
        _get(_transport(server))
    assert info.value.status_code == 400


# --- clear transport errors ----------------------------------------------------------------


def test_a_connection_closed_without_an_answer_is_not_blamed_on_dns(serve: Any) -> None:
    server = serve([Reply(close=True)])
    retry = RetryPolicy(max_attempts=2, sleep=_no_sleep)

    with pytest.raises(TransportError) as info:
        _get(_transport(server, retry=retry))

    message = str(info.value)
    assert "closed the connection without answering" in message
    assert "DNS" not in message
    assert "gave up after 2 attempts" in message
    assert len(server.received) == 2  # a GET is repeated per the policy


def test_an_answer_cut_off_mid_body_says_how_much_arrived(serve: Any) -> None:
    body = b'{"users": [' + b'{"sourcedId": "u"},' * 50 + b"{}]}"
    server = serve([Reply(200, body=body, cut_after=100)])
    retry = RetryPolicy(max_attempts=3, sleep=_no_sleep)

    with pytest.raises(TransportError) as info:
        _get(_transport(server, retry=retry))

    message = str(info.value)
    assert f"cut off after 100 of {len(body)} bytes" in message
    assert "ChunkedEncodingError" not in message
    assert len(server.received) == 3  # retried for GET like any dropped connection


def test_a_cut_off_answer_then_a_whole_one_succeeds(serve: Any) -> None:
    body = b'{"users": []}'
    server = serve([Reply(200, body=body, cut_after=3), Reply(200, body=body)])
    retry = RetryPolicy(max_attempts=2, sleep=_no_sleep)

    response = _get(_transport(server, retry=retry))

    assert response.json() == {"users": []}


# --- secrets and student data ----------------------------------------------------------------

TOKEN = "abc123def456"  # short enough that no token-shaped pattern catches it


def test_a_bearer_token_echoed_without_its_prefix_is_scrubbed(serve: Any) -> None:
    server = serve(
        [Reply(401, body={"error": f"token {TOKEN} expired"}, headers=[("X-Request-Id", TOKEN)])]
    )

    with pytest.raises(AuthenticationError) as info:
        _get(_transport(server, auth=BearerToken(TOKEN)))

    assert server.received[0].header("Authorization") == f"Bearer {TOKEN}"
    for text in _texts(info.value):
        assert TOKEN not in text
    assert "REDACTED" in str(info.value)


def test_a_token_in_an_html_error_page_is_scrubbed(serve: Any) -> None:
    page = f"<html><body><h1>Forbidden</h1><p>credential {TOKEN} may not read</p></body></html>"
    server = serve([Reply(403, body=page, headers=[("Content-Type", "text/html")])])

    with pytest.raises(PermissionDeniedError) as info:
        _get(_transport(server, auth=BearerToken(TOKEN)))

    assert info.value.body_excerpt is not None
    assert "Forbidden" in info.value.body_excerpt
    for text in _texts(info.value):
        assert TOKEN not in text


def _straddling_body(boundary: int) -> str:
    """A body whose redactable start shrinks a lot, with TOKEN cut at ``boundary``."""
    blocks, filler = 8, 34
    value_length = (boundary - 6 - filler) // blocks - 21
    block = '{"access_token": "' + "a" * value_length + '"} '
    body = block * blocks + "x" * filler
    body += TOKEN + " " + "y" * 40_000
    assert body.index(TOKEN) == boundary - 6
    return body


@pytest.mark.parametrize("boundary", [4000, 16_000])
def test_a_secret_at_the_redaction_window_edge_is_not_shown_in_half(
    serve: Any, boundary: int
) -> None:
    server = serve([Reply(500, body=_straddling_body(boundary))])

    with pytest.raises(ServerError) as info:
        _get(_transport(server, auth=BearerToken(TOKEN)))

    for text in _texts(info.value):
        assert TOKEN[:5] not in text


def test_oauth1_signature_and_nonce_echoed_back_are_scrubbed(serve: Any) -> None:
    def echo(request: Received) -> Reply:
        return Reply(
            401, body={"error": "invalid_request", "message": request.header("Authorization")}
        )

    server = serve(echo)

    with pytest.raises(AuthenticationError) as info:
        _get(_transport(server, auth=OAuth1("district-key-1234", "district-secret-5678")))

    sent = server.received[0].header("Authorization") or ""
    values = dict(part.strip().split("=", 1) for part in sent.removeprefix("OAuth ").split(","))
    for name in ("oauth_signature", "oauth_nonce"):
        value = values[name].strip('"')
        for text in _texts(info.value):
            assert value not in text


def test_filter_values_echoed_by_the_server_are_scrubbed(serve: Any) -> None:
    email = "pat.student@example.org"
    server = serve(
        [
            Reply(
                400,
                body={
                    "imsx_codeMajor": "failure",
                    "imsx_severity": "error",
                    "imsx_codeMinor": "invalid_filter_field",
                    "imsx_description": f"no field matches {email}",
                },
            )
        ]
    )

    with pytest.raises(BadRequestError) as info:
        _get(_transport(server), filter=f"email='{email}'")

    assert server.received[0].param("filter") == f"email='{email}'"
    for text in _texts(info.value):
        assert email not in text
    assert "invalid_filter_field" in str(info.value)


def test_a_successful_body_that_is_not_json_is_never_quoted(serve: Any) -> None:
    page = "<html><body>Pat Student, grade 7, pat.student@example.org</body></html>"
    server = serve([Reply(200, body=page, headers=[("Content-Type", "text/html; charset=utf-8")])])
    response = _get(_transport(server))

    with pytest.raises(ResponseFormatError) as info:
        response.json()

    error = info.value
    assert error.body_excerpt is None
    assert "text/html" in str(error)
    assert "line 1 column 1" in str(error)
    for text in _texts(error):
        assert "Pat Student" not in text
        assert "pat.student" not in text


def test_a_successful_body_that_is_not_utf8_says_where(serve: Any) -> None:
    server = serve([Reply(200, body=b'{"users": ["\xff\xfe"]}')])
    response = _get(_transport(server))

    with pytest.raises(ResponseFormatError, match="not UTF-8"):
        response.json()


# --- clear API errors ----------------------------------------------------------------------


def test_an_invalid_oauth1_signature_does_not_point_at_the_signature_method(serve: Any) -> None:
    server = serve(
        [
            Reply(
                401,
                body={
                    "imsx_codeMajor": "failure",
                    "imsx_severity": "error",
                    "imsx_codeMinor": "invalid_signature",
                    "imsx_description": "signature does not match",
                },
            )
        ]
    )

    with pytest.raises(AuthenticationError) as info:
        _get(_transport(server, auth=OAuth1("district-key-1234", "district-secret-5678")))

    message = str(info.value)
    assert "could not verify the OAuth 1 signature" in message
    assert "secret" in message
    assert "signature_method" not in message


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (
            400,
            {
                "imsx_codeMajor": "failure",
                "imsx_description": "unsupported signature method HMAC-SHA256",
            },
            [],
        ),
        (
            401,
            "",
            [("WWW-Authenticate", 'OAuth realm="x", oauth_problem="signature_method_rejected"')],
        ),
    ],
)
def test_a_refused_signature_method_says_which_setting_to_change(
    serve: Any, status: int, body: Any, headers: list[tuple[str, str]]
) -> None:
    server = serve([Reply(status, body=body, headers=headers)])

    with pytest.raises(APIError) as info:
        _get(_transport(server, auth=OAuth1("district-key-1234", "district-secret-5678")))

    assert "signature_method=" in str(info.value)


class ScopedBearer(AuthBase):
    """A bearer token that knows which scopes it was granted."""

    def __init__(self, token: str, scopes: tuple[str, ...]) -> None:
        self.token = token
        self.granted_scopes = scopes

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


SCOPE_URI = "https://purl.imsglobal.org/spec/or/v1p1/scope/"


def test_a_403_for_a_scope_already_granted_says_the_mapping_differs(serve: Any) -> None:
    server = serve([Reply(403, body={"error": "insufficient_scope"})])
    auth = ScopedBearer(TOKEN, (SCOPE_URI + "roster-core.readonly",))

    with pytest.raises(PermissionDeniedError) as info:
        _get(_transport(server, auth=auth))

    message = str(info.value)
    assert "already carries the scope roster-core.readonly" in message
    assert "ask the provider which scope it expects" in message
    assert "request the scope" not in message


def test_a_403_for_a_scope_not_granted_still_suggests_it(serve: Any) -> None:
    server = serve([Reply(403, body={"error": "insufficient_scope"})])
    auth = ScopedBearer(TOKEN, (SCOPE_URI + "roster-demographics.readonly",))

    with pytest.raises(PermissionDeniedError) as info:
        _get(_transport(server, auth=auth))

    message = str(info.value)
    assert "request the scope (roster-core.readonly or roster.readonly)" in message
    assert "already carries" not in message
