"""Gradebook entities (OneRoster 1.1 data model sections 5.10-5.11).

``assign_date``, ``due_date`` and ``score_date`` appear on the wire both as a Date and as
a DateTime; the models keep whichever shape was sent (a :class:`datetime.datetime` or a
:class:`datetime.date`) and write it back in the same shape.
"""

from __future__ import annotations

from datetime import date, datetime

from oneroster_client.models.base import GUIDRef, Record, hidden, model
from oneroster_client.models.enums import ScoreStatus

__all__ = ["Category", "LineItem", "Result"]


@model
class Category(Record):
    """A line item category, e.g. "Homework" (section 5.10)."""

    title: str


@model
class LineItem(Record):
    """A gradebook column: an assignment or assessment in a class (section 5.11).

    ``category`` and ``grading_period`` are required by the spec, but servers accept line
    items without them, so they are optional here.
    """

    title: str
    class_: GUIDRef
    assign_date: datetime | date
    due_date: datetime | date
    result_value_min: float
    result_value_max: float
    description: str | None = None
    category: GUIDRef | None = None
    grading_period: GUIDRef | None = None


@model
class Result(Record):
    """One student's score on a line item (section 5.11).

    Scores above ``result_value_max`` (extra credit) and zero scores are valid.
    ``comment`` is a teacher's free text about one student (it often names the student
    or others): it is left out of ``repr`` and error messages; read the attribute or
    ``to_dict()`` when you need it.
    """

    line_item: GUIDRef
    student: GUIDRef
    score_status: ScoreStatus | str
    score: float | None = None
    score_date: datetime | date | None = None
    comment: str | None = hidden()
