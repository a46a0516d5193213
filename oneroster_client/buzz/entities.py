"""Typed Buzz entities: domains, users, courses, enrollments, roles, rights, grades.

Every entity is a frozen, slotted, keyword-only attrs class whose attributes map to the
exact DLAP field names (``firstname``, ``entityid``, ``parentid`` ...). Reading is
tolerant: ids and numbers may arrive as numbers or numeric strings, a field the class
does not define is kept in ``extra`` and written back by :meth:`BuzzEntity.to_dict`, and
Buzz's date sentinels (``1753-01-01T00:00:00Z`` "no start", ``9999-12-31T00:00:00Z``
"no end", ``0001-01-01T00:00:00Z`` "never") read as ``None`` but are written back
exactly as they came. Every attribute is optional because Buzz leaves fields out of
partial answers (``select=``) and new records have no id yet.

Names, usernames, emails and passwords are personal or secret: they never appear in a
``repr``; read the attribute or ``to_dict()`` when you need them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Self, cast

import attrs

from oneroster_client.buzz._wire import Field, WireValueError, read_fields, write_fields
from oneroster_client.buzz.enums import CopyAction, EnrollmentStatus, Rights
from oneroster_client.errors import RecordValidationError

__all__ = [
    "BuzzCourse",
    "BuzzEnrollment",
    "BuzzEntity",
    "BuzzUser",
    "CourseCopy",
    "Domain",
    "GradebookItem",
    "RightsGrant",
    "Role",
    "Score",
]


def _key_names(extra: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{key!r}: ..." for key in extra) + "}"


@attrs.frozen(kw_only=True, repr=False)
class BuzzEntity:
    """Behaviour shared by every Buzz entity: reading and writing DLAP dicts."""

    _FIELDS: ClassVar[tuple[Field, ...]] = ()

    extra: dict[str, Any] | None = attrs.field(default=None, repr=False)
    """Fields this class does not define, by wire name, written back unchanged."""
    raw_dates: Mapping[str, str] | None = attrs.field(default=None, repr=False, eq=False)
    """Date texts as Buzz sent them, by wire name, where writing the date back would not
    give the same text (sentinels, other formatting); kept for exact write-back."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Read one DLAP object (e.g. an element of ``response.users.user``).

        Raises:
            RecordValidationError: naming the entity, the DLAP field and what was wrong
                (never the value, which may be personal data).
        """
        if not isinstance(data, Mapping):
            raise RecordValidationError(
                model=cls.__name__,
                field=None,
                reason=f"expected an object, got {type(data).__name__}",
            )
        try:
            values, raw_dates, extra = read_fields(cls._FIELDS, data)
        except WireValueError as error:
            field = error.args[1] if len(error.args) > 1 else None
            raise RecordValidationError(
                model=cls.__name__, field=field, reason=str(error.args[0]), sourced_id=_id_of(data)
            ) from None
        return cls(extra=extra or None, raw_dates=raw_dates or None, **values)

    def to_dict(self) -> dict[str, Any]:
        """Return the DLAP dict: known fields by wire name, then ``extra`` unchanged."""
        values = {field.attr: getattr(self, field.attr) for field in self._FIELDS}
        return write_fields(self._FIELDS, values, self.raw_dates, self.extra)

    def __repr__(self) -> str:
        parts = []
        for field in attrs.fields(cast(Any, type(self))):
            value = getattr(self, field.name)
            if value is None or field.repr is False:
                continue
            parts.append(
                f"{field.name}={value!s}"
                if isinstance(value, datetime)
                else f"{field.name}={value!r}"
            )
        if self.extra:
            parts.append(f"extra={_key_names(self.extra)}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _id_of(data: Mapping[str, Any]) -> str | None:
    for key in ("id", "userid", "courseid", "enrollmentid", "domainid", "itemid"):
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


@attrs.frozen(kw_only=True, repr=False)
class Domain(BuzzEntity):
    """A Buzz domain (a district or school); ``userspace`` is its login prefix."""

    _FIELDS = (
        Field("id", "id", "id", ("domainid",)),
        Field("name", "name"),
        Field("userspace", "userspace"),
        Field("parent_id", "parentid", "id"),
        Field("reference", "reference"),
        Field("guid", "guid"),
        Field("flags", "flags", "int"),
        Field("data", "data", "json"),
        Field("creation_date", "creationdate", "date"),
        Field("modified_date", "modifieddate", "date"),
        Field("version", "version", "int"),
    )

    id: str | None = None
    name: str | None = None
    userspace: str | None = None
    parent_id: str | None = None
    reference: str | None = None
    guid: str | None = None
    flags: int | None = None
    data: Any = attrs.field(default=None, repr=False)
    creation_date: datetime | None = None
    modified_date: datetime | None = None
    version: int | None = None


@attrs.frozen(kw_only=True, repr=False)
class BuzzUser(BuzzEntity):
    """A Buzz user. ``username`` is unique within the domain's userspace.

    ``password`` is write-only: Buzz never returns it. Leaving it out for SSO-only users
    is what the Buzz UI allows; whether the API accepts that is unconfirmed.
    """

    _FIELDS = (
        Field("id", "id", "id", ("userid",)),
        Field("domain_id", "domainid", "id"),
        Field("username", "username"),
        Field("email", "email"),
        Field("password", "password"),
        Field("password_question", "passwordquestion"),
        Field("password_answer", "passwordanswer"),
        Field("first_name", "firstname"),
        Field("last_name", "lastname"),
        Field("reference", "reference"),
        Field("guid", "guid"),
        Field("flags", "flags", "int"),
        Field("rights", "rights", "rights"),
        Field("role_id", "roleid", "id"),
        Field("data", "data", "json"),
        Field("last_login_date", "lastlogindate", "date"),
        Field("creation_date", "creationdate", "date"),
        Field("modified_date", "modifieddate", "date"),
        Field("version", "version", "int"),
    )

    id: str | None = None
    domain_id: str | None = None
    username: str | None = attrs.field(default=None, repr=False)
    email: str | None = attrs.field(default=None, repr=False)
    password: str | None = attrs.field(default=None, repr=False)
    password_question: str | None = attrs.field(default=None, repr=False)
    password_answer: str | None = attrs.field(default=None, repr=False)
    first_name: str | None = attrs.field(default=None, repr=False)
    last_name: str | None = attrs.field(default=None, repr=False)
    reference: str | None = None
    guid: str | None = None
    flags: int | None = None
    rights: Rights | None = None
    role_id: str | None = None
    data: Any = attrs.field(default=None, repr=False)
    last_login_date: datetime | None = None
    creation_date: datetime | None = None
    modified_date: datetime | None = None
    version: int | None = None


@attrs.frozen(kw_only=True, repr=False)
class BuzzCourse(BuzzEntity):
    """A Buzz course (a master course or a class section copied from one).

    ``type`` is ``"Continuous"`` (self-paced, ``days`` per enrollment) or, per the Buzz UI,
    a range course (same dates for everyone); the literal ``"Range"`` is unconfirmed.
    """

    _FIELDS = (
        Field("id", "id", "id", ("courseid",)),
        Field("title", "title"),
        Field("domain_id", "domainid", "id"),
        Field("reference", "reference"),
        Field("schema", "schema", "int"),
        Field("base_id", "baseid", "id"),
        Field("type", "type"),
        Field("start_date", "startdate", "date"),
        Field("end_date", "enddate", "date"),
        Field("days", "days", "int"),
        Field("term", "term"),
        Field("status", "status", "json"),
        Field("role_id", "roleid", "id"),
        Field("index_rule", "indexrule", "json"),
        Field("guid", "guid"),
        Field("data", "data", "json"),
        Field("flags", "flags", "int"),
        Field("creation_date", "creationdate", "date"),
        Field("modified_date", "modifieddate", "date"),
        Field("version", "version", "int"),
    )

    id: str | None = None
    title: str | None = None
    domain_id: str | None = None
    reference: str | None = None
    schema: int | None = None
    base_id: str | None = None
    type: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    days: int | None = None
    term: str | None = None
    status: Any = None
    role_id: str | None = None
    index_rule: Any = None
    guid: str | None = None
    data: Any = attrs.field(default=None, repr=False)
    flags: int | None = None
    creation_date: datetime | None = None
    modified_date: datetime | None = None
    version: int | None = None


@attrs.frozen(kw_only=True, repr=False)
class CourseCopy(BuzzEntity):
    """One item of ``copycourses``: copy course ``source_id`` into domain ``domain_id``.

    Buzz answers with the new course's id and an enrollment of the calling user in it.
    """

    _FIELDS = (
        Field("source_id", "courseid", "id"),
        Field("domain_id", "domainid", "id"),
        Field("action", "action"),
        Field("depth", "depth", "json"),
        Field("reference", "reference"),
        Field("title", "title"),
        Field("status", "status", "json"),
        Field("role_id", "roleid", "id"),
        Field("type", "type"),
        Field("start_date", "startdate", "date"),
        Field("end_date", "enddate", "date"),
        Field("days", "days", "int"),
        Field("term", "term"),
        Field("index_rule", "indexrule", "json"),
    )

    source_id: str | None = None
    domain_id: str | None = None
    action: CopyAction | str | None = None
    depth: Any = None
    reference: str | None = None
    title: str | None = None
    status: Any = None
    role_id: str | None = None
    type: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    days: int | None = None
    term: str | None = None
    index_rule: Any = None


@attrs.frozen(kw_only=True, repr=False)
class BuzzEnrollment(BuzzEntity):
    """A user's enrollment in a course. ``course_id`` is DLAP's ``entityid`` (listings
    by course name it ``courseid``; both are read, ``entityid`` is written).

    Send ``role_id`` (preferred) or ``flags``: an enrollment with neither gets no rights.
    ``privileges`` is the effective mask Buzz computed (read-only).
    """

    _FIELDS = (
        Field("id", "id", "id", ("enrollmentid",)),
        Field("user_id", "userid", "id"),
        Field("course_id", "entityid", "id", ("courseid",)),
        Field("domain_id", "domainid", "id"),
        Field("role_id", "roleid", "id"),
        Field("flags", "flags", "rights"),
        Field("privileges", "privileges", "rights"),
        Field("status", "status", "status"),
        Field("start_date", "startdate", "date"),
        Field("end_date", "enddate", "date"),
        Field("reference", "reference"),
        Field("schema", "schema", "int"),
        Field("guid", "guid"),
        Field("data", "data", "json"),
        Field("first_activity_date", "firstactivitydate", "date"),
        Field("last_activity_date", "lastactivitydate", "date"),
        Field("creation_date", "creationdate", "date"),
        Field("modified_date", "modifieddate", "date"),
        Field("version", "version", "int"),
    )

    id: str | None = None
    user_id: str | None = None
    course_id: str | None = None
    domain_id: str | None = None
    role_id: str | None = None
    flags: Rights | None = None
    privileges: Rights | None = None
    status: EnrollmentStatus | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    reference: str | None = None
    schema: int | None = None
    guid: str | None = None
    data: Any = attrs.field(default=None, repr=False)
    first_activity_date: datetime | None = None
    last_activity_date: datetime | None = None
    creation_date: datetime | None = None
    modified_date: datetime | None = None
    version: int | None = None


@attrs.frozen(kw_only=True, repr=False)
class Role(BuzzEntity):
    """A role of a domain (inherited by subdomains): a named rights mask.

    ``entity_type`` is ``"D"`` (domain role), ``"C"`` (course role) or ``""`` (either).
    """

    _FIELDS = (
        Field("id", "id", "id", ("roleid",)),
        Field("name", "name"),
        Field("privileges", "privileges", "rights"),
        Field("entity_type", "entitytype"),
        Field("reference", "reference"),
        Field("domain_id", "domainid", "id"),
    )

    id: str | None = None
    name: str | None = None
    privileges: Rights | None = None
    entity_type: str | None = None
    reference: str | None = None
    domain_id: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class RightsGrant(BuzzEntity):
    """Rights of an actor (a user) on an entity (a user, enrollment, course or domain).

    Observers (parents, guardians) get :attr:`Rights.READ_USER` on the student's user id,
    or :attr:`Rights.READ_ENROLLMENT` on one enrollment. A grant has no id of its own: the
    pair ``(actor_id, entity_id)`` identifies it. Whether ``flags=0`` revokes a right is
    unconfirmed.
    """

    _FIELDS = (
        Field("actor_id", "actorid", "id"),
        Field("entity_id", "entityid", "id"),
        Field("flags", "flags", "rights"),
        Field("role_id", "roleid", "id"),
        Field("entity_type", "entitytype"),
        Field("reference", "reference"),
    )

    actor_id: str | None = None
    entity_id: str | None = None
    flags: Rights | None = None
    role_id: str | None = None
    entity_type: str | None = None
    reference: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class GradebookItem(BuzzEntity):
    """A gradable item of a course (an assignment, exam or discussion)."""

    _FIELDS = (
        Field("id", "id", "id", ("itemid",)),
        Field("title", "title"),
        Field("reference", "reference"),
        Field("possible", "possible", "float"),
        Field("category_id", "category", "id", ("categoryid",)),
        Field("type", "type"),
        Field("due_date", "duedate", "date"),
    )

    id: str | None = None
    title: str | None = None
    reference: str | None = None
    possible: float | None = None
    category_id: str | None = None
    type: str | None = None
    due_date: datetime | None = None


@attrs.frozen(kw_only=True, repr=False)
class Score(BuzzEntity):
    """One student's grade on one item (or, with ``item_id`` ``None``, a roll-up).

    ``letter`` is present only where a grading scheme applies (unconfirmed per item).
    """

    _FIELDS = (
        Field("item_id", "itemid", "id"),
        Field("enrollment_id", "enrollmentid", "id"),
        Field("achieved", "achieved", "float"),
        Field("possible", "possible", "float"),
        Field("letter", "letter"),
        Field("status", "status", "int"),
        Field("scored_date", "scoreddate", "date"),
        Field("submitted_date", "submitteddate", "date"),
        Field("title", "title"),
    )

    item_id: str | None = None
    enrollment_id: str | None = None
    achieved: float | None = None
    possible: float | None = None
    letter: str | None = None
    status: int | None = None
    scored_date: datetime | None = None
    submitted_date: datetime | None = None
    title: str | None = None

    @property
    def percent(self) -> float | None:
        """``achieved / possible`` (0-1), or ``None`` when either is missing or possible is 0."""
        if self.achieved is None or not self.possible:
            return None
        return self.achieved / self.possible
