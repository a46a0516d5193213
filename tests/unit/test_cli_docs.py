"""``docs/cli.md`` and the README's command line stay true to the command."""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

from oneroster_client import cli
from oneroster_client.buzz import RosterSettings
from oneroster_client.buzz.passback import PassbackSettings
from oneroster_client.cli._config import SETTINGS, _check_tables

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_with_its_variable_flag_and_key() -> None:
    rows = [line for line in PAGE.splitlines() if line.startswith("|")]
    for setting in SETTINGS.values():
        row = next((line for line in rows if f"`{setting.env}`" in line), None)
        assert row is not None, setting.env
        assert f"`{setting.key}` in `[{setting.section}]`" in row
        assert (f"`{setting.flag}`" if setting.flag else "none (secret)") in row


def test_every_exit_code_is_documented() -> None:
    codes = {
        name: value
        for name, value in vars(cli).items()
        if name.startswith("EXIT_") and isinstance(value, int)
    }
    assert len(set(codes.values())) == len(codes), "exit codes must be distinct"
    table = PAGE.split("## Exit codes", 1)[1]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    assert documented == set(codes.values())


def test_every_command_is_documented() -> None:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in action.choices:
        assert f"oneroster {command}" in PAGE or f"`{command}`" in PAGE, command


def test_the_example_config_file_is_valid() -> None:
    block = re.search(r"```toml\n(.*?)```", PAGE, re.DOTALL)
    assert block is not None
    data = tomllib.loads(block[1])
    _check_tables(Path("example.toml"), data)
    roster = {"parent_domain_id": data["buzz"]["parent_domain_id"], **data["roster"]}
    assert RosterSettings.from_dict(roster).removal_threshold == 0.05
    passback = {"parent_domain_id": data["buzz"]["parent_domain_id"], **data["passback"]}
    assert PassbackSettings(**passback).profile == "skyward"


def test_readme_set_up_keeps_its_two_commands_and_points_to_the_cli_page() -> None:
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = [b.strip() for b in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)]
    assert blocks == [
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/oneroster demo",
        'python3 -m venv .venv && .venv/bin/pip install -e ".[dev]" && .venv/bin/python -m pytest',
    ]
    assert "## Command line" in README and "docs/cli.md" in README
