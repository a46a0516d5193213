"""``oneroster sync`` and ``oneroster passback`` when a run cannot do its work: a read that
fails, a lock left by a killed run, a class or domain that does not exist, a Buzz that
cannot be reached, a wrong plan id. All over real HTTP against loopback servers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from oneroster_client.buzz import PassbackReport, SyncHistory, SyncReport
from oneroster_client.buzz.testing import BuzzServer
from oneroster_client.cli import EXIT_FAILED, EXIT_HELD, EXIT_OK, EXIT_USAGE
from oneroster_client.testing import Faults, generate_district

from .test_cli_buzz import DOMAIN, World

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path, generate_district(students=30, seed=5, with_gradebook=False))
    yield built
    built.close()


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- a run whose read failed is never a success ----------------------------------------


def test_a_sync_that_could_not_read_the_sis_fails_and_is_not_a_success(world: World) -> None:
    history = str(world.tmp_path / "h.sqlite")
    good = world.run("sync", "--apply", "--history", history, "--format", "json")
    assert good.code == EXIT_OK, good.text
    good_id = SyncReport.from_json(good.out).run_id

    refused = world.run(
        "sync", "--apply", "--history", history, "--format", "json", ONEROSTER_CLIENT_SECRET="bad"
    )
    assert refused.code == EXIT_FAILED, refused.text
    report = SyncReport.from_json(refused.out)
    assert report.status == "failed" and report.records_read == 0
    assert report.error and "nothing could be read from the OneRoster server" in report.error
    assert "nothing could be read" in refused.err  # the reason is on standard error too
    assert "ONEROSTER_CLIENT_SECRET" in refused.err  # the CLI's advice, not client_secret

    checked = world.run("sync", ONEROSTER_CLIENT_SECRET="bad")
    assert checked.code == EXIT_FAILED, checked.text
    assert "full read of the district." not in checked.out
    assert "FAILED, nothing was read" in checked.out

    runs = SyncHistory(history).runs(DOMAIN)
    assert [run.status for run in runs] == ["failed", "ok"]
    last = SyncHistory(history).last_success(DOMAIN)
    assert last is not None and last.run_id == good_id


def test_a_sync_with_an_incomplete_read_is_partial_and_the_next_run_reads_from_before_it(
    world: World,
) -> None:
    history = str(world.tmp_path / "h.sqlite")
    assert world.run("sync", "--apply", "--history", history).code == EXIT_OK
    first = SyncHistory(history).last_success(DOMAIN)
    assert first is not None

    world.sis.faults = Faults(total_count_delta=4)  # every listing ends short
    short = world.run("sync", "--apply", "--history", history, "--format", "json")
    assert short.code == EXIT_FAILED, short.text
    report = SyncReport.from_json(short.out)
    assert report.status == "partial" and report.error is None and report.incomplete_reasons
    assert report.removals_suppressed  # the safety rule still holds
    text = world.run("sync", "--history", history).out
    assert "INCOMPLETE" in text.splitlines()[0]

    world.sis.faults = Faults()
    again = world.run("sync", "--apply", "--history", history, "--format", "json")
    assert again.code == EXIT_OK, again.text
    since = SyncReport.from_json(again.out).since
    # The incremental read starts before the last good run, not the partial one.
    assert since is not None and since < first.started


def test_a_passback_that_could_not_read_the_sis_fails(world: World) -> None:
    history = str(world.tmp_path / "h.sqlite")
    assert world.run("sync", "--apply").code == EXIT_OK
    ran = world.run(
        "passback", "--apply", "--history", history, "--format", "json", ONEROSTER_CLIENT_SECRET="x"
    )
    assert ran.code == EXIT_FAILED, ran.text
    assert PassbackReport.from_json(ran.out).status == "failed"
    runs = SyncHistory(history).runs(DOMAIN, kind="passback")
    assert [run.status for run in runs] == ["failed"]
    assert SyncHistory(history).last_success(DOMAIN, kind="passback") is None


def test_passback_of_a_class_the_sis_lacks_fails_and_says_so(world: World) -> None:
    assert world.run("sync", "--apply").code == EXIT_OK
    ran = world.run("passback", "--class", "nosuch", "--format", "json")
    assert ran.code == EXIT_FAILED, ran.text
    report = PassbackReport.from_json(ran.out)
    assert [(f.entity, f.reference) for f in report.failures] == [("classes", "nosuch")]
    assert "class nosuch is not in the SIS" in report.failures[0].message
    text = world.run("passback", "--class", "nosuch").out
    assert "class nosuch is not in the SIS" in text


# --- a lock left by a killed run -------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="kill -9 and process ids: POSIX")
def test_the_lock_of_a_killed_sync_is_taken_over_by_the_next_run(world: World) -> None:
    history = str(world.tmp_path / "h.sqlite")
    world.sis.faults = Faults(latency=30)  # the run waits on the SIS, holding the lock
    process = subprocess.Popen(
        [sys.executable, "-m", "oneroster_client.cli", "sync", "--apply", "--history", history],
        env={**os.environ, **world.env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if Path(history).exists() and SyncHistory(history).lock_holder(DOMAIN) is not None:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the sync never took its lock")
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    holder = SyncHistory(history).lock_holder(DOMAIN)
    assert holder is not None and holder.pid == process.pid  # the kill left it behind

    world.sis.faults = Faults()
    ran = world.run("sync", "--apply", "--history", history, "--format", "json")
    assert ran.code == EXIT_OK, ran.text
    warnings = SyncReport.from_json(ran.out).warnings
    assert any("was taken over" in w and str(process.pid) in w for w in warnings), warnings
    assert SyncHistory(history).lock_holder(DOMAIN) is None


def _lock(history: str, *, host: str, pid: int, key: str = DOMAIN) -> None:
    store = SyncHistory(history)
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with store._write() as db:
        db.execute(
            "INSERT INTO locks VALUES (?, ?, ?, ?, ?, ?)",
            (key, f"{host}:{pid}", host, pid, since, "token"),
        )


def test_a_lock_of_another_host_is_broken_only_with_break_lock(world: World) -> None:
    history = str(world.tmp_path / "h.sqlite")
    _lock(history, host="other-host.example", pid=4242)
    refused = world.run("sync", "--history", history)
    assert refused.code == EXIT_FAILED, refused.text
    assert "other-host.example:4242" in refused.err and "--break-lock" in refused.err
    assert "SyncHistory" not in refused.err and "break_lock" not in refused.err

    assert world.run("sync", "--break-lock").code == EXIT_USAGE  # no --history to break
    broken = world.run("sync", "--history", history, "--break-lock")
    assert broken.code == EXIT_OK, broken.text
    assert "broke the lock" in broken.err and "other-host.example:4242" in broken.err
    assert SyncHistory(history).lock_holder(DOMAIN) is None

    _lock(history, host="other-host.example", pid=4242, key=f"{DOMAIN}#passback")
    assert world.run("passback", "--history", history).code == EXIT_FAILED
    assert world.run("passback", "--history", history, "--break-lock").code == EXIT_OK


def test_break_lock_keeps_the_lock_of_a_run_still_running_here(world: World) -> None:
    history = str(world.tmp_path / "h.sqlite")
    _lock(history, host=socket.gethostname(), pid=os.getppid())  # a live process
    ran = world.run("sync", "--history", history, "--break-lock")
    assert ran.code == EXIT_FAILED, ran.text
    assert "still runs on this host" in ran.err
    assert SyncHistory(history).lock_holder(DOMAIN) is not None


def test_break_lock_is_in_the_help() -> None:
    from .test_cli import cli

    for command in ("sync", "passback"):
        assert "--break-lock" in cli(command, "--help").out


# --- Buzz-side problems, said plainly --------------------------------------------------


def test_a_wrong_domain_names_the_setting(world: World) -> None:
    for command in ("sync", "passback"):
        ran = world.run(command, "--domain", "999")
        assert ran.code == EXIT_FAILED, ran.text
        assert "the district's Buzz domain 999 was not found" in ran.err
        assert "--domain" in ran.err and "ONEROSTER_BUZZ_DOMAIN" in ran.err
        assert "parent_domain_id in [buzz]" in ran.err


def test_an_unreachable_buzz_is_named_at_once(world: World) -> None:
    url = _closed_port_url()
    started = time.monotonic()
    ran = world.run("sync", ONEROSTER_BUZZ_URL=url, ONEROSTER_BUZZ_TOKEN_URL=f"{url}/token")
    assert time.monotonic() - started < 5, "a refused connection is not retried for long"
    assert ran.code == EXIT_FAILED, ran.text
    assert f"the Buzz server could not be reached at {url}" in ran.err
    assert "--buzz-url" in ran.err and "ONEROSTER_BUZZ_URL" in ran.err


def test_a_wrong_plan_id_says_it_did_not_match(world: World) -> None:
    history = str(world.tmp_path / "h.sqlite")
    assert world.run("sync", "--apply", "--history", history).code == EXIT_OK
    district = world.sis.district
    students = [e for e in district["enrollments"] if e["role"] == "student"]
    for enrollment in students[::2]:
        district["enrollments"].remove(enrollment)
    world.restart_sis(district)
    ran = world.run("sync", "--approve", "deadbeef", "--full", "--history", history)
    assert ran.code == EXIT_HELD, ran.text
    plan_id = json.loads(world.run("sync", "--full", "--history", history, "--format", "json").out)[
        "plan_id"
    ]
    assert f"--approve deadbeef does not match the plan of this run ({plan_id})" in ran.err
    assert "plan id given to approve (deadbeef) does not match" in ran.out


def test_the_loopback_buzz_server_fixture_is_still_reachable(world: World) -> None:
    # The refused-connection rule is about first contact only: a reachable Buzz syncs.
    assert isinstance(world.lms, BuzzServer)
    assert world.run("sync").code == EXIT_OK
