"""Grade passback runs: Buzz gradebooks to a SIS's OneRoster gradebook, exactly and once.

A run reads the district's class courses in Buzz and their gradebooks, reads what the SIS
holds that line items point at (classes, grading periods, categories), maps every item
and score, creates the categories the SIS lacks, then sends each changed line item and
its changed results with ``PUT`` (an upsert by sourcedId). With a history it keeps a
fingerprint of every record the SIS took, so the next run sends only what changed, and it
records the report; without one every record is sent again (as a replace).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterable, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from oneroster_client.buzz.client import BuzzClient
from oneroster_client.buzz.entities import BuzzCourse, Score
from oneroster_client.buzz.errors import BuzzError, explain_missing_domain
from oneroster_client.buzz.history import SyncHistory, recorded_run, took_over_note
from oneroster_client.buzz.passback.grades import (
    ClassGradebook,
    StudentScores,
    find_class_courses,
    read_class_gradebook,
)
from oneroster_client.buzz.passback.mapping import (
    GradingPeriod,
    MappedLineItem,
    MappedResult,
    MappingContext,
    line_item_id,
    map_line_item,
    map_result,
    result_id,
)
from oneroster_client.buzz.passback.profiles import PassbackSettings
from oneroster_client.buzz.passback.report import PassbackReport
from oneroster_client.buzz.report import RecordFailure
from oneroster_client.client import OneRosterClient
from oneroster_client.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    OneRosterError,
    PermissionDeniedError,
)
from oneroster_client.models import Category, Class, Record

__all__ = ["pass_back_grades"]

logger = logging.getLogger(__name__)

FORBIDDEN_IN_A_ROW = 5
"""After this many writes in a row refused with 401/403 the run stops writing."""

_SLUG = re.compile(r"[^a-z0-9]+")


def pass_back_grades(
    buzz: BuzzClient,
    oneroster: OneRosterClient,
    settings: PassbackSettings,
    *,
    classes: Iterable[str] | None = None,
    since: datetime | None = None,
    validate_only: bool = True,
    history: SyncHistory | None = None,
    resend: bool = False,
) -> PassbackReport:
    """Send Buzz grades to the SIS gradebook, and report what was sent and what was not.

    Args:
        buzz: the Buzz client.
        oneroster: the SIS's OneRoster client (it needs gradebook write access).
        settings: the passback settings (profile, district domain, categories ...).
        classes: only these OneRoster class sourcedIds; every class course otherwise.
        since: only scores Buzz scored at or after this time (scores without a scored
            date are always looked at); the history's fingerprints still decide what
            is sent.
        validate_only: read and map, never write (the default); the report counts what a
            run would send.
        history: keeps the fingerprints of what the SIS took (so unchanged records are
            not sent again), locks the district's passback, and records the report.
        resend: send every record, ignoring the fingerprints.

    Returns:
        The report. A run stopped by a OneRoster or Buzz error is reported with
        ``report.error``; check ``report.ok``.

    Raises:
        SyncInProgressError: another passback of the district is running.
        ConfigurationError: an argument is wrong.
    """
    wanted = _check_arguments(settings, classes, since, validate_only, history, resend)
    run = _Run(buzz, oneroster, settings, history, wanted)
    if history is None:
        return run.execute(since, validate_only, resend)
    with history.lock(f"{settings.key}#passback") as lock:
        run.notes.extend(took_over_note(lock))
        return run.execute(since, validate_only, resend)


def _check_arguments(
    settings: object,
    classes: object,
    since: object,
    validate_only: object,
    history: object,
    resend: object,
) -> frozenset[str] | None:
    where = "pass_back_grades()"
    if not isinstance(settings, PassbackSettings):
        raise ConfigurationError(f"{where}: settings must be PassbackSettings")
    for name, value in (("validate_only", validate_only), ("resend", resend)):
        if not isinstance(value, bool):
            raise ConfigurationError(f"{where}: {name} must be True or False")
    if since is not None and not isinstance(since, datetime):
        raise ConfigurationError(f"{where}: since must be a datetime or None")
    if history is not None and not isinstance(history, SyncHistory):
        raise ConfigurationError(f"{where}: history must be a SyncHistory")
    if classes is None:
        return None
    if isinstance(classes, str | bytes) or not isinstance(classes, Iterable):
        raise ConfigurationError(f"{where}: classes must be a list of class sourcedIds")
    wanted = list(classes)
    if not all(isinstance(c, str) and c.strip() for c in wanted):
        raise ConfigurationError(f"{where}: classes must be non-empty sourcedIds")
    return frozenset(wanted)


@attrs.define
class _Plan:
    """What one run will send, class by class."""

    categories: dict[str, str] = attrs.field(factory=dict)  # sourcedId -> title to create
    items: list[tuple[MappedLineItem, bool, list[MappedResult]]] = attrs.field(factory=list)


class _Run:
    """The steps of one run; every step adds to the report."""

    def __init__(
        self,
        buzz: BuzzClient,
        oneroster: OneRosterClient,
        settings: PassbackSettings,
        history: SyncHistory | None,
        classes: frozenset[str] | None,
    ) -> None:
        self.buzz = buzz
        self.oneroster = oneroster
        self.settings = settings
        self.history = history
        self.classes = classes
        self.sent: MutableMapping[tuple[str, str], str] = (
            history.id_map(f"{settings.key}#passback") if history is not None else {}
        )
        self.known: dict[tuple[str, str], str] = {}
        self.forbidden = 0
        self.stopped: str | None = None
        self.unread_bits: Counter[int] = Counter()
        self.notes: list[str] = []  # warnings known before the run starts

    def execute(self, since: datetime | None, validate_only: bool, resend: bool) -> PassbackReport:
        report = PassbackReport(
            district=self.settings.key,
            mode="validate-only" if validate_only else ("incremental" if since else "full"),
            profile=self.settings.profile.value,
            since=_utc(since) if since is not None else None,
            notify=list(self.settings.notify),
            warnings=list(self.notes),
        )
        report.counts = PassbackReport.zero_counts()
        describe = f"grade passback of {self.settings.key}"
        with recorded_run(report, self.history, describe=describe):
            if not resend:
                self.known = {key: self.sent[key] for key in list(self.sent)}
            plan = self.plan(report)
            if validate_only:
                self.count_planned(plan, report)
            else:
                self.send(plan, report)
        return report

    # --- reading and planning ---------------------------------------------------------

    def plan(self, report: PassbackReport) -> _Plan:
        sis_classes = self.read_sis_classes(report)
        books = self.read_gradebooks(sis_classes, report)
        context, to_create = self.context(books, sis_classes, report)
        plan = _Plan(categories=to_create)
        for book in books:
            self.plan_class(book, context, plan, report)
        if self.unread_bits:
            report.warnings.append(_bits_warning(self.unread_bits))
        return plan

    def read_sis_classes(self, report: PassbackReport) -> dict[str, Class]:
        if self.classes is None:
            return {klass.sourced_id: klass for klass in self.oneroster.classes.list()}
        found: dict[str, Class] = {}
        for class_id in sorted(self.classes):
            try:
                found[class_id] = self.oneroster.classes.get(class_id)
            except NotFoundError:
                # Asked for by name: a class the SIS does not hold is a failure, not a
                # warning, so a mistyped id does not end as a success with nothing sent.
                report.failures.append(
                    RecordFailure(
                        entity="classes",
                        reference=class_id,
                        action="read",
                        code="NotFound",
                        message=f"class {class_id} is not in the SIS (HTTP 404): check the "
                        "class sourcedId; nothing was passed back for it",
                    )
                )
        return found

    def read_gradebooks(
        self, sis_classes: dict[str, Class], report: PassbackReport
    ) -> list[ClassGradebook]:
        domain = self.settings.parent_domain_id
        try:
            courses = find_class_courses(self.buzz, domain, self.classes)
        except BuzzError as error:
            raise explain_missing_domain(error, domain) from None
        ours = [course for course in courses if course.reference in sis_classes]
        # A class asked for that the SIS lacks is already a failure: no second warning.
        asked = None if self.classes is None else self.classes & sis_classes.keys()
        _warn_about_courses(courses, ours, asked, report)
        books: list[ClassGradebook] = []
        references: dict[str, str | None] = {}
        for course in ours:
            try:
                books.append(read_class_gradebook(self.buzz, course, references))
            except BuzzError as error:
                report.failures.append(
                    RecordFailure(
                        entity="classes",
                        reference=str(course.reference),
                        action="read",
                        code=type(error).__name__,
                        message=f"the gradebook of Buzz course {course.id} was not read: {error}",
                    )
                )
        report.classes = len(books)
        return books

    def context(
        self, books: Sequence[ClassGradebook], sis_classes: dict[str, Class], report: PassbackReport
    ) -> tuple[MappingContext, dict[str, str]]:
        categories = self.read_sis_categories(report)
        ids, refusals, to_create = _plan_categories(books, self.settings, categories)
        periods = self.read_grading_periods(report)
        _check_defaults(self.settings, categories, periods, report)
        context = MappingContext(
            settings=self.settings,
            category_ids=ids,
            category_refusals=refusals,
            class_terms={
                cid: tuple(term.sourced_id for term in klass.terms)
                for cid, klass in sis_classes.items()
            },
            grading_periods=periods,
            today=datetime.now(UTC).date(),
        )
        return context, to_create

    def read_sis_categories(self, report: PassbackReport) -> dict[str, str] | None:
        try:
            return {c.sourced_id: c.title for c in self.oneroster.categories.list()}
        except OneRosterError as error:
            report.warnings.append(
                f"the SIS categories could not be listed ({type(error).__name__}); categories "
                "created by earlier runs are sent again, mapped ones are assumed to exist"
            )
            return None

    def read_grading_periods(self, report: PassbackReport) -> tuple[GradingPeriod, ...]:
        try:
            sessions = list(self.oneroster.grading_periods.list())
        except OneRosterError as error:
            report.warnings.append(
                f"the SIS grading periods could not be listed ({type(error).__name__}); "
                "line items are sent without a grading period unless one is configured"
            )
            return ()
        return tuple(
            GradingPeriod(
                sourced_id=s.sourced_id,
                start=s.start_date,
                end=s.end_date,
                parent=s.parent.sourced_id if s.parent is not None else None,
            )
            for s in sessions
            if str(s.status or "active") == "active"
        )

    def plan_class(
        self, book: ClassGradebook, context: MappingContext, plan: _Plan, report: PassbackReport
    ) -> None:
        pairs: dict[str, list[tuple[StudentScores, Score]]] = {}
        for student in book.students:
            for score in student.scores:
                pairs.setdefault(str(score.item_id), []).append((student, score))
        for item in book.items:
            mapped = map_line_item(book, item, context)
            graded = pairs.get(str(item.id), [])
            if isinstance(mapped, RecordFailure):
                report.refuse(mapped)
                _refuse_results(mapped, str(item.id), graded, report)
                continue
            sourced_id = mapped.record.sourced_id
            report.notes.extend(f"lineItems {sourced_id}: {note}" for note in mapped.notes)
            results = self.plan_results(mapped, graded, report)
            changed = self.changed("lineItems", sourced_id, mapped.fingerprint)
            if not changed:
                report.add_count("lineItems", "unchanged")
            plan.items.append((mapped, changed, results))

    def plan_results(
        self,
        line_item: MappedLineItem,
        pairs: Sequence[tuple[StudentScores, Score]],
        report: PassbackReport,
    ) -> list[MappedResult]:
        since = report.since
        out: list[MappedResult] = []
        for student, score in pairs:
            scored = score.scored_date
            if since is not None and scored is not None and _utc(scored) < since:
                report.older += 1
                continue
            unread = (score.status or 0) & ~(
                self.settings.exempt_flags | self.settings.not_submitted_flags
            )
            if unread:
                self.unread_bits[unread] += 1
            result = map_result(line_item, student, score, self.settings)
            if result is None:
                report.ungraded += 1
            elif isinstance(result, RecordFailure):
                report.refuse(result)
            elif self.changed("results", result.record.sourced_id, result.fingerprint):
                out.append(result)
            else:
                report.add_count("results", "unchanged")
        return out

    def changed(self, entity: str, sourced_id: str, digest: str) -> bool:
        return self.known.get((entity, sourced_id)) != digest

    def count_planned(self, plan: _Plan, report: PassbackReport) -> None:
        """Validate-only counts: ``created`` for what was never sent, else ``replaced``."""
        for _sourced_id in plan.categories:
            report.add_count("categories", "created")
        for mapped, changed, results in plan.items:
            if changed:
                report.add_count("lineItems", self.expected("lineItems", mapped.record))
            for result in results:
                report.add_count("results", self.expected("results", result.record))

    def expected(self, entity: str, record: Record) -> str:
        return "replaced" if (entity, record.sourced_id) in self.known else "created"

    # --- writing ----------------------------------------------------------------------

    def send(self, plan: _Plan, report: PassbackReport) -> None:
        failed_categories = {
            sourced_id
            for sourced_id, title in plan.categories.items()
            if self.put(
                "categories",
                Category(sourced_id=sourced_id, status="active", title=title),
                report,
            )
        }
        report.written = True
        for mapped, changed, results in plan.items:
            line_item = mapped.record
            blocker = None
            category = line_item.category.sourced_id if line_item.category else None
            if changed and category in failed_categories:
                blocker = f"its category {category} could not be created"
                self.skip("lineItems", line_item.sourced_id, blocker, report)
            elif changed:
                blocker = self.put("lineItems", line_item, report, mapped.fingerprint)
            if blocker is not None:
                reason = f"its line item {line_item.sourced_id} {blocker}"
                for result in results:
                    self.skip("results", result.record.sourced_id, reason, report)
                continue
            for result in results:
                if self.put("results", result.record, report, result.fingerprint):
                    # The SIS may have lost the line item: send it again next run.
                    self.sent.pop(("lineItems", line_item.sourced_id), None)

    def skip(self, entity: str, sourced_id: str, reason: str, report: PassbackReport) -> None:
        report.skipped.append(
            RecordFailure(entity=entity, reference=sourced_id, action="put", message=reason)
        )
        report.add_count(entity, "skipped")

    def put(
        self, entity: str, record: Record, report: PassbackReport, digest: str | None = None
    ) -> str | None:
        """PUT one record; ``None`` when the SIS took it, else why not (for dependants)."""
        if self.stopped is not None:
            self.skip(entity, record.sourced_id, self.stopped, report)
            return "was not sent"
        try:
            outcome = _COLLECTIONS[entity](self.oneroster).put(record)
        except OneRosterError as error:
            return self.failed(entity, record.sourced_id, error, report)
        self.forbidden = 0
        if not outcome.applied:
            differs = ", ".join(outcome.mismatches)
            detail = (
                f"it echoed {differs} differently" if differs else "its answer reports an error"
            )
            report.failures.append(
                RecordFailure(
                    entity=entity,
                    reference=record.sourced_id,
                    action="put",
                    code="not applied",
                    message=f"the SIS answered {outcome.status_code} but {detail}",
                )
            )
            report.add_count(entity, "failed")
            return "was not applied by the SIS"
        if digest is not None:
            self.sent[(entity, record.sourced_id)] = digest
        report.add_count(entity, "created" if outcome.created else "replaced")
        return None

    def failed(
        self, entity: str, sourced_id: str, error: OneRosterError, report: PassbackReport
    ) -> str:
        status = error.status_code if isinstance(error, APIError) else None
        code = f"HTTP {status}" if status is not None else type(error).__name__
        report.failures.append(
            RecordFailure(
                entity=entity, reference=sourced_id, action="put", code=code, message=str(error)
            )
        )
        report.add_count(entity, "failed")
        if isinstance(error, PermissionDeniedError | AuthenticationError):
            self.forbidden += 1
            if self.forbidden >= FORBIDDEN_IN_A_ROW:
                self.stopped = (
                    f"not sent: the SIS refused {self.forbidden} writes in a row ({code}); "
                    "check that grade passback is enabled for this client"
                )
        else:
            self.forbidden = 0
        return f"failed ({code})"


_COLLECTIONS: dict[str, Any] = {
    "categories": lambda client: client.categories,
    "lineItems": lambda client: client.line_items,
    "results": lambda client: client.results,
}


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _bits_warning(seen: Counter[int]) -> str:
    shown = ", ".join(f"{bits:#x} ({count:,} score(s))" for bits, count in sorted(seen.items()))
    return (
        f"Buzz scores carry status bits this run does not interpret: {shown}; their scores "
        "were sent as they are. If a bit means exempt or missing work, set exempt_flags or "
        "not_submitted_flags"
    )


def _has_grade(score: Score) -> bool:
    return score.achieved is not None or bool(score.status) or bool(score.letter)


def _refuse_results(
    line_item: RecordFailure,
    item_id: str,
    pairs: Sequence[tuple[StudentScores, Score]],
    report: PassbackReport,
) -> None:
    """Every graded score of a refused item is refused too, with the item's reason."""
    for student, score in pairs:
        if _has_grade(score):
            report.refuse(
                RecordFailure(
                    entity="results",
                    reference=result_id(student.enrollment_id, item_id),
                    action="put",
                    code=line_item.code,
                    message=f"its line item {line_item.reference} is refused: {line_item.message}",
                )
            )


def _warn_about_courses(
    courses: Sequence[BuzzCourse],
    ours: Sequence[BuzzCourse],
    classes: frozenset[str] | None,
    report: PassbackReport,
) -> None:
    others = len(courses) - len(ours)
    if others and classes is None:
        report.warnings.append(
            f"{others} Buzz course(s) under the district domain have a reference that is "
            "not a SIS class: left alone"
        )
    by_class: dict[str, list[str]] = {}
    for course in ours:
        by_class.setdefault(str(course.reference), []).append(str(course.id))
    for class_id in sorted(classes or ()):
        if class_id not in by_class:
            report.warnings.append(f"class {class_id} has no Buzz course: nothing to pass back")
    for class_id, ids in sorted(by_class.items()):
        if len(ids) > 1:
            report.warnings.append(
                f"class {class_id} has {len(ids)} Buzz courses ({', '.join(ids)}); "
                "each sends its own line items"
            )


def _check_defaults(
    settings: PassbackSettings,
    categories: dict[str, str] | None,
    periods: Sequence[GradingPeriod],
    report: PassbackReport,
) -> None:
    """Warn about configured defaults the SIS does not hold (it would refuse the items)."""
    category = settings.default_category
    if category is not None and categories is not None and category not in categories:
        report.warnings.append(
            f"default_category {category} is not a SIS category: the SIS may refuse the "
            "line items sent with it"
        )
    known = {p.sourced_id for p in periods}
    configured = [("default_grading_period", settings.default_grading_period)] + [
        (f"grading_periods[{key!r}]", value) for key, value in settings.grading_periods.items()
    ]
    for name, period in configured:
        if period is not None and known and period not in known:
            report.warnings.append(
                f"{name} {period} is not a SIS grading period: the SIS may refuse the line "
                "items sent with it"
            )


def _plan_categories(
    books: Sequence[ClassGradebook],
    settings: PassbackSettings,
    sis: dict[str, str] | None,
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str], dict[str, str]]:
    """SIS category of each Buzz category used, refusals, and the categories to create."""
    mapping = {key.strip().casefold(): value for key, value in settings.categories.items()}
    by_title = {title.strip().casefold(): sid for sid, title in (sis or {}).items()}
    ids: dict[tuple[str, str], str] = {}
    refusals: dict[tuple[str, str], str] = {}
    to_create: dict[str, str] = {}
    for book in books:
        course_id = str(book.course.id)
        for category_id in sorted({i.category_id for i in book.items if i.category_id}):
            category = book.categories.get(category_id)
            name = category.name if category is not None else None
            target, title = _category_target(course_id, category_id, name, mapping, by_title)
            key = (course_id, category_id)
            exists = target in sis if sis is not None else not target.startswith("buzz-")
            if exists or target in to_create:
                ids[key] = target
            elif settings.create_categories:
                to_create[target] = title
                ids[key] = target
            else:
                refusals[key] = f"category {title!r} is not in the SIS and create_categories is off"
    return ids, refusals, to_create


def _category_target(
    course_id: str,
    category_id: str,
    name: str | None,
    mapping: dict[str, str],
    by_title: dict[str, str],
) -> tuple[str, str]:
    name = name.strip() if name else None
    for key in (name, category_id):
        if key and key.strip().casefold() in mapping:
            return mapping[key.strip().casefold()], name or key
    if name:
        folded = name.casefold()
        if folded in by_title:
            return by_title[folded], name
        slug = _SLUG.sub("-", folded).strip("-")[:40]
        digest = hashlib.sha256(folded.encode()).hexdigest()[:6]
        return (f"buzz-category-{slug}-{digest}" if slug else f"buzz-category-{digest}"), name
    safe = line_item_id(course_id, category_id).removeprefix("buzz-")
    return f"buzz-category-{safe}", f"Category {category_id}"
