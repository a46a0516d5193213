"""OAuth 1 signing on authlib's RFC 5849 code: what this project adds must not leak into authlib.

HMAC-SHA256 lives on the project's own ``ClientAuth`` subclass; authlib's shared method
table stays as authlib ships it. Signatures are compared with ``oauthlib``, an independent
implementation, including the cases authlib's own base string gets wrong.
"""

from __future__ import annotations

import requests
from authlib.oauth1 import ClientAuth
from hypothesis import given, settings
from hypothesis import strategies as st
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, Client

from oneroster_client.auth import OAuth1, parse_authorization_header, signature_base_string
from oneroster_client.auth._rfc5849 import OneRosterClientAuth

URL = "https://sis.example.edu/ims/oneroster/v1p1/users?filter=familyName%3D%27O%27Brien%27"


def ours(key: str, secret: str, method: str, url: str = URL) -> str:
    auth = OAuth1(key, secret, method, clock=lambda: 1_700_000_000, nonce_factory=lambda: "n1")
    request = requests.Request("GET", url, auth=auth).prepare()
    return parse_authorization_header(request.headers["Authorization"])["oauth_signature"]


def oauthlib_signature(key: str, secret: str, method: str, url: str = URL) -> str:
    algorithm = SIGNATURE_HMAC_SHA256 if method == "HMAC-SHA256" else SIGNATURE_HMAC_SHA1
    client = Client(
        key, client_secret=secret, signature_method=algorithm, nonce="n1", timestamp="1700000000"
    )
    _, headers, _ = client.sign(url, "GET")
    return parse_authorization_header(headers["Authorization"])["oauth_signature"]


def test_hmac_sha256_is_registered_on_the_subclass_only() -> None:
    ours("key", "secret", "HMAC-SHA256")  # signing builds and uses the subclass

    assert "HMAC-SHA256" in OneRosterClientAuth.SIGNATURE_METHODS
    assert "HMAC-SHA256" not in ClientAuth.SIGNATURE_METHODS
    assert OneRosterClientAuth.SIGNATURE_METHODS is not ClientAuth.SIGNATURE_METHODS
    assert set(ClientAuth.SIGNATURE_METHODS) == {"HMAC-SHA1", "RSA-SHA1", "PLAINTEXT"}


def test_authlibs_own_client_still_signs_as_before() -> None:
    ours("key", "secret", "HMAC-SHA1")

    _, headers, _ = ClientAuth("key", "secret").sign("GET", URL, {}, b"")

    params = parse_authorization_header(headers["Authorization"])
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    assert "oauth_signature" in params


def test_percent_sign_in_the_consumer_key_is_signed_once_decoded() -> None:
    # authlib's construct_base_string decodes oauth_* values a second time, which would sign
    # "a%41b" as "aAb"; the header carries "a%2541b" and a server decodes it once.
    for method in ("HMAC-SHA256", "HMAC-SHA1"):
        assert ours("a%41b", "secret", method) == oauthlib_signature("a%41b", "secret", method)


def test_ipv6_literal_with_default_port_drops_the_port() -> None:
    base = signature_base_string("GET", "http://[::1]:80/users", {})
    with_port = signature_base_string("GET", "http://[::1]:8080/users", {})

    assert base == "GET&http%3A%2F%2F%5B%3A%3A1%5D%2Fusers&"
    assert with_port == "GET&http%3A%2F%2F%5B%3A%3A1%5D%3A8080%2Fusers&"


KEYS = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12)


@settings(max_examples=100, deadline=None)
@given(key=KEYS, secret=KEYS, method=st.sampled_from(["HMAC-SHA256", "HMAC-SHA1"]))
def test_property_any_key_and_secret_sign_like_oauthlib(key: str, secret: str, method: str) -> None:
    assert ours(key, secret, method) == oauthlib_signature(key, secret, method)
