"""Reading a district's roster from OneRoster: one snapshot of everything a sync maps.

A snapshot is honest about what it holds: a listing that ended short, a page that failed,
or records that could not be read make it *incomplete*, with the reasons, instead of
raising or passing silently. An incomplete snapshot can still be mapped and applied
(creations and updates are safe); planning refuses removals from it, because a record
missing from a partial read is not a record gone from the SIS.

Records that could not be read are kept as :class:`~oneroster_client.buzz.desired.ValidationIssue`
values with their raw payload, so the run report can show them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from oneroster_client.buzz.desired import SourceRecord, ValidationIssue
from oneroster_client.client import OneRosterClient
from oneroster_client.errors import (
    AuthenticationError,
    ConfigurationError,
    OneRosterError,
    TokenRefusedError,
    TransportError,
)
from oneroster_client.models import AcademicSession, Class, Course, Enrollment, Org, User
from oneroster_client.paging import Listing, RecordError

__all__ = [
    "FULL_READ_COLLECTIONS",
    "ROSTER_COLLECTIONS",
    "RosterProgress",
    "RosterSnapshot",
    "read_roster",
]

ROSTER_COLLECTIONS: tuple[tuple[str, str], ...] = (
    ("orgs", "orgs"),
    ("academic_sessions", "academicSessions"),
    ("courses", "courses"),
    ("classes", "classes"),
    ("users", "users"),
    ("enrollments", "enrollments"),
)
"""The collections a roster snapshot reads: (client attribute, OneRoster collection name)."""

FULL_READ_COLLECTIONS = frozenset({"orgs", "academic_sessions", "courses", "classes"})
"""Collections read in full even for an incremental snapshot.

They are small next to users and enrollments, and mapping needs all of them: a changed
user is placed in its school's domain, and a changed enrollment takes its dates from its
class's terms, whether or not the school or class changed too.
"""

RosterProgress = Callable[[str, int, int | None], None]
"""Called as ``progress(collection, records_received, total_or_None)`` after each page."""


@attrs.frozen(kw_only=True)
class RosterSnapshot:
    """The roster records of one district as read at one time.

    Attributes:
        orgs: districts, schools and other orgs.
        academic_sessions: school years, terms, grading periods.
        courses: OneRoster courses (the catalogue classes belong to).
        classes: the classes (sections) that become Buzz courses.
        users: students, teachers, guardians and staff.
        enrollments: memberships of users in classes.
        complete: ``True`` only when every collection was read without a problem.
        incomplete_reasons: one line per problem (which collection, what went wrong).
        changed_since: ``None`` for a full read; for an incremental read, the time users
            and enrollments were filtered on (``dateLastModified`` after it). Orgs,
            academic sessions, courses and classes are always read in full.
        read_at: when the read started (UTC).
        issues: records the server sent that could not be read, with their raw payload.
    """

    orgs: list[Org] = attrs.field(factory=list)
    academic_sessions: list[AcademicSession] = attrs.field(factory=list)
    courses: list[Course] = attrs.field(factory=list)
    classes: list[Class] = attrs.field(factory=list)
    users: list[User] = attrs.field(factory=list)
    enrollments: list[Enrollment] = attrs.field(factory=list)
    complete: bool = True
    incomplete_reasons: list[str] = attrs.field(factory=list)
    changed_since: datetime | None = None
    read_at: datetime = attrs.field(factory=lambda: datetime.now(UTC))
    issues: list[ValidationIssue] = attrs.field(factory=list)

    def counts(self) -> dict[str, int]:
        """Records held per collection (OneRoster collection names)."""
        return {wire: len(getattr(self, name)) for name, wire in ROSTER_COLLECTIONS}


def read_roster(
    oneroster: OneRosterClient,
    *,
    since: datetime | None = None,
    max_workers: int = 1,
    progress: RosterProgress | None = None,
) -> RosterSnapshot:
    """Read orgs, academic sessions, courses, classes, users and enrollments.

    Args:
        oneroster: the client of the district's OneRoster server.
        since: read only users and enrollments changed after this time (an incremental
            read); ``None`` reads everything. A naive datetime is taken as UTC.
        max_workers: pages fetched at once per collection, when the server announces
            totals.
        progress: called as ``progress(collection, received, total)`` after each page.

    Returns:
        The snapshot. It is never an exception for a partial read: a listing that ended
        short, a failed request (any ``OneRosterError``) or unreadable records make it
        incomplete, with the reason in ``incomplete_reasons``; what was read is kept.

    Raises:
        ConfigurationError: ``max_workers`` is below 1.
    """
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ConfigurationError("read_roster(): max_workers must be a whole number of at least 1")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    read_at = datetime.now(UTC)
    records: dict[str, list[Any]] = {}
    reasons: list[str] = []
    issues: list[ValidationIssue] = []
    stopped: str | None = None
    answered = False  # a collection was read to its end: the server and credentials work
    for attribute, wire in ROSTER_COLLECTIONS:
        if stopped is not None:
            records[attribute] = []
            reasons.append(f"{wire}: not read ({stopped})")
            continue
        delta = since if attribute not in FULL_READ_COLLECTIONS else None
        records[attribute], failure = _read_one(
            oneroster, attribute, wire, delta, max_workers, progress, reasons, issues
        )
        stopped = _stops_the_read(wire, failure, answered)
        answered = answered or failure is None
    return RosterSnapshot(
        **records,
        complete=not reasons,
        incomplete_reasons=reasons,
        changed_since=since,
        read_at=read_at,
        issues=issues,
    )


def _read_one(
    oneroster: OneRosterClient,
    attribute: str,
    wire: str,
    since: datetime | None,
    max_workers: int,
    progress: RosterProgress | None,
    reasons: list[str],
    issues: list[ValidationIssue],
) -> tuple[list[Any], OneRosterError | None]:
    """Read one collection; problems go to ``reasons`` and ``issues``, never raised. The
    error that ended the read, if one did, is returned with what was read."""
    collection = getattr(oneroster, attribute)

    def report(received: int, total: int | None) -> None:
        if progress is not None:
            progress(wire, received, total)

    items: list[Any] = []
    listing: Listing[Any] | None = None
    failure: OneRosterError | None = None
    try:
        if since is None:
            listing = collection.list(
                allow_incomplete=True, max_workers=max_workers, progress=report
            )
        else:
            listing = collection.changed_since(
                since, allow_incomplete=True, max_workers=max_workers, progress=report
            )
        for record in listing:  # one by one: records before a failure are kept
            items.append(record)
    except OneRosterError as exc:
        failure = exc
        reasons.append(
            f"{wire}: the read failed after {len(items)} records ({type(exc).__name__}: {exc})"
        )
    if listing is not None:
        issues.extend(_unreadable(wire, error) for error in listing.errors)
        if listing.complete is not True:
            reasons.extend(f"{wire}: {problem}" for problem in listing.problems)
    return items, failure


def _stops_the_read(wire: str, failure: OneRosterError | None, answered: bool) -> str | None:
    """Why the other collections are not worth asking for after ``failure``, or ``None``.

    A token endpoint that refuses the credentials refuses them for every collection, and
    before any collection has been read to its end a 401 or a server that does not
    answer will not change for the next one: asking again would only repeat the error,
    with all its retries, once per collection. After a collection was read, a 401 may be
    a vendor's way to refuse one collection, and a timeout may be one slow collection.
    """
    if isinstance(failure, TokenRefusedError):
        return f"the token endpoint refused the credentials when reading {wire}"
    if answered:
        return None
    if isinstance(failure, AuthenticationError):
        return f"the credentials were refused when reading {wire}"
    if isinstance(failure, TransportError):
        return f"the server did not answer when reading {wire}"
    return None


def _unreadable(wire: str, error: RecordError) -> ValidationIssue:
    raw = error.raw if isinstance(error.raw, dict) else {"value": error.raw}
    sourced_id = raw.get("sourcedId")
    if not isinstance(sourced_id, str) or not sourced_id.strip():
        sourced_id = f"(record #{error.position})"
    # The reason names the model and field only: the converter's message may quote values.
    return ValidationIssue(
        source=SourceRecord(collection=wire, sourced_id=sourced_id),
        field=error.error.field,
        reason=(
            f"the server sent a record that is not a valid OneRoster {error.error.model}"
            + (f" (field {error.error.field})" if error.error.field else "")
            + "; it is left out until the SIS sends it correctly"
        ),
        raw=raw,
    )
