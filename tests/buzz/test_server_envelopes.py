"""The loopback Buzz server's DLAP envelopes and routing, through real HTTP."""

from __future__ import annotations

import pytest
import requests

from oneroster_client.buzz.testing import ROOT_DOMAIN_ID, BuzzServer

from .conftest import Dlap


def _bearer(server: BuzzServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.issue_token()}"}


def test_path_and_query_forms_answer_the_same(buzz_server: BuzzServer) -> None:
    headers = _bearer(buzz_server)
    by_path = requests.get(
        buzz_server.cmd_url("getdomain2"), params={"domainid": "1"}, headers=headers, timeout=5
    )
    by_query = requests.get(
        buzz_server.base_url + "/cmd",
        params={"cmd": "getdomain2", "domainid": "1"},
        headers=headers,
        timeout=5,
    )
    assert by_path.status_code == by_query.status_code == 200
    assert by_path.json()["response"]["code"] == "OK"
    assert by_path.json()["response"]["domain"] == by_query.json()["response"]["domain"]
    assert by_path.json()["response"]["domain"]["id"] == ROOT_DOMAIN_ID


def test_command_may_come_in_the_request_body(buzz_server: BuzzServer) -> None:
    body = {"request": {"cmd": "getdomain2", "domainid": "1"}}
    answer = requests.post(
        buzz_server.base_url + "/cmd", json=body, headers=_bearer(buzz_server), timeout=5
    )
    assert answer.json()["response"]["domain"]["userspace"] == "root"


def test_batch_answer_has_one_result_per_item_in_order(dlap: Dlap) -> None:
    items = [
        {"name": "A", "userspace": "a-school", "parentid": "1"},
        {"name": "B", "userspace": "a-school", "parentid": "1"},
        {"name": "C", "userspace": "c-school", "parentid": "1"},
    ]
    response = dlap.batch("createdomains", "domain", items)
    assert response["code"] == "OK"
    results = response["responses"]["response"]
    assert [r["code"] for r in results] == ["OK", "BadRequest", "OK"]
    assert results[1]["message"] and results[1]["errorId"]
    assert int(results[2]["domain"]["domainid"]) > int(results[0]["domain"]["domainid"])


def test_failures_come_in_http_200_with_code_message_and_error_id(dlap: Dlap) -> None:
    response = dlap.get("getuser2", userid="999999")
    assert response["code"] == "DoesNotExist"
    assert "999999" in response["message"]
    assert len(response["errorId"]) == 32


def test_unknown_command_is_a_dlap_error(dlap: Dlap) -> None:
    response = dlap.get("frobnicate")
    assert response["code"] == "BadRequest"
    assert "frobnicate" in response["message"]


def test_missing_command_is_a_dlap_error(buzz_server: BuzzServer) -> None:
    answer = requests.get(buzz_server.base_url + "/cmd", timeout=5)
    assert answer.status_code == 200
    assert answer.json()["response"]["code"] == "BadRequest"


def test_body_that_is_not_json_is_refused(buzz_server: BuzzServer) -> None:
    answer = requests.post(
        buzz_server.cmd_url("createusers2"),
        data=b"{not json",
        headers={**_bearer(buzz_server), "Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.json()["response"]["code"] == "BadRequest"


def test_batch_command_needs_post_with_the_right_root(buzz_server: BuzzServer, dlap: Dlap) -> None:
    assert dlap.get("createusers2")["code"] == "BadRequest"
    wrong_root = dlap.batch("createusers2", "users", [{"username": "x"}])
    assert wrong_root["code"] == "BadRequest"
    assert '"user"' in wrong_root["message"]
    assert [u["username"] for u in buzz_server.users()] == ["administrator", "sis-sync-app"]


def test_single_object_in_place_of_a_list_is_one_item(dlap: Dlap) -> None:
    answer = dlap.session.post(
        dlap.server.cmd_url("createdomains"),
        json={"requests": {"domain": {"name": "Solo", "userspace": "solo", "parentid": "1"}}},
        timeout=5,
    )
    (result,) = answer.json()["response"]["responses"]["response"]
    assert result["code"] == "OK"


def test_paths_outside_cmd_are_404(buzz_server: BuzzServer) -> None:
    assert requests.get(buzz_server.base_url + "/nothing", timeout=5).status_code == 404


def test_request_log_keeps_commands_and_counts_not_secrets(
    buzz_server: BuzzServer, dlap: Dlap
) -> None:
    dlap.items(
        "createdomains",
        "domain",
        [
            {"name": "A", "userspace": "a", "parentid": "1"},
            {"name": "B", "userspace": "b", "parentid": "1"},
        ],
    )
    dlap.get("listdomains", domainid="0")
    requests.post(
        buzz_server.cmd_url("login3"),
        json={"request": {"username": buzz_server.login_username, "password": "wrong-pass"}},
        timeout=5,
    )
    served = buzz_server.requests
    assert [(s.method, s.command, s.entities, s.code) for s in served] == [
        ("POST", "createdomains", 2, "OK"),
        ("GET", "listdomains", 0, "OK"),
        ("POST", "login3", 0, "InvalidCredentials"),
    ]
    assert "wrong-pass" not in repr(served)
    assert buzz_server.login_password not in repr(buzz_server)


def test_other_methods_are_refused(buzz_server: BuzzServer) -> None:
    answer = requests.put(buzz_server.cmd_url("getdomain2"), timeout=5)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, POST"


def test_request_log_keeps_the_user_agent(buzz_server: BuzzServer) -> None:
    requests.get(
        buzz_server.cmd_url("getdomain2"),
        headers={"User-Agent": "SisSync/1.0 (district; ops@example.org)"},
        timeout=5,
    )
    assert buzz_server.requests[-1].user_agent == "SisSync/1.0 (district; ops@example.org)"


def test_deeply_nested_body_is_a_dlap_error(buzz_server: BuzzServer) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    answer = requests.post(
        buzz_server.cmd_url("createusers2"),
        data=body,
        headers={**_bearer(buzz_server), "Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.json()["response"]["code"] == "BadRequest"
    assert buzz_server.errors == []


def test_a_server_bug_answers_500_is_recorded_and_fails_the_fixture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from oneroster_client.buzz.testing import reads
    from oneroster_client.buzz.testing.pytest_plugin import fail_on_server_errors

    def broken(call: object) -> dict[str, object]:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(reads.READS, "getdomain2", broken)
    with BuzzServer() as server:
        fail_on_server_errors(server)  # healthy so far
        answer = requests.get(
            server.cmd_url("getdomain2"),
            params={"domainid": "1"},
            headers=_bearer(server),
            timeout=5,
        )
        assert answer.status_code == 500
        assert answer.json()["response"]["code"] == "InternalError"
        assert [type(e) for e in server.errors] == [ZeroDivisionError]
        with pytest.raises(pytest.fail.Exception, match="ZeroDivisionError"):
            fail_on_server_errors(server)
