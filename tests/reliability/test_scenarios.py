"""Every loopback fault mode, one at a time and mixed, against sequential and parallel listings.

The promise under test: a listing either returns exactly the district's records, or it
says it did not (``IncompleteResultError``, ``complete = False``, or another library
error). It never returns too few, too many or repeated records while claiming to be
complete. Each scenario adds a row to the table printed at the end of the run.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest

from oneroster_client import OneRosterClient
from oneroster_client.errors import IncompleteResultError, OneRosterError
from oneroster_client.retry import RetryPolicy
from oneroster_client.testing import District, Faults, OneRosterServer
from oneroster_client.testing.generator import generate_district

COMPLETE = "complete"
REPORTED = "reported"

Setup = Callable[[Faults], None]


# Which Faults fields each scenario sets, so a test can check that every fault is covered.
COVERED: set[str] = set()


def _set(**values: Any) -> Setup:
    COVERED.update(values)

    def setup(faults: Faults) -> None:
        for name, value in values.items():
            setattr(faults, name, value)

    return setup


def _fail_next(status: int, count: int) -> Setup:
    COVERED.add("fail_statuses")
    return lambda faults: faults.fail_next(status, count)


def _malform(kind: str) -> Setup:
    COVERED.add("malformed")
    return lambda faults: faults.malform_next(kind, 1)


def _both(*setups: Setup) -> Setup:
    def setup(faults: Faults) -> None:
        for one in setups:
            one(faults)

    return setup


# Faults that do not concern reading a listing, each tested where it matters.
NOT_LISTING_FAULTS = {
    "gradebook_writes_forbidden": "gradebook writes: tests/integration/test_client_gradebook.py",
    "shuffle_seed": "only picks the order of shuffle_pages",
    "drip_chunk_bytes": "only sizes the chunks of drip_seconds",
    "retry_after": "the value sent with rate_limit_every",
    "narrow_scopes": "which scopes a token gets: tests/skyward/test_skyward_diagnostics.py",
}


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
    "total count 5 too low": (_set(total_count_delta=-5), {COMPLETE, REPORTED}),
    "total count is the page length": (_set(total_count_is_page_length=True), {REPORTED}),
    "next link skips 3 records": (_set(next_link_offset_delta=3), {COMPLETE, REPORTED}),
    "next link re-reads 3 records": (_set(next_link_offset_delta=-3), {COMPLETE, REPORTED}),
    "records reordered between requests": (_set(shuffle_pages=True), {REPORTED}),
    "offset ignored and records reordered": (
        _set(ignore_offset=True, shuffle_pages=True),
        {REPORTED},
    ),
    "200 page with a failure status every 4th": (_set(status_failure_every=4), {REPORTED}),
    "relative next links": (_set(relative_links=True), {COMPLETE}),
    "body dripped in 5 ms chunks": (_set(drip_seconds=0.005, drip_chunk_bytes=4096), {COMPLETE}),
    "connection cut mid-body every 4th": (_set(cut_body_every=4), {COMPLETE}),
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
    "strings for booleans": (_set(strings_for_booleans=True), {COMPLETE}),
    "unknown role value": (_set(unknown_role="districtAdministrator"), {COMPLETE}),
    "envelope under another key": (_set(envelope_keys={"users": "persons"}), {COMPLETE}),
    "token endpoint refuses Basic auth": (_set(refuse_basic_token_auth=True), {REPORTED}),
    "tokens announced for 1 s": (_set(token_lifetime=1, latency=0.01), {COMPLETE}),
    "corrupt record": (_set(corrupt_records=set()), {REPORTED}),  # filled in per test
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
    "mixed: page-length total, relative links, cut bodies": (
        _set(total_count_is_page_length=True, relative_links=True, cut_body_every=5),
        {REPORTED},
    ),
    "mixed: 429s, cut bodies, dripping, capped pages": (
        _set(rate_limit_every=5, cut_body_every=6, drip_seconds=0.002, cap_page_size=13),
        {COMPLETE},
    ),
    "mixed: skipping links, failure statuses, 503s": (
        _both(_fail_next(503, 2), _set(next_link_offset_delta=2, status_failure_every=5)),
        {REPORTED},
    ),
}

MODES = {"sequential": 1, "parallel x4": 4}


class _RetryCounter(logging.Handler):
    """Counts the transport's retry decisions (it logs each one, renewals included)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "retrying" in message or "; retry " in message:
            self.retries += 1


@contextmanager
def _counting_retries() -> Iterator[_RetryCounter]:
    counter = _RetryCounter()
    logger = logging.getLogger("oneroster_client")
    previous = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)


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
        with _counting_retries() as counter:
            outcome, ids, detail = _outcome(server, MODES[mode])
        requests = len(server.requests)
    scenario_rows.append(
        {
            "scenario": scenario,
            "mode": mode,
            "outcome": detail,
            "expected": len(expected),
            "received": len(ids),
            "requests": requests,
            "retries": counter.retries,
        }
    )
    if outcome == COMPLETE:
        assert len(ids) == len(set(ids)), "a complete listing repeated records"
        assert sorted(ids) == expected, "a complete listing lost or invented records"
    assert outcome in allowed, f"{scenario} ({mode}): {detail}"


def test_every_fault_mode_has_a_scenario() -> None:
    fields = {field.name for field in attrs.fields(Faults)}
    missing = fields - COVERED - set(NOT_LISTING_FAULTS)
    assert not missing, f"add a scenario for these Faults fields: {sorted(missing)}"
