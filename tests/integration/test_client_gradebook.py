"""Integration: gradebook PUT (upsert) and DELETE (OneRoster 1.1 section 3.4).

PUT answers 201 for a new record and 200 for a replaced one; the record reads back
as sent: zero scores, extra credit above ``resultValueMax``, exempt results, dates as
Date or DateTime. DELETE answers 204 (or 200) and the record is gone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import attrs
import pytest

from oneroster_client import OneRosterClient, RetryPolicy, WriteResult
from oneroster_client.errors import NotFoundError
from oneroster_client.models import Category, GUIDRef, LineItem, Result
from oneroster_client.models.enums import ScoreStatus
from oneroster_client.testing.district import District
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer
from oneroster_client.testing.server import OneRosterServer


@pytest.fixture(params=["oauth1", "oauth2"])
def client(
    oneroster_server: OneRosterServer, request: pytest.FixtureRequest
) -> Iterator[OneRosterClient]:
    auth = oneroster_server.oauth1() if request.param == "oauth1" else oneroster_server.oauth2()
    with OneRosterClient(
        oneroster_server.base_url, auth=auth, retry=RetryPolicy(sleep=lambda seconds: None)
    ) as one:
        yield one


def _line_item(district: District, sourced_id: str = "li-new-1") -> LineItem:
    klass = district["classes"][0]["sourcedId"]
    period = next(s for s in district["academicSessions"] if s["type"] == "gradingPeriod")
    return LineItem(
        sourced_id=sourced_id,
        title="Unit 3 quiz",
        class_=GUIDRef(sourced_id=klass, type="class"),
        category=GUIDRef(sourced_id=district["categories"][0]["sourcedId"], type="category"),
        grading_period=GUIDRef(sourced_id=period["sourcedId"], type="academicSession"),
        assign_date=date(2024, 10, 1),
        due_date=datetime(2024, 10, 8, 15, 30, tzinfo=UTC),
        result_value_min=0.0,
        result_value_max=20.0,
    )


def _result(line_item: str, student: str, sourced_id: str, **fields: object) -> Result:
    values: dict[str, object] = {
        "score_status": ScoreStatus.FULLY_GRADED,
        "score": 15.0,
        "score_date": date(2024, 10, 9),
    }
    values.update(fields)
    return Result(
        sourced_id=sourced_id,
        line_item=GUIDRef(sourced_id=line_item, type="lineItem"),
        student=GUIDRef(sourced_id=student, type="user"),
        **values,  # type: ignore[arg-type]
    )


def _student(district: District) -> str:
    return str(next(u["sourcedId"] for u in district["users"] if u["role"] == "student"))


def test_category_put_creates_then_replaces(client: OneRosterClient) -> None:
    created = client.categories.put(Category(sourced_id="cat-new", title="Labs"))
    assert isinstance(created, WriteResult)
    assert (created.created, created.status_code) == (True, 201)
    assert created.record is not None and created.record.title == "Labs"
    assert created.record.status == "active"  # the server fills status and dateLastModified
    assert created.record.date_last_modified is not None
    assert (created.applied, created.mismatches) == (True, ())

    replaced = client.categories.put(Category(sourced_id="cat-new", title="Lab work"))
    assert (replaced.created, replaced.status_code) == (False, 200)
    assert client.categories.get("cat-new").title == "Lab work"
    titles = [c.title for c in client.categories.list() if c.sourced_id == "cat-new"]
    assert titles == ["Lab work"]


def test_line_item_put_keeps_date_and_datetime_shapes(
    client: OneRosterClient, oneroster_district: District
) -> None:
    item = _line_item(oneroster_district)
    assert client.line_items.put(item).created is True
    assert client.line_items.put(attrs.evolve(item, title="Unit 3 quiz (v2)")).created is False
    read = client.line_items.get(item.sourced_id)
    assert read.title == "Unit 3 quiz (v2)"
    assert read.assign_date == date(2024, 10, 1) and not isinstance(read.assign_date, datetime)
    assert read.due_date == datetime(2024, 10, 8, 15, 30, tzinfo=UTC)
    assert read.class_.sourced_id == item.class_.sourced_id
    for_class = client.classes.line_items(item.class_.sourced_id).all()
    assert item.sourced_id in {li.sourced_id for li in for_class}


@pytest.mark.parametrize(
    ("fields", "expected_score", "expected_status"),
    [
        ({}, 15.0, ScoreStatus.FULLY_GRADED),
        ({"score": 0.0}, 0.0, ScoreStatus.FULLY_GRADED),  # zero is a score, not "missing"
        ({"score": 23.5}, 23.5, ScoreStatus.FULLY_GRADED),  # extra credit above the max
        ({"score_status": ScoreStatus.EXEMPT, "score": None}, None, ScoreStatus.EXEMPT),
        (
            {"score_status": ScoreStatus.NOT_SUBMITTED, "score": None},
            None,
            ScoreStatus.NOT_SUBMITTED,
        ),
        (
            {"score_status": ScoreStatus.PARTIALLY_GRADED, "score": 7.25},
            7.25,
            ScoreStatus.PARTIALLY_GRADED,
        ),
    ],
    ids=["graded", "zero", "above-max", "exempt", "not-submitted", "partial"],
)
def test_result_put_creates_then_replaces_and_keeps_the_score(
    client: OneRosterClient,
    oneroster_server: OneRosterServer,
    oneroster_district: District,
    fields: dict[str, object],
    expected_score: float | None,
    expected_status: ScoreStatus,
) -> None:
    item = _line_item(oneroster_district)
    client.line_items.put(item)
    result = _result(item.sourced_id, _student(oneroster_district), "res-new-1", **fields)

    first = client.results.put(result)
    second = client.results.put(attrs.evolve(result, comment="checked twice"))
    assert (first.created, second.created) == (True, False)
    assert first.record is not None
    assert (first.record.score, first.record.score_status) == (expected_score, expected_status)

    read = client.results.get("res-new-1")
    assert read.score == expected_score
    assert read.score_status == expected_status
    assert isinstance(read.score_status, ScoreStatus)
    assert read.comment == "checked twice"
    assert read.score_date == date(2024, 10, 9)
    stored = next(r for r in oneroster_district["results"] if r["sourcedId"] == "res-new-1")
    if expected_score is None:
        assert "score" not in stored
    else:
        assert stored["score"] == expected_score

    by_item = client.classes.results_for_line_item(item.class_.sourced_id, item.sourced_id).all()
    assert [r.sourced_id for r in by_item] == ["res-new-1"]
    assert [r.method for r in oneroster_server.requests[:3]] == ["PUT", "PUT", "PUT"]


@pytest.mark.parametrize("collection", ["categories", "line_items", "results"])
def test_delete_then_get_is_not_found(
    client: OneRosterClient, oneroster_district: District, collection: str
) -> None:
    wire = {"categories": "categories", "line_items": "lineItems", "results": "results"}
    sourced_id = oneroster_district[wire[collection]][-1]["sourcedId"]
    gradebook = getattr(client, collection)
    assert gradebook.get(sourced_id).sourced_id == sourced_id
    assert gradebook.delete(sourced_id) is None
    with pytest.raises(NotFoundError):
        gradebook.get(sourced_id)
    with pytest.raises(NotFoundError):
        gradebook.delete(sourced_id)  # deleting twice: the second finds nothing
    assert sourced_id not in {r.sourced_id for r in gradebook.list(page_size=1000)}


def test_delete_answered_with_200_is_fine(oneroster_district: District) -> None:
    with (
        OneRosterServer(oneroster_district, delete_status=200) as server,
        OneRosterClient(server.base_url, auth=server.oauth1()) as client,
    ):
        client.categories.put(Category(sourced_id="cat-200", title="Temp"))
        client.categories.delete("cat-200")
        assert [r.status for r in server.requests] == [201, 200]


def test_put_then_delete_round_trip_leaves_the_gradebook_as_it_was(
    client: OneRosterClient, oneroster_district: District
) -> None:
    before = client.results.list(page_size=1000).count()
    item = _line_item(oneroster_district, "li-round-trip")
    client.line_items.put(item)
    client.results.put(_result(item.sourced_id, _student(oneroster_district), "res-round-trip"))
    assert client.results.list().count() == before + 1
    client.results.delete("res-round-trip")
    client.line_items.delete("li-round-trip")
    assert client.results.list().count() == before


# --- what the server echoes -------------------------------------------------------------------


def _score() -> Result:
    return _result("li-1", "usr-1", "res-1", comment="well done", score=15.0)


def _put_against(reply: Reply, record: Result) -> tuple[WriteResult[Result], list[Received]]:
    with (
        ScriptedServer([reply]) as server,
        OneRosterClient(server.url("/ims/oneroster/v1p1"), auth=None) as client,
    ):
        outcome = client.results.put(record)
    return outcome, server.received


def test_a_saved_put_whose_echo_lacks_required_fields_is_not_a_failure() -> None:
    record = _score()
    outcome, received = _put_against(
        Reply(201, body={"result": {"sourcedId": "res-1", "score": 15}}), record
    )
    assert json.loads(received[0].body)["result"]["score"] == 15.0
    assert (outcome.created, outcome.applied, outcome.mismatches) == (True, True, ())
    assert outcome.record is None  # a partial echo is no record, and no error either
    assert outcome.echo == {"sourcedId": "res-1", "score": 15}


@pytest.mark.parametrize(
    "body",
    [b"", b"OK", b"<html>saved</html>", {"statusInfoSet": []}, [1, 2]],
    ids=["empty", "text", "html", "status-only", "list"],
)
def test_a_saved_put_with_an_unreadable_answer_is_not_a_failure(body: Any) -> None:
    outcome, _ = _put_against(Reply(200, body=body), _score())
    assert (outcome.created, outcome.status_code, outcome.record) == (False, 200, None)
    assert outcome.applied is True


def test_a_put_the_server_ignored_is_reported_with_the_fields_that_differ(
    caplog: pytest.LogCaptureFixture,
) -> None:
    record = _score()
    kept = record.to_dict() | {"score": 10.0, "comment": "old comment", "scoreStatus": "exempt"}
    caplog.set_level(logging.WARNING, logger="oneroster_client")
    outcome, _ = _put_against(Reply(200, body={"result": kept}), record)
    assert outcome.applied is False
    assert outcome.mismatches == ("scoreStatus", "score", "comment")
    assert outcome.record is not None and outcome.record.score == 10.0
    messages = [r.getMessage() for r in caplog.records]
    assert any("not applied" in m and "score" in m for m in messages)
    assert not any("old comment" in m or "well done" in m for m in messages)


def test_an_error_status_with_a_2xx_put_is_not_applied() -> None:
    failure = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_codeMinor": "invalid_data",
    }
    outcome, _ = _put_against(Reply(200, body={"statusInfoSet": [failure]}), _score())
    assert outcome.applied is False
    assert outcome.mismatches == ()


def test_an_echo_in_another_but_equal_form_is_applied() -> None:
    item = LineItem(
        sourced_id="li-9",
        title="Quiz",
        class_=GUIDRef(sourced_id="cls-1", type="class"),
        category=GUIDRef(sourced_id="cat-1", type="category"),
        grading_period=GUIDRef(sourced_id="gp-1", type="academicSession"),
        assign_date=date(2024, 10, 1),
        due_date=datetime(2024, 10, 8, 15, 30, tzinfo=UTC),
        result_value_min=0.0,
        result_value_max=20.0,
    )
    echo = item.to_dict() | {
        "class": {"href": "/classes/cls-1", "sourcedId": "cls-1", "type": "class"},
        "dueDate": "2024-10-08T17:30:00+02:00",  # the same instant
        "resultValueMax": 20,
        "resultValueMin": "0",
        "dateLastModified": "2030-01-01T00:00:00.000Z",  # the server's own
        "metadata": {"vendor.extra": "x"},
    }
    with (
        ScriptedServer([Reply(201, body={"lineItem": echo})]) as server,
        OneRosterClient(server.url("/ims/oneroster/v1p1"), auth=None) as client,
    ):
        outcome = client.line_items.put(item)
    assert (outcome.applied, outcome.mismatches) == (True, ())
    assert outcome.record is not None and outcome.record.title == "Quiz"


def test_write_result_is_still_built_from_its_first_fields() -> None:
    result: WriteResult[Category] = WriteResult(created=True, status_code=201, record=None)
    assert (result.applied, result.mismatches, result.echo) == (True, (), None)
    assert "echo" not in repr(WriteResult(created=False, status_code=200, record=None, echo={}))
