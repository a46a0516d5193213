"""The Buzz client reads answers within the same time and size bounds as the OneRoster one."""

from __future__ import annotations

import time

import pytest

from oneroster_client.buzz import (
    BuzzClient,
    BuzzHTTPError,
    BuzzResponseError,
    BuzzToken,
    BuzzTransportError,
)
from oneroster_client.buzz.throttle import BuzzRetryPolicy
from oneroster_client.testing.hostile import Reply, ScriptedServer, gzip_bomb

AGENT = "limits-test/1.0 (tests; dev@example.org)"
OK = {"response": {"code": "OK", "domains": {"domain": []}}}


def _client(server: ScriptedServer, **options: object) -> BuzzClient:
    return BuzzClient(
        server.origin,
        auth=BuzzToken("tok-secret-value-1234"),
        user_agent=AGENT,
        retry=BuzzRetryPolicy(max_retries=1, sleep=lambda _seconds: None),
        **options,  # type: ignore[arg-type]
    )


def test_a_gzip_bomb_is_refused_before_it_expands() -> None:
    bomb = Reply(body=gzip_bomb(64 << 20), headers=[("Content-Encoding", "gzip")])
    with (
        ScriptedServer([bomb]) as server,
        _client(server, max_response_bytes=1 << 20) as client,
        pytest.raises(BuzzResponseError, match="max_response_bytes"),
    ):
        client.call("listdomains", {"domainid": "1"})


def test_a_dripping_answer_is_cut_at_the_request_deadline() -> None:
    drip = Reply(body=b'{"response": {"code": "OK"}}' + b" " * 400, drip=0.01)
    with ScriptedServer([drip]) as server, _client(server, request_deadline=0.3) as client:
        started = time.monotonic()
        with pytest.raises(BuzzTransportError):
            client.call("listdomains", {"domainid": "1"})
        # Two attempts (one retry), each cut at 0.3 s instead of the 4 s the drip takes.
        assert time.monotonic() - started < 2.0


def test_an_answer_within_the_limits_is_read() -> None:
    with ScriptedServer([Reply(body=OK)]) as server, _client(server) as client:
        assert client.call("listdomains", {"domainid": "1"})["code"] == "OK"


def test_an_error_body_is_redacted_before_it_is_shortened() -> None:
    body = "x" * 250 + " token tok-secret-value-1234 expired"
    with (
        ScriptedServer([Reply(status=400, body=body)]) as server,
        _client(server) as client,
        pytest.raises(BuzzHTTPError) as caught,
    ):
        client.call("listdomains", {"domainid": "1"})
    assert caught.value.body_excerpt is not None
    assert "REDACTED" in caught.value.body_excerpt
    shown = str(caught.value) + repr(vars(caught.value))
    assert "tok-secret" not in shown
