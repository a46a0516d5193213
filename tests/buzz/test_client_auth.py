"""Buzz auth: JWT assertions the server verifies, login3 sessions, pre-issued tokens,
one re-authentication on NoAuthentication, and secrets that never leak."""

from __future__ import annotations

import ast
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

import oneroster_client.buzz
from oneroster_client.buzz import (
    BuzzAuthenticationError,
    BuzzClient,
    BuzzError,
    BuzzJWTAuth,
    BuzzLogin,
    BuzzRetryPolicy,
    BuzzToken,
    BuzzTransportError,
    BuzzUser,
)
from oneroster_client.buzz.testing import BuzzFaults, BuzzServer
from oneroster_client.errors import ConfigurationError, OneRosterError
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer

UA = "oneroster-client-tests/1.0 (buzz auth tests; tests@example.org)"
PASSWORD = "Pupil-Password-4711"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[BuzzServer]:
    with BuzzServer(session_minutes=10) as running:
        yield running


def make_client(server: BuzzServer | ScriptedServer, auth: Any) -> BuzzClient:
    base = server.base_url if isinstance(server, BuzzServer) else server.origin
    return BuzzClient(
        base,
        auth=auth,
        user_agent=UA,
        retry=BuzzRetryPolicy(sleep=lambda _: None, random=lambda: 0.5),
        timeout=2.0,
    )


# -- JWT client credentials -------------------------------------------------------------


def test_jwt_assertion_is_verified_by_the_server_and_the_token_cached(server: BuzzServer) -> None:
    auth = BuzzJWTAuth(*server.jwt_credentials())
    client = make_client(server, auth)
    client.get_user("5")
    client.get_user("6")
    assert server.token_requests == 1 and auth.token_requests == 1
    assert server.statuses() == [200, 200]


def test_assertion_claims_follow_rfc_7523_and_agilix(server: BuzzServer) -> None:
    private_pem, public_pem = server.generate_key()
    auth = BuzzJWTAuth(server.token_url, "6", private_pem, "kid-7")
    first, second = auth.assertion(), auth.assertion()
    token = jwt.decode(first, RSAKey.import_key(public_pem), algorithms=["RS256"])
    claims = token.claims
    assert token.header["alg"] == "RS256" and token.header["kid"] == "kid-7"
    assert claims["iss"] == claims["sub"] == "6"
    assert claims["aud"] == server.token_url
    assert 0 < claims["exp"] - time.time() <= 300
    assert claims["jti"] != jwt.decode(second, RSAKey.import_key(public_pem)).claims["jti"]


def test_a_newly_registered_key_is_accepted(server: BuzzServer) -> None:
    private_pem, public_pem = server.generate_key()
    server.register_key("6", public_pem, "rotated-1")
    make_client(server, BuzzJWTAuth(server.token_url, "6", private_pem, "rotated-1")).get_user("5")
    assert server.token_requests == 1


def test_an_unregistered_key_is_refused_clearly(server: BuzzServer) -> None:
    private_pem, _ = server.generate_key()
    auth = BuzzJWTAuth(server.token_url, "6", private_pem, "unknown-kid")
    with pytest.raises(BuzzAuthenticationError) as caught:
        make_client(server, auth).get_user("5")
    assert caught.value.code == "invalid_client" and caught.value.status_code == 401
    assert "check user_id, key_id" in str(caught.value)


def test_token_is_renewed_five_minutes_before_it_expires() -> None:
    clock = Clock()
    with BuzzServer(token_lifetime=3600) as server:
        token_url, user_id, pem, kid = server.jwt_credentials()
        client = make_client(server, BuzzJWTAuth(token_url, user_id, pem, kid, clock=clock))
        client.get_user("5")
        clock.now += 3600 - 301
        client.get_user("5")
        assert server.token_requests == 1
        clock.now += 2
        client.get_user("5")
        assert server.token_requests == 2


def test_no_authentication_triggers_exactly_one_reauthentication(server: BuzzServer) -> None:
    auth = BuzzJWTAuth(*server.jwt_credentials())
    client = make_client(server, auth)
    client.get_user("5")
    server.expire_tokens()
    assert client.get_user("5").id == "5"
    assert server.token_requests == 2
    assert [s.code for s in server.requests] == ["OK", "NoAuthentication", "OK"]


def test_token_expiring_after_uses_is_renewed_transparently(server: BuzzServer) -> None:
    server.faults = BuzzFaults(expire_tokens_after=2)
    client = make_client(server, BuzzJWTAuth(*server.jwt_credentials()))
    for _ in range(5):
        client.get_user("5")
    assert server.token_requests >= 2


def _always_no_auth(request: Received) -> Reply:
    if request.path == "/api/oauth/token":
        return Reply(200, body={"access_token": "tok-abcdefgh12345", "expires_in": 3600})
    return Reply(200, body={"response": {"code": "NoAuthentication", "message": "who?"}})


def test_persistent_no_authentication_is_raised_after_one_retry() -> None:
    private_pem, _ = BuzzServer.generate_key()
    with ScriptedServer(_always_no_auth) as scripted:
        auth = BuzzJWTAuth(scripted.url("/api/oauth/token"), "6", private_pem)
        with pytest.raises(BuzzAuthenticationError, match="even after authenticating again"):
            make_client(scripted, auth).call("getuser2", {"userid": "5"})
        paths = [r.path for r in scripted.received]
    assert paths == ["/api/oauth/token", "/cmd/getuser2", "/api/oauth/token", "/cmd/getuser2"]


def test_busy_token_endpoint_is_retried_with_a_fresh_assertion() -> None:
    private_pem, _ = BuzzServer.generate_key()
    answers = iter([Reply(503, body="busy"), Reply(200, body={"access_token": "tok-0123456789"})])

    def script(request: Received) -> Reply:
        if request.path == "/api/oauth/token":
            return next(answers)
        return Reply(200, body={"response": {"code": "OK", "user": {"id": "5"}}})

    with ScriptedServer(script) as scripted:
        auth = BuzzJWTAuth(scripted.url("/api/oauth/token"), "6", private_pem)
        make_client(scripted, auth).call("getuser2", {"userid": "5"})
        token_bodies = [r.body for r in scripted.received if r.path == "/api/oauth/token"]
    assertions = [parse_qs(body.decode())["client_assertion"][0] for body in token_bodies]
    assert len(assertions) == 2 and assertions[0] != assertions[1]


def test_refused_token_request_is_not_retried() -> None:
    private_pem, _ = BuzzServer.generate_key()
    refusal = Reply(400, body={"error": "invalid_request", "error_description": "bad assertion"})
    with ScriptedServer([refusal]) as scripted:
        auth = BuzzJWTAuth(scripted.url("/api/oauth/token"), "6", private_pem)
        with pytest.raises(BuzzAuthenticationError, match="invalid_request"):
            make_client(scripted, auth).call("getuser2", {"userid": "5"})
        assert len(scripted.received) == 1


def test_an_unreachable_token_endpoint_is_named_at_once_not_after_retries() -> None:
    private_pem, _ = BuzzServer.generate_key()
    with ScriptedServer([Reply(200, body={})]) as scripted:
        origin = scripted.origin  # closed below: nothing listens there any more
    waits: list[float] = []
    client = BuzzClient(
        origin,
        auth=BuzzJWTAuth(f"{origin}/api/oauth/token", "6", private_pem),
        user_agent=UA,
        retry=BuzzRetryPolicy(sleep=waits.append, random=lambda: 0.5),
        timeout=2.0,
    )
    with pytest.raises(BuzzTransportError) as caught:
        client.call("getuser2", {"userid": "5"})
    assert waits == []  # a refused connection to a server never reached is not retried
    message = str(caught.value)
    assert f"the Buzz server could not be reached at {origin}" in message
    assert "refused (authenticating)" in message and "token_url" in message
    assert "BEGIN" not in message


def test_pre_issued_token_is_not_renewed(server: BuzzServer) -> None:
    client = make_client(server, BuzzToken(server.issue_token()))
    client.get_user("5")
    server.expire_tokens()
    with pytest.raises(BuzzAuthenticationError, match="cannot be renewed"):
        client.get_user("5")
    assert len(server.requests) == 2


# -- login3 -----------------------------------------------------------------------------


def test_login3_session_is_extended_when_idle_and_renewed_when_expired(
    server: BuzzServer,
) -> None:
    clock = Clock()
    username, password = server.login_credentials()
    auth = BuzzLogin(username, password, clock=clock)
    client = make_client(server, auth)
    client.get_user("5")
    assert auth.logins == 1 and auth.extensions == 0
    clock.now += 6 * 60  # more than half of the 10 minutes the login answer announced
    client.get_user("5")
    assert (auth.logins, auth.extensions) == (1, 1)
    assert "extendsession" in server.commands()
    clock.now += 11 * 60
    client.get_user("5")
    assert auth.logins == 2


def test_login3_refusal_names_the_problem_not_the_password(server: BuzzServer) -> None:
    auth = BuzzLogin("root/administrator", "Wrong-Password-123")
    with pytest.raises(BuzzAuthenticationError) as caught:
        make_client(server, auth).get_user("5")
    assert caught.value.code == "InvalidCredentials"
    assert "Wrong-Password-123" not in str(caught.value)


def test_login3_session_lost_on_the_server_logs_in_again(server: BuzzServer) -> None:
    auth = BuzzLogin(*server.login_credentials())
    client = make_client(server, auth)
    client.get_user("5")
    server.expire_tokens()
    client.get_user("5")
    assert auth.logins == 2


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: BuzzLogin("administrator", PASSWORD), "userspace"),
        (lambda: BuzzLogin("root/admin", ""), "password is required"),
        (lambda: BuzzToken("  "), "token is required"),
        (lambda: BuzzJWTAuth("https://buzz.example/api/oauth/token", "", "x"), "user_id"),
        (lambda: BuzzJWTAuth("https://buzz.example/api/oauth/token", "6", "not a key"), "PEM"),
        (lambda: BuzzJWTAuth("http://buzz.example/api/oauth/token", "6", "x"), "plain http"),
    ],
)
def test_auth_settings_are_checked(factory: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        factory()


def _other_key_forms() -> dict[str, str]:
    """The same RSA key as a public key (two encodings), a certificate and an encrypted
    private key, and an EC private key: PEM blocks that cannot sign RS256."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from oneroster_client.buzz.testing.keys import default_app_key

    private_pem, public_pem = default_app_key()
    key: Any = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "buzz-tests")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return {
        "public": public_pem,
        "pkcs1-public": key.public_key()
        .public_bytes(pem, serialization.PublicFormat.PKCS1)
        .decode("ascii"),
        "certificate": certificate.public_bytes(pem).decode("ascii"),
        "encrypted": key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        ).decode("ascii"),
        "ec": ec.generate_private_key(ec.SECP256R1())
        .private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode("ascii"),
    }


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ("public", "it is a public key, but signing needs the private key"),
        ("pkcs1-public", "it is a public key, but signing needs the private key"),
        ("certificate", "it is a certificate, but signing needs the private key"),
        ("encrypted", "encrypted with a passphrase"),
        ("ec", "not a readable RSA private key"),
    ],
)
def test_a_key_that_cannot_sign_is_named_for_what_it_is(form: str, said: str) -> None:
    pem = _other_key_forms()[form]
    with pytest.raises(ConfigurationError, match="private_key cannot sign") as caught:
        BuzzJWTAuth("https://buzz.example/api/oauth/token", "6", pem)
    message = str(caught.value)
    assert said in message
    body_lines = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    assert not any(line in message for line in body_lines)  # never the key's content
    assert "BEGIN PUBLIC" not in message


@pytest.mark.parametrize(
    "junk", ["not a key", "ssh-rsa AAAAB3NzaC1yc2E= me@host", b"\xff\x00binary", "{}"]
)
def test_junk_is_said_to_be_no_pem_key_at_all(junk: str | bytes) -> None:
    with pytest.raises(ConfigurationError, match="not a PEM key at all") as caught:
        BuzzJWTAuth("https://buzz.example/api/oauth/token", "6", junk)
    assert "public key" not in str(caught.value)
    assert "AAAAB3" not in str(caught.value)


# -- client settings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "message"),
    [
        ("", "user_agent is required"),
        ("   ", "user_agent is required"),
        ("python-requests/2.31", "does not identify"),
        ("Python-urllib/3.11", "library default"),
        ("sync\r\nX-Evil: 1", "one line"),
    ],
)
def test_user_agent_is_required_and_must_identify_the_caller(user_agent: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        BuzzClient("https://backgroundapi.agilixbuzz.com", auth=None, user_agent=user_agent)


def test_plain_http_to_a_remote_host_needs_explicit_permission() -> None:
    with pytest.raises(ConfigurationError, match="plain http"):
        BuzzClient("http://buzz.example", auth=None, user_agent=UA)
    client = BuzzClient("http://buzz.example", auth=None, user_agent=UA, allow_insecure_http=True)
    assert client.base_url == "http://buzz.example"


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="batch_size"):
        BuzzClient("https://buzz.example", auth=None, user_agent=UA, batch_size=0)
    with pytest.raises(ConfigurationError, match="max_retries"):
        BuzzRetryPolicy(max_retries=-1)
    with pytest.raises(ConfigurationError, match="invalid DLAP command"):
        BuzzClient("https://buzz.example", auth=None, user_agent=UA).call("../admin")


def test_buzz_errors_share_the_library_root() -> None:
    assert issubclass(BuzzError, OneRosterError)


def test_importing_the_library_does_not_import_buzz() -> None:
    code = (
        "import sys, oneroster_client;"
        "assert not any(m.startswith('oneroster_client.buzz') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_buzz_modules_import_authlib_only_inside_functions() -> None:
    package = Path(oneroster_client.buzz.__file__).parent
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.startswith(("authlib", "joserfc")) for n in names), module.name
            assert not any(n.startswith("oneroster_client.buzz.testing") for n in names)


# -- secrets never leak -----------------------------------------------------------------


def _expire_then_read(server: BuzzServer, auth: BuzzToken) -> None:
    server.expire_tokens()
    make_client(server, auth).get_user("5")


def _exercise_everything(server: BuzzServer) -> tuple[list[str], list[str]]:
    """Run every auth path with failures; return the texts shown and the secrets used."""
    shown: list[str] = []
    token_url, user_id, pem, kid = server.jwt_credentials()
    jwt_auth = BuzzJWTAuth(token_url, user_id, pem, kid)
    client = make_client(server, jwt_auth)
    client.create_users(
        [
            BuzzUser(
                domain_id="1",
                username="kid",
                email="",
                first_name="Kid",
                last_name="K",
                password=PASSWORD,
                reference="s-1",
            )
        ]
    )
    server.expire_tokens()
    client.get_user("5")
    secrets = [pem, jwt_auth.token(), jwt_auth.assertion(), PASSWORD]
    login = BuzzLogin(*server.login_credentials())
    make_client(server, login).get_user("5")
    secrets += [server.login_password, login.token()]
    issued = server.issue_token()
    pre = BuzzToken(issued)
    secrets.append(issued)
    failures: list[Any] = [
        lambda: make_client(server, BuzzLogin("root/administrator", PASSWORD)).get_user("5"),
        lambda: _expire_then_read(server, pre),
        lambda: make_client(server, BuzzJWTAuth(token_url, "5", pem, kid)).get_user("5"),
    ]
    for failing in failures:
        with pytest.raises(BuzzError) as caught:
            failing()
        shown += [str(caught.value), repr(caught.value)]
    shown += [repr(x) for x in (client, jwt_auth, login, pre, server)]
    return shown, secrets


def test_secrets_never_appear_in_logs_reprs_or_errors(
    server: BuzzServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    shown, secrets = _exercise_everything(server)
    shown += [record.getMessage() for record in caplog.records]
    assert any("Buzz" in text for text in shown)
    for secret in secrets:
        assert len(secret) >= 8
        for text in shown:
            assert secret not in text
    key_body = secrets[0].splitlines()[1]
    assert not any(key_body in text for text in shown)
