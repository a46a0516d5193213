"""``oneroster demo`` end to end (in-process and as the README runs it), and the loopback
servers ``serve`` and ``buzz-serve``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oneroster_client.cli import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_USAGE
from oneroster_client.csv_package import write_package
from oneroster_client.testing import generate_district

from .test_cli import SECRET, cli

ROOT = Path(__file__).resolve().parents[2]
MARK = "demo-leak-check-9d8c7b6a5f4e3d2c"


@pytest.fixture
def marked_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Random secrets of the loopback servers all start with a known mark."""
    import secrets

    counter = iter(range(10**6))
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=None: f"{MARK}{next(counter)}")
    yield


def test_demo_runs_the_whole_job(marked_secrets: None, tmp_path: Path) -> None:
    report = tmp_path / "demo.html"
    ran = cli("demo", "--students", "40", "--report", str(report), secrets=[MARK])
    assert ran.code == EXIT_OK, ran.text
    assert "PRIVATE KEY" not in ran.text
    out = ran.out
    steps = [
        "Skyward connection check: OK",
        "Buzz sync, validate-only",
        "validated only, nothing was written",
        "Validation issues",
        "Buzz sync, applied",
        "Teachers grade in Buzz",
        "Grade passback for demo-usd: completed",
        "Summary",
        "Done in",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)
    graded = int(re.search(r"Teachers grade in Buzz: ([\d,]+) scores", out)[1].replace(",", ""))
    sent = re.search(r"the SIS took ([\d,]+) line items and ([\d,]+) results", out)
    assert sent is not None and int(sent[2].replace(",", "")) == graded > 0
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<body>") == 1
    assert "Buzz sync for demo-usd" in page and "Grade passback for demo-usd" in page
    assert "<script" not in page and MARK not in page


def test_demo_help_names_its_defaults() -> None:
    ran = cli("demo", "--help")
    assert ran.code == EXIT_OK
    flat = re.sub(r"\s+", " ", ran.out).replace("- ", "-")  # undo the help's line wrapping
    assert "(default: 300)" in flat and "(default: oneroster-demo-report.html)" in flat


def test_readme_first_command_path_as_a_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "oneroster_client.cli", "demo", "--students", "60"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("Done in")
    assert (tmp_path / "oneroster-demo-report.html").is_file()
    assert "PRIVATE KEY" not in done.stdout + done.stderr


def _exports(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        match = re.match(r"\s*export (\w+)=(\S+)", line)
        if match:
            found[match[1]] = match[2]
    return found


def test_serve_as_a_subprocess_then_list_and_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ONEROSTER_CLIENT_SECRET": SECRET}
    process = subprocess.Popen(
        [sys.executable, "-m", "oneroster_client.cli", "serve", "--port", "0", "--students", "20"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        while "ONEROSTER_CLIENT_SECRET" not in "".join(lines):
            line = process.stdout.readline()
            assert line, "serve ended before printing its settings"
            lines.append(line)
        exports = _exports(lines)
        assert set(exports) == {"ONEROSTER_BASE_URL", "ONEROSTER_TOKEN_URL", "ONEROSTER_CLIENT_ID"}
        ran = cli(
            "list",
            "schools",
            "--format",
            "json",
            env={**exports, "ONEROSTER_CLIENT_SECRET": SECRET},
        )
        assert ran.code == EXIT_OK, ran.text
        assert json.loads(ran.out)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert SECRET not in "".join(lines) + out + err
    assert "the one you gave (not shown)" in "".join(lines)
    assert SECRET[:2] + "…" not in "".join(lines)  # not even a masked part of it


def test_serve_a_csv_package_for_a_while(tmp_path: Path) -> None:
    district = generate_district(students=15, seed=2)
    write_package(tmp_path / "pkg", district.records())
    ran = cli("serve", "--csv", str(tmp_path / "pkg"), "--port", "0", "--duration", "0.05")
    assert ran.code == EXIT_OK, ran.text
    assert f"users={len(district['users']):,}" in ran.out
    assert "throwaway" in ran.out


def test_serve_a_package_with_unreadable_rows_warns(tmp_path: Path) -> None:
    district = generate_district(students=15, seed=2)
    write_package(tmp_path / "pkg", district.records())
    users = tmp_path / "pkg" / "users.csv"
    broken = "\n".join(f"bad-{n},not,enough" for n in range(7))
    users.write_text(users.read_text(encoding="utf-8") + broken + "\n", encoding="utf-8")
    ran = cli("serve", "--csv", str(tmp_path / "pkg"), "--port", "0", "--duration", "0")
    assert ran.code == EXIT_OK, ran.text
    assert ran.err.count("warning: ") == 6 and "2 more rows could not be read" in ran.err


def test_serve_skyward_like_with_a_fixed_client_id() -> None:
    env = {"ONEROSTER_CLIENT_SECRET": SECRET}
    ran = cli(
        "serve",
        "--skyward",
        "--students",
        "10",
        "--port",
        "0",
        "--duration",
        "0.05",
        "--client-id",
        "district-key",
        env=env,
    )
    assert ran.code == EXIT_OK, ran.text
    exports = _exports(ran.out.splitlines())
    assert exports["ONEROSTER_SIS"] == "skyward"
    assert exports["ONEROSTER_CLIENT_ID"] == "district-key"
    assert "/springisdAPI/ims/oneroster/v1p1" in exports["ONEROSTER_BASE_URL"]


def test_serve_an_unreadable_package_exits_1(tmp_path: Path) -> None:
    ran = cli("serve", "--csv", str(tmp_path / "absent"), "--port", "0", "--duration", "0")
    assert ran.code == EXIT_FAILED
    assert "absent" in ran.err and "Traceback" not in ran.err


def test_buzz_serve_writes_an_owner_only_key_and_prints_no_key(tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    ran = cli(
        "buzz-serve",
        "--port",
        "0",
        "--key-file",
        str(key_file),
        "--duration",
        "0.05",
        "--domain",
        "555",
    )
    assert ran.code == EXIT_OK, ran.text
    key = key_file.read_text(encoding="utf-8")
    assert "PRIVATE KEY" in key and "PRIVATE KEY" not in ran.text
    assert all(line not in ran.text for line in key.splitlines() if len(line) > 40)
    assert key_file.stat().st_mode & 0o777 == 0o600
    exports = _exports(ran.out.splitlines())
    assert exports["ONEROSTER_BUZZ_DOMAIN"] == "555"
    assert Path(exports["ONEROSTER_BUZZ_PRIVATE_KEY_FILE"]) == key_file.resolve()


def test_serve_with_a_bad_setting_exits_5(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[sis]\npage_size = 0\n", encoding="utf-8")
    ran = cli("serve", "--config", str(bad), "--port", "0", "--duration", "0")
    assert ran.code == EXIT_CONFIG and "page_size" in ran.err


def _buzz_serve(key_file: Path) -> Any:
    return cli("buzz-serve", "--port", "0", "--key-file", str(key_file), "--duration", "0.05")


def test_buzz_serve_never_overwrites_a_file_that_is_not_its_key(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("important\n", encoding="utf-8")
    precious.chmod(0o644)
    ran = _buzz_serve(precious)
    assert ran.code == EXIT_CONFIG and "not a private key file" in ran.err
    assert precious.read_text(encoding="utf-8") == "important\n"


def test_buzz_serve_replaces_its_own_key_owner_only_whatever_the_old_mode(tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    assert _buzz_serve(key_file).code == EXIT_OK
    first = key_file.read_text(encoding="utf-8")
    key_file.chmod(0o644)  # someone widened it
    assert _buzz_serve(key_file).code == EXIT_OK
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_text(encoding="utf-8").startswith("-----BEGIN PRIVATE KEY-----")
    assert first.startswith("-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in tmp_path.iterdir()] == ["key.pem"]  # no temporary file left


@pytest.mark.parametrize(
    "argv",
    [
        ("demo", "--students", "0"),
        ("serve", "--students", "-1", "--port", "0"),
        ("list", "users", "--limit", "-1"),
        ("demo", "--students", "many"),
    ],
)
def test_counts_below_one_are_usage_errors_not_tracebacks(argv: tuple[str, ...]) -> None:
    ran = cli(*argv)
    assert ran.code == EXIT_USAGE, ran.text
    assert "Traceback" not in ran.text and ("at least 1" in ran.err or "whole number" in ran.err)
