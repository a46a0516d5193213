"""Personal fields: named once, hidden from reprs, notebook views and error messages."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneroster_client._naming import to_wire_name
from oneroster_client.converter import SENSITIVE_FIELDS, structure
from oneroster_client.errors import RecordValidationError
from oneroster_client.models import (
    ENTITY_MODELS,
    SEX_AND_RACE_FIELDS,
    Demographics,
    Result,
    UserId,
)


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


# --- free text about one student: Result.comment ---------------------------------------

_RESULT = {
    "sourcedId": "r-1",
    "lineItem": {"sourcedId": "li-1"},
    "student": {"sourcedId": "s-1"},
    "scoreStatus": "submitted",
}


@given(comment=st.text(min_size=1))
def test_a_result_comment_never_appears_in_repr_or_the_notebook_view(comment: str) -> None:
    result = Result.from_dict({**_RESULT, "comment": comment})
    without = attrs.evolve(result, comment=None)
    assert result.comment == comment  # the data is there, only not shown
    assert repr(result) == repr(without)
    assert result._repr_html_() == without._repr_html_()


def test_the_trial_comment_is_hidden() -> None:
    result = Result.from_dict({**_RESULT, "comment": "Malik Young cheated; see counselor"})
    assert "Malik" not in repr(result)
    assert result.to_dict()["comment"] == "Malik Young cheated; see counselor"


def test_a_bad_comment_value_is_not_quoted_in_the_error() -> None:
    with pytest.raises(RecordValidationError) as caught:
        Result.from_dict({**_RESULT, "comment": ["Malik Young cheated"]}, strict=True)
    assert caught.value.field == "comment"
    assert "Malik" not in str(caught.value)


def test_every_field_hidden_from_reprs_is_hidden_from_error_messages() -> None:
    for kind in (*ENTITY_MODELS, UserId):
        for field in attrs.fields(kind):
            if field.repr is False:
                assert to_wire_name(field.name) in SENSITIVE_FIELDS, (kind.__name__, field.name)


def test_the_docs_table_of_hidden_fields_matches_the_models() -> None:
    text = (Path(__file__).parents[2] / "docs" / "models.md").read_text(encoding="utf-8")
    table = text.split("| Model | Left out of `repr` |", 1)[1].split("\n\n", 1)[0]
    listed: dict[str, set[str]] = {}
    for row in table.splitlines()[2:]:
        model_cell, fields_cell = (cell.strip() for cell in row.strip("|").split("|"))
        names = set(re.findall(r"`([a-z_]+)`", fields_cell.split("(", 1)[0]))
        listed[model_cell.strip("`")] = names
    for kind in (*ENTITY_MODELS, UserId):
        hidden = {field.name for field in attrs.fields(kind) if field.repr is False}
        if kind is Demographics:
            assert listed["Demographics"] == {"sourced_id", "status", "date_last_modified"}
            shown = {field.name for field in attrs.fields(kind)} - hidden
            assert shown == {"sourced_id", "status", "date_last_modified", "metadata", "extra"}
        elif hidden:
            assert listed.get(kind.__name__) == hidden, kind.__name__
        else:
            assert kind.__name__ not in listed
