"""Pre-issued tokens show nothing of themselves in reprs, whichever service they are for."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from oneroster_client.auth import BearerToken
from oneroster_client.buzz.auth import BuzzToken

_TOKEN = st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=1, max_size=80)


@given(token=_TOKEN)
def test_bearer_and_buzz_tokens_are_shown_alike_and_fully_hidden(token: str) -> None:
    bearer, buzz = repr(BearerToken(token)), repr(BuzzToken(token))
    assert bearer == "BearerToken(token='***')"
    assert buzz == "BuzzToken(token='***')"


def test_the_trial_token_shows_no_characters() -> None:
    shown = repr(BuzzToken("tok-secret-value-1234"))
    assert "to" not in shown.replace("token=", "")
    assert "34" not in shown
