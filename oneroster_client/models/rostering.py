"""Rostering entities (OneRoster 1.1 data model sections 5.2-5.8)."""

from __future__ import annotations

from datetime import date

import attrs

from oneroster_client.models.base import GUIDRef, Record, UserId, hidden, model
from oneroster_client.models.enums import ClassType, Gender, OrgType, RoleType, SessionType

__all__ = [
    "SEX_AND_RACE_FIELDS",
    "AcademicSession",
    "Class",
    "Course",
    "Demographics",
    "Enrollment",
    "Org",
    "User",
]


@model
class Org(Record):
    """A district, school, department or other organisation (section 5.2)."""

    name: str
    type: OrgType | str
    identifier: str | None = None
    parent: GUIDRef | None = None
    children: tuple[GUIDRef, ...] | None = None


@model
class AcademicSession(Record):
    """A school year, semester, term or grading period (section 5.3).

    ``school_year`` is the year the school year ends, e.g. ``"2025"`` for 2024-25.
    """

    title: str
    type: SessionType | str
    start_date: date
    end_date: date
    school_year: str
    parent: GUIDRef | None = None
    children: tuple[GUIDRef, ...] | None = None


@model
class Course(Record):
    """A course offered by an org (section 5.4)."""

    title: str
    org: GUIDRef
    school_year: GUIDRef | None = None
    course_code: str | None = None
    grades: tuple[str, ...] | None = None
    subjects: tuple[str, ...] | None = None
    subject_codes: tuple[str, ...] | None = None
    resources: tuple[GUIDRef, ...] | None = None


@model
class Class(Record):
    """A scheduled class or homeroom: a course taught in terms at a school (section 5.5)."""

    title: str
    class_type: ClassType | str
    course: GUIDRef
    school: GUIDRef
    terms: tuple[GUIDRef, ...]
    class_code: str | None = None
    location: str | None = None
    grades: tuple[str, ...] | None = None
    subjects: tuple[str, ...] | None = None
    subject_codes: tuple[str, ...] | None = None
    periods: tuple[str, ...] | None = None
    resources: tuple[GUIDRef, ...] | None = None


@model
class User(Record):
    """A student, teacher, guardian or other person (section 5.6).

    Personal fields (names, username, identifiers, contact details, password) are left
    out of ``repr`` so that records printed in logs or notebooks do not expose them; read
    the attributes or ``to_dict()`` when you need them.
    """

    role: RoleType | str
    enabled_user: bool
    orgs: tuple[GUIDRef, ...]
    username: str = attrs.field(repr=False)
    given_name: str = attrs.field(repr=False)
    family_name: str = attrs.field(repr=False)
    middle_name: str | None = hidden()
    user_ids: tuple[UserId, ...] | None = hidden()
    identifier: str | None = hidden()
    email: str | None = hidden()
    sms: str | None = hidden()
    phone: str | None = hidden()
    agents: tuple[GUIDRef, ...] | None = None
    grades: tuple[str, ...] | None = None
    password: str | None = hidden()


@model
class Enrollment(Record):
    """A user's membership of a class with a role (section 5.7)."""

    user: GUIDRef
    class_: GUIDRef
    school: GUIDRef
    role: RoleType | str
    primary: bool | None = None
    begin_date: date | None = None
    end_date: date | None = None


SEX_AND_RACE_FIELDS = frozenset(
    {
        "sex",
        "americanIndianOrAlaskaNative",
        "asian",
        "blackOrAfricanAmerican",
        "nativeHawaiianOrOtherPacificIslander",
        "white",
        "demographicRaceTwoOrMoreRaces",
        "hispanicOrLatinoEthnicity",
    }
)
"""Wire names of the :class:`Demographics` fields that record sex, race and ethnicity:
never shown in messages, and nulled in recordings (so few possible values that any
consistent pseudonym would give them away)."""


@model
class Demographics(Record):
    """Privileged demographic data of a user; ``sourced_id`` equals the user's (section 5.8).

    Every field except the identifiers is left out of ``repr``.
    """

    birth_date: date | None = hidden()
    sex: Gender | str | None = hidden()
    american_indian_or_alaska_native: bool | None = hidden()
    asian: bool | None = hidden()
    black_or_african_american: bool | None = hidden()
    native_hawaiian_or_other_pacific_islander: bool | None = hidden()
    white: bool | None = hidden()
    demographic_race_two_or_more_races: bool | None = hidden()
    hispanic_or_latino_ethnicity: bool | None = hidden()
    country_of_birth_code: str | None = hidden()
    state_of_birth_abbreviation: str | None = hidden()
    city_of_birth: str | None = hidden()
    public_school_residence_status: str | None = hidden()
