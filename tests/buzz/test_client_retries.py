"""Agilix's retry guidance, throttling, safe re-sending of writes, batch mapping, paging."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from oneroster_client.buzz import (
    BuzzClient,
    BuzzCommandError,
    BuzzHTTPError,
    BuzzJWTAuth,
    BuzzPagingError,
    BuzzResponseError,
    BuzzRetryPolicy,
    BuzzThrottledError,
    BuzzToken,
    BuzzTransportError,
    BuzzUser,
)
from oneroster_client.buzz.testing import BuzzFaults, BuzzServer
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer

UA = "oneroster-client-tests/1.0 (buzz retry tests; tests@example.org)"
OK: dict[str, Any] = {"response": {"code": "OK"}}


def user(n: int, *, reference: str | None = None) -> BuzzUser:
    return BuzzUser(
        domain_id="1",
        username=f"u{n}",
        email="",
        first_name="F",
        last_name="L",
        reference=reference,
    )


class Sleeps(list[float]):
    """Records the waits instead of sleeping."""


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def policy(sleeps: Sleeps, **overrides: Any) -> BuzzRetryPolicy:
    return BuzzRetryPolicy(sleep=sleeps.append, random=lambda: 0.5, **overrides)


def scripted_client(server: ScriptedServer, sleeps: Sleeps, **kwargs: Any) -> BuzzClient:
    return BuzzClient(
        server.origin,
        auth=BuzzToken("scripted-token-0123456789"),
        user_agent=UA,
        retry=kwargs.pop("retry", policy(sleeps)),
        timeout=kwargs.pop("timeout", 2.0),
        **kwargs,
    )


@pytest.fixture
def buzz() -> Iterator[BuzzServer]:
    with BuzzServer() as server:
        yield server


def buzz_client(server: BuzzServer, sleeps: Sleeps, **kwargs: Any) -> BuzzClient:
    return BuzzClient(
        server.base_url,
        auth=BuzzJWTAuth(*server.jwt_credentials()),
        user_agent=UA,
        retry=kwargs.pop("retry", policy(sleeps)),
        timeout=2.0,
        **kwargs,
    )


# -- statuses and limits ----------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried_with_doubling_backoff(status: int, sleeps: Sleeps) -> None:
    replies = [Reply(status, body="busy"), Reply(status, body="busy"), Reply(200, body=OK)]
    with ScriptedServer(replies) as server:
        scripted_client(server, sleeps).call("getuser2", {"userid": "1"})
        assert len(server.received) == 3
    assert sleeps == [0.75, 1.5]  # ceilings 1 s and 2 s, jitter drawn at 0.5


def test_retries_stop_after_five_and_waits_cap_at_64_seconds(sleeps: Sleeps) -> None:
    with ScriptedServer([Reply(503, body="busy")]) as server:
        client = scripted_client(server, sleeps, retry=policy(sleeps, max_retries=8))
        with pytest.raises(BuzzThrottledError) as caught:
            client.call("listusers", {"domainid": "1"})
        assert len(server.received) == 9
    assert caught.value.status_code == 503
    assert sleeps == [0.75, 1.5, 3.0, 6.0, 12.0, 24.0, 48.0, 48.0]
    assert max(sleeps) <= 64


def test_default_policy_is_five_retries(sleeps: Sleeps) -> None:
    with (
        ScriptedServer([Reply(502, body="<html>bad gateway</html>")]) as server,
        pytest.raises(BuzzHTTPError) as caught,
    ):
        scripted_client(server, sleeps).call("listusers", {"domainid": "1"})
        assert len(server.received) == 6
    assert caught.value.status_code == 502 and not isinstance(caught.value, BuzzThrottledError)


@pytest.mark.parametrize("status", [400, 403, 404, 501, 505, 511])
def test_other_errors_are_not_retried(status: int, sleeps: Sleeps) -> None:
    with (
        ScriptedServer([Reply(status, body={"response": {"code": "BadRequest"}})]) as server,
        pytest.raises(BuzzHTTPError) as caught,
    ):
        scripted_client(server, sleeps).call("getuser2", {"userid": "1"})
        assert len(server.received) == 1
    assert caught.value.status_code == status
    assert "BadRequest" in str(caught.value)
    assert sleeps == []


def test_501_from_buzz_server_is_not_retried(buzz: BuzzServer, sleeps: Sleeps) -> None:
    buzz.faults = BuzzFaults(not_implemented_every=1)
    with pytest.raises(BuzzHTTPError) as caught:
        buzz_client(buzz, sleeps).call("getuser2", {"userid": "5"})
    assert caught.value.status_code == 501
    assert buzz.statuses() == [501]


def test_retry_after_is_honoured(sleeps: Sleeps) -> None:
    replies = [Reply(429, headers=[("Retry-After", "7")]), Reply(200, body=OK)]
    with ScriptedServer(replies) as server:
        scripted_client(server, sleeps).call("listusers", {"domainid": "1"})
    assert sleeps == [7.0]


def test_retry_after_as_http_date_is_honoured(sleeps: Sleeps) -> None:
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    replies = [Reply(503, headers=[("Retry-After", past)]), Reply(200, body=OK)]
    with ScriptedServer(replies) as server:
        scripted_client(server, sleeps).call("listusers", {"domainid": "1"})
    assert sleeps == [0.0]


def test_retry_after_longer_than_the_policy_allows_gives_up_with_the_wait(
    sleeps: Sleeps,
) -> None:
    with (
        ScriptedServer([Reply(429, headers=[("Retry-After", "3600")])]) as server,
        pytest.raises(BuzzThrottledError) as caught,
    ):
        scripted_client(server, sleeps).call("listusers", {"domainid": "1"})
        assert len(server.received) == 1
    assert caught.value.retry_after == 3600.0
    assert sleeps == []


def test_buzz_server_rate_limit_and_overwhelmed_are_retried(
    buzz: BuzzServer, sleeps: Sleeps
) -> None:
    buzz.faults = BuzzFaults(rate_limit_every=2, overwhelmed_every=3, retry_after="2")
    client = buzz_client(buzz, sleeps)
    for _ in range(4):
        client.get_user("5")
    assert 429 in buzz.statuses() and 503 in buzz.statuses()
    assert sleeps and set(sleeps) == {2.0}


def test_connection_dropped_on_a_read_is_retried(sleeps: Sleeps) -> None:
    with ScriptedServer([Reply(close=True), Reply(200, body=OK)]) as server:
        scripted_client(server, sleeps).call("getuser2", {"userid": "1"})
        assert len(server.received) == 2


def test_timeouts_are_retried_then_raised_as_transport_errors(sleeps: Sleeps) -> None:
    with ScriptedServer([Reply(200, body=OK, delay=0.5)]) as server:
        client = scripted_client(server, sleeps, retry=policy(sleeps, max_retries=2), timeout=0.1)
        with pytest.raises(BuzzTransportError, match="did not answer getuser2 in time"):
            client.call("getuser2", {"userid": "1"})
        assert len(server.received) == 3


def test_connection_refused_after_buzz_answered_is_retried(sleeps: Sleeps) -> None:
    with ScriptedServer([Reply(200, body=OK)]) as server:
        client = scripted_client(server, sleeps, retry=policy(sleeps, max_retries=2), timeout=0.5)
        client.call("getuser2", {"userid": "1"})
    client.transport.session.close()  # no kept-alive connection to the stopped server
    # The server went away mid-run: a passing outage, retried.
    with pytest.raises(BuzzTransportError, match="could not connect"):
        client.call("getuser2", {"userid": "1"})
    assert len(sleeps) == 2


def test_connection_refused_before_buzz_ever_answered_fails_at_once(sleeps: Sleeps) -> None:
    with ScriptedServer([Reply(200, body=OK)]) as server:
        origin = server.origin
    client = BuzzClient(
        origin,
        auth=BuzzToken("scripted-token-0123456789"),
        user_agent=UA,
        retry=policy(sleeps, max_retries=2),
        timeout=0.5,
    )
    # Nothing listens there: a wrong URL or port, not worth the retries' wait.
    with pytest.raises(BuzzTransportError) as caught:
        client.call("getuser2", {"userid": "1"})
    assert sleeps == []
    message = str(caught.value)
    assert f"the Buzz server could not be reached at {origin}" in message
    assert "refused" in message and "Check base_url" in message


# -- the time budget --------------------------------------------------------------------


def _budget(remaining: int) -> Reply:
    headers = [("X-Provisioned-Ms", "1000"), ("X-Provisioned-Ms-Remaining", str(remaining))]
    return Reply(200, body=OK, headers=headers)


@pytest.mark.parametrize(("remaining", "pause"), [(900, None), (100, None), (50, 0.5), (0, 1.0)])
def test_client_slows_down_as_the_time_budget_runs_out(
    remaining: int, pause: float | None, sleeps: Sleeps
) -> None:
    with ScriptedServer([_budget(remaining)]) as server:
        client = scripted_client(server, sleeps)
        client.call("getuser2", {"userid": "1"})
        assert sleeps == []  # the pause comes before the next request, not after this one
        client.call("getuser2", {"userid": "1"})
    if pause is None:
        assert sleeps == []
    else:
        assert len(sleeps) == 1 and sleeps[0] == pytest.approx(pause)


def test_budget_headers_from_buzz_server_trigger_the_slow_down(
    buzz: BuzzServer, sleeps: Sleeps
) -> None:
    buzz.faults = BuzzFaults(time_budget_ms=100, request_cost_ms=95)
    client = buzz_client(buzz, sleeps)
    client.get_user("5")
    client.get_user("5")
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 1.0


def test_unreadable_budget_headers_are_ignored(sleeps: Sleeps) -> None:
    headers = [("X-Provisioned-Ms", "lots"), ("X-Provisioned-Ms-Remaining", "0")]
    with ScriptedServer([Reply(200, body=OK, headers=headers)]) as server:
        client = scripted_client(server, sleeps)
        client.call("getuser2")
        client.call("getuser2")
    assert sleeps == []


# -- writes: never duplicated -----------------------------------------------------------


def test_create_with_lost_answer_is_found_by_reference_not_sent_again(
    buzz: BuzzServer, sleeps: Sleeps
) -> None:
    client = buzz_client(buzz, sleeps)
    client.get_user("5")  # authenticate first so the fault hits the create
    buzz.faults = BuzzFaults(status_after_commit=True)
    buzz.faults.fail_next(502)
    result = client.create_users([user(1, reference="sis-1")])
    assert result.ok
    created = [u for u in buzz.users() if u.get("reference") == "sis-1"]
    assert len(created) == 1
    assert result.succeeded[0].id == created[0]["id"]
    assert buzz.commands().count("createusers2") == 1
    assert "listusers" in buzz.commands()


def test_create_with_lost_answer_and_nothing_found_is_sent_again(sleeps: Sleeps) -> None:
    created = {"code": "OK", "user": {"userid": "77"}}
    answers = iter(
        [
            Reply(504, body="<html>timeout</html>"),
            Reply(200, body={"response": {"code": "OK", "users": {}}}),
            Reply(200, body={"response": {"code": "OK", "responses": {"response": [created]}}}),
        ]
    )
    with ScriptedServer(lambda _: next(answers)) as server:
        result = scripted_client(server, sleeps).create_users([user(1, reference="sis-1")])
        paths = [r.path for r in server.received]
        lookup = server.received[1]
    assert result.ok and result.succeeded[0].id == "77"
    assert paths == ["/cmd/createusers2", "/cmd/listusers", "/cmd/createusers2"]
    assert lookup.param("query") == "/reference='sis-1'"
    assert lookup.param("domainid") == "1"


def test_create_without_reference_is_reported_unknown_not_duplicated(
    buzz: BuzzServer, sleeps: Sleeps
) -> None:
    client = buzz_client(buzz, sleeps)
    client.get_user("5")
    buzz.faults = BuzzFaults(status_after_commit=True)
    buzz.faults.fail_next(500)
    result = client.create_users([user(1)])
    assert not result.ok
    assert result.failed[0].code == "OutcomeUnknown"
    assert buzz.commands().count("createusers2") == 1
    assert len([u for u in buzz.users() if u["username"] == "u1"]) == 1


def test_throttled_create_is_sent_again_without_lookup(buzz: BuzzServer, sleeps: Sleeps) -> None:
    client = buzz_client(buzz, sleeps)
    client.get_user("5")
    buzz.faults.fail_next(429)
    assert client.create_users([user(1)]).ok
    assert buzz.commands()[-2:] == ["createusers2", "createusers2"]
    assert len([u for u in buzz.users() if u["username"] == "u1"]) == 1


def test_enrollments_are_resent_with_disallowduplicates(buzz: BuzzServer, sleeps: Sleeps) -> None:
    buzz.seed(
        {
            "users": [
                {
                    "id": "50",
                    "domainid": "1",
                    "username": "s",
                    "email": "",
                    "firstname": "A",
                    "lastname": "B",
                }
            ],
            "courses": [{"id": "60", "title": "C", "domainid": "1"}],
        }
    )
    client = buzz_client(buzz, sleeps)
    client.get_user("5")
    buzz.faults = BuzzFaults(status_after_commit=True)
    buzz.faults.fail_next(502)
    result = client.create_enrollments(
        [{"userid": "50", "entityid": "60", "roleid": "2", "status": 1}]
    )
    assert buzz.commands().count("createenrollments") == 2
    assert len([e for e in buzz.enrollments() if e["userid"] == "50"]) == 1
    assert [f.message for f in result.failed] == ["Duplicate enrollment"]
    assert result.failed[0].after_unknown_outcome


def test_updates_are_resent_after_a_lost_answer(buzz: BuzzServer, sleeps: Sleeps) -> None:
    client = buzz_client(buzz, sleeps)
    client.get_user("5")
    buzz.faults = BuzzFaults(status_after_commit=True)
    buzz.faults.fail_next(502)
    assert client.update_users([{"userid": "5", "lastname": "Renamed"}]).ok
    assert buzz.commands().count("updateusers") == 2


def test_unknown_write_is_not_resent_after_a_lost_answer(sleeps: Sleeps) -> None:
    with (
        ScriptedServer([Reply(502, body="bad gateway"), Reply(200, body=OK)]) as server,
        pytest.raises(BuzzHTTPError),
    ):
        scripted_client(server, sleeps).batch("putteacherresponses", "teacherresponse", [{}])
        assert len(server.received) == 1


# -- batch results ----------------------------------------------------------------------


def test_per_item_failures_inside_http_200_map_to_their_inputs(
    buzz: BuzzServer, sleeps: Sleeps
) -> None:
    buzz.faults = BuzzFaults(fail_batch_item_every=2, fail_batch_item_code="AccessDenied")
    users = [user(n) for n in range(5)]
    result = buzz_client(buzz, sleeps).create_users(users)
    assert [s.input for s in result.succeeded] == [users[0], users[2], users[4]]
    assert [(f.index, f.input, f.code) for f in result.failed] == [
        (1, users[1], "AccessDenied"),
        (3, users[3], "AccessDenied"),
    ]
    assert all(f.error_id for f in result.failed)
    assert not result.ok and len(result) == 5
    assert buzz.statuses() and set(buzz.statuses()) == {200}


def test_batches_are_chunked_and_results_kept_in_input_order(
    buzz: BuzzServer, sleeps: Sleeps
) -> None:
    result = buzz_client(buzz, sleeps, batch_size=2).create_users([user(n) for n in range(5)])
    assert [s.input.username for s in result.succeeded] == [f"u{n}" for n in range(5)]
    assert [r.entities for r in buzz.requests if r.command == "createusers2"] == [2, 2, 1]


def _batch_reply(items: list[Any]) -> Reply:
    return Reply(200, body={"response": {"code": "OK", "responses": {"response": items}}})


def test_wrong_number_of_item_answers_is_an_error_not_a_guess(sleeps: Sleeps) -> None:
    with (
        ScriptedServer([_batch_reply([{"code": "OK"}])]) as server,
        pytest.raises(BuzzResponseError, match="1 item results for 2 items"),
    ):
        scripted_client(server, sleeps).batch(
            "updateusers", "user", [{"userid": "1"}, {"userid": "2"}]
        )


def test_item_answer_without_code_is_a_failure(sleeps: Sleeps) -> None:
    with ScriptedServer([_batch_reply([{"user": {"userid": "3"}}, "junk"])]) as server:
        result = scripted_client(server, sleeps).batch(
            "updateusers", "user", [{"userid": "1"}, {"userid": "2"}]
        )
    assert result.succeeded == ()
    assert [f.code for f in result.failed] == ["MissingCode", "MissingCode"]


def test_single_item_answer_as_bare_object_is_read(sleeps: Sleeps) -> None:
    body = {"response": {"code": "OK", "responses": {"response": {"code": "OK"}}}}
    with ScriptedServer([Reply(200, body=body)]) as server:
        result = scripted_client(server, sleeps).batch("updateusers", "user", [{"userid": "1"}])
    assert result.ok and len(result.succeeded) == 1


def test_failed_chunk_raises_with_the_earlier_chunks_outcome(sleeps: Sleeps) -> None:
    first = _batch_reply([{"code": "OK"}, {"code": "BadRequest", "message": "no"}])
    with ScriptedServer([first, Reply(400, body="bad")]) as server:
        client = scripted_client(server, sleeps, batch_size=2)
        with pytest.raises(BuzzHTTPError) as caught:
            client.batch("updateusers", "user", [{"userid": str(n)} for n in range(4)])
    partial = caught.value.partial
    assert [s.input["userid"] for s in partial.succeeded] == ["0"]
    assert [f.index for f in partial.failed] == [1]


def test_whole_batch_refused_raises_command_error(sleeps: Sleeps) -> None:
    body = {"response": {"code": "AccessDenied", "message": "no rights", "errorId": "e1"}}
    with (
        ScriptedServer([Reply(200, body=body)]) as server,
        pytest.raises(BuzzCommandError) as caught,
    ):
        scripted_client(server, sleeps).batch("updateusers", "user", [{"userid": "1"}])
    assert (caught.value.code, caught.value.message, caught.value.error_id) == (
        "AccessDenied",
        "no rights",
        "e1",
    )


def test_batch_body_is_the_dlap_envelope(sleeps: Sleeps) -> None:
    with ScriptedServer([_batch_reply([{"code": "OK"}])]) as server:
        scripted_client(server, sleeps).batch("updateusers", "user", [{"userid": "1"}])
        sent = server.received[0]
    assert sent.method == "POST" and sent.path == "/cmd/updateusers"
    assert json.loads(sent.body) == {"requests": {"user": [{"userid": "1"}]}}
    assert sent.header("User-Agent") == UA


# -- paging -----------------------------------------------------------------------------


def _page(ids: list[int]) -> Reply:
    rows = [{"id": str(i)} for i in ids]
    return Reply(200, body={"response": {"code": "OK", "users": {"user": rows}}})


def test_server_ignoring_the_id_query_is_detected_not_looped(sleeps: Sleeps) -> None:
    with ScriptedServer([_page([1, 2])]) as server:
        listing = scripted_client(server, sleeps).list_users("1", page_size=2)
        with pytest.raises(BuzzPagingError, match="returned id 1 twice"):
            list(listing)
        assert len(server.received) == 2
        assert server.received[1].param("query") == "/id>2"


def test_row_without_id_stops_paging_with_an_error(sleeps: Sleeps) -> None:
    body = {"response": {"code": "OK", "users": {"user": [{"username": "x"}]}}}
    with (
        ScriptedServer([Reply(200, body=body)]) as server,
        pytest.raises(BuzzResponseError, match="without an id"),
    ):
        scripted_client(server, sleeps).list_users("1").all()


def test_collapsed_lists_are_paged(buzz: BuzzServer, sleeps: Sleeps) -> None:
    buzz.faults = BuzzFaults(collapse_lists=True)
    client = buzz_client(buzz, sleeps)
    assert [u.id for u in client.list_users("1", page_size=1)] == ["5", "6"]
    assert client.list_users("1", show="deleted").all() == []


def test_non_json_answer_is_a_response_error(sleeps: Sleeps) -> None:
    with (
        ScriptedServer([Reply(200, body="<html>maintenance</html>")]) as server,
        pytest.raises(BuzzResponseError, match="no DLAP 'response' object"),
    ):
        scripted_client(server, sleeps).call("getuser2")


def test_received_is_used(sleeps: Sleeps) -> None:
    def script(request: Received) -> Reply:
        assert request.param("userid") == "1"
        assert request.param("flag") == "true"
        return Reply(200, body=OK)

    with ScriptedServer(script) as server:
        scripted_client(server, sleeps).call("getuser2", {"userid": 1, "flag": True, "x": None})
        assert server.received[0].param("x") is None


def test_batch_outcome_reprs_never_show_the_items(sleeps: Sleeps) -> None:
    answers = [{"code": "OK", "user": {"userid": "9"}}, {"code": "BadRequest", "message": "no"}]
    items = [
        {"username": "ada.l", "password": "Hunter2-Secret", "firstname": "Ada"},
        {"username": "grace.h", "password": "Hunter3-Secret", "email": "grace@example.org"},
    ]
    with ScriptedServer([_batch_reply(answers)]) as server:
        result = scripted_client(server, sleeps).batch("createusers2", "user", items)
    shown = " ".join(repr(x) for x in (result, *result.succeeded, *result.failed))
    assert "id='9'" in shown and "BadRequest" in shown
    for private in ("ada.l", "Hunter2-Secret", "Ada", "grace", "Hunter3-Secret"):
        assert private not in shown


def test_absurdly_nested_answer_is_a_response_error_not_a_crash(sleeps: Sleeps) -> None:
    with (
        ScriptedServer([Reply(200, body="[" * 200_000)]) as server,
        pytest.raises(BuzzResponseError),
    ):
        scripted_client(server, sleeps).call("getuser2")
