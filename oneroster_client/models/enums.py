"""OneRoster 1.1 enumerations and vocabularies (data model section 6).

Every enumeration is a :class:`enum.StrEnum`, so members compare equal to their wire
spelling (``RoleType.STUDENT == "student"``). Readers are tolerant: a value the spec does
not list (``districtAdministrator``, ``inactive`` on a 1.1 server) is kept as a plain
string and reported as a warning, never dropped; see :mod:`oneroster_client.converter`.
"""

from __future__ import annotations

import enum
from typing import Self


class WireEnum(enum.StrEnum):
    """A OneRoster vocabulary. ``lookup`` finds a member case-insensitively."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    @classmethod
    def lookup(cls, value: str) -> Self | None:
        """Return the member spelled ``value`` (exactly, else case-insensitively), or ``None``."""
        member = cls._value2member_map_.get(value)
        if member is None:
            member = _folded(cls).get(value.strip().lower())
        return member  # type: ignore[return-value]


_FOLDED: dict[type[WireEnum], dict[str, WireEnum]] = {}


def _folded(cls: type[WireEnum]) -> dict[str, WireEnum]:
    table = _FOLDED.get(cls)
    if table is None:
        table = {member.value.lower(): member for member in cls}
        _FOLDED[cls] = table
    return table


class StatusType(WireEnum):
    """Record status. ``inactive`` is the OneRoster 1.0 spelling, kept for old servers."""

    ACTIVE = "active"
    TOBEDELETED = "tobedeleted"
    INACTIVE = "inactive"


class OrgType(WireEnum):
    """Kinds of organisation, from national down to department."""

    DEPARTMENT = "department"
    SCHOOL = "school"
    DISTRICT = "district"
    LOCAL = "local"
    STATE = "state"
    NATIONAL = "national"


class RoleType(WireEnum):
    """User roles (``user.role``, ``enrollment.role``, ``resource.roles``)."""

    ADMINISTRATOR = "administrator"
    AIDE = "aide"
    GUARDIAN = "guardian"
    PARENT = "parent"
    PROCTOR = "proctor"
    RELATIVE = "relative"
    STUDENT = "student"
    TEACHER = "teacher"


class SessionType(WireEnum):
    """Academic session kinds."""

    GRADING_PERIOD = "gradingPeriod"
    SEMESTER = "semester"
    SCHOOL_YEAR = "schoolYear"
    TERM = "term"


class ClassType(WireEnum):
    """Class kinds. Some CSV exports write ``Scheduled``; lookup is case-insensitive."""

    HOMEROOM = "homeroom"
    SCHEDULED = "scheduled"


class Importance(WireEnum):
    """Resource importance."""

    PRIMARY = "primary"
    SECONDARY = "secondary"


class Gender(WireEnum):
    """``demographics.sex`` values listed by OneRoster 1.1."""

    MALE = "male"
    FEMALE = "female"


class ScoreStatus(WireEnum):
    """Result score status. Note the spaces in the wire values."""

    EXEMPT = "exempt"
    FULLY_GRADED = "fully graded"
    NOT_SUBMITTED = "not submitted"
    PARTIALLY_GRADED = "partially graded"
    SUBMITTED = "submitted"


class GUIDType(WireEnum):
    """The ``type`` of a GUIDRef."""

    ACADEMIC_SESSION = "academicSession"
    CATEGORY = "category"
    CLASS = "class"
    COURSE = "course"
    DEMOGRAPHICS = "demographics"
    ENROLLMENT = "enrollment"
    GRADING_PERIOD = "gradingPeriod"
    LINE_ITEM = "lineItem"
    ORG = "org"
    RESOURCE = "resource"
    RESULT = "result"
    STUDENT = "student"
    TEACHER = "teacher"
    TERM = "term"
    USER = "user"
