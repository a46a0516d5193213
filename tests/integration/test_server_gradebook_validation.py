"""Integration: the loopback server refuses gradebook PUTs a strict SIS would refuse.

Over raw HTTP, one test per rule: references to unknown classes, categories, grading
periods, line items and students (and to records of the wrong kind), ``scoreStatus``
outside the 1.1 vocabulary, ``resultValueMin`` above ``resultValueMax``, wrong number
and date types, a body sourcedId that differs from the path, a missing title. Each
refusal is a 422 whose statusInfo (codeMajor ``failure``) names the field first, and
nothing is stored; valid writes still create (201) and replace (200). The optional
:class:`GradebookRules` (DateTimes only, whole-number points, title length, a score on
every result) are checked the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from oneroster_client.testing.district import District
from oneroster_client.testing.server import SCORE_STATUSES, GradebookRules, OneRosterServer

Record = dict[str, Any]


class Api:
    """Bearer-authenticated gradebook PUTs against one server."""

    def __init__(self, server: OneRosterServer, session: requests.Session) -> None:
        self.server = server
        self.session = session

    def put(self, collection: str, key: str, record: Record) -> requests.Response:
        url = f"{self.server.base_url}/{collection}/{record['sourcedId']}"
        return self.session.put(url, json={key: record}, timeout=5)

    def put_raw(self, collection: str, sourced_id: str, data: bytes) -> requests.Response:
        url = f"{self.server.base_url}/{collection}/{sourced_id}"
        headers = {"Content-Type": "application/json"}
        return self.session.put(url, data=data, headers=headers, timeout=5)

    def line_item(self, record: Record) -> requests.Response:
        return self.put("lineItems", "lineItem", record)

    def result(self, record: Record) -> requests.Response:
        return self.put("results", "result", record)

    def category(self, record: Record) -> requests.Response:
        return self.put("categories", "category", record)


@pytest.fixture
def api(oneroster_server: OneRosterServer) -> Iterator[Api]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {oneroster_server.issue_token()}"
        yield Api(oneroster_server, session)


class Refs:
    """sourcedIds of existing records of each kind in the served district."""

    def __init__(self, district: District) -> None:
        enrollment = next(e for e in district["enrollments"] if e["role"] == "student")
        self.class_id: str = enrollment["class"]["sourcedId"]
        self.student: str = enrollment["user"]["sourcedId"]
        self.teacher: str = next(
            u["sourcedId"] for u in district["users"] if u["role"] == "teacher"
        )
        self.category: str = district["categories"][0]["sourcedId"]
        sessions = district["academicSessions"]
        self.grading_period: str = next(
            s["sourcedId"] for s in sessions if s["type"] == "gradingPeriod"
        )
        self.term: str = next(s["sourcedId"] for s in sessions if s["type"] == "term")
        self.line_item: str = district["lineItems"][0]["sourcedId"]


@pytest.fixture
def refs(oneroster_district: District) -> Refs:
    return Refs(oneroster_district)


def line_item(refs: Refs, sourced_id: str = "li-v-1", **fields: Any) -> Record:
    record: Record = {
        "sourcedId": sourced_id,
        "title": "Lab report 3",
        "assignDate": "2024-10-01T12:00:00.000Z",
        "dueDate": "2024-10-08T12:00:00.000Z",
        "class": {"sourcedId": refs.class_id},
        "category": {"sourcedId": refs.category},
        "gradingPeriod": {"sourcedId": refs.grading_period},
        "resultValueMin": 0.0,
        "resultValueMax": 100.0,
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not DROP}


def result(refs: Refs, sourced_id: str = "res-v-1", **fields: Any) -> Record:
    record: Record = {
        "sourcedId": sourced_id,
        "lineItem": {"sourcedId": refs.line_item},
        "student": {"sourcedId": refs.student},
        "scoreStatus": "fully graded",
        "score": 80.0,
        "scoreDate": "2024-10-09",
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not DROP}


DROP = object()  # a field value meaning "leave the field out"


def refused(
    response: requests.Response, district: District, before: dict[str, int]
) -> list[Record]:
    """The statusInfos of a 422 refusal; asserts that nothing was stored."""
    assert response.status_code == 422, response.text
    assert district.counts() == before
    infos: list[Record] = response.json()["statusInfoSet"]
    for info in infos:
        assert (info["imsx_codeMajor"], info["imsx_severity"]) == ("failure", "error")
    return infos


def only(response: requests.Response, district: District, before: dict[str, int]) -> Record:
    (info,) = refused(response, district, before)
    return info


# --- valid writes -------------------------------------------------------------------------


def test_valid_writes_create_then_replace(
    api: Api, refs: Refs, oneroster_district: District
) -> None:
    category = {"sourcedId": "cat-v-1", "title": "Labs"}
    assert api.category(category).status_code == 201
    assert api.category({**category, "title": "Lab work"}).status_code == 200
    item = line_item(refs, category={"sourcedId": "cat-v-1"})
    assert api.line_item(item).status_code == 201
    assert api.line_item({**item, "title": "Lab report 3b"}).status_code == 200
    score = result(refs, lineItem={"sourcedId": "li-v-1"})
    assert api.result(score).status_code == 201
    assert api.result({**score, "score": 91.5}).status_code == 200
    stored = {r["sourcedId"]: r for r in oneroster_district["results"]}["res-v-1"]
    assert stored["score"] == 91.5


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"category": DROP, "gradingPeriod": DROP}, id="no-optional-refs"),
        pytest.param({"assignDate": "2024-10-01", "dueDate": "2024-10-08"}, id="dates"),
        pytest.param({"assignDate": "2024-10-01T12:00:00+02:00"}, id="offset"),
        pytest.param({"assignDate": "2024-10-01T12:00:00Z"}, id="no-millis"),
        pytest.param({"resultValueMin": 5, "resultValueMax": 5}, id="equal-bounds-ints"),
        pytest.param({"resultValueMax": 9.5}, id="fractional-max"),
        pytest.param({"title": "T" * 300}, id="long-title"),
    ],
)
def test_valid_line_items_are_accepted(api: Api, refs: Refs, fields: Record) -> None:
    response = api.line_item(line_item(refs, **fields))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("status", SCORE_STATUSES)
def test_every_score_status_of_the_vocabulary_is_accepted(
    api: Api, refs: Refs, status: str
) -> None:
    response = api.result(result(refs, scoreStatus=status))
    assert response.status_code == 201, response.text
    assert response.json()["result"]["scoreStatus"] == status


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"score": 300.0}, id="extra-credit"),
        pytest.param({"score": 0}, id="zero-int"),
        pytest.param({"score": DROP, "scoreStatus": "not submitted"}, id="no-score"),
        pytest.param({"scoreDate": DROP}, id="no-score-date"),
    ],
)
def test_valid_results_are_accepted(api: Api, refs: Refs, fields: Record) -> None:
    response = api.result(result(refs, **fields))
    assert response.status_code == 201, response.text


# --- references ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "noun"),
    [("class", "class"), ("category", "category"), ("gradingPeriod", "grading period")],
)
def test_line_item_reference_to_an_unknown_record(
    api: Api, refs: Refs, oneroster_district: District, field: str, noun: str
) -> None:
    before = oneroster_district.counts()
    response = api.line_item(line_item(refs, **{field: {"sourcedId": "nowhere-1"}}))
    info = only(response, oneroster_district, before)
    assert info["imsx_codeMinor"] == "unknown object"
    assert info["imsx_description"] == f"{field}: no {noun} 'nowhere-1'"


def test_line_item_without_a_class(api: Api, refs: Refs, oneroster_district: District) -> None:
    before = oneroster_district.counts()
    info = only(api.line_item(line_item(refs, **{"class": DROP})), oneroster_district, before)
    assert (info["imsx_codeMinor"], info["imsx_description"]) == (
        "invalid data",
        "class: is required",
    )


def test_grading_period_must_be_of_type_grading_period(
    api: Api, refs: Refs, oneroster_district: District
) -> None:
    before = oneroster_district.counts()
    response = api.line_item(line_item(refs, gradingPeriod={"sourcedId": refs.term}))
    info = only(response, oneroster_district, before)
    assert info["imsx_codeMinor"] == "invalid data"
    assert info["imsx_description"] == (
        f"gradingPeriod: {refs.term!r} is an academicSession of type 'term', not a gradingPeriod"
    )


@pytest.mark.parametrize("value", ["cls-1", ["cls-1"], {"href": "/classes/x"}, {"sourcedId": ""}])
def test_a_reference_that_is_not_a_guidref(
    api: Api, refs: Refs, oneroster_district: District, value: Any
) -> None:
    before = oneroster_district.counts()
    info = only(api.line_item(line_item(refs, **{"class": value})), oneroster_district, before)
    assert info["imsx_codeMinor"] == "invalid data"
    assert info["imsx_description"].startswith('class: must be a GUIDRef {"sourcedId": "..."}')


def test_result_for_an_unknown_line_item(
    api: Api, refs: Refs, oneroster_district: District
) -> None:
    before = oneroster_district.counts()
    response = api.result(result(refs, lineItem={"sourcedId": "li-gone"}))
    info = only(response, oneroster_district, before)
    assert (info["imsx_codeMinor"], info["imsx_description"]) == (
        "unknown object",
        "lineItem: no lineItem 'li-gone'",
    )


def test_result_for_an_unknown_student(api: Api, refs: Refs, oneroster_district: District) -> None:
    before = oneroster_district.counts()
    response = api.result(result(refs, student={"sourcedId": "usr-gone"}))
    info = only(response, oneroster_district, before)
    assert (info["imsx_codeMinor"], info["imsx_description"]) == (
        "unknown object",
        "student: no student 'usr-gone'",
    )


def test_result_for_a_user_who_is_not_a_student(
    api: Api, refs: Refs, oneroster_district: District
) -> None:
    before = oneroster_district.counts()
    response = api.result(result(refs, student={"sourcedId": refs.teacher}))
    info = only(response, oneroster_district, before)
    assert info["imsx_codeMinor"] == "invalid data"
    assert info["imsx_description"] == (
        f"student: user {refs.teacher!r} has role 'teacher', not student"
    )


# --- vocabulary, numbers, dates -----------------------------------------------------------


@pytest.mark.parametrize(
    "status", ["graded", "Fully Graded", "fully_graded", "fullygraded", "", 3, None]
)
def test_score_status_outside_the_vocabulary(
    api: Api, refs: Refs, oneroster_district: District, status: Any
) -> None:
    before = oneroster_district.counts()
    info = only(api.result(result(refs, scoreStatus=status)), oneroster_district, before)
    assert info["imsx_codeMinor"] == "invalid data"
    assert info["imsx_description"].startswith("scoreStatus: ")
    if status is not None:
        assert "'fully graded'" in info["imsx_description"]  # the allowed values are listed


@pytest.mark.parametrize(
    ("score", "shown"),
    [
        ("eighty", "'eighty'"),
        ("80", "'80'"),
        (True, "True"),
        ([80], "a list"),
        ({"value": 80}, "an object"),
        ("9" * 100, repr("9" * 40) + "…"),
    ],
)
def test_non_numeric_score(
    api: Api, refs: Refs, oneroster_district: District, score: Any, shown: str
) -> None:
    before = oneroster_district.counts()
    info = only(api.result(result(refs, score=score)), oneroster_district, before)
    assert info["imsx_codeMinor"] == "invalid data"
    assert info["imsx_description"] == f"score: must be a number; got {shown}"


def test_deeply_nested_values_are_refused_not_a_server_error(
    api: Api, refs: Refs, oneroster_district: District
) -> None:
    before = oneroster_district.counts()
    deep = b"[" * 500 + b"]" * 500
    body = json.dumps({"result": result(refs, score="S")}).encode()
    response = api.put_raw("results", "res-v-1", body.replace(b'"S"', deep))
    assert only(response, oneroster_district, before)["imsx_description"] == (
        "score: must be a number; got a list"
    )
    body = json.dumps({"category": {"sourcedId": "S", "title": "T"}}).encode()
    response = api.put_raw("categories", "cat-deep", body.replace(b'"S"', deep))
    assert only(response, oneroster_district, before)["imsx_description"] == (
        "sourcedId: must be text; got a list"
    )


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_score(api: Api, refs: Refs, oneroster_district: District, token: bytes) -> None:
    before = oneroster_district.counts()
    body = json.dumps({"result": result(refs, score="SCORE")}).encode()
    response = api.put_raw("results", "res-v-1", body.replace(b'"SCORE"', token))
    info = only(response, oneroster_district, before)
    assert info["imsx_description"].startswith("score: must be a number")


def test_min_above_max(api: Api, refs: Refs, oneroster_district: District) -> None:
    before = oneroster_district.counts()
    response = api.line_item(line_item(refs, resultValueMin=10, resultValueMax=5.5))
    info = only(response, oneroster_district, before)
    assert (info["imsx_codeMinor"], info["imsx_description"]) == (
        "invalid data",
        "resultValueMin: 10 is above resultValueMax 5.5",
    )


@pytest.mark.parametrize("field", ["resultValueMin", "resultValueMax"])
@pytest.mark.parametrize("value", ["100", None, False])
def test_value_bounds_must_be_numbers(
    api: Api, refs: Refs, oneroster_district: District, field: str, value: Any
) -> None:
    before = oneroster_district.counts()
    info = only(api.line_item(line_item(refs, **{field: value})), oneroster_district, before)
    expected = f"{field}: is required (a number)" if value is None else f"{field}: must be a number"
    assert info["imsx_description"].startswith(expected)


@pytest.mark.parametrize("field", ["assignDate", "dueDate"])
@pytest.mark.parametrize(
    "value",
    ["next Tuesday", "2024-13-01T12:00:00Z", "2024-10-01T12:00:00", "01/10/2024", 1727784000],
)
def test_line_item_dates_must_be_dates(
    api: Api, refs: Refs, oneroster_district: District, field: str, value: Any
) -> None:
    before = oneroster_district.counts()
    info = only(api.line_item(line_item(refs, **{field: value})), oneroster_district, before)
    assert info["imsx_codeMinor"] == "invalid data"
    assert info["imsx_description"].startswith(f"{field}: must be a DateTime with a time zone")
    assert repr(value) in info["imsx_description"]


def test_line_item_dates_must_be_datetimes_when_the_rules_say_so(
    oneroster_district: District, refs: Refs
) -> None:
    rules = GradebookRules(datetime_dates=True)
    with OneRosterServer(oneroster_district, gradebook_rules=rules) as server:
        headers = {"Authorization": f"Bearer {server.issue_token()}"}
        before = oneroster_district.counts()
        body = {"lineItem": line_item(refs, dueDate="2024-10-08")}
        response = requests.put(
            f"{server.base_url}/lineItems/li-v-1", json=body, headers=headers, timeout=5
        )
        info = only(response, oneroster_district, before)
    assert info["imsx_description"] == (
        "dueDate: must be a DateTime with a time zone, e.g. 2024-10-01T12:00:00.000Z; "
        "got '2024-10-08'"
    )


@pytest.mark.parametrize(
    "value", ["2024-10-09T12:00:00.000Z", "2024-02-30", "09/10/2024", "yesterday", 20241009]
)
def test_score_date_must_be_a_date(
    api: Api, refs: Refs, oneroster_district: District, value: Any
) -> None:
    before = oneroster_district.counts()
    info = only(api.result(result(refs, scoreDate=value)), oneroster_district, before)
    assert info["imsx_description"] == f"scoreDate: must be a Date (YYYY-MM-DD); got {value!r}"


# --- identity and titles ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collection", "key"),
    [("lineItems", "lineItem"), ("results", "result"), ("categories", "category")],
)
def test_body_sourced_id_different_from_the_path(
    api: Api, refs: Refs, oneroster_district: District, collection: str, key: str
) -> None:
    record = {
        "lineItems": line_item(refs, "li-body"),
        "results": result(refs, "res-body"),
        "categories": {"sourcedId": "cat-body", "title": "T"},
    }[collection]
    before = oneroster_district.counts()
    url = f"{api.server.base_url}/{collection}/in-the-path"
    response = api.session.put(url, json={key: record}, timeout=5)
    info = only(response, oneroster_district, before)
    assert info["imsx_codeMinor"] == "invalid data"
    assert info["imsx_description"] == (
        f"sourcedId: {record['sourcedId']!r} in the body differs from 'in-the-path' in the path"
    )


@pytest.mark.parametrize("title", [DROP, "", "   ", 42])
def test_category_and_line_item_need_a_title(
    api: Api, refs: Refs, oneroster_district: District, title: Any
) -> None:
    before = oneroster_district.counts()
    category = {"sourcedId": "cat-t", "title": title}
    category = {k: v for k, v in category.items() if v is not DROP}
    for response in (api.category(category), api.line_item(line_item(refs, title=title))):
        info = only(response, oneroster_district, before)
        assert info["imsx_description"].startswith("title: ")


def test_every_problem_is_named_in_its_own_status_info(
    api: Api, refs: Refs, oneroster_district: District
) -> None:
    before = oneroster_district.counts()
    bad = result(
        refs,
        lineItem={"sourcedId": "li-gone"},
        student={"sourcedId": refs.teacher},
        scoreStatus="done",
        score="A-",
        scoreDate="soon",
    )
    infos = refused(api.result(bad), oneroster_district, before)
    fields = [info["imsx_description"].split(":")[0] for info in infos]
    assert fields == ["lineItem", "student", "scoreStatus", "score", "scoreDate"]
    assert [info["imsx_codeMinor"] for info in infos] == [
        "unknown object",
        *["invalid data"] * 4,
    ]


# --- optional rules -----------------------------------------------------------------------


@pytest.fixture
def strict_server(oneroster_district: District) -> Iterator[OneRosterServer]:
    rules = GradebookRules(whole_number_points=True, max_title_length=20, score_required=True)
    with OneRosterServer(oneroster_district, gradebook_rules=rules) as server:
        yield server


def _put(server: OneRosterServer, collection: str, key: str, record: Record) -> requests.Response:
    headers = {"Authorization": f"Bearer {server.issue_token()}"}
    url = f"{server.base_url}/{collection}/{record['sourcedId']}"
    return requests.put(url, json={key: record}, headers=headers, timeout=5)


def test_rules_whole_number_points(
    strict_server: OneRosterServer, refs: Refs, oneroster_district: District
) -> None:
    before = oneroster_district.counts()
    response = _put(strict_server, "lineItems", "lineItem", line_item(refs, resultValueMax=12.5))
    info = only(response, oneroster_district, before)
    assert info["imsx_description"] == (
        "resultValueMax: points possible must be a whole number; got 12.5"
    )
    ok = _put(strict_server, "lineItems", "lineItem", line_item(refs, resultValueMax=12))
    assert ok.status_code == 201, ok.text


def test_rules_title_length(
    strict_server: OneRosterServer, refs: Refs, oneroster_district: District
) -> None:
    before = oneroster_district.counts()
    response = _put(strict_server, "lineItems", "lineItem", line_item(refs, title="é" * 21))
    info = only(response, oneroster_district, before)
    assert info["imsx_description"] == "title: must be at most 20 characters; got 21"
    # Categories are not assignments: the limit is for line item titles.
    category = {"sourcedId": "cat-long", "title": "C" * 40}
    assert _put(strict_server, "categories", "category", category).status_code == 201


def test_rules_score_required(
    strict_server: OneRosterServer, refs: Refs, oneroster_district: District
) -> None:
    before = oneroster_district.counts()
    for score in (DROP, None):
        record = result(refs, score=score, scoreStatus="exempt")
        info = only(_put(strict_server, "results", "result", record), oneroster_district, before)
        assert info["imsx_description"] == "score: is required: only points-based scores pass"


def test_rules_can_change_while_the_server_runs(
    oneroster_server: OneRosterServer, refs: Refs
) -> None:
    record = line_item(refs, title="T" * 30)
    assert _put(oneroster_server, "lineItems", "lineItem", record).status_code == 201
    oneroster_server.gradebook_rules = GradebookRules(max_title_length=29)
    assert _put(oneroster_server, "lineItems", "lineItem", record).status_code == 422


# --- properties ---------------------------------------------------------------------------

_PROPERTY = hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_PROPERTY
@given(status=st.text(max_size=20))
def test_any_other_score_status_is_refused(api: Api, refs: Refs, status: str) -> None:
    response = api.result(result(refs, "res-prop", scoreStatus=status))
    if status in SCORE_STATUSES:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 422, response.text
        descriptions = [i["imsx_description"] for i in response.json()["statusInfoSet"]]
        assert descriptions[0].startswith("scoreStatus: ")


_BOUNDS = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)


@_PROPERTY
@given(low=_BOUNDS, high=_BOUNDS)
def test_bounds_are_accepted_exactly_when_ordered(
    api: Api, refs: Refs, low: float, high: float
) -> None:
    response = api.line_item(line_item(refs, "li-prop", resultValueMin=low, resultValueMax=high))
    if low <= high:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 422, response.text
        (info,) = response.json()["statusInfoSet"]
        assert info["imsx_description"].startswith("resultValueMin: ")
        assert math.isfinite(low) and math.isfinite(high)
