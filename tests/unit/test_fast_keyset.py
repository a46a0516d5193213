"""The compact set a listing remembers record keys in behaves exactly like a Python set.

Listings remember the key of every record handed out to tell a repeated record from a new
one. The compact table must answer exactly as a set of the keys would: same members, no
member lost when fingerprints collide or the table grows, no two different keys taken for
one (a sourcedId ``"1"`` and a key that renders like it stay apart).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client.paging import _key_of, _KeySet

keys = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="ab", max_size=3),  # many equal keys
    st.tuples(st.just("unidentified"), st.text(max_size=6)),
)
FINGERPRINTS: list[Callable[[object], int]] = [hash, lambda key: 7, lambda key: len(str(key))]


@pytest.mark.parametrize("fingerprint", FINGERPRINTS, ids=["hash", "constant", "length"])
@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.lists(keys, max_size=40), max_size=30), probes=st.lists(keys))
def test_the_table_answers_like_a_set(
    fingerprint: Callable[[object], int], batches: list[list[object]], probes: list[object]
) -> None:
    table, model = _KeySet(fingerprint), set()
    for number, batch in enumerate(batches):
        if number % 2:
            assert table.add_new(batch) == (model.isdisjoint(batch))
            if model.isdisjoint(batch):
                model.update(batch)
        else:
            table.update(batch)
            model.update(batch)
        assert len(table) == len(model)
        assert table.isdisjoint(batch) == model.isdisjoint(batch)
        assert table.issuperset(batch) == model.issuperset(batch)
    for key in [*probes, *model]:
        assert (key in table) == (key in model)


def test_keys_that_render_alike_stay_apart() -> None:
    table = _KeySet(lambda key: 1)
    table.update(["1", ("unidentified", "'1'"), "s1"])
    assert 1 not in table and "'1'" not in table and ("unidentified", "1") not in table
    assert "1" in table and ("unidentified", "'1'") in table
    assert _key_of({"sourcedId": 1}) == "1"  # what listings store for an integer id


def test_many_keys_are_all_found_after_the_table_grows() -> None:
    table = _KeySet()
    ids = [f"enr-{i:07d}" for i in range(200_000)]
    for start in range(0, len(ids), 1000):
        assert table.add_new(ids[start : start + 1000])
    assert len(table) == len(ids)
    assert table.issuperset(ids[::997])
    assert not table.add_new(["new", ids[5]])
    assert "new" not in table
