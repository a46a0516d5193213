"""JSON decoding with orjson when installed: the same values and errors as without it.

``oneroster_client._json.loads`` must give exactly what ``json.loads`` gives (same types:
an integer beyond 64 bits stays an ``int``), and a body it refuses must be refused with
the standard library's exception, so that ``Response.json()`` reports it as before. The
routing is tested with a stand-in for orjson that has its quirks, and against the real
orjson when it is installed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client import _json
from oneroster_client.errors import ResponseFormatError
from oneroster_client.transport import Response


def _quirky_loads(data: bytes) -> Any:
    """A stand-in for orjson: 64-bit integers only (else floats), no NaN, no lone surrogates."""

    def parse_int(text: str) -> Any:
        value = int(text)
        return value if -(2**63) <= value < 2**64 else float(value)

    def refuse(name: str) -> Any:
        raise json.JSONDecodeError(f"unexpected {name}", "", 0)

    if b"\\ud8" in data.lower():
        raise json.JSONDecodeError("lone surrogate", "", 0)
    return json.loads(data, parse_int=parse_int, parse_constant=refuse)


class _Stub:
    loads = staticmethod(_quirky_loads)


@pytest.fixture
def quirky(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(_json, "_orjson", _Stub())
    return _json._fast


def _typed(value: Any) -> Any:
    """``value`` with the type of every leaf, so that 1, 1.0 and True differ."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, repr(value))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**60, max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _outcome(loads: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", _typed(loads(data))
    except ValueError as exc:
        return "error", type(exc)
    except RecursionError:
        return "error", RecursionError


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_the_fast_route_reads_what_the_standard_library_reads(value: Any) -> None:
    data = json.dumps(value).encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_json, "_orjson", _Stub())
        assert _outcome(_json._fast, data) == _outcome(json.loads, data)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_the_real_orjson_route_reads_what_the_standard_library_reads(value: Any) -> None:
    if _json.BACKEND != "orjson":
        pytest.skip("orjson is not installed")
    data = json.dumps(value).encode()
    assert _outcome(_json.loads, data) == _outcome(json.loads, data)


@pytest.mark.parametrize(
    "data",
    [
        b"18446744073709551616",
        b'{"identifier": -9223372036854775809}',
        b"[NaN, Infinity]",
        b'"\\ud800"',
        b"\xef\xbb\xbf{}",
        '{"a": 1}'.encode("utf-16"),
        b'{"a": 1,}',
        b"",
        b"\xff\xfe\x00",
        b"[" * 5000,
    ],
    ids=[
        "big int",
        "big negative int",
        "NaN",
        "lone surrogate",
        "BOM",
        "UTF-16",
        "trailing comma",
        "empty",
        "not UTF-8",
        "deep",
    ],
)
def test_documents_the_fast_route_refuses_are_read_or_refused_as_before(
    data: bytes, quirky: Any
) -> None:
    assert _outcome(quirky, data) == _outcome(json.loads, data)


def test_the_real_orjson_reads_what_the_standard_library_reads() -> None:
    pytest.importorskip("orjson")
    assert _json.BACKEND == "orjson"
    for data in (
        b'{"users": [{"sourcedId": "u1", "score": 1.5, "n": 12345678901234567890123}]}',
        b"[NaN]",
        b'"\\ud800"',
        b"[" * 5000 + b"]" * 5000,
        b"[1e400, -0.0, 0.1]",
    ):
        assert _outcome(_json.loads, data) == _outcome(json.loads, data)


def _response(body: bytes) -> Response:
    return Response(
        status_code=200,
        headers={"Content-Type": "application/json"},
        content=body,
        url="http://127.0.0.1/ims/oneroster/v1p1/users",
        method="GET",
        elapsed=0.0,
    )


@pytest.mark.parametrize(
    "body, problem",
    [
        (b"[" * 100_000, "nested too deeply"),
        (b'{"users": [', "not JSON"),
        (b"\xff\xfe\xfa", "not UTF-8"),
        (b"<html>busy</html>", "not JSON (Expecting value at line 1 column 1)"),
    ],
)
def test_response_json_reports_bad_bodies_as_before(
    body: bytes, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdlib_message = _message(body, monkeypatch, _json.stdlib_loads)
    assert problem in stdlib_message
    monkeypatch.setattr(_json, "_orjson", _Stub())
    assert _message(body, monkeypatch, _json._fast) == stdlib_message
    try:
        import orjson
    except ImportError:
        return
    monkeypatch.setattr(_json, "_orjson", orjson)
    assert _message(body, monkeypatch, _json._fast) == stdlib_message


def _message(body: bytes, monkeypatch: pytest.MonkeyPatch, loads: Any) -> str:
    monkeypatch.setattr(_json, "loads", loads)
    with pytest.raises(ResponseFormatError) as info:
        _response(body).json()
    return str(info.value)
