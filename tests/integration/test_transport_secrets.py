"""Integration: secrets, tokens, signatures and student data never leak.

One long session exercises both OAuth 1 and OAuth 2 clients (listings, single reads,
gradebook PUT and DELETE, token renewal, retries and every kind of error, auth failures
included) while every log record of every logger is captured at DEBUG and every
exception is kept. Afterwards no client secret, access token, OAuth 1 signature or nonce,
HTTP Basic credential and no student PII may appear in any of them. The reprs of the
client and of each auth plug-in must hide their secrets too.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from oneroster_client import (
    BearerToken,
    F,
    OAuth1,
    OAuth2ClientCredentials,
    OneRosterClient,
    RetryPolicy,
)
from oneroster_client.auth import parse_authorization_header
from oneroster_client.endpoints import SCOPE_PREFIX
from oneroster_client.errors import (
    AuthenticationError,
    BadRequestError,
    IncompleteResultError,
    NotFoundError,
    OneRosterError,
    PermissionDeniedError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    TransportError,
)
from oneroster_client.models import Category, GUIDRef, Result
from oneroster_client.testing.district import District
from oneroster_client.testing.server import OneRosterServer

NO_SLEEP = RetryPolicy(sleep=lambda seconds: None)
WRONG_SECRET = "Wr0ng-s3cret-that-must-not-leak"
BEARER = "pre-issued-bearer-token-that-must-not-leak"


def _an_org(server: OneRosterServer) -> str:
    """The sourcedId of an org the server holds."""
    return str(server.district["orgs"][0]["sourcedId"])


class RecordingSession(requests.Session):
    """Remembers every Authorization header it sent (to know what must not leak)."""

    def __init__(self) -> None:
        super().__init__()
        self.authorizations: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        value = request.headers.get("Authorization")
        if value:
            self.authorizations.append(value)
        return super().send(request, **kwargs)


class Session:
    """The run: clients, the exceptions they raised, the secrets they used."""

    def __init__(self, server: OneRosterServer) -> None:
        self.server = server
        self.exceptions: list[BaseException] = []
        self.tokens: set[str] = set()
        self.sessions: list[RecordingSession] = []
        self.clients: list[OneRosterClient] = []
        self.secrets = {server.client_secret, WRONG_SECRET, BEARER}

    def session(self) -> RecordingSession:
        recording = RecordingSession()
        self.sessions.append(recording)
        return recording

    def client(self, auth: Any, **options: Any) -> OneRosterClient:
        options.setdefault("retry", NO_SLEEP)
        options.setdefault("session", self.session())
        client = OneRosterClient(self.server.base_url, auth=auth, **options)
        self.clients.append(client)
        return client

    def oauth2(self, secret: str | None = None, **options: Any) -> OAuth2ClientCredentials:
        return OAuth2ClientCredentials(
            self.server.token_url,
            self.server.client_id,
            secret or self.server.client_secret,
            session=self.session(),
            **options,
        )

    def expect(self, error: type[BaseException], call: Callable[[], object]) -> None:
        with pytest.raises(error) as info:
            call()
        self.exceptions.append(info.value)
        self.remember_tokens()

    def remember_tokens(self) -> None:
        self.tokens |= set(self.server._tokens)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for recording in self.sessions:
            recording.close()

    def forbidden(self) -> set[str]:
        """Every credential value that was in play, in the forms it may take."""
        values = set(self.secrets) | self.tokens
        for recording in self.sessions:
            for header in recording.authorizations:
                scheme, _, credential = header.partition(" ")
                if scheme == "OAuth":
                    params = parse_authorization_header(header)
                    values.add(params["oauth_signature"])
                    values.add(params["oauth_nonce"])
                else:
                    values.add(credential)  # bearer tokens and HTTP Basic credentials
        encoded = {quote(value, safe="") for value in values}
        return {value for value in values | encoded if len(value) >= 8}


def _student_pii(district: District) -> set[str]:
    """Values that identify a student: names, usernames, e-mail, phone, ids, birth dates."""
    values: set[str] = set()
    for user in district["users"]:
        if user["role"] != "student":
            continue
        values.add(f"{user['givenName']} {user['familyName']}")
        for key in ("username", "email", "phone", "sms", "identifier", "familyName"):
            value = user.get(key)
            if isinstance(value, str) and len(value) >= 5:
                values.add(value)
    for record in district["demographics"]:
        for key in ("birthDate", "cityOfBirth"):
            if isinstance(record.get(key), str):
                values.add(record[key])
    return values


def _exception_texts(exceptions: Iterable[BaseException]) -> Iterator[str]:
    for exception in exceptions:
        seen: set[int] = set()
        current: BaseException | None = exception
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            yield str(current)
            yield repr(current)
            yield from (str(arg) for arg in current.args)
            current = current.__cause__ or current.__context__


def _found(
    needles: Iterable[str], haystacks: Iterable[str], *, words: bool = False
) -> list[tuple[str, str]]:
    """Needles found in the texts: secrets as plain substrings, PII as whole words."""
    texts = list(haystacks)
    hits = []
    for needle in needles:
        escaped = re.escape(needle)
        pattern = re.compile(r"(?<![\w@.])" + escaped + r"(?![\w@])" if words else escaped)
        for text in texts:
            if pattern.search(text):
                hits.append((needle, text[:300]))
                break
    return hits


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_session(run: Session, district: District, closed_port: int) -> None:
    server = run.server
    student = next(u for u in district["users"] if u["role"] == "student")
    line_item = district["lineItems"][0]

    # OAuth 2: listings (filtered on a student's name), single reads, concurrent pages.
    oauth2 = run.oauth2()
    client = run.client(oauth2)
    assert client.users.list(filter=F.family_name == student["familyName"]).all()
    assert client.students.list(filter=f"email~'{student['email']}'").first(1)
    client.users.get(student["sourcedId"])
    client.demographics.get(student["sourcedId"])
    client.enrollments.list(page_size=100, max_workers=3).all()
    run.remember_tokens()

    # Token renewal mid-listing.
    pages = 0

    def expire_once(received: int, total: int | None) -> None:
        nonlocal pages
        pages += 1
        if pages == 1:
            run.remember_tokens()
            server.expire_tokens()

    client.users.list(page_size=50, progress=expire_once).all()
    run.remember_tokens()

    # OAuth 1: listings, gradebook PUT and DELETE with a comment naming the student.
    oauth1 = server.oauth1()
    signed = run.client(oauth1)
    signed.users.list(page_size=40, filter=F.given_name == student["givenName"]).all()
    result = Result(
        sourced_id="res-leak-1",
        line_item=GUIDRef(sourced_id=line_item["sourcedId"]),
        student=GUIDRef(sourced_id=student["sourcedId"]),
        score_status="fully graded",
        score=97.0,
        comment=f"Well done {student['givenName']} {student['familyName']}",
    )
    assert signed.results.put(result).created
    signed.results.delete("res-leak-1")
    signed.categories.put(Category(sourced_id="cat-leak", title="Leak check"))

    # Retries: 429 with Retry-After, a 503 burst, a PUT after 429.
    server.faults.fail_next(429, 2)
    server.faults.fail_next(503, 2)
    signed.students.list(filter=F.family_name == student["familyName"]).all()
    server.faults.rate_limit_every = 3
    client.results.list(page_size=200, max_workers=2).all()
    server.faults.rate_limit_every = None

    # Errors of every kind.
    run.expect(NotFoundError, lambda: signed.users.get("usr-missing"))
    run.expect(
        BadRequestError,
        lambda: client.users.list(
            filter=(F.family_name == student["familyName"]) & (F("shoeSize") == "9")
        ).all(),
    )
    server.faults.fail_always = 500
    run.expect(ServerError, lambda: client.users.list(filter=F.email == student["email"]).all())
    server.faults.fail_always = None
    server.faults.retry_after = "900"
    server.faults.fail_next(429)
    run.expect(RateLimitError, lambda: signed.users.get(student["sourcedId"]))
    server.faults.malform_next("truncated")
    run.expect(ResponseFormatError, lambda: signed.students.list().all())
    server.faults.malform_next("invalid")
    run.expect(ResponseFormatError, lambda: client.users.get(student["sourcedId"]))
    server.faults.corrupt_records = {student["sourcedId"]}
    run.expect(IncompleteResultError, lambda: signed.students.list().all())
    server.faults.corrupt_records = set()
    server.faults.total_count_delta = 3
    run.expect(IncompleteResultError, lambda: signed.classes.list().all())
    server.faults.total_count_delta = 0

    # Auth failures: OAuth 1 wrong secret, OAuth 2 wrong secret, bearer, missing scope.
    wrong1 = run.client(OAuth1(server.client_id, WRONG_SECRET))
    run.expect(AuthenticationError, lambda: wrong1.users.list().all())
    wrong2 = run.client(run.oauth2(WRONG_SECRET))
    run.expect(AuthenticationError, lambda: wrong2.users.get(student["sourcedId"]))
    bearer = run.client(BearerToken(BEARER))
    run.expect(AuthenticationError, lambda: bearer.users.list().all())
    narrow = run.client(run.oauth2(scopes=[SCOPE_PREFIX + "roster-core.readonly"]))
    run.expect(PermissionDeniedError, lambda: narrow.demographics.get(student["sourcedId"]))
    run.expect(
        PermissionDeniedError,
        lambda: narrow.results.put(attrs_evolve(result, sourced_id="res-leak-2")),
    )

    # No server at all.
    url = f"http://127.0.0.1:{closed_port}/ims/oneroster/v1p1"
    offline = OneRosterClient(url, auth=OAuth1("key-offline", WRONG_SECRET), retry=NO_SLEEP)
    run.clients.append(offline)
    run.expect(TransportError, lambda: offline.users.list(filter=F.email == student["email"]).all())
    offline2 = OneRosterClient(
        url,
        auth=OAuth2ClientCredentials(
            f"http://127.0.0.1:{closed_port}/oauth/token", "id-offline", WRONG_SECRET
        ),
        retry=NO_SLEEP,
    )
    run.clients.append(offline2)
    run.expect(TransportError, lambda: offline2.users.list().all())
    run.remember_tokens()


def attrs_evolve(record: Result, **changes: Any) -> Result:
    import attrs

    return attrs.evolve(record, **changes)


def test_a_full_session_leaks_no_secret_token_signature_or_student_data(
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    caplog: pytest.LogCaptureFixture,
    closed_port: int,
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every library, third parties too
    run = Session(oneroster_server)
    try:
        _run_session(run, oneroster_district, closed_port)
    finally:
        run.close()

    assert len(run.exceptions) == 15
    assert all(isinstance(e, OneRosterError) for e in run.exceptions)
    assert len(run.tokens) >= 3  # first token, the renewed one, the narrow-scope one
    assert caplog.records, "nothing was logged at DEBUG"

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    logs = [formatter.format(record) for record in caplog.records]
    # urllib3 logs its request line (path and query) at DEBUG; a filter on a student's
    # name is in that query, outside this library's reach. Every other logger is checked.
    not_urllib3 = [
        text
        for record, text in zip(caplog.records, logs, strict=True)
        if not record.name.startswith("urllib3")
    ]
    errors = list(_exception_texts(run.exceptions))
    forbidden = run.forbidden()
    pii = _student_pii(oneroster_district)
    assert oneroster_server.client_secret in forbidden
    assert _found(pii, [f"for {sorted(pii)[0]}."], words=True), "the PII detector is broken"

    assert _found(forbidden, logs) == []
    assert _found(forbidden, errors) == []
    assert _found(pii, not_urllib3, words=True) == []
    assert _found(pii, errors, words=True) == []


def test_third_party_debug_logs_carry_no_credentials(
    oneroster_server: OneRosterServer, caplog: pytest.LogCaptureFixture
) -> None:
    # urllib3 logs each request line at DEBUG (path and query, never headers): the
    # credentials travel in headers, so they stay out of it.
    caplog.set_level(logging.DEBUG)
    run = Session(oneroster_server)
    try:
        run.client(oneroster_server.oauth1()).orgs.list(page_size=2).all()
        run.client(run.oauth2()).orgs.list(page_size=2).all()
        run.remember_tokens()
    finally:
        run.close()
    third_party = [r for r in caplog.records if not r.name.startswith("oneroster_client")]
    assert third_party, "expected urllib3 to log at DEBUG"
    assert _found(run.forbidden(), [r.getMessage() for r in third_party]) == []


# --- reprs ----------------------------------------------------------------------------------


def test_reprs_of_client_and_auth_plugins_hide_secrets(oneroster_server: OneRosterServer) -> None:
    secret = oneroster_server.client_secret
    key = oneroster_server.client_id
    issued = oneroster_server.issue_token()
    oauth1 = oneroster_server.oauth1()
    oauth2 = oneroster_server.oauth2()
    bearer = BearerToken(issued)
    for auth in (oauth1, oauth2, bearer):
        with OneRosterClient(oneroster_server.base_url, auth=auth, retry=NO_SLEEP) as client:
            client.orgs.get(_an_org(oneroster_server))
            texts = [repr(auth), str(auth), repr(client), str(client), repr(client.users)]
            tokens = set(oneroster_server._tokens)
            for text in texts:
                assert secret not in text
                assert issued not in text
                assert key not in text  # the key / client id is shown masked
                for token in tokens:
                    assert token not in text
    assert "OAuth1(" in repr(oauth1)
    assert "OAuth2ClientCredentials(" in repr(oauth2)
    assert repr(bearer) == "BearerToken(token='***')"


def test_reprs_of_student_records_hide_personal_data(
    oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    with OneRosterClient(
        oneroster_server.base_url, auth=oneroster_server.oauth1(), retry=NO_SLEEP
    ) as client:
        students = client.students.list()
        texts = [repr(student) for student in students]
        texts += [repr(students)]
        texts += [repr(record) for record in client.demographics.list()]
    assert _found(_student_pii(oneroster_district), texts, words=True) == []
