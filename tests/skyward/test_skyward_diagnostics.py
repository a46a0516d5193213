"""check_connection(): each known Skyward failure is diagnosed, with a hint, without secrets."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from oneroster_client.endpoints import SCOPE_PREFIX
from oneroster_client.testing import ALL_SCOPES, Faults, OneRosterServer
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer
from skyward_adapter import ConnectionReport, SkywardSettings, check_connection
from skyward_adapter import default_retry_policy as retry_policy
from skyward_adapter.testing import loopback_settings, skyward_like_server

NO_SLEEP = retry_policy(sleep=lambda seconds: None)
SECRET = "springisd-secret-9d2f41c7aa"


@pytest.fixture
def server() -> Iterator[OneRosterServer]:
    with skyward_like_server(client_secret=SECRET) as running:
        yield running


def check(settings: SkywardSettings, **options: object) -> ConnectionReport:
    report = check_connection(settings, retry=NO_SLEEP, **options)  # type: ignore[arg-type]
    text = str(report) + repr(report)
    assert SECRET not in text
    for secret in settings.secrets:
        assert secret not in text
    return report


def names(report: ConnectionReport) -> dict[str, bool]:
    return {item.name: item.ok for item in report.checks}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_working_connection(server: OneRosterServer) -> None:
    report = check(loopback_settings(server))
    assert report.ok
    assert names(report) == {
        "token endpoint": True,
        "credentials": True,
        "OneRoster base path": True,
        "rostering": True,
        "demographics": True,
        "gradebook read": False,  # the default scopes do not ask for the gradebook
    }
    assert report.readable["users"] and report.readable["demographics"]
    assert report.readable["lineItems"] is False
    assert report.writable is None  # writes are only checked on request
    gradebook = report.check("gradebook read")
    assert gradebook is not None and not gradebook.required
    assert gradebook.hint and "gradebook.readonly" in gradebook.hint
    text = str(report)
    assert text.startswith("Skyward connection check: OK")
    assert "[ok  ] token endpoint" in text
    assert "[warn] gradebook read" in text
    assert "sent as HTTP Basic" in text
    assert not any(request.method in ("PUT", "DELETE") for request in server.requests)


def _gradebook_counts(server: OneRosterServer) -> tuple[int, int, int]:
    district = server.district
    return (len(district["categories"]), len(district["lineItems"]), len(district["results"]))


def _writes(server: OneRosterServer) -> list[str]:
    return [f"{r.method} {r.path} {r.status}" for r in server.requests if r.method != "GET"]


def test_passback_on_is_checked_without_writing_anything(server: OneRosterServer) -> None:
    before = _gradebook_counts(server)
    report = check(loopback_settings(server, passback=True))
    assert report.ok
    assert report.writable is True
    passback = report.check("grade pass back")
    assert passback is not None and passback.ok and passback.required
    assert "nothing was written" in passback.detail
    assert report.readable["lineItems"] and report.readable["results"]
    assert names(report)["gradebook read"] is True
    assert _gradebook_counts(server) == before
    (write,) = _writes(server)  # one PUT the server had to refuse, no DELETE
    assert write.startswith(f"PUT {server.base_path}/lineItems/skyward-adapter-passback-check-")
    assert write.endswith(" 400")
    assert "grade pass back: allowed" in str(report)


def test_passback_off_is_not_checked(server: OneRosterServer) -> None:
    report = check(loopback_settings(server))
    assert report.writable is None
    assert report.check("grade pass back") is None
    assert _writes(server) == []


def test_passback_not_licensed() -> None:
    faults = Faults(gradebook_writes_forbidden=True)
    with skyward_like_server(client_secret=SECRET, faults=faults) as server:
        before = _gradebook_counts(server)
        report = check(loopback_settings(server, passback=True))
        assert _gradebook_counts(server) == before
    assert not report.ok  # pass back was asked for, and it does not work
    assert names(report)["rostering"] is True
    assert report.writable is False
    passback = report.check("grade pass back")
    assert passback is not None and not passback.ok and passback.required
    assert "HTTP 403" in passback.detail
    assert passback.hint is not None
    assert "QM OneRoster API with writeback" in passback.hint
    assert "Allow Grade Pass Back" in passback.hint
    assert "LMS/OneRoster API licence" in passback.hint
    assert "grade pass back: not allowed" in str(report)


def test_passback_scopes_refused_by_the_token_endpoint() -> None:
    # An Integration Access without pass back: the token endpoint refuses the gradebook
    # scopes. The rest is checked with a read-only token, and the report says why.
    read_only = (SCOPE_PREFIX + "roster.readonly", SCOPE_PREFIX + "roster-demographics.readonly")
    with skyward_like_server(client_secret=SECRET, scopes=read_only) as server:
        report = check(loopback_settings(server, passback=True))
        assert _writes(server) == []
    assert names(report) == {
        "token endpoint": True,
        "credentials": True,
        "OneRoster base path": True,
        "rostering": True,
        "demographics": True,
        "gradebook read": False,
        "grade pass back": False,
    }
    assert not report.ok
    assert report.writable is False
    passback = report.check("grade pass back")
    assert passback is not None and passback.hint is not None
    assert "invalid_scope" in passback.detail
    assert "gradebook.createput" in passback.hint
    assert "Allow Grade Pass Back" in passback.hint


def test_passback_scopes_left_out_of_the_token() -> None:
    # A token endpoint that grants what it can (RFC 6749 section 3.3) instead of refusing.
    allowed = (SCOPE_PREFIX + "roster.readonly", SCOPE_PREFIX + "gradebook.readonly")
    faults = Faults(narrow_scopes=True)
    with skyward_like_server(client_secret=SECRET, scopes=allowed, faults=faults) as server:
        report = check(loopback_settings(server, passback=True))
        assert _writes(server) == []
    assert not report.ok
    assert report.writable is False
    passback = report.check("grade pass back")
    assert passback is not None
    assert passback.detail == f"the token was issued without {SCOPE_PREFIX}gradebook.createput"
    assert passback.hint is not None and "Allow Grade Pass Back" in passback.hint


def test_check_writes_with_passback_off_points_at_the_setting(server: OneRosterServer) -> None:
    report = check(loopback_settings(server), check_writes=True)
    assert report.ok  # pass back was not asked for in the settings: not required
    assert report.writable is False
    passback = report.check("grade pass back")
    assert passback is not None and not passback.required
    assert passback.hint is not None
    assert "SKYWARD_PASSBACK=1" in passback.hint and "403" in passback.hint
    assert _writes(server) == []


def test_passback_checked_with_oauth1(server: OneRosterServer) -> None:
    report = check(loopback_settings(server, token_url=None, passback=True))
    assert report.ok
    assert report.writable is True
    assert [w.split()[-1] for w in _writes(server)] == ["400"]


def _scripted_api(put_status: int, put_body: object = None) -> ScriptedServer:
    def answer(received: Received) -> Reply:
        if received.method == "PUT":
            return Reply(put_status, put_body if put_body is not None else b"")
        collection = received.path.rstrip("/").rsplit("/", 1)[-1]
        return Reply(200, {collection: []})

    return ScriptedServer(answer)


@pytest.mark.parametrize(
    ("status", "body", "writable", "ok", "expected"),
    [
        pytest.param(
            422,
            {"statusInfoSet": [{"imsx_description": "lineItem"}]},
            True,
            True,
            "HTTP 422 (lineItem)",
            id="422",
        ),
        pytest.param(405, None, False, False, "not served", id="405"),
        pytest.param(404, None, False, False, "not served", id="404"),
        pytest.param(500, None, None, False, "could not tell", id="500"),
        pytest.param(201, {"lineItem": {}}, True, True, "delete it", id="201-accepted"),
    ],
)
def test_passback_probe_answers(
    status: int, body: object, writable: bool | None, ok: bool, expected: str
) -> None:
    with _scripted_api(status, body) as api:
        settings = SkywardSettings(
            base_url=api.origin + "/springisdAPI",
            access_token="pre-issued-token-5f1c",
            passback=True,
        )
        report = check(settings)
        puts = [r for r in api.received if r.method == "PUT"]
    assert report.writable is writable
    passback = report.check("grade pass back")
    assert passback is not None and passback.ok is ok
    assert expected in passback.detail
    (put,) = puts
    assert put.body == b"[]"
    assert put.path.startswith("/springisdAPI/ims/oneroster/v1p1/lineItems/skyward-adapter-")
    assert put.header("Authorization") == "Bearer pre-issued-token-5f1c"


def test_wrong_secret_after_migration(server: OneRosterServer) -> None:
    report = check(loopback_settings(server, secret="old-api-user-secret"))
    assert not report.ok
    assert names(report) == {"token endpoint": True, "credentials": False}
    credentials = report.check("credentials")
    assert credentials is not None and credentials.hint is not None
    assert "Integration Access with the same Key" in credentials.hint
    assert "generate a new Secret" in credentials.hint
    assert "shown only once" in credentials.hint
    assert "old-api-user-secret" not in str(report)
    assert "Skyward connection check: FAILED" in str(report)


def test_wrong_base_path(server: OneRosterServer) -> None:
    settings = loopback_settings(server)
    wrong = SkywardSettings(
        base_url=server.origin + "/springisd",  # the "API" suffix is missing
        key=settings.key,
        secret=settings.secret,
        token_url=settings.token_url,
        allow_insecure_http=True,
    )
    report = check(wrong)
    assert not report.ok
    base = report.check("OneRoster base path")
    assert base is not None and not base.ok
    assert "404" in base.detail
    assert base.hint is not None
    assert "/ims/oneroster/v1p1" in base.hint
    assert "<customer>API" in base.hint and "https://<host>/api" in base.hint
    assert report.readable == {}


def test_expired_token_answered_with_500() -> None:
    faults = Faults(token_500_when_expired=True, token_valid_for=0.0)
    with skyward_like_server(client_secret=SECRET, faults=faults) as server:
        report = check(loopback_settings(server))
    assert not report.ok
    base = report.check("OneRoster base path")
    assert base is not None and not base.ok
    assert "HTTP 500 although the token was just issued" in base.detail
    assert base.hint is not None and "expired or invalid token with HTTP 500" in base.hint


def test_scopes_without_demographics() -> None:
    core = (SCOPE_PREFIX + "roster-core.readonly",)
    with skyward_like_server(client_secret=SECRET, scopes=core) as server:
        report = check(loopback_settings(server, scopes=core))
    assert report.ok
    assert report.readable["demographics"] is False
    assert report.readable["users"] is True
    demographics = report.check("demographics")
    assert demographics is not None and not demographics.ok
    assert demographics.hint is not None and "roster-demographics.readonly" in demographics.hint


def test_requesting_a_scope_the_district_did_not_grant() -> None:
    allowed = tuple(scope for scope in ALL_SCOPES if "demographics" not in scope)
    with skyward_like_server(client_secret=SECRET, scopes=allowed) as server:
        report = check(loopback_settings(server))  # default scopes include demographics
    credentials = report.check("credentials")
    assert credentials is not None and not credentials.ok
    assert "scopes refused" in credentials.detail
    assert credentials.hint is not None and "roster-demographics.readonly" in credentials.hint


def test_unreachable_token_host(server: OneRosterServer) -> None:
    settings = loopback_settings(server, token_url=f"http://127.0.0.1:{free_port()}/oauth/token")
    report = check(settings)
    assert not report.ok
    assert names(report) == {"token endpoint": False}
    token = report.check("token endpoint")
    assert token is not None and token.hint is not None
    assert "DNS" in token.hint and "API Token URL" in token.hint


def test_tls_failure_is_told_apart(server: OneRosterServer) -> None:
    # https to the plain-http loopback port: the TLS handshake fails.
    settings = loopback_settings(server, token_url=f"https://127.0.0.1:{server.port}/oauth/token")
    report = check(settings)
    token = report.check("token endpoint")
    assert token is not None and not token.ok
    assert token.hint is not None and "TLS" in token.hint


def test_unreachable_api_host_with_oauth1() -> None:
    settings = SkywardSettings(
        base_url=f"http://127.0.0.1:{free_port()}/springisdAPI",
        key="springisd-integration",
        secret=SECRET,
        allow_insecure_http=True,
    )
    report = check(settings)
    base = report.check("OneRoster base path")
    assert base is not None and not base.ok
    assert base.hint is not None and "API Base URL" in base.hint


def test_oauth1_refused(server: OneRosterServer) -> None:
    report = check(loopback_settings(server, token_url=None, secret="not-the-secret"))
    credentials = report.check("credentials")
    assert credentials is not None and not credentials.ok
    assert credentials.hint is not None and "no longer supports OAuth 1" in credentials.hint


def test_oauth1_accepted(server: OneRosterServer) -> None:
    report = check(loopback_settings(server, token_url=None))
    assert report.ok
    assert "token endpoint" not in names(report)
    credentials = report.check("credentials")
    assert credentials is not None and credentials.detail == "OAuth 1 signature accepted"


def test_access_token_refused(server: OneRosterServer) -> None:
    settings = loopback_settings(
        server, key=None, secret=None, token_url=None, access_token="expired-token-value"
    )
    report = check(settings)
    credentials = report.check("credentials")
    assert credentials is not None and not credentials.ok
    assert credentials.hint is not None and "Issue a new one" in credentials.hint
    assert "expired-token-value" not in str(report)


def test_token_url_that_is_not_a_token_endpoint(server: OneRosterServer) -> None:
    report = check(loopback_settings(server, token_url=server.origin + "/springisdAPI/token"))
    token = report.check("token endpoint")
    assert token is not None and not token.ok
    # The loopback server answers unknown paths with 404 before any auth check.
    assert "HTTP 404" in token.detail
    assert token.hint is not None and "is not the token endpoint" in token.hint


def test_token_url_redirecting_to_another_host_fails_and_names_it(server: OneRosterServer) -> None:
    # Followed, the redirect would reach a real token endpoint (this server, by another host
    # name) and the check would report success with a token minted there.
    elsewhere = f"http://localhost:{server.port}/oauth/token"
    with ScriptedServer([Reply(307, headers=[("Location", elsewhere)])]) as redirector:
        redirector_host = f"127.0.0.1:{redirector.port}"
        settings = loopback_settings(server, token_url=redirector.url("/oauth/token"))
        report = check(settings)

    assert not report.ok
    assert names(report) == {"token endpoint": False}
    token = report.check("token endpoint")
    assert token is not None
    assert f"localhost:{server.port}" in token.detail
    assert redirector_host in token.detail
    assert token.hint is not None and "redirects to another address" in token.hint
    assert server.token_requests == 0
    assert len(redirector.received) == 1


def test_scope_required_is_not_reported_as_a_wrong_secret(server: OneRosterServer) -> None:
    refusal = {"error": "invalid_request", "error_description": "scope is required"}
    with ScriptedServer([Reply(400, refusal)]) as token_endpoint:
        settings = loopback_settings(
            server, token_url=token_endpoint.url("/oauth/token"), scopes=()
        )
        report = check(settings)

    credentials = report.check("credentials")
    assert credentials is not None and not credentials.ok
    assert "scopes refused" in credentials.detail
    assert credentials.hint is not None and "none was requested" in credentials.hint
    assert "generate a new Secret" not in credentials.hint
    assert len(token_endpoint.received) == 1


def test_token_endpoint_blip_is_retried_by_the_check(server: OneRosterServer) -> None:
    server_token = server.issue_token()
    token = {"access_token": server_token, "token_type": "Bearer"}
    with ScriptedServer([Reply(503), Reply(200, token)]) as token_endpoint:
        report = check(loopback_settings(server, token_url=token_endpoint.url("/oauth/token")))

    assert names(report)["token endpoint"] is True
    assert report.ok
    assert len(token_endpoint.received) == 2
