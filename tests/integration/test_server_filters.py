"""Integration: filtering, sorting and field selection (OneRoster 1.1 sections 8.2-8.4).

Raw HTTP with ``requests`` against a read-only loopback server. Expected answers are
computed here from the district's records with plain Python, independently of the
project's filter evaluator: every operator ``= != > >= < <= ~``, ``AND``/``OR``, dotted
fields, instants, numbers, booleans and list fields; 400 ``invalid_filter_field`` for
unknown fields and bad syntax; ``sort``/``orderBy``; ``fields`` with its warnings and the
400 for a blank selection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
import requests

from oneroster_client.testing.district import District
from oneroster_client.testing.generator import generate_district
from oneroster_client.testing.server import OneRosterServer

Record = dict[str, Any]


@pytest.fixture(scope="module")
def district() -> District:
    return generate_district(students=60, seed=7)


@pytest.fixture(scope="module")
def server(district: District) -> Iterator[OneRosterServer]:
    """A read-only server over the fixture district (60 students, seed 7)."""
    with OneRosterServer(district) as shared:
        yield shared


@pytest.fixture(scope="module")
def api(server: OneRosterServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {server.issue_token()}"
        yield session


def _get(
    api: requests.Session, server: OneRosterServer, path: str, **params: str
) -> requests.Response:
    params.setdefault("limit", "10000")
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
    return api.get(f"{server.base_url}{path}?{query}", timeout=5)


def _ok(response: requests.Response, key: str) -> list[Record]:
    assert response.status_code == 200, response.text
    records = response.json()[key]
    assert response.headers["X-Total-Count"] == str(len(records))
    return records  # type: ignore[no-any-return]


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _refs(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value else []
    return [item["sourcedId"] for item in items]


def _errors(response: requests.Response, status: int) -> list[dict[str, str]]:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["statusInfoSet"], "an error answer carries no data"
    for info in body["statusInfoSet"]:
        assert (info["imsx_codeMajor"], info["imsx_severity"]) == ("failure", "error")
    return body["statusInfoSet"]  # type: ignore[no-any-return]


def _warnings(response: requests.Response) -> list[tuple[str, str]]:
    infos = response.json().get("statusInfoSet", [])
    for info in infos:
        assert (info["imsx_codeMajor"], info["imsx_severity"]) == ("success", "warning")
    return [(info["imsx_codeMinor"], info["imsx_description"]) for info in infos]


# --- filters --------------------------------------------------------------------------------


class Case:
    """A filter on one path, and the Python predicate that picks the same records."""

    def __init__(
        self,
        path: str,
        key: str,
        collection: str,
        text: Callable[[District], str],
        matches: Callable[[District, Record], bool],
    ) -> None:
        self.path, self.key, self.collection = path, key, collection
        self.text, self.matches = text, matches


def _pivot(district: District) -> str:
    """A dateLastModified some users have exactly, in the middle of the range."""
    stamps = sorted(u["dateLastModified"] for u in district["users"])
    return stamps[len(stamps) // 2]


def _school(district: District) -> str:
    return str(district["classes"][0]["school"]["sourcedId"])


def _other_school(district: District) -> str:
    return str(district["classes"][-1]["school"]["sourcedId"])


def _class_id(district: District) -> str:
    return str(district["enrollments"][0]["class"]["sourcedId"])


def _email_part(district: District) -> str:
    student = next(u for u in district["users"] if u["role"] == "student")
    return "@" + student["email"].split("@")[1].upper()  # "contains" ignores case


def _modified(record: Record) -> datetime:
    return _instant(record["dateLastModified"])


CASES = {
    "equals": Case(
        "/users", "users", "users", lambda d: "role='teacher'", lambda d, u: u["role"] == "teacher"
    ),
    "not-equals": Case(
        "/users", "users", "users", lambda d: "role!='student'", lambda d, u: u["role"] != "student"
    ),
    "greater": Case(
        "/users",
        "users",
        "users",
        lambda d: f"dateLastModified>'{_pivot(d)}'",
        lambda d, u: _modified(u) > _instant(_pivot(d)),
    ),
    "greater-or-equal": Case(
        "/users",
        "users",
        "users",
        lambda d: f"dateLastModified>='{_pivot(d)}'",
        lambda d, u: _modified(u) >= _instant(_pivot(d)),
    ),
    "less": Case(
        "/users",
        "users",
        "users",
        lambda d: f"dateLastModified<'{_pivot(d)}'",
        lambda d, u: _modified(u) < _instant(_pivot(d)),
    ),
    "less-or-equal": Case(
        "/users",
        "users",
        "users",
        lambda d: f"dateLastModified<='{_pivot(d)}'",
        lambda d, u: _modified(u) <= _instant(_pivot(d)),
    ),
    "contains": Case(
        "/users",
        "users",
        "users",
        lambda d: f"email~'{_email_part(d)}'",
        lambda d, u: _email_part(d).casefold() in u.get("email", "").casefold(),
    ),
    "and": Case(
        "/users",
        "users",
        "users",
        lambda d: f"role='student' AND dateLastModified>='{_pivot(d)}'",
        lambda d, u: u["role"] == "student" and _modified(u) >= _instant(_pivot(d)),
    ),
    "or": Case(
        "/users",
        "users",
        "users",
        lambda d: "role='teacher' OR role='administrator'",
        lambda d, u: u["role"] in ("teacher", "administrator"),
    ),
    "date-only": Case(
        "/enrollments",
        "enrollments",
        "enrollments",
        lambda d: "dateLastModified>'2024-09-01'",
        lambda d, e: _modified(e) > datetime(2024, 9, 1, tzinfo=UTC),
    ),
    "date-with-offset": Case(
        "/classes",
        "classes",
        "classes",
        lambda d: "dateLastModified<='2024-09-01T02:00:00+02:00'",
        lambda d, c: _modified(c) <= datetime(2024, 9, 1, tzinfo=UTC),
    ),
    "date-range": Case(
        "/results",
        "results",
        "results",
        lambda d: "dateLastModified>='2024-03-01T00:00:00Z' AND dateLastModified<'2024-10-01'",
        lambda d, r: (
            datetime(2024, 3, 1, tzinfo=UTC) <= _modified(r) < datetime(2024, 10, 1, tzinfo=UTC)
        ),
    ),
    "dotted-guidref": Case(
        "/classes",
        "classes",
        "classes",
        lambda d: f"school.sourcedId='{_school(d)}'",
        lambda d, c: c["school"]["sourcedId"] == _school(d),
    ),
    "dotted-guidref-list": Case(
        "/users",
        "users",
        "users",
        lambda d: f"orgs.sourcedId='{_school(d)}'",
        lambda d, u: _school(d) in _refs(u.get("orgs")),
    ),
    "dotted-and-role": Case(
        "/enrollments",
        "enrollments",
        "enrollments",
        lambda d: f"class.sourcedId='{_class_id(d)}' AND role='student'",
        lambda d, e: e["class"]["sourcedId"] == _class_id(d) and e["role"] == "student",
    ),
    "dotted-or": Case(
        "/classes",
        "classes",
        "classes",
        lambda d: f"school.sourcedId='{_school(d)}' OR school.sourcedId='{_other_school(d)}'",
        lambda d, c: c["school"]["sourcedId"] in (_school(d), _other_school(d)),
    ),
    "number": Case(
        "/results",
        "results",
        "results",
        lambda d: "score>='90'",
        lambda d, r: r["score"] >= 90,
    ),
    "number-range": Case(
        "/results",
        "results",
        "results",
        lambda d: "score>'9.5' AND score<='100'",
        lambda d, r: 9.5 < r["score"] <= 100,
    ),
    "boolean": Case(
        "/enrollments",
        "enrollments",
        "enrollments",
        lambda d: "primary='true'",
        lambda d, e: e.get("primary") is True,
    ),
    "list-field": Case(
        "/users",
        "users",
        "users",
        lambda d: "grades='07'",
        lambda d, u: "07" in u.get("grades", []),
    ),
    "space-in-value": Case(
        "/results",
        "results",
        "results",
        lambda d: "scoreStatus='fully graded' OR scoreStatus='exempt'",
        lambda d, r: r["scoreStatus"] in ("fully graded", "exempt"),
    ),
    "nested-listing": Case(
        "/schools/{school}/students",
        "users",
        "users",
        lambda d: "grades~'0'",
        lambda d, u: (
            u["role"] == "student"
            and _school(d) in _refs(u["orgs"])
            and any("0" in grade for grade in u.get("grades", []))
        ),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_filter_matches_the_records_python_picks(
    api: requests.Session, server: OneRosterServer, district: District, name: str
) -> None:
    case = CASES[name]
    expected = {r["sourcedId"] for r in district[case.collection] if case.matches(district, r)}
    assert expected, f"the fixture district has no record for the {name} case"

    path = case.path.format(school=_school(district))
    records = _ok(_get(api, server, path, filter=case.text(district)), case.key)

    assert {r["sourcedId"] for r in records} == expected
    assert len(records) == len(expected)


def test_strict_and_non_strict_comparisons_differ_by_the_equal_records(
    api: requests.Session, server: OneRosterServer, district: District
) -> None:
    pivot = _pivot(district)

    def ids(op: str) -> set[str]:
        response = _get(api, server, "/users", filter=f"dateLastModified{op}'{pivot}'")
        return {u["sourcedId"] for u in _ok(response, "users")}

    at_pivot = {u["sourcedId"] for u in district["users"] if u["dateLastModified"] == pivot}
    assert at_pivot
    assert ids(">=") - ids(">") == at_pivot
    assert ids("<=") - ids("<") == at_pivot
    assert ids("=") == at_pivot
    assert ids(">") | ids("<=") == {u["sourcedId"] for u in district["users"]}
    assert not ids(">") & ids("<=")


@pytest.mark.parametrize(
    ("path", "text", "field"),
    [
        ("/users", "favouriteColour='blue'", "favouriteColour"),
        ("/users", "role='student' AND shoeSize>'40'", "shoeSize"),
        ("/users", "shoeSize>'40' OR role='student'", "shoeSize"),
        ("/classes", "campus.sourcedId='x'", "campus"),
        ("/enrollments", "score>'3'", "score"),  # a field of another entity
    ],
)
def test_unknown_filter_field_is_a_bad_request(
    api: requests.Session, server: OneRosterServer, path: str, text: str, field: str
) -> None:
    infos = _errors(_get(api, server, path, filter=text), 400)
    assert [info["imsx_codeMinor"] for info in infos] == ["invalid_filter_field"]
    assert field in infos[0]["imsx_description"]


@pytest.mark.parametrize(
    "text",
    [
        "role=student",
        'role="student"',
        "role='student",
        "role=='student'",
        "role<>'student'",
        "role",
        "='student'",
        "(role='student')",
        "role='student' && grades='07'",
        "role='student' XOR role='teacher'",
        "role='student' AND",
        "role='a' OR role='b' OR role='c'",
        "role='student'grades='07'",
        "role='student' and grades='07'",
        "role='student' or role='teacher'",
        "role='student' And grades='07'",
    ],
)
def test_bad_filter_syntax_is_a_bad_request(
    api: requests.Session, server: OneRosterServer, text: str
) -> None:
    infos = _errors(_get(api, server, "/users", filter=text), 400)
    assert [info["imsx_codeMinor"] for info in infos] == ["invalid_filter_field"]


# --- sort -----------------------------------------------------------------------------------


def _sort_value(record: Record, field: str) -> Any:
    value: Any = record
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value.casefold() if isinstance(value, str) else value


@pytest.mark.parametrize(
    ("path", "key", "field", "order_by"),
    [
        ("/users", "users", "familyName", None),
        ("/users", "users", "familyName", "asc"),
        ("/users", "users", "familyName", "desc"),
        ("/users", "users", "sourcedId", "desc"),
        ("/enrollments", "enrollments", "dateLastModified", "asc"),
        ("/classes", "classes", "title", "desc"),
        ("/classes", "classes", "school.sourcedId", "asc"),
        ("/results", "results", "score", "asc"),
        ("/results", "results", "score", "desc"),
    ],
)
def test_sort_and_order_by(
    api: requests.Session,
    server: OneRosterServer,
    district: District,
    path: str,
    key: str,
    field: str,
    order_by: str | None,
) -> None:
    params = {"sort": field} | ({"orderBy": order_by} if order_by else {})
    response = _get(api, server, path, **params)
    records = _ok(response, key)

    assert _warnings(response) == []
    values = [_sort_value(r, field) for r in records]
    assert values == sorted(values, reverse=order_by == "desc")
    assert sorted(r["sourcedId"] for r in records) == sorted(r["sourcedId"] for r in district[key])


def test_sort_applies_before_paging_and_with_filters(
    api: requests.Session, server: OneRosterServer
) -> None:
    params = {"filter": "role='student'", "sort": "givenName", "orderBy": "desc"}
    whole = _ok(_get(api, server, "/users", **params), "users")
    pages = []
    for offset in range(0, len(whole), 8):
        response = _get(api, server, "/users", limit="8", offset=str(offset), **params)
        pages += response.json()["users"]
    assert [u["sourcedId"] for u in pages] == [u["sourcedId"] for u in whole]
    names = [u["givenName"].casefold() for u in whole]
    assert names == sorted(names, reverse=True)
    assert {u["role"] for u in whole} == {"student"}


def test_unknown_sort_field_is_a_warning_with_the_data(
    api: requests.Session, server: OneRosterServer, district: District
) -> None:
    plain = _ok(_get(api, server, "/users"), "users")
    response = _get(api, server, "/users", sort="favouriteColour", orderBy="asc")

    records = _ok(response, "users")
    assert _warnings(response) == [("invalid_sort_field", "favouriteColour")]
    assert [u["sourcedId"] for u in records] == [u["sourcedId"] for u in plain]
    assert len(records) == len(district["users"])


@pytest.mark.parametrize("order_by", ["up", "ascending", "DESC", "Asc", "", "desc "])
def test_order_by_other_than_asc_or_desc_is_a_bad_request(
    api: requests.Session, server: OneRosterServer, order_by: str
) -> None:
    response = _get(api, server, "/users", sort="familyName", orderBy=order_by)
    infos = _errors(response, 400)
    assert [info["imsx_codeMinor"] for info in infos] == ["invalid_sort_field"]
    assert "orderBy must be asc or desc" in infos[0]["imsx_description"]


def test_lower_case_and_in_a_filter_names_the_fix(
    api: requests.Session, server: OneRosterServer
) -> None:
    response = _get(api, server, "/users", filter="role='student' and status='active'")
    (info,) = _errors(response, 400)
    assert info["imsx_codeMinor"] == "invalid_filter_field"
    assert "use AND" in info["imsx_description"]


# --- fields ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "key", "fields"),
    [
        ("/users", "users", "sourcedId,givenName,familyName"),
        ("/users", "users", "sourcedId"),
        ("/classes", "classes", "title,school"),
        ("/schools/{school}/students", "users", "sourcedId,role,orgs"),
        ("/results", "results", "score,scoreStatus"),
    ],
)
def test_fields_selects_only_those_keys(
    api: requests.Session,
    server: OneRosterServer,
    district: District,
    path: str,
    key: str,
    fields: str,
) -> None:
    response = _get(api, server, path.format(school=_school(district)), fields=fields)
    records = _ok(response, key)
    assert records
    assert _warnings(response) == []
    wanted = fields.split(",")
    for record in records:
        assert list(record) == wanted


def test_fields_on_a_single_object(
    api: requests.Session, server: OneRosterServer, district: District
) -> None:
    user = district["users"][0]
    response = _get(api, server, f"/users/{user['sourcedId']}", fields="email,sourcedId")
    assert response.status_code == 200
    assert response.json() == {"user": {"email": user["email"], "sourcedId": user["sourcedId"]}}


def test_fields_with_filter_and_sort(api: requests.Session, server: OneRosterServer) -> None:
    response = _get(
        api, server, "/users", filter="role='teacher'", sort="familyName", fields="familyName"
    )
    records = _ok(response, "users")
    assert records and all(list(r) == ["familyName"] for r in records)
    names = [r["familyName"].casefold() for r in records]
    assert names == sorted(names)


def test_unknown_selection_field_is_a_warning(
    api: requests.Session, server: OneRosterServer
) -> None:
    response = _get(api, server, "/users", fields="sourcedId,favouriteColour,email")
    records = _ok(response, "users")
    assert _warnings(response) == [("invalid_selection_field", "favouriteColour")]
    assert all(set(r) <= {"sourcedId", "email"} and "sourcedId" in r for r in records)


def test_only_unknown_selection_fields_give_whole_records_and_a_warning(
    api: requests.Session, server: OneRosterServer, district: District
) -> None:
    response = _get(api, server, "/orgs", fields="favouriteColour")
    records = _ok(response, "orgs")
    assert _warnings(response) == [("invalid_selection_field", "favouriteColour")]
    assert records == _ok(_get(api, server, "/orgs"), "orgs")
    assert [set(r) for r in records] == [set(r) for r in district["orgs"]]


def test_unknown_sort_and_selection_fields_are_both_reported(
    api: requests.Session, server: OneRosterServer
) -> None:
    response = _get(api, server, "/classes", sort="colour", fields="sourcedId,size")
    assert response.status_code == 200
    assert sorted(_warnings(response)) == [
        ("invalid_selection_field", "size"),
        ("invalid_sort_field", "colour"),
    ]


@pytest.mark.parametrize("path", ["/users", "/users/{user}"])
def test_blank_fields_is_a_bad_request(
    api: requests.Session, server: OneRosterServer, district: District, path: str
) -> None:
    path = path.format(user=district["users"][0]["sourcedId"])
    infos = _errors(api.get(f"{server.base_url}{path}?fields=", timeout=5), 400)
    assert [info["imsx_codeMinor"] for info in infos] == ["invalid_blank_selection_field"]
