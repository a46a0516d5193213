"""Whatever a client sends, the loopback Buzz server answers a DLAP envelope, never a crash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneroster_client.buzz.testing import ROLE_IDS, BuzzServer
from oneroster_client.buzz.testing.reads import READS
from oneroster_client.buzz.testing.writes import BATCH, SINGLE_WRITES

SEED = {
    "domains": [{"id": "10", "name": "North", "userspace": "north"}],
    "users": [{"id": "20", "domainid": "10", "username": "ada", "firstname": "A", "lastname": "L"}],
    "courses": [{"id": "30", "title": "Algebra", "domainid": "10"}],
    "enrollments": [{"id": "40", "userid": "20", "entityid": "30", "roleid": ROLE_IDS["Student"]}],
}

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["10", "20", "30", "40", "1", "0", "*", "**", "/id>3", "true"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_fields = st.sampled_from(
    [
        "userid", "domainid", "entityid", "courseid", "enrollmentid", "username", "title",
        "status", "roleid", "flags", "query", "text", "limit", "show", "itemid", "schema",
        "parentid", "userspace", "name", "firstname", "lastname", "email", "actorid",
        "startdate", "enddate", "enrollmentids", "entitytypes", "allstatus", "action",
    ]
)  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[BuzzServer]:
    with BuzzServer(seed=SEED) as running:
        yield running


def _check(server: BuzzServer, answer: requests.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    response = answer.json()["response"]
    assert isinstance(response["code"], str)
    if response["code"] != "OK":
        assert response["message"] and response["errorId"]
    assert server.errors == []
    return dict(response)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    command=st.sampled_from(sorted(set(READS) | set(SINGLE_WRITES))),
    params=st.dictionaries(_fields, _json, max_size=5),
    in_body=st.booleans(),
)
def test_single_commands_with_any_parameters(
    server: BuzzServer, command: str, params: dict[str, Any], in_body: bool
) -> None:
    headers = {"Authorization": f"Bearer {server.issue_token()}"}
    if in_body:
        answer = requests.post(
            server.cmd_url(command), json={"request": params}, headers=headers, timeout=5
        )
    else:
        flat = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()}
        query = {k: v for k, v in flat.items() if v is not None}
        answer = requests.get(server.cmd_url(command), params=query, headers=headers, timeout=5)
    _check(server, answer)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    command=st.sampled_from(sorted(set(BATCH) - {"deleteusers", "deletecourses"})),
    items=st.lists(st.one_of(_json, st.dictionaries(_fields, _json, max_size=6)), max_size=4),
)
def test_batch_commands_with_any_items(server: BuzzServer, command: str, items: list[Any]) -> None:
    root = BATCH[command][0]
    answer = requests.post(
        server.cmd_url(command),
        json={"requests": {root: items}},
        headers={"Authorization": f"Bearer {server.issue_token()}"},
        timeout=5,
    )
    response = _check(server, answer)
    if response["code"] == "OK":
        results = response["responses"]["response"]
        expected = len(items) if isinstance(items, list) else 1
        assert len(results) == expected


@pytest.mark.parametrize(
    ("command", "params"),
    [
        ("listusers", {"domainid": 10, "text": 5}),
        ("listusers", {"domainid": "10", "query": ["/id>1"]}),
        ("getentitygradebook3", {"entityid": 30, "itemid": 7, "allstatus": True}),
        ("login3", {"username": 12, "password": 34}),
    ],
)
def test_non_text_parameters_in_the_body(
    server: BuzzServer, command: str, params: dict[str, Any]
) -> None:
    answer = requests.post(
        server.cmd_url(command),
        json={"request": params},
        headers={"Authorization": f"Bearer {server.issue_token()}"},
        timeout=5,
    )
    _check(server, answer)
