"""``oneroster sync`` and ``oneroster passback`` against a loopback SIS and a loopback Buzz."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oneroster_client.buzz import PassbackReport, SyncReport
from oneroster_client.buzz.testing import BuzzServer
from oneroster_client.cli import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_HELD,
    EXIT_ISSUES,
    EXIT_OK,
    EXIT_USAGE,
)
from oneroster_client.testing import District, OneRosterServer, generate_district

from .test_cli import SECRET, Ran, cli, sis_env

DOMAIN = "100"


class World:
    """A SIS, a Buzz server with an empty district domain, and the command's environment."""

    def __init__(self, tmp_path: Path, district: District) -> None:
        self.tmp_path = tmp_path
        self.sis = OneRosterServer(district, client_secret=SECRET).start()
        self.lms = BuzzServer(
            seed={"domains": [{"id": DOMAIN, "name": "USD", "userspace": "usd", "parentid": "1"}]}
        ).start()
        token_url, user_id, self.private_key, key_id = self.lms.jwt_credentials()
        key_file = tmp_path / "buzz-key.pem"
        key_file.write_text(self.private_key, encoding="utf-8")
        self.buzz_env = {
            "ONEROSTER_BUZZ_URL": self.lms.base_url,
            "ONEROSTER_BUZZ_TOKEN_URL": token_url,
            "ONEROSTER_BUZZ_USER_ID": user_id,
            "ONEROSTER_BUZZ_KEY_ID": key_id,
            "ONEROSTER_BUZZ_PRIVATE_KEY_FILE": str(key_file),
            "ONEROSTER_BUZZ_USER_AGENT": "cli-tests/1.0 (tests@example.org)",
            "ONEROSTER_BUZZ_DOMAIN": DOMAIN,
        }

    @property
    def env(self) -> dict[str, str]:
        return {**sis_env(self.sis), **self.buzz_env}

    def run(self, *argv: str, **env: str) -> Ran:
        ran = cli(*argv, env={**self.env, **env}, secrets=self._key_lines())
        assert "PRIVATE KEY" not in ran.text
        return ran

    def _key_lines(self) -> list[str]:
        return [line for line in self.private_key.splitlines() if len(line) > 40]

    def restart_sis(self, district: District) -> None:
        self.sis.stop()
        self.sis = OneRosterServer(district, client_secret=SECRET).start()

    def close(self) -> None:
        self.sis.stop()
        self.lms.stop()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path, generate_district(students=30, seed=5, with_gradebook=False))
    yield built
    built.close()


def _rostered_users(lms: BuzzServer) -> int:
    return sum(1 for user in lms.users() if user.get("reference"))


def test_sync_validates_then_applies_then_holds_then_approves(world: World) -> None:
    preview = world.run("sync")
    assert preview.code == EXIT_OK, preview.text
    assert "validated only, nothing was written" in preview.out
    assert _rostered_users(world.lms) == 0

    history = str(world.tmp_path / "history.sqlite")
    report = world.tmp_path / "sync.html"
    applied = world.run("sync", "--apply", "--history", history, "--report", str(report))
    assert applied.code == EXIT_OK, applied.text
    rostered = _rostered_users(world.lms)
    assert rostered > 0
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    district = world.sis.district
    students = [e for e in district["enrollments"] if e["role"] == "student"]
    for enrollment in students[::2]:
        district["enrollments"].remove(enrollment)
    world.restart_sis(district)
    held = world.run("sync", "--apply", "--full", "--history", history, "--format", "json")
    assert held.code == EXIT_HELD, held.text
    plan_id = SyncReport.from_json(held.out).plan_id
    assert plan_id and f"--approve {plan_id}" in held.err
    enrollments_before = len(world.lms.enrollments())

    approved = world.run("sync", "--approve", plan_id, "--full", "--history", history)
    assert approved.code == EXIT_OK, approved.text
    withdrawn = [e for e in world.lms.enrollments() if str(e.get("status")) == "4"]
    assert len(withdrawn) == len(students[::2])
    assert len(world.lms.enrollments()) == enrollments_before


def test_sync_with_validation_issues_exits_4(tmp_path: Path) -> None:
    from skyward_adapter.testing import skyward_like_district

    world = World(tmp_path, skyward_like_district(students=20).district)
    try:
        env = {"ONEROSTER_SIS": "skyward", "ONEROSTER_BASE_URL": world.sis.origin}
        ran = world.run("sync", **env)
        assert ran.code == EXIT_ISSUES, ran.text
        assert "Validation issues" in ran.out
    finally:
        world.close()


def test_sync_report_formats(world: World) -> None:
    for name in ("r.json", "r.txt"):
        path = world.tmp_path / name
        assert world.run("sync", "--report", str(path)).code == EXIT_OK
        text = path.read_text(encoding="utf-8")
        if name.endswith(".json"):
            assert SyncReport.from_json(text).status == "validated"
        else:
            assert "validated only" in text


def test_sync_refused_by_buzz_exits_1(world: World) -> None:
    ran = world.run("sync", ONEROSTER_BUZZ_USER_ID="999999")
    assert ran.code == EXIT_FAILED, ran.text
    assert "stopped" in ran.out


def test_sync_settings_from_file_and_precedence(world: World) -> None:
    config = world.tmp_path / "sync.toml"
    config.write_text(
        '[buzz]\nparent_domain_id = "424242"\n\n'
        '[roster]\nparent_domain_id = "777"\nstudent_role = "Student"\n'
        'teacher_role = "Teacher"\ndistrict_key = "from-file"\n',
        encoding="utf-8",
    )
    env = world.env
    del env["ONEROSTER_BUZZ_DOMAIN"]
    # The [roster] table beats [buzz]; domain 777 does not exist in Buzz.
    from_file = cli("sync", "--config", str(config), "--format", "json", env=env)
    assert from_file.code == EXIT_FAILED
    assert json.loads(from_file.out)["district"] == "from-file"
    # The environment beats the file.
    from_env = cli("sync", "--config", str(config), env={**env, "ONEROSTER_BUZZ_DOMAIN": DOMAIN})
    assert from_env.code == EXIT_OK, from_env.text
    # The flag beats the environment.
    from_flag = cli(
        "sync",
        "--config",
        str(config),
        "--domain",
        DOMAIN,
        env={**env, "ONEROSTER_BUZZ_DOMAIN": "777"},
    )
    assert from_flag.code == EXIT_OK, from_flag.text


def test_sync_configuration_errors_exit_5(world: World) -> None:
    env = world.env
    del env["ONEROSTER_BUZZ_USER_ID"], env["ONEROSTER_BUZZ_PRIVATE_KEY_FILE"]
    missing = cli("sync", env=env)
    assert missing.code == EXIT_CONFIG and "ONEROSTER_BUZZ_USER_ID" in missing.err
    no_key = cli("sync", env={**env, "ONEROSTER_BUZZ_USER_ID": "1"})
    assert no_key.code == EXIT_CONFIG and "ONEROSTER_BUZZ_PRIVATE_KEY" in no_key.err
    unreadable = world.run(
        "sync", ONEROSTER_BUZZ_PRIVATE_KEY_FILE=str(world.tmp_path / "absent.pem")
    )
    assert unreadable.code == EXIT_CONFIG and "absent.pem" in unreadable.err
    no_domain = world.run("sync", ONEROSTER_BUZZ_DOMAIN="")
    assert no_domain.code == EXIT_CONFIG and "ONEROSTER_BUZZ_DOMAIN" in no_domain.err
    bad_table = world.tmp_path / "bad.toml"
    bad_table.write_text("[roster]\nremoval_treshold = 0.2\n", encoding="utf-8")
    typo = world.run("sync", "--config", str(bad_table))
    assert typo.code == EXIT_CONFIG and "removal_treshold" in typo.err


def test_private_key_from_the_environment(world: World) -> None:
    ran = world.run(
        "sync", ONEROSTER_BUZZ_PRIVATE_KEY_FILE="", ONEROSTER_BUZZ_PRIVATE_KEY=world.private_key
    )
    assert ran.code == EXIT_OK, ran.text


def _grade_everyone(lms: BuzzServer) -> int:
    rng = random.Random(3)
    student_role = next(r["id"] for r in lms.roles() if r["name"] == "Student")
    graded = 0
    for enrollment in lms.enrollments():
        if enrollment.get("roleid") == student_role and enrollment.get("reference"):
            achieved = float(rng.randint(0, 10))
            lms.set_grade(
                enrollment["id"],
                achieved,
                10.0,
                itemid="quiz-1",
                title="Quiz 1",
                scoreddate="2025-01-10T15:00:00Z",
            )
            graded += 1
    return graded


def _results(sis: OneRosterServer) -> dict[str, Any]:
    return {r["sourcedId"]: r for r in sis.district["results"]}


def test_passback_validates_then_applies(world: World) -> None:
    assert world.run("sync", "--apply").code == EXIT_OK
    graded = _grade_everyone(world.lms)
    assert graded > 0

    preview = world.run("passback")
    assert preview.code == EXIT_OK, preview.text
    assert "validated only" in preview.out
    assert _results(world.sis) == {}

    report = world.tmp_path / "passback.json"
    applied = world.run("passback", "--apply", "--report", str(report))
    assert applied.code == EXIT_OK, applied.text
    sent = PassbackReport.from_json(report.read_text(encoding="utf-8"))
    assert sent.counts["results"]["created"] == graded == len(_results(world.sis))


def test_passback_options(world: World) -> None:
    assert world.run("sync", "--apply").code == EXIT_OK
    _grade_everyone(world.lms)
    klass = next(c["reference"] for c in world.lms.courses() if c.get("reference"))
    one = world.run("passback", "--apply", "--class", klass, "--format", "json")
    assert one.code == EXIT_OK, one.text
    sent = {r["class"]["sourcedId"] for r in world.sis.district["lineItems"]}
    assert sent == {klass}
    assert json.loads(one.out)["classes"] == 1
    resent = world.run("passback", "--apply", "--resend", "--class", klass, "--format", "json")
    assert resent.code == EXIT_OK, resent.text
    assert json.loads(resent.out)["counts"]["results"]["replaced"] > 0
    later = world.run("passback", "--since", "2030-01-01")
    assert (
        later.code == EXIT_OK
        and json.loads(world.run("passback", "--since", "2030-01-01", "--format", "json").out)[
            "older"
        ]
        > 0
    )
    bad = world.run("passback", "--since", "last tuesday")
    assert bad.code == EXIT_USAGE and "argument --since" in bad.err and "ISO 8601" in bad.err
    table = world.tmp_path / "p.toml"
    table.write_text('[passback]\nprofil = "skyward"\n', encoding="utf-8")
    typo = world.run("passback", "--config", str(table))
    assert typo.code == EXIT_CONFIG and "profil" in typo.err


def test_passback_with_refusals_exits_4(world: World) -> None:
    assert world.run("sync", "--apply").code == EXIT_OK
    enrollment = next(
        e for e in world.lms.enrollments() if e.get("reference") and e.get("roleid") == "2"
    )
    world.lms.set_grade(enrollment["id"], None, 10.0, letter="B", itemid="q", title="Letter")
    ran = world.run("passback", "--profile", "skyward")
    assert ran.code == EXIT_ISSUES, ran.text
