"""Buzz gradebook items and scores as OneRoster line items and results.

Every record's sourcedId comes from Buzz ids, so sending it again replaces it instead of
adding a duplicate: ``buzz-{courseid}-{itemid}`` for a line item and
``buzz-{enrollmentid}-{itemid}`` for a result. A result's score is Buzz's ``achieved``
exactly: a zero stays a zero, a score above the points possible stays (extra credit), an
exempt score is sent as ``exempt`` without a score (never as zero) and missing work as
``not submitted``. What cannot be sent is returned as a refusal naming the reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from oneroster_client.buzz.entities import GradebookItem, Score
from oneroster_client.buzz.passback.grades import ClassGradebook, StudentScores
from oneroster_client.buzz.passback.profiles import LongTitles, PassbackSettings, is_whole
from oneroster_client.buzz.report import RecordFailure
from oneroster_client.models import GUIDRef, LineItem, Result, ScoreStatus

__all__ = [
    "GradingPeriod",
    "MappedLineItem",
    "MappedResult",
    "MappingContext",
    "fingerprint",
    "line_item_id",
    "map_line_item",
    "map_result",
    "result_id",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
REFUSED = "refused"


def _safe(buzz_id: str) -> str:
    # Buzz ids are letters, digits and underscores; anything else is spelled out so the
    # sourcedId stays one URL path segment and stays unique.
    return _UNSAFE.sub(lambda match: f"~{ord(match.group()):x}~", buzz_id)


def line_item_id(course_id: str, item_id: str) -> str:
    """The line item sourcedId of a Buzz item: ``buzz-{courseid}-{itemid}``."""
    return f"buzz-{_safe(course_id)}-{_safe(item_id)}"


def result_id(enrollment_id: str, item_id: str) -> str:
    """The result sourcedId of a Buzz score: ``buzz-{enrollmentid}-{itemid}``."""
    return f"buzz-{_safe(enrollment_id)}-{_safe(item_id)}"


def fingerprint(wire: Mapping[str, Any]) -> str:
    """A digest of what was sent; equal digests mean nothing to send again."""
    data = {k: v for k, v in wire.items() if k not in ("dateLastModified", "metadata")}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@attrs.frozen(kw_only=True)
class GradingPeriod:
    """A SIS grading period: its sourcedId, dates and parent term."""

    sourced_id: str
    start: date
    end: date
    parent: str | None = None


@attrs.frozen(kw_only=True)
class MappingContext:
    """What mapping needs besides the gradebook.

    Attributes:
        settings: the passback settings.
        category_ids: (Buzz course id, Buzz category id) -> SIS category sourcedId.
        category_refusals: (Buzz course id, Buzz category id) -> why its items are refused.
        class_terms: class sourcedId -> its term sourcedIds.
        grading_periods: the SIS grading periods.
        today: the day sent for items Buzz gives no date at all.
    """

    settings: PassbackSettings
    category_ids: Mapping[tuple[str, str], str] = attrs.field(factory=dict)
    category_refusals: Mapping[tuple[str, str], str] = attrs.field(factory=dict)
    class_terms: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    grading_periods: tuple[GradingPeriod, ...] = ()
    today: date = attrs.field(factory=lambda: datetime.now(UTC).date())

    def midnight(self) -> datetime:
        """The start of :attr:`today` in UTC (line item dates are DateTimes)."""
        return datetime.combine(self.today, time(), tzinfo=UTC)


@attrs.frozen(kw_only=True)
class MappedLineItem:
    """A line item ready to send.

    Attributes:
        record: the line item.
        fingerprint: digest of the record (dates Buzz did not give left out).
        item_id: the Buzz item id.
        notes: changes the profile made that the report lists (a shortened title).
    """

    record: LineItem
    fingerprint: str
    item_id: str
    notes: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class MappedResult:
    """A result ready to send, with its digest."""

    record: Result
    fingerprint: str


def _refusal(entity: str, reference: str, reason: str) -> RecordFailure:
    return RecordFailure(
        entity=entity, reference=reference, action="put", code=REFUSED, message=reason
    )


def map_line_item(
    book: ClassGradebook, item: GradebookItem, context: MappingContext
) -> MappedLineItem | RecordFailure:
    """One Buzz item as a line item of the course's class, or a refusal with its reason."""
    course_id, item_id = str(book.course.id), str(item.id)
    sourced_id = line_item_id(course_id, item_id)
    reason = _points_refusal(item, context.settings)
    if reason is None and item.category_id:
        reason = context.category_refusals.get((course_id, item.category_id))
    title, notes, title_reason = _title(item, context.settings)
    reason = reason or title_reason
    if reason is not None:
        return _refusal("lineItems", sourced_id, reason)
    assign, due, dated = _dates(book, item, context.midnight())
    category = _category(course_id, item, context)
    # Only a due date Buzz gives places an item in a grading period; a course date would
    # put every undated item in the first or last one.
    period = _buzz_period(item, context.settings) or _grading_period(
        book.class_id, item.due_date, context
    )
    record = LineItem(
        sourced_id=sourced_id,
        status="active",
        title=title,
        class_=GUIDRef(sourced_id=book.class_id, type="class"),
        assign_date=assign,
        due_date=due,
        result_value_min=0.0,
        result_value_max=float(item.possible or 0.0),
        category=GUIDRef(sourced_id=category, type="category") if category else None,
        grading_period=GUIDRef(sourced_id=period, type="academicSession") if period else None,
    )
    wire = record.to_dict()
    if not dated:
        # A date made up from the run's day must not make every later run resend it.
        wire.pop("assignDate", None)
        wire.pop("dueDate", None)
    return MappedLineItem(
        record=record, fingerprint=fingerprint(wire), item_id=item_id, notes=notes
    )


def _points_refusal(item: GradebookItem, settings: PassbackSettings) -> str | None:
    possible = item.possible
    if possible is None:
        return "Buzz gives no points possible for this item (not points-based)"
    if not math.isfinite(possible) or possible < 0:
        return f"points possible {possible} is not a number of points"
    if settings.limits.whole_points_only and not is_whole(possible):
        return (
            f"points possible {possible:g} is not a whole number, which "
            f"{settings.profile.value} requires; the grade is not rounded"
        )
    return None


def _title(
    item: GradebookItem, settings: PassbackSettings
) -> tuple[str, tuple[str, ...], str | None]:
    title = (item.title or "").strip() or f"Buzz item {item.id}"
    limit = settings.limits.max_title_length
    if limit is None or len(title) <= limit:
        return title, (), None
    if settings.long_titles is LongTitles.REFUSE:
        return title, (), f"title is {len(title)} characters, over the limit of {limit}"
    note = f"title shortened from {len(title)} to {limit} characters"
    return title[:limit].rstrip(), (note,), None


def _dates(
    book: ClassGradebook, item: GradebookItem, today: datetime
) -> tuple[datetime, datetime, bool]:
    course = book.course
    extra = item.extra or {}
    assigned = _date_of(extra.get("startdate")) or _date_of(extra.get("assigneddate"))
    due = item.due_date or course.end_date or course.start_date
    assign = assigned or course.start_date or due
    if due is None or assign is None:
        return today, today, False
    # A course that starts after an item's due date must not make it assigned after due.
    return min(assign, due), due, True


def _date_of(value: Any) -> datetime | None:
    if not isinstance(value, str) or value.startswith(("0001-", "1753-", "9999-")):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _category(course_id: str, item: GradebookItem, context: MappingContext) -> str | None:
    if item.category_id:
        found = context.category_ids.get((course_id, item.category_id))
        if found:
            return found
    return context.settings.default_category


def _buzz_period(item: GradebookItem, settings: PassbackSettings) -> str | None:
    extra = item.extra or {}
    for key in ("gradingperiod", "gradingperiodid", "period"):
        value = extra.get(key)
        if isinstance(value, str | int) and str(value) in settings.grading_periods:
            return settings.grading_periods[str(value)]
    return None


def _grading_period(
    class_id: str, due: date | datetime | None, context: MappingContext
) -> str | None:
    if due is None:
        return context.settings.default_grading_period
    day = due.date() if isinstance(due, datetime) else due
    terms = set(context.class_terms.get(class_id, ()))
    for period in context.grading_periods:
        in_class = not terms or period.sourced_id in terms or period.parent in terms
        if in_class and period.start <= day <= period.end:
            return period.sourced_id
    return context.settings.default_grading_period


def map_result(
    line_item: MappedLineItem, student: StudentScores, score: Score, settings: PassbackSettings
) -> MappedResult | RecordFailure | None:
    """One Buzz score as a result, a refusal with its reason, or ``None`` when the item
    is not graded yet (nothing to send)."""
    sourced_id = result_id(student.enrollment_id, line_item.item_id)
    if not student.student:
        return _refusal(
            "results",
            sourced_id,
            f"the Buzz user {student.user_id or '?'} has no SIS reference (not a rostered student)",
        )
    status, value, reason = _score(score, settings)
    if reason is not None:
        return _refusal("results", sourced_id, reason)
    if status is None:
        return None
    if value is None and settings.limits.score_required:
        return _refusal(
            "results",
            sourced_id,
            f"the {settings.profile.value} profile sends points-based scores only, and "
            f"this {status.value} result has no points",
        )
    comment = (score.extra or {}).get("comment")
    record = Result(
        sourced_id=sourced_id,
        status="active",
        line_item=GUIDRef(sourced_id=line_item.record.sourced_id, type="lineItem"),
        student=GUIDRef(sourced_id=student.student, type="user"),
        score_status=status,
        score=value,
        score_date=_day(score.scored_date or score.submitted_date, settings),
        comment=comment if isinstance(comment, str) and comment else None,
    )
    return MappedResult(record=record, fingerprint=fingerprint(record.to_dict()))


def _day(moment: datetime | None, settings: PassbackSettings) -> date | None:
    """The calendar day of a Buzz time in the district's time zone (``scoreDate`` is a
    Date in OneRoster 1.1)."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(settings.time_zone)).date()


def _score(
    score: Score, settings: PassbackSettings
) -> tuple[ScoreStatus | None, float | None, str | None]:
    flags = score.status or 0
    extra = score.extra or {}
    achieved = score.achieved
    if flags & settings.exempt_flags or extra.get("exempt") in (True, "true", 1):
        return ScoreStatus.EXEMPT, None, None
    if achieved is not None and (not math.isfinite(achieved) or achieved < 0):
        return None, None, f"score {achieved} is not a number of points of at least 0"
    if flags & settings.not_submitted_flags:
        return ScoreStatus.NOT_SUBMITTED, achieved, None
    if achieved is not None:
        return ScoreStatus.FULLY_GRADED, achieved, None
    if score.letter:
        return None, None, "letter grade without points; OneRoster 1.1 results carry points"
    return None, None, None
