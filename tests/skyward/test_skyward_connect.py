"""connect(): auth selection, Basic-then-form token requests, Skyward retries and token renewal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import attrs
import pytest

from oneroster_client import BearerToken, OAuth1, OneRosterClient
from oneroster_client.auth import TokenRefusedError
from oneroster_client.endpoints import SCOPE_PREFIX
from oneroster_client.errors import AuthenticationError, PermissionDeniedError, ServerError
from oneroster_client.models import GUIDRef, LineItem, Result, ScoreStatus
from oneroster_client.testing import Faults, OneRosterServer
from oneroster_client.testing.hostile import Reply, ScriptedServer
from skyward_adapter import (
    SkywardOAuth2,
    SkywardSettings,
    build_auth,
    connect,
    default_retry_policy,
)
from skyward_adapter.settings import PASSBACK_SCOPES
from skyward_adapter.testing import (
    QMLATIV_BASE_PATH,
    loopback_settings,
    skyward_like_server,
)

NO_SLEEP = default_retry_policy(sleep=lambda seconds: None)


@pytest.fixture
def server() -> Iterator[OneRosterServer]:
    with skyward_like_server() as running:
        yield running


def read_orgs(settings: SkywardSettings, **options: object) -> OneRosterClient:
    client = connect(settings, retry=NO_SLEEP, **options)  # type: ignore[arg-type]
    assert client.orgs.list().all()
    return client


def test_auto_with_a_token_url_is_oauth2_basic_first(server: OneRosterServer) -> None:
    settings = loopback_settings(server, page_size=2)
    with read_orgs(settings) as client:
        assert isinstance(client.auth, SkywardOAuth2)
        assert client.auth.client_auth == "basic"
        assert client.auth.token_requests == 1
        assert client.base_url == server.base_url
        assert client.base_url.endswith(QMLATIV_BASE_PATH)
        assert client.page_size == 2
    assert {request.query["limit"] for request in server.requests} == {"2"}
    assert {request.auth for request in server.requests} == {"bearer"}


def test_token_endpoint_refusing_basic_gets_form_credentials_once() -> None:
    with (
        skyward_like_server(faults=Faults(refuse_basic_token_auth=True)) as server,
        read_orgs(loopback_settings(server)) as client,
    ):
        auth = client.auth
        assert isinstance(auth, SkywardOAuth2)
        assert auth.client_auth == "body"
        assert server.token_requests == 2  # Basic refused, then form accepted
        client.orgs.list().all()
        assert server.token_requests == 2  # the token is cached
        server.expire_tokens()
        client.orgs.list().all()  # 401 -> renewed with form credentials directly
        assert server.token_requests == 3
        assert "body" in repr(auth)


def test_forced_client_auth(server: OneRosterServer) -> None:
    with read_orgs(loopback_settings(server), client_auth="body") as client:
        assert isinstance(client.auth, SkywardOAuth2)
        assert client.auth.client_auth == "body"
        assert server.token_requests == 1


def test_wrong_secret_is_refused_both_ways_without_showing_it(server: OneRosterServer) -> None:
    wrong = "wrong-secret-value-123"
    with (
        connect(loopback_settings(server, secret=wrong), retry=NO_SLEEP) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.orgs.list().all()
    message = str(caught.value)
    assert "sent both with HTTP Basic and as form fields" in message
    assert "invalid_client" in message
    assert wrong not in message
    assert server.token_requests == 2
    assert isinstance(client.auth, SkywardOAuth2)
    assert client.auth.client_auth is None  # nothing chosen: neither worked


def test_no_token_url_signs_with_oauth1(server: OneRosterServer) -> None:
    with read_orgs(loopback_settings(server, token_url=None)) as client:
        assert isinstance(client.auth, OAuth1)
        assert client.auth.signature_method == "HMAC-SHA256"
    assert server.token_requests == 0
    assert {request.auth for request in server.requests} == {"oauth1"}


def test_oauth1_can_be_chosen_with_a_token_url(server: OneRosterServer) -> None:
    with read_orgs(loopback_settings(server, auth="oauth1")) as client:
        assert isinstance(client.auth, OAuth1)
    assert server.token_requests == 0


def test_a_pre_issued_access_token(server: OneRosterServer) -> None:
    token = server.issue_token()
    settings = loopback_settings(server, key=None, secret=None, token_url=None, access_token=token)
    assert settings.auth_mode == "token"
    with read_orgs(settings) as client:
        assert isinstance(client.auth, BearerToken)
    assert server.token_requests == 0
    assert token not in repr(settings)


def test_an_expired_token_answered_with_500_is_renewed() -> None:
    faults = Faults(token_500_when_expired=True, token_valid_for=0.25)
    with skyward_like_server(faults=faults) as server:
        with read_orgs(loopback_settings(server)) as client:
            time.sleep(0.3)
            assert client.orgs.list().all()  # 500 -> new token -> 200
        assert 500 in server.statuses()
        assert server.statuses()[-1] == 200
        assert server.token_requests == 2


def test_a_plain_client_would_give_up_on_that_500() -> None:
    faults = Faults(token_500_when_expired=True, token_valid_for=0.0)
    with skyward_like_server(faults=faults) as server:
        client = connect(loopback_settings(server), retry=NO_SLEEP)
        with client, pytest.raises(ServerError):
            client.orgs.list().all()
        # One renewal was tried: two tokens, two API calls, both 500.
        assert server.token_requests == 2
        assert server.statuses() == [500, 500]


def test_gateway_errors_and_rate_limits_are_retried(server: OneRosterServer) -> None:
    server.faults.fail_next(503, 2)
    server.faults.fail_next(429)
    with read_orgs(loopback_settings(server)):
        pass
    assert server.statuses() == [503, 503, 429, 200]


def test_default_retry_policy_is_for_skyward() -> None:
    policy = default_retry_policy()
    assert policy.retry_statuses == frozenset({429, 502, 503, 504})
    assert policy.retry_on_connection_errors
    assert 500 not in policy.retry_statuses
    assert default_retry_policy(max_attempts=2).max_attempts == 2


def test_sourced_id_prefixes_reach_the_caller_untouched(server: OneRosterServer) -> None:
    with read_orgs(loopback_settings(server)) as client:
        ids = [org.sourced_id for org in client.orgs.list()]
    assert ids and all(sourced_id.startswith("ISD123-") for sourced_id in ids)


# --- hostile token endpoints ----------------------------------------------------------------


def _redirect_to(location: str) -> ScriptedServer:
    return ScriptedServer([Reply(307, headers=[("Location", location)])])


def test_auto_does_not_follow_a_token_redirect_nor_fall_back_to_form_fields(
    server: OneRosterServer,
) -> None:
    # The real token endpoint, reached under another host name, would issue a token to
    # whatever credentials arrive: they must never get there.
    elsewhere = f"http://localhost:{server.port}/oauth/token"
    with _redirect_to(elsewhere) as redirector:
        settings = loopback_settings(server, token_url=redirector.url("/oauth/token"))
        client = connect(settings, retry=NO_SLEEP)
        with client, pytest.raises(TokenRefusedError) as caught:
            client.orgs.list().all()

    assert server.token_requests == 0
    assert server.requests == []  # no API call either
    assert len(redirector.received) == 1  # Basic only: no form-field second try
    assert "Authorization" in redirector.received[0].headers
    assert caught.value.problem == "redirect"
    assert f"localhost:{server.port}" in str(caught.value)
    assert settings.secret is not None and settings.secret not in str(caught.value)


def test_auto_does_not_resend_credentials_when_the_scope_is_the_problem() -> None:
    refusal = {"error": "invalid_request", "error_description": "scope is required"}
    with ScriptedServer([Reply(400, refusal)]) as token_endpoint, skyward_like_server() as server:
        settings = loopback_settings(server, token_url=token_endpoint.url("/oauth/token"))
        auth = build_auth(settings, retry=NO_SLEEP)
        assert isinstance(auth, SkywardOAuth2)
        with pytest.raises(TokenRefusedError) as caught:
            auth.fetch_token()

    assert len(token_endpoint.received) == 1  # not repeated with form fields
    assert caught.value.problem == "scope"
    assert "Key and Secret" not in str(caught.value)
    assert settings.scopes[0] in str(caught.value)


def test_token_requests_use_the_connection_retry_policy(server: OneRosterServer) -> None:
    waits: list[float] = []
    token = {"access_token": "tok-after-blip", "token_type": "Bearer", "scope": "a b"}
    with ScriptedServer([Reply(503), Reply(502), Reply(200, token)]) as token_endpoint:
        settings = loopback_settings(server, token_url=token_endpoint.url("/oauth/token"))
        client = connect(settings, retry=default_retry_policy(sleep=waits.append))
        with client:
            auth = client.auth
            assert isinstance(auth, SkywardOAuth2)
            assert auth.granted_scopes is None
            auth.fetch_token()
            assert auth.granted_scopes == ("a", "b")
            assert auth.client_auth == "basic"
    assert len(token_endpoint.received) == 3
    assert len(waits) == 2


# --- grade pass back ---------------------------------------------------------------------------


def _line_item(server: OneRosterServer, sourced_id: str) -> tuple[LineItem, str]:
    """A line item in a class that has a student, and that student's sourcedId."""
    enrollment = next(e for e in server.district["enrollments"] if e["role"] == "student")
    class_id, student_id = enrollment["class"]["sourcedId"], enrollment["user"]["sourcedId"]
    item = LineItem(
        sourced_id=sourced_id,
        title="Unit 3 quiz",
        class_=GUIDRef(sourced_id=class_id, type="class"),
        assign_date=datetime(2025, 10, 1, 13, 0, tzinfo=UTC),
        due_date=datetime(2025, 10, 8, 13, 0, tzinfo=UTC),
        result_value_min=0.0,
        result_value_max=20.0,
    )
    return item, student_id


def test_passback_off_gradebook_puts_are_forbidden(server: OneRosterServer) -> None:
    item, _student = _line_item(server, "ISD123-li-buzz-1")
    before = len(server.district["lineItems"])
    with connect(loopback_settings(server), retry=NO_SLEEP) as client:
        with pytest.raises(PermissionDeniedError) as caught:
            client.line_items.put(item)
        assert isinstance(client.auth, SkywardOAuth2)
        assert SCOPE_PREFIX + "gradebook.createput" not in (client.auth.granted_scopes or ())
    assert caught.value.status_code == 403
    assert "gradebook.createput" in str(caught.value)
    assert len(server.district["lineItems"]) == before


def test_passback_on_puts_a_line_item_and_a_result(server: OneRosterServer) -> None:
    item, student_id = _line_item(server, "ISD123-li-buzz-2")
    score = Result(
        sourced_id="ISD123-res-buzz-2",
        line_item=GUIDRef(sourced_id=item.sourced_id, type="lineItem"),
        student=GUIDRef(sourced_id=student_id, type="user"),
        score_status=ScoreStatus.FULLY_GRADED,
        score=17.0,
        score_date=date(2025, 10, 9),
    )
    with connect(loopback_settings(server, passback=True), retry=NO_SLEEP) as client:
        written = client.line_items.put(item)
        graded = client.results.put(score)
        assert isinstance(client.auth, SkywardOAuth2)
        granted = client.auth.granted_scopes or ()
        back = client.classes.results_for_line_item(item.class_.sourced_id, item.sourced_id).all()
        replaced = client.results.put(attrs.evolve(score, score=18.0))
    for scope in PASSBACK_SCOPES:
        assert scope in granted
    assert (written.created, graded.created, replaced.created) == (True, True, False)
    assert [(r.sourced_id, r.score) for r in back] == [("ISD123-res-buzz-2", 17.0)]
    assert server.district["results"][-1]["score"] == 18.0
