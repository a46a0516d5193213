"""Integration: filters, sort, orderBy and field selection through real HTTP (section 8).

Every 1.1 comparison operator and both logical operators are sent built with ``F`` and
written as raw strings, signed with OAuth 1, and the records the server returns are
compared with a selection computed here in plain Python from the district's wire
records. Filters a 1.1 server cannot parse fail before any request is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from oneroster_client import F, OneRosterClient, RetryPolicy
from oneroster_client.errors import FilterError
from oneroster_client.query import FilterExpr
from oneroster_client.testing.district import District
from oneroster_client.testing.server import OneRosterServer

Row = dict[str, Any]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def client(oneroster_server: OneRosterServer) -> Iterator[OneRosterClient]:
    with OneRosterClient(
        oneroster_server.base_url,
        auth=oneroster_server.oauth1(),
        retry=RetryPolicy(sleep=lambda seconds: None),
        page_size=1000,
    ) as one:
        yield one


def _ids(records: Any) -> list[str]:
    return sorted(record.sourced_id for record in records)


def _pivot(district: District) -> datetime:
    """A dateLastModified some user has exactly: tells > from >= and < from <=."""
    stamps = sorted(_instant(u["dateLastModified"]) for u in district["users"])
    return stamps[len(stamps) // 2]


Case = tuple[
    str,
    str,
    Callable[[District], FilterExpr],
    Callable[[District], str],
    Callable[[District, Row], bool],
]


def _school(d: District) -> str:
    return str(next(o["sourcedId"] for o in d["orgs"] if o["type"] == "school"))


def _stamp(d: District) -> str:
    return _pivot(d).isoformat(timespec="milliseconds").replace("+00:00", "Z")


FILTER_CASES: list[Case] = [
    (
        "equals",
        "users",
        lambda d: F.role == "teacher",
        lambda d: "role='teacher'",
        lambda d, u: u["role"] == "teacher",
    ),
    (
        "not-equals",
        "users",
        lambda d: F.role != "student",
        lambda d: "role!='student'",
        lambda d, u: u["role"] != "student",
    ),
    (
        "greater",
        "users",
        lambda d: F.date_last_modified > _pivot(d),
        lambda d: f"dateLastModified>'{_stamp(d)}'",
        lambda d, u: _instant(u["dateLastModified"]) > _pivot(d),
    ),
    (
        "greater-or-equal",
        "users",
        lambda d: F.date_last_modified >= _pivot(d),
        lambda d: f"dateLastModified>='{_stamp(d)}'",
        lambda d, u: _instant(u["dateLastModified"]) >= _pivot(d),
    ),
    (
        "less",
        "users",
        lambda d: F.date_last_modified < _pivot(d),
        lambda d: f"dateLastModified<'{_stamp(d)}'",
        lambda d, u: _instant(u["dateLastModified"]) < _pivot(d),
    ),
    (
        "less-or-equal",
        "users",
        lambda d: F.date_last_modified <= _pivot(d),
        lambda d: f"dateLastModified<='{_stamp(d)}'",
        lambda d, u: _instant(u["dateLastModified"]) <= _pivot(d),
    ),
    (
        "contains",
        "users",
        lambda d: F.family_name.contains("SON"),
        lambda d: "familyName~'SON'",
        lambda d, u: "son" in u["familyName"].lower(),
    ),
    (
        "and",
        "users",
        lambda d: (F.role == "student") & (F("orgs.sourcedId") == _school(d)),
        lambda d: f"role='student' AND orgs.sourcedId='{_school(d)}'",
        lambda d, u: u["role"] == "student" and _school(d) in [o["sourcedId"] for o in u["orgs"]],
    ),
    (
        "or",
        "users",
        lambda d: (F.role == "teacher") | (F.role == "aide"),
        lambda d: "role='teacher' OR role='aide'",
        lambda d, u: u["role"] in ("teacher", "aide"),
    ),
    (
        "boolean",
        "users",
        lambda d: F.enabled_user == True,  # noqa: E712 - builds a predicate
        lambda d: "enabledUser='true'",
        lambda d, u: u["enabledUser"] is True,
    ),
    (
        "number",
        "results",
        lambda d: F.score >= 90,
        lambda d: "score>='90'",
        lambda d, r: r.get("score") is not None and r["score"] >= 90,
    ),
    (
        "date-only",
        "academicSessions",
        lambda d: F.start_date >= date(2025, 1, 1),
        lambda d: "startDate>='2025-01-01'",
        lambda d, s: s["startDate"] >= "2025-01-01",
    ),
    (
        "nested-and-range",
        "enrollments",
        lambda d: (F("class.sourcedId") == d["classes"][0]["sourcedId"]) & (F.role != "teacher"),
        lambda d: f"class.sourcedId='{d['classes'][0]['sourcedId']}' AND role!='teacher'",
        lambda d, e: (
            e["class"]["sourcedId"] == d["classes"][0]["sourcedId"] and e["role"] != "teacher"
        ),
    ),
]

ATTRIBUTES = {
    "users": "users",
    "results": "results",
    "academicSessions": "academic_sessions",
    "enrollments": "enrollments",
}


@pytest.mark.parametrize(
    ("collection", "build", "raw", "expected"),
    [case[1:] for case in FILTER_CASES],
    ids=[case[0] for case in FILTER_CASES],
)
def test_filter_operators_via_builder_and_raw_string(
    client: OneRosterClient,
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    collection: str,
    build: Callable[[District], FilterExpr],
    raw: Callable[[District], str],
    expected: Callable[[District, Row], bool],
) -> None:
    wanted = sorted(
        row["sourcedId"]
        for row in oneroster_district[collection]
        if expected(oneroster_district, row)
    )
    assert wanted, "the case must select something"
    assert len(wanted) < len(oneroster_district[collection]), "the case must leave something out"
    listing = getattr(client, ATTRIBUTES[collection]).list
    built = listing(filter=build(oneroster_district)).all()
    written = listing(filter=raw(oneroster_district)).all()
    assert _ids(built) == wanted
    assert _ids(written) == wanted
    sent = [request.query["filter"] for request in oneroster_server.requests]
    assert sent[0] == sent[1] == raw(oneroster_district)
    assert {request.status for request in oneroster_server.requests} == {200}


def test_lenient_raw_filter_is_normalised_before_sending(
    client: OneRosterClient, oneroster_server: OneRosterServer
) -> None:
    client.users.list(filter="  role = 'teacher'   OR   role='aide' ").all()
    assert oneroster_server.requests[0].query["filter"] == "role='teacher' OR role='aide'"


def test_filter_values_are_sent_exactly(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    # Values are kept verbatim: AND, = and spaces inside quotes are data, not syntax.
    target = oneroster_district["users"][0]
    target["familyName"] = "Smith AND role = x"
    found = client.users.list(filter=F.family_name == target["familyName"]).all()
    assert [u.sourced_id for u in found] == [target["sourcedId"]]


# --- filters refused before any request -----------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: (F.role == "a") & (F.status == "b") & (F.email == "c"), "three predicates"),
        (lambda: (F.role == "a") & ((F.status == "b") | (F.email == "c")), "AND with OR"),
        (lambda: F.family_name == "O'Connor", "single quote"),
        (lambda: F.date_last_modified > datetime(2024, 1, 1), "timezone"),
        (lambda: ~(F.role == "a"), "no NOT"),
    ],
    ids=["three", "mixed", "quote", "naive-datetime", "not"],
)
def test_invalid_builder_filters_fail_at_build_time(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(FilterError, match=message):
        make()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("role='a' AND status='b' AND email='c'", "three predicates"),
        ("role='a' AND status='b' OR email='c'", "AND with OR"),
        ("familyName='O'Connor'", "cannot contain a single quote"),
        ("role=student", "single-quoted value"),
        ("role=='student'", "use = for equality"),
        ("", "empty"),
    ],
    ids=["three", "mixed", "quote", "unquoted", "double-equals", "empty"],
)
def test_invalid_raw_filters_fail_before_any_request(
    client: OneRosterClient, oneroster_server: OneRosterServer, raw: str, message: str
) -> None:
    with pytest.raises(FilterError, match=message):
        client.users.list(filter=raw)
    with pytest.raises(FilterError):
        client.classes.students("cls-001-0001", filter=raw)
    assert oneroster_server.requests == []


def test_python_boolean_operators_are_refused(client: OneRosterClient) -> None:
    with pytest.raises(FilterError, match="no truth value"):
        client.users.list(filter=(F.role == "a") and (F.status == "b"))


def test_filter_of_the_wrong_type_is_refused(
    client: OneRosterClient, oneroster_server: OneRosterServer
) -> None:
    with pytest.raises(FilterError, match="compare the field"):
        client.users.list(filter=F.role)  # type: ignore[arg-type]
    assert oneroster_server.requests == []


def test_filter_messages_do_not_quote_values() -> None:
    with pytest.raises(FilterError) as info:
        F.family_name == "O'Brien-Secretname"  # noqa: B015 - the comparison raises
    assert "Secretname" not in str(info.value)


# --- sort and orderBy -------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["family_name", "familyName", " familyName "])
@pytest.mark.parametrize("order_by", ["asc", "desc", "DESC", None])
def test_sort_and_order_by_python_and_wire_names(
    client: OneRosterClient,
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    sort: str,
    order_by: Any,
) -> None:
    users = client.users.list(sort=sort, order_by=order_by, page_size=100).all()
    names = [u.family_name.lower() for u in users]
    descending = (order_by or "asc").lower() == "desc"
    assert names == sorted(names, reverse=descending)
    assert len(users) == len(oneroster_district["users"])
    query = oneroster_server.requests[0].query
    assert query["sort"] == "familyName"
    assert query.get("orderBy") == (order_by.lower() if order_by else None)


def test_sort_on_a_date_field(client: OneRosterClient) -> None:
    sessions = client.academic_sessions.list(sort="start_date", order_by="desc").all()
    starts = [s.start_date for s in sessions]
    assert starts == sorted(starts, reverse=True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"order_by": "desc"}, "needs sort"),
        ({"sort": "familyName,givenName"}, "one field"),
        ({"sort": "familyName", "order_by": "down"}, "asc"),
        ({"sort": "family name"}, "not a valid field name"),
    ],
)
def test_invalid_sort_fails_before_any_request(
    client: OneRosterClient,
    oneroster_server: OneRosterServer,
    options: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(FilterError, match=message):
        client.users.list(**options)
    assert oneroster_server.requests == []


# --- fields -----------------------------------------------------------------------------------

USER_REQUIRED_PY = ["sourced_id", "username", "given_name", "family_name", "role", "enabled_user"]
USER_REQUIRED_WIRE = "sourcedId,username,givenName,familyName,role,enabledUser,orgs"


def test_fields_python_and_wire_names_select_the_same(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    python = client.users.list(fields=[*USER_REQUIRED_PY, "orgs", "sourced_id"]).all()
    wire = client.users.list(fields=USER_REQUIRED_WIRE).all()
    assert [r.query["fields"] for r in oneroster_server.requests] == [USER_REQUIRED_WIRE] * 2
    assert python == wire
    assert len(python) == len(oneroster_district["users"])
    assert all(u.email is None and u.date_last_modified is None for u in python)
    assert all(u.given_name for u in python)


def test_fields_on_a_single_record(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    row = oneroster_district["orgs"][0]
    org = client.orgs.get(row["sourcedId"], fields=["sourced_id", "name", "type"])
    assert (org.name, org.identifier, org.status) == (row["name"], None, None)
    assert oneroster_server.requests[0].query["fields"] == "sourcedId,name,type"


def test_partial_fields_are_refused_as_models_and_read_as_dicts(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    # A partial record is not a valid User: say so before any request, and offer dicts.
    listing = client.users.list(fields="sourcedId,familyName")
    with pytest.raises(FilterError, match=r"leaves out .*givenName.*listing\.dicts\(\)"):
        listing.all()
    assert oneroster_server.requests == []
    rows = list(listing.dicts())
    assert len(rows) == len(oneroster_district["users"])
    assert all(set(row) == {"sourcedId", "familyName"} for row in rows)
    assert listing.complete is True
    with pytest.raises(FilterError, match="leaves out"):
        client.users.get(oneroster_district["users"][0]["sourcedId"], fields="sourcedId")


@pytest.mark.parametrize("fields", ["", "sourcedId,,email", [], "family name"])
def test_invalid_fields_fail_before_any_request(
    client: OneRosterClient, oneroster_server: OneRosterServer, fields: Any
) -> None:
    with pytest.raises(FilterError):
        client.users.list(fields=fields)
    assert oneroster_server.requests == []


# --- changed_since ----------------------------------------------------------------------------


def test_changed_since_returns_only_records_modified_after(
    client: OneRosterClient, oneroster_server: OneRosterServer, oneroster_district: District
) -> None:
    since = _pivot(oneroster_district)
    wanted = sorted(
        u["sourcedId"]
        for u in oneroster_district["users"]
        if _instant(u["dateLastModified"]) > since
    )
    assert 0 < len(wanted) < len(oneroster_district["users"])
    changed = client.users.changed_since(since).all()
    assert _ids(changed) == wanted
    assert all(u.date_last_modified is not None and u.date_last_modified > since for u in changed)
    assert (
        oneroster_server.requests[0].query["filter"]
        == f"dateLastModified>'{_stamp(oneroster_district)}'"
    )


def test_changed_since_accepts_any_timezone(
    client: OneRosterClient, oneroster_district: District
) -> None:
    since = _pivot(oneroster_district)
    elsewhere = since.astimezone(timezone(timedelta(hours=-7)))
    assert _ids(client.users.changed_since(elsewhere)) == _ids(client.users.changed_since(since))


@pytest.mark.parametrize("extra", ["builder", "string"])
def test_changed_since_combines_with_one_extra_predicate(
    client: OneRosterClient, oneroster_district: District, extra: str
) -> None:
    since = datetime(2024, 6, 1, tzinfo=UTC)
    wanted = sorted(
        u["sourcedId"]
        for u in oneroster_district["users"]
        if _instant(u["dateLastModified"]) > since and u["role"] == "student"
    )
    assert wanted
    predicate: Any = F.role == "student" if extra == "builder" else "role='student'"
    changed = client.users.changed_since(since, filter=predicate, sort="sourcedId").all()
    assert [u.sourced_id for u in changed] == wanted
    students = client.students.changed_since(since).all()
    assert _ids(students) == wanted


def test_changed_since_refuses_a_second_extra_predicate(
    client: OneRosterClient, oneroster_server: OneRosterServer
) -> None:
    since = datetime(2024, 6, 1, tzinfo=UTC)
    with pytest.raises(FilterError):
        client.users.changed_since(since, filter=(F.role == "a") | (F.role == "b"))
    with pytest.raises(FilterError):
        client.users.changed_since(since, filter="role='a' OR role='b'")
    with pytest.raises(FilterError, match="timezone"):
        client.users.changed_since(datetime(2024, 6, 1))
    assert oneroster_server.requests == []
