"""Defects a new user met on a first try of the ``oneroster`` command, each run through
the command against loopback servers: export into a folder that holds files, ``--fields``
names, library advice reaching the terminal untranslated, raw OS errors from the servers,
a closed standard output, a wrong base path reported once per collection."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from oneroster_client.cli import EXIT_CONFIG, EXIT_OK, EXIT_USAGE
from oneroster_client.cli._advice import for_the_command_line
from oneroster_client.client import OneRosterClient
from oneroster_client.csv_package import read_package
from oneroster_client.testing import District, OneRosterServer, generate_district

from .test_cli import SECRET, cli, sis_env


@pytest.fixture(scope="module")
def district() -> District:
    return generate_district(students=12, seed=5)


@pytest.fixture
def server(district: District) -> Iterator[OneRosterServer]:
    with OneRosterServer(district, client_secret=SECRET) as running:
        yield running


# --- export into a folder that holds files ----------------------------------------------


def test_export_into_a_folder_with_files_is_refused_and_touches_nothing(
    server: OneRosterServer, tmp_path: Path
) -> None:
    folder = tmp_path / "mydocs"
    folder.mkdir()
    (folder / "users.csv").write_text("my users", encoding="utf-8")
    (folder / "thesis.txt").write_text("my thesis", encoding="utf-8")

    ran = cli("export", str(folder), "--collections", "orgs", env=sis_env(server))

    assert ran.code == EXIT_USAGE, ran.text
    assert "not empty" in ran.err and "--overwrite" in ran.err and "overwrite=" not in ran.err
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.txt", "users.csv"]
    assert (folder / "users.csv").read_text(encoding="utf-8") == "my users"
    # Refused before the server was read.
    assert server.requests == []


def test_re_exporting_fewer_collections_over_a_package_keeps_it_whole(
    server: OneRosterServer, district: District, tmp_path: Path
) -> None:
    folder = tmp_path / "roster"
    assert cli("export", str(folder), env=sis_env(server)).code == EXIT_OK
    (folder / "thesis.txt").write_text("kept", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    ran = cli("export", str(folder), "--collections", "orgs", "--overwrite", env=sis_env(server))

    assert ran.code == EXIT_USAGE, ran.text
    assert "users.csv" in ran.err and "would not replace" in ran.err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before

    again = cli("export", str(folder), "--overwrite", env=sis_env(server))
    assert again.code == EXIT_OK, again.text
    assert (folder / "thesis.txt").read_text(encoding="utf-8") == "kept"
    loaded = read_package(folder).load()
    assert len(loaded["users"]) == len(district["users"])


def test_export_over_an_existing_zip_needs_overwrite(
    server: OneRosterServer, tmp_path: Path
) -> None:
    target = tmp_path / "p.zip"
    target.write_bytes(b"someone else's zip")
    ran = cli("export", str(target), "--collections", "orgs", env=sis_env(server))
    assert ran.code == EXIT_USAGE and "already exists" in ran.err and "--overwrite" in ran.err
    assert target.read_bytes() == b"someone else's zip"
    ran = cli("export", str(target), "--collections", "orgs", "--overwrite", env=sis_env(server))
    assert ran.code == EXIT_OK, ran.text
    assert read_package(target).mode_of("orgs") == "bulk"


# --- --fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "table", "json"])
@pytest.mark.parametrize("spelling", ["sourced_id,given_name", "sourcedId,givenName"])
def test_fields_in_snake_case_select_and_show_the_values(
    server: OneRosterServer, district: District, fmt: str, spelling: str
) -> None:
    ran = cli(
        "list", "users", "--fields", spelling, "--limit", "2", "--format", fmt, env=sis_env(server)
    )
    assert ran.code == EXIT_OK, ran.text
    first, second = district["users"][:2]
    for user in (first, second):
        assert user["sourcedId"] in ran.out and user["givenName"] in ran.out, ran.out
    if fmt == "csv":
        lines = ran.out.splitlines()
        assert lines[0] == "sourcedId,givenName"
        assert lines[1] == f"{first['sourcedId']},{first['givenName']}"
    sent = [r.query.get("fields") for r in server.requests if r.path.endswith("/users")]
    assert sent and set(sent) == {"sourcedId,givenName"}, sent


def test_get_takes_snake_case_fields(server: OneRosterServer, district: District) -> None:
    user = district["users"][0]
    ran = cli(
        "get",
        "users",
        user["sourcedId"],
        "--fields",
        "sourced_id,family_name,role,enabled_user,orgs,username,given_name",
        "--format",
        "csv",
        env=sis_env(server),
    )
    assert ran.code == EXIT_OK, ran.text
    header, row = ran.out.splitlines()[:2]
    assert header.startswith("sourcedId,familyName,")
    assert row.startswith(f"{user['sourcedId']},{user['familyName']},")


@pytest.mark.parametrize("command", ["list", "get"])
def test_an_unknown_field_is_a_usage_error_naming_the_valid_ones(
    server: OneRosterServer, command: str
) -> None:
    argv = ["list", "users"] if command == "list" else ["get", "users", "u-1"]
    ran = cli(*argv, "--fields", "sourcedId,nosuch", env=sis_env(server))
    assert ran.code == EXIT_USAGE, ran.text
    assert "'nosuch'" in ran.err and "User" in ran.err
    for valid in ("sourcedId", "givenName", "familyName", "enabledUser"):
        assert valid in ran.err
    assert ran.out == "" and server.requests == []


# --- advice said the command line's way ---------------------------------------------------


def test_check_says_the_flags_not_the_library_arguments(server: OneRosterServer) -> None:
    ran = cli("check", env={**sis_env(server), "ONEROSTER_CLIENT_SECRET": "not-the-secret"})
    assert ran.code == 1
    assert "--client-id" in ran.out and "--client-auth body" in ran.out, ran.out
    assert "client_id and client_secret" not in ran.out and "client_auth=" not in ran.out


def test_an_unreachable_token_url_names_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    from oneroster_client.retry import RetryState

    monkeypatch.setattr(RetryState, "sleep", lambda self, seconds: None)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {
        "ONEROSTER_BASE_URL": f"http://127.0.0.1:{port}/ims/oneroster/v1p1",
        "ONEROSTER_TOKEN_URL": f"http://127.0.0.1:{port}/token",
        "ONEROSTER_CLIENT_ID": "trial-client",
        "ONEROSTER_CLIENT_SECRET": SECRET,
        "ONEROSTER_TIMEOUT": "0.5",
    }
    for argv in (["check"], ["list", "orgs"]):
        ran = cli(*argv, env=env)
        assert ran.code == 1, ran.text
        assert "check --token-url (ONEROSTER_TOKEN_URL) and the network" in ran.text, ran.text
        assert "token_url" not in ran.text


def test_a_misspelt_passback_key_is_named_with_the_close_one(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('[passback]\nprofle = "skyward"\n', encoding="utf-8")
    ran = cli("passback", "--config", str(config))
    assert ran.code == EXIT_CONFIG, ran.text
    assert "'profle'" in ran.err and "did you mean 'profile'" in ran.err
    assert "time_zone" in ran.err  # the known keys are listed
    assert "__init__" not in ran.err and "keyword argument" not in ran.err


def test_order_without_sort_names_the_flags(server: OneRosterServer) -> None:
    ran = cli("list", "users", "--order", "desc", env=sis_env(server))
    assert ran.code == EXIT_USAGE
    assert "--order needs --sort" in ran.err and "order_by" not in ran.err
    assert server.requests == []


def test_library_sort_advice_is_rewritten() -> None:
    # The library's own wording, for callers that reach it some other way.
    assert for_the_command_line("order_by needs sort: OneRoster orders by the sort field") == (
        "--order needs --sort: OneRoster orders by the sort field"
    )


def test_check_reports_a_wrong_base_path_once(server: OneRosterServer) -> None:
    env = {**sis_env(server), "ONEROSTER_BASE_URL": server.base_url + "/nope"}
    ran = cli("check", env=env)
    assert ran.code == 1
    assert ran.out.count("HTTP 404") == 1 and ran.out.count("FAIL") == 1, ran.out
    assert "base URL" in ran.out and "--base-url" in ran.out
    assert "1 check(s) failed." in ran.out


def test_check_still_tries_every_collection_after_one_404(
    server: OneRosterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Orgs answer, then one collection is missing: the others are still checked.
    from oneroster_client.errors import NotFoundError

    real = OneRosterClient.__getattribute__

    class Missing:
        def list(self, **_: object) -> object:
            raise NotFoundError("GET /courses was refused (HTTP 404 not found)", status_code=404)

    def attribute(self: OneRosterClient, name: str) -> object:
        return Missing() if name == "courses" else real(self, name)

    monkeypatch.setattr(OneRosterClient, "__getattribute__", attribute)
    ran = cli("check", env=sis_env(server))
    assert ran.code == 1
    assert "FAIL  courses" in ran.out and "ok    enrollments" in ran.out, ran.out


# --- servers: ports in use, key files -----------------------------------------------------


@pytest.mark.parametrize("command", ["serve", "buzz-serve"])
def test_a_port_in_use_is_a_usage_error_suggesting_another(command: str, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        extra = ["--key-file", str(tmp_path / "key.pem")] if command == "buzz-serve" else []
        ran = cli(command, "--port", str(port), "--duration", "0", *extra)
    assert ran.code == EXIT_USAGE, ran.text
    assert f"port {port} is in use" in ran.err and "--port 0" in ran.err
    assert "Errno" not in ran.err
    assert not (tmp_path / "key.pem").exists()


def test_buzz_serve_key_file_in_a_missing_folder(tmp_path: Path) -> None:
    key = tmp_path / "no-such-folder" / "key.pem"
    ran = cli("buzz-serve", "--port", "0", "--duration", "0", "--key-file", str(key))
    assert ran.code == EXIT_USAGE, ran.text
    assert str(tmp_path / "no-such-folder") in ran.err and "does not exist" in ran.err
    assert ".tmp" not in ran.err and "Errno" not in ran.err


def test_serve_help_shows_the_client_id_it_uses() -> None:
    ran = cli("serve", "--help")
    assert ran.code == EXIT_OK
    flat = " ".join(ran.out.split())
    assert "default: oneroster-test-client;" in flat
    assert "default: none; env ONEROSTER_CLIENT_ID" not in flat


# --- a closed standard output -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_a_closed_stdout_ends_quietly(server: OneRosterServer, fmt: str) -> None:
    command = [sys.executable, "-m", "oneroster_client.cli", "list", "users", "--format", fmt]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **sis_env(server)},
    )
    assert process.stdout is not None
    # What `| head -0` does: the reader is gone before the first line is written.
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    text = err.decode()
    assert process.returncode == 1, text
    assert "Broken pipe" not in text and "Errno" not in text and "Exception" not in text, text
