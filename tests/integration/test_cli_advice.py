"""What the ``oneroster`` command tells a user when something is wrong: command-line advice
(never Python keywords), where a bad setting came from, usage errors (exit 2) for bad
arguments caught before any work, and ``--help`` listing only what a command uses."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from oneroster_client.cli import EXIT_CONFIG, EXIT_FAILED, EXIT_HELD, EXIT_USAGE
from oneroster_client.cli._advice import PYTHON_ADVICE, for_the_command_line
from oneroster_client.testing import OneRosterServer, generate_district
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer

from .test_cli import SECRET, cli, sis_env
from .test_cli_buzz import World

Serve = Callable[[Callable[[Received], Reply]], ScriptedServer]

BASE_PATH = "/ims/oneroster/v1p1"

# Python keyword advice, as library messages give it: ``name=True``, ``name='x'``,
# ``name=[...]``, or a bare ``name=`` at the end of a phrase.
PYTHON_KEYWORD = re.compile(r"\b[a-z_]+=(True|False|'|\[|\s|$)")


def _scripted_sis(serve: Serve, token_reply: Reply) -> ScriptedServer:
    """A SIS whose token endpoint answers ``token_reply`` (the API is never reached)."""

    def script(request: Received) -> Reply:
        if request.path == "/oauth/token":
            return token_reply
        return Reply(200, body={"orgs": []})

    return serve(script)


def _oauth2_env(server: ScriptedServer, **extra: str) -> dict[str, str]:
    return {
        "ONEROSTER_BASE_URL": server.url(BASE_PATH),
        "ONEROSTER_TOKEN_URL": server.url("/oauth/token"),
        "ONEROSTER_CLIENT_ID": "cli-advice-client",
        "ONEROSTER_CLIENT_SECRET": SECRET,
        **extra,
    }


# --- 1. command-line advice, not Python advice ----------------------------------------


def test_refused_client_credentials_advise_the_client_auth_flag(serve: Serve) -> None:
    server = _scripted_sis(serve, Reply(401, body={"error": "invalid_client"}))
    ran = cli("list", "orgs", env=_oauth2_env(server))
    assert ran.code == EXIT_FAILED
    assert "--client-auth body" in ran.err and "ONEROSTER_CLIENT_AUTH=body" in ran.err
    assert "client_auth=" not in ran.err and not PYTHON_KEYWORD.search(ran.err), ran.err
    assert "--client-id" in ran.err and "ONEROSTER_CLIENT_SECRET" in ran.err


@pytest.mark.parametrize("given", ["flag", "environment"])
def test_client_auth_body_sends_the_credentials_as_form_fields(serve: Serve, given: str) -> None:
    server = _scripted_sis(serve, Reply(401, body={"error": "invalid_client"}))
    env = _oauth2_env(server)
    argv = ["list", "orgs"]
    if given == "flag":
        argv += ["--client-auth", "body"]
    else:
        env["ONEROSTER_CLIENT_AUTH"] = "body"
    ran = cli(*argv, env=env)
    token_requests = [r for r in server.received if r.path == "/oauth/token"]
    assert token_requests and all(r.header("Authorization") is None for r in token_requests)
    assert all(b"client_id=cli-advice-client" in r.body for r in token_requests)
    # Refused again: the advice is now the other way round, still as a flag.
    assert "--client-auth basic" in ran.err and not PYTHON_KEYWORD.search(ran.err), ran.err


@pytest.mark.parametrize(
    ("reply", "extra", "advice"),
    [
        (Reply(400, body={"error": "invalid_scope"}), {}, "--scopes"),
        (
            Reply(400, body={"error": "invalid_scope"}),
            {"ONEROSTER_SCOPES": "roster-core.readonly gradebook.readonly"},
            "--scopes 'roster-core.readonly gradebook.readonly'",
        ),
        (Reply(302, headers=[("Location", "https://idp.example.org/token")]), {}, "--token-url"),
        (Reply(404, body="<html>no</html>"), {}, "--token-url"),
    ],
)
def test_token_endpoint_advice_names_flags(
    serve: Serve, reply: Reply, extra: dict[str, str], advice: str
) -> None:
    server = _scripted_sis(serve, reply)
    ran = cli("list", "orgs", env=_oauth2_env(server, **extra))
    assert ran.code == EXIT_FAILED
    assert advice in ran.err, ran.err
    assert not PYTHON_KEYWORD.search(ran.err), ran.err


def test_oauth1_signature_method_advice_is_for_the_command(serve: Serve) -> None:
    server = serve(lambda _: Reply(401, body={"error": "signature_method_rejected"}))
    env = {
        "ONEROSTER_BASE_URL": server.url(BASE_PATH),
        "ONEROSTER_CLIENT_ID": "cli-advice-client",
        "ONEROSTER_CLIENT_SECRET": SECRET,
    }
    ran = cli("list", "orgs", env=env)
    assert ran.code == EXIT_FAILED
    assert "signature" in ran.err and "ONEROSTER_ACCESS_TOKEN" in ran.err
    assert not PYTHON_KEYWORD.search(ran.err), ran.err


def test_held_plan_report_text_says_approve_flag(tmp_path: Path) -> None:
    world = World(tmp_path, generate_district(students=30, seed=5, with_gradebook=False))
    try:
        history = str(tmp_path / "history.sqlite")
        assert world.run("sync", "--apply", "--history", history).code == 0
        district = world.sis.district
        students = [e for e in district["enrollments"] if e["role"] == "student"]
        for enrollment in students[::2]:
            district["enrollments"].remove(enrollment)
        world.restart_sis(district)
        held = world.run("sync", "--apply", "--full", "--history", history)
        assert held.code == EXIT_HELD, held.text
        plan_id = re.search(r"--approve (\S+)", held.err)
        assert plan_id is not None
        assert f"run again with --approve {plan_id[1]}" in held.out
        assert "approve=" not in held.text
    finally:
        world.close()


def test_every_rewrite_leaves_no_python_keyword() -> None:
    # The library phrases each rewrite exists for, as the library words them.
    messages = [
        "base_url 'http://x' uses plain http. Use https, or pass allow_insecure_http=True for "
        "a test server.",
        "base_url 'https://u@x' carries credentials in the URL (user:password@); remove "
        "them and pass them to the auth object, so they never appear in logs or messages",
        "base_url 'https://x?k=REDACTED' carries a secret in its query string; remove it "
        "and pass it to the auth object, so it never appears in logs or messages",
        "refused the client credentials (HTTP 401): check client_id and client_secret (sent "
        "with HTTP Basic; some servers want them in the form body: client_auth='body')",
        "sent in the form body; most servers want HTTP Basic: client_auth='basic'",
        "refused the requested scopes (HTTP 400): check scopes=['a', 'b']: request only",
        "requires a scope, but none was requested: pass scopes=[...] with the scopes this",
        "the server did not accept the credentials; check the key/client_id and secret, "
        "and for OAuth 2 the token URL (for OAuth 1 also the system clock)",
        "If idp is the provider's token endpoint, set token_url to that URL",
        "Set token_url to the provider's OAuth 2 token endpoint",
        "answered HTTP 404 to the token request: check that token_url is the provider's",
        "pass the one the provider documents to OAuth1 (signature_method='HMAC-SHA256', "
        "the OneRoster 1.1 default, or 'HMAC-SHA1')",
        "the server is busy (server_busy): retry later with backoff; slow down, or allow the "
        "retry policy longer waits (backoff_max, deadline)",
        "fields=givenName leaves out sourcedId, which a User needs; add them, or list with "
        "fields= and read listing.dicts()",
        "API Token URL is required for OAuth 2 (auth='oauth2'); without it, use auth='auto' "
        "or 'oauth1' to sign requests with OAuth 1",
        "Access token is missing: auth='token' sends a pre-issued token",
        "Turn grade pass back on in the settings (passback=True, or SKYWARD_PASSBACK=1) so",
        "check user_id, key_id and that the public key is registered for that user",
        "plan p-1 is held (x); review it and apply with approve=True or approve='p-1'",
        "the plan is held: review it, then run again with approve='p-1'",
        "kept (a user delete takes the user's enrollments; set cascade_deletes to allow it)",
        "are kept (set delete_domains to delete them)",
        "the next one is allowed from 2025-01-01 00:00 UTC (or set too_soon to 'warn')",
        "the folder p is not empty (it holds a.txt): choose a new or empty folder, or pass "
        "overwrite=True to replace the package files written there (other files are kept)",
        "could not reach the OAuth 2 token endpoint at idp: the connection failed (refused, "
        "DNS or network); check token_url and the network",
        "order_by needs sort: OneRoster orders by the sort field",
        "fields=givenName leaves out sourcedId, which a User needs; add them, or list with "
        "fields= and read listing.dicts() (for this record: users.list(filter=F.sourced_id "
        "== 'u-1', fields='givenName').dicts())",
        "the server did not accept the access token; check the access token: the whole "
        "token, not expired or revoked",
        "the server does not speak TLS (https) at that address (it answered like a "
        "plain-http server); check the scheme (http/https) and port of token_url",
        "the server does not speak TLS (https) at that address (it answered like a "
        "plain-http server); check the scheme (http/https) and port of the base URL",
        "TLS handshake with b failed (listusers): the server does not speak TLS (https) at "
        "that address (it answered like a plain-http server); check the scheme (http/https) "
        "and port of the Buzz URL",
        "the district's Buzz domain 999 was not found (Buzz listroles answered DoesNotExist): "
        "check parent_domain_id, the id of the district's domain in Buzz",
        "the connection to 127.0.0.1:2 was refused (authentication). Check base_url (and "
        "token_url, when set): the Buzz server",
        "the server certificate was not accepted (self-signed certificate); check the base "
        "URL, the server certificate, and the CA bundle or the session's verify setting",
    ]
    for message in messages:
        rewritten = for_the_command_line(message)
        assert not PYTHON_KEYWORD.search(rewritten), rewritten
        assert "auth object" not in rewritten
    # Every rewrite is used by at least one of these phrases (none is dead).
    for pattern, _ in PYTHON_ADVICE:
        assert any(pattern.search(message) for message in messages), pattern.pattern


# --- 2. a bad URL names where it came from --------------------------------------------


@pytest.mark.parametrize("source", ["flag", "environment", "file"])
def test_plain_http_base_url_names_its_source(tmp_path: Path, source: str) -> None:
    url = "http://sis.example.org/ims/oneroster/v1p1"
    env = {"ONEROSTER_ACCESS_TOKEN": "t0ken-for-cli-advice", "ONEROSTER_AUTH": "token"}
    argv = ["list", "users"]
    if source == "flag":
        argv += ["--base-url", url]
        where = "--base-url"
    elif source == "environment":
        env["ONEROSTER_BASE_URL"] = url
        where = "environment variable ONEROSTER_BASE_URL"
    else:
        config = tmp_path / "sis.toml"
        config.write_text(f'[sis]\nbase_url = "{url}"\n', encoding="utf-8")
        argv += ["--config", str(config)]
        where = f"base_url in [sis] of {config}"
    ran = cli(*argv, env=env)
    assert ran.code == EXIT_CONFIG
    assert f"(from {where})" in ran.err and "plain http" in ran.err
    assert "--allow-insecure-http" in ran.err


def test_plain_http_token_and_buzz_urls_name_their_source(tmp_path: Path) -> None:
    token = cli(
        "list",
        "users",
        "--base-url",
        "https://sis.example.org/ims/oneroster/v1p1",
        "--token-url",
        "http://sis.example.org/oauth/token",
        env={"ONEROSTER_CLIENT_ID": "id", "ONEROSTER_CLIENT_SECRET": SECRET},
    )
    assert token.code == EXIT_CONFIG
    assert "token URL (from --token-url)" in token.err and "plain http" in token.err
    buzz = cli(
        "sync",
        "--domain",
        "100",
        env={
            "ONEROSTER_BUZZ_URL": "http://buzz.example.org",
            "ONEROSTER_BUZZ_USER_ID": "1",
            "ONEROSTER_BUZZ_USER_AGENT": "cli-tests/1.0 (tests@example.org)",
            "ONEROSTER_BUZZ_PRIVATE_KEY": SECRET,
        },
    )
    assert buzz.code == EXIT_CONFIG
    assert "Buzz URL (from environment variable ONEROSTER_BUZZ_URL)" in buzz.err


def test_a_bad_private_key_names_where_it_came_from(tmp_path: Path) -> None:
    key_file = tmp_path / "buzz.pem"
    key_file.write_text("this is not a key\n", encoding="utf-8")
    ran = cli(
        "sync",
        "--domain",
        "100",
        env={
            "ONEROSTER_BUZZ_USER_ID": "1",
            "ONEROSTER_BUZZ_USER_AGENT": "cli-tests/1.0 (tests@example.org)",
            "ONEROSTER_BUZZ_PRIVATE_KEY_FILE": str(key_file),
        },
    )
    assert ran.code == EXIT_CONFIG
    assert str(key_file) in ran.err and "ONEROSTER_BUZZ_PRIVATE_KEY_FILE" in ran.err
    assert "not a PEM key" in ran.err and "this is not a key" not in ran.err


# --- 3. bad arguments are usage errors ------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[OneRosterServer]:
    with OneRosterServer(generate_district(students=10, seed=3), client_secret=SECRET) as running:
        yield running


@pytest.mark.parametrize(
    "argv",
    [
        ["get", "users", ".."],
        ["get", "users", "."],
        ["get", "users", ""],
        ["get", "users", "  "],
        ["get", "users", "a\nb"],
        ["list", "classes", "--of", "schools/.."],
        ["list", "results", "--of", "classes/./lineItems/x"],
    ],
)
def test_ids_that_are_not_sourced_ids_are_usage_errors(
    server: OneRosterServer, argv: list[str]
) -> None:
    before = len(server.requests)
    ran = cli(*argv, env=sis_env(server))
    assert ran.code == EXIT_USAGE, ran.err
    assert "sourcedId" in ran.err
    assert len(server.requests) == before  # refused before anything was sent


def test_passback_class_and_since_are_usage_errors() -> None:
    bad_class = cli("passback", "--class", "..")
    assert bad_class.code == EXIT_USAGE and "argument --class" in bad_class.err
    bad_since = cli("passback", "--since", "yesterday")
    assert bad_since.code == EXIT_USAGE and "argument --since" in bad_since.err


# --- 4. a report path is checked before the work --------------------------------------


@pytest.mark.parametrize("command", ["demo", "sync", "passback"])
def test_report_in_a_missing_folder_is_refused_before_any_work(
    tmp_path: Path, command: str
) -> None:
    target = tmp_path / "some" / "missing" / "folder" / "report.html"
    ran = cli(command, "--report", str(target))
    assert ran.code == EXIT_USAGE
    assert "argument --report" in ran.err and "does not exist" in ran.err
    assert ran.out == ""  # nothing was started


def test_report_path_that_is_a_folder_or_under_a_file_is_refused(tmp_path: Path) -> None:
    folder = cli("demo", "--report", str(tmp_path))
    assert folder.code == EXIT_USAGE and "is a folder" in folder.err
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x", encoding="utf-8")
    under_file = cli("demo", "--report", str(a_file / "report.html"))
    assert under_file.code == EXIT_USAGE and "is not a folder" in under_file.err


# --- 5. serve --help lists only what serve uses ---------------------------------------


def test_serve_help_lists_only_the_options_it_uses() -> None:
    ran = cli("serve", "--help")
    assert ran.code == 0
    for unused in ("--base-url", "--token-url", "--auth ", "--timeout", "--page-size", "--sis "):
        assert unused not in ran.out, unused
    assert "--client-id" in ran.out and "--config" in ran.out
    refused = cli("serve", "--base-url", "https://sis.example.org", "--duration", "0")
    assert refused.code == EXIT_USAGE and "unrecognized arguments" in refused.err


# --- 8. the timeout flag ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "soon"])
def test_bad_timeout_flag_is_a_usage_error(value: str) -> None:
    ran = cli("list", "orgs", f"--timeout={value}")
    assert ran.code == EXIT_USAGE
    assert "argument --timeout" in ran.err and repr(value) in ran.err


@pytest.mark.parametrize("value", ["0", "nan", "inf"])
def test_bad_timeout_variable_names_it(value: str) -> None:
    ran = cli("list", "orgs", env={"ONEROSTER_TIMEOUT": value})
    assert ran.code == EXIT_CONFIG
    assert "environment variable ONEROSTER_TIMEOUT" in ran.err and "finite" in ran.err


def test_bad_page_size_and_serve_numbers_are_usage_errors() -> None:
    assert cli("list", "orgs", "--page-size", "0").code == EXIT_USAGE
    assert cli("serve", "--port", "70000").code == EXIT_USAGE
    assert cli("serve", "--duration", "-1").code == EXIT_USAGE
    assert cli("buzz-serve", "--duration", "nan").code == EXIT_USAGE
