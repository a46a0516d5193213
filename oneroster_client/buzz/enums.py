"""Buzz enumerations: enrollment status codes and rights flags.

Both are read tolerantly: a status code or rights bit this module does not name is kept
(as ``EnrollmentStatus(3)`` shown ``UNKNOWN_3``, or as unnamed bits of a
:class:`Rights` value) and written back unchanged, because Agilix adds values over time
and a sync must never drop what it does not understand.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["STUDENT_RIGHTS", "TEACHER_RIGHTS", "CopyAction", "EnrollmentStatus", "Rights"]


class EnrollmentStatus(enum.IntEnum):
    """The ``status`` code of an enrollment.

    The codes are those two independent Buzz client libraries agree on; Agilix's own
    enumeration page could not be checked (a third integration disagrees and numbers
    withdrawn 2, suspended 4), so treat the names of codes other than 1 as unconfirmed.
    Unknown codes are kept as ``UNKNOWN_<code>`` members.
    """

    ACTIVE = 1
    WITHDRAWN = 4
    WITHDRAWN_FAILED = 5
    TRANSFERRED = 6
    COMPLETED = 7
    COMPLETED_NO_CREDIT = 8
    SUSPENDED = 9
    INACTIVE = 10

    @classmethod
    def _missing_(cls, value: Any) -> EnrollmentStatus | None:
        if isinstance(value, int) and not isinstance(value, bool):
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}"
            member._value_ = value
            return member
        return None

    @property
    def known(self) -> bool:
        """False for a code this library has no name for."""
        return not self.name.startswith("UNKNOWN_")


class Rights(enum.IntFlag, boundary=enum.KEEP):
    """Buzz rights flags (a 64-bit mask on enrollments, roles and rights grants).

    Only the rights a SIS sync needs are named; other bits are kept as they came.
    """

    NONE = 0
    PARTICIPATE = 0x1
    READ_USER = 0x200
    READ_COURSE = 0x20000
    UPDATE_COURSE = 0x40000
    READ_SECTION = 0x200000
    GRADE_ASSIGNMENT = 0x1000000
    GRADE_FORUM = 0x2000000
    GRADE_EXAM = 0x4000000
    SETUP_GRADEBOOK = 0x8000000
    CONTROL_COURSE = 0x20000000
    READ_GRADEBOOK = 0x80000000
    SUBMIT_FINAL_GRADE = 0x8000000000
    CONTROL_ENROLLMENT = 0x10000000000
    READ_ENROLLMENT = 0x20000000000


STUDENT_RIGHTS = Rights.READ_COURSE | Rights.PARTICIPATE
"""``131073``: the flags Agilix's own example gives a student enrollment."""

TEACHER_RIGHTS = (
    Rights.READ_GRADEBOOK
    | Rights.SETUP_GRADEBOOK
    | Rights.GRADE_ASSIGNMENT
    | Rights.GRADE_FORUM
    | Rights.GRADE_EXAM
    | Rights.UPDATE_COURSE
    | Rights.READ_COURSE
)
"""``0x8F060000``: a teacher enrollment as one integration documents it (unconfirmed by
Agilix); prefer a teacher ``roleid`` from :meth:`BuzzClient.list_roles`."""


class CopyAction(enum.StrEnum):
    """How ``copycourses`` copies: a static copy, or a derivative that stays chained to
    its base course so edits to the master flow down."""

    STATIC = "StaticCopy"
    DERIVATIVE_CHILD = "DerivativeChildCopy"
    DERIVATIVE_SIBLING = "DerivativeSiblingCopy"
