"""The skyward_cassette fixture: records when the cassette is missing or asked to, replays after."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

CONFTEST = """
import os

import pytest

from skyward_adapter.testing import loopback_settings, skyward_like_server


@pytest.fixture
def skyward_settings():
    if os.environ.get("NO_SERVER"):
        raise AssertionError("replaying must not need settings or a server")
    with skyward_like_server() as server:
        yield loopback_settings(server, page_size=30)
"""

TESTS = """
import pytest


@pytest.mark.skyward_cassette("springisd_users.yaml")
def test_users(skyward_cassette):
    users = skyward_cassette.client.users.list().all()
    assert len(users) == len({user.sourced_id for user in users}) > 30
    assert skyward_cassette.quirks.counts()
    mode = "record" if skyward_cassette.recording else "replay"
    print(f"MODE {mode} {skyward_cassette.path.name} {skyward_cassette.settings.key}")


def test_named_after_the_test(skyward_cassette):
    assert skyward_cassette.client.orgs.list().all()
"""


def run_pytest(folder: Path, *options: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SKYWARD_") and name not in ("PYTEST_ADDOPTS", "CI")
    }
    environment["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # quicker: only the plugin under test
    environment.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "skyward_adapter.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            "-s",
            *options,
            str(folder),
        ],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_record_then_replay_then_record_again(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST), encoding="utf-8")
    (tmp_path / "test_sync.py").write_text(textwrap.dedent(TESTS), encoding="utf-8")
    cassettes = tmp_path / "cassettes"

    first = run_pytest(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "MODE record springisd_users.yaml springisd-integration" in first.stdout
    assert (cassettes / "springisd_users.yaml").is_file()
    assert (cassettes / "test_sync" / "test_named_after_the_test.yaml").is_file()

    second = run_pytest(tmp_path, NO_SERVER="1")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "MODE replay springisd_users.yaml replay-key" in second.stdout

    third = run_pytest(tmp_path, "--record-skyward", "-k", "test_users")
    assert third.returncode == 0, third.stdout + third.stderr
    assert "MODE record" in third.stdout

    fourth = run_pytest(tmp_path, "-k", "test_users", NO_SERVER="1", SKYWARD_RECORD="1")
    assert fourth.returncode != 0  # asked to record, and recording needs the server
    assert "replaying must not need settings" in fourth.stdout


def test_recording_without_settings_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "test_unconfigured.py").write_text(textwrap.dedent(TESTS), encoding="utf-8")
    result = run_pytest(tmp_path, "-rs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    assert "SKYWARD_BASE_URL" in result.stdout
    assert not (tmp_path / "cassettes").exists()
