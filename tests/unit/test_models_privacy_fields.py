"""The sex, race and ethnicity fields are named once, and name real Demographics fields."""

from __future__ import annotations

import attrs

from oneroster_client._naming import to_wire_name
from oneroster_client.converter import structure
from oneroster_client.errors import RecordValidationError
from oneroster_client.models import SEX_AND_RACE_FIELDS, Demographics


def test_sex_and_race_fields_are_demographics_fields() -> None:
    wire_names = {to_wire_name(field.name) for field in attrs.fields(Demographics)}
    assert SEX_AND_RACE_FIELDS.issubset(wire_names)
    assert len(SEX_AND_RACE_FIELDS) == 8  # sex, six race categories, ethnicity


def test_a_bad_sex_or_race_value_is_not_quoted_in_the_error() -> None:
    for name in sorted(SEX_AND_RACE_FIELDS - {"sex"}):
        data = {"sourcedId": "u-1", "status": "active", name: {"secret-value": 1}}
        try:
            structure(data, Demographics, strict=True)
        except RecordValidationError as error:
            assert "secret-value" not in str(error), name
        else:
            raise AssertionError(f"{name}: a dict was accepted as a boolean")
