"""The OneRoster 1.1 client: collections of typed operations over the transport.

Every one of the 61 operations of :mod:`oneroster_client.endpoints` is reachable as a
method of a collection on the client (``client.classes.students(class_id)``). The
methods are built from the endpoint table by small descriptors; the class bodies below
only declare which operation each method is and its type, so editors and ``mypy`` know
``client.users.list()`` yields :class:`~oneroster_client.models.User`.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypedDict, TypeVar, Unpack
from urllib.parse import quote

import attrs
from requests.auth import AuthBase

from oneroster_client import converter
from oneroster_client._echo import mismatched_fields
from oneroster_client.endpoints import Operation, operation, operations_of
from oneroster_client.errors import (
    ConfigurationError,
    FilterError,
    RecordValidationError,
    ResponseFormatError,
)
from oneroster_client.models import (
    AcademicSession,
    Category,
    Class,
    Course,
    Demographics,
    Enrollment,
    LineItem,
    Org,
    Record,
    Resource,
    Result,
    User,
)
from oneroster_client.paging import Listing, extract_envelope, missing_required_fields
from oneroster_client.query import (
    F,
    FilterExpr,
    Predicate,
    coerce_filter,
    parse_filter,
    wire_fields,
    wire_sort,
)
from oneroster_client.query import order_by as _order_by
from oneroster_client.retry import RetryPolicy
from oneroster_client.status import StatusInfo, warnings_from_body
from oneroster_client.transport import USER_AGENT, Response, Transport

__all__ = ["ListOptions", "OneRosterClient", "WriteResult", "sourced_id_problem"]

logger = logging.getLogger("oneroster_client")

M = TypeVar("M", bound=Record)
M_co = TypeVar("M_co", bound=Record, covariant=True)

FilterInput = str | FilterExpr | None
FieldsInput = str | Iterable[str] | None
Progress = Callable[[int, int | None], None]


class ListOptions(TypedDict, total=False):
    """Keyword options of every listing method.

    Any other keyword is refused with a ``TypeError`` naming it (and the closest option),
    so a misspelt ``filter`` never reads the whole collection.

    Attributes:
        filter: an ``F`` expression or a raw OneRoster 1.1 filter string.
        sort: the field to sort by (Python or wire name).
        order_by: ``"asc"`` or ``"desc"`` (needs ``sort``).
        fields: fields to select (Python or wire names); partial records are read with
            ``listing.dicts()``.
        page_size: the ``limit`` asked for (servers may serve fewer); at least 1,
            ``None`` for the client's ``page_size``.
        max_workers: pages fetched at once when the total is known; at least 1,
            ``None`` for the client's ``max_workers``.
        allow_incomplete: end an incomplete listing quietly instead of raising.
        progress: called with (records received, total or None) after each page.
    """

    filter: FilterInput
    sort: str | None
    order_by: Literal["asc", "desc"] | None
    fields: FieldsInput
    page_size: int | None
    max_workers: int | None
    allow_incomplete: bool
    progress: Progress | None


# The one table of listing options and their defaults: the methods' signatures and the
# check of the names a caller passes both come from it.
_LIST_DEFAULTS: dict[str, Any] = {
    "filter": None,
    "sort": None,
    "order_by": None,
    "fields": None,
    "page_size": None,
    "max_workers": None,
    "allow_incomplete": False,
    "progress": None,
}
_GET_DEFAULTS: dict[str, Any] = {"fields": None}
if set(_LIST_DEFAULTS) != set(ListOptions.__optional_keys__):  # pragma: no cover
    raise AssertionError("_LIST_DEFAULTS and ListOptions name different options")

# Names people reach for that the listing options spell differently: the OneRoster query
# parameters (limit, orderBy: the pagination and sorting rules of the specification) and
# common abbreviations.
_OPTION_ALIASES = {
    "limit": "page_size",
    "pagesize": "page_size",
    "per_page": "page_size",
    "orderby": "order_by",
    "order": "order_by",
    "workers": "max_workers",
    "select": "fields",
    "where": "filter",
}


def _check_options(where: str, options: dict[str, Any], allowed: Iterable[str]) -> None:
    """Refuse option names ``where`` does not take, suggesting the closest valid name.

    A misspelt option must not be dropped quietly: ``list(filtr=...)`` would read every
    record of the collection. The error is a ``TypeError``, as Python's own for an
    unexpected keyword argument.
    """
    valid = list(allowed)
    for name in options:
        if name in valid:
            continue
        if name in _LIST_DEFAULTS:  # a listing option passed to get()
            hint = f"; {name} is an option of listings (list() and the nested listings)"
        else:
            folded = name.lower().replace("-", "_")
            guess = _OPTION_ALIASES.get(folded) or _OPTION_ALIASES.get(folded.replace("_", ""))
            if guess not in valid:
                close = difflib.get_close_matches(folded, valid, n=1, cutoff=0.6)
                guess = close[0] if close else None
            hint = f"; did you mean {guess!r}?" if guess is not None else ""
        raise TypeError(
            f"{where} got an unexpected keyword argument {name!r}{hint} "
            f"(it takes {', '.join(valid)})"
        )


class ListAll(Protocol[M]):
    """``collection.list(...)``: every record of the collection."""

    def __call__(self, **options: Unpack[ListOptions]) -> Listing[M]: ...


class ListBy1(Protocol[M]):
    """A nested listing under one parent, e.g. ``classes.students(class_id)``."""

    def __call__(self, parent_id: str, /, **options: Unpack[ListOptions]) -> Listing[M]: ...


class ListBy2(Protocol[M]):
    """A nested listing under two parents, e.g. ``classes.results_for_student(c, s)``."""

    def __call__(
        self, first_id: str, second_id: str, /, **options: Unpack[ListOptions]
    ) -> Listing[M]: ...


class GetOne(Protocol[M_co]):
    """``collection.get(sourced_id)``: one record by its sourcedId."""

    def __call__(self, sourced_id: str, /, *, fields: FieldsInput = None) -> M_co: ...


@attrs.frozen
class WriteResult(Generic[M]):
    """The outcome of a gradebook PUT.

    A ``2xx`` answer alone does not prove the write was applied: when the server echoes
    the record, the fields that were sent are compared with it (see :attr:`applied`).

    Attributes:
        created: ``True`` for 201 (a new record), ``False`` for 200 (replaced).
        status_code: the HTTP status.
        record: the record as the server echoed it, when it sent one that reads as the
            model (a partial echo gives ``None``; see :attr:`echo`).
        warnings: status infos riding on the answer.
        mismatches: wire names of the fields sent that the echo shows with another
            value: the server did not store them as sent.
        echo: the echoed record exactly as received, if any (never shown in the repr).
    """

    created: bool
    status_code: int
    record: M | None
    warnings: tuple[StatusInfo, ...] = ()
    mismatches: tuple[str, ...] = ()
    echo: dict[str, Any] | None = attrs.field(default=None, repr=False)

    @property
    def applied(self) -> bool:
        """``False`` when the echo differs from what was sent or the answer reports an error.

        ``True`` means nothing in the answer contradicts the write; without an echo the
        write cannot be checked beyond its status code.
        """
        return not self.mismatches and not any(info.is_error for info in self.warnings)


class _OperationMethod:
    """A descriptor that turns one row of the endpoint table into a bound method."""

    def __init__(self, operation_id: str) -> None:
        self.operation = operation(operation_id)

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.operation.name:
            raise TypeError(f"{owner.__name__}.{name} is declared as {self.operation.name}")

    def __get__(self, collection: _Collection[Any] | None, owner: type) -> Any:
        if collection is None:
            return self
        op = self.operation
        client = collection._client
        where = f"{op.attribute}.{op.name}()"
        if op.collection:

            def method(*ids: str, **options: Any) -> Any:
                _check_options(where, options, _LIST_DEFAULTS)
                return client._listing(op, ids, **options)
        else:

            def method(*ids: str, **options: Any) -> Any:
                _check_options(where, options, _GET_DEFAULTS)
                return client._get(op, ids, **options)

        method.__name__ = op.name
        method.__qualname__ = f"{type(collection).__name__}.{op.name}"
        method.__doc__ = f"{op.method} {op.path} (OneRoster {op.operation_id})."
        method.__signature__ = _signature(op)  # type: ignore[attr-defined]
        return method


def _signature(op: Operation) -> inspect.Signature:
    positional = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_ONLY, annotation=str)
        for name in op.params
    ]
    options = _LIST_DEFAULTS if op.collection else _GET_DEFAULTS
    keyword = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in options.items()
    ]
    return inspect.Signature(positional + keyword)


def _op(operation_id: str) -> Any:
    # Typed as Any so that the declaration's annotation (ListAll[User], ...) is what
    # type checkers see; at run time it is the descriptor.
    return _OperationMethod(operation_id)


class _Collection(Generic[M]):
    """Operations of one OneRoster collection; built by the client, not by users."""

    def __init__(self, client: OneRosterClient) -> None:
        self._client = client

    def _operation(self, name: str) -> Operation:
        """The table row of this collection's method ``name`` (``list``, ``put`` ...)."""
        attribute = vars(type(self))["list"].operation.attribute
        return next(op for op in operations_of(attribute) if op.name == name)

    def __repr__(self) -> str:
        names = sorted(
            name for name, value in vars(type(self)).items() if isinstance(value, _OperationMethod)
        )
        return f"<{type(self).__name__} collection: {', '.join(names)}, changed_since>"

    def changed_since(self, since: datetime, **options: Unpack[ListOptions]) -> Listing[M]:
        """Records modified after ``since`` (``dateLastModified>'...'``), for delta syncs.

        A delta read cannot see records deleted outright on the server; run a full read
        now and then to reconcile. ``filter`` may add one more predicate.
        """
        op = self._operation("list")
        _check_options(f"{op.attribute}.changed_since()", dict(options), _LIST_DEFAULTS)
        combined: FilterExpr = F.date_last_modified > since
        extra = options.get("filter")
        if extra is not None:
            predicate = parse_filter(extra) if isinstance(extra, str) else extra
            if not isinstance(predicate, Predicate):
                raise FilterError(
                    "changed_since() adds a dateLastModified predicate; OneRoster 1.1 allows "
                    "two predicates, so the extra filter must be a single predicate"
                )
            combined = combined & predicate
        merged: ListOptions = {**options, "filter": combined}
        return self._client._listing(op, (), **merged)


class _Gradebook(_Collection[M]):
    """Collections that accept PUT (upsert) and DELETE: categories, line items, results."""

    def put(self, record: M) -> WriteResult[M]:
        """Create or replace ``record`` (keyed by its sourcedId).

        Returns:
            whether the server created it (201) or replaced it (200), the record it
            echoed, if any, and whether that echo matches what was sent
            (:attr:`WriteResult.applied`, :attr:`WriteResult.mismatches`): check
            ``applied`` before counting the write as done.
        """
        return self._client._put(self._operation("put"), record)

    def delete(self, sourced_id: str) -> None:
        """Delete the record; 200 and 204 both mean done."""
        self._client._delete(self._operation("delete"), sourced_id)


class Orgs(_Collection[Org]):
    """``/orgs``: districts, schools, departments."""

    list: ListAll[Org] = _op("getAllOrgs")
    get: GetOne[Org] = _op("getOrg")


class Schools(_Collection[Org]):
    """``/schools``: orgs of type school, and what belongs to a school."""

    list: ListAll[Org] = _op("getAllSchools")
    get: GetOne[Org] = _op("getSchool")
    courses: ListBy1[Course] = _op("getCoursesForSchool")
    classes: ListBy1[Class] = _op("getClassesForSchool")
    enrollments: ListBy1[Enrollment] = _op("getEnrollmentsForSchool")
    class_enrollments: ListBy2[Enrollment] = _op("getEnrollmentsForClassInSchool")
    class_students: ListBy2[User] = _op("getStudentsForClassInSchool")
    class_teachers: ListBy2[User] = _op("getTeachersForClassInSchool")
    students: ListBy1[User] = _op("getStudentsForSchool")
    teachers: ListBy1[User] = _op("getTeachersForSchool")
    terms: ListBy1[AcademicSession] = _op("getTermsForSchool")


class AcademicSessions(_Collection[AcademicSession]):
    """``/academicSessions``: school years, semesters, terms, grading periods."""

    list: ListAll[AcademicSession] = _op("getAllAcademicSessions")
    get: GetOne[AcademicSession] = _op("getAcademicSession")


class Terms(_Collection[AcademicSession]):
    """``/terms``: academic sessions of type term."""

    list: ListAll[AcademicSession] = _op("getAllTerms")
    get: GetOne[AcademicSession] = _op("getTerm")
    classes: ListBy1[Class] = _op("getClassesForTerm")
    grading_periods: ListBy1[AcademicSession] = _op("getGradingPeriodsForTerm")


class GradingPeriods(_Collection[AcademicSession]):
    """``/gradingPeriods``: academic sessions of type gradingPeriod."""

    list: ListAll[AcademicSession] = _op("getAllGradingPeriods")
    get: GetOne[AcademicSession] = _op("getGradingPeriod")


class Courses(_Collection[Course]):
    """``/courses``."""

    list: ListAll[Course] = _op("getAllCourses")
    get: GetOne[Course] = _op("getCourse")
    classes: ListBy1[Class] = _op("getClassesForCourse")
    resources: ListBy1[Resource] = _op("getResourcesForCourse")


class Classes(_Collection[Class]):
    """``/classes`` and their students, teachers, resources and gradebook."""

    list: ListAll[Class] = _op("getAllClasses")
    get: GetOne[Class] = _op("getClass")
    students: ListBy1[User] = _op("getStudentsForClass")
    teachers: ListBy1[User] = _op("getTeachersForClass")
    resources: ListBy1[Resource] = _op("getResourcesForClass")
    line_items: ListBy1[LineItem] = _op("getLineItemsForClass")
    results: ListBy1[Result] = _op("getResultsForClass")
    results_for_line_item: ListBy2[Result] = _op("getResultsForLineItemForClass")
    results_for_student: ListBy2[Result] = _op("getResultsForStudentForClass")


class Users(_Collection[User]):
    """``/users``: everyone, whatever the role."""

    list: ListAll[User] = _op("getAllUsers")
    get: GetOne[User] = _op("getUser")
    classes: ListBy1[Class] = _op("getClassesForUser")


class Students(_Collection[User]):
    """``/students``: users with role student."""

    list: ListAll[User] = _op("getAllStudents")
    get: GetOne[User] = _op("getStudent")
    classes: ListBy1[Class] = _op("getClassesForStudent")


class Teachers(_Collection[User]):
    """``/teachers``: users with role teacher."""

    list: ListAll[User] = _op("getAllTeachers")
    get: GetOne[User] = _op("getTeacher")
    classes: ListBy1[Class] = _op("getClassesForTeacher")


class DemographicsCollection(_Collection[Demographics]):
    """``/demographics`` (privileged: needs the demographics scope)."""

    list: ListAll[Demographics] = _op("getAllDemographics")
    get: GetOne[Demographics] = _op("getDemographics")


class Enrollments(_Collection[Enrollment]):
    """``/enrollments``."""

    list: ListAll[Enrollment] = _op("getAllEnrollments")
    get: GetOne[Enrollment] = _op("getEnrollment")


class Categories(_Gradebook[Category]):
    """``/categories``: line item categories (read, PUT, DELETE)."""

    list: ListAll[Category] = _op("getAllCategories")
    get: GetOne[Category] = _op("getCategory")


class LineItems(_Gradebook[LineItem]):
    """``/lineItems``: gradebook columns (read, PUT, DELETE)."""

    list: ListAll[LineItem] = _op("getAllLineItems")
    get: GetOne[LineItem] = _op("getLineItem")


class Results(_Gradebook[Result]):
    """``/results``: scores (read, PUT, DELETE)."""

    list: ListAll[Result] = _op("getAllResults")
    get: GetOne[Result] = _op("getResult")


class Resources(_Collection[Resource]):
    """``/resources``."""

    list: ListAll[Resource] = _op("getAllResources")
    get: GetOne[Resource] = _op("getResource")


COLLECTIONS: dict[str, type[_Collection[Any]]] = {
    "orgs": Orgs,
    "schools": Schools,
    "academic_sessions": AcademicSessions,
    "terms": Terms,
    "grading_periods": GradingPeriods,
    "courses": Courses,
    "classes": Classes,
    "users": Users,
    "students": Students,
    "teachers": Teachers,
    "demographics": DemographicsCollection,
    "enrollments": Enrollments,
    "categories": Categories,
    "line_items": LineItems,
    "results": Results,
    "resources": Resources,
}
"""Client attribute -> collection class, one per OneRoster collection."""


class OneRosterClient:
    """A OneRoster 1.1 REST client.

    Args:
        base_url: the full base URL including any vendor prefix, e.g.
            ``https://sis.example.org/ims/oneroster/v1p1``. Must be https unless the host
            is loopback or ``allow_insecure_http`` is set.
        auth: an auth plug-in: :class:`~oneroster_client.auth.OAuth1`,
            :class:`~oneroster_client.auth.OAuth2ClientCredentials`,
            :class:`~oneroster_client.auth.BearerToken` (or ``None`` for an open server).
        timeout: seconds per request, or ``(connect, read)``: finite and more than 0.
        retry: the :class:`~oneroster_client.retry.RetryPolicy`.
        session: a ``requests.Session`` to use; the client creates one otherwise.
        page_size: default ``limit`` for listings (servers may serve fewer; paging copes).
        max_workers: default number of pages fetched at once when the total is known.
        strict: read records strictly (unknown fields or enum values are errors).
        allow_insecure_http: permit plain http to a non-loopback host (test servers;
            credentials and student data would travel unencrypted).
        user_agent: the ``User-Agent`` header.
        renew_auth_on: statuses after which renewable credentials are renewed and the
            call retried once (401 by default).
        preprocessor: for vendor adapters: called with the operation of each listing, it
            may return a function that repairs each page's raw records before they are
            read (the count checked against ``X-Total-Count`` is what arrived).

    Example::

        with OneRosterClient(url, auth=OAuth2ClientCredentials(token_url, id, secret)) as client:
            for student in client.students.list(filter=F.status == "active"):
                print(student.sourced_id)
    """

    orgs: Orgs
    schools: Schools
    academic_sessions: AcademicSessions
    terms: Terms
    grading_periods: GradingPeriods
    courses: Courses
    classes: Classes
    users: Users
    students: Students
    teachers: Teachers
    demographics: DemographicsCollection
    enrollments: Enrollments
    categories: Categories
    line_items: LineItems
    results: Results
    resources: Resources

    def __init__(
        self,
        base_url: str,
        *,
        auth: AuthBase | None,
        timeout: float | tuple[float, float] = 30.0,
        retry: RetryPolicy | None = None,
        session: Any = None,
        page_size: int = 100,
        max_workers: int = 1,
        strict: bool = False,
        allow_insecure_http: bool = False,
        user_agent: str = USER_AGENT,
        renew_auth_on: Iterable[int] = (401,),
        preprocessor: Callable[[Operation], Callable[[list[Any]], list[Any]] | None] | None = None,
    ) -> None:
        if auth is not None and not isinstance(auth, AuthBase):
            raise ConfigurationError(
                "auth must be OAuth1(...), OAuth2ClientCredentials(...), BearerToken(...) "
                f"or another requests AuthBase, got {type(auth).__name__}"
            )
        _check_count("page_size", page_size)
        _check_count("max_workers", max_workers)
        self._transport = Transport(
            base_url,
            auth=auth,
            timeout=timeout,
            retry=retry,
            session=session,
            allow_insecure_http=allow_insecure_http,
            user_agent=user_agent,
            renew_auth_on=renew_auth_on,
            pool_size=max(10, max_workers * 2),
        )
        self.page_size = page_size
        self.max_workers = max_workers
        self.strict = strict
        self.preprocessor = preprocessor
        for attribute, collection in COLLECTIONS.items():
            setattr(self, attribute, collection(self))

    @property
    def base_url(self) -> str:
        """The normalised base URL."""
        return self._transport.base_url

    @property
    def auth(self) -> AuthBase | None:
        """The auth plug-in."""
        return self._transport.auth

    def __repr__(self) -> str:
        return f"OneRosterClient({self.base_url!r}, auth={self.auth!r})"

    def close(self) -> None:
        """Close the HTTP session the client created."""
        self._transport.close()

    def __enter__(self) -> OneRosterClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- machinery used by the collections ------------------------------------------------

    def _path(self, op: Operation, ids: Sequence[str]) -> str:
        names = op.params
        if len(ids) != len(names):
            raise TypeError(
                f"{op.attribute}.{op.name}() takes {len(names)} id(s): {', '.join(names)}"
            )
        values = {
            name: quote(_checked_id(op, name, value), safe="")
            for name, value in zip(names, ids, strict=True)
        }
        return op.path.format(**values)

    def _listing(
        self, op: Operation, ids: Sequence[str], **options: Unpack[ListOptions]
    ) -> Listing[Any]:
        params: list[tuple[str, str]] = []
        filter_text = coerce_filter(options.get("filter"))
        if filter_text is not None:
            params.append(("filter", filter_text))
        sort_name = wire_sort(options.get("sort"))
        if sort_name is not None:
            params.append(("sort", sort_name))
        direction = _order_by(options.get("order_by"))
        if direction is not None:
            if sort_name is None:
                raise FilterError("order_by needs sort: OneRoster orders by the sort field")
            params.append(("orderBy", direction))
        selected = wire_fields(options.get("fields"))
        if selected is not None:
            params.append(("fields", selected))
        return Listing(
            self._transport,
            path=self._path(op, ids),
            model=op.model,
            keys=op.envelope_keys,
            params=params,
            page_size=_given(options.get("page_size"), self.page_size),
            strict=self.strict,
            allow_incomplete=_flag("allow_incomplete", options.get("allow_incomplete", False)),
            max_workers=_given(options.get("max_workers"), self.max_workers),
            progress=_callback("progress", options.get("progress")),
            preprocess=self.preprocessor(op) if self.preprocessor is not None else None,
        )

    def _get(self, op: Operation, ids: Sequence[str], *, fields: FieldsInput = None) -> Any:
        params: list[tuple[str, str]] = []
        wanted = wire_fields(fields)
        if wanted is not None:
            # sourcedId is always asked for, as listings do: it is the record's identity.
            names = wanted.split(",")
            selected = wanted if "sourcedId" in names else f"sourcedId,{wanted}"
            missing = missing_required_fields(op.model, selected)
            if missing:
                # A partial record is no model; one listing filtered to the record reads it
                # as a dict, with the same selection.
                one = repr(ids[0]) if len(ids) == 1 and isinstance(ids[0], str) else "..."
                raise FilterError(
                    f"fields={wanted} leaves out {', '.join(missing)}, which a "
                    f"{op.model.__name__} needs; add them, or list with fields= and read "
                    f"listing.dicts() (for this record: {op.attribute}.list(filter="
                    f"F.sourced_id == {one}, fields={wanted!r}).dicts())"
                )
            params.append(("fields", selected))
        url = self._transport.url_for(self._path(op, ids), params)
        response = self._transport.request("GET", url)
        raw = extract_envelope(
            response.json(), op.envelope_keys, collection=False, url=response.url
        )
        if self.preprocessor is not None:
            repair = self.preprocessor(op)
            if repair is not None:
                repaired = repair([raw])
                raw = repaired[0] if repaired else raw
        return converter.structure(raw, op.model, strict=self.strict)

    def _put(self, op: Operation, record: Record) -> WriteResult[Any]:
        if not isinstance(record, op.model):
            raise TypeError(
                f"{op.attribute}.put() takes a {op.model.__name__}, got {type(record).__name__}"
            )
        sent = record.to_dict()
        path = self._path(op, (record.sourced_id,))
        response = self._transport.request(
            "PUT", self._transport.url_for(path), json_body={op.key or "": sent}
        )
        body = _body_or_none(response)
        echo = _echo_of(op, body, response.url)
        result: WriteResult[Any] = WriteResult(
            created=response.status_code == 201,
            status_code=response.status_code,
            record=self._echo_record(op, echo),
            warnings=warnings_from_body(body) if body is not None else (),
            mismatches=mismatched_fields(sent, echo) if echo is not None else (),
            echo=echo,
        )
        if not result.applied:
            logger.warning(
                "PUT %s answered %d but the write was not applied as sent%s",
                path,
                response.status_code,
                f" (echoed differently: {', '.join(result.mismatches)})"
                if result.mismatches
                else " (the answer reports an error)",
            )
        return result

    def _echo_record(self, op: Operation, echo: dict[str, Any] | None) -> Any:
        # A partial echo is not a failed write: the record is then simply not available.
        if echo is None:
            return None
        try:
            return converter.structure(echo, op.model, strict=self.strict)
        except RecordValidationError as error:
            logger.info("the echo of a PUT to %s is not a full record: %s", op.path, error)
            return None

    def _delete(self, op: Operation, sourced_id: str) -> None:
        url = self._transport.url_for(self._path(op, (sourced_id,)))
        self._transport.request("DELETE", url)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _given(value: int | None, default: int) -> int:
    # ``None`` (not passed) takes the client's setting; 0 is a wrong value like -5, and
    # the listing refuses it by name instead of quietly using the default.
    return default if value is None else value


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False, got {type(value).__name__}")
    return value


def _callback(name: str, value: Progress | None) -> Progress | None:
    if value is not None and not callable(value):
        raise ConfigurationError(
            f"{name} must be a function called with (records received, total), "
            f"got {type(value).__name__}"
        )
    return value


def _check_count(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1, got {value!r}")


def sourced_id_problem(value: object) -> str | None:
    """What makes ``value`` unfit as a sourcedId in a URL path segment, or ``None``.

    ``.`` and ``..`` would be read as path steps by URL layers (RFC 3986 section 5.2.4),
    so ``classes.students("..")`` would ask for another collection; control characters
    have no place in an identifier.

    Returns:
        The problem, phrased to follow the value's name (``"must be ..."``, ``"is ..."``).
    """
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty sourcedId"
    control = _CONTROL.search(value)
    if control is not None:
        return (
            f"contains a control character (U+{ord(control.group()):04X} at position "
            f"{control.start()}); a sourcedId never does"
        )
    trimmed = value.strip()
    if trimmed in (".", ".."):
        return (
            f"{trimmed!r} is not a sourcedId: in a URL it means this or the parent "
            "collection, so the request would read other records"
        )
    return None


def _checked_id(op: Operation, name: str, value: object) -> str:
    """A sourcedId fit for a URL path segment, or a :class:`ConfigurationError`."""
    problem = sourced_id_problem(value)
    if problem is not None:
        raise ConfigurationError(f"{op.attribute}.{op.name}(): {name} {problem}")
    return str(value).strip()


def _body_or_none(response: Response) -> Any:
    """The JSON body of a write answer, or ``None``: an unreadable answer is no failure."""
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ResponseFormatError:
        return None


def _echo_of(op: Operation, body: Any, url: str) -> dict[str, Any] | None:
    if not isinstance(body, dict):
        return None
    try:
        echo = extract_envelope(body, op.envelope_keys, collection=False, url=url)
    except ResponseFormatError:
        return None
    return echo if isinstance(echo, dict) else None
