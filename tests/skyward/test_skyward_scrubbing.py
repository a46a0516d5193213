"""What the recorder keeps: a whitelist of non-personal values, pseudonyms for everything else.

Every test records for real, through vcrpy, against a loopback server: the Skyward-like
``OneRosterServer``, or a ``ScriptedServer`` where a server must answer what the loopback
OneRoster server never does (names echoed in an error, ids in ``X-Request-Id``).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from vcr.serializers import yamlserializer

from oneroster_client import F
from oneroster_client.endpoints import SCOPE_PREFIX
from oneroster_client.errors import APIError, OneRosterError
from oneroster_client.testing import District, OneRosterServer
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer
from skyward_adapter import SkywardSettings, connect, default_retry_policy
from skyward_adapter.recording import (
    RecordingLeakError,
    record_http,
    record_session,
    replay_session,
)
from skyward_adapter.testing import (
    SkywardLikeDistrict,
    loopback_settings,
    skyward_like_district,
    skyward_like_server,
)

NO_SLEEP = default_retry_policy(sleep=lambda seconds: None)
SECRET = "scrubbing-test-secret-91c2"
KEY = "springisd-scrubbing-key"
TOKEN = "pre-issued-scrubbing-token-4d1e"
PSEUDONYM_KEY = b"a fixed key, for comparing two recordings"
SCOPES = (
    SCOPE_PREFIX + "roster.readonly",
    SCOPE_PREFIX + "roster-demographics.readonly",
    SCOPE_PREFIX + "gradebook.readonly",
)


@pytest.fixture(scope="module")
def planted() -> SkywardLikeDistrict:
    return skyward_like_district(seed=5, students=12)


@pytest.fixture
def district(planted: SkywardLikeDistrict) -> District:
    return copy.deepcopy(planted.district)


@pytest.fixture
def server(district: District) -> Iterator[OneRosterServer]:
    with skyward_like_server(district, client_id=KEY, client_secret=SECRET) as running:
        yield running


class Cassette:
    """A written cassette: its raw text, every string in it, and its JSON bodies."""

    def __init__(self, path: Path) -> None:
        self.raw = path.read_text(encoding="utf-8")
        self.interactions: list[dict[str, Any]] = yamlserializer.deserialize(self.raw)[
            "interactions"
        ]
        texts: list[str] = []
        self.bodies: list[Any] = []
        for interaction in self.interactions:
            request, response = interaction["request"], interaction["response"]
            texts += [request["uri"], *(f"{k}: {v}" for k, v in request["headers"].items())]
            texts += [f"{k}: {v}" for k, v in response["headers"].items()]
            for body in (request["body"], response["body"]["string"]):
                if body:
                    text = body.decode() if isinstance(body, bytes) else str(body)
                    texts.append(text)
                    with contextlib.suppress(ValueError):
                        self.bodies.append(json.loads(text))
        self.text = "\n".join(texts)

    def records(self, key: str) -> list[dict[str, Any]]:
        found = []
        for body in self.bodies:
            if isinstance(body, dict):
                value = body.get(key, [])
                found += value if isinstance(value, list) else [value]
        return found

    def responses(self, status: int) -> list[dict[str, Any]]:
        return [i for i in self.interactions if i["response"]["status"]["code"] == status]


def user_with_role(district: District, role: str) -> dict[str, Any]:
    return next(
        user
        for user in district["users"]
        if user["role"] == role
        and all(user.get(field) for field in ("email", "givenName", "familyName", "username"))
    )


# --- 1. personal data outside person records --------------------------------------------------


def plant_free_text(district: District) -> dict[str, str]:
    """Personal data where Skyward puts it outside person records; returns what was planted."""
    student = user_with_role(district, "student")
    teacher = user_with_role(district, "teacher")
    full = f"{student['givenName']} {student['familyName']}"
    planted = {
        "org name": "Ms. Quillfeather's Academy",
        "class title": f"Advisory {teacher['familyName']} ({teacher['email']})",
        "class location": f"Portable 7 next to {teacher['givenName']}'s car",
        "result comment": f"Well done {full}, call home (217) 555-0188",
        "enrollment vendor field": f"guardian pickup: {full}",
        "class metadata": f"aide {teacher['email']}",
        "org identifier": "ORG-ID-771205",
    }
    district["orgs"][1]["name"] = planted["org name"]
    district["orgs"][1]["identifier"] = planted["org identifier"]
    cls = district["classes"][0]
    cls["title"] = planted["class title"]
    cls["location"] = planted["class location"]
    cls["metadata"] = {"skyward.aide": planted["class metadata"], "skyward.room": 12}
    result = next(
        r for r in district["results"] if r["student"]["sourcedId"] == student["sourcedId"]
    )
    result["comment"] = planted["result comment"]
    enrollment = district["enrollments"][0]
    enrollment["skywardPickupNote"] = planted["enrollment vendor field"]
    enrollment["skywardGuardianPhone"] = 2175550188  # a vendor number that is personal
    planted.update(student_email=student["email"], teacher_email=teacher["email"], full=full)
    return planted


def test_free_text_outside_person_records_is_pseudonymised(
    tmp_path: Path, district: District
) -> None:
    planted = plant_free_text(district)
    path = tmp_path / "free-text.yaml"
    with (
        skyward_like_server(district, client_id=KEY, client_secret=SECRET) as server,
        record_session(
            path, loopback_settings(server, page_size=40, scopes=SCOPES), retry=NO_SLEEP
        ) as client,
    ):
        orgs = client.orgs.list().all()
        classes = client.classes.list().all()
        one_class = client.classes.get(classes[0].sourced_id)
        enrollments = client.enrollments.list().all()
        results = client.results.list().all()
    cassette = Cassette(path)
    for what, value in planted.items():
        assert value not in cassette.text, f"the {what} was recorded"
    for word in ("Quillfeather", "Portable", "pickup", "guardian", "Well done"):
        assert word not in cassette.text
    # Shapes survive: the same fields, strings where strings were, references intact.
    recorded_classes = cassette.records("classes")
    assert len(recorded_classes) == len(classes)
    first = recorded_classes[0]
    assert set(first) == set(district["classes"][0])
    assert isinstance(first["location"], str) and first["location"]
    assert first["metadata"]["skyward.room"] == 12  # a number of a vendor field: kept
    assert first["status"] == district["classes"][0]["status"]
    assert first["grades"] == district["classes"][0]["grades"]
    # Consistent: the class read alone carries the same pseudonyms as in the listing.
    alone = cassette.records("class")[0]
    assert (alone["title"], alone["location"]) == (first["title"], first["location"])
    assert one_class.sourced_id == first["sourcedId"]
    assert len(cassette.records("orgs")) == len(orgs)
    assert len(cassette.records("enrollments")) == len(enrollments)
    assert len(cassette.records("results")) == len(results)
    vendor = cassette.records("enrollments")[0]
    assert "skywardPickupNote" in vendor
    assert vendor["skywardGuardianPhone"] is None
    assert "2175550188" not in cassette.text

    with replay_session(path, retry=NO_SLEEP) as client:
        assert len(client.classes.list().all()) == len(classes)
        assert len(client.results.list().all()) == len(results)


def test_demographics_keep_their_shape_but_lose_their_values(
    tmp_path: Path, district: District
) -> None:
    path = tmp_path / "demographics.yaml"
    with (
        skyward_like_server(district, client_id=KEY, client_secret=SECRET) as server,
        record_session(path, loopback_settings(server), retry=NO_SLEEP) as client,
    ):
        count = len(client.demographics.list().all())
    records = Cassette(path).records("demographics")
    assert len(records) == count == len(district["demographics"])
    originals = {row["sourcedId"]: row for row in district["demographics"]}
    for record in records:
        original = originals[record["sourcedId"]]
        assert record["sex"] is None and record["hispanicOrLatinoEthnicity"] is None
        assert record["birthDate"] != original["birthDate"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["birthDate"])
        if original.get("cityOfBirth"):
            assert record["cityOfBirth"] != original["cityOfBirth"]
    with replay_session(path, retry=NO_SLEEP) as client:
        assert len(client.demographics.list().all()) == count


def test_results_are_scrubbed_without_their_users_and_pseudonymised_the_same(
    tmp_path: Path, district: District
) -> None:
    """A result's student gets the same pseudonym whether or not the user came first."""
    planted = plant_free_text(district)
    student_id = next(r["student"]["sourcedId"] for r in district["results"] if "comment" in r)
    paths = {"results only": tmp_path / "alone.yaml", "users first": tmp_path / "after.yaml"}
    with skyward_like_server(district, client_id=KEY, client_secret=SECRET) as server:
        settings = loopback_settings(server, page_size=100, scopes=SCOPES)
        for order, path in paths.items():
            with record_session(
                path,
                settings,
                pseudonymise_ids=True,
                pseudonym_key=PSEUDONYM_KEY,
                retry=NO_SLEEP,
            ) as client:
                if order == "users first":
                    client.users.list().all()
                client.results.list().all()
    recorded = []
    for path in paths.values():
        cassette = Cassette(path)
        assert student_id not in cassette.text
        assert planted["full"] not in cassette.text
        assert planted["result comment"] not in cassette.text
        results = cassette.records("results")
        assert len(results) == len(district["results"])
        recorded.append({r["sourcedId"]: (r["student"], r.get("comment")) for r in results})
    assert recorded[0] == recorded[1]


# --- 2. pseudonymised ids in error bodies, URLs, headers ------------------------------------


def test_an_ordinary_session_with_pseudonymised_ids_is_recordable(
    tmp_path: Path, server: OneRosterServer, district: District
) -> None:
    path = tmp_path / "ordinary.yaml"
    teacher = user_with_role(district, "teacher")
    missing = "ISD123-usr-s-999999"
    with record_session(
        path, loopback_settings(server), pseudonymise_ids=True, retry=NO_SLEEP
    ) as client:
        users = client.users.list().all()
        client.users.get(teacher["sourcedId"])
        with pytest.raises(APIError) as not_found:
            client.users.get(missing)
        filtered = client.users.list(filter=F.sourcedId == teacher["sourcedId"]).all()
        by_name = client.users.list(filter=F.familyName == teacher["familyName"]).all()
    assert not_found.value.status_code == 404
    assert len(filtered) == 1 and by_name
    cassette = Cassette(path)
    for row in district["users"]:
        assert row["sourcedId"] not in cassette.text
    assert missing not in cassette.text
    assert not re.search(rf"\b{re.escape(teacher['familyName'])}\b", cassette.text)
    # The 404 body names the same pseudonym as the request URL.
    [interaction] = cassette.responses(404)
    requested = interaction["request"]["uri"].rsplit("/", 1)[1]
    assert requested.startswith("id-")
    assert requested in interaction["response"]["body"]["string"]
    with replay_session(path, retry=NO_SLEEP) as client:
        replayed = client.users.list().all()
        assert len(replayed) == len(users)
        assert client.users.get(_read_id(cassette)).sourced_id == _read_id(cassette)
        with pytest.raises(APIError):
            client.users.get(requested)


def _read_id(cassette: Cassette) -> str:
    """The (pseudonymised) id of the first single-user read of the cassette."""
    reads = [i for i in cassette.interactions if re.search(r"/users/[^/?]+$", i["request"]["uri"])]
    return str(reads[0]["request"]["uri"].rsplit("/", 1)[1])


def skyward_echo_script(student: dict[str, Any]) -> Any:
    """A Skyward-like server that echoes what it got: names in a 400, ids in headers."""
    name = f"{student['givenName']} {student['familyName']}"

    def script(request: Received) -> Reply:
        headers = [
            ("Content-Type", "application/json"),
            ("X-Request-Id", f"req-{student['sourcedId']}"),
        ]
        if request.param("filter"):
            description = (
                f"Invalid filter {request.param('filter')}: student {name} "
                f"<{student['email']}> is not in your scope (token {TOKEN})"
            )
            body = {
                "statusInfoSet": [
                    {
                        "imsx_codeMajor": "failure",
                        "imsx_severity": "error",
                        "imsx_codeMinor": "invalid_filter_field",
                        "imsx_description": description,
                    }
                ]
            }
            return Reply(400, body=body, headers=headers)
        if request.path.endswith(f"/users/{student['sourcedId']}"):
            return Reply(200, body={"user": student}, headers=headers)
        return Reply(404, body=f"<html>No page for {name} at {request.path}</html>", headers=[])

    return script


@pytest.mark.parametrize("pseudonymise_ids", [False, True])
def test_error_bodies_and_headers_are_scrubbed(
    tmp_path: Path, district: District, pseudonymise_ids: bool
) -> None:
    student = user_with_role(district, "student")
    path = tmp_path / "errors.yaml"
    with ScriptedServer(skyward_echo_script(student)) as server:
        settings = SkywardSettings(
            base_url=server.url("/springisdAPI"), auth="token", access_token=TOKEN
        )
        with (
            record_http(path, settings, pseudonymise_ids=pseudonymise_ids),
            connect(settings, retry=NO_SLEEP) as client,
        ):
            client.users.get(student["sourcedId"])
            with pytest.raises(APIError) as bad:
                client.users.list(filter=F.familyName == student["familyName"]).all()
            with pytest.raises(OneRosterError):
                client.orgs.get("ISD123-nowhere")
    assert bad.value.status_code == 400
    cassette = Cassette(path)
    for value in (
        student["givenName"],
        student["familyName"],
        student["email"],
        student["username"],
        TOKEN,
    ):
        assert value not in cassette.text
    assert (student["sourcedId"] in cassette.text) is not pseudonymise_ids
    [error] = cassette.responses(400)
    description = json.loads(error["response"]["body"]["string"])["statusInfoSet"][0]
    assert description["imsx_codeMinor"] == "invalid_filter_field"
    assert "is not in your scope" in description["imsx_description"]  # still readable
    recorded_user = cassette.records("user")[0]
    # The name in the error is the pseudonym the user record got.
    assert recorded_user["familyName"] in description["imsx_description"]
    request_ids = [
        i["response"]["headers"]["X-Request-Id"][0]
        for i in cassette.interactions
        if "X-Request-Id" in i["response"]["headers"]
    ]
    assert request_ids and all(
        request_id.endswith(recorded_user["sourcedId"]) for request_id in request_ids
    )


# --- 3. the check before writing names the place, never the value --------------------------


def test_a_personal_value_in_a_vendor_field_name_stops_the_recording_and_is_located(
    tmp_path: Path, district: District
) -> None:
    teacher = user_with_role(district, "teacher")
    student = user_with_role(district, "student")
    student["metadata"] = {teacher["email"]: "advisor"}
    path = tmp_path / "leaky.yaml"
    path.write_text("an older cassette\n", encoding="utf-8")
    with (
        skyward_like_server(district, client_id=KEY, client_secret=SECRET) as server,
        pytest.raises(RecordingLeakError) as caught,
        record_session(path, loopback_settings(server), retry=NO_SLEEP) as client,
    ):
        client.users.list().all()
    assert caught.value.kinds == ("an email address",)
    message = str(caught.value)
    assert teacher["email"] not in message
    assert re.search(r"interaction \d+, response body \$\.users\[\d+\]\.metadata", message)
    assert path.read_text(encoding="utf-8") == "an older cassette\n"


def test_a_secret_in_a_url_path_stops_the_recording_and_is_located(
    tmp_path: Path, server: OneRosterServer
) -> None:
    path = tmp_path / "secret.yaml"
    marker = "district-internal-password"
    with (
        pytest.raises(RecordingLeakError) as caught,
        record_session(path, loopback_settings(server), secrets=[marker], retry=NO_SLEEP) as client,
    ):
        client.orgs.list().all()
        with pytest.raises(APIError):
            client.users.get(marker)
    assert caught.value.kinds == ("a value passed in secrets=",)
    assert marker not in str(caught.value)
    assert re.search(r"interaction \d+, request URI", str(caught.value))
    assert not path.exists()


@pytest.mark.parametrize("field", ["email", "familyName"])
def test_a_personal_value_in_a_protocol_header_stops_the_recording_and_is_located(
    tmp_path: Path, district: District, field: str
) -> None:
    student = user_with_role(district, "student")

    def script(request: Received) -> Reply:
        headers = [("Server", f"sis-node ({student[field]})")]
        return Reply(200, body={"user": student}, headers=headers)

    path = tmp_path / "header.yaml"
    with ScriptedServer(script) as server:
        settings = SkywardSettings(
            base_url=server.url("/springisdAPI"), auth="token", access_token=TOKEN
        )
        with (
            pytest.raises(RecordingLeakError) as caught,
            record_http(path, settings),
            connect(settings, retry=NO_SLEEP) as client,
        ):
            client.users.get(student["sourcedId"])
    kind = "an email address" if field == "email" else "a family name"
    assert caught.value.kinds == (kind,)
    assert [str(place) for place in caught.value.places] == [
        f"{kind} in interaction 1, response header Server"
    ]
    assert student[field] not in str(caught.value)
    assert not path.exists()


def test_filter_literals_and_unknown_parameters_are_pseudonymised(
    tmp_path: Path, server: OneRosterServer, district: District
) -> None:
    teacher = user_with_role(district, "teacher")
    marker = "district-internal-password"
    path = tmp_path / "filters.yaml"
    with record_session(
        path, loopback_settings(server), secrets=[marker], retry=NO_SLEEP
    ) as client:
        client.users.list(filter=F.email == teacher["email"]).all()
        client.orgs.list(filter=F.name == marker).all()
        client.classes.list(filter=F.status == "active").all()
    cassette = Cassette(path)
    uris = [i["request"]["uri"] for i in cassette.interactions]
    assert teacher["email"] not in cassette.text and marker not in cassette.text
    assert any("example.invalid" in uri for uri in uris)
    assert any("status%3D%27active%27" in uri or "status='active'" in uri for uri in uris)


def test_a_body_nested_too_deeply_to_scrub_is_left_out_not_a_crash(tmp_path: Path) -> None:
    deep = "[" * 50_000 + "]" * 50_000

    def script(request: Received) -> Reply:
        return Reply(200, body=deep, headers=[("Content-Type", "application/json")])

    path = tmp_path / "deep.yaml"
    with ScriptedServer(script) as server:
        settings = SkywardSettings(
            base_url=server.url("/springisdAPI"), auth="token", access_token=TOKEN
        )
        with record_http(path, settings):
            # Read with plain requests: what the client makes of such a body is not the point.
            answer = requests.get(server.url("/springisdAPI/ims/oneroster/v1p1/orgs"), timeout=5)
    assert answer.text == deep  # the caller still gets what was sent
    [interaction] = Cassette(path).interactions
    body = interaction["response"]["body"]["string"]
    assert "not recorded" in (body.decode() if isinstance(body, bytes) else body)
