"""Gradebook PUT validation, as a strict SIS checks writes (1.1 sections 3.4, 5.10-5.11).

Before a category, line item or result is stored, :class:`GradebookValidator` checks it
the way a strict student information system does, and refuses it with 422 and one
``statusInfo`` per problem, each description starting with the wire name of the field:

* references point at records that exist: a line item's ``class``, ``category`` and
  ``gradingPeriod`` (an academicSession of type ``gradingPeriod``); a result's
  ``lineItem`` and ``student`` (a user whose role is ``student``). Unknown records are
  reported with codeMinor ``unknown object``, everything else with ``invalid data``;
* ``scoreStatus`` is one of the five values of the 1.1 vocabulary, spelled exactly;
* ``score``, ``resultValueMin`` and ``resultValueMax`` are JSON numbers (finite), and
  ``resultValueMin`` is not above ``resultValueMax``; a score may exceed the maximum
  (extra credit);
* ``assignDate`` and ``dueDate`` are dates: a DateTime with a time zone
  (``2024-10-01T12:00:00.000Z``) or, since the 1.1 CSV binding types them as Dates, a
  Date (``2024-10-01``) unless :attr:`GradebookRules.datetime_dates` asks for DateTimes;
  ``scoreDate`` is a Date (``2024-10-09``);
* ``title`` is non-empty text.

:class:`GradebookRules` adds what some SIS demand beyond the spec (DateTimes only,
whole-number points possible, short titles, a score on every result).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import attrs

from oneroster_client.models.enums import ScoreStatus
from oneroster_client.testing.server.refusal import Refusal
from oneroster_client.testing.server.store import Store

__all__ = ["SCORE_STATUSES", "GradebookRules", "GradebookValidator", "Problem"]

SCORE_STATUSES: tuple[str, ...] = tuple(status.value for status in ScoreStatus)
"""The 1.1 ``scoreStatus`` vocabulary (data model section 6), with its spaces."""

UNKNOWN_OBJECT = "unknown object"
INVALID_DATA = "invalid data"

_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_SHOWN = 40  # characters of a refused value quoted back in a description


@attrs.frozen
class GradebookRules:
    """What a SIS demands of gradebook writes beyond the checks every write gets.

    Each is off by default; a refusal names the field and answers 422 ``invalid data``.

    Attributes:
        datetime_dates: a line item's ``assignDate`` and ``dueDate`` must be DateTimes
            (the type of the 1.1 JSON binding); otherwise a Date is accepted as well.
        whole_number_points: a line item's ``resultValueMax`` (points possible) must be a
            whole number (``10`` or ``10.0``, not ``9.5``).
        max_title_length: the longest line item ``title`` accepted, in characters;
            ``None`` for no limit.
        score_required: every result carries a numeric ``score`` (points-based passback:
            a result without points cannot be posted).
    """

    datetime_dates: bool = False
    whole_number_points: bool = False
    max_title_length: int | None = None
    score_required: bool = False


@attrs.frozen
class Problem:
    """One reason a gradebook write is refused.

    Attributes:
        field: the wire name of the field (``class``, ``scoreStatus`` ...).
        message: what is wrong with it.
        code_minor: ``"unknown object"`` for a reference to a missing record, else
            ``"invalid data"``.
    """

    field: str
    message: str
    code_minor: str = INVALID_DATA

    @property
    def description(self) -> str:
        """The ``imsx_description``: the field name first, then what is wrong."""
        return f"{self.field}: {self.message}"


def refusal_for(problems: list[Problem]) -> Refusal:
    """A 422 answer carrying one statusInfo per problem (the first one leads)."""
    first, *rest = problems
    return Refusal(
        422,
        first.code_minor,
        first.description,
        more=[(problem.code_minor, problem.description) for problem in rest],
    )


def _shown(value: Any) -> str:
    """A refused value as quoted back: short, and never a whole nested structure."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str) and len(value) > _SHOWN:
        return repr(value[:_SHOWN]) + "…"
    return repr(value)


def _number(value: Any) -> float | None:
    """The value as a finite float when it is a JSON number (not a boolean); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


class GradebookValidator:
    """Checks gradebook PUT bodies against the stored data before they are stored.

    Args:
        store: the served data, for the references.
        limits: returns the rules in force (read on every write, so tests may change them).
    """

    def __init__(self, store: Store, limits: Callable[[], GradebookRules]) -> None:
        self._store = store
        self._limits = limits
        self._checks: dict[str, Callable[[dict[str, Any]], list[Problem]]] = {
            "categories": self._category,
            "lineItems": self._line_item,
            "results": self._result,
        }

    def check(self, collection: str, record: dict[str, Any], path_id: str) -> None:
        """Refuse ``record`` (the object inside the PUT envelope) if it breaks a rule.

        Args:
            collection: ``categories``, ``lineItems`` or ``results``.
            record: the object sent.
            path_id: the sourcedId in the request path.

        Raises:
            Refusal: 422 with one statusInfo per problem; a body sourcedId that differs
                from the path is reported alone.
        """
        given = record.get("sourcedId", path_id)
        if not isinstance(given, str) or given.strip() != path_id:
            message = (
                f"{_shown(given)} in the body differs from {path_id!r} in the path"
                if isinstance(given, str)
                else f"must be text; got {_shown(given)}"
            )
            raise refusal_for([Problem("sourcedId", message)])
        problems = self._checks[collection](record)
        if problems:
            raise refusal_for(problems)

    # --- per type -----------------------------------------------------------------------

    def _category(self, record: dict[str, Any]) -> list[Problem]:
        return self._title(record, limited=False)

    def _line_item(self, record: dict[str, Any]) -> list[Problem]:
        limits = self._limits()
        problems = self._title(record, limited=True)
        problems += self._reference(record, "class", "classes", "class", required=True)
        problems += self._reference(record, "category", "categories", "category")
        problems += self._grading_period(record)
        for field in ("assignDate", "dueDate"):
            value = record.get(field)
            if value is None:
                problems.append(Problem(field, "is required (a DateTime)"))
            elif not (_is_datetime(value) or (not limits.datetime_dates and _is_date(value))):
                shape = "" if limits.datetime_dates else " (or a Date, e.g. 2024-10-01)"
                problems.append(
                    Problem(
                        field,
                        "must be a DateTime with a time zone, e.g. 2024-10-01T12:00:00.000Z"
                        f"{shape}; got {_shown(value)}",
                    )
                )
        bounds: dict[str, float] = {}
        for field in ("resultValueMin", "resultValueMax"):
            value = record.get(field)
            number = _number(value)
            if value is None:
                problems.append(Problem(field, "is required (a number)"))
            elif number is None:
                problems.append(Problem(field, f"must be a number; got {_shown(value)}"))
            else:
                bounds[field] = number
        low, high = bounds.get("resultValueMin"), bounds.get("resultValueMax")
        if low is not None and high is not None and low > high:
            problems.append(Problem("resultValueMin", f"{low:g} is above resultValueMax {high:g}"))
        if limits.whole_number_points and high is not None and not high.is_integer():
            problems.append(
                Problem(
                    "resultValueMax",
                    f"points possible must be a whole number; got {high:g}",
                )
            )
        return problems

    def _result(self, record: dict[str, Any]) -> list[Problem]:
        problems = self._reference(record, "lineItem", "lineItems", "lineItem", required=True)
        problems += self._student(record)
        status = record.get("scoreStatus")
        if status is None:
            problems.append(Problem("scoreStatus", "is required"))
        elif status not in SCORE_STATUSES:
            allowed = ", ".join(repr(value) for value in SCORE_STATUSES)
            problems.append(
                Problem("scoreStatus", f"must be one of {allowed}; got {_shown(status)}")
            )
        score = record.get("score")
        if score is None:
            if self._limits().score_required:
                problems.append(Problem("score", "is required: only points-based scores pass"))
        elif _number(score) is None:
            problems.append(Problem("score", f"must be a number; got {_shown(score)}"))
        score_date = record.get("scoreDate")
        if score_date is not None and not _is_date(score_date):
            problems.append(
                Problem("scoreDate", f"must be a Date (YYYY-MM-DD); got {_shown(score_date)}")
            )
        return problems

    # --- shared rules -------------------------------------------------------------------

    def _title(self, record: dict[str, Any], *, limited: bool) -> list[Problem]:
        title = record.get("title")
        if title is None:
            return [Problem("title", "is required")]
        if not isinstance(title, str) or not title.strip():
            return [Problem("title", f"must be non-empty text; got {_shown(title)}")]
        longest = self._limits().max_title_length if limited else None
        if longest is not None and len(title) > longest:
            return [Problem("title", f"must be at most {longest} characters; got {len(title)}")]
        return []

    def _ref_id(self, record: dict[str, Any], field: str) -> tuple[str | None, list[Problem]]:
        value = record.get(field)
        if isinstance(value, dict):
            sourced_id = value.get("sourcedId")
            if isinstance(sourced_id, str) and sourced_id.strip():
                return sourced_id, []
        return None, [
            Problem(field, f'must be a GUIDRef {{"sourcedId": "..."}}; got {_shown(value)}')
        ]

    def _reference(
        self,
        record: dict[str, Any],
        field: str,
        collection: str,
        noun: str,
        *,
        required: bool = False,
    ) -> list[Problem]:
        if record.get(field) is None:
            return [Problem(field, "is required")] if required else []
        sourced_id, problems = self._ref_id(record, field)
        if sourced_id is None:
            return problems
        if sourced_id not in self._store.by_id(collection):
            return [Problem(field, f"no {noun} {sourced_id!r}", UNKNOWN_OBJECT)]
        return []

    def _grading_period(self, record: dict[str, Any]) -> list[Problem]:
        if record.get("gradingPeriod") is None:
            return []
        sourced_id, problems = self._ref_id(record, "gradingPeriod")
        if sourced_id is None:
            return problems
        session = self._store.by_id("academicSessions").get(sourced_id)
        if session is None:
            return [Problem("gradingPeriod", f"no grading period {sourced_id!r}", UNKNOWN_OBJECT)]
        if session.get("type") != "gradingPeriod":
            return [
                Problem(
                    "gradingPeriod",
                    f"{sourced_id!r} is an academicSession of type "
                    f"{_shown(session.get('type'))}, not a gradingPeriod",
                )
            ]
        return []

    def _student(self, record: dict[str, Any]) -> list[Problem]:
        if record.get("student") is None:
            return [Problem("student", "is required")]
        sourced_id, problems = self._ref_id(record, "student")
        if sourced_id is None:
            return problems
        user = self._store.by_id("users").get(sourced_id)
        if user is None:
            return [Problem("student", f"no student {sourced_id!r}", UNKNOWN_OBJECT)]
        if user.get("role") != "student":
            return [
                Problem(
                    "student",
                    f"user {sourced_id!r} has role {_shown(user.get('role'))}, not student",
                )
            ]
        return []
