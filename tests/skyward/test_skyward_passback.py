"""Grade pass back to a Skyward-like server through connect(): what Skyward refuses, and why.

The Skyward-like loopback server applies the pass back limits districts report for
Skyward (whole-number points possible, assignment titles under 50 characters, a points
score on every result, DateTimes for line item dates) on top of the strict OneRoster 1.1
checks; a refused write is a 422 whose statusInfo names the field, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from oneroster_client import OneRosterClient
from oneroster_client.errors import UnprocessableEntityError
from oneroster_client.models import GUIDRef, LineItem, Result, ScoreStatus
from oneroster_client.testing import OneRosterServer
from oneroster_client.testing.server import GradebookRules
from skyward_adapter import connect, default_retry_policy
from skyward_adapter.testing import (
    SKYWARD_GRADEBOOK_RULES,
    SKYWARD_TITLE_LIMIT,
    loopback_settings,
    skyward_like_server,
)

NO_SLEEP = default_retry_policy(sleep=lambda seconds: None)


@pytest.fixture(scope="module")
def server() -> Iterator[OneRosterServer]:
    with skyward_like_server() as running:
        yield running


@pytest.fixture(scope="module")
def client(server: OneRosterServer) -> Iterator[OneRosterClient]:
    with connect(loopback_settings(server, passback=True), retry=NO_SLEEP) as connected:
        yield connected


def _class_and_student(server: OneRosterServer) -> tuple[str, str]:
    enrollment = next(e for e in server.district["enrollments"] if e["role"] == "student")
    return enrollment["class"]["sourcedId"], enrollment["user"]["sourcedId"]


def _item(server: OneRosterServer, sourced_id: str, **changes: Any) -> LineItem:
    class_id, _student = _class_and_student(server)
    item = LineItem(
        sourced_id=sourced_id,
        title="Essay draft",
        class_=GUIDRef(sourced_id=class_id, type="class"),
        assign_date=datetime(2025, 10, 1, 13, 0, tzinfo=UTC),
        due_date=datetime(2025, 10, 8, 13, 0, tzinfo=UTC),
        result_value_min=0.0,
        result_value_max=25.0,
    )
    return attrs.evolve(item, **changes)


def _refused(server: OneRosterServer, write: Any, record: Any) -> list[str]:
    """Descriptions of a refused write; checks that nothing was stored."""
    counts = server.district.counts()
    with pytest.raises(UnprocessableEntityError) as caught:
        write(record)
    assert server.district.counts() == counts
    assert caught.value.status_code == 422
    return [info.description or "" for info in caught.value.status_infos]


def test_the_skyward_like_server_applies_the_skyward_rules(server: OneRosterServer) -> None:
    rules = server.gradebook_rules
    assert rules is SKYWARD_GRADEBOOK_RULES
    assert rules.max_title_length == SKYWARD_TITLE_LIMIT == 49  # "under 50 characters"
    assert rules.whole_number_points and rules.score_required and rules.datetime_dates


def test_a_title_under_the_limit_passes_and_one_at_fifty_is_refused(
    server: OneRosterServer, client: OneRosterClient
) -> None:
    longest = "T" * SKYWARD_TITLE_LIMIT
    assert client.line_items.put(_item(server, "ISD123-li-title-ok", title=longest)).created
    too_long = _item(server, "ISD123-li-title-long", title="T" * (SKYWARD_TITLE_LIMIT + 1))
    (said,) = _refused(server, client.line_items.put, too_long)
    assert said == "title: must be at most 49 characters; got 50"


def test_points_possible_must_be_whole(server: OneRosterServer, client: OneRosterClient) -> None:
    assert client.line_items.put(_item(server, "ISD123-li-whole", result_value_max=10.0)).created
    half = _item(server, "ISD123-li-half", result_value_max=9.5)
    (said,) = _refused(server, client.line_items.put, half)
    assert said == "resultValueMax: points possible must be a whole number; got 9.5"


def test_line_item_dates_must_be_datetimes(
    server: OneRosterServer, client: OneRosterClient
) -> None:
    dated = _item(server, "ISD123-li-dates", assign_date=date(2025, 10, 1))
    (said,) = _refused(server, client.line_items.put, dated)
    assert said.startswith("assignDate: must be a DateTime with a time zone")
    assert "'2025-10-01'" in said


def test_a_result_needs_points(server: OneRosterServer, client: OneRosterClient) -> None:
    _class_id, student_id = _class_and_student(server)
    item = _item(server, "ISD123-li-points")
    client.line_items.put(item)
    base = Result(
        sourced_id="ISD123-res-points",
        line_item=GUIDRef(sourced_id=item.sourced_id, type="lineItem"),
        student=GUIDRef(sourced_id=student_id, type="user"),
        score_status=ScoreStatus.NOT_SUBMITTED,
        score=None,
        score_date=date(2025, 10, 9),
    )
    (said,) = _refused(server, client.results.put, base)
    assert said == "score: is required: only points-based scores pass"
    assert client.results.put(attrs.evolve(base, score=0.0)).created


def test_several_problems_are_each_named(server: OneRosterServer, client: OneRosterClient) -> None:
    bad = _item(server, "ISD123-li-bad", title="x" * 80, result_value_max=7.25)
    said = _refused(server, client.line_items.put, bad)
    assert [text.split(":")[0] for text in said] == ["title", "resultValueMax"]


def test_the_title_limit_is_a_setting() -> None:
    rules = attrs.evolve(SKYWARD_GRADEBOOK_RULES, max_title_length=60)
    with (
        skyward_like_server(gradebook_rules=rules) as server,
        connect(loopback_settings(server, passback=True), retry=NO_SLEEP) as client,
    ):
        assert client.line_items.put(_item(server, "ISD123-li-60", title="T" * 60)).created
        (said,) = _refused(server, client.line_items.put, _item(server, "x", title="T" * 61))
        assert said == "title: must be at most 60 characters; got 61"


def test_without_the_rules_the_server_is_plain_oneroster() -> None:
    with (
        skyward_like_server(gradebook_rules=GradebookRules()) as server,
        connect(loopback_settings(server, passback=True), retry=NO_SLEEP) as client,
    ):
        item = _item(server, "ISD123-li-plain", title="T" * 80, result_value_max=9.5)
        assert client.line_items.put(item).created


@hypothesis_settings(max_examples=40, deadline=None)
@given(points=st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False))
def test_any_points_possible_passes_exactly_when_whole(
    server: OneRosterServer, client: OneRosterClient, points: float
) -> None:
    item = _item(server, "ISD123-li-prop", result_value_max=points)
    if points.is_integer():
        assert client.line_items.put(item).status_code in (200, 201)
    else:
        (said,) = _refused(server, client.line_items.put, item)
        assert said.startswith("resultValueMax: points possible must be a whole number")
