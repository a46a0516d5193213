"""Property tests: batch answers map to inputs by position, whatever the mix of codes;
the budget pause and backoff stay within their bounds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneroster_client.buzz import BuzzClient, BuzzRetryPolicy, BuzzToken
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer

UA = "oneroster-client-tests/1.0 (buzz property tests)"


class Scripted:
    """One scripted server for all examples; each example sets the answers it wants."""

    def __init__(self) -> None:
        self.codes: list[Any] = []
        self.lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        with self.lock:
            answers = [
                {"code": code, "message": f"m{i}", "errorId": f"e{i}"} if code else {}
                for i, code in enumerate(self.codes)
            ]
        return Reply(200, body={"response": {"code": "OK", "responses": {"response": answers}}})


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Scripted, BuzzClient]]:
    script = Scripted()
    with ScriptedServer(script) as server:
        client = BuzzClient(
            server.origin,
            auth=BuzzToken("property-token-0123456789"),
            user_agent=UA,
            retry=BuzzRetryPolicy.none(),
            timeout=2.0,
        )
        yield script, client


_codes = st.lists(
    st.one_of(st.just("OK"), st.sampled_from(["BadRequest", "AccessDenied", "ok", ""])),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(codes=_codes)
def test_every_item_is_classified_by_its_own_code(
    scripted: tuple[Scripted, BuzzClient], codes: list[str]
) -> None:
    script, client = scripted
    script.codes = codes
    items = [{"userid": str(n)} for n in range(len(codes))]
    result = client.batch("updateusers", "user", items)
    assert len(result) == len(items)
    assert [pair.input for pair in result.succeeded] == [
        item for item, code in zip(items, codes, strict=True) if code == "OK"
    ]
    assert [(f.index, f.input) for f in result.failed] == [
        (i, items[i]) for i, code in enumerate(codes) if code != "OK"
    ]
    for failure in result.failed:
        assert failure.code == (codes[failure.index] or "MissingCode")
    assert result.ok == all(code == "OK" for code in codes)


@given(
    provisioned=st.floats(min_value=1, max_value=1e6),
    share=st.floats(min_value=-0.5, max_value=1.5),
    threshold=st.floats(min_value=0, max_value=1),
)
def test_budget_pause_is_bounded_and_zero_above_the_threshold(
    provisioned: float, share: float, threshold: float
) -> None:
    policy = BuzzRetryPolicy(budget_threshold=threshold, budget_pause=2.0)
    remaining = provisioned * share
    headers = {"X-Provisioned-Ms": str(provisioned), "X-Provisioned-Ms-Remaining": str(remaining)}
    pause = policy.budget_delay(headers)
    assert 0.0 <= pause <= 2.0
    if remaining >= threshold * provisioned:
        assert pause == 0.0


@given(retry=st.integers(min_value=1, max_value=500), draw=st.floats(min_value=0, max_value=0.999))
def test_backoff_doubles_within_the_cap(retry: int, draw: float) -> None:
    policy = BuzzRetryPolicy(random=lambda: draw)
    ceiling = min(64.0, 2.0 ** (retry - 1))
    assert ceiling / 2 <= policy.backoff(retry) <= ceiling
