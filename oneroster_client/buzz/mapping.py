"""Mapping a OneRoster snapshot to the Buzz state it calls for.

The rules (OneRoster 1.1 data model sections 5.2-5.7):

* **Schools** (orgs of type ``school``) become domains under the district's domain. The
  userspace is ``userspace_prefix`` plus a stable slug of the sourcedId (or of the org's
  ``identifier``): a value that already is a slug (``[a-z0-9]`` words joined by single
  hyphens) is used as it is; any other value is lower-cased, every other run of
  characters becomes one hyphen, and the first 8 hex digits of its SHA-256 are appended,
  so the slug never changes whatever other schools come and go, and ``SCH_1`` and
  ``sch-1`` never collide. Names never enter a userspace. The district org is the
  configured parent domain; other org types (departments, states ...) are not rostered.
* **Students and teachers** (user ``role``) become users in the domain of their primary
  school: the first org in ``orgs`` that is a school; a user whose orgs name only the
  district goes to the district domain. Parents, guardians and relatives become
  observers when ``observers`` is on. Administrators, aides and proctors are not
  rostered (they are listed in ``skipped``). OneRoster 1.1 users carry no primary-org
  flag, so the order of ``orgs`` decides. ``enabledUser`` does not matter: a disabled
  login is still a member of its classes.
* **Usernames** come from ``username_scheme`` and are unique per domain, compared
  ignoring case: of two users with one username the first by sourcedId keeps it and the
  other becomes an issue naming both.
* **Classes** become courses in their school's domain, copied from the base course
  configured for the class, else for its course, else for its school, else the default.
  Dates span the class's terms (earliest start, latest end), each SIS date meant in
  ``time_zone``: a start is the beginning of its day, an end the last second of its day.
* **Enrollments** of role student or teacher become enrollments with the configured
  role; their dates are the enrollment's own, else the class's. With ``ignore_sis_dates``
  every date is ``None``.
* **Observers** are placed in the domain of their first linked student and granted
  ``observer_rights`` on every linked student; links are read from ``agents`` on either
  side.
* Records with status ``tobedeleted`` (or the 1.0 ``inactive``) are left out, so the
  planner removes what they had made; so are enrollments of a user or class to be
  deleted (also listed in ``skipped``). All of them are listed in ``deleted``, which is
  how an incremental state tells removals from unchanged records.

Anything that cannot be mapped becomes a :class:`ValidationIssue` naming the record, the
field and why, never a personal value; it never stops the other records. In an
incremental snapshot, references to users absent from it are taken to be unchanged
users Buzz already holds, not errors.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

import attrs

from oneroster_client import _gc
from oneroster_client.buzz.desired import (
    DesiredCourse,
    DesiredDomain,
    DesiredEnrollment,
    DesiredObserverLink,
    DesiredState,
    DesiredUser,
    SourceRecord,
    UserKind,
    ValidationIssue,
)
from oneroster_client.buzz.enums import EnrollmentStatus
from oneroster_client.buzz.settings import (
    ResolvedRoles,
    RosterSettings,
    UsernameScheme,
    UserspaceScheme,
)
from oneroster_client.buzz.snapshot import RosterSnapshot
from oneroster_client.models import AcademicSession, Class, Enrollment, Org, Record, User

__all__ = ["OBSERVER_ROLES", "map_roster", "stable_slug"]

OBSERVER_ROLES = frozenset({"parent", "guardian", "relative"})
"""OneRoster user roles rostered as Buzz observers."""

_ROSTERED_ROLES = {"student": UserKind.STUDENT, "teacher": UserKind.TEACHER}
_REMOVED_STATUSES = frozenset({"tobedeleted", "inactive"})
_SLUG_BREAK = re.compile(r"[^a-z0-9]+")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_END_OF_DAY = time(23, 59, 59)
_R = TypeVar("_R", bound=Record)


def stable_slug(value: str) -> str:
    """A userspace-safe slug of ``value`` (``[a-z0-9-]``) that depends on ``value`` only.

    A value that already is a slug is returned unchanged; any other gets a short hash of
    the exact value appended, so distinct values never share a slug.
    """
    if _SLUG.fullmatch(value):
        return value
    slug = _SLUG_BREAK.sub("-", value.lower()).strip("-")
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug}-{digest}" if slug else digest


def map_roster(
    snapshot: RosterSnapshot, settings: RosterSettings, roles: ResolvedRoles
) -> DesiredState:
    """What Buzz should hold for ``snapshot``, and what could not be mapped.

    Args:
        snapshot: the roster as read by :func:`~oneroster_client.buzz.snapshot.read_roster`.
        settings: the district's sync settings.
        roles: the Buzz role ids of students and teachers (:func:`resolve_roles`).

    Returns:
        The desired state. Its ``complete``, ``incomplete_reasons`` and ``changed_only``
        come from the snapshot; unreadable records of the snapshot are among its issues.
    """
    with _gc.paused():  # a district's worth of small objects; see oneroster_client._gc
        return _Mapper(snapshot, settings, roles).run()


class _Unmapped(Exception):
    """Internal: this record cannot be mapped (an issue) or is left out (skipped)."""

    def __init__(
        self, field: str | None, reason: str, *, skip: bool = False, deleted: bool = False
    ) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.skip = skip or deleted
        self.deleted = deleted


@attrs.frozen
class _Dates:
    start: datetime | None = None
    end: datetime | None = None
    term: str | None = None


@attrs.frozen
class _Candidate:
    user: User
    kind: UserKind
    domain: str | None
    username: str
    username_field: str


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


_SPACE = re.compile(r"\s")


@functools.lru_cache(maxsize=256, typed=True)
def _folded(value: object) -> str:
    return str(value).strip().lower()


def _role(value: object) -> str:
    """A role, type or status folded for comparison (few distinct values: cached)."""
    if value is None:
        return ""
    try:
        return _folded(value)
    except TypeError:  # unhashable: an odd vendor value
        return str(value).strip().lower()


class _Mapper:
    """One mapping run; the methods below each map one kind of record."""

    def __init__(
        self, snapshot: RosterSnapshot, settings: RosterSettings, roles: ResolvedRoles
    ) -> None:
        self.snapshot = snapshot
        self.settings = settings
        self.roles = roles
        self.zone = ZoneInfo(settings.time_zone)
        self.changed_only = snapshot.changed_since is not None
        self.state = DesiredState(
            complete=snapshot.complete,
            incomplete_reasons=list(snapshot.incomplete_reasons),
            changed_only=self.changed_only,
            issues=list(snapshot.issues),
        )
        self.removed: dict[str, set[str]] = {}
        self.failed: dict[str, set[str]] = {}
        self.districts: set[str] = set()
        self.sessions = self._index("academicSessions", snapshot.academic_sessions)
        self.org_index = self._index("orgs", snapshot.orgs)
        self.class_index = self._index("classes", snapshot.classes)
        self.user_index = self._index("users", snapshot.users)
        self.class_dates: dict[str, _Dates] = {}
        self.starts: dict[date, datetime] = {}
        self.ends: dict[date, datetime] = {}
        self.role_ids = {"student": roles.student_role_id, "teacher": roles.teacher_role_id}

    def run(self) -> DesiredState:
        self._map_orgs()
        for record in self.class_index.values():
            self._guard("classes", record, self._map_class)
        self._map_users()
        for enrollment in self._index("enrollments", self.snapshot.enrollments).values():
            self._guard("enrollments", enrollment, self._map_enrollment)
        return self.state

    # --- bookkeeping ----------------------------------------------------------------------

    def _index(self, wire: str, records: Iterable[_R]) -> dict[str, _R]:
        """Records by sourcedId, in sourcedId order; a repeated sourcedId is an issue."""
        index: dict[str, _R] = {}
        for record in records:
            if record.sourced_id in index:
                self._issue(
                    wire,
                    record,
                    "sourcedId",
                    "the sourcedId is sent more than once; the first record read is used",
                )
                continue
            index[record.sourced_id] = record
        return dict(sorted(index.items()))

    def _issue(self, wire: str, record: Record, field: str | None, reason: str) -> None:
        self.state.issues.append(
            ValidationIssue(
                source=SourceRecord(collection=wire, sourced_id=record.sourced_id),
                field=field,
                reason=reason,
                raw=record.to_dict(),
            )
        )

    def _guard(self, wire: str, record: _R, mapper: Callable[[_R], None]) -> None:
        """Map one record, turning ``_Unmapped`` into an issue or a skip."""
        status = _role(record.status)
        if status in _REMOVED_STATUSES:
            self.removed.setdefault(wire, set()).add(record.sourced_id)
            self.state.deleted.append(SourceRecord(collection=wire, sourced_id=record.sourced_id))
            return
        try:
            if not record.sourced_id.strip():
                raise _Unmapped("sourcedId", "is empty; every synced object is keyed by it")
            if status not in ("", "active"):
                raise _Unmapped(
                    "status", "unknown status; OneRoster 1.1 has active and tobedeleted"
                )
            mapper(record)
        except _Unmapped as exc:
            self._unmapped(wire, record, exc)

    def _unmapped(self, wire: str, record: Record, exc: _Unmapped) -> None:
        if exc.skip:
            source = SourceRecord(collection=wire, sourced_id=record.sourced_id)
            if exc.deleted:
                self.state.deleted.append(source)
            self.state.skipped.append(
                ValidationIssue(source=source, field=exc.field, reason=exc.reason)
            )
        else:
            self.failed.setdefault(wire, set()).add(record.sourced_id)
            self._issue(wire, record, exc.field, exc.reason)

    def _is(self, kind: str, wire: str, sourced_id: str) -> bool:
        found = (self.removed if kind == "removed" else self.failed).get(wire)
        return found is not None and sourced_id in found

    # --- orgs -----------------------------------------------------------------------------

    def _map_orgs(self) -> None:
        owners: dict[str, str] = {}  # userspace -> the school that has it

        def map_org(org: Org) -> None:
            kind = _role(org.type)
            if kind == "district":
                self.districts.add(org.sourced_id)
                raise _Unmapped(None, "the district org is the configured parent domain", skip=True)
            if kind != "school":
                raise _Unmapped(
                    "type",
                    f"orgs of type {kind or 'none'} are not rostered; schools are",
                    skip=True,
                )
            name = _text(org.name)
            if not name:
                raise _Unmapped("name", "is empty; a Buzz domain needs a name")
            userspace, field = self._userspace(org)
            owner = owners.setdefault(userspace, org.sourced_id)
            if owner != org.sourced_id:
                raise _Unmapped(
                    field,
                    f"gives the same userspace as orgs/{owner}; the first by sourcedId keeps it",
                )
            self.state.domains[org.sourced_id] = DesiredDomain(
                reference=org.sourced_id, name=name, userspace=userspace
            )

        for org in self.org_index.values():
            self._guard("orgs", org, map_org)

    def _userspace(self, org: Org) -> tuple[str, str]:
        if self.settings.userspace_scheme is UserspaceScheme.IDENTIFIER:
            value = _text(org.identifier)
            if not value:
                raise _Unmapped(
                    "identifier",
                    "is empty; the userspace scheme 'identifier' needs it (or use 'sourced_id')",
                )
            return self.settings.userspace_prefix + stable_slug(value), "identifier"
        return self.settings.userspace_prefix + stable_slug(org.sourced_id), "sourcedId"

    def _org_problem(self, sourced_id: str) -> str:
        """Why the org ``sourced_id`` gives no domain (for issue reasons)."""
        if self._is("removed", "orgs", sourced_id):
            return f"orgs/{sourced_id} is to be deleted"
        if self._is("failed", "orgs", sourced_id):
            return f"orgs/{sourced_id} could not be mapped (see its issue)"
        if sourced_id in self.org_index:
            return f"orgs/{sourced_id} is not a school or district"
        return f"orgs/{sourced_id} is not in the roster"

    def _domain_of_org(self, sourced_id: str, field: str) -> str | None:
        """The domain reference of a school, ``None`` for the district; else unmapped."""
        if sourced_id in self.state.domains:
            return sourced_id
        if sourced_id in self.districts:
            return None
        raise _Unmapped(field, self._org_problem(sourced_id))

    # --- classes --------------------------------------------------------------------------

    def _map_class(self, record: Class) -> None:
        domain = self._domain_of_org(record.school.sourced_id, "school")
        title = _text(record.title)
        if not title:
            raise _Unmapped("title", "is empty; a Buzz course needs a title")
        dates = self._term_dates(record)
        bases = self.settings.base_courses
        base = (
            bases.get(record.sourced_id)
            or bases.get(record.course.sourced_id)
            or bases.get(record.school.sourced_id)
            or self.settings.default_base_course_id
        )
        self.class_dates[record.sourced_id] = dates
        self.state.courses[record.sourced_id] = DesiredCourse(
            reference=record.sourced_id,
            domain_reference=domain,
            title=title,
            base_course_id=base,
            start_date=dates.start,
            end_date=dates.end,
            term=dates.term,
        )

    def _term_dates(self, record: Class) -> _Dates:
        terms: list[AcademicSession] = []
        for ref in record.terms:
            term = self.sessions.get(ref.sourced_id)
            if term is not None:
                terms.append(term)
            elif not self.settings.ignore_sis_dates:
                raise _Unmapped(
                    "terms",
                    f"academicSessions/{ref.sourced_id} is not in the roster; "
                    "the course dates cannot be known",
                )
        terms.sort(key=lambda term: (term.start_date, term.sourced_id))
        label = ", ".join(_text(term.title) for term in terms if _text(term.title)) or None
        if self.settings.ignore_sis_dates or not terms:
            return _Dates(term=label)
        start = min(term.start_date for term in terms)
        end = max(term.end_date for term in terms)
        if end < start:
            raise _Unmapped("terms", "its terms end before they start")
        return _Dates(self._start(start), self._end(end), label)

    def _start(self, day: date) -> datetime:
        """The first moment of ``day`` in the district's time zone, in UTC."""
        found = self.starts.get(day)
        if found is None:  # few distinct days: one shared value each
            found = datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)
            self.starts[day] = found
        return found

    def _end(self, day: date) -> datetime:
        """The last second of ``day`` in the district's time zone, in UTC."""
        found = self.ends.get(day)
        if found is None:
            found = datetime.combine(day, _END_OF_DAY, tzinfo=self.zone).astimezone(UTC)
            self.ends[day] = found
        return found

    # --- users ----------------------------------------------------------------------------

    def _map_users(self) -> None:
        candidates: list[_Candidate] = []
        observers: dict[str, tuple[User, str, str]] = {}

        def classify(user: User) -> None:
            kind = self._user_kind(user)
            self._check_names(user)
            username, field = self._username(user)
            if kind is UserKind.OBSERVER:
                observers[user.sourced_id] = (user, username, field)
            else:
                domain = self._primary_domain(user)
                candidates.append(_Candidate(user, kind, domain, username, field))

        for user in self.user_index.values():
            self._guard("users", user, classify)
        links = self._links([entry[0] for entry in observers.values()])
        students = {c.user.sourced_id: c.domain for c in candidates if c.kind is UserKind.STUDENT}
        for sourced_id, (user, username, field) in observers.items():
            try:
                domain = self._observer_domain(user, links[sourced_id], students)
            except _Unmapped as exc:
                self._unmapped("users", user, exc)
                continue
            candidates.append(_Candidate(user, UserKind.OBSERVER, domain, username, field))
        for candidate in self._unique_usernames(candidates):
            self._add_user(candidate)
        self._add_links(links)

    def _user_kind(self, user: User) -> UserKind:
        role = _role(user.role)
        if role in OBSERVER_ROLES:
            if not self.settings.observers:
                raise _Unmapped(
                    "role", f"{role}s are not rostered while observers are off", skip=True
                )
            return UserKind.OBSERVER
        kind = _ROSTERED_ROLES.get(role)
        if kind is None:
            raise _Unmapped(
                "role",
                f"users of role {role or 'none'} are not rostered; students, teachers and "
                "observers are",
                skip=True,
            )
        return kind

    def _check_names(self, user: User) -> None:
        given, family = _text(user.given_name), _text(user.family_name)
        if not given and not family:
            raise _Unmapped(None, "givenName and familyName are empty; Buzz needs both names")
        if not given:
            raise _Unmapped("givenName", "is empty; Buzz needs a first name")
        if not family:
            raise _Unmapped("familyName", "is empty; Buzz needs a last name")

    def _username(self, user: User) -> tuple[str, str]:
        scheme = self.settings.username_scheme
        if scheme is UsernameScheme.SOURCED_ID:
            value, field = user.sourced_id, "sourcedId"
        elif scheme is UsernameScheme.EMAIL:
            value, field = _text(user.email), "email"
        else:
            value, field = _text(user.username), "username"
        if not value:
            raise _Unmapped(field, f"is empty; the username scheme {scheme.value!r} needs it")
        if "/" in value or _SPACE.search(value):
            raise _Unmapped(
                field, "holds a space or '/', which a Buzz login (userspace/username) cannot"
            )
        return value, field

    def _primary_domain(self, user: User) -> str | None:
        """The first school in ``orgs``; the district when the orgs name only it."""
        in_district = False
        for ref in user.orgs:
            if ref.sourced_id in self.state.domains:
                return ref.sourced_id
            in_district = in_district or ref.sourced_id in self.districts
        if in_district:
            return None
        if not user.orgs:
            raise _Unmapped("orgs", "is empty; a user needs a school or the district")
        problems = "; ".join(self._org_problem(ref.sourced_id) for ref in user.orgs[:3])
        raise _Unmapped("orgs", f"names no school or district that could be mapped ({problems})")

    def _unique_usernames(self, candidates: list[_Candidate]) -> list[_Candidate]:
        owners: dict[tuple[str | None, str], str] = {}
        winners = []
        for candidate in sorted(candidates, key=lambda c: c.user.sourced_id):
            sourced_id = candidate.user.sourced_id
            owner = owners.setdefault((candidate.domain, candidate.username.casefold()), sourced_id)
            if owner != sourced_id:
                reason = (
                    f"gives the same Buzz username as users/{owner} in the same domain "
                    "(usernames are compared ignoring case); the first by sourcedId keeps it"
                )
                self._unmapped("users", candidate.user, _Unmapped(candidate.username_field, reason))
                continue
            winners.append(candidate)
        return winners

    def _add_user(self, candidate: _Candidate) -> None:
        user = candidate.user
        self.state.users[user.sourced_id] = DesiredUser(
            reference=user.sourced_id,
            domain_reference=candidate.domain,
            username=candidate.username,
            email=_text(user.email),
            first_name=_text(user.given_name),
            last_name=_text(user.family_name),
            kind=candidate.kind,
        )

    # --- observers ------------------------------------------------------------------------

    def _links(self, observers: list[User]) -> dict[str, list[str]]:
        """Observer sourcedId -> linked student sourcedIds, from ``agents`` on both sides."""
        links: dict[str, list[str]] = {user.sourced_id: [] for user in observers}
        for observer in observers:
            for ref in observer.agents or ():
                if self._agent_is(ref.sourced_id, "student", observer):
                    _append_new(links[observer.sourced_id], ref.sourced_id)
        for user in self.user_index.values():
            if _role(user.role) != "student" or self._is("removed", "users", user.sourced_id):
                continue
            for ref in user.agents or ():
                if ref.sourced_id in links:
                    _append_new(links[ref.sourced_id], user.sourced_id)
                else:
                    self._agent_is(ref.sourced_id, "observer", user)
        return links

    def _agent_is(self, sourced_id: str, wanted: str, holder: User) -> bool:
        """Whether an agent is a (possible) ``wanted`` user; an unknown agent is an issue."""
        agent = self.user_index.get(sourced_id)
        if agent is not None:
            role = _role(agent.role)
            return role == "student" if wanted == "student" else role in OBSERVER_ROLES
        if self.changed_only:
            return True  # an unchanged user Buzz already holds
        if not self._is("failed", "users", holder.sourced_id):
            self._issue("users", holder, "agents", f"users/{sourced_id} is not in the roster")
        return False

    def _observer_domain(
        self, observer: User, linked: list[str], students: Mapping[str, str | None]
    ) -> str | None:
        for sourced_id in linked:
            if sourced_id in students:
                return students[sourced_id]
        if self.changed_only and any(sid not in self.user_index for sid in linked):
            return self._primary_domain(observer)
        raise _Unmapped(
            "agents",
            "links to no rostered student; an observer is rostered with the students it observes",
            skip=True,
        )

    def _add_links(self, links: Mapping[str, list[str]]) -> None:
        users = self.state.users
        for observer, students in sorted(links.items()):
            if observer not in users:
                continue
            for student in sorted(students):
                known = student in users and users[student].kind is UserKind.STUDENT
                assumed = self.changed_only and student not in self.user_index
                if known or assumed:
                    self.state.observer_links.append(
                        DesiredObserverLink(
                            observer_reference=observer,
                            student_reference=student,
                            rights=self.settings.observer_rights,
                        )
                    )

    # --- enrollments ----------------------------------------------------------------------

    def _map_enrollment(self, record: Enrollment) -> None:
        class_id, user_id = record.class_.sourced_id, record.user.sourced_id
        if self._is("removed", "classes", class_id):
            raise _Unmapped("class", f"classes/{class_id} is to be deleted", deleted=True)
        if self._is("removed", "users", user_id):
            raise _Unmapped("user", f"users/{user_id} is to be deleted", deleted=True)
        role = _role(record.role)
        role_ids = self.role_ids
        if role not in role_ids:
            raise _Unmapped(
                "role",
                f"enrollments of role {role or 'none'} are not rostered; student and teacher "
                "enrollments are",
            )
        self._check_class(class_id)
        self._check_user(user_id)
        start, end = self._enrollment_dates(record)
        self.state.enrollments[record.sourced_id] = DesiredEnrollment(
            reference=record.sourced_id,
            user_reference=user_id,
            course_reference=class_id,
            role_id=role_ids[role],
            status=EnrollmentStatus.ACTIVE,
            start_date=start,
            end_date=end,
        )

    def _check_class(self, sourced_id: str) -> None:
        if sourced_id in self.state.courses:
            return
        if sourced_id in self.class_index:
            raise _Unmapped("class", f"classes/{sourced_id} could not be mapped (see its issue)")
        raise _Unmapped("class", f"classes/{sourced_id} is not in the roster")

    def _check_user(self, sourced_id: str) -> None:
        if sourced_id in self.state.users:
            return
        user = self.user_index.get(sourced_id)
        if user is None:
            if self.changed_only:
                return  # an unchanged user Buzz already holds
            raise _Unmapped("user", f"users/{sourced_id} is not in the roster")
        if self._is("failed", "users", sourced_id):
            raise _Unmapped("user", f"users/{sourced_id} could not be mapped (see its issue)")
        role = _role(user.role) or "none"
        raise _Unmapped("user", f"users/{sourced_id} is not rostered (role {role})")

    def _enrollment_dates(self, record: Enrollment) -> tuple[datetime | None, datetime | None]:
        if self.settings.ignore_sis_dates:
            return None, None
        dates = self.class_dates.get(record.class_.sourced_id, _Dates())
        start = self._start(record.begin_date) if record.begin_date else dates.start
        end = self._end(record.end_date) if record.end_date else dates.end
        if start is not None and end is not None and end < start:
            field = "endDate" if record.end_date else "beginDate"
            raise _Unmapped(field, "the enrollment would end before it begins")
        return start, end


def _append_new(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)
