"""A loopback OneRoster 1.1 server: real HTTP on 127.0.0.1, faithful by default, faulty on request.

It serves all 61 operations of :mod:`oneroster_client.endpoints` from a :class:`District`
with the spec's envelopes, paging (``limit``/``offset``, ``X-Total-Count``, ``Link``),
filtering (section 8.3 grammar), ``sort``/``orderBy``, ``fields``, gradebook PUT and
DELETE, ``statusInfoSet`` errors and warnings, OAuth 1.0a HMAC-SHA256/SHA1 signature
verification (nonce and timestamp checks) and OAuth 2 client-credentials tokens with
scopes. :class:`Faults` injects what real servers do wrong: latency, 429 with
``Retry-After``, 5xx bursts, malformed or truncated JSON, silently capped pages, a
``Link`` to another host, early token expiry and vendor quirks.

Usage::

    with OneRosterServer(generate_district(students=100)) as server:
        client = OneRosterClient(server.base_url, auth=server.oauth2())
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import attrs

from oneroster_client import converter
from oneroster_client._naming import to_wire_name
from oneroster_client.auth import parse_authorization_header, sign, signature_base_string
from oneroster_client.endpoints import OPERATIONS, SCOPE_PREFIX, Operation, operation
from oneroster_client.errors import FilterError, RecordValidationError
from oneroster_client.query import FilterExpr, evaluate, parse_filter
from oneroster_client.testing.district import COLLECTION_MODELS, District

__all__ = ["ALL_SCOPES", "Faults", "OneRosterServer", "ServedRequest"]

ALL_SCOPES: tuple[str, ...] = tuple(
    SCOPE_PREFIX + name
    for name in (
        "roster-core.readonly",
        "roster.readonly",
        "roster-demographics.readonly",
        "resource.readonly",
        "gradebook.readonly",
        "gradebook.createput",
        "gradebook.delete",
    )
)
"""Every OneRoster 1.1 scope; granted to the test client unless a test says otherwise."""

_NONCE_WINDOW = 90 * 60.0  # seconds a nonce is remembered (the reference provider's figure)
_TIMESTAMP_SKEW = 45 * 60.0  # seconds a timestamp may differ from the server clock


@attrs.define
class Faults:
    """What the server does wrong, configurable per test; all off by default.

    Counters are per server. "Requests" below means OneRoster API requests, not token
    requests, unless stated.

    Attributes:
        latency: seconds added before every answer.
        rate_limit_every: every Nth API request gets 429 with ``Retry-After``.
        retry_after: the ``Retry-After`` value sent with 429 (seconds, as text, or an
            HTTP-date when ``retry_after_http_date``).
        retry_after_http_date: send ``Retry-After`` as an HTTP-date.
        fail_statuses: statuses to answer the next API requests with, consumed in order
            (e.g. ``[503, 503, 503]`` for a burst); see :meth:`fail_next`.
        fail_always: answer every API request with this status (e.g. 500).
        malformed: kinds of broken bodies for the next successful answers, consumed in
            order: ``"invalid"`` (not JSON), ``"truncated"`` (cut in half),
            ``"no_envelope"`` (JSON without the expected key).
        cap_page_size: silently serve at most this many records per page.
        paging_headers: send ``X-Total-Count`` and ``Link``; off mimics servers without them.
        total_count_delta: added to the real ``X-Total-Count`` (a server that lies).
        ignore_offset: serve the first page whatever the offset (duplicate pages).
        foreign_next_link: point ``Link rel="next"`` at another host.
        token_lifetime: the ``expires_in`` announced for OAuth 2 tokens.
        token_valid_for: seconds a token really stays valid (tokens that expire early).
        token_500_when_expired: answer an expired token with 500 instead of 401 (seen
            with Skyward-like servers).
        strings_for_booleans: write booleans as ``"true"``/``"false"`` strings.
        unknown_role: render users and enrollments with role ``administrator`` with this
            role instead (e.g. ``"districtAdministrator"``).
        envelope_keys: rename envelope keys (``{"users": "students"}``).
        corrupt_records: sourcedIds whose records are served with an unreadable field.
        refuse_basic_token_auth: the token endpoint accepts only form credentials.
        gradebook_writes_forbidden: PUT and DELETE answer 403 (passback not licensed).
    """

    latency: float = 0.0
    rate_limit_every: int | None = None
    retry_after: str = "1"
    retry_after_http_date: bool = False
    fail_statuses: list[int] = attrs.field(factory=list)
    fail_always: int | None = None
    malformed: list[str] = attrs.field(factory=list)
    cap_page_size: int | None = None
    paging_headers: bool = True
    total_count_delta: int = 0
    ignore_offset: bool = False
    foreign_next_link: bool = False
    token_lifetime: int = 3600
    token_valid_for: float | None = None
    token_500_when_expired: bool = False
    strings_for_booleans: bool = False
    unknown_role: str | None = None
    envelope_keys: dict[str, str] = attrs.field(factory=dict)
    corrupt_records: set[str] = attrs.field(factory=set)
    refuse_basic_token_auth: bool = False
    gradebook_writes_forbidden: bool = False

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer the next ``count`` API requests with ``status``."""
        self.fail_statuses.extend([status] * count)

    def malform_next(self, kind: str = "invalid", count: int = 1) -> None:
        """Break the bodies of the next ``count`` successful answers (see ``malformed``)."""
        if kind not in ("invalid", "truncated", "no_envelope"):
            raise ValueError(f"unknown malformed body kind {kind!r}")
        self.malformed.extend([kind] * count)


@attrs.frozen
class ServedRequest:
    """One request the server answered (no headers kept: they may carry secrets)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    auth: str | None


class _Refusal(Exception):
    """An error answer: HTTP status plus one statusInfo."""

    def __init__(
        self,
        status: int,
        code_minor: str,
        description: str,
        *,
        headers: Mapping[str, str] | None = None,
        oauth_error: str | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code_minor = code_minor
        self.description = description
        self.headers = dict(headers or {})
        self.oauth_error = oauth_error


def _status_info(severity: str, code_minor: str, description: str) -> dict[str, str]:
    return {
        "imsx_codeMajor": "failure" if severity == "error" else "success",
        "imsx_severity": severity,
        "imsx_codeMinor": code_minor,
        "imsx_description": description,
    }


def _ref_ids(value: Any) -> list[str]:
    """The sourcedIds a GUIDRef field (one or a list) points to."""
    if isinstance(value, dict):
        return [value["sourcedId"]] if "sourcedId" in value else []
    if isinstance(value, list):
        return [
            item["sourcedId"] for item in value if isinstance(item, dict) and "sourcedId" in item
        ]
    return []


def _sort_key(field: str) -> Callable[[dict[str, Any]], tuple[int, float, str]]:
    parts = field.split(".")

    def key(record: dict[str, Any]) -> tuple[int, float, str]:
        value: Any = record
        for part in parts:
            if isinstance(value, list):
                value = value[0] if value else None
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return (2, 0.0, "")
        # Numbers by value (score 20 before 100), not as text; then text, then missing.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (0, float(value), "")
        if isinstance(value, list):
            value = ",".join(str(item) for item in value)
        return (1, 0.0, str(value).lower())

    return key


class _Store:
    """The district plus lazily built indexes, rebuilt per collection after writes."""

    def __init__(self, district: District) -> None:
        self.district = district
        self.lock = threading.RLock()
        self.versions = dict.fromkeys(COLLECTION_MODELS, 0)
        self._by_id: dict[str, tuple[int, dict[str, dict[str, Any]]]] = {}
        self._groups: dict[tuple[str, str], tuple[int, dict[str, list[dict[str, Any]]]]] = {}

    def rows(self, collection: str) -> list[dict[str, Any]]:
        return self.district.collections[collection]

    def by_id(self, collection: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            version = self.versions[collection]
            cached = self._by_id.get(collection)
            if cached is None or cached[0] != version:
                table = {row["sourcedId"]: row for row in self.rows(collection)}
                cached = (version, table)
                self._by_id[collection] = cached
            return cached[1]

    def group(self, collection: str, field: str) -> dict[str, list[dict[str, Any]]]:
        """Records of ``collection`` grouped by the sourcedId(s) their ``field`` points to."""
        with self.lock:
            version = self.versions[collection]
            cached = self._groups.get((collection, field))
            if cached is None or cached[0] != version:
                groups: dict[str, list[dict[str, Any]]] = {}
                for row in self.rows(collection):
                    for ref in _ref_ids(row.get(field)):
                        groups.setdefault(ref, []).append(row)
                cached = (version, groups)
                self._groups[(collection, field)] = cached
            return cached[1]

    def subset(self, collection: str, field: str, value: str) -> list[dict[str, Any]]:
        """Records whose plain ``field`` equals ``value`` (schools, terms, students ...)."""
        with self.lock:
            version = self.versions[collection]
            key = (collection, "=" + field + "=" + value)
            cached = self._groups.get(key)
            if cached is None or cached[0] != version:
                cached = (version, {value: _typed(self.rows(collection), field, value)})
                self._groups[key] = cached
            return cached[1][value]

    def get(self, collection: str, sourced_id: str, what: str) -> dict[str, Any]:
        row = self.by_id(collection).get(sourced_id)
        if row is None:
            raise _Refusal(404, "unknown object", f"{what} {sourced_id} not found")
        return row

    def put(self, collection: str, record: dict[str, Any]) -> bool:
        """Insert or replace by sourcedId; return True when created."""
        with self.lock:
            table = self.by_id(collection)
            rows = self.rows(collection)
            existing = table.get(record["sourcedId"])
            if existing is None:
                rows.append(record)
            else:
                rows[rows.index(existing)] = record
            self.versions[collection] += 1
            return existing is None

    def delete(self, collection: str, sourced_id: str) -> bool:
        with self.lock:
            existing = self.by_id(collection).get(sourced_id)
            if existing is None:
                return False
            self.rows(collection).remove(existing)
            self.versions[collection] += 1
            return True


def _typed(rows: Iterable[dict[str, Any]], field: str, value: str) -> list[dict[str, Any]]:
    return [row for row in rows if row.get(field) == value]


class _Resolver:
    """Turns an operation and its path parameters into records, per the 1.1 semantics."""

    # Single-object operations on a typed subset: (collection, field, required value, noun).
    _SUBSETS: dict[str, tuple[str, str, str]] = {
        "schools": ("orgs", "type", "school"),
        "terms": ("academicSessions", "type", "term"),
        "gradingPeriods": ("academicSessions", "type", "gradingPeriod"),
        "students": ("users", "role", "student"),
        "teachers": ("users", "role", "teacher"),
    }

    def __init__(self, store: _Store) -> None:
        self.store = store

    def collection_of(self, op: Operation) -> str:
        first = op.path.split("/")[1]
        return self._SUBSETS[first][0] if first in self._SUBSETS else first

    def single(self, op: Operation, sourced_id: str) -> dict[str, Any]:
        first = op.path.split("/")[1]
        if first in self._SUBSETS:
            collection, field, value = self._SUBSETS[first]
            row = self.store.get(collection, sourced_id, value)
            if row.get(field) != value:
                raise _Refusal(404, "unknown object", f"{value} {sourced_id} not found")
            return row
        return self.store.get(first, sourced_id, op.model.__name__)

    def many(self, op: Operation, params: Mapping[str, str]) -> list[dict[str, Any]]:
        handler = getattr(self, "_" + op.operation_id, None)
        if handler is not None:
            return handler(**params)  # type: ignore[no-any-return]
        first = op.path.split("/")[1]
        if first in self._SUBSETS:
            collection, field, value = self._SUBSETS[first]
            return self._cached_subset(collection, field, value)
        return self.store.rows(first)

    def _cached_subset(self, collection: str, field: str, value: str) -> list[dict[str, Any]]:
        return self.store.subset(collection, field, value)

    # Nested rostering collections.
    def _users_in_class(self, class_id: str, role: str) -> list[dict[str, Any]]:
        self.store.get("classes", class_id, "class")
        users = self.store.by_id("users")
        seen: dict[str, dict[str, Any]] = {}
        for enrollment in self.store.group("enrollments", "class").get(class_id, []):
            if enrollment.get("role") == role:
                for user_id in _ref_ids(enrollment.get("user")):
                    if user_id in users:
                        seen.setdefault(user_id, users[user_id])
        return list(seen.values())

    def _classes_of_user(self, user_id: str, role: str | None) -> list[dict[str, Any]]:
        user = self.store.get("users", user_id, role or "user")
        if role is not None and user.get("role") != role:
            raise _Refusal(404, "unknown object", f"{role} {user_id} not found")
        classes = self.store.by_id("classes")
        seen: dict[str, dict[str, Any]] = {}
        for enrollment in self.store.group("enrollments", "user").get(user_id, []):
            for class_id in _ref_ids(enrollment.get("class")):
                if class_id in classes:
                    seen.setdefault(class_id, classes[class_id])
        return list(seen.values())

    def _class_in_school(self, school_id: str, class_id: str) -> None:
        self._school(school_id)
        row = self.store.get("classes", class_id, "class")
        if school_id not in _ref_ids(row.get("school")):
            raise _Refusal(404, "unknown object", f"class {class_id} not found in {school_id}")

    def _school(self, school_id: str) -> dict[str, Any]:
        row = self.store.get("orgs", school_id, "school")
        if row.get("type") != "school":
            raise _Refusal(404, "unknown object", f"school {school_id} not found")
        return row

    def _getStudentsForClass(self, class_id: str) -> list[dict[str, Any]]:
        return self._users_in_class(class_id, "student")

    def _getTeachersForClass(self, class_id: str) -> list[dict[str, Any]]:
        return self._users_in_class(class_id, "teacher")

    def _getClassesForCourse(self, course_id: str) -> list[dict[str, Any]]:
        self.store.get("courses", course_id, "course")
        return self.store.group("classes", "course").get(course_id, [])

    def _getCoursesForSchool(self, school_id: str) -> list[dict[str, Any]]:
        self._school(school_id)
        return self.store.group("courses", "org").get(school_id, [])

    def _getClassesForSchool(self, school_id: str) -> list[dict[str, Any]]:
        self._school(school_id)
        return self.store.group("classes", "school").get(school_id, [])

    def _getEnrollmentsForSchool(self, school_id: str) -> list[dict[str, Any]]:
        self._school(school_id)
        return self.store.group("enrollments", "school").get(school_id, [])

    def _getEnrollmentsForClassInSchool(
        self, school_id: str, class_id: str
    ) -> list[dict[str, Any]]:
        self._class_in_school(school_id, class_id)
        return self.store.group("enrollments", "class").get(class_id, [])

    def _getStudentsForClassInSchool(self, school_id: str, class_id: str) -> list[dict[str, Any]]:
        self._class_in_school(school_id, class_id)
        return self._users_in_class(class_id, "student")

    def _getTeachersForClassInSchool(self, school_id: str, class_id: str) -> list[dict[str, Any]]:
        self._class_in_school(school_id, class_id)
        return self._users_in_class(class_id, "teacher")

    def _getStudentsForSchool(self, school_id: str) -> list[dict[str, Any]]:
        self._school(school_id)
        return _typed(self.store.group("users", "orgs").get(school_id, []), "role", "student")

    def _getTeachersForSchool(self, school_id: str) -> list[dict[str, Any]]:
        self._school(school_id)
        return _typed(self.store.group("users", "orgs").get(school_id, []), "role", "teacher")

    def _getTermsForSchool(self, school_id: str) -> list[dict[str, Any]]:
        # Sessions are not linked to schools in 1.1: a school's terms are its classes' terms.
        self._school(school_id)
        sessions = self.store.by_id("academicSessions")
        seen: dict[str, dict[str, Any]] = {}
        for row in self.store.group("classes", "school").get(school_id, []):
            for term_id in _ref_ids(row.get("terms")):
                term = sessions.get(term_id)
                if term is not None and term.get("type") == "term":
                    seen.setdefault(term_id, term)
        return list(seen.values())

    def _getClassesForStudent(self, student_id: str) -> list[dict[str, Any]]:
        return self._classes_of_user(student_id, "student")

    def _getClassesForTeacher(self, teacher_id: str) -> list[dict[str, Any]]:
        return self._classes_of_user(teacher_id, "teacher")

    def _getClassesForUser(self, user_id: str) -> list[dict[str, Any]]:
        return self._classes_of_user(user_id, None)

    def _getClassesForTerm(self, term_id: str) -> list[dict[str, Any]]:
        self.single(operation("getTerm"), term_id)
        return self.store.group("classes", "terms").get(term_id, [])

    def _getGradingPeriodsForTerm(self, term_id: str) -> list[dict[str, Any]]:
        self.single(operation("getTerm"), term_id)
        children = self.store.group("academicSessions", "parent").get(term_id, [])
        return _typed(children, "type", "gradingPeriod")

    # Resources.
    def _resources_of(self, collection: str, owner_id: str, noun: str) -> list[dict[str, Any]]:
        owner = self.store.get(collection, owner_id, noun)
        resources = self.store.by_id("resources")
        return [resources[ref] for ref in _ref_ids(owner.get("resources")) if ref in resources]

    def _getResourcesForCourse(self, course_id: str) -> list[dict[str, Any]]:
        return self._resources_of("courses", course_id, "course")

    def _getResourcesForClass(self, class_id: str) -> list[dict[str, Any]]:
        return self._resources_of("classes", class_id, "class")

    # Gradebook.
    def _getLineItemsForClass(self, class_id: str) -> list[dict[str, Any]]:
        self.store.get("classes", class_id, "class")
        return self.store.group("lineItems", "class").get(class_id, [])

    def _getResultsForClass(self, class_id: str) -> list[dict[str, Any]]:
        by_line_item = self.store.group("results", "lineItem")
        found: list[dict[str, Any]] = []
        for line_item in self._getLineItemsForClass(class_id):
            found.extend(by_line_item.get(line_item["sourcedId"], []))
        return found

    def _getResultsForLineItemForClass(
        self, class_id: str, line_item_id: str
    ) -> list[dict[str, Any]]:
        self.store.get("classes", class_id, "class")
        line_item = self.store.get("lineItems", line_item_id, "lineItem")
        if class_id not in _ref_ids(line_item.get("class")):
            raise _Refusal(404, "unknown object", f"lineItem {line_item_id} not in {class_id}")
        return self.store.group("results", "lineItem").get(line_item_id, [])

    def _getResultsForStudentForClass(self, class_id: str, student_id: str) -> list[dict[str, Any]]:
        self.store.get("users", student_id, "student")
        return [
            row
            for row in self._getResultsForClass(class_id)
            if student_id in _ref_ids(row.get("student"))
        ]


def _compile_routes(base_path: str) -> list[tuple[str, re.Pattern[str], Operation]]:
    routes = []
    for op in OPERATIONS:
        pattern = re.sub(
            r"\{(\w+)\}",
            r"(?P<\1>[^/]+)",
            re.escape(op.path).replace(r"\{", "{").replace(r"\}", "}"),
        )
        routes.append((op.method, re.compile("^" + re.escape(base_path) + pattern + "/?$"), op))
    return routes


def _known_fields(model: type[Any]) -> frozenset[str]:
    return frozenset(
        to_wire_name(field.name) for field in attrs.fields(model) if field.name != "extra"
    )


class OneRosterServer:
    """A real OneRoster 1.1 HTTP server on loopback, for tests, demos and benchmarks.

    Args:
        district: the data to serve; an empty district when omitted. Gradebook PUT and
            DELETE change it in place.
        host: the interface; loopback by default, and tests should keep it so.
        port: 0 picks a free port.
        base_path: the OneRoster base path, after any vendor prefix.
        client_id: the OAuth 2 client id, also the OAuth 1 consumer key.
        client_secret: the secret for both schemes; random when omitted.
        scopes: the scopes this client may be granted.
        auth: accepted schemes: any of ``"oauth1"``, ``"oauth2"``; empty for no auth.
        default_limit: page size when the request gives no ``limit``.
        delete_status: 204 (default) or 200 for gradebook DELETE.
        faults: what to get wrong; change ``server.faults`` attributes at any time.
    """

    def __init__(
        self,
        district: District | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        base_path: str = "/ims/oneroster/v1p1",
        client_id: str = "oneroster-test-client",
        client_secret: str | None = None,
        scopes: Iterable[str] = ALL_SCOPES,
        auth: Iterable[str] = ("oauth1", "oauth2"),
        default_limit: int = 100,
        delete_status: int = 204,
        faults: Faults | None = None,
    ) -> None:
        self.district = district if district is not None else District()
        self.host = host
        self.base_path = "/" + base_path.strip("/")
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.scopes = frozenset(scopes)
        self.auth_schemes = frozenset(auth)
        self.default_limit = default_limit
        self.delete_status = delete_status
        self.faults = faults if faults is not None else Faults()
        self.requests: list[ServedRequest] = []
        self.token_requests = 0
        self._store = _Store(self.district)
        self._resolver = _Resolver(self._store)
        self._routes = _compile_routes(self.base_path)
        self._tokens: dict[str, tuple[float, float, frozenset[str]]] = {}
        self._nonces: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._api_requests = 0
        self._query_cache: dict[tuple[Any, ...], tuple[tuple[int, ...], list[dict[str, Any]]]] = {}
        self._httpd = _HTTPServer((host, port), _Handler, self)
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"OneRosterServer(base_url={self.base_url!r}, client_id={self.client_id!r})"

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OneRoster base URL, e.g. ``http://127.0.0.1:5123/ims/oneroster/v1p1``."""
        return self.origin + self.base_path

    @property
    def token_url(self) -> str:
        """The OAuth 2 token endpoint."""
        return self.origin + "/oauth/token"

    def start(self) -> OneRosterServer:
        """Serve in a background thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"oneroster-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> OneRosterServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- helpers for tests --------------------------------------------------------------

    def oauth1(self, signature_method: str = "HMAC-SHA256") -> Any:
        """An :class:`~oneroster_client.auth.OAuth1` plug-in with this server's credentials."""
        from oneroster_client.auth import OAuth1

        return OAuth1(self.client_id, self.client_secret, signature_method=signature_method)

    def oauth2(self, scopes: Iterable[str] = (), client_auth: str = "basic") -> Any:
        """An :class:`~oneroster_client.auth.OAuth2ClientCredentials` for this server."""
        from oneroster_client.auth import OAuth2ClientCredentials

        return OAuth2ClientCredentials(
            self.token_url,
            self.client_id,
            self.client_secret,
            scopes=tuple(scopes),
            client_auth=client_auth,  # type: ignore[arg-type]
        )

    def issue_token(self, scopes: Iterable[str] | None = None, lifetime: float = 3600.0) -> str:
        """Mint a bearer token directly (for pre-issued token tests)."""
        token = secrets.token_urlsafe(24)
        granted = frozenset(scopes) if scopes is not None else self.scopes
        with self._lock:
            now = time.monotonic()
            self._tokens[token] = (now + lifetime, now + lifetime, granted)
        return token

    def expire_tokens(self) -> None:
        """Make every issued token invalid now (a server that restarted, say)."""
        with self._lock:
            self._tokens.clear()

    def statuses(self) -> list[int]:
        """HTTP statuses of the API requests served so far, in order."""
        return [request.status for request in self.requests]

    # --- request handling ---------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        method = handler.command
        split = urlsplit(handler.path)
        path = unquote(split.path)
        query_pairs = parse_qsl(split.query, keep_blank_values=True)
        query = dict(query_pairs)
        if self.faults.latency:
            time.sleep(self.faults.latency)
        auth_kind: str | None = None
        headers: dict[str, str] = {}
        try:
            if path == "/oauth/token":
                status, token_body = self._token_endpoint(handler)
                headers["Cache-Control"] = "no-store"
                self._send(handler, status, token_body, headers)
                return
            route = self._match(method, path)
            if route is None:
                # Unknown paths say so before any auth check, like real servers' routers.
                raise _Refusal(404, "unknown object", f"no OneRoster operation at {method} {path}")
            auth_kind = self._authenticate(handler, route[0])
            self._count_and_inject(headers)
            op, params = route
            status, body, extra_headers = self._operation(
                handler, op, params, query, query_pairs, path
            )
            headers.update(extra_headers)
            payload = self._encode(op, body)
        except _Refusal as refusal:
            status = refusal.status
            headers.update(refusal.headers)
            error_body: dict[str, Any] = {
                "statusInfoSet": [_status_info("error", refusal.code_minor, refusal.description)]
            }
            if refusal.oauth_error:
                error_body["error"] = refusal.oauth_error
            payload = json.dumps(error_body).encode()
        with self._lock:
            self.requests.append(ServedRequest(method, path, query, status, auth_kind))
        self._send_raw(handler, status, payload, headers)

    def _match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for route_method, pattern, op in self._routes:
            match = pattern.match(path)
            if match is not None and route_method == method:
                return op, match.groupdict()
        for _route_method, pattern, op in self._routes:
            if pattern.match(path):
                raise _Refusal(405, "unsupported", f"{method} is not supported on {op.path}")
        return None

    def _count_and_inject(self, headers: dict[str, str]) -> None:
        faults = self.faults
        with self._lock:
            self._api_requests += 1
            count = self._api_requests
            failing = faults.fail_statuses.pop(0) if faults.fail_statuses else faults.fail_always
        if failing is not None:
            if failing == 429:
                raise _Refusal(429, "server_busy", "rate limited", headers=self._retry_after())
            raise _Refusal(failing, "internal_server_error", f"injected failure {failing}")
        if faults.rate_limit_every and count % faults.rate_limit_every == 0:
            raise _Refusal(429, "server_busy", "rate limited", headers=self._retry_after())

    def _retry_after(self) -> dict[str, str]:
        if self.faults.retry_after_http_date:
            seconds = float(self.faults.retry_after)
            return {"Retry-After": formatdate(time.time() + seconds, usegmt=True)}
        return {"Retry-After": self.faults.retry_after}

    # --- auth ---------------------------------------------------------------------------

    def _authenticate(self, handler: _Handler, op: Operation | None) -> str | None:
        if not self.auth_schemes:
            return None
        header = handler.headers.get("Authorization", "")
        scheme = header.split(" ", 1)[0].lower()
        if scheme == "bearer" and "oauth2" in self.auth_schemes:
            granted = self._check_bearer(header[7:].strip())
            kind = "bearer"
        elif scheme == "oauth" and "oauth1" in self.auth_schemes:
            self._check_oauth1(handler, header)
            granted = self.scopes
            kind = "oauth1"
        else:
            raise _Refusal(
                401,
                "unauthorized",
                "missing or unsupported Authorization header",
                headers={"WWW-Authenticate": 'Bearer realm="oneroster"'},
            )
        if op is not None and not granted.intersection(op.scope_uris):
            raise _Refusal(
                403,
                "forbidden",
                f"{op.operation_id} needs one of the scopes {', '.join(op.scope_uris)}",
                oauth_error="insufficient_scope",
            )
        return kind

    def _check_bearer(self, token: str) -> frozenset[str]:
        with self._lock:
            entry = self._tokens.get(token)
        now = time.monotonic()
        if entry is None or now >= entry[1]:
            if entry is not None and self.faults.token_500_when_expired:
                raise _Refusal(500, "internal_server_error", "Token has expired")
            raise _Refusal(
                401,
                "unauthorized",
                "the access token is invalid or has expired",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                oauth_error="invalid_token",
            )
        return entry[2]

    def _check_oauth1(self, handler: _Handler, header: str) -> None:
        try:
            params = parse_authorization_header(header)
        except ValueError as exc:
            raise _Refusal(400, "invalid data", str(exc)) from None
        required = (
            "oauth_consumer_key",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
        )
        missing = [name for name in required if not params.get(name)]
        if missing:
            raise _Refusal(400, "invalid data", f"missing OAuth parameters: {', '.join(missing)}")
        method = params["oauth_signature_method"]
        if method not in ("HMAC-SHA256", "HMAC-SHA1"):
            raise _Refusal(400, "invalid data", f"unsupported signature method {method}")
        if not hmac.compare_digest(params["oauth_consumer_key"], self.client_id):
            raise _Refusal(401, "unauthorized", "unknown consumer key")
        try:
            timestamp = float(params["oauth_timestamp"])
        except ValueError:
            raise _Refusal(401, "unauthorized", "invalid oauth_timestamp") from None
        now = time.time()
        if abs(now - timestamp) > _TIMESTAMP_SKEW:
            raise _Refusal(401, "unauthorized", "oauth_timestamp outside the accepted window")
        url = self.origin + handler.path
        expected = sign(
            signature_base_string(handler.command, url, params), self.client_secret, method
        )
        if not hmac.compare_digest(expected, params["oauth_signature"]):
            raise _Refusal(401, "unauthorized", "invalid OAuth 1 signature")
        nonce_key = (params["oauth_nonce"], params["oauth_timestamp"])
        with self._lock:
            for key, seen in list(self._nonces.items()):
                if now - seen > _NONCE_WINDOW:
                    del self._nonces[key]
            if nonce_key in self._nonces:
                raise _Refusal(401, "unauthorized", "oauth_nonce already used")
            self._nonces[nonce_key] = now

    def _token_endpoint(self, handler: _Handler) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_requests += 1
        if handler.command != "POST":
            return 405, {"error": "invalid_request", "error_description": "use POST"}
        form = dict(parse_qsl(handler.body.decode("utf-8", "replace")))
        client_id = client_secret = None
        header = handler.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            if self.faults.refuse_basic_token_auth:
                return 401, {"error": "invalid_client", "error_description": "use form credentials"}
            try:
                decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return 401, {"error": "invalid_client"}
            raw_id, _, raw_secret = decoded.partition(":")
            client_id, client_secret = unquote(raw_id), unquote(raw_secret)
        elif "client_id" in form:
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if (
            client_id is None
            or client_secret is None
            or not hmac.compare_digest(client_id, self.client_id)
            or not hmac.compare_digest(client_secret, self.client_secret)
        ):
            return 401, {
                "error": "invalid_client",
                "error_description": "client authentication failed",
            }
        requested = frozenset(form.get("scope", "").split())
        if requested - self.scopes:
            return 400, {"error": "invalid_scope", "error_description": "scope not allowed"}
        granted = requested or self.scopes
        lifetime = float(self.faults.token_lifetime)
        valid_for = (
            self.faults.token_valid_for if self.faults.token_valid_for is not None else lifetime
        )
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            self._tokens[token] = (now + lifetime, now + valid_for, granted)
        return 200, {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.faults.token_lifetime,
            "scope": " ".join(sorted(granted)),
        }

    # --- operations ---------------------------------------------------------------------

    def _operation(
        self,
        handler: _Handler,
        op: Operation,
        params: dict[str, str],
        query: dict[str, str],
        query_pairs: list[tuple[str, str]],
        path: str,
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        if op.method == "PUT":
            return self._put(handler, op, params["sourced_id"])
        if op.method == "DELETE":
            return self._delete(op, params["sourced_id"])
        known = _known_fields(op.model)
        warnings: list[dict[str, str]] = []
        selection = self._selection(query, known, warnings)
        if not op.collection:
            record = self._resolver.single(op, params["sourced_id"])
            body: dict[str, Any] = {op.key or "": self._render(record, selection)}
            if warnings:
                body["statusInfoSet"] = warnings
            return 200, body, {}
        rows = self._query(op, params, query, known, warnings)
        return self._page(op, rows, query, query_pairs, selection, warnings, path)

    def _selection(
        self, query: Mapping[str, str], known: frozenset[str], warnings: list[dict[str, str]]
    ) -> list[str] | None:
        if "fields" not in query:
            return None
        names = [name.strip() for name in query["fields"].split(",") if name.strip()]
        if not names:
            raise _Refusal(400, "invalid_blank_selection_field", "fields= names no field")
        unknown = [name for name in names if name not in known]
        for name in unknown:
            warnings.append(_status_info("warning", "invalid_selection_field", name))
        return [name for name in names if name in known] if len(unknown) < len(names) else None

    def _query(
        self,
        op: Operation,
        params: Mapping[str, str],
        query: Mapping[str, str],
        known: frozenset[str],
        warnings: list[dict[str, str]],
    ) -> list[dict[str, Any]]:
        expr: FilterExpr | None = None
        if query.get("filter"):
            try:
                expr = parse_filter(query["filter"])
            except FilterError as exc:
                raise _Refusal(400, "invalid_filter_field", str(exc)) from None
            for field in expr.fields:
                if field.split(".")[0] not in known:
                    raise _Refusal(400, "invalid_filter_field", field)
        sort = query.get("sort") or None
        if sort is not None and sort.split(".")[0] not in known:
            warnings.append(_status_info("warning", "invalid_sort_field", sort))
            sort = None
        descending = (query.get("orderBy") or "asc").lower() == "desc"
        cache_key = (
            op.operation_id,
            tuple(sorted(params.items())),
            str(expr) if expr is not None else None,
            sort,
            descending,
        )
        versions = tuple(self._store.versions.values())
        with self._store.lock:
            cached = self._query_cache.get(cache_key)
            if cached is not None and cached[0] == versions:
                return cached[1]
        rows = self._resolver.many(op, params)
        if expr is not None:
            rows = [row for row in rows if evaluate(expr, row)]
        if sort is not None:
            rows = sorted(rows, key=_sort_key(sort), reverse=descending)
        elif descending:
            rows = list(reversed(rows))
        with self._store.lock:
            if len(self._query_cache) > 256:
                self._query_cache.clear()
            self._query_cache[cache_key] = (versions, rows)
        return rows

    def _page(
        self,
        op: Operation,
        rows: list[dict[str, Any]],
        query: Mapping[str, str],
        query_pairs: list[tuple[str, str]],
        selection: list[str] | None,
        warnings: list[dict[str, str]],
        path: str,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        faults = self.faults
        try:
            limit = int(query.get("limit") or self.default_limit)
            offset = int(query.get("offset") or 0)
        except ValueError:
            raise _Refusal(400, "invalid data", "limit and offset must be integers") from None
        if limit < 1 or offset < 0:
            raise _Refusal(400, "invalid data", "limit must be >= 1 and offset >= 0")
        served_limit = min(limit, faults.cap_page_size) if faults.cap_page_size else limit
        start = 0 if faults.ignore_offset else offset
        page = rows[start : start + served_limit]
        body: dict[str, Any] = {op.key or "": [self._render(row, selection) for row in page]}
        if warnings:
            body["statusInfoSet"] = warnings
        headers: dict[str, str] = {}
        if faults.paging_headers:
            total = len(rows) + faults.total_count_delta
            headers["X-Total-Count"] = str(total)
            headers["Link"] = self._links(path, query_pairs, offset, served_limit, len(rows))
        return 200, body, headers

    def _links(
        self, path: str, query_pairs: list[tuple[str, str]], offset: int, limit: int, total: int
    ) -> str:
        # Absolute URLs carrying every original parameter, as reference providers do.
        origin = "http://other-host.invalid:8080" if self.faults.foreign_next_link else self.origin

        def link(rel: str, new_offset: int, host: str) -> str:
            pairs = [(k, v) for k, v in query_pairs if k not in ("offset", "limit")]
            pairs += [("limit", str(limit)), ("offset", str(new_offset))]
            query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
            # The path was decoded for routing: encode it again (ids with spaces, non-ASCII).
            return f'<{host}{quote(path, safe="/")}?{query}>; rel="{rel}"'

        last = max(0, ((total - 1) // limit) * limit) if total else 0
        links = [link("first", 0, self.origin), link("last", last, self.origin)]
        if offset + limit < total:
            links.append(link("next", offset + limit, origin))
        if offset > 0:
            links.append(link("prev", max(0, offset - limit), self.origin))
        return ", ".join(links)

    def _render(self, record: dict[str, Any], selection: list[str] | None) -> dict[str, Any]:
        faults = self.faults
        if selection is not None:
            record = {key: record[key] for key in selection if key in record}
        if faults.strings_for_booleans or faults.unknown_role or faults.corrupt_records:
            record = dict(record)
            if faults.strings_for_booleans:
                for key, value in record.items():
                    if value is True or value is False:
                        record[key] = "true" if value else "false"
            if faults.unknown_role and record.get("role") == "administrator":
                record["role"] = faults.unknown_role
            if record.get("sourcedId") in faults.corrupt_records:
                record["dateLastModified"] = "not a date"
        return record

    def _put(
        self, handler: _Handler, op: Operation, sourced_id: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.faults.gradebook_writes_forbidden:
            raise _Refusal(403, "forbidden", "gradebook writes are not enabled for this client")
        try:
            envelope = json.loads(handler.body or b"null")
        except ValueError:
            raise _Refusal(400, "invalid data", "the body is not JSON") from None
        key = op.key or ""
        if not isinstance(envelope, dict) or not isinstance(envelope.get(key), dict):
            raise _Refusal(400, "invalid data", f'the body must be {{"{key}": {{...}}}}')
        data = dict(envelope[key])
        data.setdefault("sourcedId", sourced_id)
        if str(data["sourcedId"]).strip() != sourced_id:
            raise _Refusal(422, "invalid data", "sourcedId in the body differs from the path")
        data.setdefault("status", "active")
        data["dateLastModified"] = converter.format_datetime(_utcnow())
        try:
            record = converter.structure(data, op.model).to_dict()
        except RecordValidationError as exc:
            raise _Refusal(422, "invalid data", str(exc)) from None
        collection = self._resolver.collection_of(op)
        created = self._store.put(collection, record)
        return (201 if created else 200), {key: record}, {}

    def _delete(self, op: Operation, sourced_id: str) -> tuple[int, None, dict[str, str]]:
        if self.faults.gradebook_writes_forbidden:
            raise _Refusal(403, "forbidden", "gradebook writes are not enabled for this client")
        if not self._store.delete(self._resolver.collection_of(op), sourced_id):
            raise _Refusal(404, "unknown object", f"{op.model.__name__} {sourced_id} not found")
        return self.delete_status, None, {}

    # --- output -------------------------------------------------------------------------

    def _encode(self, op: Operation, body: dict[str, Any] | None) -> bytes:
        if body is None:
            return b""
        renamed = self.faults.envelope_keys
        if renamed and op.key in renamed:
            body = {renamed[op.key] if k == op.key else k: v for k, v in body.items()}
        with self._lock:
            kind = self.faults.malformed.pop(0) if self.faults.malformed else None
        if kind == "no_envelope":
            body = {"data": body.get(op.key or "")}
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        if kind == "invalid":
            return b"<html><body>Service temporarily unavailable</body></html>"
        if kind == "truncated":
            return payload[: max(1, len(payload) // 2)]
        return payload

    def _send(
        self, handler: _Handler, status: int, body: dict[str, Any], headers: dict[str, str]
    ) -> None:
        self._send_raw(handler, status, json.dumps(body).encode(), headers)

    def _send_raw(
        self, handler: _Handler, status: int, payload: bytes, headers: Mapping[str, str]
    ) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        handler.send_response(status, phrase)
        if payload or status != 204:
            handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if payload and handler.command != "HEAD":
            handler.wfile.write(payload)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], app: OneRosterServer
    ) -> None:
        self.app = app
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    # and delayed ACKs add about 40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: _HTTPServer

    body: bytes = b""

    def _dispatch(self) -> None:
        # Read the whole body first: a refusal (401, 403, 405 ...) that left it unread
        # would make the rest of a keep-alive connection parse it as the next request.
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.app._handle(self)

    do_GET = _dispatch
    do_PUT = _dispatch
    do_DELETE = _dispatch
    do_POST = _dispatch
    do_PATCH = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: tests read server.requests instead of stderr noise.
        return
