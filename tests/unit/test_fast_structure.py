"""The converter's fast reading path gives exactly what the full converter gives.

Listings read records through functions generated once per model
(:func:`oneroster_client.converter.structure_records`); a record they do not handle goes
to the full converter. These properties hold the two paths together: canonical records
never leave the fast path and read to the same models; anything else reads to the same
model or fails with the same error; warnings are the same; shared references are equal,
immutable and never stand for a different reference.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneroster_client import converter
from oneroster_client.converter import ConversionWarning, structure, structure_records
from oneroster_client.errors import RecordValidationError
from oneroster_client.models import Enrollment, GUIDRef, GUIDType, User, WireObject


def _load_properties() -> Any:
    # The canonical-record strategies live with the converter's own properties.
    path = Path(__file__).with_name("test_converter_properties.py")
    spec = importlib.util.spec_from_file_location("_converter_properties", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_converter_properties", module)
    spec.loader.exec_module(module)
    return module


PROPS = _load_properties()
MODELS = PROPS.MODELS
IDS = PROPS.IDS
PER_MODEL = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _slow(data: Any, model: type[Any], strict: bool = False) -> Any:
    return converter._structure_slow(data, model, strict=strict, warnings=None)


def _outcome(read: Any) -> tuple[str, Any]:
    try:
        return "ok", read()
    except RecordValidationError as exc:
        return "error", str(exc)


# --- the same models ------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@PER_MODEL
@given(data=st.data())
def test_canonical_records_stay_on_the_fast_path_and_read_the_same(
    model: type[WireObject], data: st.DataObject
) -> None:
    record = data.draw(PROPS.KNOWN_ONLY_SPECS[model].strategy(), label="record")
    vendor = data.draw(
        st.dictionaries(PROPS.extra_keys, PROPS.json_values, max_size=3), label="vendor"
    )
    record.update({key: value for key, value in vendor.items() if key not in record})
    fast = converter._fast_fn(model, False)(record, {})  # raises if the fast path gave up
    assert fast == _slow(record, model)
    assert fast.extra == _slow(record, model).extra
    assert fast.to_dict() == record


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@PER_MODEL
@given(data=st.data())
def test_records_with_unknown_vocabulary_read_the_same(
    model: type[WireObject], data: st.DataObject
) -> None:
    record = data.draw(PROPS.SPECS[model].strategy(), label="record")
    fast_warnings: list[ConversionWarning] = []
    slow_warnings: list[ConversionWarning] = []
    items, failures = structure_records([record], model, warnings=fast_warnings, refs={})
    slow = converter._structure_slow(record, model, strict=False, warnings=slow_warnings)
    assert (items, failures) == ([slow], [])
    assert fast_warnings == slow_warnings


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@PER_MODEL
@given(data=st.data())
def test_canonical_records_read_the_same_in_strict_mode(
    model: type[WireObject], data: st.DataObject
) -> None:
    record = data.draw(PROPS.KNOWN_ONLY_SPECS[model].strategy(), label="record")
    assert converter._fast_fn(model, True)(record, None) == _slow(record, model, strict=True)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@PER_MODEL
@given(data=st.data(), strict=st.booleans())
def test_any_object_reads_the_same_or_fails_the_same(
    model: type[WireObject], data: st.DataObject, strict: bool
) -> None:
    keys = st.one_of(st.sampled_from(sorted(PROPS.SPECS[model].fields)), st.text(max_size=6))
    value = data.draw(st.dictionaries(keys, PROPS.json_values, max_size=8), label="value")
    assert _outcome(lambda: structure(value, model, strict=strict, refs={})) == _outcome(
        lambda: _slow(value, model, strict)
    )


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@PER_MODEL
@given(data=st.data(), strict=st.booleans())
def test_a_record_with_one_field_changed_reads_the_same_or_fails_the_same(
    model: type[WireObject], data: st.DataObject, strict: bool
) -> None:
    record = data.draw(PROPS.SPECS[model].strategy(), label="record")
    field = data.draw(st.sampled_from(sorted(record)), label="field")
    record[field] = data.draw(PROPS.json_values, label="value")
    fast = _outcome(lambda: structure_records([record], model, strict=strict, refs={}))
    slow = _outcome(lambda: _slow(record, model, strict))
    if slow[0] == "ok":
        assert fast == ("ok", ([slow[1]], []))
    else:
        (_index, error) = fast[1][1][0]
        assert (fast[1][0], str(error)) == ([], slow[1])


def test_a_page_keeps_its_order_and_names_each_bad_record() -> None:
    good = {
        "sourcedId": "e1",
        "user": {"sourcedId": "u1"},
        "class": {"sourcedId": "c1"},
        "school": {"sourcedId": "s1"},
        "role": "student",
    }
    bad = {**good, "sourcedId": "e2", "beginDate": "not a date"}
    tolerant = {**good, "sourcedId": "e3", "primary": "TRUE", "user": "u3"}
    items, failures = structure_records([good, bad, tolerant], Enrollment)
    assert [e.sourced_id for e in items] == ["e1", "e3"]
    assert items[1].primary is True and items[1].user == GUIDRef(sourced_id="u3")
    [(index, error)] = failures
    assert index == 1
    assert str(error) == _outcome(lambda: structure(bad, Enrollment))[1]
    assert "beginDate" in str(error)


def test_unknown_vocabulary_is_kept_and_reported_as_before() -> None:
    record = {
        "sourcedId": "u1",
        "role": "districtAdministrator",
        "enabledUser": True,
        "orgs": [{"sourcedId": "o1", "type": "organisation"}],
        "username": "x",
        "givenName": "x",
        "familyName": "x",
    }
    page_warnings: list[ConversionWarning] = []
    single_warnings: list[ConversionWarning] = []
    [user], [] = structure_records([record], User, warnings=page_warnings, refs={})
    assert user == structure(record, User, warnings=single_warnings)
    assert page_warnings == single_warnings
    assert [w.field for w in page_warnings] == ["role", "orgs[0].type"]
    with pytest.raises(RecordValidationError, match="role"):
        structure(record, User, strict=True)


def test_unknown_fields_are_kept_in_extra_and_refused_in_strict_mode() -> None:
    record = {"sourcedId": "s1", "type": "org", "vendorCode": [1, 2]}
    ref = structure(record, GUIDRef, refs={})
    assert ref.extra == {"vendorCode": [1, 2]}
    assert ref.to_dict() == record
    with pytest.raises(RecordValidationError, match="vendorCode"):
        structure(record, GUIDRef, strict=True, refs={})


# --- shared references ----------------------------------------------------------------


def test_equal_references_are_one_immutable_instance() -> None:
    refs: dict[Any, Any] = {}
    school = {"href": "/orgs/s1", "sourcedId": "s1", "type": "org"}
    rows = [
        {
            "sourcedId": f"e{i}",
            "user": {"sourcedId": f"u{i}", "type": "user"},
            "class": {"sourcedId": "c1", "type": "class"},
            "school": dict(school),
            "role": "student",
        }
        for i in range(5)
    ]
    items, _ = structure_records(rows, Enrollment, refs=refs)
    assert all(e.school is items[0].school for e in items)
    assert all(e.class_ is items[0].class_ for e in items)
    assert len({id(e.user) for e in items}) == 5
    assert items[0].school == GUIDRef(sourced_id="s1", type=GUIDType.ORG, href="/orgs/s1")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        items[0].school.sourced_id = "s2"  # type: ignore[misc]
    assert items == [structure(row, Enrollment) for row in rows]


@pytest.mark.parametrize(
    "first, second",
    [
        ({"sourcedId": "1"}, {"sourcedId": 1}),
        ({"sourcedId": 1}, {"sourcedId": True}),
        ({"sourcedId": "a", "type": None}, {"sourcedId": "a", "other": None}),
        ({"sourcedId": "a", "type": "org"}, {"type": "org", "sourcedId": "a", "x": "y"}),
        ({"sourcedId": "a", "type": "org"}, {"sourcedId": "a", "type": "ORG"}),
    ],
)
def test_a_shared_reference_never_stands_for_a_different_one(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    refs: dict[Any, Any] = {}
    for value in (first, second, first, second):
        expected = _outcome(lambda value=value: _slow(value, GUIDRef))
        got = _outcome(lambda value=value: structure(value, GUIDRef, refs=refs))
        assert got == expected
        if got[0] == "ok":
            assert got[1].extra == expected[1].extra
            assert got[1].type == expected[1].type and type(got[1].type) is type(expected[1].type)


def test_references_with_vendor_fields_are_not_shared() -> None:
    refs: dict[Any, Any] = {}
    value = {"sourcedId": "a", "vendor": "v"}
    one, two = structure(value, GUIDRef, refs=refs), structure(value, GUIDRef, refs=refs)
    assert one == two and one.extra == two.extra == {"vendor": "v"}
    assert one is not two and one.extra is not two.extra  # each has its own mutable extra


def test_shared_references_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(converter, "_REFS_LIMIT", 10)
    refs: dict[Any, Any] = {}
    for i in range(35):
        assert structure({"sourcedId": f"r{i}"}, GUIDRef, refs=refs).sourced_id == f"r{i}"
        assert len(refs) <= 10


# --- cached dates -----------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=30) | st.dates().map(str) | st.datetimes().map(str))
def test_cached_dates_read_like_the_parsers(text: str) -> None:
    for cached, parse in (
        (converter._cached_date, converter.parse_date),
        (converter._cached_datetime, converter.parse_datetime),
    ):
        expected = _outcome_of(parse, text)
        assert _outcome_of(cached, text) == expected
        assert _outcome_of(cached, text) == expected  # from the cache the second time


def _outcome_of(parse: Any, text: str) -> tuple[str, Any]:
    try:
        value = parse(text)
    except Exception as exc:  # the parsers' own error, compared by kind
        return "error", type(exc)
    return "ok", (value, type(value), getattr(value, "tzinfo", None))


def test_date_caches_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(converter, "_CACHE_LIMIT", 5)
    for day in range(1, 29):
        text = f"2024-02-{day:02d}"
        assert str(converter._cached_date(text)) == text
        assert converter._cached_datetime(text + "T00:00:00Z").day == day
        assert len(converter._DATE_CACHE) <= 5
        assert len(converter._DATETIME_CACHE) <= 5
