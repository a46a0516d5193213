"""Tests for oneroster_client._redact: URLs, free text and masks never show a secret."""

from __future__ import annotations

import pytest

from oneroster_client._redact import (
    REDACTED,
    mask,
    redact_text,
    redact_url,
    secret_query_values,
)

BASE = "https://sis.example.edu/ims/oneroster/v1p1"


@pytest.mark.parametrize(
    "name",
    [
        "access_token",
        "token",
        "client_secret",
        "secret",
        "password",
        "api_key",
        "key",
        "oauth_signature",
        "oauth_nonce",
        "refresh_token",
        "accessToken",
        "Client-Secret",
        "x-api-key",
    ],
)
def test_redact_url_replaces_secret_query_values(name: str) -> None:
    url = f"{BASE}/users?limit=100&{name}=s3cr3t-VALUE-9&offset=0"

    redacted = redact_url(url)

    assert "s3cr3t-VALUE-9" not in redacted
    assert f"{name}={REDACTED}" in redacted
    assert "limit=100" in redacted
    assert "offset=0" in redacted


def test_redact_url_removes_userinfo_and_keeps_host_and_port() -> None:
    redacted = redact_url("https://alice:pa55word@sis.example.edu:8443/ims/oneroster/v1p1/orgs")

    assert redacted == "https://sis.example.edu:8443/ims/oneroster/v1p1/orgs"


def test_redact_url_masks_consumer_key_and_redacts_oauth1_signature_and_nonce() -> None:
    url = (
        f"{BASE}/users?oauth_consumer_key=district-key-7781&oauth_nonce=abc123nonce"
        "&oauth_signature=ZKGNHRJcYYvu3iQJDy7n8Np%2BdcGs4dsCezAppYfwrh4%3D"
        "&oauth_signature_method=HMAC-SHA256&oauth_timestamp=1700000000"
    )

    redacted = redact_url(url)

    assert "oauth_consumer_key=di…81" in redacted
    assert "district-key-7781" not in redacted
    assert "abc123nonce" not in redacted
    assert "ZKGNHRJc" not in redacted
    assert "oauth_signature_method=HMAC-SHA256" in redacted
    assert "oauth_timestamp=1700000000" in redacted


def test_redact_url_masks_filter_literals_but_keeps_field_names() -> None:
    url = f"{BASE}/users?filter=givenName%3D%27Colin%20Robert%27%20AND%20role%3D%27student%27"

    redacted = redact_url(url)

    assert "Colin" not in redacted
    assert "givenName='REDACTED'" in redacted
    assert "role='REDACTED'" in redacted
    assert "AND" in redacted


def test_redact_url_masks_unterminated_filter_literal() -> None:
    assert "Doe" not in redact_url(f"{BASE}/users?filter=familyName%3D%27Doe")


def test_redact_url_keeps_ordinary_urls_unchanged() -> None:
    url = f"{BASE}/schools/sch-1/classes?limit=50&offset=100&sort=title&orderBy=asc&fields=title"

    assert redact_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "/users?access_token=abcdefgh123",
        "users?flag&access_token=abcdefgh123",
        "https://h.example/cb#access_token=abcdefgh123&state=1",
    ],
)
def test_redact_url_handles_relative_urls_bare_flags_and_fragments(url: str) -> None:
    assert "abcdefgh123" not in redact_url(url)


def test_redact_url_never_raises_on_unparseable_url() -> None:
    redacted = redact_url("http://[::1/users?access_token=abcdefgh123")

    assert "abcdefgh123" not in redacted


def test_secret_query_values_lists_decoded_secrets_and_userinfo_password() -> None:
    url = "https://u:pass%40word@h.example/users?token=a%2Bb%2Fc&limit=5&client_secret=xyz"

    assert set(secret_query_values(url)) == {"pass@word", "a+b/c", "xyz"}
    assert secret_query_values("http://[::1") == ()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ('{"access_token": "eyAbc.def-123", "token_type": "bearer"}', "eyAbc.def-123"),
        ('{"client_secret":"quoted \\"inner\\" value"}', "inner"),
        ("grant_type=client_credentials&client_secret=s3cr3t&scope=x", "s3cr3t"),
        ('OAuth oauth_consumer_key="k", oauth_signature="abc%3D%3D", oauth_nonce="n0nce"', "abc"),
        ('OAuth oauth_consumer_key="k", oauth_signature="abc%3D%3D", oauth_nonce="n0nce"', "n0nce"),
        ("Authorization: Bearer 2YotnFZFEjr1zCsicMWpAA", "2YotnFZFEjr1zCsicMWpAA"),
        ("authorization: basic dGVzdC1rZXk6dGVzdC1zZWNyZXQ=", "dGVzdC1rZXk6dGVzdC1zZWNyZXQ"),
        ("password: hunter22", "hunter22"),
        ("{'refresh_token': 'tGzv3JOkF0XG5Qx2TlKWIA'}", "tGzv3JOkF0XG5Qx2TlKWIA"),
        ('{"password": 123456789}', "123456789"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl seen", "eyJzdWIiOiJ4In0"),
        # Truncated body: the closing quote never arrived.
        ('{"statusInfoSet": [], "access_token": "2YotnFZFEjr1zCs', "2YotnFZFEjr1zCs"),
    ],
)
def test_redact_text_removes_token_looking_values(text: str, secret: str) -> None:
    redacted = redact_text(text)

    assert secret not in redacted
    assert REDACTED in redacted


def test_redact_text_keeps_json_shape_and_harmless_keys() -> None:
    text = '{"access_token": "abc-123-xyz", "token_type": "bearer", "tokenUrl": "https://t/x"}'

    assert redact_text(text) == (
        '{"access_token": "REDACTED", "token_type": "bearer", "tokenUrl": "https://t/x"}'
    )


def test_redact_text_leaves_ordinary_status_text_alone() -> None:
    text = '{"imsx_codeMinor": "invalid_filter_field", "imsx_description": "colour"}'

    assert redact_text(text) == text


def test_redact_text_replaces_given_secrets_in_plain_and_percent_encoded_form() -> None:
    text = "echo: my secret/value+1 and my%20secret%2Fvalue%2B1 and my+secret%2Fvalue%2B1"

    redacted = redact_text(text, ["my secret/value+1"])

    assert redacted == f"echo: {REDACTED} and {REDACTED} and {REDACTED}"


def test_redact_text_ignores_secrets_too_short_to_matter() -> None:
    assert redact_text("description", ["p", "", "ab"]) == "description"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("test-key", "te…ey"), ("district-key-7781", "di…81"), ("short12", "***"), ("", "***")],
)
def test_mask(value: str, expected: str) -> None:
    assert mask(value) == expected
