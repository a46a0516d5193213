"""Property tests for oneroster_client.query: the filter parser, builder and query helpers.

The filter parser reads text from users and (in the loopback server) from the network, so
whatever it is given it must return an expression or raise FilterError, nothing else.
What the builder prints, the parser reads back as the same predicates; the sort, fields
and orderBy helpers likewise take any input and either normalise it or raise FilterError.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client.errors import FilterError
from oneroster_client.query import (
    OPERATORS,
    Combined,
    F,
    FilterExpr,
    Predicate,
    coerce_filter,
    evaluate,
    order_by,
    parse_filter,
    wire_fields,
    wire_sort,
)

from .test_query import BUILDERS

_SEGMENT = st.from_regex(r"[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,6}){0,2}", fullmatch=True)
_FIELD_NAMES = st.lists(_SEGMENT, min_size=1, max_size=3).map(".".join)
_WIRE_FIELDS = st.from_regex(r"[A-Za-z0-9_]{1,8}(\.[A-Za-z0-9_]{1,8}){0,2}", fullmatch=True)
_TEXT_VALUES = st.text(st.characters(exclude_characters="'"), max_size=30)
_ANY_VALUES = st.one_of(
    _TEXT_VALUES,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(),
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 12, 31),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
    ),
)
_PREDICATES = st.builds(
    lambda name, op, value: BUILDERS[op](F(name), value),
    _FIELD_NAMES,
    st.sampled_from(OPERATORS),
    _ANY_VALUES,
)
_EXPRESSIONS: st.SearchStrategy[FilterExpr] = st.one_of(
    _PREDICATES,
    st.builds(lambda a, b: a & b, _PREDICATES, _PREDICATES),
    st.builds(lambda a, b: a | b, _PREDICATES, _PREDICATES),
)
_SPACE = st.text(st.sampled_from(" \t\r\n"), min_size=1, max_size=3)
_OPTIONAL_SPACE = st.text(st.sampled_from(" \t\r\n"), max_size=3)

# Near-grammar text: the filter's own tokens in any order, so the parser's error paths
# (not just its first character check) get exercised.
_TOKENS = st.sampled_from(
    [
        "role", "school.sourcedId", "a.", ".b", "a..b", "x_1",
        *OPERATORS, "==", "<>", "=>", "!~", "!",
        "'student'", "'", "''", "'a b'", '"q"', "'AND'",
        " ", "\t", "\n", "AND", "OR", "and", "or", "And", "oR", "ANDOR", "NOT",
        "&&", "||", "(", ")", ",", "é", "中", "\x00", "\ud7ff",
    ]
)  # fmt: skip
_NEAR_GRAMMAR = st.lists(_TOKENS, max_size=14).map("".join)


# --- the parser takes anything --------------------------------------------------------------


@settings(max_examples=500)
@given(st.one_of(st.text(max_size=60), _NEAR_GRAMMAR))
def test_parser_only_ever_raises_filter_error(text: str) -> None:
    try:
        expr = parse_filter(text)
    except FilterError:
        return
    # Whatever parses is stable under its own normalisation.
    canonical = expr.to_string()
    assert parse_filter(canonical) == expr
    assert parse_filter(canonical).to_string() == canonical


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=60), _NEAR_GRAMMAR))
def test_coerce_filter_agrees_with_the_parser(text: str) -> None:
    try:
        expected = parse_filter(text).to_string()
    except FilterError:
        with pytest.raises(FilterError):
            coerce_filter(text)
        return
    assert coerce_filter(text) == expected


@settings(max_examples=100)
@given(st.one_of(st.integers(), st.binary(), st.lists(st.text()), st.none(), st.floats()))
def test_parser_refuses_what_is_not_text(value: Any) -> None:
    with pytest.raises(FilterError):
        parse_filter(value)


@settings(max_examples=300)
@given(_NEAR_GRAMMAR, st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3))
def test_what_parses_evaluates_to_a_bool_on_any_record(text: str, record: dict[str, str]) -> None:
    try:
        expr = parse_filter(text)
    except FilterError:
        return
    assert evaluate(expr, record) in (True, False)


# --- builder output round-trips -------------------------------------------------------------


@settings(max_examples=300)
@given(_EXPRESSIONS)
def test_builder_to_string_parse_round_trip(expr: FilterExpr) -> None:
    text = expr.to_string()
    parsed = parse_filter(text)
    assert parsed == expr
    assert parsed.predicates == expr.predicates
    assert coerce_filter(text) == text


@settings(max_examples=200)
@given(_FIELD_NAMES, st.sampled_from(OPERATORS), _TEXT_VALUES)
def test_text_values_survive_unchanged(name: str, op: str, value: str) -> None:
    assert parse_filter(BUILDERS[op](F(name), value).to_string()).predicates[0].value == value


@settings(max_examples=200)
@given(
    _EXPRESSIONS,
    st.lists(_OPTIONAL_SPACE, min_size=6, max_size=6),
    st.lists(_SPACE, min_size=2, max_size=2),
)
def test_whitespace_between_tokens_does_not_change_the_filter(
    expr: FilterExpr, optional: list[str], required: list[str]
) -> None:
    def spaced(predicate: Predicate, a: str, b: str) -> str:
        return f"{a}{predicate.field}{b}{predicate.op}{b}'{predicate.value}'{a}"

    text = spaced(expr.predicates[0], optional[0], optional[1])
    if isinstance(expr, Combined):
        text += f"{required[0]}{expr.op}{required[1]}"
        text += spaced(expr.right, optional[2], optional[3])
    assert parse_filter(optional[4] + text + optional[5]) == expr


@settings(max_examples=200)
@given(
    _PREDICATES,
    _PREDICATES,
    st.sampled_from(["AND", "OR"]),
    st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_logical_operators_not_in_upper_case_are_refused(
    left: Predicate, right: Predicate, word: str, lower: list[bool]
) -> None:
    spelled = "".join(c.lower() if flag else c for c, flag in zip(word, lower, strict=False))
    text = f"{left.to_string()} {spelled} {right.to_string()}"
    if spelled == word:
        assert parse_filter(text) == (left & right if word == "AND" else left | right)
        return
    for check in (parse_filter, coerce_filter):
        with pytest.raises(FilterError, match=f"use {word}$"):
            check(text)


# --- sort, fields and orderBy ---------------------------------------------------------------

_NAMEISH = st.one_of(st.text(max_size=30), _WIRE_FIELDS, _FIELD_NAMES)
_VALID_WIRE_NAME = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*", re.ASCII)


@settings(max_examples=300)
@given(st.one_of(_NAMEISH, st.integers(), st.none(), st.binary()))
def test_wire_sort_normalises_or_raises_filter_error(value: Any) -> None:
    try:
        wire = wire_sort(value)
    except FilterError:
        return
    if value is None:
        assert wire is None
        return
    assert wire is not None and _VALID_WIRE_NAME.fullmatch(wire)
    assert wire_sort(wire) == wire


@settings(max_examples=300)
@given(
    st.one_of(
        _NAMEISH,
        st.lists(st.one_of(_NAMEISH, st.integers(), st.none()), max_size=5),
        st.integers(),
        st.none(),
    )
)
def test_wire_fields_normalises_or_raises_filter_error(value: Any) -> None:
    try:
        wire = wire_fields(value)
    except FilterError:
        return
    if value is None:
        assert wire is None
        return
    assert wire is not None
    names = wire.split(",")
    assert all(_VALID_WIRE_NAME.fullmatch(name) for name in names)
    assert len(names) == len(set(names)), "repeats are dropped"
    assert wire_fields(wire) == wire


@settings(max_examples=200)
@given(st.one_of(st.text(max_size=12), st.sampled_from([" ASC", "desc ", "Desc"]), st.none()))
def test_order_by_normalises_or_raises_filter_error(value: str | None) -> None:
    try:
        result = order_by(value)
    except FilterError:
        assert value is not None and value.strip().lower() not in ("asc", "desc")
        return
    assert result == (None if value is None else value.strip().lower())
