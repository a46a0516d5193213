"""The ``oneroster`` command, run in-process against loopback servers over real HTTP.

Every run goes through :func:`cli`, which fails the test when a secret (the servers'
client secret, a bearer token, a private key) appears in anything the command printed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from oneroster_client.cli import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    build_parser,
    run,
)
from oneroster_client.cli._common import Formatter
from oneroster_client.csv_package import read_package
from oneroster_client.testing import District, OneRosterServer, generate_district

SECRET = "cli-leak-check-Secret-7f3a9b2c41"
"""The client secret of every test server: it must never appear in any output."""

TOKEN = "cli-leak-check-Token-e41d0c99ab"
"""A bearer token given to the command: it must never appear in any output."""


@attrs.frozen
class Ran:
    """What one run printed, and its exit code."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def cli(*argv: str, env: Mapping[str, str] | None = None, secrets: Iterable[str] = ()) -> Ran:
    """Run ``oneroster argv...`` in-process and assert that no secret appears in its output."""
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), environ=dict(env or {}), out=out, err=err)
    ran = Ran(code, out.getvalue(), err.getvalue())
    for secret in (SECRET, TOKEN, *secrets):
        assert secret not in ran.text, f"a secret was printed by oneroster {' '.join(argv)}"
    return ran


def sis_env(server: OneRosterServer, **extra: str) -> dict[str, str]:
    """The environment that points the command at a loopback OneRoster server (OAuth 2)."""
    return {
        "ONEROSTER_BASE_URL": server.base_url,
        "ONEROSTER_TOKEN_URL": server.token_url,
        "ONEROSTER_CLIENT_ID": server.client_id,
        "ONEROSTER_CLIENT_SECRET": server.client_secret,
        **extra,
    }


@pytest.fixture(scope="module")
def district() -> District:
    return generate_district(students=40, seed=11)


@pytest.fixture
def server(district: District) -> Iterator[OneRosterServer]:
    with OneRosterServer(district, client_secret=SECRET) as running:
        yield running


def _ids(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    return sorted(str(row["sourcedId"]) for row in rows)


# --- help, version, usage --------------------------------------------------------------


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


COMMANDS = sorted(_subparsers())


def test_every_command_is_there() -> None:
    expected = {"demo", "check", "list", "get", "export", "sync", "passback", "serve"}
    assert expected | {"buzz-serve"} == set(COMMANDS)


SECRET_ENV = {
    "ONEROSTER_CLIENT_SECRET": SECRET,
    "ONEROSTER_ACCESS_TOKEN": TOKEN,
    "ONEROSTER_BUZZ_PRIVATE_KEY": TOKEN,
}


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_shows_every_option_with_its_default(command: str) -> None:
    ran = cli(command, "--help", env=SECRET_ENV)
    assert ran.code == EXIT_OK
    assert ran.out.startswith(f"usage: oneroster {command}")
    formatter = Formatter(prog="oneroster")
    for action in _subparsers()[command]._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{action.option_strings} has no help text"
        shown = formatter._get_help_string(action) or ""
        assert "default" in shown, f"{command} {action.option_strings[0]}: no default shown"


def test_top_level_help_lists_commands_and_exit_codes() -> None:
    ran = cli("--help")
    assert ran.code == EXIT_OK
    for command in COMMANDS:
        assert command in ran.out
    assert "exit codes" in ran.out and "3 plan held" in ran.out


def test_version() -> None:
    from oneroster_client import __version__

    ran = cli("--version")
    assert ran.code == EXIT_OK and __version__ in ran.out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["list"],
        ["list", "orgs", "--format", "xml"],
        ["list", "orgs", "--bogus"],
        ["sync", "--apply", "--validate-only"],
        ["get", "orgs"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    ran = cli(*argv)
    assert ran.code == EXIT_USAGE
    assert "usage: oneroster" in ran.err


def test_no_secret_flag_exists() -> None:
    # A secret on the command line is visible to every user in the process list.
    for command, parser in _subparsers().items():
        flags = {flag for action in parser._actions for flag in action.option_strings}
        assert not {f for f in flags if "secret" in f or "password" in f}, command
        assert "--access-token" not in flags and "--buzz-private-key" not in flags


# --- settings --------------------------------------------------------------------------


def test_missing_settings_are_named_with_every_way_to_give_them() -> None:
    ran = cli("list", "orgs")
    assert ran.code == EXIT_CONFIG
    assert "ONEROSTER_BASE_URL" in ran.err and "--base-url" in ran.err
    assert "[sis]" in ran.err


def test_missing_secret_names_its_variable(server: OneRosterServer) -> None:
    env = sis_env(server)
    del env["ONEROSTER_CLIENT_SECRET"]
    ran = cli("list", "orgs", env=env)
    assert ran.code == EXIT_CONFIG
    assert "ONEROSTER_CLIENT_SECRET" in ran.err


def test_flags_beat_environment_beat_file(server: OneRosterServer, tmp_path: Path) -> None:
    config = tmp_path / "oneroster.toml"
    config.write_text(
        "[sis]\n"
        f'base_url = "{server.base_url}"\n'
        f'token_url = "{server.token_url}"\n'
        'client_id = "wrong-id-from-file"\n'
        f'client_secret = "{SECRET}"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    from_file = cli("list", "orgs", "--config", str(config))
    assert from_file.code == EXIT_FAILED  # the file's wrong client id is refused
    env = {"ONEROSTER_CLIENT_ID": server.client_id}
    from_env = cli("list", "orgs", "--config", str(config), "--format", "json", env=env)
    assert from_env.code == EXIT_OK, from_env.err
    wrong_env = {"ONEROSTER_CLIENT_ID": "wrong-id-from-env", "ONEROSTER_CONFIG": str(config)}
    from_flag = cli("list", "orgs", "--client-id", server.client_id, env=wrong_env)
    assert from_flag.code == EXIT_OK, from_flag.err


def test_config_file_problems_exit_5(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[sis\nbase_url = 1", encoding="utf-8")
    assert cli("list", "orgs", "--config", str(broken)).code == EXIT_CONFIG
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[sis]\nbase_ur = "https://sis.example.org"\n', encoding="utf-8")
    ran = cli("list", "orgs", "--config", str(unknown))
    assert ran.code == EXIT_CONFIG and "'base_ur'" in ran.err and "base_url" in ran.err
    assert cli("list", "orgs", "--config", str(tmp_path / "absent.toml")).code == EXIT_CONFIG


def test_readable_config_file_with_a_secret_is_warned_about(
    server: OneRosterServer, tmp_path: Path
) -> None:
    config = tmp_path / "open.toml"
    config.write_text(f'[sis]\nclient_secret = "{SECRET}"\n', encoding="utf-8")
    config.chmod(0o644)
    ran = cli("list", "orgs", "--config", str(config), env=sis_env(server))
    assert ran.code == EXIT_OK
    assert "other users may read it" in ran.err and "chmod 600" in ran.err


def test_an_invalid_secret_value_is_not_quoted(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[sis]\nclient_secret = 42\n", encoding="utf-8")
    ran = cli("list", "orgs", "--config", str(config))
    assert ran.code == EXIT_CONFIG
    assert "client_secret" in ran.err and "42" not in ran.err


# --- check -----------------------------------------------------------------------------


def test_check_ok(server: OneRosterServer) -> None:
    ran = cli("check", env=sis_env(server))
    assert ran.code == EXIT_OK, ran.text
    assert "Connection works." in ran.out


def test_check_with_a_wrong_secret_fails_without_printing_either_secret(
    server: OneRosterServer,
) -> None:
    wrong = "cli-wrong-Secret-0c1d2e3f4a5b"
    ran = cli("check", env=sis_env(server, ONEROSTER_CLIENT_SECRET=wrong), secrets=[wrong])
    assert ran.code == EXIT_FAILED
    # The credentials fail once; the other collections are not tried (they would repeat it).
    assert ran.out.count("FAIL") == 1
    assert "not tried" in ran.out and "1 check(s) failed." in ran.out


def test_check_with_a_bearer_token(server: OneRosterServer) -> None:
    env = {"ONEROSTER_BASE_URL": server.base_url, "ONEROSTER_ACCESS_TOKEN": TOKEN}
    ran = cli("check", "--auth", "token", env=env)
    assert ran.code == EXIT_FAILED  # the server never issued that token
    assert "FAIL" in ran.out


def test_check_oauth1_and_gradebook(server: OneRosterServer) -> None:
    env = sis_env(server)
    del env["ONEROSTER_TOKEN_URL"]  # auto: no token URL signs with OAuth 1
    ran = cli("check", "--passback", env=env)
    assert ran.code == EXIT_OK, ran.text
    assert "line_items" in ran.out and "results" in ran.out


def test_check_skyward_with_scopes_and_an_unknown_scope() -> None:
    from skyward_adapter import DEFAULT_SCOPES
    from skyward_adapter.testing import skyward_like_server

    with skyward_like_server(client_secret=SECRET) as sis:
        env = sis_env(sis, ONEROSTER_SIS="skyward")
        ok = cli("check", "--scopes", " ".join(DEFAULT_SCOPES[:1]), env=env)
        assert ok.code == EXIT_OK, ok.text
        refused = cli("check", "--scopes", "https://example.org/no-such-scope", env=env)
        assert refused.code == EXIT_FAILED, refused.text


def test_check_skyward() -> None:
    from skyward_adapter.testing import skyward_like_server

    with skyward_like_server(client_secret=SECRET) as sis:
        env = sis_env(sis, ONEROSTER_SIS="skyward")
        env["ONEROSTER_BASE_URL"] = sis.origin + "/springisdAPI"
        ran = cli("check", "--passback", env=env)
        assert ran.code == EXIT_OK, ran.text
        assert "Skyward connection check: OK" in ran.out
        wrong = "cli-wrong-Secret-9a8b7c6d5e"
        failed = cli("check", env={**env, "ONEROSTER_CLIENT_SECRET": wrong}, secrets=[wrong])
        assert failed.code == EXIT_FAILED


def test_unreachable_server_fails_cleanly() -> None:
    env = {
        "ONEROSTER_BASE_URL": "http://127.0.0.1:9/ims/oneroster/v1p1",
        "ONEROSTER_ACCESS_TOKEN": TOKEN,
        "ONEROSTER_TIMEOUT": "0.5",
    }
    ran = cli("list", "orgs", env=env)
    assert ran.code == EXIT_FAILED
    assert "error:" in ran.err and "Traceback" not in ran.err


# --- list, get -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "table"])
def test_list_in_every_format(server: OneRosterServer, district: District, fmt: str) -> None:
    ran = cli("list", "orgs", "--format", fmt, env=sis_env(server))
    assert ran.code == EXIT_OK, ran.err
    expected = _ids(district["orgs"])
    if fmt == "json":
        rows = json.loads(ran.out)
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in ran.out.splitlines()]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(ran.out)))
    else:
        lines = ran.out.splitlines()
        column = lines[0].split().index("sourcedId")
        rows = [{"sourcedId": line.split()[column]} for line in lines[2:]]
    assert _ids(rows) == expected
    assert f"{len(expected):,} record(s)" in ran.err


def test_list_with_filter_sort_fields_and_limit(
    server: OneRosterServer, district: District
) -> None:
    env = sis_env(server)
    ran = cli(
        "list",
        "students",
        "--filter",
        "status='active'",
        "--sort",
        "familyName",
        "--fields",
        "sourcedId,familyName",
        "--format",
        "jsonl",
        env=env,
    )
    assert ran.code == EXIT_OK, ran.err
    rows = [json.loads(line) for line in ran.out.splitlines()]
    students = [u for u in district["users"] if u["role"] == "student" and u["status"] == "active"]
    assert _ids(rows) == _ids(students)
    assert all(set(row) == {"sourcedId", "familyName"} for row in rows)
    names = [row["familyName"] for row in rows]
    assert names == sorted(names, key=str.casefold)  # the server sorts without case
    limited = cli("list", "users", "--limit", "3", "--format", "jsonl", env=env)
    assert limited.code == EXIT_OK and len(limited.out.splitlines()) == 3


@pytest.mark.parametrize("spelling", ["academicSessions", "academic_sessions", "academic-sessions"])
def test_collection_spellings(server: OneRosterServer, district: District, spelling: str) -> None:
    ran = cli("list", spelling, "--format", "json", env=sis_env(server))
    assert ran.code == EXIT_OK
    assert _ids(json.loads(ran.out)) == _ids(district["academicSessions"])


def test_list_nested(server: OneRosterServer, district: District) -> None:
    school = next(o for o in district["orgs"] if o["type"] == "school")["sourcedId"]
    ran = cli(
        "list", "classes", "--of", f"schools/{school}", "--format", "json", env=sis_env(server)
    )
    assert ran.code == EXIT_OK, ran.err
    expected = [c for c in district["classes"] if c["school"]["sourcedId"] == school]
    assert _ids(json.loads(ran.out)) == _ids(expected) and expected


def test_list_nested_two_levels(server: OneRosterServer, district: District) -> None:
    line_item = district["lineItems"][0]
    klass = line_item["class"]["sourcedId"]
    of = f"classes/{klass}/lineItems/{line_item['sourcedId']}"
    ran = cli("list", "results", "--of", of, "--format", "json", env=sis_env(server))
    assert ran.code == EXIT_OK, ran.err
    expected = [
        r for r in district["results"] if r["lineItem"]["sourcedId"] == line_item["sourcedId"]
    ]
    assert _ids(json.loads(ran.out)) == _ids(expected)


def test_list_unknown_nesting_and_collection_are_usage_errors(server: OneRosterServer) -> None:
    env = sis_env(server)
    ran = cli("list", "teachers", "--of", "orgs/x", env=env)
    assert ran.code == EXIT_USAGE and "no OneRoster listing /orgs/x/teachers" in ran.err
    nested = cli("list", "pets", "--of", "schools/x", env=env)
    assert nested.code == EXIT_USAGE and "under schools/ID" in nested.err
    unknown = cli("list", "pets", env=env)
    assert unknown.code == EXIT_USAGE and "unknown collection 'pets'" in unknown.err
    bad_filter = cli("list", "users", "--filter", "bogus", env=env)
    assert bad_filter.code == EXIT_USAGE and "usage error" in bad_filter.err


def test_get(server: OneRosterServer, district: District) -> None:
    klass = district["classes"][0]
    ran = cli("get", "classes", klass["sourcedId"], env=sis_env(server))
    assert ran.code == EXIT_OK, ran.err
    (record,) = json.loads(ran.out)
    assert record["sourcedId"] == klass["sourcedId"] and record["title"] == klass["title"]
    table = cli("get", "classes", klass["sourcedId"], "--format", "table", env=sis_env(server))
    assert klass["sourcedId"] in table.out


def test_get_unknown_record_exits_1(server: OneRosterServer) -> None:
    ran = cli("get", "classes", "no-such-class", env=sis_env(server))
    assert ran.code == EXIT_FAILED
    assert "no-such-class" in ran.err and "Traceback" not in ran.err


# --- export ----------------------------------------------------------------------------


def test_export_writes_a_package_that_reads_back(
    server: OneRosterServer, district: District, tmp_path: Path
) -> None:
    ran = cli("export", str(tmp_path / "roster"), env=sis_env(server))
    assert ran.code == EXIT_OK, ran.err
    package = read_package(tmp_path / "roster")
    loaded = package.load()
    assert not package.errors
    for name in ("orgs", "academicSessions", "courses", "classes", "users", "enrollments"):
        assert sorted(r.sourced_id for r in loaded[name]) == _ids(district[name]), name
        assert f"{len(district[name]):,}" in ran.out


def test_export_every_collection(
    server: OneRosterServer, district: District, tmp_path: Path
) -> None:
    ran = cli("export", str(tmp_path / "all"), "--collections", "all", env=sis_env(server))
    assert ran.code == EXIT_OK, ran.err
    loaded = read_package(tmp_path / "all").load()
    for name in ("demographics", "lineItems", "results", "categories"):
        assert sorted(r.sourced_id for r in loaded[name]) == _ids(district[name]), name


def test_export_zip_and_collections(server: OneRosterServer, tmp_path: Path) -> None:
    ran = cli("export", str(tmp_path / "p.zip"), "--collections", "orgs,users", env=sis_env(server))
    assert ran.code == EXIT_OK, ran.err
    assert set(read_package(tmp_path / "p.zip").load()) >= {"orgs", "users"}
    bad = cli("export", str(tmp_path / "x"), "--collections", "orgs,pets", env=sis_env(server))
    assert bad.code == EXIT_USAGE and "pets" in bad.err


# --- failures never leak ---------------------------------------------------------------


def test_unexpected_error_is_reported_scrubbed(
    server: OneRosterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oneroster_client.cli import read

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"boom with {SECRET} inside")

    monkeypatch.setattr(read, "write_rows", explode)
    ran = cli("list", "orgs", env=sis_env(server))
    assert ran.code == EXIT_FAILED
    assert "internal error (RuntimeError)" in ran.err and "Traceback" in ran.err


def test_debug_traceback_is_scrubbed(server: OneRosterServer) -> None:
    ran = cli("--debug", "list", "pets", env=sis_env(server))
    assert ran.code == EXIT_USAGE and "Traceback" in ran.err


def test_ctrl_c_exits_130(server: OneRosterServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from oneroster_client.cli import read

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(read, "write_rows", interrupted)
    assert cli("list", "orgs", env=sis_env(server)).code == EXIT_INTERRUPTED


def test_main_uses_the_process_streams(capsys: pytest.CaptureFixture[str]) -> None:
    from oneroster_client.cli import main

    assert main(["--version"]) == EXIT_OK
    assert "oneroster-client" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("base_url", "advice"),
    [
        ("http://sis.example.org/ims/oneroster/v1p1", "--allow-insecure-http"),
        ("https://me:pw-secret-9@sis.example.org/ims/oneroster/v1p1", "ONEROSTER_CLIENT_SECRET"),
    ],
)
def test_url_errors_give_command_line_advice(
    server: OneRosterServer, base_url: str, advice: str
) -> None:
    ran = cli("list", "users", env=sis_env(server, ONEROSTER_BASE_URL=base_url))
    assert ran.code == EXIT_CONFIG
    assert advice in ran.err
    assert "allow_insecure_http=True" not in ran.err and "auth object" not in ran.err
    assert "pw-secret-9" not in ran.text
