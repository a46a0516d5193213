"""Unit: comparing a gradebook PUT with the record the server echoed back.

Differences a server legitimately makes (added hrefs, its own dateLastModified, number
and date spellings, list order, fields left out) are not mismatches; a value the server
kept instead of the one sent is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneroster_client._echo import mismatched_fields
from oneroster_client.models import GUIDRef, Result
from oneroster_client.models.enums import ScoreStatus

SENT: dict[str, Any] = Result(
    sourced_id="res-1",
    line_item=GUIDRef(sourced_id="li-1", type="lineItem"),
    student=GUIDRef(sourced_id="usr-1", type="user"),
    score_status=ScoreStatus.FULLY_GRADED,
    score=15.0,
    score_date=datetime(2024, 10, 9, 8, 0, tzinfo=UTC),
    comment="ok",
).to_dict()


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"score": 15},
        {"score": "15.0"},
        {"scoreDate": "2024-10-09T10:00:00+02:00"},
        {"scoreDate": "2024-10-09T08:00:00Z"},
        {"dateLastModified": "2031-01-01T00:00:00.000Z"},
        {"lineItem": {"href": "/lineItems/li-1", "sourcedId": "li-1", "type": "lineItem"}},
        {"metadata": {"extra": True}},
    ],
)
def test_equal_in_another_form(changes: dict[str, Any]) -> None:
    assert mismatched_fields(SENT, SENT | changes) == ()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"score": 10.0}, ("score",)),
        ({"score": None}, ("score",)),
        ({"comment": "OK"}, ("comment",)),
        ({"scoreStatus": "exempt", "score": "n/a"}, ("scoreStatus", "score")),
        ({"scoreDate": "2024-10-09"}, ("scoreDate",)),  # the time was lost
        ({"sourcedId": "res-2"}, ("sourcedId",)),
        ({"student": {"sourcedId": "usr-2", "type": "user"}}, ("student",)),
        ({"student": "usr-1"}, ("student",)),
    ],
)
def test_values_the_server_did_not_store(
    changes: dict[str, Any], expected: tuple[str, ...]
) -> None:
    assert mismatched_fields(SENT, SENT | changes) == expected


def test_fields_left_out_of_the_echo_are_not_compared() -> None:
    assert mismatched_fields(SENT, {"sourcedId": "res-1"}) == ()
    assert mismatched_fields(SENT, {}) == ()


def test_lists_compare_in_any_order_but_not_in_any_length() -> None:
    sent = {"terms": [{"sourcedId": "t1"}, {"sourcedId": "t2"}], "grades": ["09", "10"]}
    assert mismatched_fields(sent, {"terms": sent["terms"][::-1], "grades": ["10", "09"]}) == ()
    assert mismatched_fields(sent, {"terms": sent["terms"][:1]}) == ("terms",)
    assert mismatched_fields(sent, {"grades": ["09", "11"]}) == ("grades",)


def test_booleans_and_their_strings() -> None:
    assert mismatched_fields({"x": True}, {"x": "true"}) == ()
    assert mismatched_fields({"x": True}, {"x": 1}) == ("x",)
    assert mismatched_fields({"x": "007"}, {"x": "7"}) == ("x",)


def test_a_deep_or_huge_echo_is_no_error() -> None:
    deep: Any = "leaf"
    for _ in range(5000):
        deep = {"a": deep}
    assert mismatched_fields({"a": {"a": "x"}}, {"a": deep}) == ("a",)
    assert mismatched_fields({"n": 1.0}, {"n": 10**400}) == ("n",)


JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=6), JSON, max_size=5))
def test_a_record_matches_itself(record: dict[str, Any]) -> None:
    assert mismatched_fields(record, record) == ()


@given(st.dictionaries(st.text(max_size=6), JSON, max_size=5), st.dictionaries(st.text(), JSON))
def test_anything_gives_sent_field_names(sent: dict[str, Any], echoed: dict[str, Any]) -> None:
    found = mismatched_fields(sent, echoed)
    assert set(found) <= set(sent) & set(echoed)


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(-12, 12),
)
def test_a_date_time_in_any_offset_is_the_same_instant(moment: datetime, hours: int) -> None:
    shifted = moment.astimezone(timezone(timedelta(hours=hours)))
    sent = {"at": moment.isoformat()}
    assert mismatched_fields(sent, {"at": shifted.isoformat()}) == ()
