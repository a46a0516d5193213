"""``--fields`` of ``oneroster list`` and ``get``: any spelling of a model's fields gives
its wire names; any other name is a usage error naming it and the fields there are."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from oneroster_client._naming import to_python_name, to_wire_name
from oneroster_client.cli._common import UsageProblem
from oneroster_client.cli.read import _fields
from oneroster_client.endpoints import OPERATIONS
from oneroster_client.models import Record

MODELS = sorted({op.model for op in OPERATIONS if op.collection}, key=lambda m: m.__name__)


def _wire_fields(model: type[Record]) -> list[str]:
    return [to_wire_name(f.name) for f in attrs.fields(model) if f.name != "extra"]


def _spelt(wire: str, style: str) -> str:
    snake = to_python_name(wire).rstrip("_")
    return {
        "wire": wire,
        "snake": snake,
        "kebab": snake.replace("_", "-"),
        "upper": snake.upper(),
    }[style]


@st.composite
def _selection(draw: st.DrawFn) -> tuple[type[Record], list[str], list[str]]:
    model = draw(st.sampled_from(MODELS))
    wire = draw(st.lists(st.sampled_from(_wire_fields(model)), min_size=1, max_size=6))
    styles = draw(st.lists(st.sampled_from(["wire", "snake", "kebab", "upper"]), **_n(wire)))
    return model, wire, [_spelt(name, style) for name, style in zip(wire, styles, strict=True)]


def _n(items: list[str]) -> dict[str, int]:
    return {"min_size": len(items), "max_size": len(items)}


@given(_selection(), st.sampled_from([",", ", ", " , "]))
def test_any_spelling_gives_the_wire_names_in_order(
    selection: tuple[type[Record], list[str], list[str]], separator: str
) -> None:
    model, wire, spelt = selection
    assert _fields(separator.join(spelt), model) == list(dict.fromkeys(wire))


_NOT_A_FIELD = st.text(
    alphabet=st.characters(codec="ascii", exclude_characters=","), min_size=1, max_size=12
).filter(lambda text: text.strip() != "")


@given(st.sampled_from(MODELS), _NOT_A_FIELD)
def test_any_other_name_is_a_usage_error_naming_it_and_the_fields(
    model: type[Record], name: str
) -> None:
    folded = {"".join(c for c in f.lower() if c.isalnum()) for f in _wire_fields(model)}
    assume("".join(c for c in name.lower() if c.isalnum()) not in folded)  # not a real one
    with pytest.raises(UsageProblem) as raised:
        _fields(f"sourcedId,{name}", model)
    message = str(raised.value)
    assert repr(name.strip()) in message
    assert all(field in message for field in _wire_fields(model))


def test_no_name_at_all_is_a_usage_error() -> None:
    with pytest.raises(UsageProblem, match="names no field"):
        _fields(" , ", MODELS[0])
