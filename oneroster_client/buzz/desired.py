"""The desired Buzz state: what a district's OneRoster data says Buzz should hold.

Mapping (``oneroster_client.buzz.mapping``) turns a OneRoster snapshot into a
:class:`DesiredState`; planning (``oneroster_client.buzz.plan``) compares it with what Buzz
holds and produces the operations that close the gap. Everything here is keyed by the
OneRoster ``sourcedId`` of the record it comes from, which is also what the Buzz object's
``reference`` field carries: that is how a Buzz object is matched to its SIS record on
every later run, whatever its Buzz id.

Nothing here holds Buzz ids: a desired object names its parents by their references, and
the planner resolves them against Buzz (or against objects created earlier in the same
apply).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from oneroster_client.buzz.enums import EnrollmentStatus, Rights

__all__ = [
    "DesiredCourse",
    "DesiredDomain",
    "DesiredEnrollment",
    "DesiredObserverLink",
    "DesiredState",
    "DesiredUser",
    "SourceRecord",
    "UserKind",
    "ValidationIssue",
]


class UserKind(enum.StrEnum):
    """Why a user is in Buzz: the OneRoster role family it was mapped from."""

    STUDENT = "student"
    TEACHER = "teacher"
    OBSERVER = "observer"  # parent, guardian or relative linked through ``agents``


@attrs.frozen(kw_only=True)
class SourceRecord:
    """The OneRoster record a desired object or an issue comes from.

    Attributes:
        collection: the OneRoster collection (``"orgs"``, ``"users"``, ``"classes"``,
            ``"enrollments"`` ...).
        sourced_id: the record's sourcedId.
    """

    collection: str
    sourced_id: str

    def __str__(self) -> str:
        return f"{self.collection}/{self.sourced_id}"


@attrs.frozen(kw_only=True)
class ValidationIssue:
    """A OneRoster record that could not be mapped, and why; it never stops the others.

    Attributes:
        source: the record.
        field: the wire name of the field at fault (``"orgs"``, ``"username"`` ...), or
            ``None`` when the record as a whole is at fault.
        reason: what was wrong and what to do, without personal values.
        raw: the record as read (kept for the admin's report; never logged).
    """

    source: SourceRecord
    field: str | None
    reason: str
    raw: Mapping[str, Any] | None = attrs.field(default=None, repr=False, eq=False)

    def __str__(self) -> str:
        where = f"{self.source}" + (f" field {self.field}" if self.field else "")
        return f"{where}: {self.reason}"


@attrs.frozen(kw_only=True)
class DesiredDomain:
    """A school as a Buzz domain under the district's domain.

    Attributes:
        reference: the school org's sourcedId.
        name: the school's name.
        userspace: the login prefix; stable (never derived from names that change).
    """

    reference: str
    name: str
    userspace: str

    @property
    def source(self) -> SourceRecord:
        """The OneRoster record it comes from (orgs/<reference>)."""
        return SourceRecord(collection="orgs", sourced_id=self.reference)


@attrs.frozen(kw_only=True)
class DesiredUser:
    """A student, teacher or observer as a Buzz user.

    Attributes:
        reference: the user's sourcedId.
        domain_reference: the reference of the school domain the user belongs to
            (their primary school), or ``None`` for the district's own domain.
        username: unique within the domain's userspace.
        email: may be empty.
        first_name: OneRoster ``givenName``.
        last_name: OneRoster ``familyName``.
        kind: student, teacher or observer.
    """

    reference: str
    domain_reference: str | None
    username: str = attrs.field(repr=False)
    email: str = attrs.field(repr=False)
    first_name: str = attrs.field(repr=False)
    last_name: str = attrs.field(repr=False)
    kind: UserKind

    @property
    def source(self) -> SourceRecord:
        """The OneRoster record it comes from (users/<reference>)."""
        return SourceRecord(collection="users", sourced_id=self.reference)


@attrs.frozen(kw_only=True)
class DesiredCourse:
    """A OneRoster class as a Buzz course (a copy of a base course, or created empty).

    Attributes:
        reference: the class's sourcedId.
        domain_reference: the school domain's reference (``None``: the district domain).
        title: the class title.
        base_course_id: the Buzz course to copy (derivative copy), or ``None`` to create
            an empty course.
        start_date: from the class's terms; ``None`` when open.
        end_date: from the class's terms; ``None`` when open.
        term: a term label for Buzz, if any.
    """

    reference: str
    domain_reference: str | None
    title: str
    base_course_id: str | None
    start_date: datetime | None
    end_date: datetime | None
    term: str | None

    @property
    def source(self) -> SourceRecord:
        """The OneRoster record it comes from (classes/<reference>)."""
        return SourceRecord(collection="classes", sourced_id=self.reference)


@attrs.frozen(kw_only=True)
class DesiredEnrollment:
    """A OneRoster enrollment as a Buzz enrollment.

    Attributes:
        reference: the enrollment's sourcedId.
        user_reference: the user's sourcedId.
        course_reference: the class's sourcedId.
        role_id: the Buzz role id (student or teacher role from the settings).
        status: the Buzz enrollment status (active unless the SIS says otherwise).
        start_date: enrollment dates, else the class's term dates, else ``None`` (open).
        end_date: likewise.
    """

    reference: str
    user_reference: str
    course_reference: str
    role_id: str
    status: EnrollmentStatus
    start_date: datetime | None
    end_date: datetime | None

    @property
    def source(self) -> SourceRecord:
        """The OneRoster record it comes from (enrollments/<reference>)."""
        return SourceRecord(collection="enrollments", sourced_id=self.reference)


@attrs.frozen(kw_only=True)
class DesiredObserverLink:
    """A parent, guardian or relative given rights on a student (``updaterights``).

    Attributes:
        observer_reference: the observer user's sourcedId.
        student_reference: the student's sourcedId.
        rights: the rights flags granted to the observer on the student.
    """

    observer_reference: str
    student_reference: str
    rights: Rights

    @property
    def source(self) -> SourceRecord:
        """The OneRoster record it comes from (the observer's user record)."""
        return SourceRecord(collection="users", sourced_id=self.observer_reference)


@attrs.frozen(kw_only=True)
class DesiredState:
    """Everything a OneRoster snapshot says Buzz should hold, plus what could not be mapped.

    Attributes:
        domains: school domains by reference.
        users: users by reference.
        courses: courses by reference.
        enrollments: enrollments by reference.
        observer_links: observer rights, one per (observer, student) pair.
        issues: records that could not be mapped.
        complete: ``True`` only when every OneRoster collection was read completely;
            removals are planned only from a complete state.
        incomplete_reasons: why the read was not complete (listing problems, errors).
        changed_only: ``True`` when the snapshot holds only records changed since the
            last run (an incremental read): absence then means "unchanged", never "gone".
        skipped: records deliberately not rostered, each with why (administrators and
            aides, the district org, observers when observers are off, enrollments of
            users or classes to be deleted ...). Informational, not errors; records
            with status ``tobedeleted`` are simply absent.
        deleted: records absent because the SIS deletes them (status ``tobedeleted``)
            or the user or class they depend on. In an incremental state, where absence
            means "unchanged", this is how removals are known.
    """

    domains: dict[str, DesiredDomain] = attrs.field(factory=dict)
    users: dict[str, DesiredUser] = attrs.field(factory=dict)
    courses: dict[str, DesiredCourse] = attrs.field(factory=dict)
    enrollments: dict[str, DesiredEnrollment] = attrs.field(factory=dict)
    observer_links: list[DesiredObserverLink] = attrs.field(factory=list)
    issues: list[ValidationIssue] = attrs.field(factory=list)
    complete: bool = True
    incomplete_reasons: list[str] = attrs.field(factory=list)
    changed_only: bool = False
    skipped: list[ValidationIssue] = attrs.field(factory=list)
    deleted: list[SourceRecord] = attrs.field(factory=list)
