"""Integration: gradebook writes (OneRoster 1.1 section 3.4) over raw HTTP.

PUT creates (201) or replaces (200) the object named in the path, from a single-object
envelope whose sourcedId matches the path; what was stored is served by GET and listed
under its class. Extra credit (a score above ``resultValueMax``) and ``exempt`` are kept.
DELETE answers 204 (or 200 when configured) and the object is gone afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from oneroster_client.testing.district import District
from oneroster_client.testing.server import Faults, OneRosterServer

Record = dict[str, Any]


class Api:
    """Bearer-authenticated JSON calls against one server."""

    def __init__(self, server: OneRosterServer, session: requests.Session) -> None:
        self.server = server
        self.session = session

    def url(self, path: str) -> str:
        return self.server.base_url + path

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url(path), params=params, timeout=5)

    def put(self, path: str, body: Any = None, *, data: bytes | None = None) -> requests.Response:
        if data is not None:
            headers = {"Content-Type": "application/json"}
            return self.session.put(self.url(path), data=data, headers=headers, timeout=5)
        return self.session.put(self.url(path), json=body, timeout=5)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.url(path), timeout=5)

    def listing(self, path: str, key: str) -> list[Record]:
        response = self.get(path, limit=10_000)
        assert response.status_code == 200, response.text
        return response.json()[key]  # type: ignore[no-any-return]


@pytest.fixture
def api(oneroster_server: OneRosterServer) -> Iterator[Api]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {oneroster_server.issue_token()}"
        yield Api(oneroster_server, session)


def _ids(records: list[Record]) -> list[str]:
    return [record["sourcedId"] for record in records]


def _class_with_student(district: District) -> tuple[str, str]:
    enrollment = next(e for e in district["enrollments"] if e["role"] == "student")
    return enrollment["class"]["sourcedId"], enrollment["user"]["sourcedId"]


def _line_item(sourced_id: str, class_id: str, category_id: str, **fields: Any) -> Record:
    return {
        "sourcedId": sourced_id,
        "title": "Lab report 3",
        "description": "Titration",
        "assignDate": "2024-10-01T12:00:00.000Z",
        "dueDate": "2024-10-08T12:00:00.000Z",
        "class": {"sourcedId": class_id},  # consumers send bare GUIDRefs
        "category": {"sourcedId": category_id},
        "resultValueMin": 0.0,
        "resultValueMax": 100.0,
        **fields,
    }


def _result(sourced_id: str, line_item_id: str, student_id: str, **fields: Any) -> Record:
    return {
        "sourcedId": sourced_id,
        "lineItem": {"sourcedId": line_item_id},
        "student": {"sourcedId": student_id},
        "scoreStatus": "fully graded",
        "score": 80.0,
        "scoreDate": "2024-10-09",
        "comment": "",
        **fields,
    }


# What a bare GUIDRef sent in each gradebook field must be served as: type and collection.
REF_FIELDS = {
    "class": ("class", "classes"),
    "category": ("category", "categories"),
    "gradingPeriod": ("academicSession", "academicSessions"),
    "lineItem": ("lineItem", "lineItems"),
    "student": ("user", "users"),
}


def _assert_stored(served: Record, sent: Record, base_url: str) -> None:
    """The served record holds what was sent, plus status and a fresh dateLastModified.

    GUIDRefs sent bare (``{"sourcedId": ...}``) come back complete, with the ``type`` of
    the field and an absolute ``href`` under the server's base URL.
    """
    for key, value in sent.items():
        if key in REF_FIELDS:
            ref_type, collection = REF_FIELDS[key]
            href = f"{base_url}/{collection}/{value['sourcedId']}"
            assert served[key] == {"href": href, "sourcedId": value["sourcedId"], "type": ref_type}
        else:
            assert served[key] == value, key
    assert served["status"] == "active"
    modified = datetime.fromisoformat(served["dateLastModified"].replace("Z", "+00:00"))
    assert abs(modified - datetime.now(UTC)) < timedelta(minutes=1)


def test_put_category_creates_then_replaces(api: Api) -> None:
    before = len(api.listing("/categories", "categories"))
    sent = {"sourcedId": "cat-labs", "title": "Labs"}

    created = api.put("/categories/cat-labs", {"category": sent})

    assert created.status_code == 201, created.text
    assert list(created.json()) == ["category"]
    _assert_stored(created.json()["category"], sent, api.server.base_url)
    fetched = api.get("/categories/cat-labs")
    assert fetched.status_code == 200
    assert fetched.json() == created.json()
    assert len(api.listing("/categories", "categories")) == before + 1

    replaced = api.put("/categories/cat-labs", {"category": {**sent, "title": "Lab work"}})

    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["category"]["title"] == "Lab work"
    assert api.get("/categories/cat-labs").json()["category"]["title"] == "Lab work"
    listed = api.listing("/categories", "categories")
    assert len(listed) == before + 1
    assert [c["title"] for c in listed if c["sourcedId"] == "cat-labs"] == ["Lab work"]


def test_put_line_item_is_served_and_listed_under_its_class(
    api: Api, oneroster_district: District
) -> None:
    class_id, _student = _class_with_student(oneroster_district)
    other_class = next(
        c["sourcedId"] for c in oneroster_district["classes"] if c["sourcedId"] != class_id
    )
    category = oneroster_district["categories"][0]["sourcedId"]
    sent = _line_item("li-new-1", class_id, category)

    created = api.put("/lineItems/li-new-1", {"lineItem": sent})

    assert created.status_code == 201, created.text
    _assert_stored(created.json()["lineItem"], sent, api.server.base_url)
    assert api.get("/lineItems/li-new-1").json()["lineItem"] == created.json()["lineItem"]
    assert "li-new-1" in _ids(api.listing(f"/classes/{class_id}/lineItems", "lineItems"))
    assert "li-new-1" not in _ids(api.listing(f"/classes/{other_class}/lineItems", "lineItems"))
    assert "li-new-1" in _ids(api.listing("/lineItems", "lineItems"))

    replaced = api.put("/lineItems/li-new-1", {"lineItem": {**sent, "title": "Lab report 3b"}})

    assert replaced.status_code == 200, replaced.text
    listed = api.listing(f"/classes/{class_id}/lineItems", "lineItems")
    assert [li["title"] for li in listed if li["sourcedId"] == "li-new-1"] == ["Lab report 3b"]


def test_put_line_item_can_move_to_another_class(api: Api, oneroster_district: District) -> None:
    first, second = (c["sourcedId"] for c in oneroster_district["classes"][:2])
    category = oneroster_district["categories"][0]["sourcedId"]
    assert api.put("/lineItems/li-move", {"lineItem": _line_item("li-move", first, category)}).ok
    moved = _line_item("li-move", second, category)
    assert api.put("/lineItems/li-move", {"lineItem": moved}).status_code == 200
    assert "li-move" not in _ids(api.listing(f"/classes/{first}/lineItems", "lineItems"))
    assert "li-move" in _ids(api.listing(f"/classes/{second}/lineItems", "lineItems"))


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"score": 300.0, "scoreStatus": "fully graded"}, id="extra-credit"),
        pytest.param({"score": 0.0, "scoreStatus": "exempt"}, id="exempt"),
        pytest.param({"score": 150.5, "scoreStatus": "exempt", "comment": "é 中"}, id="both"),
    ],
)
def test_put_result_keeps_extra_credit_and_exempt(
    api: Api, oneroster_district: District, fields: Record
) -> None:
    class_id, student_id = _class_with_student(oneroster_district)
    category = oneroster_district["categories"][0]["sourcedId"]
    line_item = _line_item("li-credit", class_id, category, resultValueMax=100.0)
    assert api.put("/lineItems/li-credit", {"lineItem": line_item}).status_code == 201
    sent = _result("res-credit", "li-credit", student_id, **fields)

    created = api.put("/results/res-credit", {"result": sent})

    assert created.status_code == 201, created.text
    _assert_stored(created.json()["result"], sent, api.server.base_url)
    served = api.get("/results/res-credit").json()["result"]
    assert (served["score"], served["scoreStatus"]) == (fields["score"], fields["scoreStatus"])
    for path in (
        f"/classes/{class_id}/lineItems/li-credit/results",
        f"/classes/{class_id}/results",
        f"/classes/{class_id}/students/{student_id}/results",
        "/results",
    ):
        listed = [r for r in api.listing(path, "results") if r["sourcedId"] == "res-credit"]
        assert listed == [served], path


def test_put_guidrefs_are_served_with_this_servers_href_and_their_own_type(
    api: Api, oneroster_district: District
) -> None:
    class_id, student_id = _class_with_student(oneroster_district)
    category = oneroster_district["categories"][0]["sourcedId"]
    line_item = _line_item("li-refs", class_id, category)
    line_item["class"] = {"sourcedId": class_id, "href": "https://elsewhere.example/c/1"}
    assert api.put("/lineItems/li-refs", {"lineItem": line_item}).status_code == 201
    sent = _result("res-refs", "li-refs", student_id)
    sent["student"] = {"sourcedId": student_id, "type": "student"}

    assert api.put("/results/res-refs", {"result": sent}).status_code == 201

    base = api.server.base_url
    served_line_item = api.get("/lineItems/li-refs").json()["lineItem"]
    assert served_line_item["class"] == {
        "href": f"{base}/classes/{class_id}",
        "sourcedId": class_id,
        "type": "class",
    }
    served = api.get("/results/res-refs").json()["result"]
    assert served["student"] == {
        "href": f"{base}/students/{student_id}",
        "sourcedId": student_id,
        "type": "student",
    }
    assert api.get(served["student"]["href"].removeprefix(base)).status_code == 200


def test_put_result_replaces_an_existing_result(api: Api, oneroster_district: District) -> None:
    existing = oneroster_district["results"][0]
    line_item = next(
        li
        for li in oneroster_district["lineItems"]
        if li["sourcedId"] == existing["lineItem"]["sourcedId"]
    )
    class_id = line_item["class"]["sourcedId"]
    path = f"/classes/{class_id}/lineItems/{line_item['sourcedId']}/results"
    count = len(api.listing(path, "results"))
    changed = {**existing, "score": 42.5, "scoreStatus": "partially graded"}

    response = api.put(f"/results/{existing['sourcedId']}", {"result": changed})

    assert response.status_code == 200, response.text
    listed = api.listing(path, "results")
    assert len(listed) == count
    (served,) = (r for r in listed if r["sourcedId"] == existing["sourcedId"])
    assert (served["score"], served["scoreStatus"]) == (42.5, "partially graded")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/categories/cat-x", {"sourcedId": "cat-x", "title": "T"}, id="no-envelope"),
        pytest.param(
            "/categories/cat-x", {"lineItem": {"sourcedId": "cat-x", "title": "T"}}, id="wrong-key"
        ),
        pytest.param("/categories/cat-x", {"category": [{"title": "T"}]}, id="list-not-object"),
        pytest.param("/categories/cat-x", {"category": "T"}, id="string-not-object"),
        pytest.param("/categories/cat-x", [{"category": {"title": "T"}}], id="top-level-list"),
        pytest.param("/results/res-x", {"results": [{"sourcedId": "res-x"}]}, id="plural-key"),
    ],
)
def test_put_without_the_single_object_envelope_is_a_bad_request(
    api: Api, oneroster_district: District, path: str, body: Any
) -> None:
    before = oneroster_district.counts()
    response = api.put(path, body)
    assert response.status_code == 400, response.text
    (info,) = response.json()["statusInfoSet"]
    assert (info["imsx_severity"], info["imsx_codeMinor"]) == ("error", "invalid data")
    assert oneroster_district.counts() == before
    assert api.get(path).status_code == 404


@pytest.mark.parametrize("data", [b"", b"not json", b'{"category": {"title": "T"'])
def test_put_with_a_body_that_is_not_json_is_a_bad_request(api: Api, data: bytes) -> None:
    response = api.put("/categories/cat-x", data=data)
    assert response.status_code == 400, response.text
    assert api.get("/categories/cat-x").status_code == 404


def test_put_with_a_different_sourced_id_is_unprocessable(
    api: Api, oneroster_district: District
) -> None:
    before = oneroster_district.counts()
    response = api.put("/categories/cat-a", {"category": {"sourcedId": "cat-b", "title": "T"}})
    assert response.status_code == 422, response.text
    (info,) = response.json()["statusInfoSet"]
    assert (info["imsx_severity"], info["imsx_codeMinor"]) == ("error", "invalid data")
    assert oneroster_district.counts() == before
    assert api.get("/categories/cat-a").status_code == 404
    assert api.get("/categories/cat-b").status_code == 404


def test_put_with_an_unreadable_record_is_unprocessable(
    api: Api, oneroster_district: District
) -> None:
    _class_id, student_id = _class_with_student(oneroster_district)
    line_item = oneroster_district["lineItems"][0]["sourcedId"]
    bad = _result("res-bad", line_item, student_id, score="eighty")
    assert api.put("/results/res-bad", {"result": bad}).status_code == 422
    missing = {"sourcedId": "res-bad", "score": 80.0}
    assert api.put("/results/res-bad", {"result": missing}).status_code == 422
    assert api.get("/results/res-bad").status_code == 404


@pytest.mark.parametrize("collection", ["results", "lineItems", "categories"])
def test_delete_answers_204_and_the_object_is_gone(
    api: Api, oneroster_district: District, collection: str
) -> None:
    record = oneroster_district[collection][0]
    path = f"/{collection}/{record['sourcedId']}"
    assert api.get(path).status_code == 200

    response = api.delete(path)

    assert response.status_code == 204, response.text
    assert response.content == b""
    gone = api.get(path)
    assert gone.status_code == 404
    assert gone.json()["statusInfoSet"][0]["imsx_codeMinor"] == "unknown object"
    assert record["sourcedId"] not in _ids(api.listing(f"/{collection}", collection))
    assert api.delete(path).status_code == 404


def test_deleted_line_item_and_result_leave_the_class_listings(
    api: Api, oneroster_district: District
) -> None:
    result = oneroster_district["results"][0]
    line_item_id = result["lineItem"]["sourcedId"]
    class_id = next(
        li["class"]["sourcedId"]
        for li in oneroster_district["lineItems"]
        if li["sourcedId"] == line_item_id
    )
    results_path = f"/classes/{class_id}/lineItems/{line_item_id}/results"
    assert result["sourcedId"] in _ids(api.listing(results_path, "results"))

    assert api.delete(f"/results/{result['sourcedId']}").status_code == 204
    assert result["sourcedId"] not in _ids(api.listing(results_path, "results"))
    assert result["sourcedId"] not in _ids(api.listing(f"/classes/{class_id}/results", "results"))

    assert api.delete(f"/lineItems/{line_item_id}").status_code == 204
    assert line_item_id not in _ids(api.listing(f"/classes/{class_id}/lineItems", "lineItems"))
    assert api.get(results_path).status_code == 404


def test_put_after_delete_creates_again(api: Api) -> None:
    body = {"category": {"sourcedId": "cat-again", "title": "Again"}}
    assert api.put("/categories/cat-again", body).status_code == 201
    assert api.delete("/categories/cat-again").status_code == 204
    assert api.put("/categories/cat-again", body).status_code == 201


def test_delete_status_200_option(oneroster_district: District) -> None:
    category = oneroster_district["categories"][0]["sourcedId"]
    with OneRosterServer(oneroster_district, delete_status=200) as server:
        headers = {"Authorization": f"Bearer {server.issue_token()}"}
        url = f"{server.base_url}/categories/{category}"
        response = requests.delete(url, headers=headers, timeout=5)
        assert response.status_code == 200, response.text
        assert requests.get(url, headers=headers, timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        pytest.param("PUT", "/categories/cat-k", {"Authorization": "Bearer bad"}, id="401"),
        pytest.param("PUT", "/users/usr-k", {}, id="405"),
        pytest.param("POST", "/lineItems", {}, id="405-post"),
        pytest.param("PUT", "/nothing/here", {}, id="404"),
    ],
)
def test_refused_writes_leave_the_keep_alive_connection_usable(
    api: Api, method: str, path: str, headers: dict[str, str]
) -> None:
    # The request body must be consumed even when the request is refused unread; if not,
    # the next request on the same connection is parsed from the leftover body.
    body = {"category": {"sourcedId": "cat-k", "title": "x" * 2000}}
    refused = api.session.request(method, api.url(path), json=body, headers=headers, timeout=5)
    assert refused.status_code in (401, 404, 405), refused.text
    follow_up = api.get("/categories")
    assert follow_up.status_code == 200, follow_up.text
    assert "categories" in follow_up.json()


def test_token_without_the_write_scope_is_refused_gradebook_puts(
    oneroster_district: District,
) -> None:
    # A server that grants the allowed part of the requested scopes (RFC 6749 section 3.3)
    # lists what it granted; a gradebook PUT with that token is forbidden, and not stored.
    prefix = "https://purl.imsglobal.org/spec/or/v1p1/scope/"
    allowed = (prefix + "roster.readonly", prefix + "gradebook.readonly")
    faults = Faults(narrow_scopes=True)
    with OneRosterServer(oneroster_district, scopes=allowed, faults=faults) as server:
        wanted = " ".join((*allowed, prefix + "gradebook.createput"))
        token = requests.post(
            server.token_url,
            data={"grant_type": "client_credentials", "scope": wanted},
            auth=(server.client_id, server.client_secret),
            timeout=5,
        )
        assert token.status_code == 200, token.text
        assert token.json()["scope"].split() == sorted(allowed)
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        body = {"category": {"sourcedId": "cat-scope", "title": "T"}}
        url = f"{server.base_url}/categories/cat-scope"
        refused = requests.put(url, json=body, headers=headers, timeout=5)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "insufficient_scope"
        assert requests.get(url, headers=headers, timeout=5).status_code == 404
        server.faults.narrow_scopes = False
        again = requests.post(
            server.token_url,
            data={"grant_type": "client_credentials", "scope": wanted},
            auth=(server.client_id, server.client_secret),
            timeout=5,
        )
        assert (again.status_code, again.json()["error"]) == (400, "invalid_scope")
