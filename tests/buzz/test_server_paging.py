"""Paging and the ``query`` parameter of the loopback Buzz server's list commands."""

from __future__ import annotations

import itertools

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client.buzz.testing import BuzzServer

from .conftest import Dlap

_counter = itertools.count()


def _page_through(dlap: Dlap, command: str, key: str, limit: int, **params: str) -> list[str]:
    seen: list[str] = []
    last = "0"
    while True:
        answer = dlap.get(command, limit=str(limit), query=f"/id>{last}", **params)
        page = answer[key + "s"][key]
        seen.extend(row["id"] for row in page)
        if len(page) < limit:
            return seen
        last = page[-1]["id"]


@settings(max_examples=15, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=25),
    limit=st.integers(min_value=1, max_value=8),
    gaps=st.lists(st.integers(min_value=1, max_value=500), min_size=25, max_size=25),
)
def test_paging_by_id_returns_every_user_once_in_numeric_order(
    count: int, limit: int, gaps: list[int]
) -> None:
    # Ids of different lengths ("999" < "1000" numerically, not as text) with gaps.
    domain = str(next(_counter) + 10)
    ids = list(itertools.accumulate(gaps, initial=990))[1 : count + 1]
    users = [
        {"id": str(i), "domainid": domain, "username": f"u{i}", "firstname": "F", "lastname": "L"}
        for i in ids
    ]
    seed = {"domains": [{"id": domain, "name": "D", "userspace": f"d{domain}"}], "users": users}
    with BuzzServer(seed=seed) as server:
        dlap = Dlap(server, server.issue_token())
        assert _page_through(dlap, "listusers", "user", limit, domainid=domain) == [
            str(i) for i in ids
        ]


def test_limit_and_id_query_on_every_list(buzz_server: BuzzServer, dlap: Dlap) -> None:
    buzz_server.seed(
        {
            "domains": [
                {"id": str(10 + n), "name": f"D{n}", "userspace": f"d{n}"} for n in range(5)
            ],
            "courses": [{"title": f"C{n}", "domainid": "10"} for n in range(5)],
        }
    )
    domains = _page_through(dlap, "listdomains", "domain", 2, domainid="1")
    assert domains == ["10", "11", "12", "13", "14"]
    courses = _page_through(dlap, "listcourses", "course", 2, domainid="10")
    assert courses == sorted(courses, key=int) and len(courses) == 5


def test_max_limit_caps_pages() -> None:
    seed = {"domains": [{"id": str(10 + n), "name": "D", "userspace": f"d{n}"} for n in range(7)]}
    with BuzzServer(seed=seed, max_limit=3) as server:
        dlap = Dlap(server, server.issue_token())
        page = dlap.get("listdomains", domainid="1", limit="100")["domains"]["domain"]
        assert len(page) == 3
        assert _page_through(dlap, "listdomains", "domain", 3, domainid="1") == [
            str(10 + n) for n in range(7)
        ]


def test_includedescendantdomains(buzz_server: BuzzServer, dlap: Dlap) -> None:
    buzz_server.seed(
        {
            "domains": [
                {"id": "10", "name": "A", "userspace": "a"},
                {"id": "11", "name": "B", "userspace": "b", "parentid": "10"},
            ],
            "users": [
                {"id": "20", "domainid": "10", "username": "x", "firstname": "X", "lastname": "X"},
                {"id": "21", "domainid": "11", "username": "y", "firstname": "Y", "lastname": "Y"},
            ],
        }
    )

    def user_ids(**params: str) -> list[str]:
        return [u["id"] for u in dlap.get("listusers", domainid="10", **params)["users"]["user"]]

    assert user_ids() == ["20"]
    assert user_ids(includedescendantdomains="true") == ["20", "21"]
    below_root = dlap.get("listdomains", domainid="1", includedescendantdomains="true")
    assert [d["id"] for d in below_root["domains"]["domain"]] == ["10", "11"]
    children = dlap.get("listdomains", domainid="1")["domains"]["domain"]
    assert [d["id"] for d in children] == ["10"]


@settings(max_examples=40, deadline=None)
@given(
    value=st.integers(min_value=0, max_value=10**6),
    op=st.sampled_from([">", ">=", "<", "<=", "=", "<>"]),
)
def test_id_comparisons_are_numeric(value: int, op: str) -> None:
    from oneroster_client.buzz.testing.query import compile_query

    predicate = compile_query(f"/id{op}{value}")
    for candidate in (0, 9, 10, 99, 100, 1000, value, value + 1):
        expected = {
            ">": candidate > value,
            ">=": candidate >= value,
            "<": candidate < value,
            "<=": candidate <= value,
            "=": candidate == value,
            "<>": candidate != value,
        }[op]
        assert predicate({"id": str(candidate)}) is expected


def test_list_envelopes_for_other_lists(buzz_server: BuzzServer) -> None:
    token = buzz_server.issue_token()
    answer = requests.get(
        buzz_server.cmd_url("listenrollments"),
        params={"domainid": "1", "includedescendantdomains": "true"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).json()["response"]
    assert answer == {"code": "OK", "enrollments": {"enrollment": []}}
