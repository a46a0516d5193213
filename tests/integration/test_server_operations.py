"""Integration: every one of the 61 OneRoster 1.1 operations, over raw HTTP.

The spec's paths and envelope keys are written out below (from the 1.1 endpoint
catalogue), so the server is checked against the spec and not against the project's own
endpoint table. Each operation is called with ids taken from the fixture district, chosen
so that nested listings are non-empty where the data allows, and must answer the spec's
envelope with exactly the records plain Python picks from the district, unchanged but for
the ``href`` every GUIDRef gains (the 1.1 JSON binding requires ``href``, ``sourcedId``
and ``type`` on each one), and each ``href`` must lead to the record it names.
Typed subsets only hold their type, unknown or mistyped ids give 404 ``unknown object``
and methods the spec does not define give 405.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from oneroster_client.endpoints import OPERATIONS, Operation
from oneroster_client.testing.district import District
from oneroster_client.testing.generator import generate_district
from oneroster_client.testing.server import OneRosterServer

Record = dict[str, Any]

# operationId -> (method, path, envelope key); section 3 of the 1.1 catalogue.
SPEC: dict[str, tuple[str, str, str | None]] = {
    "getAllAcademicSessions": ("GET", "/academicSessions", "academicSessions"),
    "getAcademicSession": ("GET", "/academicSessions/{id}", "academicSession"),
    "getAllClasses": ("GET", "/classes", "classes"),
    "getClass": ("GET", "/classes/{id}", "class"),
    "getStudentsForClass": ("GET", "/classes/{class_id}/students", "users"),
    "getTeachersForClass": ("GET", "/classes/{class_id}/teachers", "users"),
    "getAllCourses": ("GET", "/courses", "courses"),
    "getCourse": ("GET", "/courses/{id}", "course"),
    "getClassesForCourse": ("GET", "/courses/{course_id}/classes", "classes"),
    "getAllDemographics": ("GET", "/demographics", "demographics"),
    "getDemographics": ("GET", "/demographics/{id}", "demographics"),
    "getAllEnrollments": ("GET", "/enrollments", "enrollments"),
    "getEnrollment": ("GET", "/enrollments/{id}", "enrollment"),
    "getAllGradingPeriods": ("GET", "/gradingPeriods", "academicSessions"),
    "getGradingPeriod": ("GET", "/gradingPeriods/{id}", "academicSession"),
    "getAllOrgs": ("GET", "/orgs", "orgs"),
    "getOrg": ("GET", "/orgs/{id}", "org"),
    "getAllSchools": ("GET", "/schools", "orgs"),
    "getSchool": ("GET", "/schools/{id}", "org"),
    "getCoursesForSchool": ("GET", "/schools/{school_id}/courses", "courses"),
    "getClassesForSchool": ("GET", "/schools/{school_id}/classes", "classes"),
    "getEnrollmentsForSchool": ("GET", "/schools/{school_id}/enrollments", "enrollments"),
    "getEnrollmentsForClassInSchool": (
        "GET",
        "/schools/{school_id}/classes/{class_id}/enrollments",
        "enrollments",
    ),
    "getStudentsForClassInSchool": (
        "GET",
        "/schools/{school_id}/classes/{class_id}/students",
        "users",
    ),
    "getTeachersForClassInSchool": (
        "GET",
        "/schools/{school_id}/classes/{class_id}/teachers",
        "users",
    ),
    "getStudentsForSchool": ("GET", "/schools/{school_id}/students", "users"),
    "getTeachersForSchool": ("GET", "/schools/{school_id}/teachers", "users"),
    "getTermsForSchool": ("GET", "/schools/{school_id}/terms", "academicSessions"),
    "getAllStudents": ("GET", "/students", "users"),
    "getStudent": ("GET", "/students/{id}", "user"),
    "getClassesForStudent": ("GET", "/students/{student_id}/classes", "classes"),
    "getAllTeachers": ("GET", "/teachers", "users"),
    "getTeacher": ("GET", "/teachers/{id}", "user"),
    "getClassesForTeacher": ("GET", "/teachers/{teacher_id}/classes", "classes"),
    "getAllTerms": ("GET", "/terms", "academicSessions"),
    "getTerm": ("GET", "/terms/{id}", "academicSession"),
    "getClassesForTerm": ("GET", "/terms/{term_id}/classes", "classes"),
    "getGradingPeriodsForTerm": ("GET", "/terms/{term_id}/gradingPeriods", "academicSessions"),
    "getAllUsers": ("GET", "/users", "users"),
    "getUser": ("GET", "/users/{id}", "user"),
    "getClassesForUser": ("GET", "/users/{user_id}/classes", "classes"),
    "getAllResources": ("GET", "/resources", "resources"),
    "getResource": ("GET", "/resources/{id}", "resource"),
    "getResourcesForCourse": ("GET", "/courses/{course_id}/resources", "resources"),
    "getResourcesForClass": ("GET", "/classes/{class_id}/resources", "resources"),
    "getAllCategories": ("GET", "/categories", "categories"),
    "getCategory": ("GET", "/categories/{id}", "category"),
    "putCategory": ("PUT", "/categories/{id}", "category"),
    "deleteCategory": ("DELETE", "/categories/{id}", None),
    "getAllLineItems": ("GET", "/lineItems", "lineItems"),
    "getLineItem": ("GET", "/lineItems/{id}", "lineItem"),
    "putLineItem": ("PUT", "/lineItems/{id}", "lineItem"),
    "deleteLineItem": ("DELETE", "/lineItems/{id}", None),
    "getAllResults": ("GET", "/results", "results"),
    "getResult": ("GET", "/results/{id}", "result"),
    "putResult": ("PUT", "/results/{id}", "result"),
    "deleteResult": ("DELETE", "/results/{id}", None),
    "getLineItemsForClass": ("GET", "/classes/{class_id}/lineItems", "lineItems"),
    "getResultsForClass": ("GET", "/classes/{class_id}/results", "results"),
    "getResultsForLineItemForClass": (
        "GET",
        "/classes/{class_id}/lineItems/{li_id}/results",
        "results",
    ),
    "getResultsForStudentForClass": (
        "GET",
        "/classes/{class_id}/students/{student_id}/results",
        "results",
    ),
}

# The collection each envelope key's records come from.
KEY_COLLECTION = {
    "academicSessions": "academicSessions",
    "academicSession": "academicSessions",
    "classes": "classes",
    "class": "classes",
    "courses": "courses",
    "course": "courses",
    "demographics": "demographics",
    "enrollments": "enrollments",
    "enrollment": "enrollments",
    "orgs": "orgs",
    "org": "orgs",
    "users": "users",
    "user": "users",
    "resources": "resources",
    "resource": "resources",
    "categories": "categories",
    "category": "categories",
    "lineItems": "lineItems",
    "lineItem": "lineItems",
    "results": "results",
    "result": "results",
}

# Required fields of the 1.1 data model (section 5), besides sourcedId/status/dateLastModified.
REQUIRED = {
    "orgs": {"name", "type"},
    "academicSessions": {"title", "startDate", "endDate", "type", "schoolYear"},
    "courses": {"title", "org"},
    "classes": {"title", "classType", "course", "school", "terms"},
    "users": {"username", "enabledUser", "givenName", "familyName", "role", "orgs"},
    "enrollments": {"user", "class", "school", "role"},
    "demographics": set(),
    "resources": {"vendorResourceId"},
    "categories": {"title"},
    "lineItems": {"title", "assignDate", "dueDate", "class", "resultValueMin", "resultValueMax"},
    "results": {"lineItem", "student", "scoreStatus", "score", "scoreDate"},
}

# Typed subsets: path segment -> (collection, field, value).
SUBSETS = {
    "schools": ("orgs", "type", "school"),
    "terms": ("academicSessions", "type", "term"),
    "gradingPeriods": ("academicSessions", "type", "gradingPeriod"),
    "students": ("users", "role", "student"),
    "teachers": ("users", "role", "teacher"),
}

NO_SUCH_ID = "no-such-id"


def _refs(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return [item["sourcedId"] for item in items]


def _guidrefs(value: Any) -> list[Record]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict) and "sourcedId" in item]


def _without_hrefs(record: Record) -> Record:
    """The record as stored: served GUIDRefs gain an ``href`` the district does not hold."""
    stripped: Record = {}
    for name, value in record.items():
        if isinstance(value, dict) and "sourcedId" in value:
            value = {k: v for k, v in value.items() if k != "href"}
        elif isinstance(value, list):
            value = [
                {k: v for k, v in item.items() if k != "href"}
                if isinstance(item, dict) and "sourcedId" in item
                else item
                for item in value
            ]
        stripped[name] = value
    return stripped


def _unique(records: Iterable[Record]) -> list[Record]:
    return list({record["sourcedId"]: record for record in records}.values())


class Oracle:
    """What each operation should answer, worked out from the district in plain Python."""

    def __init__(self, district: District) -> None:
        self.d = district
        self.by_id = {
            name: {row["sourcedId"]: row for row in rows}
            for name, rows in district.collections.items()
        }

    def rows(self, segment: str) -> list[Record]:
        """The records behind a top-level path segment (typed subsets included)."""
        if segment in SUBSETS:
            collection, field, value = SUBSETS[segment]
            return [row for row in self.d[collection] if row.get(field) == value]
        return self.d[segment]

    def _enrolled(self, class_id: str, role: str) -> list[Record]:
        users = self.by_id["users"]
        return _unique(
            users[user_id]
            for e in self.d["enrollments"]
            if class_id in _refs(e["class"]) and e["role"] == role
            for user_id in _refs(e["user"])
            if user_id in users
        )

    def _classes_of(self, user_id: str) -> list[Record]:
        classes = self.by_id["classes"]
        return _unique(
            classes[class_id]
            for e in self.d["enrollments"]
            if user_id in _refs(e["user"])
            for class_id in _refs(e["class"])
            if class_id in classes
        )

    def _members(self, school_id: str, role: str) -> list[Record]:
        return [
            u for u in self.d["users"] if u["role"] == role and school_id in _refs(u.get("orgs"))
        ]

    def _where(self, collection: str, field: str, sourced_id: str) -> list[Record]:
        return [row for row in self.d[collection] if sourced_id in _refs(row.get(field))]

    def _line_item_results(self, class_id: str) -> list[Record]:
        line_items = {li["sourcedId"] for li in self._where("lineItems", "class", class_id)}
        return [r for r in self.d["results"] if set(_refs(r["lineItem"])) & line_items]

    def _resources(self, collection: str, sourced_id: str) -> list[Record]:
        owner = self.by_id[collection][sourced_id]
        resources = self.by_id["resources"]
        return [resources[ref] for ref in _refs(owner.get("resources")) if ref in resources]

    def _terms_of_school(self, school_id: str) -> list[Record]:
        sessions = self.by_id["academicSessions"]
        return _unique(
            sessions[term]
            for c in self._where("classes", "school", school_id)
            for term in _refs(c.get("terms"))
            if sessions.get(term, {}).get("type") == "term"
        )

    def nested(self, operation_id: str, p: dict[str, str]) -> list[Record]:
        """The records of a nested listing, for the spec's path parameters ``p``."""
        listings: dict[str, Callable[[], list[Record]]] = {
            "getStudentsForClass": lambda: self._enrolled(p["class_id"], "student"),
            "getTeachersForClass": lambda: self._enrolled(p["class_id"], "teacher"),
            "getClassesForCourse": lambda: self._where("classes", "course", p["course_id"]),
            "getCoursesForSchool": lambda: self._where("courses", "org", p["school_id"]),
            "getClassesForSchool": lambda: self._where("classes", "school", p["school_id"]),
            "getEnrollmentsForSchool": lambda: self._where("enrollments", "school", p["school_id"]),
            "getEnrollmentsForClassInSchool": lambda: self._where(
                "enrollments", "class", p["class_id"]
            ),
            "getStudentsForClassInSchool": lambda: self._enrolled(p["class_id"], "student"),
            "getTeachersForClassInSchool": lambda: self._enrolled(p["class_id"], "teacher"),
            "getStudentsForSchool": lambda: self._members(p["school_id"], "student"),
            "getTeachersForSchool": lambda: self._members(p["school_id"], "teacher"),
            "getTermsForSchool": lambda: self._terms_of_school(p["school_id"]),
            "getClassesForStudent": lambda: self._classes_of(p["student_id"]),
            "getClassesForTeacher": lambda: self._classes_of(p["teacher_id"]),
            "getClassesForUser": lambda: self._classes_of(p["user_id"]),
            "getClassesForTerm": lambda: self._where("classes", "terms", p["term_id"]),
            "getGradingPeriodsForTerm": lambda: [
                s
                for s in self._where("academicSessions", "parent", p["term_id"])
                if s["type"] == "gradingPeriod"
            ],
            "getResourcesForCourse": lambda: self._resources("courses", p["course_id"]),
            "getResourcesForClass": lambda: self._resources("classes", p["class_id"]),
            "getLineItemsForClass": lambda: self._where("lineItems", "class", p["class_id"]),
            "getResultsForClass": lambda: self._line_item_results(p["class_id"]),
            "getResultsForLineItemForClass": lambda: self._where("results", "lineItem", p["li_id"]),
            "getResultsForStudentForClass": lambda: [
                r
                for r in self._line_item_results(p["class_id"])
                if p["student_id"] in _refs(r["student"])
            ],
        }
        return listings[operation_id]()

    def candidates(self, path: str) -> Iterator[dict[str, str]]:
        """Path parameters to try for a spec path, the likeliest to give data first."""
        names = re.findall(r"\{(\w+)\}", path)
        if names == ["id"]:
            for row in self.rows(path.split("/")[1]):
                yield {"id": row["sourcedId"]}
        elif names == ["school_id", "class_id"]:
            for c in self.d["classes"]:
                yield {"school_id": c["school"]["sourcedId"], "class_id": c["sourcedId"]}
        elif names == ["class_id", "li_id"]:
            for li in self.d["lineItems"]:
                yield {"class_id": li["class"]["sourcedId"], "li_id": li["sourcedId"]}
        elif names == ["class_id", "student_id"]:
            line_items = self.by_id["lineItems"]
            for r in self.d["results"]:
                class_id = line_items[r["lineItem"]["sourcedId"]]["class"]["sourcedId"]
                yield {"class_id": class_id, "student_id": r["student"]["sourcedId"]}
        else:
            (name,) = names
            segment = {
                "class_id": "classes",
                "course_id": "courses",
                "school_id": "schools",
                "student_id": "students",
                "teacher_id": "teachers",
                "term_id": "terms",
                "user_id": "users",
            }[name]
            for row in self.rows(segment):
                yield {name: row["sourcedId"]}

    def pick(self, operation_id: str) -> tuple[dict[str, str], list[Record]]:
        """Parameters for a nested listing that give records, if any do; and those records."""
        path = SPEC[operation_id][1]
        first: tuple[dict[str, str], list[Record]] | None = None
        for params in self.candidates(path):
            records = self.nested(operation_id, params)
            if records:
                return params, records
            first = first or (params, records)
        assert first is not None, f"the district has no parent record for {operation_id}"
        return first


@pytest.fixture(scope="module")
def district() -> District:
    return generate_district(students=60, seed=7)


@pytest.fixture(scope="module")
def oracle(district: District) -> Oracle:
    return Oracle(copy.deepcopy(district))


@pytest.fixture(scope="module")
def server(district: District) -> Iterator[OneRosterServer]:
    """A server for read-only calls; writes use the per-test ``oneroster_server``."""
    with OneRosterServer(district) as shared:
        yield shared


def _headers(server: OneRosterServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.issue_token()}"}


def _url(server: OneRosterServer, path: str, params: dict[str, str]) -> str:
    return server.base_url + path.format(**{k: quote(v, safe="") for k, v in params.items()})


def _template(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


def _assert_unknown_object(response: requests.Response) -> None:
    assert response.status_code == 404, response.text
    body = response.json()
    assert list(body) == ["statusInfoSet"]
    (info,) = body["statusInfoSet"]
    assert info["imsx_codeMinor"] == "unknown object"
    assert (info["imsx_codeMajor"], info["imsx_severity"]) == ("failure", "error")


def _assert_shape(record: Record, collection: str, oracle: Oracle, server: OneRosterServer) -> None:
    missing = ({"sourcedId", "status", "dateLastModified"} | REQUIRED[collection]) - set(record)
    assert not missing, f"{collection} {record.get('sourcedId')} lacks {sorted(missing)}"
    for name, value in record.items():
        for ref in _guidrefs(value):
            assert set(ref) == {"href", "sourcedId", "type"}, (collection, name, ref)
            assert ref["href"].startswith(server.base_url + "/"), (collection, name, ref)
            assert ref["href"].endswith("/" + quote(ref["sourcedId"], safe="")), ref
    stored = oracle.by_id[collection][record["sourcedId"]]
    assert _without_hrefs(record) == stored, "the record was changed"


def test_the_operation_table_matches_the_spec() -> None:
    assert len(OPERATIONS) == len(SPEC) == 61
    for op in OPERATIONS:
        method, path, key = SPEC[op.operation_id]
        assert (op.method, _template(op.path), op.key) == (method, _template(path), key)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.operation_id)
def test_operation_answers_with_the_spec_envelope(
    op: Operation, server: OneRosterServer, oracle: Oracle, request: pytest.FixtureRequest
) -> None:
    method, path, key = SPEC[op.operation_id]
    if method != "GET":
        # Writes get a server of their own (a fresh copy of the same district).
        server = request.getfixturevalue("oneroster_server")
    headers = _headers(server)
    segment = path.split("/")[1]

    if path.endswith("/{id}"):
        record = next(iter(oracle.rows(segment)))
        url = _url(server, path, {"id": record["sourcedId"]})
        if method == "GET":
            response = requests.get(url, headers=headers, timeout=5)
            assert response.status_code == 200, response.text
            assert list(response.json()) == [key]
            assert _without_hrefs(response.json()[key]) == record
            _assert_shape(response.json()[key], KEY_COLLECTION[str(key)], oracle, server)
        elif method == "PUT":
            response = requests.put(url, json={key: record}, headers=headers, timeout=5)
            assert response.status_code == 200, response.text  # replaced, not created
            served = response.json()[str(key)]
            assert {k: v for k, v in _without_hrefs(served).items() if k != "dateLastModified"} == {
                k: v for k, v in record.items() if k != "dateLastModified"
            }
            assert requests.get(url, headers=headers, timeout=5).json()[key] == served
        else:
            response = requests.delete(url, headers=headers, timeout=5)
            assert response.status_code == 204, response.text
            assert response.content == b""
            _assert_unknown_object(requests.get(url, headers=headers, timeout=5))
        return

    if "{" in path:
        params, expected = oracle.pick(op.operation_id)
    else:
        params, expected = {}, oracle.rows(segment)
    response = requests.get(
        _url(server, path, params), params={"limit": 10_000}, headers=headers, timeout=5
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == [key], "the answer must hold exactly the spec's envelope key"
    records = body[key]
    assert isinstance(records, list)
    ids = [r["sourcedId"] for r in records]
    assert len(ids) == len(set(ids)), "a record was listed twice"
    assert set(ids) == {r["sourcedId"] for r in expected}
    assert response.headers["X-Total-Count"] == str(len(expected))
    if not params:
        assert records, f"{op.operation_id} should not be empty for the fixture district"
    collection = KEY_COLLECTION[str(key)]
    for record in records:
        _assert_shape(record, collection, oracle, server)


# GUIDRef type (section 5.12 vocabulary) -> the collection its records are listed in.
TYPE_COLLECTION = {
    "org": "orgs",
    "academicSession": "academicSessions",
    "course": "courses",
    "class": "classes",
    "user": "users",
    "category": "categories",
    "lineItem": "lineItems",
    "resource": "resources",
}


@pytest.mark.parametrize(
    "collection",
    [
        "orgs",
        "academicSessions",
        "courses",
        "classes",
        "users",
        "enrollments",
        "lineItems",
        "results",
    ],
)
def test_every_guidref_href_leads_to_the_record_it_names(
    collection: str, server: OneRosterServer, oracle: Oracle
) -> None:
    headers = _headers(server)
    listing = requests.get(
        f"{server.base_url}/{collection}", params={"limit": 5}, headers=headers, timeout=5
    )
    refs = [
        ref
        for record in listing.json()[collection]
        for v in record.values()
        for ref in _guidrefs(v)
    ]
    assert refs, f"the first {collection} should hold GUIDRefs"
    for ref in refs:
        answer = requests.get(ref["href"], headers=headers, timeout=5)
        assert answer.status_code == 200, (ref, answer.text)
        ((key, target),) = answer.json().items()
        assert target["sourcedId"] == ref["sourcedId"]
        assert KEY_COLLECTION[key] == TYPE_COLLECTION[ref["type"]], ref
        assert ref["sourcedId"] in oracle.by_id[TYPE_COLLECTION[ref["type"]]]


def test_nested_listings_find_data_in_the_fixture_district(oracle: Oracle) -> None:
    # Guards the test above: all nested listings but resources have data to compare.
    empty = [
        op_id
        for op_id, (_method, path, _key) in SPEC.items()
        if "{" in path and not path.endswith("/{id}") and not oracle.pick(op_id)[1]
    ]
    assert set(empty) <= {"getResourcesForCourse", "getResourcesForClass"}, empty


@pytest.mark.parametrize(
    ("segment", "field", "value"),
    [(segment, field, value) for segment, (_c, field, value) in SUBSETS.items()],
)
def test_typed_subsets_hold_only_their_type(
    server: OneRosterServer, oracle: Oracle, segment: str, field: str, value: str
) -> None:
    response = requests.get(
        f"{server.base_url}/{segment}", params={"limit": 10_000}, headers=_headers(server)
    )
    records = next(iter(response.json().values()))
    assert records
    assert {record[field] for record in records} == {value}
    assert len(records) == len(oracle.rows(segment))


def test_grading_periods_of_each_term_are_grading_periods(
    server: OneRosterServer, oracle: Oracle
) -> None:
    headers = _headers(server)
    seen = 0
    for term in oracle.rows("terms"):
        url = f"{server.base_url}/terms/{term['sourcedId']}/gradingPeriods"
        records = requests.get(url, headers=headers, timeout=5).json()["academicSessions"]
        assert {r["type"] for r in records} <= {"gradingPeriod"}
        assert all(r["parent"]["sourcedId"] == term["sourcedId"] for r in records)
        seen += len(records)
    assert seen == len(oracle.rows("gradingPeriods"))


def _unknown_id_cases() -> Iterator[Any]:
    for op in OPERATIONS:
        method, path, _key = SPEC[op.operation_id]
        if method == "PUT":
            continue  # PUT to a new id creates the object
        for name in re.findall(r"\{(\w+)\}", path):
            yield pytest.param(op.operation_id, name, id=f"{op.operation_id}-{name}")


@pytest.mark.parametrize(("operation_id", "unknown"), list(_unknown_id_cases()))
def test_unknown_ids_are_not_found(
    server: OneRosterServer, oracle: Oracle, operation_id: str, unknown: str
) -> None:
    method, path, _key = SPEC[operation_id]
    if path.endswith("/{id}"):
        params = {"id": oracle.rows(path.split("/")[1])[0]["sourcedId"]}
    else:
        params = oracle.pick(operation_id)[0]
    params[unknown] = NO_SUCH_ID
    response = requests.request(
        method, _url(server, path, params), headers=_headers(server), timeout=5
    )
    _assert_unknown_object(response)


def _first(oracle: Oracle, segment: str) -> str:
    return str(oracle.rows(segment)[0]["sourcedId"])


@pytest.mark.parametrize(
    "path",
    [
        "/schools/{district}",
        "/schools/{district}/classes",
        "/schools/{district}/students",
        "/students/{teacher}",
        "/students/{teacher}/classes",
        "/teachers/{student}",
        "/teachers/{student}/classes",
        "/terms/{grading_period}",
        "/terms/{grading_period}/classes",
        "/terms/{grading_period}/gradingPeriods",
        "/gradingPeriods/{term}",
        "/schools/{other_school}/classes/{class_}/students",
        "/schools/{other_school}/classes/{class_}/enrollments",
        "/classes/{other_class}/lineItems/{line_item}/results",
    ],
)
def test_ids_of_the_wrong_type_or_parent_are_not_found(
    server: OneRosterServer, oracle: Oracle, path: str
) -> None:
    class_ = oracle.d["classes"][0]
    line_item = next(li for li in oracle.d["lineItems"])
    other_class = next(
        c for c in oracle.d["classes"] if c["sourcedId"] != line_item["class"]["sourcedId"]
    )
    url = server.base_url + path.format(
        district=next(o["sourcedId"] for o in oracle.d["orgs"] if o["type"] == "district"),
        teacher=_first(oracle, "teachers"),
        student=_first(oracle, "students"),
        grading_period=_first(oracle, "gradingPeriods"),
        term=_first(oracle, "terms"),
        other_school=next(
            s["sourcedId"]
            for s in oracle.rows("schools")
            if s["sourcedId"] != class_["school"]["sourcedId"]
        ),
        class_=class_["sourcedId"],
        other_class=other_class["sourcedId"],
        line_item=line_item["sourcedId"],
    )
    _assert_unknown_object(requests.get(url, headers=_headers(server), timeout=5))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/users"),
        ("PUT", "/users/{user}"),
        ("DELETE", "/users/{user}"),
        ("PATCH", "/classes/{class_}"),
        ("POST", "/classes/{class_}/lineItems"),
        ("POST", "/lineItems"),
        ("PUT", "/schools/{school}"),
        ("DELETE", "/enrollments/{enrollment}"),
        ("PATCH", "/results/{result}"),
    ],
)
def test_unsupported_methods_are_refused(
    server: OneRosterServer, oracle: Oracle, method: str, path: str
) -> None:
    before = copy.deepcopy(server.district.collections)
    url = server.base_url + path.format(
        user=_first(oracle, "users"),
        class_=_first(oracle, "classes"),
        school=_first(oracle, "schools"),
        enrollment=_first(oracle, "enrollments"),
        result=_first(oracle, "results"),
    )
    response = requests.request(
        method, url, json={"user": {"sourcedId": "x"}}, headers=_headers(server), timeout=5
    )
    assert response.status_code == 405, response.text
    (info,) = response.json()["statusInfoSet"]
    assert info["imsx_severity"] == "error"
    assert server.district.collections == before


@pytest.mark.parametrize("path", ["/nothing", "/users/a/b/c", "/classes/x/categories", ""])
def test_paths_outside_the_spec_are_not_found(server: OneRosterServer, path: str) -> None:
    response = requests.get(server.base_url + path, headers=_headers(server), timeout=5)
    assert response.status_code == 404
    assert response.json()["statusInfoSet"][0]["imsx_severity"] == "error"
