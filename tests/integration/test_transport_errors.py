"""Integration: every kind of failure becomes the right exception with a useful message.

Auth failures (OAuth 1 and OAuth 2), missing scopes, unknown ids, invalid filters,
malformed bodies, unreachable hosts, timeouts and base URL validation, all through real
HTTP against the loopback server (or a closed port). Also the User-Agent header.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import oneroster_client
from oneroster_client import (
    BearerToken,
    OAuth1,
    OAuth2ClientCredentials,
    OneRosterClient,
    RetryPolicy,
)
from oneroster_client.endpoints import SCOPE_PREFIX
from oneroster_client.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    ResponseFormatError,
    TransportError,
)
from oneroster_client.models import Category
from oneroster_client.testing.server import OneRosterServer
from oneroster_client.transport import Transport

NO_SLEEP = RetryPolicy(sleep=lambda seconds: None)


def _an_org(server: OneRosterServer) -> str:
    """The sourcedId of an org the server holds."""
    return str(server.district["orgs"][0]["sourcedId"])


def _client(server: OneRosterServer, auth: Any, **options: Any) -> OneRosterClient:
    options.setdefault("retry", NO_SLEEP)
    return OneRosterClient(server.base_url, auth=auth, **options)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- authentication -------------------------------------------------------------------------


def test_oauth1_wrong_secret_says_to_check_the_secret(oneroster_server: OneRosterServer) -> None:
    auth = OAuth1(oneroster_server.client_id, "not-the-secret")
    with _client(oneroster_server, auth) as client, pytest.raises(AuthenticationError) as info:
        client.users.list().all()
    error = info.value
    assert error.status_code == 401
    assert "secret" in str(error)
    assert "invalid OAuth 1 signature" in str(error)
    assert oneroster_server.statuses() == [401]  # OAuth 1 cannot be renewed: no second try


def test_oauth1_wrong_key_says_to_check_the_key(oneroster_server: OneRosterServer) -> None:
    auth = OAuth1("someone-else", oneroster_server.client_secret)
    with _client(oneroster_server, auth) as client, pytest.raises(AuthenticationError) as info:
        client.orgs.get(_an_org(oneroster_server))
    assert "key" in str(info.value)
    assert "unknown consumer key" in str(info.value)


def test_oauth2_wrong_client_secret_fails_at_the_token_endpoint(
    oneroster_server: OneRosterServer,
) -> None:
    auth = OAuth2ClientCredentials(
        oneroster_server.token_url, oneroster_server.client_id, "not-the-secret"
    )
    with _client(oneroster_server, auth) as client, pytest.raises(AuthenticationError) as info:
        client.users.list().all()
    message = str(info.value)
    assert "client_secret" in message
    assert "token endpoint" in message
    assert info.value.status_code == 401
    assert oneroster_server.requests == []  # no API request without a token
    assert oneroster_server.token_requests == 1


def test_oauth2_form_credentials_hint_when_basic_is_refused(
    oneroster_server: OneRosterServer,
) -> None:
    oneroster_server.faults.refuse_basic_token_auth = True
    with (
        _client(oneroster_server, oneroster_server.oauth2()) as client,
        pytest.raises(AuthenticationError) as info,
    ):
        client.orgs.list().all()
    assert "client_auth='body'" in str(info.value)
    with _client(oneroster_server, oneroster_server.oauth2(client_auth="body")) as client:
        assert client.orgs.list().all()


def test_oauth2_scope_not_allowed_at_the_token_endpoint(
    oneroster_server: OneRosterServer,
) -> None:
    auth = oneroster_server.oauth2(scopes=[SCOPE_PREFIX + "roster-everything.write"])
    with _client(oneroster_server, auth) as client, pytest.raises(AuthenticationError) as info:
        client.orgs.list().all()
    assert "scope" in str(info.value)


def test_bearer_token_the_server_does_not_know(oneroster_server: OneRosterServer) -> None:
    with (
        _client(oneroster_server, BearerToken("no-such-token-123")) as client,
        pytest.raises(AuthenticationError) as info,
    ):
        client.orgs.list().all()
    assert info.value.status_code == 401
    # A pre-issued token: the advice is about the token, there is no client id to check.
    assert "check the access token" in str(info.value)
    assert "client_id" not in str(info.value)
    assert "no-such-token-123" not in str(info.value)


def test_bearer_token_refused_is_not_repeated(oneroster_server: OneRosterServer) -> None:
    with (
        _client(oneroster_server, BearerToken("no-such-token-123")) as client,
        pytest.raises(AuthenticationError),
    ):
        client.orgs.list().all()
    assert oneroster_server.statuses() == [401]


def test_bearer_token_issued_out_of_band_works(oneroster_server: OneRosterServer) -> None:
    token = oneroster_server.issue_token()
    with _client(oneroster_server, BearerToken(token)) as client:
        assert client.orgs.list().all()
    assert {r.auth for r in oneroster_server.requests} == {"bearer"}


def test_no_credentials_at_all(oneroster_server: OneRosterServer) -> None:
    with _client(oneroster_server, None) as client, pytest.raises(AuthenticationError) as info:
        client.orgs.list().all()
    assert "gave up" not in str(info.value)  # one attempt only
    assert oneroster_server.statuses() == [401]


# --- permissions ------------------------------------------------------------------------------


def test_missing_scope_is_permission_denied_naming_the_scope(
    oneroster_server: OneRosterServer,
) -> None:
    auth = oneroster_server.oauth2(scopes=[SCOPE_PREFIX + "roster-core.readonly"])
    with _client(oneroster_server, auth) as client:
        assert client.users.list().first(1)  # the granted scope works
        with pytest.raises(PermissionDeniedError) as info:
            client.demographics.list().all()
    error = info.value
    assert error.status_code == 403
    assert "scope" in str(error)
    assert "roster-demographics.readonly" in str(error)


def test_gradebook_write_without_the_createput_scope(oneroster_server: OneRosterServer) -> None:
    auth = oneroster_server.oauth2(scopes=[SCOPE_PREFIX + "gradebook.readonly"])
    with _client(oneroster_server, auth) as client:
        assert client.categories.list().all()
        with pytest.raises(PermissionDeniedError) as info:
            client.categories.put(Category(sourced_id="cat-x", title="X"))
    assert "gradebook.createput" in str(info.value)


def test_gradebook_writes_forbidden_by_the_server(oneroster_server: OneRosterServer) -> None:
    oneroster_server.faults.gradebook_writes_forbidden = True
    with (
        _client(oneroster_server, oneroster_server.oauth1()) as client,
        pytest.raises(PermissionDeniedError) as info,
    ):
        client.categories.delete(oneroster_server.district["categories"][0]["sourcedId"])
    assert info.value.code_minors == ("forbidden",)
    assert "gradebook.delete" in str(info.value)


# --- request errors -------------------------------------------------------------------------


def test_unknown_id_is_not_found(oneroster_server: OneRosterServer) -> None:
    student = next(u for u in oneroster_server.district["users"] if u["role"] == "student")
    student_id = student["sourcedId"]
    with _client(oneroster_server, oneroster_server.oauth1()) as client:
        with pytest.raises(NotFoundError) as info:
            client.users.get("usr-does-not-exist")
        with pytest.raises(NotFoundError):
            client.classes.students("cls-does-not-exist").all()
        with pytest.raises(NotFoundError):
            client.teachers.get(student_id)  # a student is not a teacher
    assert info.value.status_code == 404
    assert info.value.code_minors == ("unknownobject",)
    assert oneroster_server.statuses() == [404, 404, 404]


def test_invalid_filter_field_is_bad_request(oneroster_server: OneRosterServer) -> None:
    with (
        _client(oneroster_server, oneroster_server.oauth1()) as client,
        pytest.raises(BadRequestError) as info,
    ):
        client.users.list(filter="favouriteColour='blue'").all()
    error = info.value
    assert error.status_code == 400
    assert "invalidfilterfield" in error.code_minors
    assert "favouriteColour" in str(error)
    assert "blue" not in str(error)  # filter values are redacted from messages
    assert oneroster_server.statuses() == [400]


def test_unknown_sort_and_selection_fields_are_warnings_not_errors(
    oneroster_server: OneRosterServer,
) -> None:
    with _client(oneroster_server, oneroster_server.oauth1()) as client:
        listing = client.orgs.list(sort="shoeSize", fields="sourcedId,name,type,shoeSize")
        orgs = listing.all()
    assert orgs and listing.complete is True
    assert {w.code_minor for w in listing.warnings} == {"invalidsortfield", "invalidselectionfield"}


@pytest.mark.parametrize("kind", ["invalid", "truncated"])
def test_malformed_json_is_a_response_format_error(
    oneroster_server: OneRosterServer, kind: str
) -> None:
    oneroster_server.faults.malform_next(kind)
    with (
        _client(oneroster_server, oneroster_server.oauth1()) as client,
        pytest.raises(ResponseFormatError) as info,
    ):
        client.users.list().all()
    assert "not JSON" in str(info.value)
    assert "line 1 column" in str(info.value)
    # A 2xx body is student data: the exception says where it broke, never what it said.
    assert info.value.body_excerpt is None


def test_malformed_json_on_a_later_page(oneroster_server: OneRosterServer) -> None:
    pages = 0

    def break_next_page(received: int, total: int | None) -> None:
        nonlocal pages
        pages += 1
        if pages == 1:
            oneroster_server.faults.malform_next("truncated")

    with (
        _client(oneroster_server, oneroster_server.oauth1()) as client,
        pytest.raises(ResponseFormatError),
    ):
        client.users.list(page_size=50, progress=break_next_page).all()
    assert len(oneroster_server.requests) == 2


def test_malformed_single_record(oneroster_server: OneRosterServer) -> None:
    oneroster_server.faults.malform_next("invalid")
    with (
        _client(oneroster_server, oneroster_server.oauth1()) as client,
        pytest.raises(ResponseFormatError),
    ):
        client.orgs.get(_an_org(oneroster_server))


def test_body_without_the_envelope_but_one_list_is_read(oneroster_server: OneRosterServer) -> None:
    oneroster_server.faults.malform_next("no_envelope")
    with _client(oneroster_server, oneroster_server.oauth1()) as client:
        assert len(client.orgs.list().all()) == len(oneroster_server.district["orgs"])


# --- transport --------------------------------------------------------------------------------


def test_connection_refused_is_a_transport_error_after_retries(closed_port: int) -> None:
    waits: list[float] = []
    retry = RetryPolicy(max_attempts=3, sleep=waits.append)
    url = f"http://127.0.0.1:{closed_port}/ims/oneroster/v1p1"
    with (
        OneRosterClient(url, auth=None, retry=retry) as client,
        pytest.raises(TransportError) as info,
    ):
        client.orgs.list().all()
    assert f"127.0.0.1:{closed_port}" in str(info.value)
    assert "could not connect" in str(info.value)
    assert "connection was refused" in str(info.value)
    assert "DNS" not in str(info.value)  # the name resolved; blaming DNS would mislead
    assert info.value.method == "GET"
    assert len(waits) == 2


def test_a_host_name_that_does_not_resolve_blames_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "sis.invalid":  # RFC 6761: never resolves; answered here, offline
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    transport = Transport("https://sis.invalid/ims/oneroster/v1p1", auth=None, retry=NO_SLEEP)

    with pytest.raises(TransportError) as info:
        transport.request("GET", transport.url_for("/orgs"))

    message = str(info.value)
    assert "could not resolve the host name 'sis.invalid'" in message
    assert "DNS" in message
    assert "refused" not in message


def test_a_server_slower_than_the_timeout_is_a_transport_error(
    oneroster_server: OneRosterServer,
) -> None:
    oneroster_server.faults.latency = 0.3
    with (
        _client(
            oneroster_server, oneroster_server.oauth1(), timeout=0.05, retry=RetryPolicy.none()
        ) as client,
        pytest.raises(TransportError) as info,
    ):
        client.orgs.list().all()
    assert "did not answer in time" in str(info.value)


# --- base URL validation ---------------------------------------------------------------------


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigurationError) as info:
        Transport("http://sis.example.org/ims/oneroster/v1p1", auth=None)
    assert "https" in str(info.value)
    assert "allow_insecure_http" in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://sis.example.org/ims/oneroster/v1p1",
        "https://sis.example.org/ims/oneroster/v1p1",
        "http://localhost:8080/ims/oneroster/v1p1",
        "http://[::1]:8080/ims/oneroster/v1p1",
    ],
)
def test_accepted_base_urls(url: str) -> None:
    insecure = "sis.example.org" in url and url.startswith("http:")
    transport = Transport(url, auth=None, allow_insecure_http=insecure)
    assert transport.base_url == url
    transport.close()


@pytest.mark.parametrize(
    "url",
    ["", "sis.example.org/ims", "ftp://sis.example.org/ims", "https://sis.example.org/x?a=1"],
)
def test_invalid_base_urls(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Transport(url, auth=None)
    assert "base_url" in str(info.value)


def test_trailing_slash_is_normalised_and_requests_still_work(
    oneroster_server: OneRosterServer,
) -> None:
    with OneRosterClient(
        oneroster_server.base_url + "/", auth=oneroster_server.oauth1(), retry=NO_SLEEP
    ) as client:
        assert client.base_url == oneroster_server.base_url
        assert client.orgs.list().all()
    assert oneroster_server.requests[0].path == oneroster_server.base_path + "/orgs"


def test_base_url_with_credentials_is_not_shown_in_errors() -> None:
    with pytest.raises(ConfigurationError) as info:
        Transport("http://user:hunter22@sis.example.org/ims/oneroster/v1p1", auth=None)
    assert "hunter22" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://district-user:hunter22-secret@sis.example.org/ims/oneroster/v1p1",
        "https://sis.example.org/ims/oneroster/v1p1?client_secret=hunter22-secret",
        "https://sis.example.org/ims/oneroster/v1p1?access_token=hunter22-secret",
    ],
)
def test_credentials_inside_a_https_base_url_are_refused_and_not_shown(url: str) -> None:
    # The old check accepted userinfo in an https URL, so the password rode along in
    # every message and log line that showed the base URL.
    with pytest.raises(ConfigurationError) as info:
        Transport(url, auth=None)
    message = str(info.value)
    assert "hunter22" not in message
    assert "auth object" in message


# --- headers ----------------------------------------------------------------------------------


class HeaderRecorder:
    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.headers.append(dict(response.request.headers))


@pytest.fixture
def recorded() -> Iterator[tuple[requests.Session, HeaderRecorder]]:
    recorder = HeaderRecorder()
    with requests.Session() as session:
        session.hooks["response"].append(recorder)
        yield session, recorder


def test_user_agent_names_the_library_and_version(
    oneroster_server: OneRosterServer, recorded: tuple[requests.Session, HeaderRecorder]
) -> None:
    session, recorder = recorded
    with _client(oneroster_server, oneroster_server.oauth1(), session=session) as client:
        client.orgs.list().all()
        client.orgs.get(_an_org(oneroster_server))
        client.categories.put(Category(sourced_id="cat-ua", title="UA"))
    assert len(recorder.headers) == 3
    for headers in recorder.headers:
        assert headers["User-Agent"].startswith(f"oneroster-client/{oneroster_client.__version__}")
        assert headers["Accept"] == "application/json"
    assert recorder.headers[-1]["Content-Type"] == "application/json"


def test_custom_user_agent(
    oneroster_server: OneRosterServer, recorded: tuple[requests.Session, HeaderRecorder]
) -> None:
    session, recorder = recorded
    with _client(
        oneroster_server, oneroster_server.oauth1(), session=session, user_agent="district-sync/2"
    ) as client:
        client.orgs.get(_an_org(oneroster_server))
    assert recorder.headers[0]["User-Agent"] == "district-sync/2"


def test_a_session_passed_in_is_not_closed_by_the_client(
    oneroster_server: OneRosterServer, recorded: tuple[requests.Session, HeaderRecorder]
) -> None:
    session, recorder = recorded
    with _client(oneroster_server, oneroster_server.oauth1(), session=session) as client:
        client.orgs.get(_an_org(oneroster_server))
    with _client(oneroster_server, oneroster_server.oauth1(), session=session) as client:
        client.orgs.get(_an_org(oneroster_server))
    assert len(recorder.headers) == 2
