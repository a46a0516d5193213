"""Tests for ``oneroster_client.auth``: OAuth 1.0a signing, OAuth 2 client credentials, bearer.

OAuth 1 signatures are checked against the OneRoster 1.1 worked example and against
``oauthlib`` as an independent implementation. OAuth 2 runs against a small token server
on 127.0.0.1, started in this module; nothing leaves the machine.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, unquote_plus, urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, Client
from oauthlib.oauth1.rfc5849 import signature as oauthlib_signature

from oneroster_client._redact import REDACTED, mask
from oneroster_client.auth import (
    BearerToken,
    OAuth1,
    OAuth2ClientCredentials,
    parse_authorization_header,
    percent_encode,
    sign,
    signature_base_string,
)
from oneroster_client.errors import (
    AuthenticationError,
    ConfigurationError,
    RateLimitError,
    ServerError,
    TransportError,
)
from oneroster_client.retry import RetryPolicy

USERS_URL = "https://sis.example.edu/ims/oneroster/v1p1/users"
KEY = "test-key"
SECRET = "test-secret"
NONCE = "abc123nonce"
TIMESTAMP = 1700000000


def fixed_oauth1(**kwargs: Any) -> OAuth1:
    """An OAuth1 signer with the worked example's nonce and timestamp."""
    return OAuth1(KEY, SECRET, clock=lambda: TIMESTAMP, nonce_factory=lambda: NONCE, **kwargs)


def signed(
    auth: requests.auth.AuthBase,
    url: str,
    method: str = "GET",
    **kwargs: Any,
) -> requests.PreparedRequest:
    """Prepare a request as ``requests`` would send it, auth applied."""
    return requests.Request(method, url, auth=auth, **kwargs).prepare()


def header_params(request: requests.PreparedRequest) -> dict[str, str]:
    return parse_authorization_header(request.headers["Authorization"])


# --------------------------------------------------------------------------- OAuth 1: spec


WORKED_QUERY = "filter=givenName%3D%27Colin%20Robert%27&limit=100&offset=0"
WORKED_BASE_STRING = (
    "GET&https%3A%2F%2Fsis.example.edu%2Fims%2Foneroster%2Fv1p1%2Fusers&filter%3DgivenName"
    "%253D%2527Colin%2520Robert%2527%26limit%3D100%26oauth_consumer_key%3Dtest-key%26"
    "oauth_nonce%3Dabc123nonce%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D"
    "1700000000%26oauth_version%3D1.0%26offset%3D0"
)
WORKED_SIGNATURE = "ZKGNHRJcYYvu3iQJDy7n8Np+dcGs4dsCezAppYfwrh4="
WORKED_OAUTH_PARAMS = {
    "oauth_consumer_key": KEY,
    "oauth_nonce": NONCE,
    "oauth_signature_method": "HMAC-SHA256",
    "oauth_timestamp": str(TIMESTAMP),
    "oauth_version": "1.0",
}


def test_worked_example_base_string_and_signature() -> None:
    base_string = signature_base_string("GET", f"{USERS_URL}?{WORKED_QUERY}", WORKED_OAUTH_PARAMS)

    assert base_string == WORKED_BASE_STRING
    assert sign(base_string, SECRET, "HMAC-SHA256") == WORKED_SIGNATURE


def test_worked_example_through_requests_sets_exact_header() -> None:
    request = signed(fixed_oauth1(), f"{USERS_URL}?{WORKED_QUERY}")

    assert request.url == f"{USERS_URL}?{WORKED_QUERY}"  # requests kept the wire query
    assert request.headers["Authorization"] == (
        'OAuth oauth_consumer_key="test-key", oauth_nonce="abc123nonce", '
        'oauth_signature_method="HMAC-SHA256", oauth_timestamp="1700000000", '
        'oauth_version="1.0", oauth_signature="ZKGNHRJcYYvu3iQJDy7n8Np%2BdcGs4dsCezAppYfwrh4%3D"'
    )
    assert header_params(request)["oauth_signature"] == WORKED_SIGNATURE


def test_signature_ignores_oauth_signature_and_realm_in_params() -> None:
    params = {**WORKED_OAUTH_PARAMS, "oauth_signature": "x", "realm": "sis"}
    url = f"{USERS_URL}?{WORKED_QUERY}&oauth_signature=y"

    assert signature_base_string("GET", url, params) == WORKED_BASE_STRING


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("Colin Robert", "Colin%20Robert"),
        ("a/b=c'd,e", "a%2Fb%3Dc%27d%2Ce"),
        ("AZaz09-._~", "AZaz09-._~"),
        ("é中", "%C3%A9%E4%B8%AD"),
        ("a+b*!", "a%2Bb%2A%21"),
    ],
)
def test_percent_encode_uses_rfc3986_unreserved_set(text: str, encoded: str) -> None:
    assert percent_encode(text) == encoded


def test_plus_in_query_is_a_space() -> None:
    with_plus = signature_base_string("GET", f"{USERS_URL}?filter=a+b", WORKED_OAUTH_PARAMS)
    with_pct = signature_base_string("GET", f"{USERS_URL}?filter=a%20b", WORKED_OAUTH_PARAMS)
    literal_plus = signature_base_string("GET", f"{USERS_URL}?filter=a%2Bb", WORKED_OAUTH_PARAMS)

    assert with_plus == with_pct
    assert "filter%3Da%2520b" in with_pct
    assert "filter%3Da%252Bb" in literal_plus


def test_query_bytes_are_signed_as_sent() -> None:
    not_utf8 = signature_base_string("GET", f"{USERS_URL}?q=%E9", {})
    utf8 = signature_base_string("GET", f"{USERS_URL}?q=%C3%A9", {})
    raw_text = signature_base_string("GET", f"{USERS_URL}?q=é&flag&&", {})

    assert not_utf8.endswith("&q%3D%25E9")
    assert utf8.endswith("&q%3D%25C3%25A9")
    assert raw_text.endswith("&flag%3D%26q%3D%25C3%25A9")


@pytest.mark.parametrize(
    ("url", "base_uri"),
    [
        ("HTTPS://SIS.Example.EDU:443/Ims/Users#frag", "https://sis.example.edu/Ims/Users"),
        ("http://sis.example.edu:80/users", "http://sis.example.edu/users"),
        ("http://sis.example.edu:8080/users", "http://sis.example.edu:8080/users"),
        ("https://sis.example.edu:80/users", "https://sis.example.edu:80/users"),
        ("https://sis.example.edu", "https://sis.example.edu/"),
        ("http://[::1]:8000/users", "http://[::1]:8000/users"),
        ("https://user:pw@sis.example.edu/users", "https://sis.example.edu/users"),
    ],
)
def test_base_string_uri_normalisation(url: str, base_uri: str) -> None:
    base_string = signature_base_string("get", url, {})

    assert base_string == f"GET&{percent_encode(base_uri)}&"


def test_signature_base_string_rejects_relative_url() -> None:
    with pytest.raises(ValueError, match="absolute"):
        signature_base_string("GET", "/ims/oneroster/v1p1/users", {})


def test_hmac_sha1_for_old_servers_matches_oauthlib() -> None:
    url = f"{USERS_URL}?{WORKED_QUERY}"
    ours = header_params(signed(fixed_oauth1(signature_method="HMAC-SHA1"), url))
    client = Client(
        KEY,
        client_secret=SECRET,
        signature_method=SIGNATURE_HMAC_SHA1,
        nonce=NONCE,
        timestamp=str(TIMESTAMP),
    )
    _, headers, _ = client.sign(url, "GET")

    assert ours["oauth_signature_method"] == "HMAC-SHA1"
    assert (
        ours["oauth_signature"]
        == parse_authorization_header(headers["Authorization"])["oauth_signature"]
    )


def test_signature_method_is_case_insensitive() -> None:
    assert OAuth1(KEY, SECRET, "hmac-sha256").signature_method == "HMAC-SHA256"


@pytest.mark.parametrize("method", ["PLAINTEXT", "RSA-SHA1", "HMAC-SHA512", ""])
def test_unsupported_signature_method_is_a_configuration_error(method: str) -> None:
    with pytest.raises(ConfigurationError, match="HMAC-SHA256"):
        OAuth1(KEY, SECRET, method)
    with pytest.raises(ConfigurationError, match="HMAC-SHA256"):
        sign("base", SECRET, method)


@pytest.mark.parametrize(("key", "secret"), [("", SECRET), (KEY, "")])
def test_empty_credentials_are_a_configuration_error(key: str, secret: str) -> None:
    with pytest.raises(ConfigurationError):
        OAuth1(key, secret)


def test_realm_goes_first_and_is_not_signed() -> None:
    url = f"{USERS_URL}?{WORKED_QUERY}"
    request = signed(fixed_oauth1(realm="https://sis.example.edu/"), url)

    assert request.headers["Authorization"].startswith('OAuth realm="https://sis.example.edu/", ')
    params = header_params(request)
    assert params["realm"] == "https://sis.example.edu/"
    assert params["oauth_signature"] == WORKED_SIGNATURE


def test_realm_with_quote_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="realm"):
        OAuth1(KEY, SECRET, realm='a"b')


def test_version_can_be_left_out() -> None:
    request = signed(fixed_oauth1(include_version=False), f"{USERS_URL}?{WORKED_QUERY}")

    params = header_params(request)
    assert "oauth_version" not in params
    assert verify_with_oauthlib(request, SECRET)


def test_header_values_are_percent_encoded_and_quoted() -> None:
    auth = OAuth1("key with space/é", SECRET, nonce_factory=lambda: "n+1=2")
    header = signed(auth, USERS_URL).headers["Authorization"]

    assert 'oauth_consumer_key="key%20with%20space%2F%C3%A9"' in header
    assert 'oauth_nonce="n%2B1%3D2"' in header
    assert parse_authorization_header(header)["oauth_consumer_key"] == "key with space/é"


def test_existing_authorization_header_is_replaced() -> None:
    request = signed(fixed_oauth1(), USERS_URL, headers={"Authorization": "Basic abc"})

    assert request.headers["Authorization"].startswith("OAuth ")


def test_each_call_gets_a_fresh_nonce_and_timestamp() -> None:
    now = [float(TIMESTAMP)]
    auth = OAuth1(KEY, SECRET, clock=lambda: now[0])

    first = header_params(signed(auth, USERS_URL))
    now[0] += 5
    second = header_params(signed(auth, USERS_URL))

    assert first["oauth_nonce"] != second["oauth_nonce"]
    assert len(first["oauth_nonce"]) >= 16
    assert (first["oauth_timestamp"], second["oauth_timestamp"]) == ("1700000000", "1700000005")
    assert first["oauth_signature"] != second["oauth_signature"]


def test_default_timestamp_is_unix_time() -> None:
    params = header_params(signed(OAuth1(KEY, SECRET), USERS_URL))

    assert abs(int(params["oauth_timestamp"]) - time.time()) < 5


def test_oauth1_repr_hides_secret() -> None:
    auth = OAuth1("consumer-key-1234", "super-secret-value")

    text = repr(auth)
    assert "super-secret-value" not in text
    assert "consumer-key-1234" not in text
    assert mask("consumer-key-1234") in text
    assert "HMAC-SHA256" in text


# --------------------------------------------------------------------------- parse header


def test_parse_authorization_header_tolerates_spacing_and_case() -> None:
    parsed = parse_authorization_header(
        'oauth  oauth_consumer_key = "k%20x" ,oauth_nonce="n",  realm="a%20b",bare=v%2F'
    )

    assert parsed == {
        "oauth_consumer_key": "k x",
        "oauth_nonce": "n",
        "realm": "a%20b",
        "bare": "v/",
    }


@pytest.mark.parametrize(
    "value",
    ["Bearer abc", 'OAuth oauth_nonce="n" oauth_timestamp="1"', 'OAuth oauth_nonce="unterminated'],
)
def test_parse_authorization_header_rejects_malformed(value: str) -> None:
    with pytest.raises(ValueError):
        parse_authorization_header(value)


def test_parse_authorization_header_of_empty_oauth_header() -> None:
    assert parse_authorization_header("OAuth ") == {}


# --------------------------------------------------------------------------- OAuth 1: oauthlib


def oauthlib_client_signature(url: str, method: str = "GET") -> str:
    """The signature oauthlib's client computes for the same nonce and timestamp."""
    client = Client(
        KEY,
        client_secret=SECRET,
        signature_method=SIGNATURE_HMAC_SHA256,
        nonce=NONCE,
        timestamp=str(TIMESTAMP),
    )
    _, headers, _ = client.sign(url, method)
    return parse_authorization_header(headers["Authorization"])["oauth_signature"]


def verify_with_oauthlib(request: requests.PreparedRequest, secret: str) -> bool:
    """Verify a signed request as an oauthlib-based server would."""
    assert request.url is not None and request.method is not None
    headers = dict(request.headers)
    form_body = None
    if headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        form_body = request.body
    oauth_request = OAuthlibRequest(request.url, request.method, body=None, headers=headers)
    oauth_request.params = oauthlib_signature.collect_parameters(
        uri_query=urlsplit(request.url).query, body=form_body, headers=headers
    )
    oauth_request.signature = header_params(request)["oauth_signature"]
    if header_params(request)["oauth_signature_method"] == "HMAC-SHA1":
        return bool(oauthlib_signature.verify_hmac_sha1(oauth_request, secret))
    return bool(oauthlib_signature.verify_hmac_sha256(oauth_request, secret))


FILTER_VALUES = [
    "givenName='Colin Robert'",
    "familyName='O Brien' AND status='active'",
    "email='a/b=c@example.edu'",
    "givenName='Zoë' OR givenName='Renée'",
    "familyName='中文'",
    "email='a+b@example.edu'",
    "sourcedId='a~b_c.d-e'",
    "givenName='Smith, John'",
    "dateLastModified>'2024-01-01T00:00:00.000Z'",
]


@pytest.mark.parametrize("value", FILTER_VALUES)
@pytest.mark.parametrize("safe", ["", "'/,=:@"], ids=["all-encoded", "some-raw"])
def test_signature_matches_oauthlib_client(value: str, safe: str) -> None:
    url = f"{USERS_URL}?filter={quote(value, safe=safe)}&limit=100&offset=0&sort=familyName"
    request = signed(fixed_oauth1(), url)
    assert request.url is not None

    assert header_params(request)["oauth_signature"] == oauthlib_client_signature(request.url)
    assert verify_with_oauthlib(request, SECRET)


def test_plus_encoded_spaces_match_oauthlib() -> None:
    url = USERS_URL + "?filter=" + quote_plus("givenName='Colin Robert'") + "&limit=10"
    request = signed(fixed_oauth1(), url)
    assert request.url is not None
    assert "+" in request.url

    assert header_params(request)["oauth_signature"] == oauthlib_client_signature(request.url)


def test_requests_params_are_signed_as_sent() -> None:
    # requests encodes params= itself (space as "+"); the signature covers what it sent.
    request = signed(fixed_oauth1(), USERS_URL, params={"filter": "givenName='é x'", "limit": 5})
    assert request.url is not None

    assert header_params(request)["oauth_signature"] == oauthlib_client_signature(request.url)
    assert verify_with_oauthlib(request, SECRET)


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_json_body_requests_verify_with_oauthlib(method: str) -> None:
    url = "https://sis.example.edu/ims/oneroster/v1p1/lineItems/li%201?x=%C3%A9"
    body = {"lineItem": {"sourcedId": "li 1", "title": "Quiz: fractions & decimals"}}
    request = signed(fixed_oauth1(), url, method=method, json=body)
    bodiless = signed(fixed_oauth1(), url, method=method)

    assert verify_with_oauthlib(request, SECRET)
    # JSON bodies are not signed: the signature is the one of the same request without a body.
    assert header_params(request)["oauth_signature"] == header_params(bodiless)["oauth_signature"]
    assert header_params(request)["oauth_signature"] == oauthlib_client_signature(url, method)


def test_form_body_is_signed_and_verifies_with_oauthlib() -> None:
    request = signed(fixed_oauth1(), f"{USERS_URL}?a=1", method="POST", data={"b": "x y", "c": "é"})
    bodiless = signed(fixed_oauth1(), f"{USERS_URL}?a=1", method="POST")

    assert verify_with_oauthlib(request, SECRET)
    assert header_params(request)["oauth_signature"] != header_params(bodiless)["oauth_signature"]


def test_oauthlib_rejects_a_tampered_request() -> None:
    request = signed(fixed_oauth1(), f"{USERS_URL}?{WORKED_QUERY}")
    request.url = f"{USERS_URL}?filter=givenName%3D%27Colin%27&limit=100&offset=0"

    assert not verify_with_oauthlib(request, SECRET)
    assert verify_with_oauthlib(signed(fixed_oauth1(), request.url), SECRET)


# Characters a server may see unencoded in a query value (oauthlib refuses others raw).
RAW_SAFE = st.sampled_from(["", "~", "'/,", "'/,:@!()*$=", "/"])
QUERY_TEXT = st.text(st.characters(codec="utf-8"), max_size=20)
PARAM_NAMES = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8).filter(
    lambda name: not name.startswith("oauth_")
)


@settings(max_examples=150, deadline=None)
@given(
    params=st.lists(st.tuples(PARAM_NAMES, QUERY_TEXT), max_size=4),
    safe=RAW_SAFE,
    plus_for_space=st.booleans(),
    method=st.sampled_from(["GET", "PUT", "DELETE"]),
    secret=st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
)
def test_property_signature_matches_oauthlib(
    params: list[tuple[str, str]],
    safe: str,
    plus_for_space: bool,
    method: str,
    secret: str,
) -> None:
    encode: Callable[..., str] = quote_plus if plus_for_space else quote
    query = "&".join(
        f"{encode(name, safe='')}={encode(value, safe=safe)}" for name, value in params
    )
    url = f"{USERS_URL}?{query}" if query else USERS_URL
    auth = OAuth1(KEY, secret, clock=lambda: TIMESTAMP, nonce_factory=lambda: NONCE)
    request = signed(auth, url, method=method)
    assert request.url is not None

    client = Client(
        KEY,
        client_secret=secret,
        signature_method=SIGNATURE_HMAC_SHA256,
        nonce=NONCE,
        timestamp=str(TIMESTAMP),
    )
    _, headers, _ = client.sign(request.url, method)
    expected = parse_authorization_header(headers["Authorization"])["oauth_signature"]

    assert header_params(request)["oauth_signature"] == expected


# --------------------------------------------------------------------------- token server


@dataclass
class TokenServerState:
    """What the local token server received, and how it answers."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    respond: Callable[[TokenServerState], tuple[int, dict[str, str], bytes]] | None = None
    delay: float = 0.0
    issued: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_token(self, **extra: Any) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.issued += 1
            token = f"tok-{self.issued}"
        payload = {"access_token": token, "token_type": "bearer", "expires_in": 3600, **extra}
        return json_response(200, payload)


def json_response(status: int, payload: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


class TokenHandler(BaseHTTPRequestHandler):
    server: TokenServer

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        with state.lock:
            state.requests.append(
                {"path": self.path, "headers": dict(self.headers), "form": parse_qs(body)}
            )
        if state.delay:
            time.sleep(state.delay)
        status, headers, content = (state.respond or TokenServerState.next_token)(state)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def do_GET(self) -> None:  # a protected resource that echoes the Authorization header
        content = json.dumps({"authorization": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


class TokenServer(ThreadingHTTPServer):
    daemon_threads = True
    state: TokenServerState


@pytest.fixture(scope="module")
def token_http_server() -> Iterator[TokenServer]:
    server = TokenServer(("127.0.0.1", 0), TokenHandler)
    server.state = TokenServerState()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.daemon = True
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@dataclass
class TokenEndpoint:
    url: str
    host: str
    state: TokenServerState


@pytest.fixture
def token_server(token_http_server: TokenServer) -> TokenEndpoint:
    token_http_server.state = TokenServerState()
    port = token_http_server.server_address[1]
    netloc = f"127.0.0.1:{port}"
    return TokenEndpoint(f"http://{netloc}/oauth/token", netloc, token_http_server.state)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


CLIENT_ID = "client-id-1234"
CLIENT_SECRET = "p@ss w:rd/é&=~"
SCOPES = (
    "https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly",
    "https://purl.imsglobal.org/spec/or/v1p1/scope/gradebook.createput",
)


def make_oauth2(endpoint: TokenEndpoint, **kwargs: Any) -> OAuth2ClientCredentials:
    kwargs.setdefault("scopes", SCOPES)
    return OAuth2ClientCredentials(endpoint.url, CLIENT_ID, CLIENT_SECRET, **kwargs)


def bearer_of(auth: requests.auth.AuthBase) -> str:
    return signed(auth, "https://sis.example.edu/ims/oneroster/v1p1/users").headers["Authorization"]


# --------------------------------------------------------------------------- OAuth 2


def test_basic_client_auth_form_encodes_credentials(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server)

    assert bearer_of(auth) == "Bearer tok-1"
    (received,) = token_server.state.requests
    scheme, _, encoded = received["headers"]["Authorization"].partition(" ")
    client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    assert scheme == "Basic"
    assert (unquote_plus(client_id), unquote_plus(secret)) == (CLIENT_ID, CLIENT_SECRET)
    assert secret == quote_plus(CLIENT_SECRET)  # RFC 6749 section 2.3.1
    assert received["path"] == "/oauth/token"
    assert received["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert received["form"] == {"grant_type": ["client_credentials"], "scope": [" ".join(SCOPES)]}


def test_body_client_auth_sends_form_fields(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server, client_auth="body")

    assert bearer_of(auth) == "Bearer tok-1"
    (received,) = token_server.state.requests
    assert "Authorization" not in received["headers"]
    assert received["form"]["client_id"] == [CLIENT_ID]
    assert received["form"]["client_secret"] == [CLIENT_SECRET]
    assert received["form"]["grant_type"] == ["client_credentials"]


def test_no_scope_field_without_scopes(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server, scopes=())

    bearer_of(auth)
    assert "scope" not in token_server.state.requests[0]["form"]
    assert auth.scopes == ()


def test_scopes_given_as_a_string_are_split(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server, scopes="  a.readonly   b.readonly ")

    assert auth.scopes == ("a.readonly", "b.readonly")
    bearer_of(auth)
    assert token_server.state.requests[0]["form"]["scope"] == ["a.readonly b.readonly"]


def test_token_is_cached_across_calls(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server)

    headers = {bearer_of(auth) for _ in range(25)}

    assert headers == {"Bearer tok-1"}
    assert auth.token_requests == 1
    assert len(token_server.state.requests) == 1


def test_works_as_requests_auth_plugin(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server)
    resource = token_server.url.replace("/oauth/token", "/ims/oneroster/v1p1/users")

    with requests.Session() as session:
        answers = [session.get(resource, auth=auth, timeout=5).json() for _ in range(3)]

    assert answers == [{"authorization": "Bearer tok-1"}] * 3


def test_token_renewed_near_expiry(token_server: TokenEndpoint) -> None:
    clock = FakeClock(1000.0)
    token_server.state.respond = lambda state: state.next_token(expires_in=300)
    auth = make_oauth2(token_server, clock=clock, renew_margin=60)

    assert bearer_of(auth) == "Bearer tok-1"
    clock.now = 1000.0 + 239.9
    assert bearer_of(auth) == "Bearer tok-1"
    clock.now = 1000.0 + 240.0
    assert bearer_of(auth) == "Bearer tok-2"
    assert auth.token_requests == 2


def test_short_lived_token_renews_at_half_life(token_server: TokenEndpoint) -> None:
    clock = FakeClock(0.0)
    token_server.state.respond = lambda state: state.next_token(expires_in=60)
    auth = make_oauth2(token_server, clock=clock, renew_margin=60)

    bearer_of(auth)
    clock.now = 29.9
    assert bearer_of(auth) == "Bearer tok-1"
    clock.now = 30.0
    assert bearer_of(auth) == "Bearer tok-2"


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [(None, 3600.0), ("1800", 1800.0), ("1800.0", 1800.0), ("soon", 3600.0), (0, 3600.0)],
)
def test_unusual_expires_in(
    token_server: TokenEndpoint, expires_in: object, lifetime: float
) -> None:
    clock = FakeClock(0.0)

    def respond(state: TokenServerState) -> tuple[int, dict[str, str], bytes]:
        state.issued += 1
        payload: dict[str, Any] = {"access_token": f"tok-{state.issued}", "token_type": "Bearer"}
        if expires_in is not None:
            payload["expires_in"] = expires_in
        return json_response(200, payload)

    token_server.state.respond = respond
    auth = make_oauth2(token_server, clock=clock, renew_margin=60)

    bearer_of(auth)
    clock.now = lifetime - 60 - 0.1
    assert bearer_of(auth) == "Bearer tok-1"
    clock.now = lifetime - 60
    assert bearer_of(auth) == "Bearer tok-2"


def test_invalidate_forces_a_new_token(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server)
    first = bearer_of(auth)

    auth.invalidate()
    assert bearer_of(auth) == "Bearer tok-2"
    assert first == "Bearer tok-1"


def test_invalidate_with_stale_authorization_keeps_renewed_token(
    token_server: TokenEndpoint,
) -> None:
    auth = make_oauth2(token_server)
    stale = bearer_of(auth)
    auth.invalidate(stale)  # thread A saw a 401 and renewed
    fresh = bearer_of(auth)

    auth.invalidate(stale)  # thread B saw a 401 for the same old token: nothing to do

    assert bearer_of(auth) == fresh == "Bearer tok-2"
    assert auth.token_requests == 2


def test_invalidate_with_current_authorization_forgets_it(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server)
    current = bearer_of(auth)

    auth.invalidate(current)

    assert bearer_of(auth) == "Bearer tok-2"


def test_invalidate_before_any_token_is_harmless(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server)

    auth.invalidate()
    auth.invalidate("Bearer nothing")

    assert auth.token_requests == 0


def test_concurrent_callers_share_one_renewal(token_server: TokenEndpoint) -> None:
    clock = FakeClock(0.0)
    auth = make_oauth2(token_server, clock=clock)
    assert bearer_of(auth) == "Bearer tok-1"
    clock.now = 10_000.0  # long expired
    token_server.state.delay = 0.1  # keep the renewal in flight while the others arrive
    barrier = threading.Barrier(10)
    results: list[str] = []

    def fetch_page() -> None:
        barrier.wait()
        results.append(bearer_of(auth))

    threads = [threading.Thread(target=fetch_page) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert results == ["Bearer tok-2"] * 10
    assert auth.token_requests == 2
    assert len(token_server.state.requests) == 2


# --------------------------------------------------------------------------- OAuth 2: errors


def error_response(status: int, **payload: Any) -> Callable[..., tuple[int, dict[str, str], bytes]]:
    return lambda state: json_response(status, payload)


def assert_no_secret(error: BaseException, *extra: str) -> None:
    texts = [str(error), repr(error), str(getattr(error, "body_excerpt", "")), *extra]
    for text in texts:
        assert CLIENT_SECRET not in text
        assert quote_plus(CLIENT_SECRET) not in text


@pytest.mark.parametrize("status", [400, 401])
def test_invalid_client_with_basic_suggests_body(token_server: TokenEndpoint, status: int) -> None:
    token_server.state.respond = error_response(status, error="invalid_client")
    auth = make_oauth2(token_server)

    with pytest.raises(AuthenticationError) as caught:
        bearer_of(auth)

    message = str(caught.value)
    assert "refused the client credentials" in message
    assert "check client_id and client_secret" in message
    assert "client_auth='body'" in message
    assert token_server.host in message
    assert caught.value.status_code == status
    assert caught.value.url == token_server.url
    assert_no_secret(caught.value)


def test_invalid_client_with_body_suggests_basic(token_server: TokenEndpoint) -> None:
    token_server.state.respond = error_response(401, error="invalid_client")
    auth = make_oauth2(token_server, client_auth="body")

    with pytest.raises(AuthenticationError, match="client_auth='basic'") as caught:
        bearer_of(auth)
    assert_no_secret(caught.value)


def test_401_without_oauth_error_body(token_server: TokenEndpoint) -> None:
    token_server.state.respond = lambda state: (401, {"Content-Type": "text/plain"}, b"nope")
    auth = make_oauth2(token_server)

    with pytest.raises(AuthenticationError, match="check client_id and client_secret"):
        bearer_of(auth)


def test_invalid_scope_names_the_scopes(token_server: TokenEndpoint) -> None:
    token_server.state.respond = error_response(
        400, error="invalid_scope", error_description="scope not allowed"
    )
    auth = make_oauth2(token_server)

    with pytest.raises(AuthenticationError) as caught:
        bearer_of(auth)

    message = str(caught.value)
    assert "refused the requested scopes" in message
    assert SCOPES[1] in message
    assert "scope not allowed" in message
    assert_no_secret(caught.value)


def test_unauthorized_client_asks_for_the_grant(token_server: TokenEndpoint) -> None:
    token_server.state.respond = error_response(400, error="unauthorized_client")

    with pytest.raises(AuthenticationError, match="client-credentials grant"):
        bearer_of(make_oauth2(token_server))


def test_echoed_secret_is_redacted(token_server: TokenEndpoint) -> None:
    token_server.state.respond = error_response(
        401, error="invalid_client", error_description=f"bad secret {CLIENT_SECRET}"
    )

    with pytest.raises(AuthenticationError) as caught:
        bearer_of(make_oauth2(token_server))

    assert f"bad secret {REDACTED}" in str(caught.value)
    assert_no_secret(caught.value)


def test_200_without_access_token(token_server: TokenEndpoint) -> None:
    token_server.state.respond = error_response(200, token="leaky-value", expires_in=60)

    with pytest.raises(AuthenticationError) as caught:
        bearer_of(make_oauth2(token_server))

    message = str(caught.value)
    assert "without a usable access_token" in message
    assert "fields present: expires_in, token" in message
    assert "leaky-value" not in message
    assert caught.value.body_excerpt is None


def test_200_with_html(token_server: TokenEndpoint) -> None:
    token_server.state.respond = lambda state: (200, {"Content-Type": "text/html"}, b"<html>")

    with pytest.raises(AuthenticationError, match="text/html instead of a JSON token"):
        bearer_of(make_oauth2(token_server))


def test_200_with_error_field(token_server: TokenEndpoint) -> None:
    token_server.state.respond = error_response(200, error="invalid_client")

    with pytest.raises(AuthenticationError, match="refused the client credentials"):
        bearer_of(make_oauth2(token_server))


def test_404_points_at_the_token_url(token_server: TokenEndpoint) -> None:
    token_server.state.respond = lambda state: (404, {"Content-Type": "text/plain"}, b"")

    with pytest.raises(AuthenticationError, match="check that token_url"):
        bearer_of(make_oauth2(token_server))


def test_server_error_and_rate_limit(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server, retry=RetryPolicy.none())
    token_server.state.respond = error_response(503, error="temporarily_unavailable")
    with pytest.raises(ServerError, match="try again later"):
        bearer_of(auth)

    token_server.state.respond = lambda state: (429, {"Retry-After": "7"}, b"slow down")
    with pytest.raises(RateLimitError) as caught:
        bearer_of(auth)
    assert caught.value.retry_after == 7.0

    token_server.state.respond = None
    assert bearer_of(auth) == "Bearer tok-1"  # failures are not cached
    assert auth.token_requests == 3


def test_connection_refused_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = OAuth2ClientCredentials(
        f"http://127.0.0.1:{port}/token", CLIENT_ID, CLIENT_SECRET, retry=RetryPolicy.none()
    )

    with pytest.raises(TransportError) as caught:
        bearer_of(auth)

    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "token endpoint" in str(caught.value)
    assert caught.value.method == "POST"
    assert_no_secret(caught.value)


def test_timeout_is_a_transport_error(token_server: TokenEndpoint) -> None:
    token_server.state.delay = 0.5
    auth = make_oauth2(token_server, timeout=0.05, retry=RetryPolicy.none())

    with pytest.raises(TransportError, match=r"no answer within 0\.05 s"):
        bearer_of(auth)


def test_logs_name_the_host_but_no_secrets(
    token_server: TokenEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="oneroster_client")
    token_server.state.respond = lambda state: state.next_token(scope=SCOPES[0])
    auth = make_oauth2(token_server)

    bearer_of(auth)
    auth.invalidate()

    assert f"fetching OAuth 2 token from {token_server.host}" in caplog.text
    assert "did not grant scopes" in caplog.text
    assert "tok-1" not in caplog.text
    assert CLIENT_SECRET not in caplog.text


def test_oauth2_repr_hides_secret_and_token(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server)
    bearer_of(auth)

    text = repr(auth)
    assert CLIENT_SECRET not in text
    assert "tok-1" not in text
    assert CLIENT_ID not in text
    assert mask(CLIENT_ID) in text
    assert token_server.host in text


# --------------------------------------------------------------------------- OAuth 2: config


@pytest.mark.parametrize(
    "url",
    [
        "http://sis.example.edu/token",
        "ftp://sis.example.edu/token",
        "sis.example.edu/token",
        "https:///token",
    ],
)
def test_bad_token_url_is_rejected(url: str) -> None:
    with pytest.raises(ConfigurationError, match="token_url"):
        OAuth2ClientCredentials(url, CLIENT_ID, CLIENT_SECRET)


@pytest.mark.parametrize(
    "url",
    [
        "https://sis.example.edu/token",
        "http://127.0.0.1:8080/token",
        "http://localhost/token",
        "http://[::1]:9000/token",
        "http://127.0.0.2:8080/token",  # all of 127.0.0.0/8 is loopback
        "https://sis.example.edu/token?tenant=district-7",  # some vendors need a query
    ],
)
def test_secure_or_loopback_token_url_is_accepted(url: str) -> None:
    assert OAuth2ClientCredentials(url, CLIENT_ID, CLIENT_SECRET).token_url == url


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw@sis.example.edu/token",
        "https://sis.example.edu/token?client_secret=hunter2-value",
        "https://sis.example.edu/token#fragment",
    ],
)
def test_token_url_carrying_secrets_is_rejected_without_showing_them(url: str) -> None:
    with pytest.raises(ConfigurationError, match="token_url") as caught:
        OAuth2ClientCredentials(url, CLIENT_ID, CLIENT_SECRET)
    assert "hunter2-value" not in str(caught.value)
    assert "pw@" not in str(caught.value)


@pytest.mark.parametrize("retry", ["5", 5, object()])
def test_retry_must_be_a_policy(retry: object) -> None:
    with pytest.raises(ConfigurationError, match="RetryPolicy"):
        OAuth2ClientCredentials(
            "https://sis.example.edu/token",
            CLIENT_ID,
            CLIENT_SECRET,
            retry=retry,  # type: ignore[arg-type]
        )


def test_insecure_http_can_be_allowed_explicitly() -> None:
    auth = OAuth2ClientCredentials(
        "http://sis.example.edu/token", CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True
    )

    assert auth.token_url == "http://sis.example.edu/token"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"client_id": ""}, "client_id"),
        ({"client_secret": ""}, "client_secret"),
        ({"client_auth": "header"}, "client_auth"),
        ({"scopes": ["roster.readonly", "two words"]}, "scope"),
        ({"scopes": [""]}, "scope"),
        ({"renew_margin": -1}, "renew_margin"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_invalid_settings_are_configuration_errors(kwargs: dict[str, Any], match: str) -> None:
    settings_ = {
        "token_url": "https://sis.example.edu/token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **kwargs,
    }

    with pytest.raises(ConfigurationError, match=match) as caught:
        OAuth2ClientCredentials(**settings_)
    assert CLIENT_SECRET not in str(caught.value)


def test_custom_session_is_used(token_server: TokenEndpoint) -> None:
    session = requests.Session()
    session.headers["X-Test"] = "custom-session"
    auth = make_oauth2(token_server, session=session)

    bearer_of(auth)

    assert token_server.state.requests[0]["headers"]["X-Test"] == "custom-session"
    session.close()


def test_public_properties(token_server: TokenEndpoint) -> None:
    auth = make_oauth2(token_server, client_auth="body", scopes=["a", "b"])

    assert (auth.token_url, auth.client_id, auth.client_auth) == (
        token_server.url,
        CLIENT_ID,
        "body",
    )
    assert auth.scopes == ("a", "b")
    assert auth.token_requests == 0


# --------------------------------------------------------------------------- bearer


def test_bearer_token_sets_header_and_hides_token() -> None:
    auth = BearerToken("pre-issued-token-value")

    assert bearer_of(auth) == "Bearer pre-issued-token-value"
    assert "pre-issued-token-value" not in repr(auth)
    auth.invalidate()  # a no-op: a pre-issued token cannot be renewed
    auth.invalidate("Bearer pre-issued-token-value")
    assert bearer_of(auth) == "Bearer pre-issued-token-value"


@pytest.mark.parametrize("token", ["", "Bearer abc", "abc\r\nX-Evil: 1", "abc\x00"])
def test_bearer_token_rejects_unusable_values(token: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        BearerToken(token)
    assert token not in str(caught.value) or not token
