"""Buzz entities: exact DLAP names, tolerant reading, sentinels kept, private reprs."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneroster_client.buzz import (
    NEVER,
    NO_END,
    NO_START,
    STUDENT_RIGHTS,
    TEACHER_RIGHTS,
    BuzzCourse,
    BuzzEnrollment,
    BuzzUser,
    CopyAction,
    CourseCopy,
    Domain,
    EnrollmentGradebook,
    EnrollmentStatus,
    EntityGradebook,
    GradebookItem,
    Rights,
    RightsGrant,
    Role,
    Score,
)
from oneroster_client.buzz._wire import format_date
from oneroster_client.errors import OneRosterError, RecordValidationError

# An enrollment row as Buzz recorded it (numbers as strings, status as a number).
RECORDED_ENROLLMENT = {
    "id": "60997",
    "userid": "57181",
    "entityid": "60982",
    "domainid": "57025",
    "reference": "",
    "guid": "3f75f962-108e-43de-ba63-98c6cfde517f",
    "flags": "2228225",
    "roleid": "116",
    "status": 1,
    "startdate": "2019-03-17T06:00:00Z",
    "enddate": "2020-03-16T05:59:00Z",
    "data": {"status": {"performance": {"signal": "Green"}}},
}


def test_recorded_enrollment_reads_typed_and_writes_back_identically() -> None:
    enrollment = BuzzEnrollment.from_dict(RECORDED_ENROLLMENT)
    assert enrollment.id == "60997"
    assert enrollment.course_id == "60982"
    assert enrollment.flags == Rights.PARTICIPATE | Rights.READ_COURSE | Rights.READ_SECTION
    assert enrollment.status is EnrollmentStatus.ACTIVE
    assert enrollment.start_date == datetime(2019, 3, 17, 6, tzinfo=UTC)
    wire = enrollment.to_dict()
    assert wire["startdate"] == "2019-03-17T06:00:00Z"
    assert wire["flags"] == 2228225
    assert wire["data"] == RECORDED_ENROLLMENT["data"]
    assert BuzzEnrollment.from_dict(wire) == enrollment


@pytest.mark.parametrize("sentinel", [NO_START, NO_END, NEVER, "1753-01-01T00:00:00.000Z"])
def test_sentinel_dates_read_as_none_and_are_written_back_exactly(sentinel: str) -> None:
    enrollment = BuzzEnrollment.from_dict({"id": 1, "startdate": sentinel, "enddate": sentinel})
    assert enrollment.start_date is None
    assert enrollment.end_date is None
    assert enrollment.to_dict()["startdate"] == sentinel
    assert enrollment.to_dict()["enddate"] == sentinel


def test_changed_date_is_written_in_buzz_format_not_the_old_sentinel() -> None:
    enrollment = BuzzEnrollment.from_dict({"id": "1", "enddate": NO_END})
    moved = attrs.evolve(enrollment, end_date=datetime(2027, 6, 30, 23, 59, tzinfo=UTC))
    assert moved.to_dict()["enddate"] == "2027-06-30T23:59:00Z"


def test_open_date_can_be_sent_explicitly_through_raw_dates() -> None:
    enrollment = BuzzEnrollment(user_id="1", raw_dates={"enddate": NO_END})
    assert enrollment.to_dict()["enddate"] == NO_END


def test_ids_and_numbers_accept_numbers_and_numeric_strings() -> None:
    course = BuzzCourse.from_dict({"courseid": 60982, "schema": "3", "days": 365.0, "baseid": "0"})
    assert course.id == "60982"
    assert course.schema == 3
    assert course.days == 365
    assert course.base_id == "0"


def test_listing_alias_courseid_is_read_and_written_as_entityid() -> None:
    enrollment = BuzzEnrollment.from_dict({"id": "5", "courseid": "9"})
    assert enrollment.course_id == "9"
    assert enrollment.to_dict() == {"id": "5", "entityid": "9"}


def test_alias_next_to_the_primary_name_with_the_same_value_is_the_same_field() -> None:
    # Listings send an enrollment's course as both entityid and courseid.
    enrollment = BuzzEnrollment.from_dict({"id": "5", "entityid": "9", "courseid": "9"})
    assert enrollment.course_id == "9"
    assert enrollment.extra is None
    assert enrollment.to_dict() == {"id": "5", "entityid": "9"}


def test_alias_next_to_the_primary_name_with_another_value_is_kept_in_extra() -> None:
    enrollment = BuzzEnrollment.from_dict({"id": "5", "entityid": "9", "courseid": "8"})
    assert enrollment.course_id == "9"
    assert enrollment.extra == {"courseid": "8"}
    assert enrollment.to_dict()["courseid"] == "8"


def test_dates_in_buzz_format_keep_no_raw_text_and_others_round_trip() -> None:
    data = {
        "id": "5",
        "startdate": "2026-08-20T00:00:00Z",
        "enddate": "9999-12-31T00:00:00Z",
        "creationdate": "2026-08-01T10:11:12.345Z",
        "modifieddate": "2026-08-01T10:11:12+02:00",
    }
    enrollment = BuzzEnrollment.from_dict(data)
    assert enrollment.raw_dates == {
        "enddate": "9999-12-31T00:00:00Z",
        "modifieddate": "2026-08-01T10:11:12+02:00",
    }
    assert enrollment.to_dict() == data
    again = BuzzEnrollment.from_dict(dict(data))
    assert again.start_date is enrollment.start_date  # equal texts share one value


def test_unknown_fields_are_kept_and_written_back() -> None:
    data = {"id": "1", "name": "North", "userspace": "north", "parentid": "0", "x-vendor": [1, 2]}
    domain = Domain.from_dict(data)
    assert domain.extra == {"x-vendor": [1, 2]}
    assert domain.to_dict() == data


def test_unknown_status_and_rights_bits_are_kept() -> None:
    enrollment = BuzzEnrollment.from_dict({"status": "3", "flags": str((1 << 50) | 1)})
    assert enrollment.status == 3
    assert enrollment.status is not None and not enrollment.status.known
    assert enrollment.flags is not None and Rights.PARTICIPATE in enrollment.flags
    assert enrollment.to_dict() == {"status": 3, "flags": (1 << 50) | 1}


def test_rights_constants_match_agilix_examples() -> None:
    assert int(STUDENT_RIGHTS) == 131073
    assert int(TEACHER_RIGHTS) == 0x8F060000
    assert int(Rights.READ_ENROLLMENT) == 2199023255552


@pytest.mark.parametrize(
    ("cls", "data", "field"),
    [
        (BuzzUser, {"id": "1", "domainid": True}, "domainid"),
        (BuzzEnrollment, {"id": "1", "status": "active"}, "status"),
        (BuzzEnrollment, {"id": "1", "flags": "-1"}, "flags"),
        (BuzzCourse, {"id": "1", "startdate": "next tuesday"}, "startdate"),
        (Score, {"achieved": "NaN"}, "achieved"),
        (Role, {"id": "1", "name": {"x": 1}}, "name"),
    ],
)
def test_wrong_values_raise_a_record_error_naming_entity_and_field(
    cls: type[Any], data: dict[str, Any], field: str
) -> None:
    with pytest.raises(RecordValidationError) as caught:
        cls.from_dict(data)
    assert caught.value.model == cls.__name__
    assert caught.value.field == field
    assert isinstance(caught.value, OneRosterError)


def test_a_row_that_is_not_an_object_is_refused_clearly() -> None:
    with pytest.raises(RecordValidationError, match="expected an object"):
        BuzzUser.from_dict(["not", "a", "user"])  # type: ignore[arg-type]


def test_user_repr_and_record_errors_hide_personal_data() -> None:
    user = BuzzUser.from_dict(
        {
            "id": "57181",
            "username": "ada.lovelace",
            "email": "ada@example.org",
            "firstname": "Ada",
            "lastname": "Lovelace",
            "password": "s3cret-Passw0rd",
            "reference": "stu-1",
            "lastlogindate": "2019-03-15T23:48:23.467Z",
        }
    )
    shown = repr(user)
    for private in ("ada.lovelace", "ada@example.org", "Ada", "Lovelace", "s3cret-Passw0rd"):
        assert private not in shown
    assert "57181" in shown and "stu-1" in shown
    with pytest.raises(RecordValidationError) as caught:
        BuzzUser.from_dict({"id": "9", "firstname": "Grace", "flags": "Hopper"})
    assert "Hopper" not in str(caught.value) and "Grace" not in str(caught.value)


def test_milliseconds_survive_a_round_trip() -> None:
    user = BuzzUser.from_dict({"id": "1", "lastlogindate": "2019-03-15T23:48:23.467Z"})
    assert user.last_login_date == datetime(2019, 3, 15, 23, 48, 23, 467000, tzinfo=UTC)
    assert user.to_dict()["lastlogindate"] == "2019-03-15T23:48:23.467Z"
    fresh = BuzzUser(id="1", last_login_date=user.last_login_date)
    assert fresh.to_dict()["lastlogindate"] == "2019-03-15T23:48:23.467Z"


def test_role_rights_grant_copy_and_item_use_exact_wire_names() -> None:
    role = Role.from_dict(
        {"id": "116", "name": "Student", "privileges": "2228225", "entitytype": "C"}
    )
    assert role.to_dict()["entitytype"] == "C"
    grant = RightsGrant(actor_id="10", entity_id="20", flags=Rights.READ_USER)
    assert grant.to_dict() == {"actorid": "10", "entityid": "20", "flags": 512}
    copy = CourseCopy(source_id="60982", domain_id="57031", action=CopyAction.DERIVATIVE_CHILD)
    assert copy.to_dict() == {
        "courseid": "60982",
        "domainid": "57031",
        "action": "DerivativeChildCopy",
    }
    item = GradebookItem.from_dict({"itemid": "q1", "title": "Quiz", "possible": "10"})
    assert item.to_dict() == {"id": "q1", "title": "Quiz", "possible": 10}


def test_recorded_enrollment_gradebook_reads_rollup_categories_user_and_course() -> None:
    answer = dict(RECORDED_ENROLLMENT)
    answer["user"] = {"id": "57181", "firstname": "Buzz", "username": "BuzzUserUp1"}
    answer["entity"] = {
        "id": "60982",
        "title": "Find Your Voice",
        "type": "Continuous",
        "days": 365,
    }
    answer["grades"] = {
        "achieved": 7,
        "possible": 10,
        "passingscore": 0.7,
        "categories": {"category": [{"id": 1, "name": "Category 1", "achieved": 0}]},
        "items": {"item": {"itemid": "q1", "achieved": "3.5", "possible": 5, "letter": "B"}},
    }
    book = EnrollmentGradebook.from_dict(answer)
    assert book.enrollment.id == "60997"
    assert book.total is not None and book.total.percent == pytest.approx(0.7)
    assert book.scores == (
        Score(item_id="q1", enrollment_id="60997", achieved=3.5, possible=5.0, letter="B"),
    )
    assert book.categories[0]["name"] == "Category 1"
    assert book.course is not None and book.course.type == "Continuous"
    assert book.user is not None and "BuzzUserUp1" not in repr(book)


def test_entity_gradebook_tolerates_collapsed_and_empty_lists() -> None:
    empty = EntityGradebook.from_response("5", {"code": "OK", "enrollments": {}})
    assert empty.enrollments == () and empty.items == ()
    single = EntityGradebook.from_response(
        "5",
        {
            "enrollments": {"enrollment": {"id": "7", "grades": {"achieved": 1, "possible": 0}}},
            "items": {"item": {"id": "q1", "title": "Quiz"}},
        },
    )
    assert [book.enrollment.id for book in single.enrollments] == ["7"]
    assert single.enrollments[0].total is not None
    assert single.enrollments[0].total.percent is None
    assert single.items[0].id == "q1"
    assert single.scores() == []


_text = st.text(st.characters(codec="utf-8"), max_size=12)
_ids = st.one_of(
    st.integers(min_value=0, max_value=10**12), st.from_regex(r"[0-9]{1,9}", fullmatch=True)
)
_dates = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@given(
    entity_id=_ids,
    reference=_text,
    status=st.integers(min_value=0, max_value=200),
    flags=st.integers(min_value=0, max_value=2**63),
    start=st.one_of(_dates, st.sampled_from([NO_START, NEVER])),
    extra=st.dictionaries(st.from_regex(r"x[a-z]{1,6}", fullmatch=True), _text, max_size=3),
)
def test_enrollment_round_trip_property(
    entity_id: int | str,
    reference: str,
    status: int,
    flags: int,
    start: datetime | str,
    extra: dict[str, str],
) -> None:
    wire: dict[str, Any] = {
        "id": entity_id,
        "reference": reference,
        "status": status,
        "flags": str(flags),
        "startdate": start if isinstance(start, str) else start.isoformat(),
        **extra,
    }
    enrollment = BuzzEnrollment.from_dict(wire)
    assert enrollment.id == str(entity_id)
    assert int(enrollment.status or 0) == status
    assert int(enrollment.flags or 0) == flags
    again = BuzzEnrollment.from_dict(enrollment.to_dict())
    assert again == enrollment
    if isinstance(start, str):
        assert enrollment.start_date is None
        assert enrollment.to_dict()["startdate"] == start
    for key, value in extra.items():
        assert enrollment.to_dict()[key] == value


@given(
    st.datetimes(min_value=datetime(1754, 1, 1), max_value=datetime(9998, 12, 31)),
    st.sampled_from(["Z", "+00:00", "", "+02:00", "-05:30"]),
    st.sampled_from([0, 3, 6]),
)
def test_a_date_text_is_dropped_only_when_writing_it_back_gives_it_again(
    moment: datetime, suffix: str, digits: int
) -> None:
    fraction = ("." + f"{moment.microsecond:06d}"[:digits]) if digits else ""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + suffix
    enrollment = BuzzEnrollment.from_dict({"id": "1", "startdate": text})
    assert enrollment.to_dict()["startdate"] == text
    written_again = enrollment.start_date is not None and format_date(enrollment.start_date)
    assert (enrollment.raw_dates is None) == (written_again == text)


def test_entities_that_keep_date_texts_copy_and_pickle() -> None:
    user = BuzzUser.from_dict({"id": "1", "lastlogindate": "0001-01-01T00:00:00Z"})
    other = BuzzUser.from_dict({"id": "2", "lastlogindate": "0001-01-01T00:00:00Z"})
    assert user.raw_dates is other.raw_dates  # shared: one per distinct set of texts
    with pytest.raises(TypeError):
        user.raw_dates["lastlogindate"] = "x"  # type: ignore[index]
    for copied in (copy.deepcopy(user), pickle.loads(pickle.dumps(user))):
        assert copied == user
        assert (
            copied.to_dict()
            == user.to_dict()
            == {
                "id": "1",
                "lastlogindate": "0001-01-01T00:00:00Z",
            }
        )


def test_an_alias_equal_in_value_but_not_in_type_is_kept() -> None:
    enrollment = BuzzEnrollment.from_dict({"id": "5", "entityid": 1, "courseid": True})
    assert enrollment.extra == {"courseid": True}
