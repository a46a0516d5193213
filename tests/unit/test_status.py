"""Tests for oneroster_client.status: every status container shape, codeMinor normalisation,
warnings on successful responses, and the HTTP error -> exception mapping.

Payloads are written for these tests in the shapes real OneRoster 1.1 providers send.
"""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import oneroster_client
from oneroster_client.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from oneroster_client.status import (
    StatusInfo,
    error_from_response,
    normalize_code_minor,
    parse_status_infos,
    warnings_from_body,
)

BASE = "https://sis.example.edu/ims/oneroster/v1p1"

INVALID_FILTER_400 = {
    "statusInfoSet": [
        {
            "imsx_codeMajor": "failure",
            "imsx_severity": "error",
            "imsx_codeMinor": "invalid_filter_field",
            "imsx_description": "colour",
        }
    ]
}

IMS_COMMON_404 = {
    "imsx_codeMajor": "failure",
    "imsx_severity": "error",
    "imsx_description": "not found",
    "imsx_CodeMinor": {
        "imsx_codeMinorField": [
            {
                "imsx_codeMinorFieldName": "TargetEndSystem",
                "imsx_codeMinorFieldValue": "unknownobject",
            }
        ]
    },
}

USERS_WITH_SORT_WARNING = {
    "users": [
        {
            "sourcedId": "usr-001",
            "status": "active",
            "dateLastModified": "2024-05-01T18:25:43.511Z",
            "username": "jdoe",
            "givenName": "Jane",
            "familyName": "Doe",
            "role": "student",
        }
    ],
    "statusInfoSet": [
        {
            "imsx_codeMajor": "success",
            "imsx_severity": "warning",
            "imsx_codeMinor": "invalid_sort_field",
            "imsx_description": "favouriteColour",
        }
    ],
}


# --- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("unknown object", "unknownobject"),
        ("unknownobject", "unknownobject"),
        ("invalid_filter_field", "invalidfilterfield"),
        ("Full Success", "fullsuccess"),
        ("server_busy", "serverbusy"),
        ("invalid-blank-selection-field", "invalidblankselectionfield"),
        (" unauthorisedrequest\t", "unauthorisedrequest"),
        ("", ""),
    ],
)
def test_normalize_code_minor(token: str, expected: str) -> None:
    assert normalize_code_minor(token) == expected


@given(st.text())
def test_normalizing_is_idempotent(token: str) -> None:
    once = normalize_code_minor(token)

    assert normalize_code_minor(once) == once


@given(
    words=st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1), min_size=1),
    data=st.data(),
)
def test_separator_and_case_variants_compare_equal(words: list[str], data: st.DataObject) -> None:
    separators = data.draw(
        st.lists(
            st.sampled_from(["", " ", "_", "-", "  ", "_ "]),
            min_size=len(words) - 1,
            max_size=len(words) - 1,
        )
    )
    spelled = words[0] + "".join(
        sep + word for sep, word in zip(separators, words[1:], strict=True)
    )
    shouted = data.draw(st.booleans())

    variant = spelled.upper() if shouted else spelled

    assert normalize_code_minor(variant) == normalize_code_minor("_".join(words))
    assert normalize_code_minor(variant) == "".join(words)


# --- StatusInfo --------------------------------------------------------------------------


def test_status_info_normalises_code_minor_on_construction() -> None:
    info = StatusInfo(code_minor="unknown object", code_minor_raw="unknown object")

    assert info.code_minor == "unknownobject"
    assert info.code_minor_raw == "unknown object"
    assert StatusInfo(code_minor=" ").code_minor is None
    assert StatusInfo().code_minor is None


def test_status_info_is_frozen_slotted_and_keyword_only() -> None:
    info = StatusInfo(code_major="failure")

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        info.code_major = "success"  # type: ignore[misc]
    assert not hasattr(info, "__dict__")
    with pytest.raises(TypeError):
        StatusInfo("failure")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("code_major", "severity", "is_error", "is_warning"),
    [
        ("failure", "error", True, False),
        ("success", "error", True, False),  # S4 style 400: codeMajor alone is not enough
        ("failure", None, True, False),
        ("unsupported", "status", True, False),
        ("success", "warning", False, True),
        ("success", " Warning ", False, True),
        ("failure", "warning", True, False),
        ("success", "status", False, False),
        (None, None, False, False),
    ],
)
def test_status_info_error_and_warning(
    code_major: str | None, severity: str | None, is_error: bool, is_warning: bool
) -> None:
    info = StatusInfo(code_major=code_major, severity=severity)

    assert info.is_error is is_error
    assert info.is_warning is is_warning


# --- parse_status_infos: every shape of section 7.1 ---------------------------------------


def test_status_info_set_list_next_to_data() -> None:
    (info,) = parse_status_infos(USERS_WITH_SORT_WARNING)

    assert info == StatusInfo(
        code_major="success",
        severity="warning",
        code_minor="invalidsortfield",
        code_minor_raw="invalid_sort_field",
        description="favouriteColour",
    )


def test_status_info_set_list_error_only() -> None:
    (info,) = parse_status_infos(INVALID_FILTER_400)

    assert info.code_minor == "invalidfilterfield"
    assert info.code_minor_raw == "invalid_filter_field"
    assert info.description == "colour"
    assert info.is_error


def test_status_info_set_as_single_object() -> None:
    body = {
        "statusInfoSet": {
            "imsx_codeMajor": "failure",
            "imsx_severity": "error",
            "imsx_codeMinor": "unknown object",
            "imsx_description": "No user with sourcedId usr-404",
        }
    }

    (info,) = parse_status_infos(body)

    assert info.code_minor == "unknownobject"
    assert info.code_minor_raw == "unknown object"
    assert info.description == "No user with sourcedId usr-404"


def test_bare_imsx_object_at_root_with_nested_code_minor() -> None:
    (info,) = parse_status_infos(IMS_COMMON_404)

    assert info == StatusInfo(
        code_major="failure",
        severity="error",
        code_minor="unknownobject",
        code_minor_raw="unknownobject",
        description="not found",
    )


def test_nested_code_minor_field_as_single_object_and_lowercase_spelling() -> None:
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_codeMinor": {
            "imsx_codeMinorField": {
                "imsx_codeMinorFieldName": "TargetEndSystem",
                "imsx_codeMinorFieldValue": "forbidden",
            }
        },
    }

    (info,) = parse_status_infos(body)

    assert info.code_minor == "forbidden"


def test_nested_code_minor_with_several_fields_gives_one_info_each() -> None:
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": "two problems",
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "TargetEndSystem",
                    "imsx_codeMinorFieldValue": "invaliddata",
                },
                {
                    "imsx_codeMinorFieldName": "sourcedId",
                    "imsx_codeMinorFieldValue": "unknownobject",
                },
            ]
        },
    }

    infos = parse_status_infos(body)

    assert [info.code_minor for info in infos] == ["invaliddata", "unknownobject"]
    assert {info.description for info in infos} == {"two problems"}


def test_imsx_status_info_wrapper() -> None:
    body = {
        "imsx_statusInfo": {
            "imsx_codeMajor": "failure",
            "imsx_severity": "error",
            "imsx_codeMinor": {
                "imsx_codeMinorField": [
                    {
                        "imsx_codeMinorFieldName": "TargetEndSystem",
                        "imsx_codeMinorFieldValue": "invalid_selection_field",
                    }
                ]
            },
            "imsx_description": "fields: shoeSize",
            "imsx_messageRefIdentifier": "msg-42",
            "imsx_operationRefIdentifier": "getAllUsers",
        }
    }

    (info,) = parse_status_infos(body)

    assert info.code_minor == "invalidselectionfield"
    assert info.message_ref_identifier == "msg-42"
    assert info.operation_ref_identifier == "getAllUsers"


def test_status_info_set_wrapping_imsx_status_info_list() -> None:
    body = {
        "statusInfoSet": {
            "imsx_statusInfo": [
                {
                    "imsx_codeMajor": "success",
                    "imsx_severity": "status",
                    "imsx_codeMinor": "full success",
                }
            ]
        }
    }

    (info,) = parse_status_infos(body)

    assert info.code_minor == "fullsuccess"


def test_non_prefixed_capitalised_keys() -> None:
    body = {
        "CodeMajor": "failure",
        "Severity": "error",
        "CodeMinor": "invalid data",
        "Description": "score must be a number",
    }

    (info,) = parse_status_infos(body)

    assert (info.code_major, info.severity, info.code_minor, info.description) == (
        "failure",
        "error",
        "invaliddata",
        "score must be a number",
    )


def test_lower_camel_keys_inside_status_info_set() -> None:
    body = {
        "statusInfoSet": [
            {
                "codeMajor": "failure",
                "severity": "error",
                "codeMinor": "server_busy",
                "description": "slow down",
            }
        ]
    }

    (info,) = parse_status_infos(body)

    assert info.code_minor == "serverbusy"
    assert info.description == "slow down"


def test_oauth_style_error_becomes_code_minor() -> None:
    body = {
        "error": "insufficient_scope",
        "error_description": "scope gradebook.createput required",
    }

    (info,) = parse_status_infos(body)

    assert info.code_minor == "insufficientscope"
    assert info.code_minor_raw == "insufficient_scope"
    assert info.description == "scope gradebook.createput required"
    assert info.is_error


def test_plain_error_string_without_description() -> None:
    (info,) = parse_status_infos({"error": "invalid_token"})

    assert info.code_minor == "invalidtoken"
    assert info.description is None


def test_google_style_error_object() -> None:
    body = {
        "error": {
            "code": 403,
            "message": "The caller does not have permission",
            "status": "PERMISSION_DENIED",
        }
    }

    (info,) = parse_status_infos(body)

    assert info.code_minor == "permissiondenied"
    assert info.description == "The caller does not have permission"


def test_bare_list_of_status_infos() -> None:
    body = [{"imsx_codeMajor": "failure", "imsx_severity": "error", "imsx_codeMinor": "forbidden"}]

    assert [info.code_minor for info in parse_status_infos(body)] == ["forbidden"]


def test_non_string_values_are_read_as_text_or_ignored() -> None:
    body = {
        "statusInfoSet": [{"imsx_codeMajor": 0, "imsx_severity": ["error"], "imsx_codeMinor": 404}]
    }

    (info,) = parse_status_infos(body)

    assert info.code_major == "0"
    assert info.severity is None
    assert info.code_minor == "404"


def test_bytes_and_str_bodies_are_decoded() -> None:
    raw = json.dumps(INVALID_FILTER_400)

    assert parse_status_infos(raw) == parse_status_infos(INVALID_FILTER_400)
    assert parse_status_infos(raw.encode()) == parse_status_infos(INVALID_FILTER_400)
    assert parse_status_infos(b"\xef\xbb\xbf" + raw.encode()) == parse_status_infos(
        INVALID_FILTER_400
    )


def _deep_list(depth: int) -> object:
    node: object = {"imsx_codeMajor": "failure"}
    for _ in range(depth):
        node = [node]
    return node


@pytest.mark.parametrize(
    "body",
    [
        None,
        42,
        True,
        "Unauthorized",
        "",
        b"",
        b"<html><body>502 Bad Gateway</body></html>",
        b'{"statusInfoSet": [{"imsx_codeMajor": "fail',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
        [],
        {},
        {"users": []},
        {"users": [{"sourcedId": "u-1", "description": "a record, not a status"}]},
        {"lineItem": {"sourcedId": "li-1", "description": "Quiz 1"}},
        {"description": "too weak a sign at the root"},
        {"statusInfoSet": "nonsense"},
        {"statusInfoSet": [1, None, "x", []]},
        {"statusInfoSet": [{"unrelated": True}]},
        {"error": None},
        {"error": {"unrelated": 1}},
        {1: "non-string key"},
        _deep_list(50),
    ],
)
def test_odd_bodies_give_no_status_infos_and_never_raise(body: object) -> None:
    assert parse_status_infos(body) == ()


# --- warnings_from_body -------------------------------------------------------------------


def test_warnings_from_a_successful_listing() -> None:
    (warning,) = warnings_from_body(USERS_WITH_SORT_WARNING)

    assert warning.is_warning
    assert warning.code_minor == "invalidsortfield"
    assert warning.description == "favouriteColour"


def test_plain_success_reports_are_not_warnings() -> None:
    body = {
        "users": [],
        "statusInfoSet": [
            {
                "imsx_codeMajor": "success",
                "imsx_severity": "status",
                "imsx_codeMinor": "full success",
            },
            {
                "imsx_codeMajor": "success",
                "imsx_severity": "warning",
                "imsx_codeMinor": "invalid_selection_field",
                "imsx_description": "shoeSize",
            },
        ],
    }

    assert [w.code_minor for w in warnings_from_body(body)] == ["invalidselectionfield"]


def test_warnings_from_single_object_status_info_set_and_bytes() -> None:
    body = {
        "class": {"sourcedId": "cls-1", "title": "Algebra I - P3"},
        "statusInfoSet": {
            "imsx_codeMajor": "success",
            "imsx_severity": "warning",
            "imsx_codeMinor": "invalid_selection_field",
        },
    }

    assert len(warnings_from_body(json.dumps(body).encode())) == 1


def test_success_without_severity_is_not_a_warning_but_processing_is_shown() -> None:
    body = {
        "users": [],
        "statusInfoSet": [{"imsx_codeMajor": "success"}, {"imsx_codeMajor": "processing"}],
    }

    assert [w.code_major for w in warnings_from_body(body)] == ["processing"]


@pytest.mark.parametrize(
    "body",
    [
        {"users": [{"sourcedId": "u-1", "description": "x", "severity": "error"}]},
        {"imsx_codeMajor": "success", "imsx_severity": "warning"},  # no data-side container
        [{"statusInfoSet": []}],
        None,
        b"not json",
    ],
)
def test_no_warnings_without_a_status_container(body: object) -> None:
    assert warnings_from_body(body) == ()


# --- error_from_response ------------------------------------------------------------------


def _error(
    status_code: int,
    body: object = b"",
    *,
    method: str = "GET",
    url: str = f"{BASE}/users",
    headers: dict[str, str] | None = None,
    attempts: int = 1,
) -> APIError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return error_from_response(
        method=method,
        url=url,
        status_code=status_code,
        headers=headers or {},
        body=raw,
        attempts=attempts,
    )


@pytest.mark.parametrize(
    ("status_code", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
        (405, APIError),
        (409, APIError),
        (418, APIError),
        (499, APIError),
        (302, APIError),
    ],
)
def test_status_maps_to_exception_class(status_code: int, error_class: type[APIError]) -> None:
    error = _error(status_code)

    assert type(error) is error_class
    assert error.status_code == status_code
    assert error.method == "GET"
    assert error.url == f"{BASE}/users"
    assert "GET /ims/oneroster/v1p1/users " in str(error)
    assert f"HTTP {status_code}" in str(error)
    assert "\n" not in str(error)
    assert "sis.example.edu" not in str(error)


def test_400_invalid_filter_field_names_the_field() -> None:
    error = _error(400, INVALID_FILTER_400, url=f"{BASE}/users?filter=colour%3D%27red%27")

    assert isinstance(error, BadRequestError)
    assert error.code_minors == ("invalidfilterfield",)
    assert "'colour'" in str(error)
    assert "invalid_filter_field" in str(error)
    assert str(error).startswith(
        "GET /ims/oneroster/v1p1/users?filter=colour='REDACTED' was refused"
    )


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("invalid_blank_selection_field", "fields parameter was empty"),
        ("invalid_sort_field", "sort field 'colour'"),
        ("invalid_selection_field", "fields field 'colour'"),
        ("invalid_limit_field", "limit or offset"),
        ("invalid data", "server said: invalid data 'colour'"),
    ],
)
def test_400_other_tokens_explain_the_parameter(token: str, expected: str) -> None:
    body = {
        "statusInfoSet": [
            {
                "imsx_codeMajor": "failure",
                "imsx_severity": "error",
                "imsx_codeMinor": token,
                "imsx_description": "colour",
            }
        ]
    }

    assert expected in str(_error(400, body))


def test_400_with_empty_body_hints_at_oauth1_parameters() -> None:
    assert "OAuth 1 parameters" in str(_error(400, b""))


def test_401_message_says_what_to_check() -> None:
    message = str(
        _error(
            401,
            {
                "statusInfoSet": [
                    {
                        "imsx_codeMajor": "failure",
                        "imsx_severity": "error",
                        "imsx_codeMinor": "unauthorized",
                    }
                ]
            },
        )
    )

    assert message.startswith(
        "GET /ims/oneroster/v1p1/users was refused (HTTP 401 unauthorized): the server did not "
        "accept the credentials; check the key/client_id and secret, and for OAuth 2 the token URL"
    )
    assert "server said: unauthorized" in message


def test_401_invalid_token() -> None:
    message = str(_error(401, {"error": "invalid_token", "error_description": "token expired"}))

    assert "invalid_token" in message
    assert "token expired" in message


def test_403_insufficient_scope_names_the_scope_to_request() -> None:
    error = _error(403, {"error": "insufficient_scope"}, method="put", url=f"{BASE}/lineItems/li-1")

    assert isinstance(error, PermissionDeniedError)
    assert "insufficient_scope" in str(error)
    assert "gradebook.createput" in str(error)
    assert str(error).startswith(
        "PUT /ims/oneroster/v1p1/lineItems/li-1 was refused (HTTP 403 forbidden)"
    )


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/users", "roster-core.readonly"),
        ("GET", "/demographics/d-1", "roster-demographics.readonly"),
        ("GET", "/resources", "resource.readonly"),
        ("GET", "/classes/c-1/results", "gradebook.readonly"),
        ("DELETE", "/results/r-1", "gradebook.delete"),
        ("PUT", "/categories/cat-1", "gradebook.createput"),
    ],
)
def test_403_mentions_scopes(method: str, path: str, scope: str) -> None:
    message = str(_error(403, b"", method=method, url=f"{BASE}{path}"))

    assert "scope" in message
    assert scope in message


def test_404_says_the_sourced_id_or_parent_was_not_found() -> None:
    error = _error(404, IMS_COMMON_404, url=f"{BASE}/classes/cls-404/students")

    assert isinstance(error, NotFoundError)
    assert "GET /ims/oneroster/v1p1/classes/cls-404/students" in str(error)
    assert "sourcedId or a parent id" in str(error)
    assert "'not found'" in str(error)
    assert error.code_minors == ("unknownobject",)


def test_422_includes_the_server_description() -> None:
    body = {
        "statusInfoSet": [
            {
                "imsx_codeMajor": "failure",
                "imsx_severity": "error",
                "imsx_codeMinor": "invalid data",
                "imsx_description": "lineItem.class is required",
            }
        ]
    }

    error = _error(422, body, method="PUT", url=f"{BASE}/lineItems/li-1")

    assert isinstance(error, UnprocessableEntityError)
    assert "could not validate the record" in str(error)
    assert "lineItem.class is required" in str(error)


def test_429_retry_after_seconds() -> None:
    error = _error(429, b"", headers={"Retry-After": "30"})

    assert isinstance(error, RateLimitError)
    assert error.retry_after == 30.0
    assert "rate limited" in str(error)
    assert "30 s" in str(error)


def test_429_retry_after_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)

    error = _error(429, b"", headers={"retry-after": when})

    assert isinstance(error, RateLimitError)
    assert error.retry_after is not None
    assert 88.0 <= error.retry_after <= 90.0


def test_429_without_or_with_unreadable_retry_after() -> None:
    for headers in ({}, {"Retry-After": "later"}):
        error = _error(429, {"statusInfoSet": [{"imsx_codeMinor": "server_busy"}]}, headers=headers)
        assert isinstance(error, RateLimitError)
        assert error.retry_after is None
        assert "retry later" in str(error)


def test_5xx_says_server_error_and_how_often_it_was_tried() -> None:
    error = _error(
        503, b"<html><h1>Service Unavailable</h1></html>", attempts=5, headers={"Retry-After": "5"}
    )

    assert isinstance(error, ServerError)
    assert "server error" in str(error)
    assert "gave up after 5 attempts" in str(error)
    assert not hasattr(error, "retry_after")
    assert error.status_infos == ()
    assert error.body_excerpt == "<html><h1>Service Unavailable</h1></html>"


def test_single_attempt_is_not_mentioned() -> None:
    assert "attempts" not in str(_error(500))


@pytest.mark.parametrize(
    "header", ["X-Request-Id", "X-Request-ID", "Request-Id", "x-correlation-id"]
)
def test_request_id_is_read_from_common_headers(header: str) -> None:
    error = _error(500, headers={header: "req-7f3a"})

    assert error.request_id == "req-7f3a"
    assert "req-7f3a" in str(error)


def test_no_request_id() -> None:
    assert _error(500).request_id is None


def test_empty_body_has_no_excerpt() -> None:
    error = _error(404, b"")

    assert error.body_excerpt is None
    assert error.status_infos == ()


def test_truncated_json_body_still_gives_a_redacted_excerpt() -> None:
    error = _error(401, b'{"error": "invalid_client", "access_token": "2YotnFZFEjr1zCsicMW')

    assert error.status_infos == ()
    assert error.body_excerpt is not None
    assert "2YotnFZFEjr1zCsicMW" not in error.body_excerpt
    assert error.body_excerpt.startswith('{"error": "invalid_client"')


def test_excerpt_is_at_most_300_characters() -> None:
    error = _error(500, b"x" * 10_000)

    assert error.body_excerpt == "x" * 300


def test_non_utf8_body_is_tolerated() -> None:
    error = _error(400, "Ung\xfcltiger Filter".encode("latin-1"))

    assert isinstance(error, BadRequestError)
    assert error.body_excerpt is not None


SECRETS = [
    "url-access-token-77",
    "hunter2-password",
    "sig-ZKGNHRJcYYvu3iQJ",
    "body-client-secret-55",
    "body-access-token-66",
    "echoed-refresh-token",
]


@pytest.mark.parametrize("status_code", [400, 401, 403, 404, 422, 429, 500, 503, 409])
def test_no_secret_from_url_or_body_reaches_message_url_or_excerpt(status_code: int) -> None:
    url = (
        "https://svc:hunter2-password@sis.example.edu/ims/oneroster/v1p1/users"
        "?access_token=url-access-token-77&oauth_signature=sig-ZKGNHRJcYYvu3iQJ&limit=10"
    )
    body = {
        "statusInfoSet": [
            {
                "imsx_codeMajor": "failure",
                "imsx_severity": "error",
                "imsx_codeMinor": "invalid data",
                # A server that echoes the token it rejected.
                "imsx_description": (
                    "token url-access-token-77 rejected; refresh_token=echoed-refresh-token"
                ),
            }
        ],
        "client_secret": "body-client-secret-55",
        "debug": {"access_token": "body-access-token-66"},
    }

    error = _error(status_code, body, url=url)

    for text in (str(error), error.url or "", error.body_excerpt or ""):
        for secret in SECRETS:
            assert secret not in text
    assert "limit=10" in str(error)


def test_description_in_message_is_one_line_and_bounded() -> None:
    body = {
        "statusInfoSet": [
            {
                "imsx_codeMinor": "invalid data",
                "imsx_description": "line one\nline two " + "x" * 500,
            }
        ]
    }

    message = str(_error(400, body))

    assert "\n" not in message
    assert "line one line two" in message
    assert len(message) < 800


@given(
    status_code=st.integers(min_value=100, max_value=599),
    body=st.binary(max_size=300),
    method=st.sampled_from(["GET", "PUT", "DELETE", "post"]),
)
def test_error_from_response_never_raises(status_code: int, body: bytes, method: str) -> None:
    error = error_from_response(
        method=method, url=f"{BASE}/users", status_code=status_code, headers={}, body=body
    )

    assert isinstance(error, APIError)
    assert "\n" not in str(error)


# --- module layering ---------------------------------------------------------------------

PACKAGE = Path(oneroster_client.__file__).parent
LOW_MODULES = {
    "status_info": set(),
    "_redact": set(),
    "errors": {"status_info"},
    "_urls": {"_redact", "errors"},
    "retry": {"errors"},
}


def _package_imports(module: str) -> set[str]:
    """Package modules imported by ``module``, TYPE_CHECKING blocks and functions included."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] != "oneroster_client" or len(parts) < 2:
                continue
            if (PACKAGE / f"{parts[1]}.py").exists():
                found.add(parts[1])
    return found


@pytest.mark.parametrize("module", sorted(LOW_MODULES))
def test_low_modules_import_only_what_lies_below_them(module: str) -> None:
    # errors -> status -> retry -> errors used to be a circle; these modules must stay
    # importable on their own, below transport, paging, client, models and converter.
    assert _package_imports(module) - {module} <= LOW_MODULES[module]


def test_status_re_exports_status_info_for_compatibility() -> None:
    from oneroster_client import status, status_info

    assert status.StatusInfo is status_info.StatusInfo
    assert status.normalize_code_minor is status_info.normalize_code_minor


def test_404_on_a_top_level_listing_points_at_the_base_url_even_with_unknownobject() -> None:
    # Servers (the loopback one among them) answer a path they do not serve with
    # "unknown object"; a top-level listing names no id, so the id hint would mislead.
    error = _error(404, IMS_COMMON_404, url="https://sis.example.org/wrong/v1p1/users")

    assert "nothing is served at this path; check the base URL" in str(error)
    assert "sourcedId or a parent id" not in str(error)
