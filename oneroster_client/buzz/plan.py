"""Planning: the Buzz operations that bring Buzz from what it holds to what the SIS says.

:func:`plan_roster` compares a :class:`~oneroster_client.buzz.desired.DesiredState` with a
:class:`~oneroster_client.buzz.current.BuzzState` and returns a :class:`Plan`: creates,
updates (with only the fields that differ), withdrawals, deletes and observer grants and
revocations, in dependency order. Nothing is sent: :func:`~oneroster_client.buzz.apply.
apply_plan` does that, and a plan can be shown to an administrator first.

Matching: an object is found by its ``reference`` (the OneRoster ``sourcedId``). A user
that is not found so may adopt an existing Buzz user without a reference in the same
domain with the same username, then the same e-mail (per ``user_matching``): the plan
then sets that user's reference instead of creating a second account. An enrollment not
found by reference adopts an unreferenced enrollment of the same user in the same course.

Safety:

- no removal at all is planned from an incomplete OneRoster read or an incomplete Buzz
  read; from an incremental read (``DesiredState.changed_only``), where a missing record
  is unchanged rather than gone, only the records the SIS marks deleted
  (``DesiredState.deleted``) are removed; ``removals_suppressed`` says which applies;
- no create is planned from an incomplete Buzz read (an object whose listing failed
  would be created a second time); ``creates_suppressed`` says so;
- users are never deleted unless ``cascade_deletes`` (a user delete takes the user's
  enrollments); courses are deleted only when ``unshared_courses`` is ``delete`` *and*
  ``cascade_deletes`` (a course delete takes its enrollments); domains only with
  ``delete_domains``, and only when nothing would be taken along that stays, unless
  ``cascade_deletes``;
- enrollments no longer in the SIS are withdrawn (status 4) by default, or set inactive
  (10), deleted or left alone, per ``unshared_enrollments``; only active ones are
  withdrawn or set inactive, so a completed enrollment keeps its status;
- when the removals of one entity type exceed ``removal_threshold`` of the managed
  objects of that type in Buzz, or ``removal_cap``, the plan is *held*: it is applied only
  when approved by ``approve=True`` or its :attr:`Plan.id`.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs

from oneroster_client import _gc
from oneroster_client.buzz._wire import NO_END, NO_START
from oneroster_client.buzz.current import BuzzState
from oneroster_client.buzz.desired import (
    DesiredCourse,
    DesiredDomain,
    DesiredEnrollment,
    DesiredState,
    DesiredUser,
    SourceRecord,
    ValidationIssue,
)
from oneroster_client.buzz.entities import BuzzCourse, BuzzEnrollment, BuzzUser, Domain
from oneroster_client.buzz.enums import CopyAction, EnrollmentStatus, Rights
from oneroster_client.buzz.settings import CourseRemoval, EnrollmentRemoval, RosterSettings

__all__ = ["ENTITIES", "Action", "Operation", "Plan", "Ref", "plan_roster"]

ENTITIES = ("domains", "users", "courses", "enrollments", "observers")
"""The entity names of operations, in dependency order."""


class Action(enum.StrEnum):
    """What an operation does."""

    CREATE = "create"
    UPDATE = "update"
    WITHDRAW = "withdraw"
    DELETE = "delete"
    GRANT = "grant"
    REVOKE = "revoke"


REMOVALS = frozenset({Action.WITHDRAW, Action.DELETE, Action.REVOKE})
"""The actions that take something away; they are held back by the safety rules."""


@attrs.frozen(order=True)
class Ref:
    """The Buzz id of an object this plan creates, known only once the create lands.

    Attributes:
        entity: ``"domains"``, ``"users"`` or ``"courses"``.
        reference: the object's reference (OneRoster sourcedId).
    """

    entity: str
    reference: str

    def __str__(self) -> str:
        return f"{self.entity}/{self.reference}"


@attrs.frozen(kw_only=True)
class Operation:
    """One change to one Buzz object.

    Attributes:
        entity: ``"domains"``, ``"users"``, ``"courses"``, ``"enrollments"`` or
            ``"observers"``.
        action: what to do.
        reference: the OneRoster sourcedId (observers: ``"observerRef->studentRef"``).
        buzz_id: the existing Buzz object (updates, withdrawals, deletes; observers: the
            observer's user id when known).
        payload: the DLAP item to send; ids of objects created earlier in the same apply
            are :class:`Ref` values.
        changes: for updates, the DLAP fields that differ.
        source: the OneRoster record the operation comes from (``None`` for removals).
    """

    entity: str
    action: Action
    reference: str
    buzz_id: str | None
    payload: dict[str, Any] = attrs.field(repr=False)
    changes: tuple[str, ...] = ()
    source: SourceRecord | None = None


@attrs.frozen(kw_only=True)
class Plan:
    """What an apply would do, and whether it may.

    Attributes:
        id: a stable hash of the operations; a held plan is approved by it.
        operations: in dependency order (domains, users, courses, enrollments,
            observers; within each, updates before creates; removals last, in reverse
            order), sorted by reference within each group.
        unchanged: per entity, the desired objects Buzz already holds as they should be.
        issues: records that could not be mapped or planned.
        held: the removals exceed the threshold or cap; apply only with approval.
        hold_reason: which entity, how many, and which limit.
        removals_suppressed: why no removals, or only those of records the SIS marks
            deleted, were planned.
        creates_suppressed: why no creates were planned, if so: from an incomplete Buzz
            read, an object that is not found may still exist (its listing failed), and
            creating it again would duplicate it.
        warnings: things an administrator should know (duplicates in Buzz, deletes the
            settings ask for but do not allow, ambiguous matches).
    """

    id: str
    operations: list[Operation]
    unchanged: dict[str, int]
    issues: list[ValidationIssue] = attrs.field(factory=list)
    held: bool = False
    hold_reason: str | None = None
    removals_suppressed: str | None = None
    creates_suppressed: str | None = None
    warnings: list[str] = attrs.field(factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        """Operations per entity and action, e.g. ``{"users": {"create": 3}}``."""
        counts: dict[str, dict[str, int]] = {}
        for operation in self.operations:
            per = counts.setdefault(operation.entity, {})
            per[operation.action.value] = per.get(operation.action.value, 0) + 1
        return counts

    @property
    def empty(self) -> bool:
        """``True`` when there is nothing to do."""
        return not self.operations


def format_buzz_date(value: datetime | None, open_end: str) -> str:
    """A date as sent to Buzz (UTC, whole seconds), or the open sentinel for ``None``."""
    if value is None:
        return open_end
    if value.tzinfo is not UTC:  # the cache key must be the instant itself (DST folds)
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return _buzz_date_text(value)


@functools.lru_cache(maxsize=4096)
def _buzz_date_text(value: datetime) -> str:
    # A district has few distinct dates (terms, enrollment starts): format each once.
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


_DATE_FIELDS = frozenset({"startdate", "enddate"})


def _diff(wanted: dict[str, Any], have: dict[str, Any]) -> tuple[str, ...]:
    return tuple(name for name, value in wanted.items() if have.get(name) != value)


def _fold(text: str | None) -> str:
    return (text or "").strip().casefold()


DomainId = str | Ref
_Desired = DesiredDomain | DesiredUser | DesiredCourse | DesiredEnrollment
T = TypeVar("T")
_COLLECTIONS = {
    "domains": "orgs",
    "users": "users",
    "courses": "classes",
    "enrollments": "enrollments",
}
"""The OneRoster collection each entity's references come from."""


@attrs.define
class _Planner:
    """Builds the operation lists of one plan."""

    desired: DesiredState
    current: BuzzState
    settings: RosterSettings
    removals: bool  # "absent means gone": a complete, full read on both sides
    explicit: bool = False  # only what the SIS marks deleted (a complete incremental read)
    creates: bool = True
    dropped: int = 0
    ops: dict[str, list[Operation]] = attrs.field(factory=dict)
    removal_ops: dict[str, list[Operation]] = attrs.field(factory=dict)
    unchanged: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(ENTITIES, 0))
    issues: list[ValidationIssue] = attrs.field(factory=list)
    warnings: list[str] = attrs.field(factory=list)
    user_ids: dict[str, DomainId] = attrs.field(factory=dict)
    course_ids: dict[str, DomainId] = attrs.field(factory=dict)
    adopted_enrollments: set[str] = attrs.field(factory=set)
    user_indexes: dict[str, dict[tuple[str | None, str], list[BuzzUser]]] = attrs.field(
        factory=dict
    )
    adoptable: dict[tuple[str | None, str | None], list[BuzzEnrollment]] | None = None

    def add(self, operation: Operation) -> None:
        if not self.creates and (
            operation.action is Action.CREATE
            or any(isinstance(value, Ref) for value in operation.payload.values())
        ):
            self.dropped += 1  # it creates, or needs, an object Buzz may already hold
            return
        target = self.removal_ops if operation.action in REMOVALS else self.ops
        target.setdefault(operation.entity, []).append(operation)

    def issue(self, source: SourceRecord, field: str, reason: str) -> None:
        self.issues.append(ValidationIssue(source=source, field=field, reason=reason))

    def upsert(
        self,
        entity: str,
        reference: str,
        existing: tuple[str, dict[str, Any]] | None,
        wanted: dict[str, Any],
        origin: _Desired,
    ) -> None:
        """Plan an update of the fields that differ, or count the object unchanged."""
        if existing is None:
            return
        buzz_id, have = existing
        # Most objects are unchanged on a routine run: one comparison at C speed first.
        changes = () if wanted == have else _diff(wanted, have)
        if not changes:
            self.unchanged[entity] += 1
            return
        id_key = {"domains": "domainid", "users": "userid", "courses": "courseid"}.get(
            entity, "enrollmentid"
        )
        payload = {id_key: buzz_id, **{name: wanted[name] for name in changes}}
        self.add(
            Operation(
                entity=entity,
                action=Action.UPDATE,
                reference=reference,
                buzz_id=buzz_id,
                payload=payload,
                changes=changes,
                source=origin.source,
            )
        )

    def domain_id(self, reference: str | None) -> DomainId | None:
        """The Buzz id of a school domain (the district's for ``None``), or a Ref."""
        if reference is None:
            return self.current.parent_domain_id
        found = self.current.domains.get(reference)
        if found is not None and found.id:
            return found.id
        if reference in self.desired.domains:
            return Ref("domains", reference)
        return None

    def user_id(self, reference: str) -> DomainId | None:
        """A user's Buzz id (or Ref): planned this run, else found in Buzz (a user an
        incremental read did not return because it did not change)."""
        if reference in self.user_ids:
            return self.user_ids[reference]
        found = self.current.users.get(reference)
        return found.id if found is not None and found.id else None

    def course_id(self, reference: str) -> DomainId | None:
        """A course's Buzz id (or Ref), like :meth:`user_id`."""
        if reference in self.course_ids:
            return self.course_ids[reference]
        found = self.current.courses.get(reference)
        return found.id if found is not None and found.id else None

    # -- domains -------------------------------------------------------------------------

    def plan_domains(self) -> None:
        for reference in sorted(self.desired.domains):
            domain = self.desired.domains[reference]
            wanted = {"name": domain.name, "userspace": domain.userspace}
            found = self.current.domains.get(reference)
            if found is not None and found.id:
                have = {"name": found.name, "userspace": found.userspace}
                self.upsert("domains", reference, (found.id, have), wanted, domain)
                continue
            payload = {"parentid": self.current.parent_domain_id, **wanted}
            payload["reference"] = reference
            self.add(_create("domains", reference, payload, domain.source))

    # -- users ---------------------------------------------------------------------------

    def plan_users(self) -> None:
        claimed: set[str] = set()
        for reference in sorted(self.desired.users):
            user = self.desired.users[reference]
            domain_id = self.domain_id(user.domain_reference)
            if domain_id is None:
                self.issue(user.source, "orgs", _no_domain(user.domain_reference))
                continue
            wanted = _user_fields(user, domain_id)
            found = self.current.users.get(reference)
            if found is None or not found.id:
                found = self.adopt_user(user, domain_id, claimed)
                if found is not None and found.id:
                    wanted["reference"] = reference
            if found is not None and found.id:
                self.user_ids[reference] = found.id
                have = _current_user_fields(found)
                self.upsert("users", reference, (found.id, have), wanted, user)
                continue
            self.user_ids[reference] = Ref("users", reference)
            self.add(_create("users", reference, {**wanted, "reference": reference}, user.source))

    def adopt_user(
        self, user: DesiredUser, domain_id: DomainId, claimed: set[str]
    ) -> BuzzUser | None:
        """An unreferenced Buzz user in the same domain with the same username or e-mail."""
        if isinstance(domain_id, Ref):
            return None
        for rule in self.settings.user_matching:
            key = {"username": "username", "email": "email"}.get(str(rule))
            wanted = _fold(getattr(user, key)) if key else ""
            if key is None or not wanted:
                continue
            matches = [
                u
                for u in self.unmanaged_users_by(key).get((domain_id, wanted), ())
                if u.id and u.id not in claimed
            ]
            if len(matches) == 1 and matches[0].id:
                claimed.add(matches[0].id)
                return matches[0]
            if len(matches) > 1:
                self.warnings.append(
                    f"users/{user.reference}: {len(matches)} Buzz users without a reference "
                    f"in domain {domain_id} share its {key}; none adopted"
                )
                return None
        return None

    def unmanaged_users_by(self, key: str) -> dict[tuple[str | None, str], list[BuzzUser]]:
        """Unreferenced Buzz users by (domain id, folded ``key``), built once per key:
        adopting must not scan every Buzz user for every new user."""
        index = self.user_indexes.get(key)
        if index is None:
            index = self.user_indexes[key] = {}
            for u in self.current.unmanaged_users:
                index.setdefault((u.domain_id, _fold(getattr(u, key))), []).append(u)
        return index

    # -- courses -------------------------------------------------------------------------

    def plan_courses(self) -> None:
        for reference in sorted(self.desired.courses):
            course = self.desired.courses[reference]
            domain_id = self.domain_id(course.domain_reference)
            if domain_id is None:
                self.issue(course.source, "school", _no_domain(course.domain_reference))
                continue
            wanted = _course_fields(course, domain_id)
            found = self.current.courses.get(reference)
            if found is not None and found.id:
                self.course_ids[reference] = found.id
                have = {
                    "domainid": found.domain_id,
                    "title": found.title,
                    "startdate": format_buzz_date(found.start_date, NO_START),
                    "enddate": format_buzz_date(found.end_date, NO_END),
                    "term": found.term or "",
                }
                wanted = self.dates_left_alone(wanted)
                self.upsert("courses", reference, (found.id, have), wanted, course)
                continue
            self.course_ids[reference] = Ref("courses", reference)
            payload = {**wanted, "reference": reference}
            if course.base_course_id:
                payload = {
                    "courseid": course.base_course_id,
                    "action": CopyAction.DERIVATIVE_CHILD.value,
                    **payload,
                }
            else:
                payload["schema"] = 3
            self.add(_create("courses", reference, payload, course.source))

    # -- enrollments ---------------------------------------------------------------------

    def plan_enrollments(self) -> None:
        claimed = self.adopted_enrollments
        for reference in sorted(self.desired.enrollments):
            enrollment = self.desired.enrollments[reference]
            user_id = self.user_id(enrollment.user_reference)
            course_id = self.course_id(enrollment.course_reference)
            if user_id is None or course_id is None:
                field, missing = (
                    ("user", f"users/{enrollment.user_reference}")
                    if user_id is None
                    else ("class", f"classes/{enrollment.course_reference}")
                )
                self.issue(
                    enrollment.source,
                    field,
                    f"{missing} is neither in Buzz nor planned; enrollment not planned",
                )
                continue
            if not str(enrollment.role_id).strip():
                self.issue(enrollment.source, "role", "no Buzz role id; enrollment not planned")
                continue
            wanted = _enrollment_fields(enrollment, user_id, course_id)
            found = self.current.enrollments.get(reference)
            if found is None or not found.id:
                found = self.adopt_enrollment(user_id, course_id, claimed)
                if found is not None:
                    wanted["reference"] = reference
            if found is not None and found.id:
                have = _current_enrollment_fields(found)
                wanted = self.dates_left_alone(wanted)
                self.upsert("enrollments", reference, (found.id, have), wanted, enrollment)
                continue
            payload = {**wanted, "reference": reference}
            self.add(_create("enrollments", reference, payload, enrollment.source))

    def dates_left_alone(self, wanted: dict[str, Any]) -> dict[str, Any]:
        """With ``ignore_sis_dates``, updates never touch the dates set in Buzz.

        Creates still send open dates (Buzz's "no start" and "no end" sentinels), so a new
        course or enrollment is open until someone in Buzz dates it.
        """
        if not self.settings.ignore_sis_dates:
            return wanted
        return {name: value for name, value in wanted.items() if name not in _DATE_FIELDS}

    def adopt_enrollment(
        self, user_id: DomainId, course_id: DomainId, claimed: set[str]
    ) -> BuzzEnrollment | None:
        """An enrollment of the same user in the same course that no desired record holds:
        one without a reference, or (from a full, complete read) one whose reference the
        SIS no longer has. Buzz refuses a second enrollment of the pair, so creating one
        would fail on every run."""
        if isinstance(user_id, Ref) or isinstance(course_id, Ref):
            return None
        if self.adoptable is None:  # built once: not a scan of Buzz per enrollment
            candidates = list(self.current.unmanaged_enrollments)
            if self.removals:
                candidates += [
                    e
                    for ref, e in sorted(self.current.enrollments.items())
                    if ref not in self.desired.enrollments
                ]
            self.adoptable = {}
            for candidate in candidates:
                key = (candidate.user_id, candidate.course_id)
                self.adoptable.setdefault(key, []).append(candidate)
        for candidate in self.adoptable.get((user_id, course_id), ()):
            if candidate.id and candidate.id not in claimed:
                claimed.add(candidate.id)
                return candidate
        return None

    # -- observers -----------------------------------------------------------------------

    def plan_observers(self) -> None:
        if not self.settings.observers:
            return
        links = sorted(
            self.desired.observer_links, key=lambda k: (k.observer_reference, k.student_reference)
        )
        for link in links:
            key = (link.observer_reference, link.student_reference)
            reference = f"{key[0]}->{key[1]}"
            actor = self.user_id(key[0])
            student = self.user_id(key[1])
            if actor is None or student is None:
                missing = key[0] if actor is None else key[1]
                self.issue(link.source, "agents", f"users/{missing} is neither in Buzz nor planned")
                continue
            have = self.current.rights.get(key)
            held = Rights(int(have.flags or 0)) if have is not None else Rights.NONE
            wanted = Rights(int(link.rights))
            if have is not None and held & wanted == wanted:
                self.unchanged["observers"] += 1
                continue
            payload = {"actorid": actor, "entityid": student, "flags": int(held | wanted)}
            self.add(
                Operation(
                    entity="observers",
                    action=Action.GRANT,
                    reference=reference,
                    buzz_id=actor if isinstance(actor, str) else None,
                    payload=payload,
                    changes=("flags",),
                    source=link.source,
                )
            )

    # -- removals ------------------------------------------------------------------------

    def gone(self, entity: str, mapping: Mapping[str, T]) -> list[tuple[str, T]]:
        """The managed objects of ``entity`` the SIS no longer has: absent from a full
        read, or (incremental read) among the records it marks deleted."""
        desired: Mapping[str, Any] = getattr(self.desired, entity)
        marked = {
            source.sourced_id
            for source in self.desired.deleted
            if source.collection == _COLLECTIONS[entity]
        }
        return sorted(
            (reference, found)
            for reference, found in mapping.items()
            if reference not in desired and (self.removals or reference in marked)
        )

    def plan_removals(self) -> None:
        deleted_users = self.remove_users()
        deleted_courses = self.remove_courses()
        self.remove_enrollments(deleted_users | deleted_courses)
        self.remove_observers(deleted_users)
        self.remove_domains(deleted_users | deleted_courses)

    def remove_users(self) -> set[str]:
        gone = self.gone("users", self.current.users)
        if not gone:
            return set()
        if not self.settings.cascade_deletes:
            self.warnings.append(
                f"users: {len(gone)} managed Buzz user(s) are no longer in the SIS and are kept "
                "(a user delete takes the user's enrollments; set cascade_deletes to allow it)"
            )
            return set()
        for reference, user in gone:
            self.add(_removal("users", Action.DELETE, reference, user.id, "userid"))
        return {user.id for _, user in gone if user.id}

    def remove_courses(self) -> set[str]:
        gone = self.gone("courses", self.current.courses)
        if not gone or self.settings.unshared_courses is not CourseRemoval.DELETE:
            return set()
        if not self.settings.cascade_deletes:
            self.warnings.append(
                f"courses: {len(gone)} course(s) are no longer shared but not deleted: a course "
                "delete takes its enrollments; set cascade_deletes to allow it"
            )
            return set()
        for reference, course in gone:
            self.add(_removal("courses", Action.DELETE, reference, course.id, "courseid"))
        return {course.id for _, course in gone if course.id}

    def remove_enrollments(self, deleted: set[str]) -> None:
        policy = self.settings.unshared_enrollments
        if policy is EnrollmentRemoval.NOTHING:
            return
        target = (
            EnrollmentStatus.INACTIVE
            if policy is EnrollmentRemoval.INACTIVE
            else EnrollmentStatus.WITHDRAWN
        )
        for reference, found in self.gone("enrollments", self.current.enrollments):
            if (
                not found.id
                or found.id in self.adopted_enrollments
                or found.user_id in deleted
                or found.course_id in deleted
            ):
                continue
            if policy is EnrollmentRemoval.DELETE:
                self.add(
                    _removal("enrollments", Action.DELETE, reference, found.id, "enrollmentid")
                )
            elif found.status in (None, EnrollmentStatus.ACTIVE):
                operation = _removal(
                    "enrollments", Action.WITHDRAW, reference, found.id, "enrollmentid"
                )
                operation.payload["status"] = int(target)
                self.add(attrs.evolve(operation, changes=("status",)))

    def remove_observers(self, deleted_users: set[str]) -> None:
        if not self.settings.observers:
            return
        mask = Rights(int(self.settings.observer_rights))
        wanted = {(k.observer_reference, k.student_reference) for k in self.desired.observer_links}
        # An incremental read knows a link is gone only when a user of it is deleted.
        gone_users = {reference for reference, _ in self.gone("users", self.current.users)}
        for key, grant in sorted(self.current.rights.items()):
            held = Rights(int(grant.flags or 0))
            actor, student = self.current.users[key[0]].id, self.current.users[key[1]].id
            if not self.removals and not set(key) & gone_users:
                continue
            if key in wanted or not held & mask or not actor or {actor, student} & deleted_users:
                continue
            payload = {"actorid": actor, "entityid": student, "flags": int(held & ~mask)}
            self.add(
                Operation(
                    entity="observers",
                    action=Action.REVOKE,
                    reference=f"{key[0]}->{key[1]}",
                    buzz_id=actor,
                    payload=payload,
                    changes=("flags",),
                )
            )

    def remove_domains(self, deleted: set[str]) -> None:
        gone = self.gone("domains", self.current.domains)
        if not gone:
            return
        if not self.settings.delete_domains:
            self.warnings.append(
                f"domains: {len(gone)} school domain(s) are no longer in the SIS and are kept "
                "(set delete_domains to delete them)"
            )
            return
        going = {d.id for _, d in gone if d.id}
        for reference, domain in gone:
            managed, unmanaged = self.staying_in(domain.id or "", going, deleted)
            if unmanaged:
                self.warnings.append(
                    f"domains/{reference} not deleted: it holds {unmanaged} object(s) the sync "
                    "did not create, which Buzz would delete with it"
                )
            elif managed and not self.settings.cascade_deletes:
                self.warnings.append(
                    f"domains/{reference} not deleted: Buzz would delete {managed} synced "
                    "object(s) that stay with it (set cascade_deletes to allow it)"
                )
            else:
                self.add(_removal("domains", Action.DELETE, reference, domain.id, "domainid"))

    def staying_in(self, domain_id: str, going: set[str], deleted: set[str]) -> tuple[int, int]:
        """The synced and the unsynced users, courses and subdomains a delete of
        ``domain_id`` would take that this plan does not delete itself."""
        current = self.current
        parents = {
            d.id: d.parent_id for d in [*current.domains.values(), *current.unmanaged_domains]
        }
        subtree = {domain_id}
        grew = True
        while grew:
            below = {child for child, parent in parents.items() if parent in subtree and child}
            grew = not below <= subtree
            subtree |= below
        managed: list[BuzzUser | BuzzCourse | Domain] = [
            *current.users.values(),
            *current.courses.values(),
            *(d for d in current.domains.values() if d.id != domain_id),
        ]
        unmanaged: list[BuzzUser | BuzzCourse | Domain] = [
            *current.unmanaged_users,
            *current.unmanaged_courses,
            *current.unmanaged_domains,
        ]

        leaving = deleted | going

        def inside(entity: BuzzUser | BuzzCourse | Domain) -> bool:
            home = entity.parent_id if isinstance(entity, Domain) else entity.domain_id
            return home in subtree and entity.id not in leaving

        return sum(map(inside, managed)), sum(map(inside, unmanaged))

    # -- the whole plan ------------------------------------------------------------------

    def operations(self) -> list[Operation]:
        """Updates, creates and grants in dependency order, then removals in reverse."""
        # Updates first within an entity: a renamed user (or domain) frees its username
        # (userspace) for a create in the same run.
        rank = {Action.UPDATE: 0, Action.CREATE: 1, Action.GRANT: 2}
        ordered: list[Operation] = []
        for entity in ENTITIES:
            group = self.ops.get(entity, [])
            ordered += sorted(group, key=lambda o: (rank.get(o.action, 3), o.reference))
        for entity in ("enrollments", "observers", "courses", "users", "domains"):
            ordered += sorted(self.removal_ops.get(entity, []), key=lambda o: o.reference)
        return ordered

    def hold_reason(self, operations: list[Operation]) -> str | None:
        """Why the removals need approval: per entity, the share or count over the limit."""
        threshold = float(self.settings.removal_threshold)
        cap = self.settings.removal_cap
        totals = self.current.managed_counts()
        reasons = []
        for entity in ENTITIES:
            count = sum(1 for o in operations if o.entity == entity and o.action in REMOVALS)
            total = totals[entity]
            if count and count > threshold * total:
                reasons.append(
                    f"{entity}: {count} of {total} managed in Buzz would be removed "
                    f"({count / max(total, 1):.0%}), above removal_threshold {threshold:.0%}"
                )
            elif cap is not None and count > cap:
                reasons.append(f"{entity}: {count} would be removed, above removal_cap {cap}")
        return "; ".join(reasons) or None


def _create(
    entity: str, reference: str, payload: dict[str, Any], source: SourceRecord
) -> Operation:
    return Operation(
        entity=entity,
        action=Action.CREATE,
        reference=reference,
        buzz_id=None,
        payload=payload,
        source=source,
    )


def _removal(
    entity: str, action: Action, reference: str, buzz_id: str | None, id_key: str
) -> Operation:
    return Operation(
        entity=entity,
        action=action,
        reference=reference,
        buzz_id=buzz_id,
        payload={id_key: buzz_id},
    )


def _no_domain(reference: str | None) -> str:
    return f"its school domain orgs/{reference} is neither in Buzz nor planned; not planned"


def _user_fields(user: DesiredUser, domain_id: DomainId) -> dict[str, Any]:
    return {
        "domainid": domain_id,
        "username": user.username,
        "email": user.email,
        "firstname": user.first_name,
        "lastname": user.last_name,
    }


def _current_user_fields(user: BuzzUser) -> dict[str, Any]:
    return {
        "domainid": user.domain_id,
        "username": user.username or "",
        "email": user.email or "",
        "firstname": user.first_name or "",
        "lastname": user.last_name or "",
    }


def _course_fields(course: DesiredCourse, domain_id: DomainId) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "domainid": domain_id,
        "title": course.title,
        "startdate": format_buzz_date(course.start_date, NO_START),
        "enddate": format_buzz_date(course.end_date, NO_END),
    }
    if course.term is not None:
        fields["term"] = course.term
    return fields


def _enrollment_fields(
    enrollment: DesiredEnrollment, user_id: DomainId, course_id: DomainId
) -> dict[str, Any]:
    return {
        "userid": user_id,
        "entityid": course_id,
        "roleid": str(enrollment.role_id),
        "status": int(enrollment.status),
        "startdate": format_buzz_date(enrollment.start_date, NO_START),
        "enddate": format_buzz_date(enrollment.end_date, NO_END),
    }


def _current_enrollment_fields(enrollment: BuzzEnrollment) -> dict[str, Any]:
    return {
        "userid": enrollment.user_id,
        "entityid": enrollment.course_id,
        "roleid": enrollment.role_id,
        "status": None if enrollment.status is None else int(enrollment.status),
        "startdate": format_buzz_date(enrollment.start_date, NO_START),
        "enddate": format_buzz_date(enrollment.end_date, NO_END),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Ref):
        return {"$ref": [value.entity, value.reference]}
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def plan_id(operations: Iterable[Operation]) -> str:
    """A stable hash of the operations (what they do, not where they come from)."""
    canonical = [
        [o.entity, o.action.value, o.reference, o.buzz_id, o.payload, list(o.changes)]
        for o in operations
    ]
    text = json.dumps(canonical, sort_keys=True, default=_jsonable, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _suppressed(desired: DesiredState, current: BuzzState) -> str | None:
    reasons = []
    if not desired.complete:
        why = "; ".join(desired.incomplete_reasons) or "no reason given"
        reasons.append(f"the OneRoster read was incomplete ({why})")
    if not current.complete:
        why = "; ".join(current.incomplete_reasons) or "no reason given"
        reasons.append(f"the Buzz read was incomplete ({why})")
    if desired.changed_only and not reasons:
        reasons.append(
            "the OneRoster read was incremental (only records changed since the last run), "
            "so a record missing from it is not gone: only records the SIS marks deleted "
            "are removed"
        )
    elif desired.changed_only:
        reasons.append("the OneRoster read was incremental")
    return "; ".join(reasons) or None


def _creates_suppressed(current: BuzzState, dropped: int) -> str | None:
    if current.complete or not dropped:
        return None
    return (
        f"{dropped} operation(s) that create objects, or need objects to be created, were "
        "not planned: the Buzz read was incomplete, so those objects may exist already "
        f"({'; '.join(current.incomplete_reasons)})"
    )


def _duplicate_warnings(current: BuzzState) -> list[str]:
    return [
        f"{entity}: Buzz holds {len(ids)} more object(s) whose reference another one already "
        f"carries (ids {', '.join(ids)}); only the one with the lowest id is synced"
        for entity, ids in sorted(current.duplicates.items())
        if ids
    ]


def plan_roster(desired: DesiredState, current: BuzzState, settings: RosterSettings) -> Plan:
    """Plan the Buzz operations that make Buzz hold what ``desired`` says.

    Args:
        desired: what the SIS says Buzz should hold.
        current: what Buzz holds (:func:`~oneroster_client.buzz.current.read_buzz_state`).
        settings: the district's settings (removal policies, thresholds, matching).

    Returns:
        The plan; nothing is sent. ``plan.held`` tells whether it needs approval.
    """
    with _gc.paused():  # a district's worth of small objects; see oneroster_client._gc
        return _plan(desired, current, settings)


def _plan(desired: DesiredState, current: BuzzState, settings: RosterSettings) -> Plan:
    suppressed = _suppressed(desired, current)
    both_complete = desired.complete and current.complete
    planner = _Planner(
        desired,
        current,
        settings,
        removals=suppressed is None,
        explicit=both_complete and desired.changed_only,
        creates=current.complete,
    )
    planner.plan_domains()
    planner.plan_users()
    planner.plan_courses()
    planner.plan_enrollments()
    planner.plan_observers()
    if planner.removals or planner.explicit:
        planner.plan_removals()
    operations = planner.operations()
    hold_reason = planner.hold_reason(operations)
    return Plan(
        id=plan_id(operations),
        operations=operations,
        unchanged=planner.unchanged,
        issues=[*desired.issues, *planner.issues],
        held=hold_reason is not None,
        hold_reason=hold_reason,
        removals_suppressed=suppressed,
        creates_suppressed=_creates_suppressed(current, planner.dropped),
        warnings=[*_duplicate_warnings(current), *planner.warnings],
    )
