"""Integration: the loopback server authenticates like a strict OneRoster 1.1 provider.

Everything here talks raw HTTP with ``requests``. OAuth 1 requests are signed by an
independent implementation (``oauthlib``), never by this project's signer, so a bug shared
by the client and the server cannot hide. OAuth 2 tokens are fetched from the token
endpoint by hand (HTTP Basic and form credentials) and their scopes must limit access.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from oauthlib import oauth1

from oneroster_client.testing.district import District
from oneroster_client.testing.generator import generate_district
from oneroster_client.testing.server import ALL_SCOPES, OneRosterServer

SCOPE = "https://purl.imsglobal.org/spec/or/v1p1/scope/"
CORE = SCOPE + "roster-core.readonly"


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[OneRosterServer]:
    """One server for the tests that change nothing (the fixture district, plus three users).

    Tests that change faults, revoke tokens or write use the per-test ``oneroster_server``.
    """
    district = generate_district(students=60, seed=7)
    _add_user(district, "usr-auth-1", familyName="Van der Quist", middleName='"Bud"')
    _add_user(district, "usr-auth-2", givenName="Chloé Anaïs")
    _add_user(district, "usr-auth-3", familyName="中村 / Zhōng", email="a/b=c,d&e+f@example.org")
    with OneRosterServer(district) as shared:
        yield shared


def _query(params: list[tuple[str, str]]) -> str:
    """Encode a query string the strict way: every reserved byte as %XX, spaces as %20."""
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in params)


def _oauthlib_client(
    server: OneRosterServer,
    *,
    signature_method: str = oauth1.SIGNATURE_HMAC_SHA256,
    secret: str | None = None,
    **options: Any,
) -> oauth1.Client:
    return oauth1.Client(
        server.client_id,
        client_secret=server.client_secret if secret is None else secret,
        signature_method=signature_method,
        signature_type=oauth1.SIGNATURE_TYPE_AUTH_HEADER,
        **options,
    )


def _sign(
    server: OneRosterServer, url: str, method: str = "GET", **options: Any
) -> tuple[str, dict[str, str]]:
    """Sign ``url`` exactly as given with oauthlib; return the URL and the headers to send."""
    uri, headers, _body = _oauthlib_client(server, **options).sign(url, http_method=method)
    return uri, headers


def _oauth_params(header: str) -> dict[str, str]:
    """The raw (still encoded) name/value pairs of an ``Authorization: OAuth`` header."""
    assert header.startswith("OAuth ")
    params = {}
    for part in header[len("OAuth ") :].split(","):
        name, _, value = part.strip().partition("=")
        params[name] = value.strip('"')
    return params


def _oauth_header(params: dict[str, str]) -> str:
    return "OAuth " + ", ".join(f'{name}="{value}"' for name, value in params.items())


def _status_infos(response: requests.Response) -> list[dict[str, Any]]:
    body = response.json()
    assert isinstance(body.get("statusInfoSet"), list), body
    return body["statusInfoSet"]  # type: ignore[no-any-return]


def _assert_error(response: requests.Response, status: int, code_minor: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    infos = _status_infos(response)
    assert [info["imsx_codeMinor"] for info in infos] == [code_minor], infos
    assert infos[0]["imsx_codeMajor"] == "failure"
    assert infos[0]["imsx_severity"] == "error"


def _token(
    server: OneRosterServer, scope: str | None = None, *, form: bool = False
) -> requests.Response:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    if form:
        data.update(client_id=server.client_id, client_secret=server.client_secret)
        return requests.post(server.token_url, data=data, timeout=5)
    return requests.post(
        server.token_url, data=data, auth=(server.client_id, server.client_secret), timeout=5
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _add_user(district: District, sourced_id: str, **fields: str) -> dict[str, Any]:
    student = next(u for u in district["users"] if u["role"] == "student")
    user = copy.deepcopy(student)
    user.update(sourcedId=sourced_id, **fields)
    district["users"].append(user)
    return user


# --- OAuth 1 ------------------------------------------------------------------------------


SIGNED_QUERIES = [
    pytest.param("familyName='Van der Quist'", {"usr-auth-1"}, id="spaces"),
    pytest.param("givenName='Chloé Anaïs'", {"usr-auth-2"}, id="non-ascii-latin"),
    pytest.param("familyName='中村 / Zhōng'", {"usr-auth-3"}, id="cjk-slash-spaces"),
    pytest.param("email='a/b=c,d&e+f@example.org'", {"usr-auth-3"}, id="reserved-characters"),
    pytest.param("middleName~'\"Bud\"'", {"usr-auth-1"}, id="double-quotes-in-value"),
    pytest.param(
        "familyName='Van der Quist' OR givenName='Chloé Anaïs'",
        {"usr-auth-1", "usr-auth-2"},
        id="two-predicates",
    ),
]


@pytest.mark.parametrize(
    "signature_method",
    [oauth1.SIGNATURE_HMAC_SHA256, oauth1.SIGNATURE_HMAC_SHA1],
    ids=["sha256", "sha1"],
)
@pytest.mark.parametrize(("filter_text", "expected"), SIGNED_QUERIES)
def test_oauthlib_signed_requests_with_encoded_filters_are_accepted(
    server: OneRosterServer, signature_method: str, filter_text: str, expected: set[str]
) -> None:
    query = _query(
        [
            ("filter", filter_text),
            ("limit", "50"),
            ("offset", "0"),
            ("sort", "familyName"),
            ("fields", "sourcedId,familyName"),
        ]
    )
    url = f"{server.base_url}/users?{query}"
    assert " " not in url and "+" not in url.split("?", 1)[1].replace("%2B", "")

    uri, headers = _sign(server, url, signature_method=signature_method)
    assert uri == url
    response = requests.get(uri, headers=headers, timeout=5)

    assert response.status_code == 200, response.text
    assert response.request.url == url, "requests changed the signed URL"
    assert {user["sourcedId"] for user in response.json()["users"]} == expected
    served = server.requests[-1]
    assert (served.status, served.auth, served.query["filter"]) == (200, "oauth1", filter_text)


def test_oauthlib_signed_single_object_get_is_accepted(server: OneRosterServer) -> None:
    user_id = server.district["users"][0]["sourcedId"]
    uri, headers = _sign(server, f"{server.base_url}/users/{user_id}")
    response = requests.get(uri, headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["sourcedId"] == user_id


def test_oauthlib_signed_put_with_json_body_is_accepted(oneroster_server: OneRosterServer) -> None:
    url = f"{oneroster_server.base_url}/categories/cat-auth-put"
    body = json.dumps({"category": {"sourcedId": "cat-auth-put", "title": "Labs"}})
    content_type = {"Content-Type": "application/json"}
    uri, headers, _ = _oauthlib_client(oneroster_server).sign(
        url, http_method="PUT", body=body, headers=content_type
    )
    response = requests.put(uri, data=body.encode(), headers=headers, timeout=5)
    assert response.status_code == 201, response.text
    assert response.json()["category"]["title"] == "Labs"


def test_oauth1_query_changed_after_signing_is_rejected(server: OneRosterServer) -> None:
    users = f"{server.base_url}/users?"
    _uri, headers = _sign(server, users + _query([("filter", "role='teacher'")]))
    tampered = users + _query([("filter", "role='student'")])
    _assert_error(requests.get(tampered, headers=headers, timeout=5), 401, "unauthorized")


def test_oauth1_extra_parameter_after_signing_is_rejected(
    server: OneRosterServer,
) -> None:
    url = f"{server.base_url}/users?limit=5"
    _uri, headers = _sign(server, url)
    response = requests.get(url + "&offset=5", headers=headers, timeout=5)
    _assert_error(response, 401, "unauthorized")


def test_oauth1_path_changed_after_signing_is_rejected(server: OneRosterServer) -> None:
    _uri, headers = _sign(server, f"{server.base_url}/students")
    response = requests.get(f"{server.base_url}/teachers", headers=headers, timeout=5)
    _assert_error(response, 401, "unauthorized")


def test_oauth1_method_changed_after_signing_is_rejected(
    server: OneRosterServer,
) -> None:
    url = f"{server.base_url}/categories/cat-method"
    _uri, headers = _sign(server, url, method="GET")
    body = {"category": {"sourcedId": "cat-method", "title": "T"}}
    _assert_error(requests.put(url, json=body, headers=headers, timeout=5), 401, "unauthorized")


@pytest.mark.parametrize(
    "signature_method",
    [oauth1.SIGNATURE_HMAC_SHA256, oauth1.SIGNATURE_HMAC_SHA1],
    ids=["sha256", "sha1"],
)
def test_oauth1_wrong_secret_is_rejected(server: OneRosterServer, signature_method: str) -> None:
    url = f"{server.base_url}/users"
    uri, headers = _sign(
        server,
        url,
        secret=server.client_secret + "x",
        signature_method=signature_method,
    )
    _assert_error(requests.get(uri, headers=headers, timeout=5), 401, "unauthorized")


def test_oauth1_unknown_consumer_key_is_rejected(server: OneRosterServer) -> None:
    client = oauth1.Client(
        "someone-else",
        client_secret=server.client_secret,
        signature_method=oauth1.SIGNATURE_HMAC_SHA256,
    )
    uri, headers, _ = client.sign(f"{server.base_url}/users")
    _assert_error(requests.get(uri, headers=headers, timeout=5), 401, "unauthorized")


def test_oauth1_reused_nonce_is_rejected(server: OneRosterServer) -> None:
    url = f"{server.base_url}/orgs?" + _query([("filter", "type='school'")])
    uri, headers = _sign(server, url)
    assert requests.get(uri, headers=headers, timeout=5).status_code == 200
    _assert_error(requests.get(uri, headers=headers, timeout=5), 401, "unauthorized")


def test_oauth1_same_nonce_with_new_timestamp_and_fresh_nonces_are_accepted(
    server: OneRosterServer,
) -> None:
    url = f"{server.base_url}/orgs"
    now = int(time.time())
    for timestamp in (now, now - 1):
        uri, headers = _sign(server, url, nonce="fixednonce1234", timestamp=str(timestamp))
        assert requests.get(uri, headers=headers, timeout=5).status_code == 200
    for _ in range(3):
        uri, headers = _sign(server, url)
        assert requests.get(uri, headers=headers, timeout=5).status_code == 200


@pytest.mark.parametrize("age", [2 * 3600, -2 * 3600], ids=["two-hours-old", "two-hours-ahead"])
def test_oauth1_timestamp_outside_the_window_is_rejected(server: OneRosterServer, age: int) -> None:
    timestamp = str(int(time.time()) - age)
    uri, headers = _sign(server, f"{server.base_url}/users", timestamp=timestamp)
    _assert_error(requests.get(uri, headers=headers, timeout=5), 401, "unauthorized")


def test_oauth1_timestamp_a_few_minutes_off_is_accepted(server: OneRosterServer) -> None:
    timestamp = str(int(time.time()) - 5 * 60)
    uri, headers = _sign(server, f"{server.base_url}/users", timestamp=timestamp)
    assert requests.get(uri, headers=headers, timeout=5).status_code == 200


@pytest.mark.parametrize(
    "missing",
    [
        "oauth_consumer_key",
        "oauth_signature_method",
        "oauth_timestamp",
        "oauth_nonce",
        "oauth_signature",
    ],
)
def test_oauth1_missing_parameters_are_a_bad_request(server: OneRosterServer, missing: str) -> None:
    url = f"{server.base_url}/users"
    _uri, headers = _sign(server, url)
    params = _oauth_params(headers["Authorization"])
    del params[missing]
    response = requests.get(url, headers={"Authorization": _oauth_header(params)}, timeout=5)
    _assert_error(response, 400, "invalid data")
    assert missing in _status_infos(response)[0]["imsx_description"]


def test_oauth1_unsupported_signature_method_is_a_bad_request(
    server: OneRosterServer,
) -> None:
    url = f"{server.base_url}/users"
    uri, headers = _sign(server, url, signature_method=oauth1.SIGNATURE_PLAINTEXT)
    _assert_error(requests.get(uri, headers=headers, timeout=5), 400, "invalid data")


def test_oauth1_malformed_header_is_a_bad_request(server: OneRosterServer) -> None:
    headers = {"Authorization": 'OAuth oauth_consumer_key="unterminated'}
    response = requests.get(f"{server.base_url}/users", headers=headers, timeout=5)
    _assert_error(response, 400, "invalid data")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic"),
        pytest.param({"Authorization": "Digest realm=x"}, id="unknown-scheme"),
    ],
)
def test_request_without_usable_authorization_is_unauthorized(
    server: OneRosterServer, headers: dict[str, str]
) -> None:
    response = requests.get(f"{server.base_url}/users", headers=headers, timeout=5)
    _assert_error(response, 401, "unauthorized")
    assert "WWW-Authenticate" in response.headers
    assert "users" not in response.json()
    assert server.requests[-1].status == 401


def test_server_without_auth_serves_anyone(server: OneRosterServer) -> None:
    with OneRosterServer(server.district, auth=()) as open_server:
        response = requests.get(f"{open_server.base_url}/orgs", timeout=5)
    assert response.status_code == 200
    assert len(response.json()["orgs"]) == len(server.district["orgs"])


def test_oauth1_only_server_refuses_bearer_tokens(server: OneRosterServer) -> None:
    with OneRosterServer(server.district, auth=("oauth1",)) as oauth1_only:
        token = oauth1_only.issue_token()
        url = f"{oauth1_only.base_url}/orgs"
        _assert_error(requests.get(url, headers=_bearer(token), timeout=5), 401, "unauthorized")
        uri, headers = _sign(oauth1_only, url)
        assert requests.get(uri, headers=headers, timeout=5).status_code == 200


def test_oauth2_only_server_refuses_oauth1(server: OneRosterServer) -> None:
    with OneRosterServer(server.district, auth=("oauth2",)) as oauth2_only:
        uri, headers = _sign(oauth2_only, f"{oauth2_only.base_url}/orgs")
        _assert_error(requests.get(uri, headers=headers, timeout=5), 401, "unauthorized")


# --- OAuth 2 ------------------------------------------------------------------------------


@pytest.mark.parametrize("form", [False, True], ids=["http-basic", "form-credentials"])
def test_oauth2_token_is_issued_and_accepted(server: OneRosterServer, form: bool) -> None:
    response = _token(server, form=form)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == set(ALL_SCOPES)
    assert body["access_token"]
    api = requests.get(f"{server.base_url}/users", headers=_bearer(body["access_token"]), timeout=5)
    assert api.status_code == 200
    assert server.requests[-1].auth == "bearer"


def test_oauth2_basic_credentials_are_url_decoded(server: OneRosterServer) -> None:
    # RFC 6749 2.3.1: id and secret are form-urlencoded before the Basic encoding.
    with OneRosterServer(
        server.district, client_id="district:app", client_secret="s3cret with/odd+chars"
    ) as odd:
        raw = f"{quote(odd.client_id, safe='')}:{quote(odd.client_secret, safe='')}"
        header = "Basic " + base64.b64encode(raw.encode()).decode()
        response = requests.post(
            odd.token_url,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": header},
            timeout=5,
        )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("form", [False, True], ids=["http-basic", "form-credentials"])
def test_oauth2_wrong_secret_is_invalid_client(server: OneRosterServer, form: bool) -> None:
    data = {"grant_type": "client_credentials"}
    if form:
        data.update(client_id=server.client_id, client_secret="wrong")
        response = requests.post(server.token_url, data=data, timeout=5)
    else:
        auth = (server.client_id, "wrong")
        response = requests.post(server.token_url, data=data, auth=auth, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.json()


def test_oauth2_unknown_client_and_missing_credentials_are_invalid_client(
    server: OneRosterServer,
) -> None:
    data = {"grant_type": "client_credentials"}
    auth = ("not-the-client", server.client_secret)
    unknown = requests.post(server.token_url, data=data, auth=auth, timeout=5)
    anonymous = requests.post(server.token_url, data=data, timeout=5)
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_client")
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_client")


def test_oauth2_other_grant_types_are_refused(server: OneRosterServer) -> None:
    auth = (server.client_id, server.client_secret)
    response = requests.post(
        server.token_url, data={"grant_type": "password"}, auth=auth, timeout=5
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_oauth2_token_endpoint_needs_post(server: OneRosterServer) -> None:
    response = requests.get(server.token_url, timeout=5)
    assert response.status_code == 405


@pytest.mark.parametrize(
    "scope",
    [
        SCOPE + "roster-everything.readonly",
        f"{CORE} {SCOPE}gradebook.admin",
        "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly",
    ],
)
def test_oauth2_unknown_scope_is_invalid_scope(server: OneRosterServer, scope: str) -> None:
    response = _token(server, scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_oauth2_scope_not_granted_to_the_client_is_invalid_scope(
    server: OneRosterServer,
) -> None:
    with OneRosterServer(server.district, scopes=[CORE]) as core_only:
        refused = _token(core_only, SCOPE + "gradebook.readonly")
        default = _token(core_only)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope")
    assert default.status_code == 200
    assert default.json()["scope"] == CORE


def _core_only_token(server: OneRosterServer) -> str:
    response = _token(server, CORE)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == CORE
    return str(response.json()["access_token"])


def test_oauth2_roster_core_token_reads_core_rostering(server: OneRosterServer) -> None:
    headers = _bearer(_core_only_token(server))
    for path in ("/users", "/classes", "/schools", "/enrollments", "/terms"):
        response = requests.get(server.base_url + path, headers=headers, timeout=5)
        assert response.status_code == 200, (path, response.text)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/demographics"),
        ("GET", "/demographics/{student}"),
        ("GET", "/resources"),
        ("GET", "/categories"),
        ("GET", "/classes/{class}/lineItems"),
        ("PUT", "/categories/cat-scope-test"),
        ("PUT", "/lineItems/li-scope-test"),
        ("PUT", "/results/res-scope-test"),
        ("DELETE", "/categories/{category}"),
    ],
)
def test_oauth2_roster_core_token_is_forbidden_elsewhere(
    server: OneRosterServer, method: str, path: str
) -> None:
    district = server.district
    path = path.format(
        student=next(u["sourcedId"] for u in district["users"] if u["role"] == "student"),
        category=district["categories"][0]["sourcedId"],
        **{"class": district["classes"][0]["sourcedId"]},
    )
    headers = _bearer(_core_only_token(server))
    body = {"category": {"sourcedId": "cat-scope-test", "title": "x"}} if method == "PUT" else None
    before = copy.deepcopy(district.collections)
    response = requests.request(
        method, server.base_url + path, headers=headers, json=body, timeout=5
    )
    _assert_error(response, 403, "forbidden")
    assert response.json().get("error") in (None, "insufficient_scope")
    assert district.collections == before, "a forbidden request changed the data"


def test_oauth2_scopes_split_gradebook_read_write_and_delete(
    oneroster_server: OneRosterServer,
) -> None:
    base = oneroster_server.base_url

    def token(*names: str) -> dict[str, str]:
        response = _token(oneroster_server, " ".join(SCOPE + name for name in names))
        assert response.status_code == 200, response.text
        return _bearer(response.json()["access_token"])

    reader = token("gradebook.readonly")
    writer = token("gradebook.createput")
    deleter = token("gradebook.delete")
    body = {"category": {"sourcedId": "cat-scopes", "title": "Quizzes"}}
    url = f"{base}/categories/cat-scopes"

    _assert_error(requests.put(url, json=body, headers=reader, timeout=5), 403, "forbidden")
    assert requests.put(url, json=body, headers=writer, timeout=5).status_code == 201
    assert requests.get(url, headers=reader, timeout=5).status_code == 200
    _assert_error(requests.get(url, headers=writer, timeout=5), 403, "forbidden")
    _assert_error(requests.delete(url, headers=writer, timeout=5), 403, "forbidden")
    assert requests.delete(url, headers=deleter, timeout=5).status_code == 204
    _assert_error(requests.get(url, headers=reader, timeout=5), 404, "unknown object")


def test_oauth2_roster_readonly_and_demographics_scopes_open_demographics(
    server: OneRosterServer,
) -> None:
    for name in ("roster.readonly", "roster-demographics.readonly"):
        response = _token(server, SCOPE + name)
        headers = _bearer(response.json()["access_token"])
        api = requests.get(f"{server.base_url}/demographics", headers=headers, timeout=5)
        assert api.status_code == 200, (name, api.text)


def test_oauth2_token_expires_when_the_server_says(oneroster_server: OneRosterServer) -> None:
    oneroster_server.faults.token_valid_for = 0.2
    oneroster_server.faults.token_lifetime = 120
    response = _token(oneroster_server)
    assert response.json()["expires_in"] == 120
    headers = _bearer(response.json()["access_token"])
    url = f"{oneroster_server.base_url}/orgs"
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    time.sleep(0.3)
    expired = requests.get(url, headers=headers, timeout=5)
    _assert_error(expired, 401, "unauthorized")
    assert expired.json()["error"] == "invalid_token"
    assert "invalid_token" in expired.headers["WWW-Authenticate"]
    fresh = _bearer(_token(oneroster_server).json()["access_token"])
    assert requests.get(url, headers=fresh, timeout=5).status_code == 200


def test_oauth2_unknown_and_revoked_tokens_are_rejected(oneroster_server: OneRosterServer) -> None:
    url = f"{oneroster_server.base_url}/orgs"
    _assert_error(requests.get(url, headers=_bearer("made-up"), timeout=5), 401, "unauthorized")
    token = oneroster_server.issue_token()
    assert requests.get(url, headers=_bearer(token), timeout=5).status_code == 200
    oneroster_server.expire_tokens()
    _assert_error(requests.get(url, headers=_bearer(token), timeout=5), 401, "unauthorized")


def test_issued_token_with_scopes_and_lifetime(server: OneRosterServer) -> None:
    url = f"{server.base_url}/demographics"
    limited = server.issue_token(scopes=[CORE])
    _assert_error(requests.get(url, headers=_bearer(limited), timeout=5), 403, "forbidden")
    short = server.issue_token(lifetime=0.1)
    assert requests.get(url, headers=_bearer(short), timeout=5).status_code == 200
    time.sleep(0.15)
    _assert_error(requests.get(url, headers=_bearer(short), timeout=5), 401, "unauthorized")


# --- secrets --------------------------------------------------------------------------------


def test_served_requests_and_repr_never_show_secrets(oneroster_server: OneRosterServer) -> None:
    server = oneroster_server
    secret = server.client_secret
    basic = _token(server).json()["access_token"]
    form = _token(server, form=True).json()["access_token"]
    issued = server.issue_token()
    signatures = []
    for token in (basic, form, issued):
        assert requests.get(f"{server.base_url}/orgs", headers=_bearer(token), timeout=5).ok
    for path in ("/orgs", "/users?limit=3", "/nope"):
        uri, headers = _sign(server, server.base_url + path)
        signatures.append(_oauth_params(headers["Authorization"])["oauth_signature"])
        requests.get(uri, headers=headers, timeout=5)
    wrong = requests.post(server.token_url, data={"grant_type": "client_credentials"}, timeout=5)
    assert wrong.status_code == 401

    assert len(server.requests) == 6
    served = repr(server.requests) + str(server.requests)
    for value in (secret, basic, form, issued, *signatures):
        assert value not in served
    assert "Bearer" not in served and "oauth_signature" not in served
    assert all(not hasattr(request, "headers") for request in server.requests)
    assert secret not in repr(server) and secret not in str(server)
    assert server.client_id in repr(server)
