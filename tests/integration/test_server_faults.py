"""Integration: every fault mode of :class:`Faults`, observed over raw HTTP.

The loopback server must misbehave exactly as configured (and only then): latency, 429
with ``Retry-After`` in seconds or as an HTTP-date, 5xx bursts and permanent failures,
malformed bodies, capped pages, missing or lying paging headers, ignored offsets, a
``next`` link to another host, expired tokens answered with 500, string booleans, unknown
roles, renamed envelopes, unreadable records, refused HTTP Basic at the token endpoint
and forbidden gradebook writes; and the faults a reliability table needs: totals that are
the page's own length, next links that skip or overlap, records reordered between
requests, 200 answers whose statusInfoSet reports failure, relative links, slow bodies
and connections dropped mid-body.
"""

from __future__ import annotations

import copy
import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from oneroster_client.testing.district import District
from oneroster_client.testing.server import Faults, OneRosterServer


class Api:
    def __init__(self, server: OneRosterServer, session: requests.Session) -> None:
        self.server = server
        self.session = session

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.server.base_url + path, params=params, timeout=5)


@pytest.fixture
def api(oneroster_server: OneRosterServer) -> Iterator[Api]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {oneroster_server.issue_token()}"
        yield Api(oneroster_server, session)


@pytest.fixture
def faults(oneroster_server: OneRosterServer) -> Faults:
    return oneroster_server.faults


def _code_minor(response: requests.Response) -> str:
    (info,) = response.json()["statusInfoSet"]
    assert info["imsx_severity"] == "error"
    return str(info["imsx_codeMinor"])


def _ids(response: requests.Response, key: str) -> list[str]:
    return [record["sourcedId"] for record in response.json()[key]]


# --- timing and availability --------------------------------------------------------------


def test_latency_delays_every_answer(api: Api, faults: Faults) -> None:
    faults.latency = 0.15
    for path in ("/orgs", "/orgs/no-such-id"):
        started = time.perf_counter()
        response = api.get(path)
        assert time.perf_counter() - started >= 0.15, path
        assert response.status_code in (200, 404)
    started = time.perf_counter()
    token = requests.post(
        api.server.token_url,
        data={"grant_type": "client_credentials"},
        auth=(api.server.client_id, api.server.client_secret),
        timeout=5,
    )
    assert token.status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_no_latency_by_default(api: Api) -> None:
    started = time.perf_counter()
    for _ in range(5):
        assert api.get("/orgs").status_code == 200
    assert time.perf_counter() - started < 1.0


def test_rate_limit_every_nth_request_with_retry_after_seconds(api: Api, faults: Faults) -> None:
    faults.rate_limit_every = 3
    faults.retry_after = "7"
    responses = [api.get("/orgs") for _ in range(7)]

    assert [r.status_code for r in responses] == [200, 200, 429, 200, 200, 429, 200]
    for limited in (responses[2], responses[5]):
        assert limited.headers["Retry-After"] == "7"
        assert _code_minor(limited) == "server_busy"
        assert "orgs" not in limited.json()
    assert "Retry-After" not in responses[0].headers
    assert api.server.statuses() == [r.status_code for r in responses]


def test_rate_limit_counts_api_requests_only(api: Api, faults: Faults) -> None:
    faults.rate_limit_every = 2
    statuses = []
    for _ in range(4):
        statuses.append(api.get("/orgs").status_code)
        token = requests.post(
            api.server.token_url,
            data={"grant_type": "client_credentials"},
            auth=(api.server.client_id, api.server.client_secret),
            timeout=5,
        )
        assert token.status_code == 200
    assert statuses == [200, 429, 200, 429]


def test_rate_limit_with_retry_after_as_http_date(api: Api, faults: Faults) -> None:
    faults.rate_limit_every = 1
    faults.retry_after = "30"
    faults.retry_after_http_date = True

    before = datetime.now(UTC).replace(microsecond=0)
    response = api.get("/users")
    after = datetime.now(UTC)

    assert response.status_code == 429
    header = response.headers["Retry-After"]
    assert header.endswith(" GMT")
    moment = parsedate_to_datetime(header)
    assert (moment - before).total_seconds() >= 29
    assert (moment - after).total_seconds() <= 31


def test_fail_next_burst_then_recovery(api: Api, faults: Faults) -> None:
    faults.fail_next(503, 3)
    responses = [api.get("/classes") for _ in range(5)]

    assert [r.status_code for r in responses] == [503, 503, 503, 200, 200]
    assert _code_minor(responses[0]) == "internal_server_error"
    assert faults.fail_statuses == []
    assert len(responses[3].json()["classes"]) == min(100, len(api.server.district["classes"]))


def test_fail_statuses_are_consumed_in_order(api: Api, faults: Faults) -> None:
    faults.fail_statuses = [500, 502, 429, 504]
    statuses = [api.get("/orgs").status_code for _ in range(5)]
    assert statuses == [500, 502, 429, 504, 200]
    assert api.server.statuses() == statuses


def test_fail_next_429_carries_retry_after(api: Api, faults: Faults) -> None:
    faults.fail_next(429)
    response = api.get("/orgs")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert _code_minor(response) == "server_busy"


def test_fail_always_until_switched_off(api: Api, faults: Faults) -> None:
    faults.fail_always = 500
    responses = [api.get(path) for path in ("/orgs", "/users", "/orgs/x", "/classes")]
    assert {r.status_code for r in responses} == {500}
    assert all(list(r.json()) == ["statusInfoSet"] for r in responses)

    faults.fail_always = None
    assert api.get("/orgs").status_code == 200


# --- broken bodies ------------------------------------------------------------------------


def test_malformed_invalid_body_once(api: Api, faults: Faults) -> None:
    faults.malform_next("invalid")
    broken = api.get("/orgs")
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()
    assert len(api.get("/orgs").json()["orgs"]) == len(api.server.district["orgs"])


def test_malformed_truncated_body(api: Api, faults: Faults) -> None:
    whole = api.get("/users", limit=5).content
    faults.malform_next("truncated")
    cut = api.get("/users", limit=5)

    assert cut.status_code == 200
    assert 0 < len(cut.content) < len(whole)
    assert whole.startswith(cut.content)
    with pytest.raises(ValueError):
        json.loads(cut.content)
    assert int(cut.headers["Content-Length"]) == len(cut.content)


def test_malformed_no_envelope(api: Api, faults: Faults) -> None:
    faults.malform_next("no_envelope", count=2)
    for path, key in (("/users", "users"), ("/orgs/dst-1", "org")):
        body = api.get(path).json()
        assert key not in body
        assert "statusInfoSet" not in body
    assert "users" in api.get("/users").json()


def test_malformed_kinds_are_consumed_in_order_by_successful_answers(
    api: Api, faults: Faults
) -> None:
    faults.fail_next(503)
    faults.malform_next("invalid")
    faults.malform_next("no_envelope")

    failed = api.get("/orgs")
    assert failed.status_code == 503
    assert _code_minor(failed) == "internal_server_error"  # error answers stay readable
    with pytest.raises(ValueError):
        api.get("/orgs").json()
    assert "orgs" not in api.get("/orgs").json()
    assert "orgs" in api.get("/orgs").json()


def test_unknown_malformed_kind_is_refused(faults: Faults) -> None:
    with pytest.raises(ValueError):
        faults.malform_next("gibberish")


# --- paging -------------------------------------------------------------------------------


def test_cap_page_size_serves_fewer_records_but_the_full_total(api: Api, faults: Faults) -> None:
    total = len(api.server.district["users"])
    faults.cap_page_size = 5

    response = api.get("/users", limit=20, offset=10)

    assert len(response.json()["users"]) == 5
    assert response.headers["X-Total-Count"] == str(total)
    assert "offset=15" in response.links["next"]["url"]
    assert len(api.get("/users", limit=3).json()["users"]) == 3
    assert len(api.get("/users").json()["users"]) == 5

    seen = []
    url: str | None = f"{api.server.base_url}/users?limit=50"
    while url:
        page = api.session.get(url, timeout=5)
        seen += _ids(page, "users")
        url = page.links.get("next", {}).get("url")
    assert sorted(seen) == sorted(u["sourcedId"] for u in api.server.district["users"])


def test_paging_headers_off(api: Api, faults: Faults) -> None:
    faults.paging_headers = False
    response = api.get("/users", limit=10, offset=10)
    assert response.status_code == 200
    assert "X-Total-Count" not in response.headers
    assert "Link" not in response.headers
    expected = [u["sourcedId"] for u in api.server.district["users"][10:20]]
    assert _ids(response, "users") == expected


@pytest.mark.parametrize("delta", [7, -3])
def test_total_count_delta_lies_about_the_total(api: Api, faults: Faults, delta: int) -> None:
    total = len(api.server.district["users"])
    faults.total_count_delta = delta
    response = api.get("/users", limit=10)
    assert response.headers["X-Total-Count"] == str(total + delta)
    assert len(response.json()["users"]) == 10


def test_ignore_offset_repeats_the_first_page(api: Api, faults: Faults) -> None:
    first = _ids(api.get("/users", limit=10), "users")
    faults.ignore_offset = True
    for offset in (10, 20, 150):
        response = api.get("/users", limit=10, offset=offset)
        assert _ids(response, "users") == first
        assert response.headers["X-Total-Count"] == str(len(api.server.district["users"]))


def test_foreign_next_link(api: Api, faults: Faults) -> None:
    faults.foreign_next_link = True
    response = api.get("/users", limit=10, offset=10)
    links = response.links
    assert links["next"]["url"].startswith("http://other-host.invalid:8080/")
    assert "offset=20" in links["next"]["url"]
    for rel in ("first", "last", "prev"):
        assert links[rel]["url"].startswith(api.server.base_url), rel


def _offset(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["offset"][0])


def test_total_count_is_page_length(api: Api, faults: Faults) -> None:
    total = len(api.server.district["users"])
    assert total > 25
    faults.total_count_is_page_length = True
    for offset, expected in ((0, 10), (10, 10), (total - 3, 3)):
        response = api.get("/users", limit=10, offset=offset)
        assert len(response.json()["users"]) == expected
        assert response.headers["X-Total-Count"] == str(expected)
    faults.total_count_delta = -2
    assert api.get("/users", limit=10).headers["X-Total-Count"] == "8"


@pytest.mark.parametrize("delta", [3, -4])
def test_next_link_offset_delta_skips_or_overlaps(api: Api, faults: Faults, delta: int) -> None:
    faults.next_link_offset_delta = delta
    response = api.get("/users", limit=10, offset=20)
    assert _offset(response.links["next"]["url"]) == 30 + delta
    # Only next is wrong: first, last and prev stay true.
    assert _offset(response.links["prev"]["url"]) == 10
    assert _offset(response.links["first"]["url"]) == 0
    assert len(response.json()["users"]) == 10


def test_shuffle_pages_reorders_records_on_every_request(api: Api, faults: Faults) -> None:
    everyone = _ids(api.get("/users", limit=1000), "users")
    faults.shuffle_pages = True
    orders = [_ids(api.get("/users", limit=1000), "users") for _ in range(3)]
    assert all(sorted(order) == sorted(everyone) for order in orders), "nothing lost"
    assert len({tuple(order) for order in [*orders, everyone]}) == 4, "a new order each time"
    # Reading page by page then misses some records and repeats others.
    pages = [_ids(api.get("/users", limit=20, offset=o), "users") for o in range(0, 1000, 20)]
    seen = [sourced_id for page in pages for sourced_id in page]
    assert len(seen) == len(everyone)
    assert set(seen) != set(everyone)


def test_shuffle_pages_is_reproducible_with_the_same_seed(oneroster_district: District) -> None:
    def orders(seed: int) -> list[list[str]]:
        faults = Faults(shuffle_pages=True, shuffle_seed=seed)
        with OneRosterServer(oneroster_district, faults=faults) as server:
            headers = {"Authorization": f"Bearer {server.issue_token()}"}
            url = f"{server.base_url}/users"
            return [
                _ids(requests.get(url, headers=headers, params={"limit": 15}, timeout=5), "users")
                for _ in range(3)
            ]

    assert orders(11) == orders(11)
    assert orders(11) != orders(12)


def test_status_failure_every_nth_request(api: Api, faults: Faults) -> None:
    faults.status_failure_every = 2
    first = api.get("/users", limit=10)
    second = api.get("/users", limit=10)
    third = api.get("/users", limit=10)
    single = api.get("/orgs/" + api.server.district["orgs"][0]["sourcedId"])

    assert [r.status_code for r in (first, second, third, single)] == [200] * 4
    assert len(first.json()["users"]) == len(third.json()["users"]) == 10
    assert "statusInfoSet" not in first.json()
    body = second.json()
    assert body["users"] == [], "the records are withheld"
    (info,) = body["statusInfoSet"]
    assert (info["imsx_codeMajor"], info["imsx_severity"]) == ("failure", "error")
    assert second.headers["X-Total-Count"] == first.headers["X-Total-Count"]
    assert "org" not in single.json()
    assert single.json()["statusInfoSet"][0]["imsx_codeMajor"] == "failure"


def test_relative_links(api: Api, faults: Faults) -> None:
    absolute = api.get("/users", limit=10, offset=10, sort="familyName").links
    faults.relative_links = True
    relative = api.get("/users", limit=10, offset=10, sort="familyName").links
    assert set(relative) == {"first", "last", "next", "prev"}
    for rel, link in relative.items():
        assert link["url"].startswith(api.server.base_path + "/users?"), rel
        assert api.server.origin + link["url"] == absolute[rel]["url"], rel


def test_drip_seconds_slows_the_body(api: Api, faults: Faults) -> None:
    fast = api.get("/users", limit=20)
    size = len(fast.content)
    faults.drip_seconds = 0.02
    faults.drip_chunk_bytes = size // 4 + 1  # four chunks, four pauses
    started = time.perf_counter()
    slow = api.get("/users", limit=20)
    assert time.perf_counter() - started >= 4 * 0.02
    assert slow.content == fast.content


def _raw_get(server: OneRosterServer, target: str, token: str) -> tuple[int, int, bytes]:
    """Status, announced Content-Length and the body bytes received before the close."""
    request = (
        f"GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(request.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), int(headers["content-length"]), body


def test_cut_body_every_nth_request_drops_the_connection_mid_body(api: Api, faults: Faults) -> None:
    faults.cut_body_every = 2
    token = api.server.issue_token()
    target = api.server.base_path + "/users?limit=20"
    answers = [_raw_get(api.server, target, token) for _ in range(4)]
    for number, (status, announced, body) in enumerate(answers, 1):
        assert status == 200
        if number % 2:
            assert len(body) == announced
        else:
            assert 0 < len(body) < announced, "cut in the middle of the body"
    # requests reports the short body as a broken connection (IncompleteRead).
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        for _ in range(2):
            api.get("/users", limit=20).json()


def test_new_faults_combine(api: Api, faults: Faults) -> None:
    faults.total_count_is_page_length = True
    faults.relative_links = True
    faults.next_link_offset_delta = 5
    faults.cap_page_size = 4
    response = api.get("/users", limit=10, offset=10)
    assert len(response.json()["users"]) == 4
    assert response.headers["X-Total-Count"] == "4"
    assert response.links["next"]["url"].startswith(api.server.base_path)
    assert _offset(response.links["next"]["url"]) == 10 + 4 + 5


# --- tokens ---------------------------------------------------------------------------------


def test_token_500_when_expired(oneroster_server: OneRosterServer, faults: Faults) -> None:
    faults.token_500_when_expired = True
    url = f"{oneroster_server.base_url}/orgs"
    expired = oneroster_server.issue_token(lifetime=0.0)
    response = requests.get(url, headers={"Authorization": f"Bearer {expired}"}, timeout=5)
    assert response.status_code == 500
    assert _code_minor(response) == "internal_server_error"

    unknown = requests.get(url, headers={"Authorization": "Bearer never-issued"}, timeout=5)
    assert unknown.status_code == 401, "only expired tokens get the 500"
    valid = oneroster_server.issue_token()
    assert requests.get(url, headers={"Authorization": f"Bearer {valid}"}, timeout=5).ok


def test_token_expired_early_gives_500_with_the_fault(
    oneroster_server: OneRosterServer, faults: Faults
) -> None:
    faults.token_valid_for = 0.1
    faults.token_500_when_expired = True
    token = requests.post(
        oneroster_server.token_url,
        data={"grant_type": "client_credentials"},
        auth=(oneroster_server.client_id, oneroster_server.client_secret),
        timeout=5,
    ).json()
    assert token["expires_in"] == 3600, "the announced lifetime is unchanged"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    url = f"{oneroster_server.base_url}/orgs"
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    time.sleep(0.15)
    assert requests.get(url, headers=headers, timeout=5).status_code == 500


def test_refuse_basic_token_auth(oneroster_server: OneRosterServer, faults: Faults) -> None:
    faults.refuse_basic_token_auth = True
    data = {"grant_type": "client_credentials"}
    basic = requests.post(
        oneroster_server.token_url,
        data=data,
        auth=(oneroster_server.client_id, oneroster_server.client_secret),
        timeout=5,
    )
    assert basic.status_code == 401
    assert basic.json()["error"] == "invalid_client"

    form = requests.post(
        oneroster_server.token_url,
        data={
            **data,
            "client_id": oneroster_server.client_id,
            "client_secret": oneroster_server.client_secret,
        },
        timeout=5,
    )
    assert form.status_code == 200, form.text
    headers = {"Authorization": f"Bearer {form.json()['access_token']}"}
    assert requests.get(f"{oneroster_server.base_url}/orgs", headers=headers, timeout=5).ok


# --- vendor quirks in the data ----------------------------------------------------------------


def _booleans(value: Any) -> list[Any]:
    """Every JSON boolean anywhere in a decoded body."""
    if isinstance(value, bool):
        return [value]
    if isinstance(value, dict):
        return [b for item in value.values() for b in _booleans(item)]
    if isinstance(value, list):
        return [b for item in value for b in _booleans(item)]
    return []


@pytest.mark.parametrize(
    ("path", "key", "field"),
    [
        ("/users", "users", "enabledUser"),
        ("/enrollments", "enrollments", "primary"),
        ("/demographics", "demographics", "white"),
    ],
)
def test_strings_for_booleans(
    api: Api, faults: Faults, oneroster_district: District, path: str, key: str, field: str
) -> None:
    assert _booleans(api.get(path, limit=10_000).json()), "the data should hold booleans"
    faults.strings_for_booleans = True

    body = api.get(path, limit=10_000).json()

    assert _booleans(body) == []
    by_id = {r["sourcedId"]: r for r in oneroster_district[key]}
    served = [r for r in body[key] if field in r]
    assert served
    for record in served:
        assert record[field] == ("true" if by_id[record["sourcedId"]][field] else "false")


def test_unknown_role(api: Api, faults: Faults, oneroster_district: District) -> None:
    admins = {u["sourcedId"] for u in oneroster_district["users"] if u["role"] == "administrator"}
    assert admins
    faults.unknown_role = "districtAdministrator"

    users = api.get("/users", limit=10_000).json()["users"]

    assert "administrator" not in {u["role"] for u in users}
    assert {u["sourcedId"] for u in users if u["role"] == "districtAdministrator"} == admins
    roles = {u["sourcedId"]: u["role"] for u in oneroster_district["users"]}
    assert all(u["role"] == roles[u["sourcedId"]] for u in users if u["sourcedId"] not in admins)
    one = next(iter(admins))
    assert api.get(f"/users/{one}").json()["user"]["role"] == "districtAdministrator"


def test_envelope_keys_renamed(api: Api, faults: Faults, oneroster_district: District) -> None:
    faults.envelope_keys = {"users": "students"}
    class_id = next(e["class"]["sourcedId"] for e in oneroster_district["enrollments"])

    for path in ("/students", "/users", f"/classes/{class_id}/students"):
        body = api.get(path).json()
        assert "students" in body and "users" not in body, path
        assert body["students"]
    assert "classes" in api.get("/classes").json()
    user_id = oneroster_district["users"][0]["sourcedId"]
    assert "user" in api.get(f"/users/{user_id}").json()


def test_corrupt_records(api: Api, faults: Faults, oneroster_district: District) -> None:
    victim = oneroster_district["users"][3]
    faults.corrupt_records = {victim["sourcedId"]}

    single = api.get(f"/users/{victim['sourcedId']}").json()["user"]
    listed = api.get("/users", limit=10_000).json()["users"]

    assert single["dateLastModified"] == "not a date"
    broken = [u["sourcedId"] for u in listed if u["dateLastModified"] == "not a date"]
    assert broken == [victim["sourcedId"]]
    assert victim["dateLastModified"] != "not a date", "the stored record is untouched"


def test_gradebook_writes_forbidden(api: Api, faults: Faults, oneroster_district: District) -> None:
    faults.gradebook_writes_forbidden = True
    before = copy.deepcopy(oneroster_district.collections)
    category = oneroster_district["categories"][0]["sourcedId"]
    base = api.server.base_url
    body = {"category": {"sourcedId": "cat-new", "title": "New"}}

    put = api.session.put(f"{base}/categories/cat-new", json=body, timeout=5)
    delete = api.session.delete(f"{base}/categories/{category}", timeout=5)

    for response in (put, delete):
        assert response.status_code == 403
        assert _code_minor(response) == "forbidden"
    assert oneroster_district.collections == before
    assert api.get(f"/categories/{category}").status_code == 200
    assert api.get("/categories/cat-new").status_code == 404


# --- configuration --------------------------------------------------------------------------


def test_faults_are_off_by_default_and_can_be_given_up_front(
    oneroster_district: District,
) -> None:
    assert Faults() == Faults(
        latency=0.0,
        paging_headers=True,
        total_count_delta=0,
        total_count_is_page_length=False,
        next_link_offset_delta=0,
        shuffle_pages=False,
        status_failure_every=None,
        relative_links=False,
        drip_seconds=0.0,
        cut_body_every=None,
        fail_statuses=[],
        malformed=[],
        envelope_keys={},
        corrupt_records=set(),
    )
    faults = Faults(fail_statuses=[502], cap_page_size=2, envelope_keys={"orgs": "schools"})
    with OneRosterServer(oneroster_district, faults=faults) as server:
        assert server.faults is faults
        headers = {"Authorization": f"Bearer {server.issue_token()}"}
        url = f"{server.base_url}/schools"
        first = requests.get(url, headers=headers, timeout=5)
        second = requests.get(url, headers=headers, timeout=5)
    assert first.status_code == 502
    assert second.status_code == 200
    assert len(second.json()["schools"]) == 2
