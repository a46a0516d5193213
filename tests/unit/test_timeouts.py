"""Request timeouts: a finite number of seconds more than 0, or a ``(connect, read)`` pair.

0 would fail every request; a negative timeout means nothing; NaN, infinity or ``None``
would let a silent server hold a request for ever. Each is refused when the client (or
the OAuth 2 auth) is made, with a message naming ``timeout`` and the allowed range.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneroster_client import OneRosterClient
from oneroster_client.auth import OAuth2ClientCredentials
from oneroster_client.errors import ConfigurationError
from oneroster_client.transport import check_timeout

BASE_URL = "https://sis.example.org/ims/oneroster/v1p1"

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**6), max_value=10**6),
)


def _fine(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


@given(numbers)
def test_a_single_timeout_is_taken_only_when_finite_and_positive(value: float) -> None:
    if _fine(value):
        client = OneRosterClient(BASE_URL, auth=None, timeout=value)
        assert client._transport.timeout == float(value)
        client.close()
    else:
        with pytest.raises(ConfigurationError, match=r"timeout must be .*more than 0") as caught:
            OneRosterClient(BASE_URL, auth=None, timeout=value)
        assert "(connect, read)" in str(caught.value)


@given(numbers, numbers)
def test_a_connect_read_pair_is_taken_only_when_both_parts_are(connect: float, read: float) -> None:
    if _fine(connect) and _fine(read):
        assert check_timeout((connect, read)) == (float(connect), float(read))
        return
    with pytest.raises(ConfigurationError, match="timeout must be") as caught:
        OneRosterClient(BASE_URL, auth=None, timeout=(connect, read))
    named = re.search(r"the (.+) parts? (?:is|are) not", str(caught.value))
    assert named is not None
    wrong = [name for name, part in (("connect", connect), ("read", read)) if not _fine(part)]
    assert named[1] == " and ".join(wrong)


@pytest.mark.parametrize("value", [None, "30", True, (1.0,), (1.0, 2.0, 3.0), [1.0, None]])
def test_other_timeouts_are_refused(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="timeout must be"):
        OneRosterClient(BASE_URL, auth=None, timeout=value)


def test_a_list_pair_becomes_the_tuple_requests_needs() -> None:
    assert check_timeout([3, 10]) == (3.0, 10.0)


@pytest.mark.parametrize("value", [0, -5, math.nan, math.inf])
def test_oauth2_timeout_is_checked_too(value: float) -> None:
    with pytest.raises(ConfigurationError, match="timeout must be a finite number"):
        OAuth2ClientCredentials(
            "https://sis.example.org/oauth/token", "id", "s3cret", timeout=value
        )
