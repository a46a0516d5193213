"""OAuth 2 token endpoints that misbehave: redirects, blips, odd refusals, echoes, deep JSON.

Every test talks real HTTP to a :class:`ScriptedServer` on 127.0.0.1. A second server,
reached as ``localhost`` so its host differs from the token endpoint's, plays the other
host a redirect points at: it would happily mint a token for whatever credentials arrive.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote_plus

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client import OAuth2ClientCredentials, OneRosterClient, RetryPolicy
from oneroster_client.auth import TokenRefusedError
from oneroster_client.errors import (
    AuthenticationError,
    OneRosterError,
    RateLimitError,
    ServerError,
    TransportError,
)
from oneroster_client.testing.hostile import Received, Reply, Script, ScriptedServer

CLIENT_ID = "district-client-7"
CLIENT_SECRET = "s3cr3t-Value-9f8e7d6c"
SCOPES = (
    "https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly",
    "https://purl.imsglobal.org/spec/or/v1p1/scope/roster-demographics.readonly",
)
TOKEN = {"access_token": "good-token-123456", "token_type": "Bearer", "expires_in": 3600}
EVIL_TOKEN = {"access_token": "minted-by-the-other-host", "token_type": "Bearer"}


class Sleeps:
    """An injected sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def policy(sleeps: Sleeps, **options: Any) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps, random=lambda: 0.5, **options)


def oauth2(url: str, **options: Any) -> OAuth2ClientCredentials:
    options.setdefault("scopes", SCOPES)
    options.setdefault("retry", RetryPolicy.none())
    options.setdefault("timeout", 2.0)
    return OAuth2ClientCredentials(url, CLIENT_ID, CLIENT_SECRET, **options)


def _bearer(auth: OAuth2ClientCredentials) -> str:
    """The Authorization header the auth puts on an API request (fetching a token if needed)."""
    request = requests.Request("GET", "https://sis.example.org/ims/oneroster/v1p1/orgs")
    return str(auth(request.prepare()).headers["Authorization"])


def basic_header() -> str:
    joined = f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}"
    return "Basic " + base64.b64encode(joined.encode()).decode()


def texts_of(error: BaseException) -> list[str]:
    return [str(error), repr(error), str(getattr(error, "body_excerpt", None))]


def assert_no_secrets(error: BaseException, *secrets: str) -> None:
    known = (CLIENT_SECRET, quote_plus(CLIENT_SECRET), basic_header().split()[1], *secrets)
    for text in texts_of(error):
        for secret in known:
            assert secret not in text


class Endpoint:
    """A running scripted server whose script each test sets afresh.

    Starting and stopping a server per test would cost most of the test's time, so the
    module shares two and resets their scripts.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.script: Script = [Reply(200, TOKEN)]
        self.received: list[Received] = []
        self._served = 0
        self.server = ScriptedServer(self._answer)

    def reset(self, script: Script) -> Endpoint:
        with self._lock:
            self.script, self.received, self._served = script, [], 0
        return self

    def _answer(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            index, self._served = self._served, self._served + 1
            script = self.script
        if callable(script):
            return script(request)
        return script[min(index, len(script) - 1)]

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str = "/oauth/token") -> str:
        return self.server.url(path)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Endpoint, Endpoint]]:
    token, other = Endpoint(), Endpoint()
    with token.server, other.server:
        yield token, other


@pytest.fixture
def endpoint(servers: tuple[Endpoint, Endpoint]) -> Endpoint:
    """The token endpoint (127.0.0.1); answers with a token until a test says otherwise."""
    return servers[0].reset([Reply(200, TOKEN)])


@pytest.fixture
def other_host(servers: tuple[Endpoint, Endpoint]) -> Endpoint:
    """The host a redirect points at; it mints a token for anyone."""
    return servers[1].reset([Reply(200, EVIL_TOKEN)])


def other_host_url(server: Endpoint, path: str = "/oauth/token") -> str:
    return f"http://localhost:{server.port}{path}"


# --- redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("client_auth", ["basic", "body"])
def test_token_redirect_to_another_host_is_an_error_and_not_followed(
    endpoint: Endpoint, other_host: Endpoint, status: int, client_auth: str
) -> None:
    endpoint.reset([Reply(status, headers=[("Location", other_host_url(other_host))])])
    auth = oauth2(endpoint.url(), client_auth=client_auth)

    with pytest.raises(TokenRefusedError) as caught:
        _bearer(auth)

    error = caught.value
    assert other_host.received == []  # the credentials never reached the other host
    assert len(endpoint.received) == 1
    assert error.problem == "redirect"
    assert error.redirect_host == f"localhost:{other_host.port}"
    assert f"localhost:{other_host.port}" in str(error)
    assert f"HTTP {status}" in str(error)
    assert "never follow redirects" in str(error)
    assert error.status_code == status
    assert auth.granted_scopes is None
    assert_no_secrets(error)


def test_api_never_uses_a_token_minted_by_the_redirect_target(
    endpoint: Endpoint, other_host: Endpoint
) -> None:
    target = other_host_url(other_host)

    def script(request: Received) -> Reply:
        if request.path == "/oauth/token":
            return Reply(307, headers=[("Location", target)])
        return Reply(200, {"orgs": []})

    endpoint.reset(script)
    auth = oauth2(endpoint.url(), client_auth="body")
    client = OneRosterClient(endpoint.url("/ims/oneroster/v1p1"), auth=auth)
    with client, pytest.raises(AuthenticationError) as caught:
        client.orgs.list().all()

    assert other_host.received == []
    assert [r.path for r in endpoint.received] == ["/oauth/token"]  # no API call was made
    assert f"localhost:{other_host.port}" in str(caught.value)


def test_redirect_location_is_shown_redacted(endpoint: Endpoint) -> None:
    location = "http://localhost:9/token?client_secret=leaked-in-url&access_token=leaked-token"
    endpoint.reset([Reply(302, headers=[("Location", location)])])

    with pytest.raises(TokenRefusedError) as caught:
        _bearer(oauth2(endpoint.url()))

    message = str(caught.value)
    assert "localhost:9" in message
    assert "leaked-in-url" not in message
    assert "leaked-token" not in message


def test_relative_redirect_names_the_token_host(endpoint: Endpoint) -> None:
    endpoint.reset([Reply(308, headers=[("Location", "/elsewhere/token")])])

    with pytest.raises(TokenRefusedError) as caught:
        _bearer(oauth2(endpoint.url()))

    assert caught.value.redirect_host == f"127.0.0.1:{endpoint.port}"
    assert len(endpoint.received) == 1


def test_redirect_without_location_is_still_an_error(endpoint: Endpoint) -> None:
    endpoint.reset([Reply(302)])

    with pytest.raises(TokenRefusedError, match="without a usable Location") as caught:
        _bearer(oauth2(endpoint.url()))

    assert caught.value.redirect_host is None


# --- transient failures are retried ---------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
@pytest.mark.parametrize("retry_after", [None, "2"])
def test_one_transient_failure_is_retried(
    endpoint: Endpoint, status: int, retry_after: str | None
) -> None:
    sleeps = Sleeps()
    headers = [("Retry-After", retry_after)] if retry_after else []
    endpoint.reset(
        [Reply(status, {"error": "temporarily_unavailable"}, headers), Reply(200, TOKEN)]
    )
    auth = oauth2(endpoint.url(), retry=policy(sleeps))

    assert _bearer(auth) == "Bearer good-token-123456"

    assert len(endpoint.received) == 2
    assert auth.token_requests == 2
    assert sleeps.waits == ([2.0] if retry_after else [0.25])  # backoff_base * jitter 0.5


def test_retry_after_as_http_date_is_honoured(endpoint: Endpoint) -> None:
    sleeps = Sleeps()
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    endpoint.reset([Reply(503, headers=[("Retry-After", past)]), Reply(200, TOKEN)])

    _bearer(oauth2(endpoint.url(), retry=policy(sleeps)))

    assert sleeps.waits == [0.0]  # a date in the past means "now"


def test_dropped_connection_is_retried(endpoint: Endpoint) -> None:
    sleeps = Sleeps()
    endpoint.reset([Reply(close=True), Reply(200, TOKEN)])
    auth = oauth2(endpoint.url(), retry=policy(sleeps))

    assert _bearer(auth) == "Bearer good-token-123456"
    assert len(endpoint.received) == 2
    assert len(sleeps.waits) == 1


def test_timeout_is_retried(endpoint: Endpoint) -> None:
    sleeps = Sleeps()
    endpoint.reset([Reply(200, TOKEN, delay=0.3), Reply(200, TOKEN)])
    auth = oauth2(endpoint.url(), retry=policy(sleeps), timeout=0.1)

    assert _bearer(auth) == "Bearer good-token-123456"
    assert len(sleeps.waits) == 1


def test_retries_used_up_raise_the_last_failure(endpoint: Endpoint) -> None:
    sleeps = Sleeps()
    endpoint.reset([Reply(503, {"error": "temporarily_unavailable"})])
    auth = oauth2(endpoint.url(), retry=policy(sleeps, max_attempts=3))

    with pytest.raises(ServerError, match="try again later") as caught:
        _bearer(auth)

    assert caught.value.status_code == 503
    assert len(endpoint.received) == 3
    assert len(sleeps.waits) == 2


def test_rate_limit_asking_for_too_long_a_wait_gives_up_with_retry_after(
    endpoint: Endpoint,
) -> None:
    sleeps = Sleeps()
    endpoint.reset([Reply(429, headers=[("Retry-After", "600")])])

    with pytest.raises(RateLimitError) as caught:
        _bearer(oauth2(endpoint.url(), retry=policy(sleeps)))

    assert caught.value.retry_after == 600.0
    assert sleeps.waits == []
    assert len(endpoint.received) == 1


def test_connection_refused_after_retries_is_a_transport_error() -> None:
    sleeps = Sleeps()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = oauth2(f"http://127.0.0.1:{port}/oauth/token", retry=policy(sleeps, max_attempts=2))

    with pytest.raises(TransportError, match="could not reach") as caught:
        _bearer(auth)

    assert len(sleeps.waits) == 1
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert_no_secrets(caught.value)


@pytest.mark.parametrize(
    ("status", "body"),
    [(400, {"error": "invalid_client"}), (401, {"error": "invalid_client"}), (401, "nope")],
)
def test_refusals_are_not_retried(endpoint: Endpoint, status: int, body: Any) -> None:
    sleeps = Sleeps()
    endpoint.reset([Reply(status, body), Reply(200, TOKEN)])

    with pytest.raises(AuthenticationError, match="refused the client credentials"):
        _bearer(oauth2(endpoint.url(), retry=policy(sleeps)))

    assert len(endpoint.received) == 1
    assert sleeps.waits == []


def test_one_token_blip_does_not_abort_a_sync(endpoint: Endpoint) -> None:
    sleeps = Sleeps()
    tokens = iter([Reply(503), Reply(200, TOKEN)])
    org = {
        "sourcedId": "org-1",
        "status": "active",
        "dateLastModified": "2024-01-01T00:00:00Z",
        "name": "North High",
        "type": "school",
    }

    def script(request: Received) -> Reply:
        if request.path == "/oauth/token":
            return next(tokens)
        if request.header("Authorization") != "Bearer good-token-123456":
            return Reply(401, {"error": "invalid_token"})
        return Reply(200, {"orgs": [org]}, [("X-Total-Count", "1")])

    endpoint.reset(script)
    auth = oauth2(endpoint.url(), retry=policy(sleeps))
    api = endpoint.url("/ims/oneroster/v1p1")
    with OneRosterClient(api, auth=auth, retry=RetryPolicy.none()) as client:
        orgs = client.orgs.list().all()

    assert [o.sourced_id for o in orgs] == ["org-1"]
    assert len(sleeps.waits) == 1


# --- refusals say what to fix ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"error": "invalid_scope"},
        {"error": "invalid_request", "error_description": "scope is required"},
        {"error": "invalid_request", "error_description": "The Scope parameter is invalid"},
    ],
)
def test_scope_refusals_are_not_reported_as_bad_credentials(
    endpoint: Endpoint, body: dict[str, str]
) -> None:
    endpoint.reset([Reply(400, body)])

    with pytest.raises(TokenRefusedError) as caught:
        _bearer(oauth2(endpoint.url()))

    message = str(caught.value)
    assert caught.value.problem == "scope"
    assert caught.value.oauth_error == body["error"]
    assert "client credentials" not in message
    assert "client_secret" not in message
    for scope in SCOPES:
        assert scope in message


def test_scope_required_but_none_requested_says_so(endpoint: Endpoint) -> None:
    endpoint.reset(
        [Reply(400, {"error": "invalid_request", "error_description": "scope is required"})]
    )

    with pytest.raises(TokenRefusedError) as caught:
        _bearer(oauth2(endpoint.url(), scopes=()))

    message = str(caught.value)
    assert "none was requested" in message
    assert "scopes=[...]" in message
    assert "scope is required" in message
    assert "client credentials" not in message


def test_invalid_request_about_something_else_is_still_about_credentials(
    endpoint: Endpoint,
) -> None:
    description = "missing client authentication"
    endpoint.reset([Reply(400, {"error": "invalid_request", "error_description": description})])

    with pytest.raises(TokenRefusedError) as caught:
        _bearer(oauth2(endpoint.url()))

    assert caught.value.problem == "credentials"


@pytest.mark.parametrize("status", [200, 400, 503])
@pytest.mark.parametrize("shape", ["list", "object"])
def test_deeply_nested_json_is_a_library_error(endpoint: Endpoint, status: int, shape: str) -> None:
    depth = 100_000
    nested = "[" * depth + "]" * depth
    body = nested if shape == "list" else '{"access_token": "t", "extra": ' + nested + "}"
    endpoint.reset([Reply(status, body)])

    with pytest.raises(OneRosterError) as caught:
        _bearer(oauth2(endpoint.url()))

    if status == 200:
        assert "nested too deeply" in str(caught.value)
    assert len(str(caught.value)) < 2000


# --- echoed secrets are redacted ------------------------------------------------------------


def test_echoed_basic_header_secret_and_encoded_credentials_are_redacted(
    endpoint: Endpoint,
) -> None:
    encoded = basic_header().split()[1]
    description = (
        f"got Authorization: {basic_header()} (decoded {CLIENT_ID}:{CLIENT_SECRET}); "
        f"credentials {encoded} refused"
    )
    endpoint.reset([Reply(401, {"error": "invalid_client", "error_description": description})])

    with pytest.raises(AuthenticationError) as caught:
        _bearer(oauth2(endpoint.url()))

    assert_no_secrets(caught.value)
    assert "REDACTED" in str(caught.value)


def test_echoed_old_token_is_redacted_on_renewal(endpoint: Endpoint) -> None:
    old = str(TOKEN["access_token"])
    refusal = {"error": "invalid_request", "error_description": f"token {old} is revoked"}
    endpoint.reset([Reply(200, TOKEN), Reply(400, refusal)])
    auth = oauth2(endpoint.url())
    assert _bearer(auth) == f"Bearer {old}"
    auth.invalidate()

    with pytest.raises(AuthenticationError) as caught:
        _bearer(auth)

    assert_no_secrets(caught.value, old)


@pytest.mark.parametrize("offset", range(280, 300, 3))
def test_secret_straddling_the_excerpt_cut_is_redacted_whole(
    endpoint: Endpoint, offset: int
) -> None:
    # The excerpt keeps 300 characters: the secret starts just before that boundary.
    body = "x" * offset + CLIENT_SECRET + "y" * 50
    endpoint.reset([Reply(401, body, [("Content-Type", "text/plain")])])

    with pytest.raises(AuthenticationError) as caught:
        _bearer(oauth2(endpoint.url()))

    excerpt = caught.value.body_excerpt or ""
    assert excerpt.startswith("x" * offset)
    assert CLIENT_SECRET[: min(6, 300 - offset)] not in excerpt[offset:]


@settings(max_examples=40, deadline=None)
@given(
    before=st.text(max_size=400),
    after=st.text(max_size=400),
    form=st.sampled_from(["plain", "quote_plus", "basic", "json"]),
)
def test_property_echoed_secret_never_survives(
    servers: tuple[Endpoint, Endpoint], before: str, after: str, form: str
) -> None:
    echoed = {
        "plain": CLIENT_SECRET,
        "quote_plus": quote_plus(CLIENT_SECRET),
        "basic": basic_header(),
        "json": json.dumps({"client_secret": CLIENT_SECRET}),
    }[form]
    token_endpoint = servers[0].reset(
        [Reply(400, (before + echoed + after).encode(), [("Content-Type", "text/plain")])]
    )

    with pytest.raises(AuthenticationError) as caught:
        _bearer(oauth2(token_endpoint.url()))

    assert_no_secrets(caught.value)


# --- granted scopes -------------------------------------------------------------------------


def test_granted_scopes_come_from_the_token_response(endpoint: Endpoint) -> None:
    endpoint.reset([Reply(200, {**TOKEN, "scope": f"  {SCOPES[0]}   other.scope "})])
    auth = oauth2(endpoint.url())
    assert auth.granted_scopes is None

    _bearer(auth)

    assert auth.granted_scopes == (SCOPES[0], "other.scope")


def test_granted_scopes_default_to_the_requested_ones(endpoint: Endpoint) -> None:
    auth = oauth2(endpoint.url())

    _bearer(auth)

    assert parse_qs(endpoint.received[0].body.decode())["scope"] == [" ".join(SCOPES)]
    assert auth.granted_scopes == SCOPES
