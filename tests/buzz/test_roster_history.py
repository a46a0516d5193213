"""SyncHistory: runs, the persisted id map, and the per-district run lock across threads
and processes."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client.buzz.errors import BuzzError
from oneroster_client.buzz.history import (
    SyncHistory,
    SyncHistoryError,
    SyncInProgressError,
    process_running,
)
from oneroster_client.buzz.report import RecordFailure, RunReport, SyncReport
from oneroster_client.errors import ConfigurationError

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def _run(started: datetime, *, mode: str = "full", **changes: object) -> SyncReport:
    report = SyncReport(district="dst-1", mode=mode, started=started, **changes)  # type: ignore[arg-type]
    report.finish(started + timedelta(minutes=3))
    return report


@pytest.fixture
def history() -> SyncHistory:
    return SyncHistory(":memory:")


def test_runs_come_back_newest_first_with_their_reports(history: SyncHistory) -> None:
    first = _run(T0)
    second = _run(T0 + timedelta(hours=12), mode="incremental")
    other = RunReport(district="dst-1", kind="passback", started=T0 + timedelta(hours=1))
    for report in (second, first, other):
        history.record(report)
    runs = history.runs("dst-1", kind="sync")
    assert [run.run_id for run in runs] == [second.run_id, first.run_id]
    assert runs[0].started == second.started
    assert runs[0].report() == second
    assert [run.kind for run in history.runs("dst-1")] == ["sync", "passback", "sync"]
    assert len(history.runs("dst-1", limit=1)) == 1
    assert history.runs("dst-2") == []
    assert [r.run_id for r in history.runs("dst-1", mode="incremental")] == [second.run_id]
    assert [r.run_id for r in history.runs("dst-1", after=T0)] == [second.run_id, other.run_id]
    assert [r.run_id for r in history.runs("dst-1", status="running")] == [other.run_id]


def test_observers_are_remembered_per_district(history: SyncHistory) -> None:
    history.set_observers("dst-1", ["g1", "g2"], replace=False)
    history.set_observers("dst-1", ["g3"], replace=False)
    history.set_observers("dst-2", ["x"], replace=True)
    assert history.observers("dst-1") == {"g1", "g2", "g3"}
    history.set_observers("dst-1", ["g2"], replace=True)
    assert history.observers("dst-1") == {"g2"}
    assert history.observers("dst-2") == {"x"}


def test_recording_a_run_again_replaces_it(history: SyncHistory) -> None:
    report = SyncReport(district="dst-1", started=T0)
    history.record(report)
    assert history.runs("dst-1")[0].status == "running"
    report.finish()
    history.record(report)
    (run,) = history.runs("dst-1")
    assert run.status == "ok"


def test_last_success_skips_runs_that_did_not_fully_succeed(history: SyncHistory) -> None:
    good = _run(T0)
    history.record(good)
    failure = RecordFailure(entity="users", reference="u1", message="no")
    later = [
        _run(T0 + timedelta(hours=1), failures=[failure]),
        _run(T0 + timedelta(hours=2), held=True),
        _run(T0 + timedelta(hours=3), mode="validate-only"),
        _run(T0 + timedelta(hours=4), error="BuzzTransportError: no answer"),
    ]
    for report in later:
        history.record(report)
    last = history.last_success("dst-1")
    assert last is not None and last.run_id == good.run_id
    incremental = _run(T0 + timedelta(hours=5), mode="incremental")
    history.record(incremental)
    assert history.last_success("dst-1").run_id == incremental.run_id  # type: ignore[union-attr]
    assert history.last_success("dst-1", mode="full").run_id == good.run_id  # type: ignore[union-attr]
    assert history.last_success("dst-1", kind="passback") is None


@given(
    st.lists(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40),
        min_size=1,
        max_size=3,
    )
)
@settings(max_examples=40, deadline=None)
def test_a_run_with_an_incomplete_read_is_partial_and_never_a_success(reasons: list[str]) -> None:
    history = SyncHistory(":memory:")
    good = _run(T0)
    history.record(good)
    for mode in ("full", "incremental"):
        incomplete = _run(T0 + timedelta(hours=1), mode=mode, incomplete_reasons=reasons)
        assert incomplete.status == "partial" and not incomplete.ok
        assert "INCOMPLETE" in incomplete.headline()
        history.record(incomplete)
    checked = _run(T0 + timedelta(hours=2), mode="validate-only", incomplete_reasons=reasons)
    assert checked.status == "partial" and "validated only" in checked.headline()
    last = history.last_success("dst-1")
    assert last is not None and last.run_id == good.run_id
    # A warning quoting the marker text does not hide a good run.
    quoting = _run(T0 + timedelta(hours=3), warnings=['"incomplete_reasons": ["x"]', *reasons])
    history.record(quoting)
    assert history.last_success("dst-1").run_id == quoting.run_id  # type: ignore[union-attr]


def test_an_incomplete_run_stored_as_ok_by_an_older_version_is_not_a_success(
    history: SyncHistory,
) -> None:
    good = _run(T0)
    history.record(good)
    legacy = _run(T0 + timedelta(hours=1), incomplete_reasons=["orgs: the read failed"])
    history.record(legacy)
    with history._write() as db:  # as the older version stored it
        db.execute("UPDATE runs SET status = 'ok' WHERE run_id = ?", (legacy.run_id,))
    assert history.runs("dst-1", status="ok")[0].run_id == legacy.run_id
    assert history.last_success("dst-1").run_id == good.run_id  # type: ignore[union-attr]


def test_id_map_is_written_through_and_kept_per_district(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with SyncHistory(path) as history:
        ids = history.id_map("dst-1")
        ids[("users", "usr-1")] = "101"
        ids[("courses", "cls-1")] = "301"
        history.id_map("dst-2")[("users", "usr-1")] = "999"
    # A new process (here: a new connection) sees every write without any save call.
    with SyncHistory(path) as again:
        ids = again.id_map("dst-1")
        assert dict(ids) == {("users", "usr-1"): "101", ("courses", "cls-1"): "301"}
        assert len(ids) == 2 and ("users", "usr-1") in ids and ("users", "x") not in ids
        ids[("users", "usr-1")] = "102"
        del ids[("courses", "cls-1")]
        assert dict(ids) == {("users", "usr-1"): "102"}
        assert dict(again.id_map("dst-2")) == {("users", "usr-1"): "999"}
        with pytest.raises(KeyError):
            ids[("users", "nobody")]
        with pytest.raises(KeyError):
            del ids[("users", "nobody")]


def test_id_map_refuses_malformed_keys_and_values(history: SyncHistory) -> None:
    ids = history.id_map("dst-1")
    with pytest.raises(TypeError, match="entity, reference"):
        ids["usr-1"] = "1"  # type: ignore[index]
    with pytest.raises(TypeError, match="Buzz id"):
        ids[("users", "usr-1")] = 5  # type: ignore[assignment]
    assert ("a", "b", "c") not in ids
    with pytest.raises(ConfigurationError, match="district"):
        history.id_map("")


def test_id_map_writes_from_many_threads_all_land(tmp_path: Path) -> None:
    history = SyncHistory(tmp_path / "h.sqlite")
    ids = history.id_map("dst-1")

    def write(worker: int) -> None:
        for n in range(50):
            ids[("users", f"w{worker}-{n}")] = str(worker * 1000 + n)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 300
    assert ids[("users", "w5-49")] == "5049"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.sampled_from(["users", "courses"]),
            st.text(max_size=6),
            st.text(min_size=1, max_size=6),
        ),
        max_size=30,
    )
)
def test_id_map_behaves_like_a_dict(operations: list[tuple[bool, str, str, str]]) -> None:
    ids = SyncHistory(":memory:").id_map("d")
    model: dict[tuple[str, str], str] = {}
    for is_set, entity, reference, value in operations:
        key = (entity, reference)
        if is_set:
            ids[key] = value
            model[key] = value
        elif key in model:
            del ids[key]
            del model[key]
        else:
            assert key not in ids
    assert dict(ids) == model
    assert len(ids) == len(model)


def test_second_run_on_a_district_is_refused_naming_it(history: SyncHistory) -> None:
    with history.lock("dst-1") as held:
        with pytest.raises(SyncInProgressError) as caught, history.lock("dst-1"):
            pytest.fail("two runs held the same district")
        assert isinstance(caught.value, BuzzError)
        assert caught.value.district == "dst-1"
        assert caught.value.since == held.since
        assert "dst-1" in str(caught.value) and f"{held.since:%H:%M:%S}" in str(caught.value)
        with history.lock("dst-2"):  # another district is independent
            assert history.lock_holder("dst-2") is not None
    assert history.lock_holder("dst-1") is None
    with history.lock("dst-1"):  # free again after the block
        pass


def test_lock_is_released_when_the_run_raises(history: SyncHistory) -> None:
    with pytest.raises(RuntimeError), history.lock("dst-1"):
        raise RuntimeError("boom")
    assert history.lock_holder("dst-1") is None


def test_only_one_of_many_threads_gets_the_lock(tmp_path: Path) -> None:
    history = SyncHistory(tmp_path / "h.sqlite")
    start, done = threading.Barrier(8), threading.Event()
    winners: list[int] = []
    refused: list[int] = []

    def attempt(worker: int) -> None:
        start.wait()
        try:
            with history.lock("dst-1"):
                winners.append(worker)
                done.wait(5)
        except SyncInProgressError:
            refused.append(worker)

    threads = [threading.Thread(target=attempt, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while len(refused) < 7 and time.monotonic() < deadline:
        time.sleep(0.01)
    done.set()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(refused) == 7


_HOLDER = """
import sys
from oneroster_client.buzz.history import SyncHistory
history = SyncHistory(sys.argv[1])
context = history.lock("dst-1", owner="cron job")
context.__enter__()
print("locked", flush=True)
if sys.argv[2] == "die":
    import os
    os._exit(0)          # killed: the lock row stays behind
sys.stdin.readline()
context.__exit__(None, None, None)
print("released", flush=True)
"""


def _holder(path: Path, how: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_run_in_another_process_holds_the_district(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    process = _holder(path, "wait")
    try:
        history = SyncHistory(path)
        with pytest.raises(SyncInProgressError, match="cron job"), history.lock("dst-1"):
            pytest.fail("overlapping runs across processes")
    finally:
        out, _ = process.communicate("\n", timeout=10)
    assert "released" in out
    with history.lock("dst-1"):
        pass


def test_a_dead_runs_lock_is_broken_only_explicitly_when_takeover_is_off(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    _holder(path, "die").wait(timeout=10)
    history = SyncHistory(path, stale_after=timedelta(hours=1), take_over_dead=False)
    with pytest.raises(SyncInProgressError), history.lock("dst-1"):
        pass
    assert history.break_lock("dst-1") is False  # younger than stale_after: left alone
    assert history.break_lock("dst-1", older_than=timedelta(0)) is True
    with history.lock("dst-1"):
        pass


@pytest.mark.skipif(os.name != "posix", reason="process ids are checked on POSIX only")
def test_the_lock_of_a_dead_process_on_this_host_is_taken_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "h.sqlite"
    dead = _holder(path, "die")
    dead.wait(timeout=10)  # reaped: the pid no longer names a process
    history = SyncHistory(path)
    with caplog.at_level(logging.WARNING, "oneroster_client.buzz"), history.lock("dst-1") as lock:
        assert lock.took_over is not None
        assert lock.took_over.owner == "cron job" and lock.took_over.pid == dead.pid
        holder = history.lock_holder("dst-1")
        assert holder is not None and holder.pid == os.getpid()
    assert "no longer runs on this host" in caplog.text and "cron job" in caplog.text
    assert history.lock_holder("dst-1") is None


def _foreign_lock(history: SyncHistory, *, host: str, pid: int, since: datetime) -> None:
    with history._write() as db:
        db.execute(
            "INSERT INTO locks VALUES (?, ?, ?, ?, ?, ?)",
            ("dst-1", f"{host}:{pid}", host, pid, since.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "t"),
        )


def test_locks_of_live_processes_and_other_hosts_are_never_taken_over(tmp_path: Path) -> None:
    history = SyncHistory(tmp_path / "h.sqlite")
    here = socket.gethostname()
    # A live process of this host (the test runner's parent), and a pid of another host
    # that is certainly not running here.
    for host, pid in ((here, os.getppid()), (f"not-{here}", 2**22 + 12345)):
        _foreign_lock(history, host=host, pid=pid, since=datetime.now(UTC))
        with pytest.raises(SyncInProgressError) as caught, history.lock("dst-1"):
            pytest.fail("a live or foreign lock was taken over")
        assert caught.value.running_here is (host == here)
        assert ("still running on this host" in str(caught.value)) is (host == here)
        assert history.break_lock("dst-1", older_than=timedelta(0)) is True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_reused_pid_does_not_keep_a_dead_runs_lock(tmp_path: Path) -> None:
    history = SyncHistory(tmp_path / "h.sqlite")
    # The lock names this host and a pid that runs now (the parent), but was taken long
    # before that process started: its owner died and the pid was given out again.
    started = datetime.now(UTC)
    parent = os.getppid()
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    assert process_running(socket.gethostname(), parent, started) is True
    assert process_running(socket.gethostname(), parent, long_ago) is False
    _foreign_lock(history, host=socket.gethostname(), pid=parent, since=long_ago)
    with history.lock("dst-1") as lock:
        assert lock.took_over is not None and lock.took_over.pid == parent


def test_process_running_cannot_tell_for_another_host() -> None:
    assert process_running("elsewhere.example", os.getpid(), datetime.now(UTC)) is None
    assert process_running(socket.gethostname(), os.getpid(), datetime.now(UTC)) in (True, None)


def test_a_broken_lock_holder_does_not_release_the_next_runs_lock(history: SyncHistory) -> None:
    with history.lock("dst-1"):
        history.break_lock("dst-1", older_than=timedelta(0))
        with history.lock("dst-1", owner="second run"):
            pass
        # The first holder leaves its block while a third run holds the lock.
        third = history.lock("dst-1", owner="third run")
        third.__enter__()
    holder = history.lock_holder("dst-1")
    assert holder is not None and holder.owner == "third run"
    third.__exit__(None, None, None)


def test_a_file_that_is_not_a_history_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigurationError, match=r"notes\.txt"):
        SyncHistory(path)


def test_a_history_locked_by_another_writer_times_out_with_a_library_error(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "h.sqlite"
    history = SyncHistory(path, timeout=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(SyncHistoryError, match=r"h\.sqlite"):
            SyncHistory(path, timeout=0.05)
        with pytest.raises(SyncHistoryError, match=r"h\.sqlite"):
            history.record(_run(T0))
    finally:
        blocker.execute("ROLLBACK")


def _open_history(path: str, start: Any, errors: Any) -> None:
    start.wait()
    try:
        SyncHistory(path).close()
    except Exception as error:
        errors.put(f"{type(error).__name__}: {error}")


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork to be fast"
)
def test_workers_opening_a_new_history_file_at_once_all_succeed(tmp_path: Path) -> None:
    # Workers started together open the shared history file together; the first time,
    # none of them finds the file, and each switches it to WAL.
    context = multiprocessing.get_context("fork")
    for attempt in range(20):
        path = str(tmp_path / f"history-{attempt}.sqlite")
        start, errors = context.Barrier(4), context.Queue()
        workers = [
            context.Process(target=_open_history, args=(path, start, errors)) for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
        assert errors.empty(), f"attempt {attempt}: {errors.get()}"
