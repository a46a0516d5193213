"""Property tests: redaction never raises and never lets a known secret through."""

from __future__ import annotations

import base64
from urllib.parse import quote

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from oneroster_client._redact import (
    authorization_secrets,
    filter_literals,
    redact_text,
    redact_url,
    secret_query_values,
)
from oneroster_client.transport import encode_query

BASE = "https://sis.example.org/ims/oneroster/v1p1/users"

secrets = st.text(alphabet="0123456789", min_size=6, max_size=30)
prose = st.text(alphabet=st.characters(blacklist_categories=("Nd", "Cs")), max_size=60)
token_chars = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/",
    min_size=8,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.lists(st.text(max_size=20), max_size=4))
def test_redact_text_never_raises(text: str, known: list[str]) -> None:
    assert isinstance(redact_text(text, known), str)


@settings(max_examples=300, deadline=None)
@given(secrets, prose, prose, st.booleans())
def test_a_known_secret_never_survives_redaction(
    secret: str, before: str, after: str, percent_encoded: bool
) -> None:
    shown = quote(secret, safe="") if percent_encoded else secret

    assert secret not in redact_text(before + shown + after, [secret])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_redact_url_never_raises(url: str) -> None:
    assert isinstance(redact_url(url), str)
    assert isinstance(secret_query_values(url), tuple)
    assert isinstance(filter_literals(url), tuple)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["access_token", "client_secret", "oauth_signature", "api_key", "token"]),
    token_chars,
)
def test_secret_query_values_are_found_and_hidden(name: str, value: str) -> None:
    # A "secret" spelled like the placeholder would be found in its own replacement.
    assume(value not in "REDACTED")
    url = f"{BASE}?limit=10&{encode_query([(name, value)])}"

    assert value in secret_query_values(url)
    assert quote(value, safe="") not in redact_url(url)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["email", "givenName", "sourcedId"]), st.text(min_size=1, max_size=30))
def test_filter_literals_give_back_every_value_sent(field: str, value: str) -> None:
    value = value.replace("'", "")
    expression = f"{field}='{value}'"
    url = f"{BASE}?{encode_query([('filter', expression)])}"

    assert filter_literals(url) == ((value,) if value else ())


@settings(max_examples=200, deadline=None)
@given(token_chars)
def test_bearer_and_basic_credentials_are_extracted(token: str) -> None:
    assert token in authorization_secrets(f"Bearer {token}")
    encoded = base64.b64encode(f"client-id:{token}".encode()).decode()
    basic = authorization_secrets(f"Basic {encoded}")
    assert encoded in basic
    assert token in basic


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=80), st.binary(max_size=80)))
def test_authorization_secrets_never_raise(header: str | bytes | None) -> None:
    found = authorization_secrets(header)

    assert all(isinstance(value, str) and value for value in found)
