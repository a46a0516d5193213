"""``BuzzClient``: typed commands for rostering Buzz and reading its gradebook.

Every method is built on :meth:`BuzzClientCore.call` (one command) or
:meth:`BuzzClientCore.batch` (a batch command with per-item results), so any DLAP
command not covered here is still reachable through those two.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from oneroster_client.buzz._core import BuzzClientCore
from oneroster_client.buzz._envelope import rows
from oneroster_client.buzz.batch import BatchResult
from oneroster_client.buzz.entities import (
    BuzzCourse,
    BuzzEnrollment,
    BuzzEntity,
    BuzzUser,
    CourseCopy,
    Domain,
    RightsGrant,
    Role,
)
from oneroster_client.buzz.gradebook import EnrollmentGradebook, EntityGradebook
from oneroster_client.buzz.paging import BuzzListing
from oneroster_client.errors import ConfigurationError

__all__ = ["BuzzClient"]

logger = logging.getLogger("oneroster_client.buzz")

E = TypeVar("E", bound=BuzzEntity)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The fields each write command takes. Entities read from Buzz carry more (guid,
# creationdate, userspace ...); a typed write sends only these, so a record read, changed
# and written back is accepted. Send a dict to pass other fields as they are.
_WRITABLE = {
    "createdomains": _names("name userspace parentid reference flags data"),
    "updatedomains": _names("domainid name userspace parentid reference flags data"),
    "createusers2": _names(
        "domainid username email password firstname lastname passwordquestion "
        "passwordanswer reference flags rights roleid data"
    ),
    "updateusers": _names("userid domainid username firstname lastname email reference flags data"),
    "createcourses": _names(
        "title domainid schema reference status roleid type startdate enddate days term "
        "indexrule data"
    ),
    "copycourses": _names(
        "courseid domainid action depth reference status roleid title type startdate enddate "
        "days term indexrule"
    ),
    "updatecourses": _names(
        "courseid domainid title reference type baseid startdate enddate days term indexrule "
        "schema data"
    ),
    "createenrollments": _names(
        "userid entityid status roleid flags domainid startdate enddate reference schema data"
    ),
    "updateenrollments": _names(
        "enrollmentid userid entityid domainid roleid flags status startdate enddate reference "
        "schema data"
    ),
    "updaterights": _names("actorid entityid roleid flags"),
}


def _entity_wire(cmd: str, item: BuzzEntity, id_key: str | None) -> dict[str, Any]:
    wire = item.to_dict()
    ident = wire.pop("id", None)
    if id_key is not None and ident is not None:
        wire.setdefault(id_key, ident)
    allowed = _WRITABLE[cmd]
    left_out = sorted(set(wire) - allowed)
    if left_out:
        logger.debug("Buzz %s: not sending read-only fields %s", cmd, ", ".join(left_out))
    return {key: value for key, value in wire.items() if key in allowed}


def _wire_items(
    cmd: str,
    given: Iterable[Any],
    kind: type[BuzzEntity],
    *,
    id_key: str | None,
    required: tuple[str, ...],
) -> list[tuple[Any, dict[str, Any]]]:
    """Turn entities (or dicts of DLAP fields) into command items, checking required fields.

    An entity is sent with the fields the command takes (its ``id`` as ``id_key`` for
    updates); a dict is sent as it is.
    """
    pairs = []
    for index, item in enumerate(given):
        if isinstance(item, kind):
            wire = _entity_wire(cmd, item, id_key)
        elif isinstance(item, Mapping):
            wire = dict(item)
        else:
            raise ConfigurationError(
                f"{cmd} item {index}: expected a {kind.__name__} or a dict, "
                f"got {type(item).__name__}"
            )
        missing = [name for name in required if wire.get(name) is None]
        if missing:
            raise ConfigurationError(
                f"{cmd} item {index}: missing required field(s) {', '.join(missing)}; "
                "nothing was sent"
            )
        pairs.append((item, wire))
    return pairs


def _ids(cmd: str, ids: Iterable[str | int], key: str) -> list[tuple[Any, dict[str, Any]]]:
    pairs = []
    for index, value in enumerate(ids):
        if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
            raise ConfigurationError(f"{cmd} item {index}: expected an id, got {value!r}")
        pairs.append((value, {key: str(value)}))
    return pairs


def _one_id(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise ConfigurationError(f"{name} must be a Buzz id (string or integer), got {value!r}")
    return str(value)


def _cascade(cmd: str, cascade: bool, what: str) -> None:
    if cascade is not True:
        raise ConfigurationError(
            f"{cmd} also deletes {what}; pass cascade=True to confirm (deletes are soft and "
            "can be undone with the matching restore command)"
        )


class BuzzClient(BuzzClientCore):
    """A typed client for Agilix Buzz's DLAP API.

    Args:
        base_url: the Buzz API host, e.g. ``https://backgroundapi.agilixbuzz.com`` (the
            host Agilix asks sync jobs to use).
        auth: :class:`BuzzJWTAuth` (recommended), :class:`BuzzLogin` or
            :class:`BuzzToken`.
        user_agent: required by Agilix: names your system, version and a contact.
        batch_size: items per batch request.
        page_size: rows per list request (``limit``).
        retry: a :class:`BuzzRetryPolicy`; Agilix's guidance by default.
        timeout: seconds, or a ``(connect, read)`` pair.
        allow_insecure_http: permit plain http to a host that is not loopback.
        session: a ``requests.Session`` to use.
        request_deadline: seconds one attempt may take in total, body included (default
            5 x the read timeout, at most 300 s): a server dripping its answer cannot hold
            a call open.
        max_response_bytes: the largest decoded answer accepted (default 64 MiB); larger
            ones, compressed or not, are refused while they stream.

    Raises:
        ConfigurationError: a missing or unusable setting, named.
    """

    # -- generic helpers ---------------------------------------------------------------

    def _listing(
        self,
        cmd: str,
        params: Mapping[str, Any],
        plural: str,
        singular: str,
        reader: Callable[[Mapping[str, Any]], E],
        *,
        paged: bool = True,
        page_size: int | None = None,
    ) -> BuzzListing[E]:
        def fetch(query: Mapping[str, Any]) -> Mapping[str, Any]:
            return self.call(cmd, query)

        size = (page_size or self.page_size) if paged else None
        clean = {k: v for k, v in params.items() if v is not None}
        return BuzzListing(
            fetch,
            command=cmd,
            params=clean,
            plural=plural,
            singular=singular,
            reader=reader,
            page_size=size,
        )

    @staticmethod
    def _list_params(
        domain_id: str | int,
        include_descendants: bool,
        show: str | None,
        select: str | None,
        text: str | None,
    ) -> dict[str, Any]:
        return {
            "domainid": _one_id("domain_id", domain_id),
            "includedescendantdomains": include_descendants or None,
            "show": show,
            "select": select,
            "text": text,
        }

    # -- domains -----------------------------------------------------------------------

    def list_domains(
        self,
        domain_id: str | int = "0",
        *,
        include_descendants: bool = False,
        show: str | None = None,
        select: str | None = None,
        text: str | None = None,
        page_size: int | None = None,
    ) -> BuzzListing[Domain]:
        """List domains under ``domain_id`` (``"0"``: every domain visible to the caller)."""
        params = self._list_params(domain_id, include_descendants, show, select, text)
        return self._listing(
            "listdomains", params, "domains", "domain", Domain.from_dict, page_size=page_size
        )

    def get_domain(self, domain_id: str | int) -> Domain:
        """Read one domain (``getdomain2``)."""
        response = self.call("getdomain2", {"domainid": _one_id("domain_id", domain_id)})
        return Domain.from_dict(response.get("domain") or {})

    def create_domains(self, domains: Iterable[Domain | Mapping[str, Any]]) -> BatchResult:
        """Create domains (``createdomains``); each needs ``name``, ``userspace``, ``parentid``.

        Set ``reference`` (the SIS id): it lets a create whose outcome was lost be checked
        instead of duplicated.
        """
        pairs = _wire_items(
            "createdomains",
            domains,
            Domain,
            id_key=None,
            required=("name", "userspace", "parentid"),
        )
        return self._batch("createdomains", "domain", pairs, None)

    def update_domains(self, domains: Iterable[Domain | Mapping[str, Any]]) -> BatchResult:
        """Update domains (``updatedomains``); fields left out are unchanged."""
        pairs = _wire_items(
            "updatedomains", domains, Domain, id_key="domainid", required=("domainid",)
        )
        return self._batch("updatedomains", "domain", pairs, None)

    def delete_domain(self, domain_id: str | int, *, cascade: bool = False) -> None:
        """Delete a domain (``deletedomain``). DANGER: Buzz also deletes every descendant
        domain with its users, courses and enrollments; pass ``cascade=True`` to confirm."""
        _cascade("deletedomain", cascade, "all descendant domains, users, courses, enrollments")
        self.call("deletedomain", {"domainid": _one_id("domain_id", domain_id)})

    def restore_domain(self, domain_id: str | int) -> None:
        """Undo :meth:`delete_domain` (``restoredomain``)."""
        self.call("restoredomain", {"domainid": _one_id("domain_id", domain_id)})

    # -- users -------------------------------------------------------------------------

    def list_users(
        self,
        domain_id: str | int,
        *,
        include_descendants: bool = False,
        show: str | None = None,
        select: str | None = None,
        text: str | None = None,
        page_size: int | None = None,
    ) -> BuzzListing[BuzzUser]:
        """List the users of a domain (``listusers``), lazily, page by page."""
        params = self._list_params(domain_id, include_descendants, show, select, text)
        return self._listing(
            "listusers", params, "users", "user", BuzzUser.from_dict, page_size=page_size
        )

    def get_user(self, user_id: str | int) -> BuzzUser:
        """Read one user (``getuser2``)."""
        response = self.call("getuser2", {"userid": _one_id("user_id", user_id)})
        return BuzzUser.from_dict(response.get("user") or {})

    def create_users(self, users: Iterable[BuzzUser | Mapping[str, Any]]) -> BatchResult:
        """Create users (``createusers2``).

        Each needs ``domainid``, ``username``, ``email``, ``firstname`` and ``lastname``;
        ``password`` is required by Buzz for users who log in with one (SSO-only users
        without one: unconfirmed). Set ``reference`` to the SIS id so a lost create can be
        checked instead of duplicated.
        """
        required = ("domainid", "username", "email", "firstname", "lastname")
        pairs = _wire_items("createusers2", users, BuzzUser, id_key=None, required=required)
        return self._batch("createusers2", "user", pairs, None)

    def update_users(self, users: Iterable[BuzzUser | Mapping[str, Any]]) -> BatchResult:
        """Update users (``updateusers``); fields left out are unchanged."""
        pairs = _wire_items("updateusers", users, BuzzUser, id_key="userid", required=("userid",))
        return self._batch("updateusers", "user", pairs, None)

    def delete_users(self, user_ids: Iterable[str | int], *, cascade: bool = False) -> BatchResult:
        """Delete users (``deleteusers``). Buzz also deletes all their enrollments; pass
        ``cascade=True`` to confirm."""
        _cascade("deleteusers", cascade, "all of the users' enrollments")
        return self._batch("deleteusers", "user", _ids("deleteusers", user_ids, "userid"), None)

    def restore_user(self, user_id: str | int) -> None:
        """Undo a user delete (``restoreuser``)."""
        self.call("restoreuser", {"userid": _one_id("user_id", user_id)})

    # -- courses -----------------------------------------------------------------------

    def list_courses(
        self,
        domain_id: str | int,
        *,
        include_descendants: bool = False,
        show: str | None = None,
        select: str | None = None,
        text: str | None = None,
        page_size: int | None = None,
    ) -> BuzzListing[BuzzCourse]:
        """List the courses of a domain (``listcourses``), lazily, page by page."""
        params = self._list_params(domain_id, include_descendants, show, select, text)
        return self._listing(
            "listcourses", params, "courses", "course", BuzzCourse.from_dict, page_size=page_size
        )

    def get_course(self, course_id: str | int) -> BuzzCourse:
        """Read one course (``getcourse2``)."""
        response = self.call("getcourse2", {"courseid": _one_id("course_id", course_id)})
        return BuzzCourse.from_dict(response.get("course") or {})

    def create_courses(self, courses: Iterable[BuzzCourse | Mapping[str, Any]]) -> BatchResult:
        """Create courses (``createcourses``); each needs ``title``, ``domainid`` and
        ``schema`` (3 unless you know better). Buzz also enrolls the calling user."""
        pairs = _wire_items(
            "createcourses", courses, BuzzCourse, id_key=None, required=("title", "domainid")
        )
        for _, wire in pairs:
            wire.setdefault("schema", 3)
        return self._batch("createcourses", "course", pairs, None)

    def copy_courses(self, copies: Iterable[CourseCopy | Mapping[str, Any]]) -> BatchResult:
        """Copy courses (``copycourses``), e.g. a class section from a master course with
        ``action=CopyAction.DERIVATIVE_CHILD``; each needs ``courseid`` and ``domainid``."""
        pairs = _wire_items(
            "copycourses", copies, CourseCopy, id_key=None, required=("courseid", "domainid")
        )
        return self._batch("copycourses", "course", pairs, None)

    def update_courses(self, courses: Iterable[BuzzCourse | Mapping[str, Any]]) -> BatchResult:
        """Update courses (``updatecourses``); fields left out are unchanged."""
        pairs = _wire_items(
            "updatecourses", courses, BuzzCourse, id_key="courseid", required=("courseid",)
        )
        return self._batch("updatecourses", "course", pairs, None)

    def delete_courses(
        self, course_ids: Iterable[str | int], *, cascade: bool = False
    ) -> BatchResult:
        """Delete courses (``deletecourses``). Buzz also deletes their sections and
        enrollments; pass ``cascade=True`` to confirm."""
        _cascade("deletecourses", cascade, "the courses' sections and enrollments")
        pairs = _ids("deletecourses", course_ids, "courseid")
        return self._batch("deletecourses", "course", pairs, None)

    def restore_course(self, course_id: str | int) -> None:
        """Undo a course delete (``restorecourse``)."""
        self.call("restorecourse", {"courseid": _one_id("course_id", course_id)})

    # -- enrollments -------------------------------------------------------------------

    def list_enrollments(
        self,
        domain_id: str | int,
        *,
        include_descendants: bool = False,
        show: str | None = None,
        select: str | None = None,
        page_size: int | None = None,
    ) -> BuzzListing[BuzzEnrollment]:
        """List the enrollments of a domain (``listenrollments``), lazily, page by page."""
        params = self._list_params(domain_id, include_descendants, show, select, None)
        return self._listing(
            "listenrollments",
            params,
            "enrollments",
            "enrollment",
            BuzzEnrollment.from_dict,
            page_size=page_size,
        )

    def list_course_enrollments(
        self, course_id: str | int, *, all_status: bool = False, select: str | None = None
    ) -> BuzzListing[BuzzEnrollment]:
        """List a course's enrollments (``listentityenrollments``; one request, no paging).

        Args:
            course_id: the course (DLAP ``entityid``).
            all_status: include withdrawn, completed and other inactive enrollments.
            select: DLAP ``select``, e.g. ``"user"`` to embed the users.
        """
        params = {
            "entityid": _one_id("course_id", course_id),
            "allstatus": all_status or None,
            "select": select,
        }
        return self._listing(
            "listentityenrollments",
            params,
            "enrollments",
            "enrollment",
            BuzzEnrollment.from_dict,
            paged=False,
        )

    def list_user_enrollments(
        self, user_id: str | int, *, all_status: bool = False, select: str | None = None
    ) -> BuzzListing[BuzzEnrollment]:
        """List a user's enrollments (``listuserenrollments``; one request, no paging)."""
        params = {
            "userid": _one_id("user_id", user_id),
            "allstatus": all_status or None,
            "select": select,
        }
        return self._listing(
            "listuserenrollments",
            params,
            "enrollments",
            "enrollment",
            BuzzEnrollment.from_dict,
            paged=False,
        )

    def get_enrollment(self, enrollment_id: str | int) -> BuzzEnrollment:
        """Read one enrollment (``getenrollment3``)."""
        params = {"enrollmentid": _one_id("enrollment_id", enrollment_id)}
        response = self.call("getenrollment3", params)
        return BuzzEnrollment.from_dict(response.get("enrollment") or {})

    def create_enrollments(
        self,
        enrollments: Iterable[BuzzEnrollment | Mapping[str, Any]],
        *,
        disallow_same_status_duplicates: bool = False,
    ) -> BatchResult:
        """Create enrollments (``createenrollments``), always with ``disallowduplicates=true``.

        Each needs ``userid``, ``entityid`` (the course) and ``status``, plus ``roleid``
        (preferred) or ``flags``: without either Buzz grants no rights at all. Because
        duplicates are refused, a request whose outcome was lost is sent again; an item
        then answered "Duplicate enrollment" has ``after_unknown_outcome`` set.
        """
        pairs = _wire_items(
            "createenrollments",
            enrollments,
            BuzzEnrollment,
            id_key=None,
            required=("userid", "entityid", "status"),
        )
        for index, (_, wire) in enumerate(pairs):
            if wire.get("roleid") in (None, "") and wire.get("flags") in (None, ""):
                raise ConfigurationError(
                    f"createenrollments item {index}: give roleid or flags, or Buzz grants "
                    "the enrollment no rights; nothing was sent"
                )
        params = {
            "disallowduplicates": True,
            "disallowsamestatusduplicates": disallow_same_status_duplicates or None,
        }
        return self._batch("createenrollments", "enrollment", pairs, params)

    def update_enrollments(
        self, enrollments: Iterable[BuzzEnrollment | Mapping[str, Any]]
    ) -> BatchResult:
        """Update enrollments (``updateenrollments``), e.g. ``status`` to withdraw.

        Changing ``entityid`` moves an enrollment to another course; Agilix warns that
        work and grades may then map unpredictably.
        """
        pairs = _wire_items(
            "updateenrollments",
            enrollments,
            BuzzEnrollment,
            id_key="enrollmentid",
            required=("enrollmentid",),
        )
        return self._batch("updateenrollments", "enrollment", pairs, None)

    def delete_enrollments(self, enrollment_ids: Iterable[str | int]) -> BatchResult:
        """Delete enrollments (``deleteenrollments``; soft, see :meth:`restore_enrollment`)."""
        pairs = _ids("deleteenrollments", enrollment_ids, "enrollmentid")
        return self._batch("deleteenrollments", "enrollment", pairs, None)

    def restore_enrollment(self, enrollment_id: str | int) -> None:
        """Undo an enrollment delete (``restoreenrollment``)."""
        self.call("restoreenrollment", {"enrollmentid": _one_id("enrollment_id", enrollment_id)})

    # -- roles and rights --------------------------------------------------------------

    def list_roles(self, domain_id: str | int) -> list[Role]:
        """The roles defined for a domain (``listroles``), inherited by subdomains."""
        response = self.call("listroles", {"domainid": _one_id("domain_id", domain_id)})
        return [Role.from_dict(row) for row in rows(response, "roles", "role")]

    def update_rights(self, grants: Iterable[RightsGrant | Mapping[str, Any]]) -> BatchResult:
        """Grant rights (``updaterights``), e.g. an observer ``READ_USER`` on a student.

        Each grant needs ``actorid``, ``entityid`` and ``flags`` or ``roleid``.
        """
        pairs = _wire_items(
            "updaterights", grants, RightsGrant, id_key=None, required=("actorid", "entityid")
        )
        for index, (_, wire) in enumerate(pairs):
            if wire.get("flags") is None and wire.get("roleid") in (None, ""):
                raise ConfigurationError(
                    f"updaterights item {index}: give flags or roleid; nothing was sent"
                )
        return self._batch("updaterights", "rights", pairs, None)

    def get_actor_rights(
        self, actor_id: str | int, *, entity_types: str = "U|E"
    ) -> list[RightsGrant]:
        """The rights an actor holds (``getactorrights``), e.g. what an observer can see.

        Args:
            actor_id: the user.
            entity_types: pipe-separated entity types: ``U`` users, ``E`` enrollments,
                ``C`` courses, ``D`` domains.
        """
        actor = _one_id("actor_id", actor_id)
        response = self.call("getactorrights", {"actorid": actor, "entitytypes": entity_types})
        grants = []
        for row in rows(response, "entities", "entity"):
            data = dict(row) if isinstance(row, Mapping) else row
            if isinstance(data, dict):
                data.setdefault("actorid", actor)
                if "entityid" not in data and "id" in data:
                    data["entityid"] = data.pop("id")
            grants.append(RightsGrant.from_dict(data))
        return grants

    # -- gradebook ---------------------------------------------------------------------

    def get_entity_gradebook(
        self,
        entity_id: str | int,
        *,
        item_ids: str | None = "*",
        enrollment_ids: Iterable[str | int] | None = None,
        all_status: bool = False,
    ) -> EntityGradebook:
        """Every enrollment's grades in a course or section (``getentitygradebook3``).

        Args:
            entity_id: the course or section.
            item_ids: ``"*"`` gradable items, ``"**"`` all items, ``"a|b"`` these items,
                ``None`` roll-ups only.
            enrollment_ids: only these enrollments.
            all_status: include inactive enrollments.
        """
        entity = _one_id("entity_id", entity_id)
        params: dict[str, Any] = {"entityid": entity, "itemid": item_ids}
        if enrollment_ids is not None:
            params["enrollmentids"] = "|".join(
                _one_id("enrollment_ids", value) for value in enrollment_ids
            )
        params["allstatus"] = all_status or None
        response = self.call("getentitygradebook3", params)
        return EntityGradebook.from_response(entity, response)

    def get_enrollment_gradebook(
        self, enrollment_id: str | int, *, item_ids: str | None = "*"
    ) -> EnrollmentGradebook:
        """One enrollment's grades with roll-ups (``getenrollmentgradebook2``)."""
        params = {"enrollmentid": _one_id("enrollment_id", enrollment_id), "itemid": item_ids}
        response = self.call("getenrollmentgradebook2", params)
        return EnrollmentGradebook.from_dict(response.get("enrollment") or {})
