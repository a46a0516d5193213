"""Celery tasks that roster many districts into one Buzz: one task per district.

Start a worker with the scheduler (beat) in it::

    export MANY_DISTRICTS_CONFIG=/etc/buzz-sync/districts.toml
    celery -A many_districts.tasks worker --beat --pool=threads --concurrency=4

Environment:
    MANY_DISTRICTS_CONFIG: the districts file (see ``districts.toml``).
    MANY_DISTRICTS_STATE: a folder for the run history and, unless ``CELERY_BROKER_URL``
        is set, for the filesystem broker's messages and the task results.
    CELERY_BROKER_URL, CELERY_RESULT_BACKEND: a broker and result store such as Redis
        or RabbitMQ, instead of the folder.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import tomllib
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import worker_init

from oneroster_client import OAuth2ClientCredentials, OneRosterClient
from oneroster_client.buzz import (
    COUNT_WORDS,
    BuzzClient,
    BuzzJWTAuth,
    RosterSettings,
    SyncHistory,
    SyncInProgressError,
    SyncReport,
    SyncTooSoonError,
    sync,
)
from oneroster_client.errors import ConfigurationError

CONFIG = Path(os.environ.get("MANY_DISTRICTS_CONFIG", "/etc/buzz-sync/districts.toml"))
STATE = Path(os.environ.get("MANY_DISTRICTS_STATE", "/var/lib/buzz-sync"))

logger = logging.getLogger(__name__)


def celery_settings(state: Path) -> dict[str, Any]:
    """The broker and result store: the environment's, else folders under ``state``."""
    if os.environ.get("CELERY_BROKER_URL"):
        return {
            "broker_url": os.environ["CELERY_BROKER_URL"],
            "result_backend": os.environ.get("CELERY_RESULT_BACKEND"),
        }
    # No server at all: messages and results are files, for workers on this one host.
    folders = {name: state / name for name in ("queue", "control", "results")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(folders["queue"]),
            "data_folder_out": str(folders["queue"]),
            "control_folder": str(folders["control"]),
            "polling_interval": 0.2,
        },
        "result_backend": f"file://{folders['results']}",
    }


app = Celery("many_districts")
app.conf.update(
    celery_settings(STATE),
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # A sync runs for minutes: take one at a time, and acknowledge it when it is done.
    worker_prefetch_multiplier=1,
    task_acks_late=True,
    task_track_started=True,
)


def load_config(path: Path = CONFIG) -> dict[str, Any]:
    """Read the districts file.

    Raises:
        ConfigurationError: the file cannot be read or has no district.
    """
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"cannot read the districts file {path}: {error}") from None
    if not isinstance(data.get("districts"), dict) or not data["districts"]:
        raise ConfigurationError(f"{path}: no [districts.<key>] table")
    return data


def required(table: dict[str, Any], name: str, where: str) -> Any:
    """``table[name]``, or a ConfigurationError naming the missing key."""
    if name not in table:
        raise ConfigurationError(f"districts file: {where} has no {name!r}")
    return table[name]


def secret(table: dict[str, Any], name: str, where: str) -> str:
    """The secret in the environment variable that ``table[name]`` names."""
    variable = str(required(table, name, where))
    value = os.environ.get(variable)
    if not value:
        raise ConfigurationError(f"districts file: {where}: the variable {variable} is not set")
    return value


def district_settings(key: str, district: dict[str, Any]) -> RosterSettings:
    """The district's RosterSettings; its key names the history's lock and runs."""
    table = required(district, "settings", f"[districts.{key}]")
    settings = RosterSettings.from_dict({"district_key": key, **table})
    if settings.key != key:
        raise ConfigurationError(f"[districts.{key}.settings]: district_key must be {key!r}")
    return settings


def oneroster_client(key: str, table: dict[str, Any]) -> OneRosterClient:
    """The district's OneRoster client (OAuth 2 client credentials)."""
    where = f"[districts.{key}.oneroster]"
    auth = OAuth2ClientCredentials(
        required(table, "token_url", where),
        required(table, "client_id", where),
        secret(table, "client_secret_env", where),
        scopes=table.get("scopes", ()),
    )
    return OneRosterClient(required(table, "base_url", where), auth=auth)


def buzz_client(table: dict[str, Any]) -> BuzzClient:
    """The Buzz client every district shares."""
    key_file = Path(required(table, "private_key_file", "[buzz]"))
    auth = BuzzJWTAuth(
        required(table, "token_url", "[buzz]"),
        required(table, "user_id", "[buzz]"),
        key_file.read_text(encoding="utf-8"),
        table.get("key_id"),
    )
    return BuzzClient(
        required(table, "base_url", "[buzz]"),
        auth=auth,
        user_agent=required(table, "user_agent", "[buzz]"),
    )


HISTORY = Path(os.environ.get("MANY_DISTRICTS_HISTORY", STATE / "history.sqlite"))
_opening = threading.Lock()


@worker_init.connect
def create_history(**kwargs: Any) -> None:
    """Create the history file once, when the worker starts, before any task opens it."""
    # Two connections creating a new SQLite file at the same moment can collide; opening
    # an existing one is safe. Closed again: forked pool processes open their own.
    with SyncHistory(HISTORY):
        pass


@functools.cache
def _open_history() -> SyncHistory:
    return SyncHistory(HISTORY)


def history() -> SyncHistory:
    """The run history every worker on this host shares: its lock keeps runs apart."""
    # Opened on first use, so each worker process has its own connection (safe to share
    # between its threads); opened once, even when two threads start at the same time.
    with _opening:
        return _open_history()


def summary(report: SyncReport) -> dict[str, Any]:
    """What the task returns: small, JSON-ready, no personal data."""
    return {
        "district": report.district,
        "status": report.status,
        "mode": report.mode,
        "run_id": report.run_id,
        "totals": {word: report.total(word) for word in COUNT_WORDS},
        "error": report.error,
    }


def describe(result: dict[str, Any]) -> str:
    """One line for a task's result."""
    if result["status"] == "too-soon":
        return f"{result['district']}: too soon, next allowed {result['next_allowed']}"
    numbers = ", ".join(f"{word} {n}" for word, n in result["totals"].items() if n)
    line = f"{result['district']}: {result['status']} ({result['mode']}) {numbers or 'no changes'}"
    return line + (f"; {result['error']}" if result["error"] else "")


@app.task(bind=True, name="many_districts.sync_district")
def sync_district(self: Task[Any, Any], key: str, full: bool | None = None) -> dict[str, Any]:
    """Roster one district; retried later while another run holds its lock.

    Args:
        key: the district's key in the districts file.
        full: ``True`` forces a full reconciliation; ``None`` (the schedule's choice)
            reads incrementally with a full run every ``full_every_runs`` runs.
    """
    data = load_config()
    district = required(data["districts"], key, "[districts]")
    settings = district_settings(key, district)
    schedule = data.get("schedule", {})
    buzz = buzz_client(required(data, "buzz", "the file"))
    try:
        with oneroster_client(key, required(district, "oneroster", f"[districts.{key}]")) as sis:
            report = sync(
                sis,
                buzz,
                settings,
                validate_only=district.get("validate_only", True),
                full=full,
                history=history(),
            )
    except SyncInProgressError as error:
        # Another worker, or an admin's manual run, is rostering this district.
        logger.info("district %s is busy (since %s): trying again later", key, error.since)
        raise self.retry(
            exc=error,
            countdown=schedule.get("lock_retry_seconds", 600),
            max_retries=schedule.get("lock_retries", 6),
        ) from None
    except SyncTooSoonError as error:
        # A forced full run within min_interval, and the settings say refuse.
        allowed = f"{error.next_allowed:%Y-%m-%d %H:%M} UTC"
        return {"district": key, "status": "too-soon", "next_allowed": allowed}
    logger.info("district %s: %s", key, report.status)
    return summary(report)


@app.on_after_configure.connect
def schedule_districts(sender: Celery, **kwargs: Any) -> None:
    """One beat entry per district, at the hours of [schedule], spread over the hour."""
    data = load_config()
    hours = data.get("schedule", {}).get("hours", "6,18")
    for index, key in enumerate(sorted(data["districts"])):
        # Agilix asks for background jobs between 10 and 20 or 40 and 50 past the hour.
        minute = (10, 40)[index % 2] + (index // 2) % 10
        sender.add_periodic_task(
            crontab(minute=minute, hour=hours), sync_district.s(key), name=f"buzz-sync {key}"
        )
