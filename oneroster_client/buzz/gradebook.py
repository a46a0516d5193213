"""Gradebook answers: one enrollment's grades, and a whole course's.

``getenrollmentgradebook2`` answers ``response.enrollment`` with the enrollment's fields,
embedded ``user`` and ``entity`` (the course), and ``grades`` holding the course roll-up
(``achieved``, ``possible``), ``categories.category[]`` and, when items were asked for
(``itemid=*``), ``items.item[]``. ``getentitygradebook3`` answers
``response.enrollments.enrollment[]`` of the same shape; any ``items.item[]`` list of the
course's gradable items beside it is read too. Only the single-enrollment shape was seen
in recorded Buzz answers; the course-wide one is read with the same tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from oneroster_client.buzz._envelope import rows
from oneroster_client.buzz.entities import (
    BuzzCourse,
    BuzzEnrollment,
    BuzzUser,
    GradebookItem,
    Score,
)

__all__ = ["EnrollmentGradebook", "EntityGradebook"]

_EMBEDDED = ("user", "entity", "domain", "grades")


@attrs.frozen(kw_only=True)
class EnrollmentGradebook:
    """One student's grades in one course.

    Attributes:
        enrollment: the enrollment (embedded ``user``/``entity`` split off).
        total: the course roll-up (``item_id`` is ``None``).
        scores: one :class:`Score` per item, when items were requested.
        categories: the category roll-ups as Buzz sent them.
        user: the embedded user, when Buzz sent one.
        course: the embedded course (DLAP ``entity``), when Buzz sent one.
    """

    enrollment: BuzzEnrollment
    total: Score | None = None
    scores: tuple[Score, ...] = ()
    categories: tuple[Mapping[str, Any], ...] = attrs.field(default=(), repr=False)
    user: BuzzUser | None = None
    course: BuzzCourse | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnrollmentGradebook:
        """Read one ``enrollment`` object of a gradebook answer.

        Raises:
            RecordValidationError: a field of the wrong kind, named.
        """
        enrollment = BuzzEnrollment.from_dict(
            {key: value for key, value in data.items() if key not in _EMBEDDED}
            if isinstance(data, Mapping)
            else data
        )
        user, course = data.get("user"), data.get("entity")
        grades = data.get("grades")
        total, scores, categories = _read_grades(grades, enrollment.id)
        return cls(
            enrollment=enrollment,
            total=total,
            scores=scores,
            categories=categories,
            user=BuzzUser.from_dict(user) if isinstance(user, Mapping) else None,
            course=BuzzCourse.from_dict(course) if isinstance(course, Mapping) else None,
        )


def _read_grades(
    grades: Any, enrollment_id: str | None
) -> tuple[Score | None, tuple[Score, ...], tuple[Mapping[str, Any], ...]]:
    if not isinstance(grades, Mapping):
        return None, (), ()
    owner = {"enrollmentid": enrollment_id} if enrollment_id is not None else {}
    rollup = {k: v for k, v in grades.items() if k not in ("categories", "items")}
    scores = tuple(
        Score.from_dict({**owner, **item}) if isinstance(item, Mapping) else Score.from_dict(item)
        for item in rows(grades, "items", "item")
    )
    categories = tuple(c for c in rows(grades, "categories", "category") if isinstance(c, Mapping))
    return Score.from_dict({**owner, **rollup}), scores, categories


@attrs.frozen(kw_only=True)
class EntityGradebook:
    """The grades of every enrollment in a course or section.

    Attributes:
        entity_id: the course id asked for.
        enrollments: one :class:`EnrollmentGradebook` per enrollment.
        items: the course's gradable items, when Buzz listed them.
    """

    entity_id: str
    enrollments: tuple[EnrollmentGradebook, ...] = ()
    items: tuple[GradebookItem, ...] = ()

    @classmethod
    def from_response(cls, entity_id: str, response: Mapping[str, Any]) -> EntityGradebook:
        """Read the ``response`` object of ``getentitygradebook3``.

        Raises:
            RecordValidationError: a field of the wrong kind, named.
        """
        body = response.get("gradebook", response)
        return cls(
            entity_id=entity_id,
            enrollments=tuple(
                EnrollmentGradebook.from_dict(row)
                for row in rows(body, "enrollments", "enrollment")
            ),
            items=tuple(GradebookItem.from_dict(row) for row in rows(body, "items", "item")),
        )

    def scores(self) -> list[Score]:
        """Every per-item score of every enrollment, flattened."""
        return [score for gradebook in self.enrollments for score in gradebook.scores]
