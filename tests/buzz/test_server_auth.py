"""Authentication of the loopback Buzz server: JWT client assertions, bearer tokens, login3."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import requests

from oneroster_client.buzz.testing import APP_ID, BuzzFaults, BuzzServer, make_assertion

from .conftest import Dlap

GRANT = {
    "grant_type": "client_credentials",
    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
}


def _token_request(server: BuzzServer, assertion: str, **overrides: str) -> requests.Response:
    form = {**GRANT, "client_assertion": assertion, **overrides}
    return requests.post(server.token_url, data=form, timeout=5)


def _assertion(server: BuzzServer, **kwargs: Any) -> str:
    token_url, user_id, private_pem, key_id = server.jwt_credentials()
    kwargs.setdefault("key_id", key_id)
    return make_assertion(private_pem, user_id, token_url, **kwargs)


def _whoami(server: BuzzServer, token: str) -> dict[str, Any]:
    answer = requests.get(
        server.cmd_url("getuser2"),
        params={"userid": APP_ID},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    return dict(answer.json()["response"])


def test_valid_assertion_gets_a_bearer_token_that_works(buzz_server: BuzzServer) -> None:
    answer = _token_request(buzz_server, _assertion(buzz_server))
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert answer.headers["Cache-Control"] == "no-store"
    assert _whoami(buzz_server, body["access_token"])["code"] == "OK"
    assert buzz_server.token_requests == 1


def test_assertion_without_kid_is_tried_against_the_users_keys(buzz_server: BuzzServer) -> None:
    answer = _token_request(buzz_server, _assertion(buzz_server, key_id=None))
    assert answer.status_code == 200


def test_assertion_signed_with_another_key_is_refused(buzz_server: BuzzServer) -> None:
    token_url, user_id, _, key_id = buzz_server.jwt_credentials()
    other_private, _ = buzz_server.generate_key()
    assertion = make_assertion(other_private, user_id, token_url, key_id=key_id)
    answer = _token_request(buzz_server, assertion)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def _hs256(secret: bytes, claims: dict[str, Any], key_id: str) -> str:
    def segment(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = segment({"alg": "HS256", "typ": "JWT", "kid": key_id}) + "." + segment(claims)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def test_hs256_signed_with_the_public_key_is_refused(buzz_server: BuzzServer) -> None:
    private, public = buzz_server.generate_key()
    buzz_server.register_key("5", public, "admin-key")
    now = int(time.time())
    claims = {"iss": "5", "sub": "5", "aud": buzz_server.token_url, "exp": now + 60, "jti": "j1"}
    forged = _hs256(public.encode(), claims, "admin-key")
    assert _token_request(buzz_server, forged).status_code == 401
    good = make_assertion(private, "5", buzz_server.token_url, key_id="admin-key")
    assert _token_request(buzz_server, good).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"lifetime": -60}, "expired"),
        ({"lifetime": 3600}, "5 minutes"),
        ({"aud": "https://elsewhere.example/api/oauth/token"}, "aud"),
        ({"jti": ""}, "jti"),
        ({"exp": None}, "exp"),
        ({"sub": "999"}, "sub"),
        ({"key_id": "not-registered"}, "key id"),
    ],
)
def test_bad_assertions_are_refused(
    buzz_server: BuzzServer, kwargs: dict[str, Any], why: str
) -> None:
    answer = _token_request(buzz_server, _assertion(buzz_server, **kwargs))
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert why in answer.json()["error_description"]


def test_reused_jti_is_refused(buzz_server: BuzzServer) -> None:
    assert _token_request(buzz_server, _assertion(buzz_server, jti="once")).status_code == 200
    again = _token_request(buzz_server, _assertion(buzz_server, jti="once"))
    assert again.status_code == 401
    assert "used before" in again.json()["error_description"]


def test_unknown_issuer_and_garbage_are_refused(buzz_server: BuzzServer) -> None:
    token_url, _, private_pem, key_id = buzz_server.jwt_credentials()
    stranger = make_assertion(private_pem, "777", token_url, key_id=key_id)
    assert _token_request(buzz_server, stranger).json()["error"] == "invalid_client"
    assert _token_request(buzz_server, "not.a.jwt").json()["error"] == "invalid_client"
    assert _token_request(buzz_server, "x").json()["error"] == "invalid_client"


def test_wrong_grant_or_assertion_type_is_refused(buzz_server: BuzzServer) -> None:
    assertion = _assertion(buzz_server)
    wrong_grant = _token_request(buzz_server, assertion, grant_type="password")
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "unsupported_grant_type")
    wrong_type = _token_request(buzz_server, assertion, client_assertion_type="jwt")
    assert (wrong_type.status_code, wrong_type.json()["error"]) == (400, "invalid_request")
    missing = _token_request(buzz_server, "")
    assert missing.json()["error"] == "invalid_request"


def test_deleted_application_user_cannot_get_tokens(buzz_server: BuzzServer, dlap: Dlap) -> None:
    private, public = buzz_server.generate_key()
    domain = dlap.create(
        "createdomains", "domain", {"name": "D", "userspace": "d", "parentid": "1"}
    )
    app = dlap.create(
        "createusers2",
        "user",
        {"domainid": domain, "username": "app", "email": "", "firstname": "A", "lastname": "B"},
    )
    buzz_server.register_key(app, public)
    assert _token_request(buzz_server, make_assertion(private, app, buzz_server.token_url)).ok
    dlap.items("deleteusers", "user", [{"userid": app}])
    refused = _token_request(buzz_server, make_assertion(private, app, buzz_server.token_url))
    assert refused.status_code == 401


def test_commands_without_a_valid_token_answer_no_authentication(buzz_server: BuzzServer) -> None:
    bare = requests.get(buzz_server.cmd_url("getdomain2"), params={"domainid": "1"}, timeout=5)
    assert bare.status_code == 200
    assert bare.json()["response"]["code"] == "NoAuthentication"
    assert _whoami(buzz_server, "made-up-token")["code"] == "NoAuthentication"


def test_token_may_travel_as_underscore_token_parameter(buzz_server: BuzzServer) -> None:
    token = buzz_server.issue_token()
    by_query = requests.get(
        buzz_server.cmd_url("getdomain2"), params={"domainid": "1", "_token": token}, timeout=5
    )
    assert by_query.json()["response"]["code"] == "OK"
    by_body = requests.post(
        buzz_server.base_url + "/cmd",
        json={"request": {"cmd": "getdomain2", "domainid": "1", "_token": token}},
        timeout=5,
    )
    assert by_body.json()["response"]["code"] == "OK"


def test_tokens_expire(buzz_server: BuzzServer) -> None:
    short = buzz_server.issue_token(lifetime=-1)
    assert _whoami(buzz_server, short)["code"] == "NoAuthentication"
    token = buzz_server.issue_token()
    buzz_server.expire_tokens()
    assert _whoami(buzz_server, token)["code"] == "NoAuthentication"


def test_token_lifetime_is_configurable() -> None:
    with BuzzServer(token_lifetime=120) as server:
        answer = _token_request(server, _assertion(server))
        assert answer.json()["expires_in"] == 120


def test_login3_gives_a_session_token(buzz_server: BuzzServer) -> None:
    username, password = buzz_server.login_credentials()
    answer = requests.post(
        buzz_server.cmd_url("login3"),
        json={"request": {"cmd": "login3", "username": username, "password": password}},
        timeout=5,
    )
    user = answer.json()["response"]["user"]
    assert answer.json()["response"]["code"] == "OK"
    assert user["userspace"] == "root"
    assert user["authenticationexpirationminutes"] == 15
    assert _whoami(buzz_server, user["token"])["code"] == "OK"
    extended = requests.get(
        buzz_server.cmd_url("extendsession"),
        headers={"Authorization": f"Bearer {user['token']}"},
        timeout=5,
    ).json()["response"]
    assert extended["code"] == "OK"
    assert extended["session"]["userid"] == user["userid"]
    assert 14 <= extended["session"]["authenticationexpirationminutes"] <= 15


@pytest.mark.parametrize(
    ("username", "password"),
    [("root/administrator", "wrong"), ("elsewhere/administrator", None), ("administrator", None)],
)
def test_login3_refuses_bad_credentials_without_echoing_them(
    buzz_server: BuzzServer, username: str, password: str | None
) -> None:
    sent = password if password is not None else buzz_server.login_password
    answer = requests.post(
        buzz_server.cmd_url("login3"),
        json={"request": {"username": username, "password": sent}},
        timeout=5,
    ).json()["response"]
    assert answer["code"] == "InvalidCredentials"
    assert sent not in answer["message"]
    assert username not in answer["message"]


def test_login_works_for_seeded_users_in_their_userspace() -> None:
    seed = {
        "domains": [{"id": "10", "name": "North", "userspace": "north"}],
        "users": [
            {
                "domainid": "10",
                "username": "Teacher1",
                "firstname": "T",
                "lastname": "One",
                "password": "s3cret-pass",
            }
        ],
    }
    with BuzzServer(seed=seed) as server:
        answer = requests.post(
            server.cmd_url("login3"),
            json={"request": {"username": "NORTH/teacher1", "password": "s3cret-pass"}},
            timeout=5,
        ).json()["response"]
        assert answer["code"] == "OK"
        assert answer["user"]["domainid"] == "10"


def test_expire_tokens_after_fault_forces_reauthentication(buzz_server: BuzzServer) -> None:
    buzz_server.faults = BuzzFaults(expire_tokens_after=2)
    token = buzz_server.issue_token()
    codes = [_whoami(buzz_server, token)["code"] for _ in range(3)]
    assert codes == ["OK", "OK", "NoAuthentication"]
    fresh = _token_request(buzz_server, _assertion(buzz_server)).json()["access_token"]
    assert _whoami(buzz_server, fresh)["code"] == "OK"
