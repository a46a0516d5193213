"""Property tests: the status parsers take anything a server sends and never crash.

Every parser that reads outside input here (status infos in any container shape,
warnings on successful bodies, the HTTP error mapping, the ``Retry-After`` header) is fed
arbitrary JSON values, bytes and headers. Only the library's own results come out: a
tuple of :class:`StatusInfo`, an :class:`APIError`, a number or ``None``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client.errors import APIError, RateLimitError
from oneroster_client.retry import parse_retry_after
from oneroster_client.status import (
    StatusInfo,
    error_from_response,
    parse_status_infos,
    warnings_from_body,
)

URL = "https://sis.example.org/ims/oneroster/v1p1/users?limit=100&offset=0"

# Keys that steer the parser into every branch, mixed with arbitrary ones.
STATUS_KEYS = [
    "statusInfoSet",
    "imsx_statusInfo",
    "statusInfos",
    "imsx_codeMajor",
    "CodeMajor",
    "imsx_severity",
    "severity",
    "imsx_codeMinor",
    "imsx_CodeMinor",
    "codeMinor",
    "imsx_codeMinorField",
    "imsx_codeMinorFieldValue",
    "imsx_description",
    "description",
    "imsx_messageRefIdentifier",
    "imsx_operationRefIdentifier",
    "error",
    "error_description",
    "message",
    "status",
    "code",
    "users",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["failure", "error", "warning", "status", "success", "invalid_filter_field"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(STATUS_KEYS), st.text(max_size=10)), children, max_size=5
        ),
    ),
    max_leaves=40,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode("utf-8")),
    st.integers(min_value=1, max_value=3000).map(lambda depth: b"[" * depth),
    st.integers(min_value=1, max_value=3000).map(lambda depth: b'{"statusInfoSet":' * depth),
)
headers = st.dictionaries(
    st.one_of(
        st.sampled_from(
            ["Retry-After", "X-Request-Id", "Request-Id", "WWW-Authenticate", "Content-Type"]
        ),
        st.text(min_size=1, max_size=12),
    ),
    st.text(max_size=40),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parse_status_infos_reads_any_json_value(value: Any) -> None:
    infos = parse_status_infos(value)

    assert isinstance(infos, tuple)
    assert all(isinstance(info, StatusInfo) for info in infos)


@settings(max_examples=300, deadline=None)
@given(bodies)
def test_parse_status_infos_reads_any_bytes(body: bytes) -> None:
    assert all(isinstance(info, StatusInfo) for info in parse_status_infos(body))


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, bodies))
def test_warnings_from_body_returns_only_what_a_caller_should_see(body: Any) -> None:
    found = warnings_from_body(body)

    assert isinstance(found, tuple)
    for info in found:
        assert isinstance(info, StatusInfo)
        severity = (info.severity or "").strip().lower()
        code_major = (info.code_major or "").strip().lower()
        plain_success = (
            severity == "status" or code_major == "success" or info.code_minor == "fullsuccess"
        )
        assert info.is_error or info.is_warning or not plain_success


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=100, max_value=999),
    headers,
    bodies,
    st.sampled_from(["GET", "put", "DELETE"]),
    st.integers(min_value=1, max_value=9),
)
def test_error_from_response_maps_anything_to_one_api_error(
    status: int, response_headers: dict[str, str], body: bytes, method: str, attempts: int
) -> None:
    error = error_from_response(
        method=method,
        url=URL,
        status_code=status,
        headers=response_headers,
        body=body,
        attempts=attempts,
    )

    assert isinstance(error, APIError)
    assert error.status_code == status
    assert error.method == method.upper()
    message = str(error)
    assert "\n" not in message and "\r" not in message  # one line for logs
    assert message.startswith(f"{method.upper()} /ims/oneroster/v1p1/users")
    if error.body_excerpt is not None:
        assert len(error.body_excerpt) <= 300
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        assert math.isfinite(error.retry_after) and error.retry_after >= 0


secrets = st.text(alphabet="0123456789", min_size=6, max_size=24)
prose = st.text(alphabet=st.characters(blacklist_categories=("Nd", "Cs")), max_size=80)


@settings(max_examples=200, deadline=None)
@given(secrets, prose, prose, st.sampled_from([400, 401, 403, 404, 429, 500, 503]))
def test_error_from_response_never_shows_a_known_secret(
    secret: str, before: str, after: str, status: int
) -> None:
    description = before + secret + after
    body = json.dumps(
        {
            "imsx_codeMajor": "failure",
            "imsx_severity": "error",
            "imsx_codeMinor": secret,
            "imsx_description": description,
        }
    ).encode("utf-8")

    error = error_from_response(
        method="GET",
        url=URL,
        status_code=status,
        headers={"X-Request-Id": description},
        body=body,
        secrets=(secret,),
    )

    for text in (
        str(error),
        repr(error),
        error.body_excerpt or "",
        error.request_id or "",
        *(repr(info) for info in error.status_infos),
    ):
        assert secret not in text


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=40)))
def test_parse_retry_after_is_none_or_a_usable_wait(value: str | None) -> None:
    seconds = parse_retry_after(value)

    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)
