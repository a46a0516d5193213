"""A 401 says what to check for the credentials in use: a pre-issued token has no client id."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from requests.auth import AuthBase

from oneroster_client import OneRosterClient, RetryPolicy
from oneroster_client.auth import BearerToken, OAuth1
from oneroster_client.errors import AuthenticationError
from oneroster_client.status import error_from_response
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer

Serve = Callable[[Callable[[Received], Reply]], ScriptedServer]

INVALID_TOKEN = {
    "imsx_codeMajor": "failure",
    "imsx_severity": "error",
    "imsx_CodeMinor": {"imsx_codeMinorField": [{"imsx_codeMinorFieldValue": "invalid_token"}]},
}


def _refusal(serve: Serve, auth: AuthBase, body: object = "") -> str:
    server = serve(lambda received: Reply(status=401, body=body))
    client = OneRosterClient(server.url("/v1p1"), auth=auth, retry=RetryPolicy.none())
    with client, pytest.raises(AuthenticationError) as caught:
        client.users.list().all()
    return str(caught.value)


@pytest.mark.parametrize("body", ["", INVALID_TOKEN], ids=["plain", "invalid_token"])
def test_a_refused_bearer_token_asks_to_check_the_token(serve: Serve, body: object) -> None:
    message = _refusal(serve, BearerToken("pre-issued-token-0123456789"), body)
    code = " (invalid_token)" if body else ""
    assert f"did not accept the access token{code}; check the access token" in message
    assert "check the access token" in message and "never renewed" in message
    assert "client_id" not in message and "secret" not in message
    assert "pre-issued-token-0123456789" not in message


def test_oauth1_keeps_the_key_and_secret_advice(serve: Serve) -> None:
    message = _refusal(serve, OAuth1("consumer-key-1", "consumer-secret-1"))
    assert "check the key/client_id and secret" in message
    assert "access token" not in message


@given(status=st.sampled_from([400, 403, 404, 429, 500]))
def test_only_a_401_speaks_of_the_token(status: int) -> None:
    with_token = error_from_response(
        method="GET",
        url="https://sis.example/users",
        status_code=status,
        headers={},
        body=b"",
        auth_kind="token",
    )
    without = error_from_response(
        method="GET", url="https://sis.example/users", status_code=status, headers={}, body=b""
    )
    assert str(with_token) == str(without)
