"""Faults the loopback Buzz server injects on request."""

from __future__ import annotations

import time

import pytest
import requests

from oneroster_client.buzz.testing import BuzzFaults, BuzzServer

from .conftest import Dlap


def _get(server: BuzzServer, token: str) -> requests.Response:
    return requests.get(
        server.cmd_url("getdomain2"),
        params={"domainid": "1"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def _statuses(server: BuzzServer, count: int) -> list[int]:
    token = server.issue_token()
    return [_get(server, token).status_code for _ in range(count)]


def test_no_faults_by_default(buzz_server: BuzzServer) -> None:
    assert _statuses(buzz_server, 6) == [200] * 6


def test_rate_limit_every(buzz_server: BuzzServer) -> None:
    buzz_server.faults.rate_limit_every = 3
    buzz_server.faults.retry_after = "2"
    token = buzz_server.issue_token()
    answers = [_get(buzz_server, token) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    limited = answers[2]
    assert limited.headers["Retry-After"] == "2"
    assert limited.headers["X-RateLimit-Limit"] == "100"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) >= int(time.time())


def test_overwhelmed_every(buzz_server: BuzzServer) -> None:
    buzz_server.faults.overwhelmed_every = 2
    token = buzz_server.issue_token()
    answers = [_get(buzz_server, token) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 503, 200, 503]
    assert answers[1].json()["response"]["code"] == "ServerOverwhelmed"
    assert "Retry-After" in answers[1].headers


@pytest.mark.parametrize("status", [500, 502, 504])
def test_status_every(buzz_server: BuzzServer, status: int) -> None:
    buzz_server.faults = BuzzFaults(status_every=2, status_code=status)
    token = buzz_server.issue_token()
    answers = [_get(buzz_server, token) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, status]
    if status == 500:
        assert answers[1].json()["response"]["code"] == "InternalError"
    else:
        assert answers[1].headers["Content-Type"].startswith("text/html")


def test_faulted_write_is_not_applied_unless_after_commit(
    buzz_server: BuzzServer, dlap: Dlap
) -> None:
    item = {"name": "A", "userspace": "a", "parentid": "1"}
    buzz_server.faults.fail_next(504)
    refused = dlap.session.post(
        buzz_server.cmd_url("createdomains"), json={"requests": {"domain": [item]}}, timeout=5
    )
    assert refused.status_code == 504
    assert [d["userspace"] for d in buzz_server.domains()] == ["root"]
    buzz_server.faults.status_after_commit = True
    buzz_server.faults.fail_next(504)
    applied = dlap.session.post(
        buzz_server.cmd_url("createdomains"), json={"requests": {"domain": [item]}}, timeout=5
    )
    assert applied.status_code == 504
    assert [d["userspace"] for d in buzz_server.domains()] == ["root", "a"]
    assert buzz_server.requests[-1].entities == 1


def test_fail_next_burst_then_success(buzz_server: BuzzServer) -> None:
    buzz_server.faults.fail_next(503, count=2)
    buzz_server.faults.fail_next(429)
    assert _statuses(buzz_server, 4) == [503, 503, 429, 200]


def test_not_implemented_every(buzz_server: BuzzServer) -> None:
    buzz_server.faults.not_implemented_every = 1
    assert _statuses(buzz_server, 2) == [501, 501]


def test_time_budget_headers_count_down_and_refill(buzz_server: BuzzServer) -> None:
    buzz_server.faults.time_budget_ms = 100
    buzz_server.faults.request_cost_ms = 30
    token = buzz_server.issue_token()
    remaining = [
        int(_get(buzz_server, token).headers["X-Provisioned-Ms-Remaining"]) for _ in range(3)
    ]
    assert remaining[0] > remaining[1] > remaining[2]
    assert _get(buzz_server, token).headers["X-Provisioned-Ms"] == "100"
    time.sleep(0.5)  # refills 100 ms of budget per second: about 50 ms back
    refilled = int(_get(buzz_server, token).headers["X-Provisioned-Ms-Remaining"])
    assert refilled > remaining[2]


def test_enforced_time_budget_answers_429(buzz_server: BuzzServer) -> None:
    buzz_server.faults = BuzzFaults(time_budget_ms=20, request_cost_ms=10, enforce_time_budget=True)
    statuses = _statuses(buzz_server, 4)
    assert 429 in statuses
    assert statuses[0] == 200


def test_latency(buzz_server: BuzzServer) -> None:
    buzz_server.faults.latency = 0.2
    token = buzz_server.issue_token()
    started = time.monotonic()
    assert _get(buzz_server, token).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_fail_batch_item_every(buzz_server: BuzzServer, dlap: Dlap) -> None:
    buzz_server.faults.fail_batch_item_every = 2
    buzz_server.faults.fail_batch_item_code = "AccessDenied"
    items = [{"name": f"D{n}", "userspace": f"d{n}", "parentid": "1"} for n in range(5)]
    results = dlap.items("createdomains", "domain", items)
    assert [r["code"] for r in results] == ["OK", "AccessDenied", "OK", "AccessDenied", "OK"]
    assert sorted(d["userspace"] for d in buzz_server.domains()) == ["d0", "d2", "d4", "root"]


def test_collapse_lists(buzz_server: BuzzServer, dlap: Dlap) -> None:
    buzz_server.faults.collapse_lists = True
    empty = dlap.get("listusers", domainid="1", query="/id>999999")
    assert empty["users"] == {}
    single = dlap.get("listdomains", domainid="0")
    assert single["domains"]["domain"]["id"] == "1"
    (result,) = [
        dlap.batch("createdomains", "domain", [{"name": "A", "userspace": "a", "parentid": "1"}])
    ]
    assert result["responses"]["response"]["code"] == "OK"


def test_faults_combine(buzz_server: BuzzServer) -> None:
    buzz_server.faults = BuzzFaults(rate_limit_every=2, overwhelmed_every=3)
    assert _statuses(buzz_server, 6) == [200, 429, 503, 429, 200, 503]


def test_token_requests_are_not_counted_by_command_faults(buzz_server: BuzzServer) -> None:
    from oneroster_client.buzz.testing import make_assertion

    buzz_server.faults.not_implemented_every = 1
    token_url, user_id, private_pem, key_id = buzz_server.jwt_credentials()
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": make_assertion(private_pem, user_id, token_url, key_id=key_id),
    }
    assert requests.post(token_url, data=form, timeout=5).status_code == 200
