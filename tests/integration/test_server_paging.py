"""Integration: the loopback server pages collections as OneRoster 1.1 section 8.1 says.

Raw HTTP with ``requests``: ``limit`` (default 100) and ``offset``, ``X-Total-Count`` with
the full (filtered) total, and an RFC 8288 ``Link`` header with absolute ``first``,
``last``, ``next`` and ``prev`` URLs that carry every original parameter. The last page
has no ``next`` and the first no ``prev``; following ``next`` visits every record once.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from oauthlib import oauth1

from oneroster_client.testing.district import District
from oneroster_client.testing.generator import generate_district
from oneroster_client.testing.server import OneRosterServer

CATEGORIES = 50  # a total that is a multiple of some limits (10, 25, 50) but not others (7, 3)


def _district() -> District:
    district = generate_district(students=60, seed=7)
    template = district["categories"][0]
    district.collections["categories"] = [
        {**copy.deepcopy(template), "sourcedId": f"cat-p-{n:02d}", "title": f"Category {n:02d}"}
        for n in range(CATEGORIES)
    ]
    return district


@pytest.fixture(scope="module")
def server() -> Iterator[OneRosterServer]:
    """A read-only server: the fixture district with exactly 50 categories."""
    with OneRosterServer(_district()) as shared:
        yield shared


@pytest.fixture(scope="module")
def api(server: OneRosterServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {server.issue_token()}"
        yield session


def _query(params: dict[str, Any]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(str(v), safe='')}" for k, v in params.items())


def _get(api: requests.Session, server: OneRosterServer, path: str, **params: Any) -> Any:
    url = server.base_url + path + (f"?{_query(params)}" if params else "")
    response = api.get(url, timeout=5)
    assert response.status_code == 200, response.text
    return response


def _links(response: requests.Response) -> dict[str, dict[str, str]]:
    """rel -> the link's query parameters (single values), plus its URL under ``"url"``."""
    found: dict[str, dict[str, str]] = {}
    for rel, link in response.links.items():
        params = {name: values[0] for name, values in parse_qs(urlsplit(link["url"]).query).items()}
        found[rel] = {**params, "url": link["url"]}
    return found


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [record["sourcedId"] for record in records]


def _all_ids(api: requests.Session, server: OneRosterServer, path: str, key: str) -> list[str]:
    response = _get(api, server, path, limit=10_000)
    assert "next" not in response.links
    return _ids(response.json()[key])


# --- one page at a time -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "offset"),
    [
        (10, 0),
        (10, 10),
        (10, 40),  # the last page of a total that is a multiple of the limit
        (7, 0),
        (7, 14),
        (7, 49),  # the last page of a total that is not: one record
        (3, 5),  # an offset that is not a multiple of the limit
        (10, 45),
        (25, 25),
        (49, 0),
        (50, 0),  # exactly one full page
        (51, 0),
        (100, 0),
        (1, 0),
        (1, 49),
    ],
)
def test_page_records_total_and_links(
    api: requests.Session, server: OneRosterServer, limit: int, offset: int
) -> None:
    everything = _all_ids(api, server, "/categories", "categories")
    assert len(everything) == CATEGORIES

    response = _get(api, server, "/categories", limit=limit, offset=offset)

    assert response.headers["X-Total-Count"] == str(CATEGORIES)
    assert _ids(response.json()["categories"]) == everything[offset : offset + limit]
    links = _links(response)
    for rel, link in links.items():
        assert link["url"].startswith(server.base_url + "/categories?"), rel
        assert link["limit"] == str(limit), rel
    assert links["first"]["offset"] == "0"
    last = int(links["last"]["offset"])
    assert last < CATEGORIES <= last + limit, "the last link must point at the final record"
    if offset % limit == 0:
        assert last == (CATEGORIES - 1) // limit * limit
    if offset + limit < CATEGORIES:
        assert links["next"]["offset"] == str(offset + limit)
    else:
        assert "next" not in links, "the last page must not have a next link"
    if offset > 0:
        assert links["prev"]["offset"] == str(max(0, offset - limit))
    else:
        assert "prev" not in links, "the first page must not have a prev link"
    assert set(links) <= {"first", "last", "next", "prev"}


def test_default_limit_is_100(api: requests.Session, server: OneRosterServer) -> None:
    results = len(server.district["results"])
    assert results > 100, "the fixture district should hold more than 100 results"

    response = _get(api, server, "/results")

    assert len(response.json()["results"]) == 100
    assert response.headers["X-Total-Count"] == str(results)
    links = _links(response)
    assert (links["next"]["limit"], links["next"]["offset"]) == ("100", "100")
    assert "prev" not in links

    small = _get(api, server, "/categories")
    assert len(small.json()["categories"]) == CATEGORIES
    assert "next" not in small.links


def test_default_limit_is_configurable(server: OneRosterServer) -> None:
    with OneRosterServer(server.district, default_limit=20) as other:
        headers = {"Authorization": f"Bearer {other.issue_token()}"}
        response = requests.get(f"{other.base_url}/users", headers=headers, timeout=5)
    assert len(response.json()["users"]) == 20
    assert _links(response)["next"]["offset"] == "20"


def test_total_counts_the_filtered_records(api: requests.Session, server: OneRosterServer) -> None:
    students = [u for u in server.district["users"] if u["role"] == "student"]
    response = _get(api, server, "/users", filter="role='student'", limit=5)
    assert response.headers["X-Total-Count"] == str(len(students))
    last = int(_links(response)["last"]["offset"])
    assert last == (len(students) - 1) // 5 * 5


def test_empty_result_is_an_empty_list_with_zero_total(
    api: requests.Session, server: OneRosterServer
) -> None:
    response = _get(api, server, "/categories", filter="title='no such category'", limit=10)
    assert response.json() == {"categories": []}
    assert response.headers["X-Total-Count"] == "0"
    links = _links(response)
    assert "next" not in links and "prev" not in links


def test_offset_past_the_end_is_an_empty_page(
    api: requests.Session, server: OneRosterServer
) -> None:
    response = _get(api, server, "/categories", limit=10, offset=60)
    assert response.json()["categories"] == []
    assert response.headers["X-Total-Count"] == str(CATEGORIES)
    assert "next" not in response.links


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"offset": "1.5"},
    ],
)
def test_invalid_limit_or_offset_is_a_bad_request(
    api: requests.Session, server: OneRosterServer, params: dict[str, str]
) -> None:
    response = api.get(f"{server.base_url}/categories?{_query(params)}", timeout=5)
    assert response.status_code == 400
    infos = response.json()["statusInfoSet"]
    assert infos[0]["imsx_severity"] == "error"
    assert "categories" not in response.json()


def test_single_object_answers_carry_no_paging_headers(
    api: requests.Session, server: OneRosterServer
) -> None:
    response = _get(api, server, "/categories/cat-p-00")
    assert "X-Total-Count" not in response.headers
    assert "Link" not in response.headers


def test_links_carry_every_original_parameter(
    api: requests.Session, server: OneRosterServer
) -> None:
    params = {
        "filter": "familyName~'a' OR givenName~'é'",
        "sort": "familyName",
        "orderBy": "desc",
        "fields": "sourcedId,familyName,givenName",
    }
    response = _get(api, server, "/users", limit=4, offset=4, **params)
    links = _links(response)
    assert set(links) == {"first", "last", "next", "prev"}
    for rel, link in links.items():
        assert " " not in link["url"], rel
        for name, value in params.items():
            assert link[name] == value, (rel, name)


# --- walking the next links ---------------------------------------------------------------


def _walk(start: str, fetch: Any, key: str) -> tuple[list[str], int, list[requests.Response]]:
    """Follow ``next`` links from ``start``; return the ids seen, the total, the responses."""
    seen: list[str] = []
    responses = []
    url: str | None = start
    total = None
    while url is not None:
        response = fetch(url)
        assert response.status_code == 200, response.text
        responses.append(response)
        page_total = int(response.headers["X-Total-Count"])
        assert total is None or page_total == total, "the total changed between pages"
        total = page_total
        seen += _ids(response.json()[key])
        url = response.links.get("next", {}).get("url")
        assert len(responses) < 500, "the next links do not end"
    assert total is not None
    return seen, total, responses


@pytest.mark.parametrize(
    ("path", "key", "params"),
    [
        ("/users", "users", {"limit": 7}),
        ("/users", "users", {"limit": 7, "filter": "role='student' OR role='teacher'"}),
        ("/users", "users", {"limit": 9, "sort": "familyName", "orderBy": "desc"}),
        ("/categories", "categories", {"limit": 10}),
        ("/categories", "categories", {"limit": 50}),
        ("/enrollments", "enrollments", {"limit": 100}),
        ("/results", "results", {}),
        ("/schools/sch-001/enrollments", "enrollments", {"limit": 13}),
    ],
)
def test_following_next_visits_every_record_exactly_once(
    api: requests.Session,
    server: OneRosterServer,
    path: str,
    key: str,
    params: dict[str, Any],
) -> None:
    url = server.base_url + path + (f"?{_query(params)}" if params else "")

    seen, total, responses = _walk(url, lambda link: api.get(link, timeout=5), key)

    assert len(seen) == total
    assert len(set(seen)) == len(seen), "a record was served twice"
    unpaged = {k: v for k, v in params.items() if k != "limit"}
    assert seen == _ids(_get(api, server, path, limit=10_000, **unpaged).json()[key])
    limit = int(params.get("limit", 100))
    assert len(responses) == max(1, math.ceil(total / limit))


def test_next_links_can_be_signed_and_followed_with_oauth1(server: OneRosterServer) -> None:
    client = oauth1.Client(
        server.client_id,
        client_secret=server.client_secret,
        signature_method=oauth1.SIGNATURE_HMAC_SHA256,
    )

    def fetch(url: str) -> requests.Response:
        uri, headers, _ = client.sign(url)
        return requests.get(uri, headers=headers, timeout=5)

    params = {"limit": 6, "filter": "familyName>='M' AND role!='student'", "sort": "familyName"}
    start = f"{server.base_url}/users?{_query(params)}"
    seen, total, responses = _walk(start, fetch, "users")

    expected = [
        u
        for u in server.district["users"]
        if u["familyName"].casefold() >= "m" and u["role"] != "student"
    ]
    assert total == len(expected) == len(seen) == len(set(seen))
    assert set(seen) == {u["sourcedId"] for u in expected}
    assert len(responses) == math.ceil(total / 6)


def test_links_under_ids_with_spaces_and_non_ascii_are_encoded(server: OneRosterServer) -> None:
    district = copy.deepcopy(server.district)
    student = next(u for u in district["users"] if u["role"] == "student")
    odd_id = "usr é 中 1"
    district["users"].append({**student, "sourcedId": odd_id})
    for enrollment in list(district["enrollments"]):
        if enrollment["user"]["sourcedId"] == student["sourcedId"]:
            district["enrollments"].append(
                {
                    **enrollment,
                    "sourcedId": enrollment["sourcedId"] + "-odd",
                    "user": {"sourcedId": odd_id},
                }
            )
    with OneRosterServer(district) as other:
        headers = {"Authorization": f"Bearer {other.issue_token()}"}
        url = f"{other.base_url}/students/{quote(odd_id, safe='')}/classes?limit=1"
        response = requests.get(url, headers=headers, timeout=5)
        assert response.status_code == 200, response.text
        links = _links(response)
        assert set(links) >= {"first", "last", "next"}
        for rel, link in links.items():
            assert link["url"].isascii() and " " not in link["url"], rel
        seen, total, _ = _walk(
            url, lambda u: requests.get(u, headers=headers, timeout=5), "classes"
        )
    assert total > 1 and len(seen) == total == len(set(seen))
