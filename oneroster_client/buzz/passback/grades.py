"""Reading Buzz grades for passback: the class courses of a district and their gradebooks.

A class course is a Buzz course whose ``reference`` is a OneRoster class sourcedId, as
rostering creates them, under the district's domain (its sub-domains included). Each is
read with one ``getentitygradebook3`` call (every active student enrollment, every
gradable item). The student behind an enrollment is named by its Buzz user's
``reference`` (the OneRoster user sourcedId): the one embedded in the gradebook answer,
else the user read with ``getuser2``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import attrs

from oneroster_client.buzz.client import BuzzClient
from oneroster_client.buzz.entities import BuzzCourse, GradebookItem, Score
from oneroster_client.buzz.errors import BuzzCommandError
from oneroster_client.buzz.gradebook import EnrollmentGradebook, EntityGradebook

__all__ = [
    "BuzzCategory",
    "ClassGradebook",
    "StudentScores",
    "find_class_courses",
    "read_class_gradebook",
]


@attrs.frozen(kw_only=True)
class BuzzCategory:
    """A gradebook category of a Buzz course (``id`` and ``name`` as Buzz gives them)."""

    id: str
    name: str | None = None


@attrs.frozen(kw_only=True)
class StudentScores:
    """One student enrollment's item scores.

    Attributes:
        enrollment_id: the Buzz enrollment.
        user_id: the Buzz user, when known.
        student: the student's OneRoster sourcedId (the Buzz user's ``reference``), or
            ``None`` when the Buzz user has none.
        scores: one :class:`Score` per item Buzz listed for the enrollment.
    """

    enrollment_id: str
    user_id: str | None
    student: str | None
    scores: tuple[Score, ...]


@attrs.frozen(kw_only=True)
class ClassGradebook:
    """The gradebook of one class course.

    Attributes:
        class_id: the OneRoster class sourcedId (the course's ``reference``).
        course: the Buzz course.
        items: the gradable items, from Buzz's item list and, for items missing from
            it, from the scores.
        categories: the course's categories by Buzz category id.
        students: the student enrollments' scores.
    """

    class_id: str
    course: BuzzCourse
    items: tuple[GradebookItem, ...]
    categories: Mapping[str, BuzzCategory]
    students: tuple[StudentScores, ...]


def find_class_courses(
    buzz: BuzzClient, parent_domain_id: str, class_ids: Iterable[str] | None = None
) -> list[BuzzCourse]:
    """The courses under ``parent_domain_id`` whose reference is set (and, with
    ``class_ids``, is one of them), in Buzz id order."""
    wanted = set(class_ids) if class_ids is not None else None
    courses = [
        course
        for course in buzz.list_courses(parent_domain_id, include_descendants=True)
        if course.id and course.reference and (wanted is None or course.reference in wanted)
    ]
    return sorted(courses, key=lambda course: (len(course.id or ""), course.id or ""))


def read_class_gradebook(
    buzz: BuzzClient,
    course: BuzzCourse,
    references: MutableMapping[str, str | None] | None = None,
) -> ClassGradebook:
    """Read one class course's gradebook.

    Args:
        buzz: the Buzz client.
        course: a class course (with ``id`` and ``reference``).
        references: a cache of Buzz user id -> reference shared between courses.

    Raises:
        BuzzError: the gradebook (or a user) could not be read.
    """
    if course.id is None or course.reference is None:
        raise ValueError("read_class_gradebook needs a course with an id and a reference")
    cache: MutableMapping[str, str | None] = {} if references is None else references
    book = buzz.get_entity_gradebook(course.id, item_ids="*")
    students = tuple(_student(buzz, row, cache) for row in book.enrollments if row.enrollment.id)
    return ClassGradebook(
        class_id=course.reference,
        course=course,
        items=_items(book),
        categories=_categories(book),
        students=students,
    )


def _student(
    buzz: BuzzClient, row: EnrollmentGradebook, cache: MutableMapping[str, str | None]
) -> StudentScores:
    enrollment = row.enrollment
    user_id = enrollment.user_id or (row.user.id if row.user is not None else None)
    reference = row.user.reference if row.user is not None else None
    if not reference and user_id is not None:
        if user_id not in cache:
            cache[user_id] = _user_reference(buzz, user_id)
        reference = cache[user_id]
    scores = tuple(score for score in row.scores if score.item_id)
    return StudentScores(
        enrollment_id=str(enrollment.id),
        user_id=user_id,
        student=reference or None,
        scores=scores,
    )


def _user_reference(buzz: BuzzClient, user_id: str) -> str | None:
    try:
        return buzz.get_user(user_id).reference or None
    except BuzzCommandError as error:
        # A deleted user keeps its enrollment's grades in Buzz but has no SIS identity.
        if error.code == "DoesNotExist":
            return None
        raise


def _items(book: EntityGradebook) -> tuple[GradebookItem, ...]:
    items: dict[str, GradebookItem] = {}
    for item in book.items:
        if item.id and item.id not in items:
            items[item.id] = item
    for score in book.scores():
        item_id = score.item_id
        if item_id is None:
            continue
        known = items.get(item_id)
        if known is None:
            items[item_id] = GradebookItem(id=item_id, title=score.title, possible=score.possible)
        elif known.possible is None and score.possible is not None:
            items[item_id] = attrs.evolve(known, possible=score.possible)
    return tuple(items.values())


def _categories(book: EntityGradebook) -> Mapping[str, BuzzCategory]:
    found: dict[str, BuzzCategory] = {}
    for row in book.enrollments:
        for data in row.categories:
            key, category = _category(data)
            if key:
                found.setdefault(key, category)
    return found


def _category(data: Mapping[str, Any]) -> tuple[str, BuzzCategory]:
    category_id = str(data.get("id", "")).strip()
    name = data.get("name")
    title = name.strip() if isinstance(name, str) and name.strip() else None
    return category_id, BuzzCategory(id=category_id, name=title)
