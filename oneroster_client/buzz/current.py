"""What Buzz holds for a district now: the managed objects under its domain, by reference.

A rostering run compares this with the desired state (see
:mod:`oneroster_client.buzz.plan`). Every object the sync creates carries the OneRoster
``sourcedId`` in its ``reference`` field, so the objects found here are keyed by it: that
is how an object created by an earlier run, or by an apply that was interrupted before it
could record the new id, is found again instead of being created twice.

Objects without a reference were not created by the sync (the district's own accounts,
courses built by hand, the enrollment Buzz gives the caller in every course it creates):
they are counted and kept for matching, and never changed or removed. Deleted objects are
not read at all. A read that fails or cannot be trusted to be whole leaves
:attr:`BuzzState.complete` ``False`` with the reason, and then no removals are planned.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

import attrs

from oneroster_client.buzz.client import BuzzClient
from oneroster_client.buzz.entities import (
    BuzzCourse,
    BuzzEnrollment,
    BuzzEntity,
    BuzzUser,
    Domain,
    RightsGrant,
)
from oneroster_client.buzz.settings import RosterSettings
from oneroster_client.errors import OneRosterError

__all__ = ["BuzzState", "read_buzz_state"]

logger = logging.getLogger("oneroster_client.buzz")

E = TypeVar("E", bound=BuzzEntity)


@attrs.frozen(kw_only=True)
class BuzzState:
    """What Buzz holds under the district's domain (descendant domains included).

    Attributes:
        parent_domain_id: the district's domain the state was read under.
        domains: managed domains below the district's domain, by reference.
        users: managed users, by reference.
        courses: managed courses, by reference.
        enrollments: managed enrollments, by reference.
        rights: rights of managed observers on managed students, by
            ``(observer reference, student reference)``.
        unmanaged_domains: domains without a reference (never changed or removed).
        unmanaged_users: users without a reference; candidates for adoption by username or
            email (see ``RosterSettings.user_matching``).
        unmanaged_courses: courses without a reference.
        unmanaged_enrollments: enrollments without a reference.
        duplicates: per entity, the Buzz ids of objects that carry a reference another
            object of the same kind already carries (the one with the lowest id is the
            managed one; the others are left alone and reported).
        complete: ``True`` only when every listing was read without error.
        incomplete_reasons: why the read is not complete.
    """

    parent_domain_id: str
    domains: dict[str, Domain] = attrs.field(factory=dict)
    users: dict[str, BuzzUser] = attrs.field(factory=dict)
    courses: dict[str, BuzzCourse] = attrs.field(factory=dict)
    enrollments: dict[str, BuzzEnrollment] = attrs.field(factory=dict)
    rights: dict[tuple[str, str], RightsGrant] = attrs.field(factory=dict)
    unmanaged_domains: list[Domain] = attrs.field(factory=list)
    unmanaged_users: list[BuzzUser] = attrs.field(factory=list)
    unmanaged_courses: list[BuzzCourse] = attrs.field(factory=list)
    unmanaged_enrollments: list[BuzzEnrollment] = attrs.field(factory=list)
    duplicates: dict[str, list[str]] = attrs.field(factory=dict)
    complete: bool = True
    incomplete_reasons: list[str] = attrs.field(factory=list)

    @property
    def unmanaged_counts(self) -> dict[str, int]:
        """Objects without a reference, per entity (they are never touched)."""
        return {
            "domains": len(self.unmanaged_domains),
            "users": len(self.unmanaged_users),
            "courses": len(self.unmanaged_courses),
            "enrollments": len(self.unmanaged_enrollments),
        }

    def managed_counts(self) -> dict[str, int]:
        """Managed objects per entity (``observers``: managed rights grants)."""
        return {
            "domains": len(self.domains),
            "users": len(self.users),
            "courses": len(self.courses),
            "enrollments": len(self.enrollments),
            "observers": len(self.rights),
        }


@attrs.define
class _Reader:
    """Collects listings into a state, turning failures into incomplete reasons."""

    buzz: BuzzClient
    parent_domain_id: str
    reasons: list[str] = attrs.field(factory=list)
    duplicates: dict[str, list[str]] = attrs.field(factory=dict)

    def listing(self, what: str, rows: Iterable[E] | Callable[[], Iterable[E]]) -> list[E]:
        """Every row of a (lazy) listing, or what was read before it failed, and a reason."""
        found: list[E] = []
        try:
            found.extend(rows() if callable(rows) else rows)
        except OneRosterError as error:
            reason = f"{what} could not be read completely: {type(error).__name__}: {error}"
            logger.warning("Buzz state: %s", reason)
            self.reasons.append(reason)
        return found

    def keyed(
        self, entity: str, rows: Iterable[E], unmanaged: list[E], reference: Callable[[E], str]
    ) -> dict[str, E]:
        """Rows by reference (lowest id wins a tie); rows without one go to ``unmanaged``."""
        by_reference: dict[str, E] = {}
        for row in sorted(rows, key=_id_order):
            key = reference(row)
            if not key:
                unmanaged.append(row)
            elif key in by_reference:
                self.duplicates.setdefault(entity, []).append(_id_of(row))
            else:
                by_reference[key] = row
        return by_reference


def _id_of(row: BuzzEntity) -> str:
    return str(getattr(row, "id", "") or "")


def _id_order(row: BuzzEntity) -> tuple[int, str]:
    return _numeric(_id_of(row))


def _ref(row: Domain | BuzzUser | BuzzCourse | BuzzEnrollment) -> str:
    return (row.reference or "").strip()


def read_buzz_state(
    buzz: BuzzClient,
    settings: RosterSettings,
    *,
    observers: Iterable[str] | None = None,
) -> BuzzState:
    """Read what Buzz holds under ``settings.parent_domain_id``.

    Lists the domains below the district's domain, then the users, courses and
    enrollments of the district's domain and of each of those domains; with
    ``settings.observers`` on, reads the rights of observers (``getactorrights``).
    Never raises for a failed listing: the state is then marked incomplete with the
    reason, so that no removals are planned from it.

    Args:
        buzz: the Buzz client.
        settings: the district's settings.
        observers: the references of the users whose rights to read (one request
            each); ``None`` reads the rights of every managed user. Pass the observers
            of the desired state together with those of earlier runs, so that rights of
            observers who left the SIS are found and revoked.

    Returns:
        The state; ``complete`` is ``False`` when any listing failed.
    """
    parent = str(settings.parent_domain_id)
    reader = _Reader(buzz, parent)
    domain_rows = reader.listing(
        f"listdomains under domain {parent}", buzz.list_domains(parent, include_descendants=True)
    )
    unmanaged_domains: list[Domain] = []
    domains = reader.keyed("domains", domain_rows, unmanaged_domains, _ref)
    scope = [parent, *sorted({d.id for d in domain_rows if d.id} - {parent}, key=_numeric)]
    users_u: list[BuzzUser] = []
    courses_u: list[BuzzCourse] = []
    enrollments_u: list[BuzzEnrollment] = []
    user_rows, course_rows, enrollment_rows = _read_domains(reader, scope)
    users = reader.keyed("users", user_rows, users_u, _ref)
    courses = reader.keyed("courses", course_rows, courses_u, _ref)
    enrollments = reader.keyed("enrollments", enrollment_rows, enrollments_u, _ref)
    rights: dict[tuple[str, str], RightsGrant] = {}
    if settings.observers:
        rights = _read_rights(reader, users, observers)
    return BuzzState(
        parent_domain_id=parent,
        domains=domains,
        users=users,
        courses=courses,
        enrollments=enrollments,
        rights=rights,
        unmanaged_domains=unmanaged_domains,
        unmanaged_users=users_u,
        unmanaged_courses=courses_u,
        unmanaged_enrollments=enrollments_u,
        duplicates=reader.duplicates,
        complete=not reader.reasons,
        incomplete_reasons=reader.reasons,
    )


def _numeric(ident: str) -> tuple[int, str]:
    return (int(ident), ident) if ident.isdigit() else (-1, ident)


def _read_domains(
    reader: _Reader, scope: list[str]
) -> tuple[list[BuzzUser], list[BuzzCourse], list[BuzzEnrollment]]:
    """Users, courses and enrollments of every domain in ``scope``, domain by domain."""
    buzz = reader.buzz
    users: list[BuzzUser] = []
    courses: list[BuzzCourse] = []
    enrollments: list[BuzzEnrollment] = []
    for domain_id in scope:
        users += reader.listing(f"listusers in domain {domain_id}", buzz.list_users(domain_id))
        courses += reader.listing(
            f"listcourses in domain {domain_id}", buzz.list_courses(domain_id)
        )
        enrollments += reader.listing(
            f"listenrollments in domain {domain_id}", buzz.list_enrollments(domain_id)
        )
    return users, courses, enrollments


def _read_rights(
    reader: _Reader, users: dict[str, BuzzUser], observers: Iterable[str] | None
) -> dict[tuple[str, str], RightsGrant]:
    """Rights of the given observers (all managed users when ``None``) on managed users."""
    reference_of = {user.id: reference for reference, user in users.items() if user.id}
    wanted = sorted(users) if observers is None else sorted(set(observers) & set(users))
    rights: dict[tuple[str, str], RightsGrant] = {}
    for observer in wanted:
        actor_id = users[observer].id
        if not actor_id:
            continue
        fetch = functools.partial(reader.buzz.get_actor_rights, actor_id, entity_types="U")
        grants = reader.listing(f"getactorrights of user {actor_id}", fetch)
        for grant in grants:
            student = reference_of.get(grant.entity_id or "")
            held = bool(grant.flags) or grant.role_id not in (None, "", "0")
            if held and student is not None and student != observer:
                rights[(observer, student)] = grant
    return rights
