"""Integration: OAuth 1 signing and OAuth 2 token renewal through real HTTP.

Everything runs against the loopback server, which verifies every OAuth 1 signature
(nonce and timestamp included) and issues OAuth 2 tokens. Filter values with spaces,
``/`` and non-ASCII text must be signed exactly as they travel (``%20``, never ``+``);
every page, every retry, every PUT and DELETE is signed afresh.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth1.rfc5849 import signature as oauthlib_signature

from oneroster_client import F, OAuth1, OneRosterClient, RetryPolicy
from oneroster_client.auth import parse_authorization_header
from oneroster_client.models import Category, User
from oneroster_client.testing.district import District
from oneroster_client.testing.hostile import Reply, ScriptedServer
from oneroster_client.testing.server import OneRosterServer

NO_SLEEP = RetryPolicy(sleep=lambda seconds: None)


class RecordingSession(requests.Session):
    """A session that remembers the Authorization and URL of every request it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, str | None]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(
            (request.method or "", request.url or "", request.headers.get("Authorization"))
        )
        return super().send(request, **kwargs)


@pytest.fixture
def session() -> Iterator[RecordingSession]:
    with RecordingSession() as recording:
        yield recording


def _client(server: OneRosterServer, auth: Any, **options: Any) -> OneRosterClient:
    options.setdefault("retry", NO_SLEEP)
    return OneRosterClient(server.base_url, auth=auth, **options)


def _extra_user(district: District, sourced_id: str, given: str, family: str) -> dict[str, Any]:
    """Add a copy of the first student with new ids and names to the district."""
    student = next(u for u in district["users"] if u["role"] == "student")
    user = copy.deepcopy(student)
    user.update(sourcedId=sourced_id, givenName=given, familyName=family)
    district["users"].append(user)
    return user


def _served_ok_with(server: OneRosterServer, kind: str) -> None:
    assert server.requests, "the server saw no request"
    for request in server.requests:
        assert (request.status, request.auth) == (200, kind), request


# --- OAuth 1: query strings signed exactly ------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("familyName", "Van der Berg"),  # spaces: %20 on the wire and in the signature
        ("familyName", "Nguyễn"),  # non-ASCII, several UTF-8 bytes per character
        ("givenName", "Chloé"),
        ("familyName", "中村 / Zhōng"),  # CJK, a slash and spaces together
        ("email", "a/b=c,d&e+f@example.org"),  # every reserved character that matters
    ],
)
@pytest.mark.parametrize("signature_method", ["HMAC-SHA256", "HMAC-SHA1"])
def test_oauth1_signs_filter_values_exactly(
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    session: RecordingSession,
    field: str,
    value: str,
    signature_method: str,
) -> None:
    added = _extra_user(oneroster_district, "usr-signing-1", "Zhōng", "Li")
    added[field] = value
    expected = sorted(u["sourcedId"] for u in oneroster_district["users"] if u[field] == value)

    auth = oneroster_server.oauth1(signature_method)
    with _client(oneroster_server, auth, session=session) as client:
        via_builder = client.users.list(filter=F(field) == value).all()
        via_string = client.users.list(filter=f"{field}='{value}'").all()

    assert sorted(u.sourced_id for u in via_builder) == expected
    assert sorted(u.sourced_id for u in via_string) == expected
    _served_ok_with(oneroster_server, "oauth1")
    for _method, url, _authorization in session.sent:
        query = url.partition("?")[2]
        assert "+" not in query.replace("%2B", ""), "a space travelled as '+'"
        assert "%20" in query or " " not in value


def test_oauth1_signs_path_ids_with_spaces_and_non_ascii(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    _extra_user(oneroster_district, "usr é 中 1", "Zoë", "Łukasiewicz")
    with _client(oneroster_server, oneroster_server.oauth1()) as client:
        user = client.users.get("usr é 中 1")
        student = client.students.get("usr é 中 1")
    assert isinstance(user, User)
    assert user.sourced_id == student.sourced_id == "usr é 中 1"
    assert user.family_name == "Łukasiewicz"
    _served_ok_with(oneroster_server, "oauth1")


def test_nested_listing_under_a_non_ascii_parent_id(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    _extra_user(oneroster_district, "usr 中 2", "Zoë", "Łukasiewicz")
    retry = RetryPolicy.none()
    with _client(oneroster_server, oneroster_server.oauth1(), retry=retry) as client:
        assert client.users.classes("usr 中 2").all() == []


def test_oauth1_signs_sort_fields_and_offsets_on_every_page_with_a_fresh_nonce(
    oneroster_server: OneRosterServer, oneroster_district: District, session: RecordingSession
) -> None:
    nonces: list[str] = []

    def nonce() -> str:
        import secrets

        value = secrets.token_hex(8)
        nonces.append(value)
        return value

    auth = OAuth1(oneroster_server.client_id, oneroster_server.client_secret, nonce_factory=nonce)
    with _client(oneroster_server, auth, session=session) as client:
        users = client.users.list(
            filter=(F.status == "active") | (F.role == "student"),
            sort="family_name",
            order_by="desc",
            fields=[
                "sourced_id",
                "username",
                "given_name",
                "family_name",
                "role",
                "status",
                "enabled_user",
                "orgs",
            ],
            page_size=7,
        ).all()

    expected = [
        u for u in oneroster_district["users"] if u["status"] == "active" or u["role"] == "student"
    ]
    assert len(users) == len(expected)
    pages = -(-len(expected) // 7)
    assert len(oneroster_server.requests) == pages
    _served_ok_with(oneroster_server, "oauth1")
    offsets = [int(r.query["offset"]) for r in oneroster_server.requests]
    assert offsets == list(range(0, len(expected), 7))
    assert len(nonces) == len(set(nonces)) == pages
    signed_nonces = [parse_authorization_header(a or "")["oauth_nonce"] for _, _, a in session.sent]
    assert signed_nonces == nonces


def test_oauth1_concurrent_pages_are_each_signed_afresh(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    with _client(oneroster_server, oneroster_server.oauth1(), max_workers=4) as client:
        listing = client.enrollments.list(page_size=25)
        enrollments = listing.all()
    assert len(enrollments) == len(oneroster_district["enrollments"])
    assert listing.complete is True
    _served_ok_with(oneroster_server, "oauth1")


def test_oauth1_retry_after_503_is_signed_with_a_new_nonce(
    oneroster_server: OneRosterServer, session: RecordingSession
) -> None:
    oneroster_server.faults.fail_next(503, 2)
    with _client(oneroster_server, oneroster_server.oauth1(), session=session) as client:
        client.orgs.list().all()
    assert oneroster_server.statuses() == [503, 503, 200]
    nonces = {parse_authorization_header(a or "")["oauth_nonce"] for _, _, a in session.sent}
    assert len(nonces) == 3


def test_oauth1_put_and_delete_are_signed_and_accepted(
    oneroster_server: OneRosterServer, session: RecordingSession
) -> None:
    category = Category(sourced_id="cat-signed é 1", title="Signed ✓ category")
    with _client(oneroster_server, oneroster_server.oauth1(), session=session) as client:
        created = client.categories.put(category)
        replaced = client.categories.put(Category(sourced_id="cat-signed é 1", title="Again"))
        client.categories.delete("cat-signed é 1")
    assert (created.created, replaced.created) == (True, False)
    assert [(r.method, r.status, r.auth) for r in oneroster_server.requests] == [
        ("PUT", 201, "oauth1"),
        ("PUT", 200, "oauth1"),
        ("DELETE", 204, "oauth1"),
    ]
    assert [method for method, _, _ in session.sent] == ["PUT", "PUT", "DELETE"]
    assert all((a or "").startswith("OAuth ") for _, _, a in session.sent)


# --- OAuth 2: tokens renewed when the server stops accepting them -------------------------


def test_oauth2_token_expired_mid_listing_is_renewed_with_one_extra_token_request(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    auth = oneroster_server.oauth2()
    pages_read: list[int] = []

    def expire_after_second_page(received: int, total: int | None) -> None:
        pages_read.append(received)
        if len(pages_read) == 2:
            oneroster_server.expire_tokens()

    with _client(oneroster_server, auth) as client:
        listing = client.users.list(page_size=20, progress=expire_after_second_page)
        users = listing.all()

    assert len(users) == len(oneroster_district["users"])
    assert len({u.sourced_id for u in users}) == len(users)
    assert listing.complete is True
    assert oneroster_server.token_requests == 2
    assert auth.token_requests == 2
    assert oneroster_server.statuses().count(401) == 1
    assert oneroster_server.statuses()[-1] == 200


def test_oauth2_token_that_expires_early_is_renewed(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    # The token announces an hour but the server stops accepting it after the first page.
    auth = oneroster_server.oauth2()

    def expire_in_place(received: int, total: int | None) -> None:
        if received <= 50:
            for token, (announced, _valid_until, scopes) in list(oneroster_server._tokens.items()):
                oneroster_server._tokens[token] = (announced, 0.0, scopes)

    with _client(oneroster_server, auth) as client:
        classes = client.classes.list(page_size=50, progress=expire_in_place).all()
    assert len(classes) == len(oneroster_district["classes"])
    assert oneroster_server.token_requests == 2
    assert oneroster_server.statuses().count(401) == 1


def test_oauth2_token_valid_for_less_than_announced_is_renewed(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    # Faults.token_valid_for: the token announces an hour but dies after a moment.
    oneroster_server.faults.token_valid_for = 0.1
    auth = oneroster_server.oauth2()
    pages = 0

    def outlive_the_token(received: int, total: int | None) -> None:
        nonlocal pages
        pages += 1
        if pages == 1:
            oneroster_server.faults.token_valid_for = None  # the next token lives its hour
            time.sleep(0.15)

    with _client(oneroster_server, auth) as client:
        listing = client.enrollments.list(page_size=200, progress=outlive_the_token)
        assert len(listing.all()) == len(oneroster_district["enrollments"])
    assert listing.complete is True
    assert oneroster_server.token_requests == auth.token_requests == 2
    assert oneroster_server.statuses().count(401) == 1


def test_oauth2_expired_token_answered_with_500_is_renewed_when_configured(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    # Skyward-like servers answer an expired token with 500; renew_auth_on covers them.
    oneroster_server.faults.token_500_when_expired = True
    auth = oneroster_server.oauth2()
    expired = False

    def expire_once(received: int, total: int | None) -> None:
        nonlocal expired
        if not expired:
            expired = True
            for token, (announced, _valid_until, scopes) in list(oneroster_server._tokens.items()):
                oneroster_server._tokens[token] = (announced, 0.0, scopes)

    with _client(oneroster_server, auth, renew_auth_on=(401, 500)) as client:
        courses = client.courses.list(page_size=40, progress=expire_once).all()
    assert len(courses) == len(oneroster_district["courses"])
    assert oneroster_server.statuses().count(500) == 1
    assert oneroster_server.token_requests == 2


def test_oauth2_concurrent_pages_renew_the_token_only_once(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    auth = oneroster_server.oauth2()
    expired = False

    def expire_once(received: int, total: int | None) -> None:
        nonlocal expired
        if not expired:
            expired = True
            oneroster_server.expire_tokens()

    with _client(oneroster_server, auth, max_workers=4) as client:
        listing = client.results.list(page_size=50, progress=expire_once)
        results = listing.all()
    assert len(results) == len(oneroster_district["results"])
    assert listing.complete is True
    assert oneroster_server.token_requests == 2
    assert auth.token_requests == 2


def test_oauth2_put_and_delete_carry_the_bearer_token(oneroster_server: OneRosterServer) -> None:
    with _client(oneroster_server, oneroster_server.oauth2()) as client:
        assert client.categories.put(Category(sourced_id="cat-o2", title="Quizzes")).created
        client.categories.delete("cat-o2")
    assert [(r.method, r.auth) for r in oneroster_server.requests] == [
        ("PUT", "bearer"),
        ("DELETE", "bearer"),
    ]
    assert oneroster_server.token_requests == 1


# --- OAuth 1: what arrives on the wire verifies with an independent implementation ---------


@pytest.mark.parametrize("signature_method", ["HMAC-SHA256", "HMAC-SHA1"])
def test_wire_query_with_spaces_and_quotes_verifies_with_oauthlib(signature_method: str) -> None:
    secret = "consumer secret/é"
    empty = {"users": []}
    with ScriptedServer([Reply(200, empty, [("X-Total-Count", "0")])]) as server:
        auth = OAuth1("consumer-key", secret, signature_method)
        with OneRosterClient(server.url("/ims/oneroster/v1p1"), auth=auth) as client:
            client.users.list(filter=F("familyName") == "Van der Berg").all()
        (received,) = server.received
        uri = server.url(received.target)

    assert "%20" in received.target and "%27" in received.target  # as the transport sends
    assert "+" not in received.target and "'" not in received.target
    request = OAuthlibRequest(uri, http_method="GET", headers=received.headers)
    request.params = oauthlib_signature.collect_parameters(
        uri_query=received.target.partition("?")[2], headers=received.headers
    )
    authorization = received.header("Authorization") or ""
    request.signature = parse_authorization_header(authorization)["oauth_signature"]
    verify = (
        oauthlib_signature.verify_hmac_sha256
        if signature_method == "HMAC-SHA256"
        else oauthlib_signature.verify_hmac_sha1
    )
    assert verify(request, secret)
    tampered = received.target.partition("?")[2].replace("Berg", "Burg")
    request.params = oauthlib_signature.collect_parameters(
        uri_query=tampered, headers=received.headers
    )
    assert not verify(request, secret)
