"""``oneroster sync`` (OneRoster to Buzz rostering) and ``oneroster passback`` (Buzz grades
to the SIS gradebook)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from oneroster_client.cli._advice import for_the_command_line
from oneroster_client.cli._common import (
    EXIT_FAILED,
    EXIT_HELD,
    EXIT_ISSUES,
    EXIT_OK,
    Context,
    UsageProblem,
    report_path,
    sourced_id,
)
from oneroster_client.cli._output import load_tqdm
from oneroster_client.errors import ConfigurationError

__all__ = ["add_parsers", "exit_code", "write_report"]


def exit_code(report: Any) -> int:
    """The exit code a run report stands for (see ``docs/cli.md``)."""
    if report.status in ("failed", "partial"):
        return EXIT_FAILED
    if report.held:
        return EXIT_HELD
    if report.issues or getattr(report, "refusals", None):
        return EXIT_ISSUES
    return EXIT_OK


def write_report(ctx: Context, report: Any, path: str | None) -> None:
    """Write the report as HTML (``.html``), JSON (``.json``) or text (anything else)."""
    if not path:
        return
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".html", ".htm"):
        text = report.to_html()
    elif suffix == ".json":
        text = report.to_json()
    else:
        text = report.to_text()
    target.write_text(text, encoding="utf-8")
    ctx.note(f"Report written to {target}")


def _show(ctx: Context, report: Any) -> None:
    if ctx.args.format == "json":
        ctx.say(report.to_json())
    else:
        # The report's advice is the library's (e.g. approve='plan-…'); JSON stays data.
        ctx.say(for_the_command_line(report.to_text()))
    if report.error is not None:
        # The reason a run stopped belongs on standard error too (scripts keep stdout).
        ctx.note(f"oneroster {ctx.args.command}: {for_the_command_line(report.error)}")


def _history(ctx: Context) -> Any:
    from oneroster_client.buzz import SyncHistory

    if ctx.args.break_lock and not ctx.args.history:
        raise UsageProblem("--break-lock needs --history (the lock lives in the history)")
    return SyncHistory(ctx.args.history) if ctx.args.history else None


def _break_lock(ctx: Context, history: Any, key: str) -> None:
    """Break the lock of ``key`` before the run, unless its owner still runs here."""
    from oneroster_client.buzz import SyncInProgressError
    from oneroster_client.buzz.history import process_running

    holder = history.lock_holder(key)
    if holder is None:
        ctx.note(f"--break-lock: {key} was not locked")
        return
    if process_running(holder.host, holder.pid, holder.since):
        raise SyncInProgressError(key, holder.since, holder.owner, running_here=True)
    history.break_lock(key, older_than=timedelta(0))
    ctx.note(f"--break-lock: broke the lock of {key} ({holder.describe()})")


@contextmanager
def _locked_out(ctx: Context) -> Iterator[list[int]]:
    """Turn "another run holds the lock" into the command's message and exit 1."""
    from oneroster_client.buzz import SyncInProgressError

    code: list[int] = []
    try:
        yield code
    except SyncInProgressError as error:
        advice = (
            "that process still runs on this host: let it finish, or stop it first"
            if error.running_here
            else "if that run died (it ran on another host, or its process could not be "
            "checked), run again with --break-lock"
        )
        ctx.note(
            f"oneroster {ctx.args.command}: a run on district {error.district!r} is already "
            f"in progress since {error.since:%Y-%m-%d %H:%M:%S} UTC (owner {error.owner}); {advice}"
        )
        code.append(EXIT_FAILED)


def _library_table(ctx: Context, table: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """The file's ``[roster]``/``[passback]`` table, with the layered domain and key.

    The domain and district key given by flag or environment override the table's; the
    table's override those of ``[buzz]``.
    """
    settings = ctx.settings
    values = {**defaults, **settings.tables[table]}
    for name in ("parent_domain_id", "district_key"):
        layered = settings[f"buzz.{name}"]
        where = settings.where(f"buzz.{name}")
        given_outside_file = where.startswith(("--", "environment"))
        if layered is not None and (name not in values or given_outside_file):
            values[name] = layered
    if not values.get("parent_domain_id"):
        raise ConfigurationError(
            "missing settings: the district's Buzz domain id (--domain, environment variable "
            f"ONEROSTER_BUZZ_DOMAIN, parent_domain_id in [buzz] or [{table}])"
        )
    return values


class _StepBars:
    """One progress bar per sync step, on a terminal with tqdm installed."""

    def __init__(self, stream: TextIO) -> None:
        self._tqdm = load_tqdm()
        self._stream = stream
        self._step: str | None = None
        self._bar: Any = None

    def __call__(self, step: str, done: int, total: int | None) -> None:
        if step != self._step:
            self.close()
            self._step = step
            self._bar = self._tqdm(
                desc=step, total=total, unit="rec", leave=False, file=self._stream
            )
        if total is not None:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _step_bars(ctx: Context) -> _StepBars | None:
    if not ctx.err.isatty() or load_tqdm() is None:
        return None
    return _StepBars(ctx.err)


def run_sync(ctx: Context) -> int:
    """Roster the district from OneRoster into Buzz (validate-only unless ``--apply``)."""
    from oneroster_client.buzz import RosterSettings, sync

    args = ctx.args
    defaults = {"student_role": "Student", "teacher_role": "Teacher"}
    table = _library_table(ctx, "roster", defaults)
    for name in ("student_role", "teacher_role"):
        if getattr(args, name):
            table[name] = getattr(args, name)
    settings = RosterSettings.from_dict(table)
    approve: bool | str = args.approve if args.approve is not None else False
    apply = args.apply or approve is not False
    bars = _step_bars(ctx)
    with _locked_out(ctx) as locked:
        try:
            buzz = ctx.buzz()
            with ctx.oneroster() as oneroster:
                # Opened once the settings are known good: a configuration error
                # leaves no history file behind.
                history = _history(ctx)
                if args.break_lock:
                    _break_lock(ctx, history, settings.key)
                report = sync(
                    oneroster,
                    buzz,
                    settings,
                    validate_only=not apply,
                    full=True if args.full else None,
                    approve=approve,
                    history=history,
                    progress=bars,
                )
        finally:
            if bars is not None:
                bars.close()
    if locked:
        return locked[0]
    _show(ctx, report)
    write_report(ctx, report, args.report)
    if report.held:
        if isinstance(approve, str) and approve != report.plan_id:
            ctx.note(
                f"--approve {approve} does not match the plan of this run ({report.plan_id}): "
                "plans change when the SIS or Buzz change, so the plan was not approved"
            )
        ctx.note(f"Held: review the plan, then run again with --approve {report.plan_id}")
    return exit_code(report)


def run_passback(ctx: Context) -> int:
    """Send Buzz grades to the SIS gradebook (validate-only unless ``--apply``)."""
    from oneroster_client.buzz.passback import PassbackSettings, pass_back_grades

    args = ctx.args
    profile = "skyward" if ctx.settings["sis.kind"] == "skyward" else "oneroster"
    table = _library_table(ctx, "passback", {"profile": profile})
    if args.profile:
        table["profile"] = args.profile
    try:
        settings = PassbackSettings(**table)
    except TypeError as error:
        raise ConfigurationError(f"[passback]: {error}") from None
    with _locked_out(ctx) as locked:
        buzz = ctx.buzz()
        with ctx.oneroster(passback=True) as oneroster:
            history = _history(ctx)
            if args.break_lock:
                _break_lock(ctx, history, f"{settings.key}#passback")
            report = pass_back_grades(
                buzz,
                oneroster,
                settings,
                classes=args.class_ids or None,
                since=args.since,
                validate_only=not args.apply,
                history=history,
                resend=args.resend,
            )
    if locked:
        return locked[0]
    _show(ctx, report)
    write_report(ctx, report, args.report)
    return exit_code(report)


def _since(text: str) -> datetime:
    """An argparse type: an ISO 8601 date or time, UTC when it names no zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date or time, e.g. 2025-01-31T08:00, got {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _common_options(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--validate-only",
        dest="apply",
        action="store_false",
        default=argparse.SUPPRESS,  # --apply's False is the default
        help="read, map and report what a run would do; write nothing (the default)",
    )
    mode.add_argument("--apply", action="store_true", help="write (the report says what)")
    parser.add_argument(
        "--report",
        metavar="PATH",
        type=report_path,
        help="write the report: .html, .json, or text otherwise (its folder is checked "
        "before the run starts)",
    )
    parser.add_argument(
        "--history",
        metavar="PATH",
        help="the SQLite run history (locking, incremental runs, ids); none if not given",
    )
    parser.add_argument(
        "--break-lock",
        action="store_true",
        help="before the run, break the district's lock in --history left by a run that "
        "died (a lock of a process that still runs on this host is kept; one of a dead "
        "process on this host is taken over without this flag)",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="how the report is printed"
    )


def add_parsers(commands: Any, parents: list[argparse.ArgumentParser], formatter: type) -> None:
    """Add ``sync`` and ``passback``."""
    sync = commands.add_parser(
        "sync",
        parents=parents,
        formatter_class=formatter,
        help="roster Buzz from OneRoster (validate-only unless --apply)",
        description="Roster the district's Buzz domain from its OneRoster SIS: schools, "
        "classes, users, enrollments and observers. Validate-only unless --apply: the "
        "report says what a run would do. A plan that removes more than the settings allow "
        "is held (exit 3) until run again with --approve PLAN_ID. Roster settings come "
        "from the [roster] table of the config file.",
    )
    _common_options(sync)
    sync.add_argument(
        "--approve",
        nargs="?",
        const=True,
        metavar="PLAN_ID",
        help="apply a held plan: this plan id, or any plan without one (implies --apply)",
    )
    sync.add_argument("--full", action="store_true", help="read everything and reconcile")
    sync.add_argument("--student-role", help="Buzz role (id or name) of students")
    sync.add_argument("--teacher-role", help="Buzz role (id or name) of teachers")
    sync.set_defaults(run=run_sync)

    passback = commands.add_parser(
        "passback",
        parents=parents,
        formatter_class=formatter,
        help="send Buzz grades to the SIS gradebook (validate-only unless --apply)",
        description="Send the grades of the district's Buzz class courses to the SIS's "
        "OneRoster gradebook (line items and results, PUT). Validate-only unless --apply. "
        "Passback settings come from the [passback] table of the config file.",
    )
    _common_options(passback)
    passback.add_argument(
        "--class",
        dest="class_ids",
        action="append",
        type=sourced_id,
        metavar="CLASS_ID",
        help="only this OneRoster class (repeat for more)",
    )
    passback.add_argument(
        "--since", type=_since, help="only scores scored since (ISO 8601, UTC if no zone)"
    )
    passback.add_argument("--resend", action="store_true", help="send every record, changed or not")
    passback.add_argument(
        "--profile",
        choices=("oneroster", "skyward"),
        help="the SIS profile (default: skyward with --sis skyward, else oneroster)",
    )
    passback.set_defaults(run=run_passback)
