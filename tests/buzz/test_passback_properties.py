"""Property: whatever teachers enter in Buzz, a passback over real HTTP leaves the SIS
holding exactly those grades, and accounts for every score once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_passback_world import EXEMPT, NOT_SUBMITTED, World

ITEMS = {"p1": 10.0, "p2": 7.5}

score = st.tuples(
    st.one_of(
        st.none(),
        st.just(0.0),
        st.floats(min_value=0, max_value=1000, allow_nan=False),
        st.floats(min_value=-5, max_value=-0.01),
    ),
    st.sampled_from([0, EXEMPT, NOT_SUBMITTED, 0x4]),
)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    built = World()
    yield built
    built.close()


def _expected(achieved: float | None, status: int) -> tuple[str, float | None] | None:
    if status & EXEMPT:
        return ("exempt", None)
    if achieved is not None and achieved < 0:
        return None  # refused
    if status & NOT_SUBMITTED:
        return ("not submitted", achieved)
    return ("fully graded", achieved) if achieved is not None else None


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_sis_holds_exactly_what_buzz_holds(world: World, data: Any) -> None:
    enrollments = sorted({g.enrollment_id for g in world.grades})
    entered = {
        (enrollment, item): data.draw(score, label=f"{enrollment}/{item}")
        for enrollment in enrollments
        for item in ITEMS
    }
    for (enrollment, item), (achieved, status) in entered.items():
        world.buzz_server.set_grade(
            enrollment, achieved, ITEMS[item], itemid=item, title=item, status=status
        )
    report = world.run(history=None)
    results = report.counts["results"]
    scores = len(enrollments) * (3 + len(ITEMS))  # the seeded items and these
    assert sum(results.values()) + report.ungraded == scores
    assert report.failures == []
    held = world.sis("results")
    refused = {r.reference for r in report.refusals}
    for (enrollment, item), (achieved, status) in entered.items():
        expected = _expected(achieved, status)
        sourced_id = f"buzz-{enrollment}-{item}"
        if expected is None:
            # refused with a reason (a negative score), or not graded: nothing sent
            assert (sourced_id in refused) == (achieved is not None)
            continue
        row = held[sourced_id]
        assert (row["scoreStatus"], row.get("score")) == expected
