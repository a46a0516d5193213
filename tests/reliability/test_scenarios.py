"""Every loopback fault mode, one at a time and mixed, against sequential and parallel listings.

The promise under test: a listing either returns exactly the district's records, or it
says it did not (``IncompleteResultError``, ``complete = False``, or another library
error). It never returns too few, too many or repeated records while claiming to be
complete. Each scenario adds a row to the table printed at the end of the run.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from oneroster_client import OneRosterClient
from oneroster_client.errors import IncompleteResultError, OneRosterError
from oneroster_client.retry import RetryPolicy
from oneroster_client.testing import District, Faults, OneRosterServer
from oneroster_client.testing.generator import generate_district

COMPLETE = "complete"
REPORTED = "reported"

Setup = Callable[[Faults], None]


def _set(**values: Any) -> Setup:
    def setup(faults: Faults) -> None:
        for name, value in values.items():
            setattr(faults, name, value)

    return setup


def _fail_next(status: int, count: int) -> Setup:
    return lambda faults: faults.fail_next(status, count)


def _malform(kind: str) -> Setup:
    return lambda faults: faults.malform_next(kind, 1)


def _both(*setups: Setup) -> Setup:
    def setup(faults: Faults) -> None:
        for one in setups:
            one(faults)

    return setup


# scenario -> (fault setup, outcomes that keep the promise)
SCENARIOS: dict[str, tuple[Setup, set[str]]] = {
    "no faults": (_set(), {COMPLETE}),
    "latency 10 ms": (_set(latency=0.01), {COMPLETE}),
    "429 every 3rd request": (_set(rate_limit_every=3), {COMPLETE}),
    "429 with HTTP-date Retry-After": (
        _set(rate_limit_every=4, retry_after_http_date=True),
        {COMPLETE},
    ),
    "503 burst of 3": (_fail_next(503, 3), {COMPLETE}),
    "500 always": (_set(fail_always=500), {REPORTED}),
    "page size capped at 7": (_set(cap_page_size=7), {COMPLETE}),
    "no paging headers": (_set(paging_headers=False), {COMPLETE}),
    "total count 5 too high": (_set(total_count_delta=5), {REPORTED}),
    "total count 20 too low": (_set(total_count_delta=-20), {COMPLETE, REPORTED}),
    "offset ignored": (_set(ignore_offset=True), {REPORTED}),
    # Parallel listings read by offset and never follow links: completing is right there.
    "next link to another host": (_set(foreign_next_link=True), {COMPLETE, REPORTED}),
    "tokens expire early": (_set(token_valid_for=0.05, latency=0.02), {COMPLETE}),
    "expired token answered with 500": (
        _set(token_valid_for=0.05, latency=0.02, token_500_when_expired=True),
        {COMPLETE, REPORTED},
    ),
    "body not JSON once": (_malform("invalid"), {COMPLETE, REPORTED}),
    "body truncated once": (_malform("truncated"), {COMPLETE, REPORTED}),
    "body without envelope once": (_malform("no_envelope"), {COMPLETE, REPORTED}),
    "corrupt record": (_set(), {REPORTED}),  # corrupt_records filled in below
    "strings for booleans": (_set(strings_for_booleans=True), {COMPLETE}),
    "mixed: 429s, capped pages, expiring tokens": (
        _set(rate_limit_every=4, cap_page_size=9, token_valid_for=0.05, latency=0.01),
        {COMPLETE},
    ),
    "mixed: 503 burst, no headers, capped pages": (
        _both(_fail_next(503, 2), _set(paging_headers=False, cap_page_size=11)),
        {COMPLETE},
    ),
    "mixed: lying total, 429s": (
        _set(total_count_delta=7, rate_limit_every=3),
        {REPORTED},
    ),
}

MODES = {"sequential": 1, "parallel x4": 4}


@pytest.fixture(scope="module")
def district() -> District:
    return generate_district(students=60, seed=7)


def _outcome(server: OneRosterServer, workers: int) -> tuple[str, list[str], str]:
    client = OneRosterClient(
        server.base_url,
        auth=server.oauth2(),
        retry=RetryPolicy(sleep=lambda _seconds: None, deadline=None),
        page_size=20,
        max_workers=workers,
        renew_auth_on=(401, 500) if server.faults.token_500_when_expired else (401,),
    )
    ids: list[str] = []
    with client:
        listing = client.users.list(allow_incomplete=True)
        try:
            ids = [user.sourced_id for user in listing]
        except IncompleteResultError as error:
            return REPORTED, ids, f"IncompleteResultError: {str(error)[:40]}"
        except OneRosterError as error:
            return REPORTED, ids, type(error).__name__
        if listing.complete:
            return COMPLETE, ids, "complete"
        return REPORTED, ids, "complete=False: " + "; ".join(listing.problems)[:45]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_listing_keeps_its_promise(
    scenario: str, mode: str, district: District, scenario_rows: list[dict[str, Any]]
) -> None:
    setup, allowed = SCENARIOS[scenario]
    served = District(collections=copy.deepcopy(district.collections))
    expected = sorted(record["sourcedId"] for record in served.collections["users"])
    with OneRosterServer(served) as server:
        setup(server.faults)
        if scenario == "corrupt record":
            server.faults.corrupt_records = {expected[len(expected) // 2]}
        outcome, ids, detail = _outcome(server, MODES[mode])
        failed_attempts = sum(1 for status in server.statuses() if status >= 400)
    scenario_rows.append(
        {
            "scenario": scenario,
            "mode": mode,
            "outcome": detail,
            "expected": len(expected),
            "received": len(ids),
            "failed attempts": failed_attempts,
        }
    )
    if outcome == COMPLETE:
        assert len(ids) == len(set(ids)), "a complete listing repeated records"
        assert sorted(ids) == expected, "a complete listing lost or invented records"
    assert outcome in allowed, f"{scenario} ({mode}): {detail}"
