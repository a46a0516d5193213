"""One rostering run, end to end: OneRoster -> desired state -> plan -> Buzz, with a report.

:func:`sync` is what a scheduled job calls (every 12 hours, say). It takes the district's
lock, decides between a full and an incremental read, reads OneRoster, maps it, reads
Buzz, plans, applies unless asked only to validate, and records a
:class:`~oneroster_client.buzz.report.SyncReport` in the history::

    history = SyncHistory("/var/lib/buzz-sync/history.sqlite")
    report = sync(oneroster, buzz, settings, validate_only=False, history=history)
    print(report.to_text())

Run it with ``validate_only=True`` (the default) first: it reads both sides and reports
what a run would do, and never writes to Buzz.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs

from oneroster_client.buzz.apply import ApplyResult, OperationOutcome, apply_plan
from oneroster_client.buzz.client import BuzzClient
from oneroster_client.buzz.current import read_buzz_state
from oneroster_client.buzz.desired import DesiredState
from oneroster_client.buzz.errors import BuzzError, explain_missing_domain
from oneroster_client.buzz.history import RunRecord, SyncHistory, recorded_run, took_over_note
from oneroster_client.buzz.mapping import map_roster
from oneroster_client.buzz.plan import ENTITIES, Action, Plan, plan_roster
from oneroster_client.buzz.report import COUNT_WORDS, RecordFailure, SyncReport
from oneroster_client.buzz.settings import RosterSettings, TooSoon, resolve_roles
from oneroster_client.buzz.snapshot import read_roster
from oneroster_client.client import OneRosterClient
from oneroster_client.errors import ConfigurationError

__all__ = [
    "INCREMENTAL_OVERLAP",
    "SyncProgress",
    "SyncReadError",
    "SyncTooSoonError",
    "sync",
]

logger = logging.getLogger("oneroster_client.buzz")

SyncProgress = Callable[[str, int, "int | None"], None]
"""Called as ``progress(step, done, total_or_None)``: ``step`` is a OneRoster collection
while reading, then ``"buzz"``, ``"plan"`` and ``"apply"``."""

INCREMENTAL_OVERLAP = timedelta(minutes=5)
"""An incremental read starts this long before the last successful run started, so a
record stamped by a SIS clock slightly behind ours is not missed (re-reading is harmless)."""

_PLANNED_WORD = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.WITHDRAW: "withdrawn",
    Action.DELETE: "deleted",
    Action.GRANT: "created",
    Action.REVOKE: "deleted",
}


class SyncTooSoonError(BuzzError):
    """A full sync was asked for sooner than ``min_interval`` after the last one, and the
    settings say to refuse (``too_soon = "refuse"``).

    Attributes:
        district: the district key.
        last_run: when the last successful full sync started.
        next_allowed: the earliest time a full sync is allowed.
    """

    def __init__(self, district: str, last_run: datetime, next_allowed: datetime) -> None:
        super().__init__(
            f"refused: a full sync of district {district!r} ran at {last_run:%Y-%m-%d %H:%M} "
            f"UTC, less than min_interval ago; the next one is allowed from "
            f"{next_allowed:%Y-%m-%d %H:%M} UTC (or set too_soon to 'warn')"
        )
        self.district = district
        self.last_run = last_run
        self.next_allowed = next_allowed


class SyncReadError(BuzzError):
    """Nothing could be read from the OneRoster server (every collection failed), so the
    run stopped before reading Buzz: it is recorded as failed, never as a success.

    Attributes:
        district: the district key.
        reasons: why each collection failed.
    """

    def __init__(self, district: str, reasons: list[str]) -> None:
        first = reasons[0] if reasons else "no reason given"
        more = f" (and {len(reasons) - 1} more in the report)" if len(reasons) > 1 else ""
        super().__init__(
            f"nothing could be read from the OneRoster server for district {district!r}: "
            f"{first}{more}"
        )
        self.district = district
        self.reasons = list(reasons)


@attrs.frozen
class _Scope:
    """What to read: everything, or what changed since ``since``."""

    full: bool
    since: datetime | None = None
    warnings: tuple[str, ...] = ()


def sync(
    oneroster: OneRosterClient,
    buzz: BuzzClient,
    settings: RosterSettings,
    *,
    validate_only: bool = True,
    full: bool | None = None,
    approve: bool | str = False,
    history: SyncHistory | None = None,
    progress: SyncProgress | None = None,
) -> SyncReport:
    """Roster one district from OneRoster into Buzz, and report what was done.

    Args:
        oneroster: the district's OneRoster client.
        buzz: the Buzz client.
        settings: the district's settings.
        validate_only: read, map and plan, but never write to Buzz (the default). The
            report counts what a run would do.
        full: ``True`` reads every record and reconciles (removals included);
            ``False`` reads only records changed since the last successful run;
            ``None`` (default) reads incrementally, with a full reconciliation every
            ``settings.full_every_runs`` runs or ``settings.full_every``, and always
            when there is no history or no successful run yet.
        approve: apply a held plan: ``True``, or the plan id from the held run's report.
        history: the run history; with it the district is locked for the run, the run
            recorded, Buzz ids kept as they are created, and incremental reads possible.
        progress: called as ``progress(step, done, total)`` while the run proceeds.

    Returns:
        The report. A held plan is reported (``report.held``), not raised; a run stopped
        by a OneRoster or Buzz error is reported with ``report.error`` (status
        ``"failed"``). Check ``report.ok``.

    Raises:
        SyncInProgressError: another run holds the district's lock.
        SyncTooSoonError: a full sync sooner than ``min_interval`` after the last
            successful one, with ``too_soon = "refuse"``.
        ConfigurationError: a setting or argument is wrong (e.g. an unknown role name).
    """
    _check_arguments(validate_only, full, approve, history)
    if history is None:
        return _Run(oneroster, buzz, settings, None, progress).execute(validate_only, full, approve)
    with history.lock(settings.key) as lock:
        run = _Run(oneroster, buzz, settings, history, progress)
        run.notes.extend(took_over_note(lock))
        return run.execute(validate_only, full, approve)


def _check_arguments(validate_only: object, full: object, approve: object, history: object) -> None:
    if not isinstance(validate_only, bool):
        raise ConfigurationError("sync(): validate_only must be True or False")
    if full is not None and not isinstance(full, bool):
        raise ConfigurationError("sync(): full must be True, False or None")
    if not isinstance(approve, bool | str):
        raise ConfigurationError("sync(): approve must be True, False or a plan id")
    if history is not None and not isinstance(history, SyncHistory):
        raise ConfigurationError(
            f"sync(): history must be a SyncHistory, got {type(history).__name__}"
        )


class _Run:
    """The steps of one run; every step adds to the report."""

    def __init__(
        self,
        oneroster: OneRosterClient,
        buzz: BuzzClient,
        settings: RosterSettings,
        history: SyncHistory | None,
        progress: SyncProgress | None,
    ) -> None:
        self.oneroster = oneroster
        self.buzz = buzz
        self.settings = settings
        self.history = history
        self.progress = progress
        self.key = settings.key
        self.notes: list[str] = []  # warnings known before the run starts

    def step(self, name: str, done: int, total: int | None = None) -> None:
        if self.progress is not None:
            self.progress(name, done, total)

    def execute(self, validate_only: bool, full: bool | None, approve: bool | str) -> SyncReport:
        now = datetime.now(UTC)
        scope = self.decide_scope(full, now, enforce_guard=not validate_only)
        report = SyncReport(
            district=self.key,
            mode="validate-only" if validate_only else ("full" if scope.full else "incremental"),
            started=now,
            full_read=scope.full,
            since=scope.since,
            notify=list(self.settings.notify),
            warnings=[*self.notes, *scope.warnings],
        )
        with recorded_run(report, self.history, describe=f"Buzz sync of {self.key}"):
            self.run(report, scope, validate_only, approve)
        return report

    # --- scope and cadence ------------------------------------------------------------

    def decide_scope(self, full: bool | None, now: datetime, *, enforce_guard: bool) -> _Scope:
        """Full or incremental, and the cadence guard for full runs."""
        if self.history is None:
            if full is False:
                return _Scope(True, None, ("incremental needs a history: read in full",))
            return _Scope(True)
        last = self.history.last_success(self.key)
        last_full = self.history.last_success(self.key, mode="full")
        if last is None:
            first = () if full is not False else ("no successful run yet: read in full",)
            return _Scope(True, None, first)
        incremental = _Scope(False, last.started - INCREMENTAL_OVERLAP)
        if full is False:
            return incremental
        why_full = "asked for" if full else self.full_due(last_full, now)
        if why_full is None:
            return incremental
        too_soon = self.too_soon(last_full, now) if enforce_guard else None
        if too_soon is None:
            return _Scope(True)
        if full is None:
            # A scheduled reconciliation waits for the interval rather than fail the job.
            note = f"full reconciliation due ({why_full}) but postponed: {too_soon}"
            return attrs.evolve(incremental, warnings=(note,))
        if self.settings.too_soon == TooSoon.REFUSE and last_full is not None:
            raise SyncTooSoonError(
                self.key, last_full.started, last_full.started + self.settings.min_interval
            )
        return _Scope(True, None, (f"full sync started early: {too_soon}",))

    def full_due(self, last_full: RunRecord | None, now: datetime) -> str | None:
        """Why a full reconciliation is due now, or ``None``."""
        if last_full is None or self.history is None:
            return "no successful full run yet"
        started = last_full.started
        if now - started >= self.settings.full_every:
            return f"the last one started {_ago(now - started)} ago"
        since_full = self.history.runs(
            self.key, kind="sync", mode="incremental", status="ok", after=started
        )
        if len(since_full) >= self.settings.full_every_runs:
            return f"{len(since_full)} incremental runs since the last one"
        return None

    def too_soon(self, last_full: RunRecord | None, now: datetime) -> str | None:
        """Why a full sync now is too soon, or ``None``."""
        if last_full is None:
            return None
        elapsed = now - last_full.started
        if elapsed >= self.settings.min_interval:
            return None
        return (
            f"the last full sync started {_ago(elapsed)} ago, less than min_interval "
            f"({_ago(self.settings.min_interval)})"
        )

    # --- the run ----------------------------------------------------------------------

    def run(
        self, report: SyncReport, scope: _Scope, validate_only: bool, approve: bool | str
    ) -> None:
        try:
            roles = resolve_roles(self.settings, self.buzz)
        except BuzzError as error:
            raise explain_missing_domain(error, self.settings.parent_domain_id) from None
        snapshot = read_roster(self.oneroster, since=scope.since, progress=self.progress)
        report.records_read = sum(snapshot.counts().values())
        if not snapshot.complete and report.records_read == 0:
            report.incomplete_reasons.extend(snapshot.incomplete_reasons)
            raise SyncReadError(self.key, snapshot.incomplete_reasons)
        desired = map_roster(snapshot, self.settings, roles)
        del snapshot  # the records are mapped: free them before Buzz is read
        report.incomplete_reasons.extend(desired.incomplete_reasons)
        report.warnings.extend(_skipped_summary(desired))
        self.step("buzz", 0)
        current = read_buzz_state(
            self.buzz, self.settings, observers=self.observers(desired, scope)
        )
        report.incomplete_reasons.extend(current.incomplete_reasons)
        self.step("plan", 0)
        plan = plan_roster(desired, current, self.settings)
        self.step("plan", len(plan.operations), len(plan.operations))
        _describe_plan(report, plan)
        if validate_only:
            report.counts = _planned_counts(plan)
            return
        mismatch = _approval_mismatch(plan, approve)
        if mismatch:
            report.warnings.append(mismatch)
        if plan.held and not _approves(plan, approve):
            report.counts = _planned_counts(plan)
            report.warnings.append(
                f"the plan is held: review it, then run again with approve={plan.id!r}"
            )
            return
        if plan.held:
            report.warnings.append(f"held plan {plan.id} applied as approved ({plan.hold_reason})")
        result = self.apply(plan, approve)
        _describe_result(report, plan, result)
        self.remember_observers(desired, scope, report)

    def apply(self, plan: Plan, approve: bool | str) -> ApplyResult:
        total = len(plan.operations)
        done = 0

        def on_outcome(outcome: OperationOutcome) -> None:
            nonlocal done
            done += 1
            self.step("apply", done, total)

        id_map = self.history.id_map(self.key) if self.history is not None else None
        return apply_plan(plan, self.buzz, approve=approve, id_map=id_map, on_outcome=on_outcome)

    # --- observers --------------------------------------------------------------------

    def observers(self, desired: DesiredState, scope: _Scope) -> set[str] | None:
        """Whose rights to read in Buzz: this run's observers, and for a full run those
        of earlier runs too, so rights of observers who left the SIS are found."""
        wanted = {link.observer_reference for link in desired.observer_links}
        if not scope.full:
            return wanted
        if self.history is None:
            return None  # no memory of earlier observers: read every managed user's rights
        return wanted | self.history.observers(self.key)

    def remember_observers(self, desired: DesiredState, scope: _Scope, report: SyncReport) -> None:
        if self.history is None:
            return
        wanted = {link.observer_reference for link in desired.observer_links}
        # After a clean full run the rights of every other observer are revoked.
        replace = scope.full and report.status == "ok" and not report.incomplete_reasons
        self.history.set_observers(self.key, wanted, replace=replace)


def _approves(plan: Plan, approve: bool | str) -> bool:
    return approve is True or (isinstance(approve, str) and approve == plan.id)


def _approval_mismatch(plan: Plan, approve: bool | str) -> str | None:
    """Why a given plan id approves nothing: it is not the id of this run's plan."""
    if not isinstance(approve, str) or approve == plan.id:
        return None
    if plan.held:
        return (
            f"the plan id given to approve ({approve}) does not match this run's plan "
            f"({plan.id}), so the plan stays held: a plan id changes whenever the SIS or Buzz "
            f"change; review this report, then run again with approve={plan.id!r}"
        )
    return (
        f"the plan id given to approve ({approve}) does not match this run's plan "
        f"({plan.id}); this plan needed no approval and was applied"
    )


def _describe_plan(report: SyncReport, plan: Plan) -> None:
    report.plan_id = plan.id
    report.held = plan.held
    report.hold_reason = plan.hold_reason
    report.removals_suppressed = plan.removals_suppressed
    report.issues.extend(plan.issues)
    report.warnings.extend(plan.warnings)


def _zero_counts(plan: Plan) -> dict[str, dict[str, int]]:
    """Every entity of the plan with every count word, so readers need no defaults."""
    entities = [*ENTITIES, *sorted({o.entity for o in plan.operations} - set(ENTITIES))]
    return {entity: dict.fromkeys(COUNT_WORDS, 0) for entity in entities}


def _planned_counts(plan: Plan) -> dict[str, dict[str, int]]:
    counts = _zero_counts(plan)
    for entity, number in plan.unchanged.items():
        counts.setdefault(entity, dict.fromkeys(COUNT_WORDS, 0))["unchanged"] = number
    for operation in plan.operations:
        counts[operation.entity][_PLANNED_WORD[operation.action]] += 1
    return counts


def _describe_result(report: SyncReport, plan: Plan, result: ApplyResult) -> None:
    report.written = True
    report.held = False  # applied: approved, or not held at all
    counts = _zero_counts(plan)
    for entity, numbers in result.counts().items():
        counts.setdefault(entity, dict.fromkeys(COUNT_WORDS, 0)).update(numbers)
    for entity, number in plan.unchanged.items():
        counts.setdefault(entity, dict.fromkeys(COUNT_WORDS, 0))["unchanged"] = number
    report.counts = counts
    for outcome in result.outcomes:
        if outcome.ok:
            continue
        operation = outcome.operation
        failure = RecordFailure(
            entity=operation.entity,
            reference=operation.reference,
            action=operation.action.value,
            code=outcome.code,
            message=outcome.message or "",
        )
        (report.skipped if outcome.skipped else report.failures).append(failure)
    if result.stopped:
        report.warnings.append(f"the apply stopped early: {result.stopped}")


def _skipped_summary(desired: DesiredState) -> list[str]:
    if not desired.skipped:
        return []
    per = Counter(issue.source.collection for issue in desired.skipped)
    listed = ", ".join(f"{collection} {number:,}" for collection, number in sorted(per.items()))
    return [f"OneRoster records not rostered by design (e.g. administrators): {listed}"]


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
