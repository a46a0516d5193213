"""Typed OneRoster 1.1 models: round trips, tolerant reading, strict mode, errors and repr.

Fixtures live in ``tests/fixtures/models``:

* ``<entity>.json`` is a canonical wire record (exact spellings, 3-digit milliseconds
  with ``Z``, JSON booleans, floats as floats, no nulls) with metadata and vendor fields;
  ``from_dict(d).to_dict()`` must give it back exactly;
* ``quirky/<entity>.json`` holds ``input`` (the shapes vendors really send),
  ``expected`` (the canonical dict the library must write) and ``warnings`` (the unknown
  enumeration values that must be reported, as field path and value).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

from oneroster_client import models
from oneroster_client.converter import SENSITIVE_FIELDS, ConversionWarning
from oneroster_client.errors import OneRosterError, RecordValidationError
from oneroster_client.models import (
    AcademicSession,
    Category,
    Class,
    ClassType,
    Course,
    Demographics,
    Enrollment,
    Gender,
    GUIDRef,
    GUIDType,
    Importance,
    LineItem,
    Org,
    OrgType,
    Resource,
    Result,
    RoleType,
    ScoreStatus,
    SessionType,
    StatusType,
    User,
    UserId,
    WireEnum,
    WireObject,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "models"

MODEL_FIXTURES: dict[str, type[WireObject]] = {
    "org": Org,
    "academic_session": AcademicSession,
    "course": Course,
    "class": Class,
    "user": User,
    "enrollment": Enrollment,
    "demographics": Demographics,
    "category": Category,
    "line_item": LineItem,
    "result": Result,
    "resource": Resource,
    "guid_ref": GUIDRef,
    "user_id": UserId,
}


def load(name: str) -> Any:
    with (FIXTURES / name).open(encoding="utf-8") as handle:
        return json.load(handle)


def canonical(name: str) -> dict[str, Any]:
    data = load(f"{name}.json")
    assert isinstance(data, dict)
    return data


def quirky(name: str) -> dict[str, Any]:
    data = load(f"quirky/{name}.json")
    assert isinstance(data, dict)
    assert set(data) == {"description", "input", "expected", "warnings"}
    return data


def minimal_user(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "sourcedId": "u-2",
        "status": "active",
        "dateLastModified": "2024-05-01T18:25:43.511Z",
        "username": "jdoe",
        "enabledUser": True,
        "givenName": "Jane",
        "familyName": "Doe",
        "role": "student",
        "orgs": [{"sourcedId": "sch-1", "type": "org"}],
    }
    record.update(overrides)
    return record


def error_of(model: type[WireObject], data: Any, *, strict: bool = False) -> RecordValidationError:
    with pytest.raises(RecordValidationError) as info:
        model.from_dict(data, strict=strict)
    return info.value


PASSWORD = "Tr0ub4dor&3-hunter2"


# --- fixtures themselves ---------------------------------------------------------------


def test_every_model_has_a_canonical_and_a_quirky_fixture() -> None:
    canonical_files = {p.stem for p in FIXTURES.glob("*.json")}
    quirky_files = {p.stem for p in (FIXTURES / "quirky").glob("*.json")}
    assert canonical_files == set(MODEL_FIXTURES)
    assert quirky_files == set(MODEL_FIXTURES)
    assert len(MODEL_FIXTURES) == 13


@pytest.mark.parametrize("name", sorted(MODEL_FIXTURES))
def test_canonical_fixture_has_no_nulls(name: str) -> None:
    def walk(value: Any) -> None:
        assert value is not None
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(canonical(name))


# --- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODEL_FIXTURES))
def test_canonical_fixture_round_trips_exactly(name: str) -> None:
    model = MODEL_FIXTURES[name]
    data = canonical(name)
    original = copy.deepcopy(data)
    warnings: list[Any] = []

    record = model.from_dict(data, warnings=warnings)

    assert type(record) is model
    assert record.to_dict() == original
    assert data == original, "from_dict must not modify its input"
    assert warnings == []


@pytest.mark.parametrize("name", sorted(MODEL_FIXTURES))
def test_round_trip_survives_json_serialisation(name: str) -> None:
    model = MODEL_FIXTURES[name]
    data = canonical(name)
    text = json.dumps(model.from_dict(data).to_dict(), sort_keys=True)
    assert json.loads(text) == data
    # and reading the written dict again gives an equal record
    assert model.from_dict(json.loads(text)) == model.from_dict(data)


@pytest.mark.parametrize("name", sorted(MODEL_FIXTURES))
def test_quirky_fixture_reads_to_canonical_output(name: str) -> None:
    model = MODEL_FIXTURES[name]
    case = quirky(name)
    warnings: list[Any] = []

    record = model.from_dict(case["input"], warnings=warnings)

    assert record.to_dict() == case["expected"]
    assert [(w.field, w.value) for w in warnings] == [
        (w["field"], w["value"]) for w in case["warnings"]
    ]
    assert all(isinstance(w, ConversionWarning) for w in warnings)
    # the canonical output is a fixed point
    assert model.from_dict(case["expected"]).to_dict() == case["expected"]


@pytest.mark.parametrize("name", sorted(MODEL_FIXTURES))
def test_quirky_fixture_without_warnings_list_still_reads(name: str) -> None:
    model = MODEL_FIXTURES[name]
    case = quirky(name)
    assert model.from_dict(case["input"]).to_dict() == case["expected"]


# --- typed values ----------------------------------------------------------------------


def test_user_fixture_typed_attributes() -> None:
    user = User.from_dict(canonical("user"))
    assert user.sourced_id == "usr-001"
    assert user.status is StatusType.ACTIVE
    assert user.date_last_modified == datetime(2024, 5, 1, 18, 25, 43, 511000, tzinfo=UTC)
    assert user.role is RoleType.STUDENT
    assert user.enabled_user is True
    assert user.given_name == "Jane"
    assert user.family_name == "Doe"
    assert user.middle_name == "Quinn"
    assert user.user_ids == (
        UserId(type="LDAP", identifier="jdoe-ldap"),
        UserId(type="SIS", identifier="100234"),
    )
    assert user.orgs == (
        GUIDRef(
            sourced_id="org-sch-north",
            type=GUIDType.ORG,
            href="https://sis.example.edu/ims/oneroster/v1p1/orgs/org-sch-north",
        ),
    )
    assert user.grades == ("07",)
    assert user.sms == ""
    assert user.password == ""
    assert user.metadata == {"ext.homeroom": "7B"}
    assert user.extra == {"ext_skyward_building": "North"}


def test_enrollment_class_field_is_class_underscore() -> None:
    enrollment = Enrollment.from_dict(canonical("enrollment"))
    assert enrollment.class_.sourced_id == "cls-alg1-p3"
    assert enrollment.primary is True
    assert enrollment.begin_date == date(2024, 8, 26)
    assert enrollment.end_date == date(2025, 6, 13)
    assert "class" in enrollment.to_dict()
    assert "class_" not in enrollment.to_dict()


def test_line_item_keeps_date_versus_datetime_shape() -> None:
    item = LineItem.from_dict(canonical("line_item"))
    assert type(item.assign_date) is datetime
    assert item.assign_date == datetime(2024, 9, 9, 13, 0, tzinfo=UTC)
    assert type(item.due_date) is date
    assert item.due_date == date(2024, 9, 16)
    assert item.result_value_min == 0.0
    assert item.result_value_max == 100.0
    assert isinstance(item.result_value_max, float)

    quirk = LineItem.from_dict(quirky("line_item")["input"])
    assert type(quirk.assign_date) is date
    assert type(quirk.due_date) is datetime
    assert isinstance(quirk.result_value_min, float)


def test_result_score_date_keeps_its_shape() -> None:
    as_date = Result.from_dict(canonical("result"))
    assert type(as_date.score_date) is date
    assert as_date.score_status is ScoreStatus.FULLY_GRADED
    as_datetime = Result.from_dict(quirky("result")["input"])
    assert as_datetime.score_date == datetime(2024, 9, 19, 14, 0, tzinfo=UTC)
    assert as_datetime.score == 21.5


def test_datetime_with_offset_is_converted_to_utc() -> None:
    category = Category.from_dict(quirky("category")["input"])
    assert category.date_last_modified == datetime(2024, 9, 2, 3, 30, tzinfo=UTC)
    assert category.date_last_modified is not None
    assert category.date_last_modified.utcoffset() == timedelta(0)


def test_aware_non_utc_datetime_is_written_in_utc() -> None:
    tz = timezone(timedelta(hours=5, minutes=30))
    record = Category(
        sourced_id="cat-1",
        title="Labs",
        date_last_modified=datetime(2024, 1, 1, 5, 30, 0, 123456, tzinfo=tz),
    )
    assert record.to_dict()["dateLastModified"] == "2024-01-01T00:00:00.123Z"


def test_models_built_in_python_write_canonical_dicts() -> None:
    enrollment = Enrollment(
        sourced_id="enr-9",
        status=StatusType.ACTIVE,
        date_last_modified=datetime(2024, 8, 21, 7, 45, tzinfo=UTC),
        user=GUIDRef(sourced_id="usr-1", type=GUIDType.USER),
        class_=GUIDRef(sourced_id="cls-1", type="class"),
        school=GUIDRef(sourced_id="org-1"),
        role=RoleType.TEACHER,
        primary=False,
        begin_date=date(2024, 8, 26),
    )
    assert enrollment.to_dict() == {
        "sourcedId": "enr-9",
        "status": "active",
        "dateLastModified": "2024-08-21T07:45:00.000Z",
        "user": {"sourcedId": "usr-1", "type": "user"},
        "class": {"sourcedId": "cls-1", "type": "class"},
        "school": {"sourcedId": "org-1"},
        "role": "teacher",
        "primary": False,
        "beginDate": "2024-08-26",
    }


# --- tolerant reading ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("false", False),
        ("TRUE", True),
        ("FALSE", False),
        ("True", True),
        (" false ", False),
        (1, True),
        (0, False),
        ("1", True),
        ("0", False),
    ],
)
def test_boolean_spellings(spelling: Any, expected: bool) -> None:
    user = User.from_dict(minimal_user(enabledUser=spelling))
    assert user.enabled_user is expected
    assert user.to_dict()["enabledUser"] is expected


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T18:25:43.511Z",
        "2024-05-01T18:25:43.511+00:00",
        "2024-05-01T18:25:43.511",
        "2024-05-01T20:25:43.511+02:00",
        "2024-05-01T13:25:43.511-05:00",
        " 2024-05-01T18:25:43.511Z ",
    ],
)
def test_datetime_spellings_read_to_the_same_instant(value: str) -> None:
    user = User.from_dict(minimal_user(dateLastModified=value))
    assert user.date_last_modified == datetime(2024, 5, 1, 18, 25, 43, 511000, tzinfo=UTC)
    assert user.to_dict()["dateLastModified"] == "2024-05-01T18:25:43.511Z"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("2024-05-01T18:25:43Z", "2024-05-01T18:25:43.000Z"),
        ("2024-05-01T18:25:43+00:00", "2024-05-01T18:25:43.000Z"),
        ("2024-05-01", "2024-05-01T00:00:00.000Z"),
        ("2024-05-01T18:25:43.5Z", "2024-05-01T18:25:43.500Z"),
        ("2024-05-01T18:25:43.511999Z", "2024-05-01T18:25:43.511Z"),
    ],
)
def test_datetime_shapes_are_written_canonically(value: str, written: str) -> None:
    assert User.from_dict(minimal_user(dateLastModified=value)).to_dict()["dateLastModified"] == (
        written
    )


def test_date_only_where_datetime_typed_is_midnight_utc() -> None:
    user = User.from_dict(minimal_user(dateLastModified="2024-05-01"))
    assert user.date_last_modified == datetime(2024, 5, 1, tzinfo=UTC)


def test_date_fields_accept_datetimes() -> None:
    session = AcademicSession.from_dict(quirky("academic_session")["input"])
    assert session.start_date == date(2024, 8, 26)
    assert type(session.start_date) is date
    assert session.school_year == "2025"


def test_sourced_ids_are_trimmed_everywhere() -> None:
    user = User.from_dict(
        minimal_user(
            sourcedId="\t u-7 \n",
            orgs=[" sch-1", {"sourcedId": "sch-2 "}],
            agents=[{"sourcedId": "  p-1  ", "type": "user"}],
        )
    )
    assert user.sourced_id == "u-7"
    assert [org.sourced_id for org in user.orgs] == ["sch-1", "sch-2"]
    assert user.agents is not None
    assert user.agents[0].sourced_id == "p-1"


def test_csv_style_string_becomes_a_tuple_of_strings() -> None:
    user = User.from_dict(minimal_user(grades="09,10"))
    assert user.grades == ("09", "10")
    assert User.from_dict(minimal_user(grades=" 09 , 10 ,")).grades == ("09", "10")
    assert User.from_dict(minimal_user(grades="11")).grades == ("11",)
    assert user.to_dict()["grades"] == ["09", "10"]


def test_bare_string_becomes_a_guidref() -> None:
    course = Course.from_dict({"sourcedId": "c-1", "title": "Art", "org": " org-1 "})
    assert course.org == GUIDRef(sourced_id="org-1")
    assert course.to_dict()["org"] == {"sourcedId": "org-1"}


def test_single_object_where_a_list_is_expected_is_wrapped() -> None:
    user = User.from_dict(minimal_user(orgs={"sourcedId": "sch-1", "type": "org"}))
    assert user.orgs == (GUIDRef(sourced_id="sch-1", type=GUIDType.ORG),)
    user = User.from_dict(minimal_user(userIds={"type": "LDAP", "identifier": "x"}))
    assert user.user_ids == (UserId(type="LDAP", identifier="x"),)


def test_numbers_where_strings_are_typed_become_strings() -> None:
    user = User.from_dict(minimal_user(identifier=12345, username=987))
    assert user.identifier == "12345"
    assert user.username == "987"


def test_enum_values_are_read_case_insensitively_and_written_in_spec_spelling() -> None:
    record = Class.from_dict(quirky("class")["input"])
    assert record.class_type is ClassType.SCHEDULED
    result = Result.from_dict(quirky("result")["input"])
    assert result.score_status is ScoreStatus.FULLY_GRADED
    assert result.to_dict()["scoreStatus"] == "fully graded"
    org = Org.from_dict(quirky("org")["input"])
    assert org.type is OrgType.SCHOOL
    assert org.status is StatusType.INACTIVE  # the 1.0 value is known, not a warning


# --- unknown values and warnings -------------------------------------------------------


def test_unknown_enum_value_is_kept_as_string_and_reported() -> None:
    warnings: list[Any] = []
    user = User.from_dict(minimal_user(role="districtAdministrator"), warnings=warnings)

    assert user.role == "districtAdministrator"
    assert type(user.role) is str
    assert user.to_dict()["role"] == "districtAdministrator"
    assert len(warnings) == 1
    (warning,) = warnings
    assert isinstance(warning, ConversionWarning)
    assert warning.model == "User"
    assert warning.field == "role"
    assert warning.value == "districtAdministrator"
    assert warning.message == (
        "User.role: 'districtAdministrator' is not a OneRoster 1.1 value; kept as a string"
    )
    assert str(warning) == warning.message


def test_unknown_values_in_a_list_of_enums_are_reported_with_their_index() -> None:
    warnings: list[Any] = []
    resource = Resource.from_dict(quirky("resource")["input"], warnings=warnings)

    assert resource.roles == (RoleType.STUDENT, "districtAdministrator", RoleType.TEACHER)
    assert resource.importance is Importance.SECONDARY
    assert [(w.model, w.field, w.value) for w in warnings] == [
        ("Resource", "roles[1]", "districtAdministrator")
    ]
    assert warnings[0].message == (
        "Resource.roles[1]: 'districtAdministrator' is not a OneRoster 1.1 value; kept as a string"
    )


def test_several_unknown_values_are_all_reported() -> None:
    warnings: list[Any] = []
    Resource.from_dict(
        {
            "sourcedId": "r-1",
            "status": "archived",
            "vendorResourceId": "v",
            "roles": ["observer", "student", "districtAdministrator"],
            "importance": "tertiary",
        },
        warnings=warnings,
    )
    assert sorted((w.field, w.value) for w in warnings) == [
        ("importance", "tertiary"),
        ("roles[0]", "observer"),
        ("roles[2]", "districtAdministrator"),
        ("status", "archived"),
    ]


def test_unknown_guidref_type_in_nested_list_is_reported_with_full_path() -> None:
    warnings: list[Any] = []
    User.from_dict(
        minimal_user(
            orgs=[{"sourcedId": "d-1", "type": "org"}, {"sourcedId": "s", "type": "school"}]
        ),
        warnings=warnings,
    )
    assert [(w.field, w.value) for w in warnings] == [("orgs[1].type", "school")]


def test_nested_warning_names_the_record_model_like_error_messages_do() -> None:
    # Error paths read "User.orgs[0].sourcedId"; the warning for the same place must read
    # "User.orgs[1].type", not "GUIDRef.orgs[1].type" (GUIDRef has no field "orgs").
    warnings: list[Any] = []
    User.from_dict(
        minimal_user(
            orgs=[{"sourcedId": "d-1", "type": "org"}, {"sourcedId": "s", "type": "school"}]
        ),
        warnings=warnings,
    )
    (warning,) = warnings
    assert warning.model == "User"
    assert warning.message == (
        "User.orgs[1].type: 'school' is not a OneRoster 1.1 value; kept as a string"
    )


def test_no_warnings_for_known_values_in_any_case() -> None:
    warnings: list[Any] = []
    Class.from_dict(
        {
            "sourcedId": "c",
            "title": "t",
            "classType": "HOMEROOM",
            "course": {"sourcedId": "crs", "type": "Course"},
            "school": "sch",
            "terms": [{"sourcedId": "t1", "type": "TERM"}],
        },
        warnings=warnings,
    )
    assert warnings == []


def test_warnings_list_is_appended_to_not_replaced() -> None:
    sentinel = object()
    warnings: list[Any] = [sentinel]
    User.from_dict(minimal_user(role="districtAdministrator"), warnings=warnings)
    assert warnings[0] is sentinel
    assert len(warnings) == 2


# --- extras and metadata ---------------------------------------------------------------


def test_unknown_fields_are_kept_in_extra_and_written_back() -> None:
    data = minimal_user(
        ext_skyward_building="North",
        ext_vendor={"nested": [1, 2, {"x": None}]},
        favouriteColour=None,
    )
    user = User.from_dict(data)
    assert user.extra == {
        "ext_skyward_building": "North",
        "ext_vendor": {"nested": [1, 2, {"x": None}]},
        "favouriteColour": None,
    }
    assert user.to_dict() == data


def test_extras_are_kept_on_nested_objects() -> None:
    data = minimal_user(
        orgs=[{"sourcedId": "sch-1", "type": "org", "name": "North High"}],
        userIds=[{"type": "LDAP", "identifier": "x", "ext_primary": True}],
    )
    user = User.from_dict(data)
    assert user.orgs[0].extra == {"name": "North High"}
    assert user.user_ids is not None
    assert user.user_ids[0].extra == {"ext_primary": True}
    assert user.to_dict() == data


def test_python_attribute_names_on_the_wire_are_treated_as_unknown_fields() -> None:
    data = minimal_user(given_name="Shadow", sourced_id="other", extra="x")
    user = User.from_dict(data)
    assert user.given_name == "Jane"
    assert user.sourced_id == "u-2"
    assert user.extra == {"given_name": "Shadow", "sourced_id": "other", "extra": "x"}
    assert user.to_dict() == data


def test_metadata_is_kept_as_is() -> None:
    meta = {"ext.homeroom": "7B", "nested": {"a": [1, 2.5, None, True]}}
    user = User.from_dict(minimal_user(metadata=meta))
    assert user.metadata == meta
    assert user.to_dict()["metadata"] == meta


def test_records_without_extras_have_extra_none() -> None:
    user = User.from_dict(minimal_user())
    assert user.extra is None
    assert user.orgs[0].extra is None


# --- strict mode -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODEL_FIXTURES))
def test_strict_mode_accepts_canonical_records_without_vendor_fields(name: str) -> None:
    model = MODEL_FIXTURES[name]
    data = {k: v for k, v in canonical(name).items() if not k.startswith("ext_")}
    assert model.from_dict(data, strict=True).to_dict() == data


def test_strict_mode_refuses_unknown_field() -> None:
    error = error_of(User, minimal_user(ext_skyward_building="North"), strict=True)
    assert (
        str(error) == "User: unknown field(s) 'ext_skyward_building' (strict mode) (record 'u-2')"
    )
    assert error.field is None
    assert error.model == "User"
    assert error.sourced_id == "u-2"


def test_strict_mode_refuses_unknown_field_in_nested_object() -> None:
    data = minimal_user(orgs=[{"sourcedId": "sch-1", "name": "North"}])
    error = error_of(User, data, strict=True)
    assert str(error) == "User.orgs[0]: unknown field(s) 'name' (strict mode) (record 'u-2')"
    assert error.field == "orgs[0]"


def test_strict_mode_lists_all_unknown_fields_sorted() -> None:
    error = error_of(Category, {"sourcedId": "c", "title": "t", "zeta": 1, "alpha": 2}, strict=True)
    assert str(error) == "Category: unknown field(s) 'alpha', 'zeta' (strict mode) (record 'c')"


def test_strict_mode_refuses_unknown_enum_value() -> None:
    error = error_of(User, minimal_user(role="districtAdministrator"), strict=True)
    assert str(error) == (
        "User.role: expected one of 'administrator', 'aide', 'guardian', 'parent', 'proctor',"
        " 'relative', 'student', 'teacher', got 'districtAdministrator' (record 'u-2')"
    )


def test_strict_mode_refuses_unknown_value_in_list_of_enums() -> None:
    data = {"sourcedId": "r-1", "vendorResourceId": "v", "roles": ["student", "observer"]}
    error = error_of(Resource, data, strict=True)
    assert error.field == "roles[1]"
    assert "got 'observer'" in error.reason


def test_strict_mode_still_folds_case_of_known_values() -> None:
    data = {
        "sourcedId": "cls-1",
        "title": "Biology",
        "classType": "Scheduled",
        "course": {"sourcedId": "crs-1", "type": "Course"},
        "school": {"sourcedId": "org-1", "type": "org"},
        "terms": [{"sourcedId": "t-1", "type": "term"}],
    }
    record = Class.from_dict(data, strict=True)
    assert record.class_type is ClassType.SCHEDULED
    assert record.course.type is GUIDType.COURSE
    assert record.to_dict()["classType"] == "scheduled"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"grades": "09,10"}, "grades"),
        ({"orgs": ["sch-1"]}, "orgs[0]"),
        ({"orgs": {"sourcedId": "sch-1"}}, "orgs"),
        ({"identifier": 12345}, "identifier"),
    ],
)
def test_strict_mode_refuses_vendor_shapes(overrides: dict[str, Any], field: str) -> None:
    data = minimal_user(**overrides)
    User.from_dict(data)  # tolerated when not strict
    error = error_of(User, data, strict=True)
    assert error.field == field


# --- error messages --------------------------------------------------------------------


def test_error_message_for_bad_boolean() -> None:
    error = error_of(User, minimal_user(enabledUser="maybe"))
    assert str(error) == "User.enabledUser: expected a boolean, got 'maybe' (record 'u-2')"
    assert isinstance(error, OneRosterError)
    assert isinstance(error, ValueError)
    assert error.model == "User"
    assert error.field == "enabledUser"
    assert error.sourced_id == "u-2"
    assert error.reason == "expected a boolean, got 'maybe'"


def test_error_message_names_nested_path() -> None:
    error = error_of(User, minimal_user(orgs=[{"sourcedId": 5.5}]))
    assert (
        str(error) == "User.orgs[0].sourcedId: expected a sourcedId string, got 5.5 (record 'u-2')"
    )
    assert error.field == "orgs[0].sourcedId"


def test_error_message_for_blank_nested_sourced_id() -> None:
    error = error_of(User, minimal_user(orgs=[{"sourcedId": "ok"}, {"sourcedId": "  "}]))
    assert str(error) == (
        "User.orgs[1].sourcedId: expected a non-empty sourcedId, got '  ' (record 'u-2')"
    )


def test_error_message_for_missing_required_field() -> None:
    data = minimal_user()
    del data["role"]
    error = error_of(User, data)
    assert str(error) == "User.role: required field is missing (record 'u-2')"
    assert error.reason == "required field is missing"


def test_error_message_for_missing_nested_required_field() -> None:
    error = error_of(User, minimal_user(orgs=[{"type": "org"}]))
    assert str(error) == "User.orgs[0].sourcedId: required field is missing (record 'u-2')"


def test_error_message_for_missing_sourced_id_has_no_record_suffix() -> None:
    error = error_of(Category, {"title": "Homework"})
    assert str(error) == "Category.sourcedId: required field is missing"
    assert error.sourced_id is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("abc", "User: expected an object, got 'abc'"),
        ([], "User: expected an object, got []"),
        (None, "User: expected an object, got None"),
        (42, "User: expected an object, got 42"),
    ],
)
def test_error_message_for_record_that_is_not_an_object(data: Any, message: str) -> None:
    error = error_of(User, data)
    assert str(error) == message
    assert error.field is None
    assert error.sourced_id is None


def test_error_message_for_wrong_list_type() -> None:
    error = error_of(User, minimal_user(orgs="sch-1"))
    assert str(error) == "User.orgs: expected a list, got 'sch-1' (record 'u-2')"
    error = error_of(Course, {"sourcedId": "c", "title": "t", "org": "o", "grades": 5})
    assert str(error) == "Course.grades: expected a list, got 5 (record 'c')"


def test_error_message_for_bad_nested_list_item() -> None:
    error = error_of(User, minimal_user(grades=["09", 10.5, ["x"]]))
    assert str(error) == "User.grades[2]: expected a string, got ['x'] (record 'u-2')"


def test_error_message_for_bad_datetime_and_number() -> None:
    line_item = canonical("line_item") | {"assignDate": "soon"}
    error = error_of(LineItem, line_item)
    assert str(error) == (
        "LineItem.assignDate: expected a date-time such as 2024-05-01T18:25:43.511Z,"
        " got 'soon' (record 'li-alg1-hw3')"
    )
    error = error_of(Result, canonical("result") | {"score": "abc"})
    assert (
        str(error)
        == "Result.score: expected a number, got 'abc' (record 'res-li-alg1-hw3-usr-001')"
    )


@pytest.mark.parametrize(
    "value",
    ["NaN", "nan", "inf", "-Infinity", "1e400", float("nan"), float("inf")],
    ids=["str-NaN", "str-nan", "str-inf", "str--Infinity", "str-1e400", "float-nan", "float-inf"],
)
def test_non_finite_numbers_are_refused(value: Any) -> None:
    # OneRoster Float values are JSON numbers; NaN and Infinity cannot be written back as
    # JSON (json.dumps would emit the non-standard tokens NaN / Infinity).
    data = canonical("result") | {"score": value}
    error = error_of(Result, data)
    assert error.field == "score"
    assert str(error).startswith("Result.score: expected a")


def test_long_values_are_shortened_in_messages() -> None:
    error = error_of(User, minimal_user(enabledUser="x" * 500))
    assert len(error.reason) < 150
    assert error.reason.endswith("...")


def test_personal_value_is_hidden_in_messages() -> None:
    secret_name = ["Bartholomew", "Xenakis-Oduya"]
    error = error_of(User, minimal_user(givenName=secret_name))
    assert str(error) == (
        "User.givenName: expected a string, got a list (value hidden: personal data) (record 'u-2')"
    )
    for part in secret_name:
        assert part not in str(error)
        assert part not in repr(error)


def test_personal_string_value_is_described_not_shown() -> None:
    error = error_of(Demographics, {"sourcedId": "d-1", "birthDate": "31/12/2010"})
    assert str(error) == (
        "Demographics.birthDate: expected a date such as 2024-05-01, got a str of 10 characters"
        " (value hidden: personal data) (record 'd-1')"
    )


def test_personal_value_in_nested_user_id_is_hidden() -> None:
    error = error_of(User, minimal_user(userIds=[{"type": "LDAP", "identifier": ["jdoe-ldap"]}]))
    assert error.field == "userIds[0].identifier"
    assert "jdoe-ldap" not in str(error)
    assert "value hidden" in str(error)


@pytest.mark.parametrize(
    "password_value",
    [[PASSWORD], {"value": PASSWORD}, {"hash": PASSWORD, "salt": PASSWORD[::-1]}],
)
def test_password_of_wrong_type_is_never_shown(password_value: Any) -> None:
    error = error_of(User, minimal_user(password=password_value))
    assert error.field == "password"
    assert PASSWORD not in str(error)
    assert PASSWORD not in repr(error)
    assert PASSWORD not in error.reason


@pytest.mark.parametrize(
    "overrides",
    [
        {"enabledUser": "maybe"},
        {"orgs": "sch-1"},
        {"orgs": [{"sourcedId": 5.5}]},
        {"role": None},
        {"dateLastModified": "yesterday"},
        {"userIds": [{"type": "LDAP"}]},
        {"givenName": [PASSWORD]},
        {"metadata": [PASSWORD]},
    ],
)
def test_password_is_never_in_any_error_message(overrides: dict[str, Any]) -> None:
    data = minimal_user(password=PASSWORD, **overrides)
    for strict in (False, True):
        with pytest.raises(RecordValidationError) as info:
            User.from_dict(data, strict=strict)
        assert PASSWORD not in str(info.value)
        assert PASSWORD not in repr(info.value)
    strict_error = error_of(User, minimal_user(password=PASSWORD, ext_x=1), strict=True)
    assert PASSWORD not in str(strict_error)


def test_sensitive_fields_cover_personal_user_fields() -> None:
    for wire_name in (
        "username",
        "givenName",
        "familyName",
        "middleName",
        "identifier",
        "email",
        "sms",
        "phone",
        "password",
        "birthDate",
        "userIds",
    ):
        assert wire_name in SENSITIVE_FIELDS


def test_naive_datetime_is_refused_when_writing() -> None:
    record = Category(sourced_id="cat-1", title="Labs", date_last_modified=datetime(2024, 1, 1))
    with pytest.raises(RecordValidationError) as info:
        record.to_dict()
    message = str(info.value)
    assert message.startswith("Category: ")
    assert "timezone-aware" in message
    assert "naive" in message
    assert "(record 'cat-1')" in message


def test_naive_datetime_in_date_or_datetime_field_is_refused_when_writing() -> None:
    item = LineItem.from_dict(canonical("line_item"))
    naive = attrs.evolve(item, assign_date=datetime(2024, 9, 9, 13, 0))
    with pytest.raises(RecordValidationError, match="timezone-aware"):
        naive.to_dict()


# --- repr ------------------------------------------------------------------------------


def full_user() -> User:
    return User.from_dict(
        minimal_user(
            sourcedId="usr-42",
            username="jdoe-login",
            givenName="Janinka",
            familyName="Dobrovolska",
            middleName="Quenby",
            email="janinka.d@example.edu",
            sms="+1 555 0199",
            phone="+1 555 0100",
            identifier="S-998877",
            password=PASSWORD,
            userIds=[{"type": "LDAP", "identifier": "ldap-secret-id"}],
            metadata={"ext.homeroom": "Room-Secret-7B"},
            ext_skyward_ssn="123-45-6789",
        )
    )


def test_user_repr_hides_personal_fields() -> None:
    text = repr(full_user())
    for value in (
        PASSWORD,
        "jdoe-login",
        "Janinka",
        "Dobrovolska",
        "Quenby",
        "janinka.d@example.edu",
        "+1 555 0199",
        "+1 555 0100",
        "S-998877",
        "ldap-secret-id",
        "Room-Secret-7B",
        "123-45-6789",
    ):
        assert value not in text
    for attribute in ("password=", "given_name=", "family_name=", "email=", "username="):
        assert attribute not in text


def test_user_repr_is_readable() -> None:
    text = repr(full_user())
    assert text.startswith("User(")
    assert "sourced_id='usr-42'" in text
    assert "role=RoleType.STUDENT" in text
    assert "enabled_user=True" in text
    assert "GUIDRef('sch-1', type='org')" in text
    assert "extra={'ext_skyward_ssn': ...}" in text
    assert "metadata={'ext.homeroom': ...}" in text


def test_repr_leaves_out_unset_fields() -> None:
    text = repr(Category.from_dict({"sourcedId": "cat-1", "title": "Labs"}))
    assert text == "Category(sourced_id='cat-1', title='Labs')"


def test_repr_of_unknown_role_is_plain_string() -> None:
    text = repr(User.from_dict(minimal_user(role="districtAdministrator")))
    assert "role='districtAdministrator'" in text


def test_demographics_repr_hides_everything_but_identifiers() -> None:
    demographics = Demographics.from_dict(canonical("demographics"))
    text = repr(demographics)
    assert "sourced_id='usr-001'" in text
    for value in ("2011", "female", "Spokane", "WA", "01652", "white", "birth"):
        assert value not in text


def test_user_id_repr_hides_identifier() -> None:
    text = repr(UserId(type="LDAP", identifier="cn=jdoe"))
    assert text == "UserId(type='LDAP')"


def test_guidref_repr() -> None:
    assert repr(GUIDRef(sourced_id="sch-1", type=GUIDType.ORG)) == "GUIDRef('sch-1', type='org')"
    assert repr(GUIDRef(sourced_id="sch-1")) == "GUIDRef('sch-1')"


def test_password_not_in_repr_of_containers() -> None:
    user = full_user()
    assert PASSWORD not in repr([user])
    assert PASSWORD not in repr({"u": user})
    assert PASSWORD not in str(user)


# --- enums -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "wire"),
    [
        (RoleType.STUDENT, "student"),
        (ScoreStatus.FULLY_GRADED, "fully graded"),
        (ScoreStatus.NOT_SUBMITTED, "not submitted"),
        (ScoreStatus.PARTIALLY_GRADED, "partially graded"),
        (SessionType.GRADING_PERIOD, "gradingPeriod"),
        (StatusType.TOBEDELETED, "tobedeleted"),
        (GUIDType.ACADEMIC_SESSION, "academicSession"),
        (ClassType.SCHEDULED, "scheduled"),
    ],
)
def test_enums_compare_equal_to_wire_strings(member: WireEnum, wire: str) -> None:
    assert member == wire
    assert wire == member
    assert str(member) == wire
    assert f"{member}" == wire
    assert isinstance(member, str)
    assert hash(member) == hash(wire)
    table: dict[str, int] = {member: 1}
    assert table[wire] == 1  # usable as a dict key by wire spelling


def test_enum_vocabularies_match_the_spec() -> None:
    assert {m.value for m in OrgType} == {
        "department",
        "school",
        "district",
        "local",
        "state",
        "national",
    }
    assert {m.value for m in RoleType} == {
        "administrator",
        "aide",
        "guardian",
        "parent",
        "proctor",
        "relative",
        "student",
        "teacher",
    }
    assert {m.value for m in SessionType} == {"gradingPeriod", "semester", "schoolYear", "term"}
    assert {m.value for m in ClassType} == {"homeroom", "scheduled"}
    assert {m.value for m in Importance} == {"primary", "secondary"}
    assert {m.value for m in Gender} == {"male", "female"}
    assert {m.value for m in ScoreStatus} == {
        "exempt",
        "fully graded",
        "not submitted",
        "partially graded",
        "submitted",
    }
    assert {"active", "tobedeleted"} <= {m.value for m in StatusType}


@pytest.mark.parametrize(
    ("enum_cls", "spelling", "member"),
    [
        (RoleType, "STUDENT", RoleType.STUDENT),
        (RoleType, "Student", RoleType.STUDENT),
        (RoleType, " teacher ", RoleType.TEACHER),
        (ScoreStatus, "FULLY GRADED", ScoreStatus.FULLY_GRADED),
        (ScoreStatus, "Not Submitted", ScoreStatus.NOT_SUBMITTED),
        (SessionType, "gradingperiod", SessionType.GRADING_PERIOD),
        (SessionType, "SCHOOLYEAR", SessionType.SCHOOL_YEAR),
        (ClassType, "Scheduled", ClassType.SCHEDULED),
        (GUIDType, "AcademicSession", GUIDType.ACADEMIC_SESSION),
        (StatusType, "ToBeDeleted", StatusType.TOBEDELETED),
    ],
)
def test_enum_lookup_is_case_insensitive(enum_cls: Any, spelling: str, member: Any) -> None:
    assert enum_cls.lookup(spelling) is member
    assert enum_cls.lookup(member.value) is member


def test_enum_lookup_of_unknown_value_is_none() -> None:
    assert RoleType.lookup("districtAdministrator") is None
    assert ScoreStatus.lookup("fully_graded") is None


def test_enum_repr() -> None:
    assert repr(RoleType.STUDENT) == "RoleType.STUDENT"


# --- model shape -----------------------------------------------------------------------


def test_models_are_frozen() -> None:
    user = User.from_dict(minimal_user())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        user.given_name = "Eve"  # type: ignore[misc]
    ref = user.orgs[0]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ref.sourced_id = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        user.nickname = "x"  # type: ignore[attr-defined]


def test_models_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        GUIDRef("sch-1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Category("cat-1", "Labs")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        UserId("LDAP", "x")  # type: ignore[call-arg]


def test_models_compare_and_hash_by_value() -> None:
    assert User.from_dict(minimal_user()) == User.from_dict(minimal_user(sourcedId=" u-2 "))
    assert hash(GUIDRef(sourced_id="a")) == hash(GUIDRef(sourced_id="a"))


def test_entity_models_lists_the_eleven_entities() -> None:
    expected = (
        Org,
        AcademicSession,
        Course,
        Class,
        User,
        Enrollment,
        Demographics,
        Category,
        LineItem,
        Result,
        Resource,
    )
    assert expected == models.ENTITY_MODELS
    assert len(set(models.ENTITY_MODELS)) == 11
    for model in models.ENTITY_MODELS:
        assert issubclass(model, models.Record)
        assert "sourced_id" in attrs.fields_dict(model)
    entity_names = {model.__name__ for model in models.ENTITY_MODELS}
    assert "GUIDRef" not in entity_names
    assert "UserId" not in entity_names


def test_every_entity_has_the_base_fields() -> None:
    for model in models.ENTITY_MODELS:
        names = set(attrs.fields_dict(model))
        assert {"sourced_id", "status", "date_last_modified", "metadata", "extra"} <= names
