"""The many-districts Celery example, run by a real worker process against loopback servers.

Two OneRoster servers and one Buzz server run in this process on 127.0.0.1; a Celery
worker runs as a subprocess with the filesystem broker in a temporary folder. The files
`docs/many-districts.md` shows are the ones run here, and the output it shows is checked.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from oneroster_client.buzz import SyncHistory
from oneroster_client.buzz.testing import BuzzServer
from oneroster_client.testing import OneRosterServer, generate_district

needs_celery = pytest.mark.skipif(
    importlib.util.find_spec("celery") is None,
    reason="celery is not installed (install the celery or dev extra to run the example)",
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
EXAMPLE = EXAMPLES / "many_districts"
PAGE = ROOT / "docs" / "many-districts.md"
# The districts of the example: key, Buzz domain id, seed of the generated district.
DISTRICTS = [("north", "100", 1), ("south", "200", 2)]
WAIT = 60.0


def _blocks(language: str) -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.DOTALL | re.MULTILINE)


def _shown_file(name: str) -> str:
    """The code block of the page that starts with ``# <name>``, without that line."""
    for block in _blocks(r"(?:py|toml)"):
        first, _, rest = block.partition("\n")
        if first.strip() == f"# {name}":
            return rest
    raise AssertionError(f"docs/many-districts.md shows no block starting with '# {name}'")


@pytest.mark.parametrize("name", ["tasks.py", "enqueue.py", "districts.toml"])
def test_the_page_shows_the_files_that_run(name: str) -> None:
    assert _shown_file(name) == (EXAMPLE / name).read_text(encoding="utf-8"), (
        f"docs/many-districts.md shows a different {name} than docs/examples/many_districts/"
    )


@contextlib.contextmanager
def _servers() -> Iterator[tuple[dict[str, OneRosterServer], BuzzServer]]:
    sis = {
        key: OneRosterServer(generate_district(students=20, seed=seed, with_gradebook=False))
        for key, _, seed in DISTRICTS
    }
    domains = [
        {"id": domain, "name": key.title(), "userspace": key, "parentid": "1"}
        for key, domain, _ in DISTRICTS
    ]
    lms = BuzzServer(seed={"domains": domains})
    try:
        for server in sis.values():
            server.start()
        lms.start()
        yield sis, lms
    finally:
        for server in [*sis.values(), lms]:
            with contextlib.suppress(OSError):
                server.stop()


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"districts.toml should hold {old!r} once"
    return text.replace(old, new)


def _write_config(folder: Path, sis: dict[str, OneRosterServer], lms: BuzzServer) -> Path:
    """districts.toml as shown, with the loopback servers' addresses and a short retry."""
    text = (EXAMPLE / "districts.toml").read_text(encoding="utf-8")
    token_url, user_id, private_key, key_id = lms.jwt_credentials()
    key_file = folder / "buzz-key.pem"
    key_file.write_text(private_key, encoding="utf-8")
    for old, new in [
        ("https://backgroundapi.agilixbuzz.com", lms.base_url),
        ("https://api.agilixbuzz.com/api/oauth/token", token_url),
        ('user_id = "12345"', f'user_id = "{user_id}"'),
        ('key_id = "sync-1"', f'key_id = "{key_id}"'),
        ("/etc/buzz-sync/buzz-key.pem", key_file.as_posix()),
        ("lock_retry_seconds = 600", "lock_retry_seconds = 1"),
    ]:
        text = _replace_once(text, old, new)
    for key, server in sis.items():
        text = _replace_once(
            text, f"https://{key}.sis.example.org/ims/oneroster/v1p1", server.base_url
        )
        text = _replace_once(text, f"https://{key}.sis.example.org/oauth/token", server.token_url)
        text = text.replace('client_id = "buzz-sync"', f'client_id = "{server.client_id}"', 1)
    config = folder / "districts.toml"
    config.write_text(text, encoding="utf-8")
    return config


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The servers, the districts file and the environment (here and for subprocesses)."""
    with _servers() as (sis, lms):
        config = _write_config(tmp_path, sis, lms)
        settings = {
            "MANY_DISTRICTS_CONFIG": str(config),
            "MANY_DISTRICTS_STATE": str(tmp_path / "state"),
            "NORTH_ONEROSTER_SECRET": sis["north"].client_secret,
            "SOUTH_ONEROSTER_SECRET": sis["south"].client_secret,
        }
        for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "MANY_DISTRICTS_HISTORY"):
            monkeypatch.delenv(name, raising=False)
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(EXAMPLES), str(ROOT)]))
        yield {"env": env, "state": tmp_path / "state", "sis": sis, "lms": lms, "tmp": tmp_path}


@pytest.fixture
def example(configured: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A Celery worker running the example's tasks, as the page starts it."""
    tmp_path = configured["tmp"]
    command = [
        *("celery", "-A", "many_districts.tasks", "worker"),
        *("--pool=threads", "--concurrency=2", "--loglevel=INFO"),
        *("--without-heartbeat", "--without-gossip", "--without-mingle"),
    ]
    assert " ".join(command[:4]) in PAGE.read_text(encoding="utf-8")
    log = (tmp_path / "worker.log").open("w", encoding="utf-8")
    worker = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=tmp_path,
        env=configured["env"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield configured
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck worker
            worker.kill()
            worker.wait()
        log.close()


@contextlib.contextmanager
def _tasks_module() -> Iterator[ModuleType]:
    """The example's tasks module imported here (as a producer), with the test's environment."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        yield importlib.import_module("many_districts.tasks")
    finally:
        sys.path.remove(str(EXAMPLES))
        for name in [name for name in sys.modules if name.startswith("many_districts")]:
            del sys.modules[name]


def _shown_output(command: str) -> list[str]:
    """The lines the page shows under "`<command>` prints:"."""
    text = PAGE.read_text(encoding="utf-8")
    pattern = rf"`{re.escape(command)}` prints:\n\n```text\n(.*?)^```"
    match = re.search(pattern, text, re.DOTALL | re.MULTILINE)
    assert match, f"docs/many-districts.md should show what {command} prints"
    return match.group(1).splitlines()


def _enqueue(example: dict[str, Any], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "many_districts.enqueue", *arguments],
        cwd=example["tmp"],
        env=example["env"],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )


def _worker_log(example: dict[str, Any]) -> str:
    return Path(example["tmp"], "worker.log").read_text(encoding="utf-8")


@needs_celery
def test_a_worker_rosters_each_district_and_defers_a_busy_one(example: dict[str, Any]) -> None:
    # One task per district, through the command the page shows.
    enqueued = _enqueue(example)
    assert enqueued.returncode == 0, enqueued.stderr + enqueued.stdout + _worker_log(example)
    assert enqueued.stdout.splitlines() == _shown_output("python -m many_districts.enqueue")

    lms: BuzzServer = example["lms"]
    history = SyncHistory(example["state"] / "history.sqlite")
    for key, domain, _ in DISTRICTS:
        (run,) = history.runs(key)
        assert (run.status, run.mode) == ("ok", "full")
        report = run.report()
        assert report.total("created") > 0 and report.total("failed") == 0
        # Each district's schools landed under its own domain in the one Buzz.
        assert any(d.get("parentid") == domain for d in lms.domains())

    # Another run holds north's lock (as a second worker would): the task is deferred,
    # not run alongside it, and runs once the lock is free.
    with _tasks_module() as tasks:
        served_before = len(lms.requests)
        with history.lock("north", owner="another-worker"):
            result = tasks.sync_district.delay("north")
            deadline = time.monotonic() + WAIT
            while result.state != "RETRY":
                assert time.monotonic() < deadline, "the task was not deferred\n" + _worker_log(
                    example
                )
                assert result.state not in ("SUCCESS", "FAILURE"), result.state
                time.sleep(0.1)
            assert "is busy" in _worker_log(example)
            assert len(history.runs("north")) == 1, "no run may start while the lock is held"
            assert len(lms.requests) == served_before, "nothing is sent to Buzz meanwhile"
        outcome = result.get(timeout=WAIT)
    assert outcome["status"] == "ok" and outcome["mode"] == "incremental"
    assert outcome["totals"]["created"] == 0
    assert [run.mode for run in history.runs("north")] == ["incremental", "full"]
    assert len(lms.requests) > served_before

    # A forced full run: north (too_soon "warn") runs it, south ("refuse") does not.
    forced = _enqueue(example, "--full", "north", "south")
    assert forced.returncode == 1, "a refused district is not a success"
    last_full = history.last_success("south", mode="full")
    assert last_full is not None
    allowed = last_full.started + timedelta(hours=12)
    shown = _shown_output("python -m many_districts.enqueue --full north south")
    # The page shows the time of its own run; here it is the time of this one.
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    expected = [stamp.sub(f"{allowed:%Y-%m-%d %H:%M} UTC", line) for line in shown]
    assert forced.stdout.splitlines() == expected
    assert [run.mode for run in history.runs("south")] == ["full"], "south did not run again"
    (north_full, *_) = history.runs("north")
    assert north_full.mode == "full"
    assert any("min_interval" in warning for warning in north_full.report().warnings)


@needs_celery
def test_the_beat_schedule_runs_each_district_twice_a_day(configured: dict[str, Any]) -> None:
    with _tasks_module() as tasks:
        schedule = tasks.app.conf.beat_schedule
    assert sorted(schedule) == [f"buzz-sync {key}" for key, _, _ in DISTRICTS]
    minutes = set()
    for key, _, _ in DISTRICTS:
        entry = schedule[f"buzz-sync {key}"]
        assert entry["task"] == "many_districts.sync_district"
        assert tuple(entry["args"]) == (key,)
        crontab = entry["schedule"]
        assert crontab.hour == {6, 18}, "12 hours apart"
        (minute,) = crontab.minute
        assert 10 <= minute < 20 or 40 <= minute < 50
        minutes.add(minute)
    assert len(minutes) == len(DISTRICTS), "districts start at different minutes"


@needs_celery
def test_the_pages_lock_breaking_block_frees_a_dead_runs_lock(configured: dict[str, Any]) -> None:
    # A worker killed in the middle of a run leaves the district's lock behind.
    path = configured["state"] / "history.sqlite"
    configured["state"].mkdir(parents=True, exist_ok=True)
    dead = (
        "import os, sys\n"
        "from oneroster_client.buzz import SyncHistory\n"
        "with SyncHistory(sys.argv[1]).lock('north'):\n"
        "    os._exit(9)\n"
    )
    killed = subprocess.run([sys.executable, "-c", dead, str(path)], env=configured["env"])
    assert killed.returncode == 9
    history = SyncHistory(path)
    assert history.lock_holder("north") is not None
    blocks = [block for block in _blocks("py") if not block.startswith("# ")]
    assert len(blocks) == 1 and "break_lock" in blocks[0]
    with _tasks_module():
        exec(compile(blocks[0], "many-districts.md", "exec"), {"__name__": "docs_block"})
    assert history.lock_holder("north") is None
