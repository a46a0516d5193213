"""BuzzListing reads a page in one go, but hands rows out as if it read them one by one:
the rows before a bad row or a repeated id arrive, then the error, and the garbage
collector is back on whatever happened."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

import pytest

from oneroster_client.buzz import BuzzUser
from oneroster_client.buzz.errors import BuzzPagingError
from oneroster_client.buzz.paging import BuzzListing
from oneroster_client.errors import RecordValidationError


def _listing(pages: list[list[dict[str, Any]]], page_size: int = 3) -> BuzzListing[BuzzUser]:
    answers = iter(pages)

    def fetch(params: Mapping[str, Any]) -> dict[str, Any]:
        return {"users": {"user": next(answers, [])}}

    return BuzzListing(
        fetch,
        command="listusers",
        params={"domainid": "1"},
        plural="users",
        singular="user",
        reader=BuzzUser.from_dict,
        page_size=page_size,
    )


def _users(*ids: int) -> list[dict[str, Any]]:
    return [{"id": str(n), "username": f"u{n}"} for n in ids]


def test_rows_of_every_page_in_order() -> None:
    listing = _listing([_users(1, 2, 3), _users(4, 5)])
    assert [user.id for user in listing] == ["1", "2", "3", "4", "5"]
    assert listing.pages == 2


def test_rows_before_a_bad_row_arrive_then_its_error() -> None:
    bad = {"id": "3", "username": ["not", "text"]}
    listing = _listing([[*_users(1, 2), bad]])
    received: list[str | None] = []
    with pytest.raises(RecordValidationError) as caught:
        for user in listing:
            received.append(user.id)
    assert received == ["1", "2"]
    assert caught.value.field == "username"
    assert gc.isenabled()


def test_rows_before_a_repeated_id_arrive_then_the_paging_error() -> None:
    listing = _listing([_users(1, 2, 3), _users(3, 4, 5)])
    received: list[str | None] = []
    with pytest.raises(BuzzPagingError, match="returned id 3 twice"):
        for user in listing:
            received.append(user.id)
    assert received == ["1", "2", "3"]
    assert gc.isenabled()


def test_stopping_early_leaves_the_collector_on() -> None:
    listing = _listing([_users(1, 2, 3), _users(4)])
    first = next(iter(listing))
    assert first.id == "1"
    assert gc.isenabled()
