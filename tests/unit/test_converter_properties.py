"""Property-based tests of the converter between OneRoster wire dicts and the models.

Strategies generate canonical wire records (the exact spellings the library writes:
trimmed sourcedIds, ``YYYY-MM-DDTHH:MM:SS.sssZ`` date-times, ``YYYY-MM-DD`` dates, JSON
booleans, finite floats, no nulls) for every model, so ``from_dict(d).to_dict() == d``
must hold for all of them, with or without vendor fields. Further properties check the
tolerant reader (alternative date-time shapes, boolean spellings, enum case, untrimmed
ids) and that arbitrary JSON never raises anything but ``RecordValidationError``.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneroster_client.converter import structure_fields
from oneroster_client.errors import RecordValidationError
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

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Properties parametrised over many models: 20 records per model, 260 per property.
PER_MODEL = settings(SETTINGS, max_examples=20)
FEW = settings(SETTINGS, max_examples=15)

Strategy = st.SearchStrategy[Any]


# --- leaf strategies -------------------------------------------------------------------


def camel(name: str) -> str:
    """The wire spelling of a snake_case attribute (written here, independent of the library)."""
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.capitalize() for part in rest)


def format_datetime(value: datetime) -> str:
    """Canonical OneRoster DateTime, formatted by hand (strftime does not pad years < 1000)."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
        f".{value.microsecond // 1000:03d}Z"
    )


def format_date(value: date) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _to_millis(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000, tzinfo=UTC)


# Instants in UTC with millisecond precision; the narrow range leaves room for offsets.
utc_datetimes = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30)).map(
    _to_millis
)
wide_utc_datetimes = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
).map(_to_millis)
datetime_strings = wide_utc_datetimes.map(format_datetime)
date_strings = st.dates().map(format_date)
date_or_datetime_strings = st.one_of(date_strings, datetime_strings)

texts = st.text(max_size=12)
sourced_ids = st.text(min_size=1, max_size=16).filter(lambda s: s == s.strip() and s != "")
floats = st.floats(allow_nan=False, allow_infinity=False)
string_lists = st.lists(texts, max_size=3)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    floats,
    st.text(max_size=10),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=6), children, max_size=3),
    ),
    max_leaves=8,
)
metadata_values = st.dictionaries(st.text(max_size=10), json_values, max_size=3)


def vocabulary(enum_cls: type[WireEnum], *, unknown: bool) -> Strategy:
    """Spec spellings, plus (when ``unknown``) strings no member matches in any case."""
    known = st.sampled_from([member.value for member in enum_cls])
    if not unknown:
        return known
    others = st.text(max_size=14).filter(lambda s: enum_cls.lookup(s) is None)
    return st.one_of(known, others)


# --- record strategies -----------------------------------------------------------------


@attrs.frozen
class Spec:
    required: dict[str, Strategy]
    optional: dict[str, Strategy]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.required) | frozenset(self.optional)

    def strategy(self) -> Strategy:
        return st.fixed_dictionaries(self.required, optional=self.optional)


def build_specs(*, unknown: bool) -> dict[type[WireObject], Spec]:
    """Wire-record specs for all 13 models; ``unknown`` allows unlisted vocabulary values."""

    def vocab(enum_cls: type[WireEnum]) -> Strategy:
        return vocabulary(enum_cls, unknown=unknown)

    guid_ref = Spec({"sourcedId": sourced_ids}, {"type": vocab(GUIDType), "href": texts})
    ref = guid_ref.strategy()
    refs = st.lists(ref, max_size=3)
    user_id = Spec({"type": texts, "identifier": texts}, {})
    base = {
        "status": vocab(StatusType),
        "dateLastModified": datetime_strings,
        "metadata": metadata_values,
    }

    def entity(required: dict[str, Strategy], optional: dict[str, Strategy]) -> Spec:
        return Spec({"sourcedId": sourced_ids, **required}, {**base, **optional})

    return {
        GUIDRef: guid_ref,
        UserId: user_id,
        Org: entity(
            {"name": texts, "type": vocab(OrgType)},
            {"identifier": texts, "parent": ref, "children": refs},
        ),
        AcademicSession: entity(
            {
                "title": texts,
                "type": vocab(SessionType),
                "startDate": date_strings,
                "endDate": date_strings,
                "schoolYear": texts,
            },
            {"parent": ref, "children": refs},
        ),
        Course: entity(
            {"title": texts, "org": ref},
            {
                "schoolYear": ref,
                "courseCode": texts,
                "grades": string_lists,
                "subjects": string_lists,
                "subjectCodes": string_lists,
                "resources": refs,
            },
        ),
        Class: entity(
            {
                "title": texts,
                "classType": vocab(ClassType),
                "course": ref,
                "school": ref,
                "terms": refs,
            },
            {
                "classCode": texts,
                "location": texts,
                "grades": string_lists,
                "subjects": string_lists,
                "subjectCodes": string_lists,
                "periods": string_lists,
                "resources": refs,
            },
        ),
        User: entity(
            {
                "role": vocab(RoleType),
                "enabledUser": st.booleans(),
                "orgs": refs,
                "username": texts,
                "givenName": texts,
                "familyName": texts,
            },
            {
                "middleName": texts,
                "userIds": st.lists(user_id.strategy(), max_size=2),
                "identifier": texts,
                "email": texts,
                "sms": texts,
                "phone": texts,
                "agents": refs,
                "grades": string_lists,
                "password": texts,
            },
        ),
        Enrollment: entity(
            {"user": ref, "class": ref, "school": ref, "role": vocab(RoleType)},
            {"primary": st.booleans(), "beginDate": date_strings, "endDate": date_strings},
        ),
        Demographics: entity(
            {},
            {
                "birthDate": date_strings,
                "sex": vocab(Gender),
                "americanIndianOrAlaskaNative": st.booleans(),
                "asian": st.booleans(),
                "blackOrAfricanAmerican": st.booleans(),
                "nativeHawaiianOrOtherPacificIslander": st.booleans(),
                "white": st.booleans(),
                "demographicRaceTwoOrMoreRaces": st.booleans(),
                "hispanicOrLatinoEthnicity": st.booleans(),
                "countryOfBirthCode": texts,
                "stateOfBirthAbbreviation": texts,
                "cityOfBirth": texts,
                "publicSchoolResidenceStatus": texts,
            },
        ),
        Category: entity({"title": texts}, {}),
        LineItem: entity(
            {
                "title": texts,
                "class": ref,
                "assignDate": date_or_datetime_strings,
                "dueDate": date_or_datetime_strings,
                "resultValueMin": floats,
                "resultValueMax": floats,
            },
            {"description": texts, "category": ref, "gradingPeriod": ref},
        ),
        Result: entity(
            {"lineItem": ref, "student": ref, "scoreStatus": vocab(ScoreStatus)},
            {"score": floats, "scoreDate": date_or_datetime_strings, "comment": texts},
        ),
        Resource: entity(
            {"vendorResourceId": texts},
            {
                "title": texts,
                "roles": st.lists(vocab(RoleType), max_size=4),
                "importance": vocab(Importance),
                "vendorId": texts,
                "applicationId": texts,
            },
        ),
    }


SPECS = build_specs(unknown=True)
KNOWN_ONLY_SPECS = build_specs(unknown=False)
MODELS = sorted(SPECS, key=lambda model: model.__name__)
IDS = [model.__name__ for model in MODELS]


def test_specs_cover_every_model_field() -> None:
    assert len(SPECS) == 13
    for model, spec in SPECS.items():
        wire_names = {camel(f.name) for f in attrs.fields(model) if f.name != "extra"}
        assert spec.fields == wire_names, model.__name__
        required = {
            camel(f.name)
            for f in attrs.fields(model)
            if f.default is attrs.NOTHING and f.name != "extra"
        }
        assert set(spec.required) == required, model.__name__


# --- canonical round trips -------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@PER_MODEL
@given(data=st.data())
def test_canonical_record_round_trips(model: type[WireObject], data: st.DataObject) -> None:
    record = data.draw(SPECS[model].strategy(), label="record")
    assert model.from_dict(record).to_dict() == record
    # the written dict is plain JSON
    assert json.loads(json.dumps(model.from_dict(record).to_dict())) == record


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@FEW
@given(data=st.data())
def test_canonical_record_round_trips_in_strict_mode(
    model: type[WireObject], data: st.DataObject
) -> None:
    record = data.draw(KNOWN_ONLY_SPECS[model].strategy(), label="record")
    warnings: list[Any] = []
    assert model.from_dict(record, strict=True, warnings=warnings).to_dict() == record
    assert warnings == []


extra_keys = st.text(alphabet=string.ascii_letters + string.digits + "_.-", min_size=1, max_size=16)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@PER_MODEL
@given(data=st.data())
def test_vendor_fields_are_kept_and_written_back(
    model: type[WireObject], data: st.DataObject
) -> None:
    spec = SPECS[model]
    record = data.draw(spec.strategy(), label="record")
    extras = data.draw(
        st.dictionaries(extra_keys.filter(lambda k: k not in spec.fields), json_values, max_size=3),
        label="extras",
    )
    wire = {**record, **extras}

    obj = model.from_dict(wire)

    assert obj.to_dict() == wire
    assert obj.extra == (extras or None)
    if extras:
        with pytest.raises(RecordValidationError, match="strict mode"):
            model.from_dict(wire, strict=True)


@SETTINGS
@given(record=SPECS[Resource].strategy())
def test_every_unknown_vocabulary_value_is_reported(record: dict[str, Any]) -> None:
    warnings: list[Any] = []
    Resource.from_dict(record, warnings=warnings)
    expected = []
    if "status" in record and StatusType.lookup(record["status"]) is None:
        expected.append(("status", record["status"]))
    for index, role in enumerate(record.get("roles", [])):
        if RoleType.lookup(role) is None:
            expected.append((f"roles[{index}]", role))
    if "importance" in record and Importance.lookup(record["importance"]) is None:
        expected.append(("importance", record["importance"]))
    assert sorted((w.field, w.value) for w in warnings) == sorted(expected)


# --- tolerant reading ------------------------------------------------------------------


def _iso_offset(value: datetime, minutes: int) -> str:
    return value.astimezone(timezone(timedelta(minutes=minutes))).isoformat(timespec="milliseconds")


ALTERNATIVE_SHAPES: dict[str, Callable[[datetime, int], str]] = {
    "plus-zero": lambda dt, _: format_datetime(dt)[:-1] + "+00:00",
    "no-z": lambda dt, _: format_datetime(dt)[:-1],
    "space": lambda dt, _: format_datetime(dt).replace("T", " "),
    "microseconds": lambda dt, _: format_datetime(dt)[:-1] + "000Z",
    "offset": _iso_offset,
}
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60)


@SETTINGS
@given(
    instant=utc_datetimes,
    shape=st.sampled_from(sorted(ALTERNATIVE_SHAPES)),
    minutes=offsets,
)
def test_datetime_shapes_read_to_the_same_instant(
    instant: datetime, shape: str, minutes: int
) -> None:
    text = ALTERNATIVE_SHAPES[shape](instant, minutes)
    record = Category.from_dict({"sourcedId": "c", "title": "t", "dateLastModified": text})
    assert record.date_last_modified == instant
    assert record.to_dict()["dateLastModified"] == format_datetime(instant)


@SETTINGS
@given(instant=utc_datetimes.map(lambda dt: dt.replace(microsecond=0)), zulu=st.booleans())
def test_datetime_without_milliseconds_reads_to_the_same_instant(
    instant: datetime, zulu: bool
) -> None:
    text = format_datetime(instant)[:19] + ("Z" if zulu else "+00:00")
    record = Category.from_dict({"sourcedId": "c", "title": "t", "dateLastModified": text})
    assert record.date_last_modified == instant
    assert record.to_dict()["dateLastModified"] == format_datetime(instant)


@SETTINGS
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_date_only_datetime_reads_as_midnight_utc(day: date) -> None:
    midnight = datetime.combine(day, time(0), tzinfo=UTC)
    record = Category.from_dict(
        {"sourcedId": "c", "title": "t", "dateLastModified": format_date(day)}
    )
    assert record.date_last_modified == midnight
    assert record.to_dict()["dateLastModified"] == format_datetime(midnight)


@SETTINGS
@given(
    instant=utc_datetimes,
    shape=st.sampled_from(sorted(ALTERNATIVE_SHAPES)),
    minutes=offsets,
    day=st.dates(),
)
def test_date_or_datetime_fields_keep_their_shape(
    instant: datetime, shape: str, minutes: int, day: date
) -> None:
    wire = {
        "sourcedId": "li",
        "title": "t",
        "class": {"sourcedId": "c"},
        "assignDate": ALTERNATIVE_SHAPES[shape](instant, minutes),
        "dueDate": format_date(day),
        "resultValueMin": 0.0,
        "resultValueMax": 10.0,
    }
    item = LineItem.from_dict(wire)
    assert type(item.assign_date) is datetime
    assert item.assign_date == instant
    assert type(item.due_date) is date
    assert item.due_date == day
    written = item.to_dict()
    assert written["assignDate"] == format_datetime(instant)
    assert written["dueDate"] == format_date(day)


@SETTINGS
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_date_fields_accept_a_midnight_datetime(day: date) -> None:
    midnight = format_datetime(datetime.combine(day, time(0), tzinfo=UTC))
    record = Enrollment.from_dict(
        {
            "sourcedId": "e",
            "user": "u",
            "class": "c",
            "school": "s",
            "role": "student",
            "beginDate": midnight,
        }
    )
    assert record.begin_date == day
    assert record.to_dict()["beginDate"] == format_date(day)


def _mixed_case(word: str) -> Strategy:
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda flags: "".join(
            c.upper() if f else c.lower() for c, f in zip(word, flags, strict=True)
        )
    )


padding = st.sampled_from(["", " ", "\t", "  "])
boolean_spellings = st.one_of(
    st.booleans().map(lambda b: (b, b)),
    st.sampled_from([(1, True), (0, False), ("1", True), ("0", False)]),
    st.tuples(st.sampled_from(["true", "false"]), padding, padding).flatmap(
        lambda parts: _mixed_case(parts[0]).map(
            lambda word: (parts[1] + word + parts[2], parts[0] == "true")
        )
    ),
)
BOOLEAN_FIELDS = [
    (User, "enabledUser"),
    (Enrollment, "primary"),
    (Demographics, "americanIndianOrAlaskaNative"),
    (Demographics, "hispanicOrLatinoEthnicity"),
]


@pytest.mark.parametrize(
    ("model", "field"), BOOLEAN_FIELDS, ids=lambda x: getattr(x, "__name__", x)
)
@PER_MODEL
@given(data=st.data())
def test_boolean_spellings(model: type[WireObject], field: str, data: st.DataObject) -> None:
    record = data.draw(KNOWN_ONLY_SPECS[model].strategy(), label="record")
    spelling, expected = data.draw(boolean_spellings, label="spelling")
    obj = model.from_dict({**record, field: spelling})
    written = obj.to_dict()[field]
    assert written is expected


ENUM_FIELDS = [
    (User, "role", RoleType),
    (Org, "type", OrgType),
    (AcademicSession, "type", SessionType),
    (Class, "classType", ClassType),
    (Result, "scoreStatus", ScoreStatus),
    (Demographics, "sex", Gender),
    (Category, "status", StatusType),
]


@pytest.mark.parametrize(
    ("model", "field", "enum_cls"),
    ENUM_FIELDS,
    ids=[f"{m.__name__}.{f}" for m, f, _ in ENUM_FIELDS],
)
@FEW
@given(data=st.data())
def test_enum_values_in_any_case_are_written_in_spec_spelling(
    model: type[WireObject], field: str, enum_cls: type[WireEnum], data: st.DataObject
) -> None:
    record = data.draw(KNOWN_ONLY_SPECS[model].strategy(), label="record")
    member = data.draw(st.sampled_from(list(enum_cls)), label="member")
    spelling = data.draw(_mixed_case(member.value), label="spelling")
    warnings: list[Any] = []
    obj = model.from_dict({**record, field: spelling}, strict=True, warnings=warnings)
    assert obj.to_dict()[field] == member.value
    assert warnings == []


whitespace = st.text(alphabet=" \t\n\r", max_size=3)


@SETTINGS
@given(
    record=KNOWN_ONLY_SPECS[Enrollment].strategy(),
    sid=sourced_ids,
    before=whitespace,
    after=whitespace,
)
def test_sourced_ids_are_trimmed(record: dict[str, Any], sid: str, before: str, after: str) -> None:
    padded = before + sid + after
    obj = Enrollment.from_dict(
        {**record, "sourcedId": padded, "user": {"sourcedId": padded}, "school": padded}
    )
    assert obj.sourced_id == sid
    assert obj.user.sourced_id == sid
    assert obj.school.sourced_id == sid


@SETTINGS
@given(
    record=KNOWN_ONLY_SPECS[Course].strategy(),
    grades=st.lists(
        st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=3),
        min_size=1,
        max_size=5,
    ),
    separator=st.sampled_from([",", ", ", " ,"]),
)
def test_csv_style_lists_are_split(
    record: dict[str, Any], grades: list[str], separator: str
) -> None:
    obj = Course.from_dict({**record, "grades": separator.join(grades)})
    assert obj.grades == tuple(grades)
    assert obj.to_dict()["grades"] == grades


# --- arbitrary input -------------------------------------------------------------------


def _check_arbitrary(model: type[WireObject], value: Any, *, strict: bool = False) -> None:
    try:
        obj = model.from_dict(value, strict=strict, warnings=[])
    except RecordValidationError as error:
        assert error.model == model.__name__
        assert str(error).startswith(model.__name__)
        return
    written = obj.to_dict()
    assert isinstance(written, dict)
    # what was written reads back to the same output
    assert model.from_dict(written).to_dict() == written


ARBITRARY_MODELS = MODELS  # all 13: the eleven entities, GUIDRef and UserId
ARBITRARY_IDS = IDS


@pytest.mark.parametrize("model", ARBITRARY_MODELS, ids=ARBITRARY_IDS)
@PER_MODEL
@given(value=json_values, strict=st.booleans())
def test_arbitrary_json_only_raises_record_validation_error(
    model: type[WireObject], value: Any, strict: bool
) -> None:
    _check_arbitrary(model, value, strict=strict)


@pytest.mark.parametrize("model", ARBITRARY_MODELS, ids=ARBITRARY_IDS)
@PER_MODEL
@given(data=st.data(), strict=st.booleans())
def test_arbitrary_objects_with_model_keys_only_raise_record_validation_error(
    model: type[WireObject], data: st.DataObject, strict: bool
) -> None:
    keys = st.one_of(st.sampled_from(sorted(SPECS[model].fields)), st.text(max_size=6))
    value = data.draw(st.dictionaries(keys, json_values, max_size=8), label="value")
    _check_arbitrary(model, value, strict=strict)


@pytest.mark.parametrize("model", ARBITRARY_MODELS, ids=ARBITRARY_IDS)
@PER_MODEL
@given(data=st.data(), strict=st.booleans())
def test_valid_record_with_one_field_garbled_only_raises_record_validation_error(
    model: type[WireObject], data: st.DataObject, strict: bool
) -> None:
    record = data.draw(SPECS[model].strategy(), label="record")
    field = data.draw(st.sampled_from(sorted(record)), label="field")
    if data.draw(st.booleans(), label="delete"):
        del record[field]
    else:
        record[field] = data.draw(json_values, label="garbage")
    _check_arbitrary(model, record, strict=strict)


MARKER = "\u00a7"  # never produced by the garbage below
garbage_without_marker = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        floats,
        st.text(alphabet=st.characters(blacklist_characters=MARKER), max_size=10),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.text(alphabet=st.characters(blacklist_characters=MARKER), max_size=5),
            children,
            max_size=3,
        ),
    ),
    max_leaves=6,
)
secret_texts = st.text(min_size=4, max_size=12).map(lambda s: MARKER + s + MARKER)


@SETTINGS
@given(
    record=KNOWN_ONLY_SPECS[User].strategy(),
    secret=secret_texts,
    password_shape=st.sampled_from(["string", "list", "object"]),
    field=st.sampled_from(sorted(SPECS[User].fields - {"password"})),
    garbage=garbage_without_marker,
    strict=st.booleans(),
)
def test_password_never_appears_in_error_messages(
    record: dict[str, Any],
    secret: str,
    password_shape: str,
    field: str,
    garbage: Any,
    strict: bool,
) -> None:
    password = {"string": secret, "list": [secret], "object": {"hash": secret}}[password_shape]
    wire = {**record, "password": password, field: garbage}
    try:
        user = User.from_dict(wire, strict=strict)
    except RecordValidationError as error:
        assert secret not in str(error)
        assert secret not in repr(error)
        return
    assert secret not in repr(user)


# --- deeply nested input -----------------------------------------------------------------

DEPTH = 10_000  # far beyond the interpreter's recursion limit


def nested(depth: int, leaf: Any, shape: str) -> Any:
    """``leaf`` wrapped ``depth`` times in one-element lists or one-key objects."""
    value = leaf
    for _ in range(depth):
        value = [value] if shape == "list" else {"k": value}
    return value


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@PER_MODEL
@given(data=st.data(), shape=st.sampled_from(["list", "object"]), strict=st.booleans())
def test_deeply_nested_values_only_raise_record_validation_error(
    model: type[WireObject], data: st.DataObject, shape: str, strict: bool
) -> None:
    record = data.draw(KNOWN_ONLY_SPECS[model].strategy(), label="record")
    deep = nested(DEPTH, data.draw(json_scalars, label="leaf"), shape)
    place = data.draw(
        st.sampled_from(["whole", "vendor field", "field", "inside a field"]),
        label="place",
    )
    if place == "whole":
        wire: Any = deep
    elif place == "vendor field":
        wire = {**record, "x_vendor": deep}
    elif place == "field":
        wire = {**record, data.draw(st.sampled_from(sorted(SPECS[model].fields))): deep}
    else:
        # Inside a GUIDRef or any other nested value: a sourcedId, or a vendor key of it.
        name = data.draw(st.sampled_from(sorted(record)), label="field")
        inner = data.draw(st.sampled_from(["sourcedId", "x_vendor"]), label="inner")
        wire = {**record, name: {"sourcedId": "ref-1", "type": "org", inner: deep}}
    try:
        obj = model.from_dict(wire, strict=strict)
    except RecordValidationError as error:
        assert error.model == model.__name__
        assert len(str(error)) < 400  # the value is abbreviated, not printed 10,000 deep
        return
    written = obj.to_dict()  # a kept vendor value is written back untouched
    assert isinstance(written, dict)
    assert repr(obj)


@pytest.mark.parametrize("field", ["parent", "children"])
def test_a_deep_guidref_names_the_field(field: str) -> None:
    wire = {"sourcedId": "sch-1", "name": "North", "type": "school"}
    wire[field] = {"sourcedId": nested(DEPTH, "x", "list")}

    with pytest.raises(RecordValidationError) as caught:
        Org.from_dict(wire)

    assert caught.value.field is not None
    assert caught.value.field.startswith(field)
    assert "expected a sourcedId string" in caught.value.reason


# --- partial records (fields=) -----------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@FEW
@given(data=st.data())
def test_selected_fields_read_as_in_the_full_record(
    model: type[WireObject], data: st.DataObject
) -> None:
    record = data.draw(SPECS[model].strategy(), label="record")
    selected = data.draw(st.lists(st.sampled_from(sorted(record)), unique=True), label="fields")
    partial = {name: record[name] for name in selected}
    full = model.from_dict(record)
    read = structure_fields(partial, model, selected)
    by_wire = {camel(f.name): f.name for f in attrs.fields(model)}
    assert list(read) == [by_wire[name] for name in selected]
    for name in selected:
        assert read[by_wire[name]] == getattr(full, by_wire[name]), name
