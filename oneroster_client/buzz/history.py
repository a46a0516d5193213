"""The run history of a district: past reports, the sourcedId-to-Buzz-id map, and a run lock.

:class:`SyncHistory` keeps everything in one SQLite file the caller names (``":memory:"``
for tests). It is safe to share between threads (one connection, serialised) and between
processes (SQLite's own locking, with a busy timeout, and ``BEGIN IMMEDIATE`` for every
write), so a cron job and an admin's manual run on the same machine cannot overlap:

* :meth:`SyncHistory.lock` takes a per-district lock row atomically; a second run gets
  :class:`SyncInProgressError` naming the district and since when. A lock whose owner is
  a process of this host that no longer runs is taken over (with a warning); any other
  lock left by a run that died is broken only explicitly, with
  :meth:`SyncHistory.break_lock`.
* :meth:`SyncHistory.id_map` is a mapping ``(entity, reference) -> Buzz id`` written
  through on every assignment, so an interrupted apply keeps what it created.
* :meth:`SyncHistory.record` stores a :class:`~oneroster_client.buzz.report.RunReport`;
  :meth:`SyncHistory.last_success` gives the last successful run per district and kind
  (the start of incremental reads and the reference of the cadence guard).
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from oneroster_client.buzz.errors import BuzzError
from oneroster_client.buzz.report import RunReport
from oneroster_client.errors import ConfigurationError, OneRosterError

logger = logging.getLogger("oneroster_client.buzz")

__all__ = [
    "LockInfo",
    "RunRecord",
    "SyncHistory",
    "SyncHistoryError",
    "SyncInProgressError",
    "process_running",
    "recorded_run",
    "took_over_note",
]

_SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, district TEXT NOT NULL, kind TEXT NOT NULL, mode TEXT NOT NULL,
    status TEXT NOT NULL, started TEXT NOT NULL, finished TEXT, report TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_district ON runs (district, kind, started);
CREATE TABLE IF NOT EXISTS id_map (
    district TEXT NOT NULL, entity TEXT NOT NULL, reference TEXT NOT NULL,
    buzz_id TEXT NOT NULL, PRIMARY KEY (district, entity, reference));
CREATE TABLE IF NOT EXISTS observers (
    district TEXT NOT NULL, reference TEXT NOT NULL, PRIMARY KEY (district, reference));
CREATE TABLE IF NOT EXISTS locks (
    district TEXT PRIMARY KEY, owner TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
    since TEXT NOT NULL, token TEXT NOT NULL);
"""

# How a report with a non-empty ``incomplete_reasons`` list starts that list in the JSON
# the history stores (``json.dumps`` with its default separators): a quote inside a
# string value is escaped, so no text inside a value can match it.
_INCOMPLETE_MARK = '"incomplete_reasons": ["'


class SyncInProgressError(BuzzError):
    """Another run holds the district's lock.

    Attributes:
        district: the district key.
        since: when the other run took the lock (UTC).
        owner: who holds it (``host:pid`` unless the run named itself).
    """

    def __init__(
        self, district: str, since: datetime, owner: str, *, running_here: bool = False
    ) -> None:
        advice = (
            "that process is still running on this host: let it finish or stop it first"
            if running_here
            else "if that run died, break its lock with SyncHistory.break_lock"
        )
        super().__init__(
            f"a run on district {district!r} is already in progress since "
            f"{since:%Y-%m-%d %H:%M:%S} UTC (owner {owner}); {advice}"
        )
        self.district = district
        self.since = since
        self.owner = owner
        self.running_here = running_here


class SyncHistoryError(BuzzError):
    """The history database could not be read or written (locked too long, disk full ...)."""


@attrs.frozen(kw_only=True)
class LockInfo:
    """Who holds a district's lock, and since when.

    Attributes:
        district: the district key.
        owner: a label for the holder (``host:pid`` by default).
        host: the host name of the holder.
        pid: the process id of the holder.
        since: when the lock was taken (UTC).
        took_over: for a lock just taken, the lock of a dead run it replaced, if any.
    """

    district: str
    owner: str
    host: str
    pid: int
    since: datetime
    took_over: LockInfo | None = None

    def describe(self) -> str:
        """``owner, since <time> UTC`` for messages and reports."""
        return f"{self.owner}, since {self.since:%Y-%m-%d %H:%M:%S} UTC"


# A process that started this long after a lock was taken cannot be the lock's owner
# (its pid was reused). Generous, so that clock steps never make a live owner look dead.
_PID_REUSE_MARGIN = timedelta(minutes=1)


def process_running(host: str, pid: int, since: datetime) -> bool | None:
    """Whether the owner of a lock (``host``, ``pid``, taken at ``since``) still runs.

    Returns:
        ``False`` only when that is certain: the host is this one, the system is POSIX,
        and no process has that pid (or it is a zombie, or it started after the lock was
        taken, so the pid was reused). ``True`` when it runs. ``None`` when it cannot be
        told (another host, or a system where it cannot be checked).
    """
    if host != socket.gethostname() or os.name != "posix" or pid <= 0:
        return None
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by another user
    except OSError:
        return None
    state, started = _proc_stat(pid)
    reused = started is not None and started > _utc(since) + _PID_REUSE_MARGIN
    return state != "Z" and not reused  # a zombie has exited, only not been reaped


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _proc_stat(pid: int) -> tuple[str | None, datetime | None]:
    """The state letter and start time of a process, from Linux's ``/proc`` when present."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text(encoding="ascii").splitlines()
            if line.startswith("btime ")
        )
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": name may hold spaces
        ticks = int(fields[19])  # starttime, field 22 of proc(5)
        started = datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)
    except (OSError, ValueError, IndexError, StopIteration):
        return None, None
    return fields[0], started


@attrs.frozen(kw_only=True)
class RunRecord:
    """One stored run.

    Attributes:
        run_id: the report's run id.
        district: the district key.
        kind: ``"sync"`` or ``"passback"``.
        mode: ``"validate-only"``, ``"full"`` or ``"incremental"``.
        status: the report's status when recorded (``"ok"``, ``"partial"`` ...).
        started: when the run started (UTC).
        finished: when it finished, if it did.
        report_json: the full report as JSON.
    """

    run_id: str
    district: str
    kind: str
    mode: str
    status: str
    started: datetime
    finished: datetime | None
    report_json: str = attrs.field(repr=False)

    def report(self) -> RunReport:
        """The stored report (a :class:`~oneroster_client.buzz.report.SyncReport` for syncs)."""
        return RunReport.from_json(self.report_json)


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(value: datetime) -> str:
    # One fixed format, always UTC, so stored times sort as text.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _check_key(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} must be a non-empty string, got {type(value).__name__}")
    return value


class SyncHistory:
    """Run history, id map and run lock of one or more districts, in SQLite.

    Args:
        path: the database file (created when missing), or ``":memory:"``.
        timeout: seconds to wait for another process's write to finish.
        stale_after: the age from which :meth:`break_lock` breaks a lock by default.
        take_over_dead: take over, with a warning, a lock whose owner is a process of
            this host that no longer runs (see :func:`process_running`). Turn it off when
            processes that share the history file share a host name but not their process
            ids (containers with one host name).

    Raises:
        ConfigurationError: the file cannot be opened or is not a history database.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 30.0,
        stale_after: timedelta = timedelta(hours=6),
        take_over_dead: bool = True,
    ) -> None:
        self.path = os.fspath(path)
        self.stale_after = stale_after
        self.take_over_dead = take_over_dead
        self._timeout = timeout
        self._mutex = threading.RLock()
        try:
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._setup()
        except sqlite3.Error as error:
            raise ConfigurationError(
                f"cannot open the sync history {Path(self.path).name!r}: {error}"
            ) from None

    def __repr__(self) -> str:
        return f"SyncHistory({self.path!r})"

    def _setup(self) -> None:
        if self.path != ":memory:":
            # WAL: readers never block the run; NORMAL: a commit survives a killed
            # process (not a power cut) without an fsync per id-map write.
            self._set_wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._create_schema()

    def _set_wal(self) -> None:
        # Switching a new file to WAL takes an exclusive lock and SQLite's busy timeout
        # does not wait for it: workers opening a new history together would fail at once.
        # Wait for the switch like any other write, up to the timeout.
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _create_schema(self) -> None:
        with self._write() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (_SCHEMA_VERSION,))
            elif row[0] != _SCHEMA_VERSION:
                raise ConfigurationError(
                    f"sync history schema {row[0]!r} is not supported (expected "
                    f"{_SCHEMA_VERSION!r})"
                )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` takes SQLite's write lock up front."""
        with self._mutex:
            self._execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._execute("COMMIT")

    def _execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, parameters)
        except sqlite3.Error as error:
            raise SyncHistoryError(
                f"sync history {Path(self.path).name!r}: {error} (another process may "
                "hold it longer than the timeout)"
            ) from None

    def _read(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._mutex:
            return self._execute(sql, parameters).fetchall()

    # --- lock -------------------------------------------------------------------------

    @contextmanager
    def lock(self, district: str, *, owner: str | None = None) -> Iterator[LockInfo]:
        """Hold the district's run lock for the ``with`` block.

        Args:
            district: the district key.
            owner: a label for the holder; ``host:pid`` by default.

        Yields:
            The lock taken; its ``took_over`` names the lock of a dead run it replaced.

        Raises:
            SyncInProgressError: another run holds the lock (named with its start time).
        """
        info, token = self._acquire(_check_key("district", district), owner)
        try:
            yield info
        finally:
            with self._write() as db:
                db.execute("DELETE FROM locks WHERE district = ? AND token = ?", (district, token))

    def _acquire(self, district: str, owner: str | None) -> tuple[LockInfo, str]:
        host, pid = socket.gethostname(), os.getpid()
        info = LockInfo(
            district=district, owner=owner or f"{host}:{pid}", host=host, pid=pid, since=_now()
        )
        token = uuid.uuid4().hex
        with self._write() as db:
            held = self._holder(db, district)
            if held is not None:
                running = process_running(held.host, held.pid, held.since)
                if running is not False or not self.take_over_dead:
                    raise SyncInProgressError(
                        district, held.since, held.owner, running_here=running is True
                    )
                logger.warning(
                    "district %s: the run that held the lock (%s) no longer runs on this "
                    "host; taking its lock over",
                    district,
                    held.describe(),
                )
                db.execute("DELETE FROM locks WHERE district = ?", (district,))
                info = attrs.evolve(info, took_over=held)
            db.execute(
                "INSERT INTO locks VALUES (?, ?, ?, ?, ?, ?)",
                (district, info.owner, host, pid, _stamp(info.since), token),
            )
        return info, token

    @staticmethod
    def _holder(db: sqlite3.Connection, district: str) -> LockInfo | None:
        row = db.execute(
            "SELECT owner, host, pid, since FROM locks WHERE district = ?", (district,)
        ).fetchone()
        if row is None:
            return None
        since = _parse(row[3]) or _now()
        return LockInfo(district=district, owner=row[0], host=row[1], pid=row[2], since=since)

    def lock_holder(self, district: str) -> LockInfo | None:
        """Who holds the district's lock, or ``None``."""
        with self._mutex:
            return self._holder(self._db, district)

    def break_lock(self, district: str, *, older_than: timedelta | None = None) -> bool:
        """Remove a lock left by a run that died; return whether one was removed.

        Only a lock older than ``older_than`` (default: ``stale_after``) is broken, so a
        lock that a live run took a moment ago is left alone. Pass ``timedelta(0)`` to
        break any lock (only when you know no run is active; :func:`process_running`
        tells whether the owner still runs, when it can).
        """
        age = self.stale_after if older_than is None else older_than
        cutoff = _stamp(_now() - age)
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM locks WHERE district = ? AND since <= ?", (district, cutoff)
            )
            return cursor.rowcount > 0

    # --- id map -----------------------------------------------------------------------

    def id_map(self, district: str) -> MutableMapping[tuple[str, str], str]:
        """The district's ``(entity, reference) -> Buzz id`` map, written through to disk."""
        return _IdMap(self, _check_key("district", district))

    # --- observers --------------------------------------------------------------------

    def observers(self, district: str) -> set[str]:
        """The references of users synced as observers by earlier runs.

        A full run reads these users' rights in Buzz too, so that the rights of an
        observer who left the SIS are found and revoked.
        """
        rows = self._read("SELECT reference FROM observers WHERE district = ?", (district,))
        return {str(row[0]) for row in rows}

    def set_observers(self, district: str, references: Iterable[str], *, replace: bool) -> None:
        """Remember observer references: added to the known ones, or replacing them."""
        rows = [(_check_key("district", district), str(reference)) for reference in references]
        with self._write() as db:
            if replace:
                db.execute("DELETE FROM observers WHERE district = ?", (district,))
            db.executemany("INSERT OR IGNORE INTO observers VALUES (?, ?)", rows)

    # --- runs -------------------------------------------------------------------------

    def record(self, report: RunReport) -> None:
        """Store a run's report (replacing an earlier version of the same run)."""
        _check_key("district", report.district)
        row = (
            report.run_id,
            report.district,
            report.kind,
            report.mode,
            report.status,
            _stamp(report.started),
            None if report.finished is None else _stamp(report.finished),
            report.to_json(indent=None),
        )
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

    def runs(
        self,
        district: str,
        *,
        kind: str | None = None,
        mode: str | None = None,
        status: str | None = None,
        after: datetime | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """The district's runs, newest first.

        Args:
            district: the district key.
            kind: only runs of this kind (``"sync"``, ``"passback"``).
            mode: only runs of this mode (``"full"``, ``"incremental"``, ``"validate-only"``).
            status: only runs recorded with this status (``"ok"``, ``"partial"`` ...).
            after: only runs started after this time.
            limit: at most this many.
        """
        sql = "SELECT * FROM runs WHERE district = ?"
        parameters: list[Any] = [district]
        for column, value in (("kind", kind), ("mode", mode), ("status", status)):
            if value is not None:
                sql += f" AND {column} = ?"
                parameters.append(value)
        if after is not None:
            sql += " AND started > ?"
            parameters.append(_stamp(after))
        sql += " ORDER BY started DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            parameters.append(limit)
        return [_run_record(row) for row in self._read(sql, tuple(parameters))]

    def last_success(
        self, district: str, kind: str = "sync", *, mode: str | None = None
    ) -> RunRecord | None:
        """The newest run that completed with status ``ok`` (optionally of one mode).

        A run with failed records, a run whose OneRoster or Buzz read was incomplete, a
        held run, a validate-only run and a run that stopped are not successes: the next
        incremental read starts before them.
        """
        # Histories written before an incomplete read made a run partial hold such runs
        # as "ok": the stored report's non-empty incomplete_reasons still rules them out.
        sql = (
            "SELECT * FROM runs WHERE district = ? AND kind = ? AND status = 'ok' "
            f"AND report NOT LIKE '%{_INCOMPLETE_MARK}%'"
        )
        parameters: list[Any] = [district, kind]
        if mode is not None:
            sql += " AND mode = ?"
            parameters.append(mode)
        rows = self._read(sql + " ORDER BY started DESC, rowid DESC LIMIT 1", tuple(parameters))
        return _run_record(rows[0]) if rows else None

    def close(self) -> None:
        """Close the database."""
        with self._mutex:
            self._db.close()

    def __enter__(self) -> SyncHistory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _run_record(row: tuple[Any, ...]) -> RunRecord:
    run_id, district, kind, mode, status, started, finished, report = row
    return RunRecord(
        run_id=run_id,
        district=district,
        kind=kind,
        mode=mode,
        status=status,
        started=_parse(started) or _now(),
        finished=_parse(finished),
        report_json=report,
    )


class _IdMap(MutableMapping[tuple[str, str], str]):
    """One district's id map; every assignment is committed before it returns."""

    def __init__(self, history: SyncHistory, district: str) -> None:
        self._history = history
        self._district = district

    def __repr__(self) -> str:
        return f"<id map of {self._district!r}: {len(self):,} ids>"

    @staticmethod
    def _key(key: object) -> tuple[str, str]:
        if (
            not isinstance(key, tuple)
            or len(key) != 2
            or not all(isinstance(part, str) for part in key)
        ):
            raise TypeError(f"id map keys are (entity, reference) string pairs, not {key!r}")
        return key[0], key[1]

    def __getitem__(self, key: tuple[str, str]) -> str:
        entity, reference = self._key(key)
        rows = self._history._read(
            "SELECT buzz_id FROM id_map WHERE district = ? AND entity = ? AND reference = ?",
            (self._district, entity, reference),
        )
        if not rows:
            raise KeyError(key)
        return str(rows[0][0])

    def __setitem__(self, key: tuple[str, str], value: str) -> None:
        entity, reference = self._key(key)
        if not isinstance(value, str) or not value:
            raise TypeError(f"a Buzz id is a non-empty string, not {value!r}")
        with self._history._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO id_map VALUES (?, ?, ?, ?)",
                (self._district, entity, reference, value),
            )

    def __delitem__(self, key: tuple[str, str]) -> None:
        entity, reference = self._key(key)
        with self._history._write() as db:
            cursor = db.execute(
                "DELETE FROM id_map WHERE district = ? AND entity = ? AND reference = ?",
                (self._district, entity, reference),
            )
            if cursor.rowcount == 0:
                raise KeyError(key)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        rows = self._history._read(
            "SELECT entity, reference FROM id_map WHERE district = ? ORDER BY entity, reference",
            (self._district,),
        )
        return iter([(str(entity), str(reference)) for entity, reference in rows])

    def __len__(self) -> int:
        rows = self._history._read(
            "SELECT COUNT(*) FROM id_map WHERE district = ?", (self._district,)
        )
        return int(rows[0][0])

    def __contains__(self, key: object) -> bool:
        try:
            self[self._key(key)]
        except (KeyError, TypeError):
            return False
        return True


def took_over_note(lock: LockInfo) -> list[str]:
    """The report warning for a lock taken over from a dead run (none otherwise)."""
    if lock.took_over is None:
        return []
    return [
        f"the lock of an earlier run ({lock.took_over.describe()}) was taken over: that "
        "process no longer runs on this host, so the run died; this run reads and plans "
        "afresh"
    ]


@contextmanager
def recorded_run(
    report: RunReport, history: SyncHistory | None, *, describe: str
) -> Iterator[None]:
    """Finish ``report`` and record it in ``history`` however the block ends.

    A library error stops the run and is reported, not raised: the report (and the
    history) say what stopped it, and the caller returns the report. A configuration
    error, and anything that is not a library error, is recorded and raised.

    Args:
        report: the run's report.
        history: where runs are recorded, if anywhere.
        describe: what the run is, for the log line (e.g. ``"Buzz sync of dst-1"``).
    """
    error: str | None = None
    try:
        yield
    except ConfigurationError:
        error = "stopped by a configuration error"
        raise
    except OneRosterError as stopped:
        error = f"{type(stopped).__name__}: {stopped}"
    except BaseException as stopped:
        error = f"{type(stopped).__name__}: {stopped}"
        raise
    finally:
        report.error = error
        report.finish()
        if history is not None:
            history.record(report)
        logger.info("%s: %s", describe, report.status)
