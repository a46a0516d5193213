"""Integration: all 61 OneRoster 1.1 operations through their typed client methods.

Each operation of :data:`oneroster_client.endpoints.OPERATIONS` is called as
``getattr(client, op.attribute).<op.name>(...)`` against the loopback server: the request
must hit the operation's path, the answer must be typed as ``op.model``, and for
collections the records must be the ones the OneRoster 1.1 semantics select, computed
here independently from the district's wire records.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from oneroster_client import Listing, OneRosterClient, RetryPolicy, WriteResult
from oneroster_client.client import COLLECTIONS
from oneroster_client.endpoints import OPERATIONS, Operation
from oneroster_client.errors import ConfigurationError, NotFoundError
from oneroster_client.models import Record
from oneroster_client.testing.district import District
from oneroster_client.testing.generator import generate_district
from oneroster_client.testing.hostile import Reply, ScriptedServer
from oneroster_client.testing.server import OneRosterServer

Rows = list[dict[str, Any]]


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [value["sourcedId"]]
    if isinstance(value, list):
        return [item["sourcedId"] for item in value]
    return []


class Expectations:
    """Picks parent ids with data behind them and computes what each operation returns."""

    def __init__(self, district: District) -> None:
        self.d = district
        enrollments = district["enrollments"]
        self.line_items_by_class: dict[str, Rows] = {}
        for item in district["lineItems"]:
            self.line_items_by_class.setdefault(item["class"]["sourcedId"], []).append(item)
        results_by_item: dict[str, Rows] = {}
        for result in district["results"]:
            results_by_item.setdefault(result["lineItem"]["sourcedId"], []).append(result)

        def rich(row: dict[str, Any]) -> bool:
            roles = {e["role"] for e in enrollments if e["class"]["sourcedId"] == row["sourcedId"]}
            items = self.line_items_by_class.get(row["sourcedId"], [])
            return {"student", "teacher"} <= roles and any(
                results_by_item.get(i["sourcedId"]) for i in items
            )

        self.klass = next(row for row in district["classes"] if rich(row))
        class_id = self.klass["sourcedId"]
        self.school_id = self.klass["school"]["sourcedId"]
        self.line_item = next(
            i for i in self.line_items_by_class[class_id] if results_by_item.get(i["sourcedId"])
        )
        self.student_id = results_by_item[self.line_item["sourcedId"]][0]["student"]["sourcedId"]
        self.teacher_id = next(
            e["user"]["sourcedId"]
            for e in enrollments
            if e["class"]["sourcedId"] == class_id and e["role"] == "teacher"
        )
        self.course = next(
            c
            for c in district["courses"]
            if c.get("resources")
            and any(k["course"]["sourcedId"] == c["sourcedId"] for k in district["classes"])
        )
        self.class_with_resources = next(c for c in district["classes"] if c.get("resources"))
        self.term_id = next(
            s["parent"]["sourcedId"]
            for s in district["academicSessions"]
            if s["type"] == "gradingPeriod"
            and any(s["parent"]["sourcedId"] in _refs(k["terms"]) for k in district["classes"])
        )

    # --- parent ids -----------------------------------------------------------------------

    def ids(self, op: Operation) -> tuple[str, ...]:
        by_param = {
            "school_id": self.school_id,
            "class_id": self.klass["sourcedId"],
            "course_id": self.course["sourcedId"],
            "student_id": self.student_id,
            "teacher_id": self.teacher_id,
            "user_id": self.student_id,
            "term_id": self.term_id,
            "line_item_id": self.line_item["sourcedId"],
        }
        if op.operation_id == "getResourcesForClass":
            return (self.class_with_resources["sourcedId"],)
        if op.params == ("sourced_id",):
            return (self.single_row(op)["sourcedId"],)
        return tuple(by_param[name] for name in op.params)

    def single_row(self, op: Operation) -> dict[str, Any]:
        return self.rows_of_collection(op)[-1]

    def rows_of_collection(self, op: Operation) -> Rows:
        """The records of the top-level collection an operation's path starts with."""
        first = op.path.split("/")[1]
        d = self.d
        subsets: dict[str, Callable[[], Rows]] = {
            "schools": lambda: [o for o in d["orgs"] if o["type"] == "school"],
            "terms": lambda: [s for s in d["academicSessions"] if s["type"] == "term"],
            "gradingPeriods": lambda: [
                s for s in d["academicSessions"] if s["type"] == "gradingPeriod"
            ],
            "students": lambda: [u for u in d["users"] if u["role"] == "student"],
            "teachers": lambda: [u for u in d["users"] if u["role"] == "teacher"],
        }
        return subsets[first]() if first in subsets else d[first]

    # --- expected records -----------------------------------------------------------------

    def expected(self, op: Operation, ids: tuple[str, ...]) -> list[str]:
        if op.params == ():
            return [row["sourcedId"] for row in self.rows_of_collection(op)]
        handler = getattr(self, "_" + op.operation_id)
        rows: Rows = handler(*ids)
        return [row["sourcedId"] for row in rows]

    def _users_in_class(self, class_id: str, role: str) -> Rows:
        wanted = {
            e["user"]["sourcedId"]
            for e in self.d["enrollments"]
            if e["class"]["sourcedId"] == class_id and e["role"] == role
        }
        return [u for u in self.d["users"] if u["sourcedId"] in wanted]

    def _classes_of(self, user_id: str) -> Rows:
        wanted = {
            e["class"]["sourcedId"]
            for e in self.d["enrollments"]
            if e["user"]["sourcedId"] == user_id
        }
        return [c for c in self.d["classes"] if c["sourcedId"] in wanted]

    def _results_of_class(self, class_id: str) -> Rows:
        items = {i["sourcedId"] for i in self.line_items_by_class.get(class_id, [])}
        return [r for r in self.d["results"] if r["lineItem"]["sourcedId"] in items]

    def _resources(self, owner: dict[str, Any]) -> Rows:
        wanted = set(_refs(owner.get("resources")))
        return [r for r in self.d["resources"] if r["sourcedId"] in wanted]

    def _by_id(self, collection: str, sourced_id: str) -> dict[str, Any]:
        return next(row for row in self.d[collection] if row["sourcedId"] == sourced_id)

    def _getStudentsForClass(self, c: str) -> Rows:
        return self._users_in_class(c, "student")

    def _getTeachersForClass(self, c: str) -> Rows:
        return self._users_in_class(c, "teacher")

    def _getClassesForCourse(self, course: str) -> Rows:
        return [k for k in self.d["classes"] if k["course"]["sourcedId"] == course]

    def _getCoursesForSchool(self, s: str) -> Rows:
        return [c for c in self.d["courses"] if c["org"]["sourcedId"] == s]

    def _getClassesForSchool(self, s: str) -> Rows:
        return [k for k in self.d["classes"] if k["school"]["sourcedId"] == s]

    def _getEnrollmentsForSchool(self, s: str) -> Rows:
        return [e for e in self.d["enrollments"] if e["school"]["sourcedId"] == s]

    def _getEnrollmentsForClassInSchool(self, s: str, c: str) -> Rows:
        return [e for e in self.d["enrollments"] if e["class"]["sourcedId"] == c]

    def _getStudentsForClassInSchool(self, s: str, c: str) -> Rows:
        return self._users_in_class(c, "student")

    def _getTeachersForClassInSchool(self, s: str, c: str) -> Rows:
        return self._users_in_class(c, "teacher")

    def _users_of_school(self, s: str, role: str) -> Rows:
        return [u for u in self.d["users"] if u["role"] == role and s in _refs(u["orgs"])]

    def _getStudentsForSchool(self, s: str) -> Rows:
        return self._users_of_school(s, "student")

    def _getTeachersForSchool(self, s: str) -> Rows:
        return self._users_of_school(s, "teacher")

    def _getTermsForSchool(self, s: str) -> Rows:
        wanted = {t for k in self._getClassesForSchool(s) for t in _refs(k["terms"])}
        return [
            t
            for t in self.d["academicSessions"]
            if t["type"] == "term" and t["sourcedId"] in wanted
        ]

    def _getClassesForStudent(self, u: str) -> Rows:
        return self._classes_of(u)

    def _getClassesForTeacher(self, u: str) -> Rows:
        return self._classes_of(u)

    def _getClassesForUser(self, u: str) -> Rows:
        return self._classes_of(u)

    def _getClassesForTerm(self, t: str) -> Rows:
        return [k for k in self.d["classes"] if t in _refs(k["terms"])]

    def _getGradingPeriodsForTerm(self, t: str) -> Rows:
        return [
            s
            for s in self.d["academicSessions"]
            if s["type"] == "gradingPeriod" and _refs(s.get("parent")) == [t]
        ]

    def _getResourcesForCourse(self, c: str) -> Rows:
        return self._resources(self._by_id("courses", c))

    def _getResourcesForClass(self, c: str) -> Rows:
        return self._resources(self._by_id("classes", c))

    def _getLineItemsForClass(self, c: str) -> Rows:
        return self.line_items_by_class.get(c, [])

    def _getResultsForClass(self, c: str) -> Rows:
        return self._results_of_class(c)

    def _getResultsForLineItemForClass(self, c: str, item: str) -> Rows:
        return [r for r in self.d["results"] if r["lineItem"]["sourcedId"] == item]

    def _getResultsForStudentForClass(self, c: str, s: str) -> Rows:
        return [r for r in self._results_of_class(c) if r["student"]["sourcedId"] == s]


@pytest.fixture(scope="module")
def shared_district() -> District:
    return generate_district(students=60, seed=7)


@pytest.fixture(scope="module")
def expectations(shared_district: District) -> Expectations:
    return Expectations(shared_district)


@pytest.fixture(scope="module")
def read_only_server(shared_district: District) -> Iterator[OneRosterServer]:
    with OneRosterServer(shared_district) as server:
        yield server


@pytest.fixture(scope="module")
def read_only_client(read_only_server: OneRosterServer) -> Iterator[OneRosterClient]:
    with OneRosterClient(
        read_only_server.base_url,
        auth=read_only_server.oauth2(),
        retry=RetryPolicy(sleep=lambda seconds: None),
        page_size=1000,
    ) as client:
        yield client


def _path(server: OneRosterServer, op: Operation, ids: tuple[str, ...]) -> str:
    return server.base_path + op.path.format(**dict(zip(op.params, ids, strict=True)))


READS = [op for op in OPERATIONS if op.method == "GET"]
WRITES = [op for op in OPERATIONS if op.method != "GET"]


def test_the_table_has_61_operations_and_the_client_exposes_exactly_them() -> None:
    assert len(OPERATIONS) == 61
    assert len({op.operation_id for op in OPERATIONS}) == 61
    with OneRosterClient("https://sis.example.org/ims/oneroster/v1p1", auth=None) as client:
        exposed: set[tuple[str, str]] = set()
        for attribute in COLLECTIONS:
            collection = getattr(client, attribute)
            for name in dir(collection):
                if not name.startswith("_") and name != "changed_since":
                    assert callable(getattr(collection, name)), (attribute, name)
                    exposed.add((attribute, name))
        assert exposed == {(op.attribute, op.name) for op in OPERATIONS}
        assert set(COLLECTIONS) == {op.attribute for op in OPERATIONS}
        for op in OPERATIONS:
            method = getattr(getattr(client, op.attribute), op.name)
            if op.method == "GET":
                assert op.operation_id in (method.__doc__ or "")
                positional = [
                    p.name
                    for p in inspect.signature(method).parameters.values()
                    if p.kind is inspect.Parameter.POSITIONAL_ONLY
                ]
                assert tuple(positional) == op.params


@pytest.mark.parametrize("op", READS, ids=lambda op: op.operation_id)
def test_every_read_operation_through_its_typed_method(
    op: Operation,
    read_only_client: OneRosterClient,
    read_only_server: OneRosterServer,
    expectations: Expectations,
) -> None:
    ids = expectations.ids(op)
    method = getattr(getattr(read_only_client, op.attribute), op.name)
    before = len(read_only_server.requests)
    answer = method(*ids)

    if op.collection:
        assert isinstance(answer, Listing)
        records = answer.all()
        assert answer.complete is True
        assert all(isinstance(record, op.model) for record in records)
        expected = expectations.expected(op, ids)
        assert expected, f"pick ids with data behind them for {op.operation_id}"
        assert sorted(r.sourced_id for r in records) == sorted(expected)
    else:
        assert isinstance(answer, op.model)
        assert answer.sourced_id == ids[0]
    served = read_only_server.requests[before:]
    assert {request.path for request in served} == {_path(read_only_server, op, ids)}
    assert {request.status for request in served} == {200}


@pytest.mark.parametrize("op", WRITES, ids=lambda op: op.operation_id)
def test_every_write_operation_through_its_typed_method(
    op: Operation, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    collection_name = op.path.split("/")[1]
    existing = oneroster_district[collection_name][0]
    with OneRosterClient(
        oneroster_server.base_url, auth=oneroster_server.oauth1(), retry=RetryPolicy.none()
    ) as client:
        collection = getattr(client, op.attribute)
        method = getattr(collection, op.name)
        if op.method == "PUT":
            data = copy.deepcopy(existing)
            data["sourcedId"] = "new-" + existing["sourcedId"]
            record = op.model.from_dict(data)
            outcome = method(record)
            assert isinstance(outcome, WriteResult)
            assert outcome.created is True
            assert isinstance(outcome.record, op.model)
            assert isinstance(collection.get(record.sourced_id), op.model)
            ids: tuple[str, ...] = (record.sourced_id,)
        else:
            assert method(existing["sourcedId"]) is None
            with pytest.raises(NotFoundError):
                collection.get(existing["sourcedId"])
            ids = (existing["sourcedId"],)
    request = oneroster_server.requests[0]
    assert (request.method, request.path) == (op.method, _path(oneroster_server, op, ids))


def test_wrong_number_of_ids_is_refused_before_any_request(
    read_only_client: OneRosterClient, read_only_server: OneRosterServer
) -> None:
    before = len(read_only_server.requests)
    with pytest.raises(TypeError, match="class_id, student_id"):
        read_only_client.classes.results_for_student("cls-1")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="non-empty"):
        read_only_client.users.get("  ")
    assert len(read_only_server.requests) == before


def test_put_refuses_a_record_of_another_model(read_only_client: OneRosterClient) -> None:
    user = next(iter(read_only_client.users.list().first(1)))
    with pytest.raises(TypeError, match="Category"):
        read_only_client.categories.put(user)  # type: ignore[arg-type]


def test_first_record_of_every_collection_is_typed(
    read_only_client: OneRosterClient,
) -> None:
    for attribute in COLLECTIONS:
        collection = getattr(read_only_client, attribute)
        first = collection.list().first(1)
        assert first and isinstance(first[0], Record), attribute


# --- ids that a URL would misread -------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("..", "parent collection"),
        (".", "parent collection"),
        (" .. ", "parent collection"),
        ("", "non-empty"),
        ("cls-1\n", "control character"),
        ("cls\x00-1", "control character"),
        ("cls\x7f", "control character"),
        ("cls\x85", "control character"),
    ],
)
def test_ids_a_url_would_misread_are_refused_naming_the_parameter(
    read_only_client: OneRosterClient, read_only_server: OneRosterServer, bad: str, reason: str
) -> None:
    # ".." sent as is becomes /classes/../students, i.e. every student of the district.
    before = len(read_only_server.requests)
    with pytest.raises(ConfigurationError, match=rf"class_id .*{reason}|class_id must be {reason}"):
        read_only_client.classes.students(bad).all()
    with pytest.raises(ConfigurationError, match="student_id"):
        read_only_client.classes.results_for_student("cls-1", bad)
    with pytest.raises(ConfigurationError, match="sourced_id"):
        read_only_client.users.get(bad)
    with pytest.raises(ConfigurationError, match="sourced_id"):
        read_only_client.results.delete(bad)
    assert len(read_only_server.requests) == before


def test_ids_are_sent_as_one_encoded_path_segment() -> None:
    with (
        ScriptedServer([Reply(200, body={"users": []})]) as server,
        OneRosterClient(server.url("/ims/oneroster/v1p1"), auth=None) as client,
    ):
        for sourced_id in ("a/b c", "...", "%2E%2E", "ü-1"):
            assert client.classes.students(sourced_id).all() == []
    targets = [request.target.partition("?")[0] for request in server.received]
    assert targets == [
        "/ims/oneroster/v1p1/classes/a%2Fb%20c/students",
        "/ims/oneroster/v1p1/classes/.../students",
        "/ims/oneroster/v1p1/classes/%252E%252E/students",
        "/ims/oneroster/v1p1/classes/%C3%BC-1/students",
    ]


def test_plain_http_to_a_remote_host_is_allowed_only_by_allow_insecure_http() -> None:
    url = "http://sis.example.org/ims/oneroster/v1p1"
    with OneRosterClient(url, auth=None, allow_insecure_http=True) as client:
        assert client.base_url == url
    with pytest.raises(ConfigurationError, match="https"):
        OneRosterClient(url, auth=None)
    with pytest.raises(TypeError, match="allow_http"):
        OneRosterClient(url, auth=None, allow_http=True)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("name", "value"), [("page_size", 0), ("page_size", "100"), ("max_workers", True)]
)
def test_counts_are_checked_and_named(
    oneroster_server: OneRosterServer, name: str, value: object
) -> None:
    with pytest.raises(ConfigurationError, match=f"{name} must be a whole number") as caught:
        OneRosterClient(oneroster_server.base_url, auth=oneroster_server.oauth2(), **{name: value})
    assert repr(value) in str(caught.value)
