"""Recording Skyward sessions: scrubbed, pseudonymised consistently, refused when leaky."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from vcr.serializers import yamlserializer

from oneroster_client.endpoints import SCOPE_PREFIX
from oneroster_client.testing import District, Faults, OneRosterServer
from skyward_adapter import SkywardSettings, default_retry_policy, quirk_report
from skyward_adapter.recording import (
    record_session,
    replay_session,
    replay_settings,
)
from skyward_adapter.testing import (
    SkywardLikeDistrict,
    loopback_settings,
    skyward_like_district,
    skyward_like_server,
)

NO_SLEEP = default_retry_policy(sleep=lambda seconds: None)
SECRET = "recording-test-secret-5e8a1f"
KEY = "springisd-recording-key"
PERSON_FIELDS = ("givenName", "familyName", "middleName", "email", "phone", "sms", "username")


@pytest.fixture(scope="module")
def planted() -> SkywardLikeDistrict:
    return skyward_like_district(seed=11)


@pytest.fixture
def district(planted: SkywardLikeDistrict) -> District:
    return copy.deepcopy(planted.district)


@pytest.fixture
def server(district: District) -> Iterator[OneRosterServer]:
    with skyward_like_server(district, client_id=KEY, client_secret=SECRET) as running:
        yield running


class TokenCatcher:
    """A session that remembers every access token the token endpoint issues."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.tokens: list[str] = []
        self.session.hooks["response"].append(self._hook)

    def _hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.request.method == "POST" and "token" in (response.url or ""):
            try:
                token = response.json().get("access_token")
            except ValueError:
                return
            if token:
                self.tokens.append(token)


def originals(district: District) -> dict[str, set[str]]:
    """The personal values of the district's people, by kind."""
    found: dict[str, set[str]] = {"name": set(), "distinctive": set(), "full": set()}
    for user in district["users"]:
        for field in (*PERSON_FIELDS, "identifier"):
            value = user.get(field)
            if isinstance(value, str) and value:
                names = ("givenName", "familyName", "middleName")
                found["name" if field in names else "distinctive"].add(value)
        for user_id in user.get("userIds", []):
            found["distinctive"].add(user_id["identifier"])
        if user.get("givenName") and user.get("familyName"):
            found["full"].add(f"{user['givenName']} {user['familyName']}")
    for record in district["demographics"]:
        for field in ("birthDate", "cityOfBirth"):
            if record.get(field):
                found["name"].add(record[field])
    return found


class CassetteText:
    """Every string of a cassette: decoded bodies, URIs, headers; values of person records."""

    def __init__(self, path: Path) -> None:
        self.raw = path.read_text(encoding="utf-8")
        data = yamlserializer.deserialize(self.raw)
        self.interactions: list[dict[str, Any]] = data["interactions"]
        texts: list[str] = []
        self.values: set[str] = set()
        self.person_values: set[str] = set()
        self.bodies: list[Any] = []
        for interaction in self.interactions:
            request, response = interaction["request"], interaction["response"]
            texts.append(request["uri"])
            texts += [str(v) for v in request["headers"].values()]
            texts += [str(v) for v in response["headers"].values()]
            for body in (request["body"], response["body"]["string"]):
                if not body:
                    continue
                text = body.decode() if isinstance(body, bytes) else str(body)
                texts.append(text)
                try:
                    parsed = json.loads(text)
                except ValueError:
                    continue
                self.bodies.append(parsed)
                self._walk(parsed, False)
        self.text = "\n".join(texts)

    def _walk(self, item: Any, person: bool) -> None:
        if isinstance(item, dict):
            person = person or "username" in item or "birthDate" in item
            for value in item.values():
                self._walk(value, person)
        elif isinstance(item, list):
            for value in item:
                self._walk(value, person)
        elif isinstance(item, str):
            self.values.add(item)
            if person:
                self.person_values.add(item)

    def records(self, key: str) -> list[dict[str, Any]]:
        return [
            record for body in self.bodies if isinstance(body, dict) for record in body.get(key, [])
        ]


def assert_no_personal_data(cassette: CassetteText, district: District) -> None:
    found = originals(district)
    for value in found["name"]:
        assert value not in cassette.person_values, "a name or birth detail was kept"
    for value in found["distinctive"]:
        assert value not in cassette.values, "an email, username, phone or identifier was kept"
        if len(value) >= 6:
            assert value not in cassette.text, "an email, username, phone or identifier leaked"
    for value in found["full"]:
        assert value not in cassette.text, "a full name leaked"


def assert_no_credentials(cassette: CassetteText, *values: str) -> None:
    for value in (SECRET, KEY, *values):
        assert value not in cassette.text
        assert value not in cassette.raw
    for marker in ("Authorization", "Bearer ", "Basic ", "oauth_signature"):
        assert marker not in cassette.text
    assert not re.search(r"client_(id|secret)=(?!REDACTED)", cassette.text)


def test_a_session_is_recorded_scrubbed_and_replayed_offline(
    tmp_path: Path, server: OneRosterServer, district: District
) -> None:
    path = tmp_path / "session.yaml"
    catcher = TokenCatcher()
    settings = loopback_settings(server, page_size=20)
    with record_session(path, settings, retry=NO_SLEEP, session=catcher.session) as client:
        users = client.users.list().all()
        teachers = client.teachers.list().all()
        enrollments = client.enrollments.list().all()
        recorded_report = quirk_report(client).counts()
    server.stop()
    assert catcher.tokens

    cassette = CassetteText(path)
    assert_no_credentials(cassette, *catcher.tokens)
    assert_no_personal_data(cassette, district)
    assert '"access_token":"REDACTED"' in cassette.text

    dummy = SkywardSettings(
        base_url="https://springisd.skyward.com/springisdAPI",
        key="dummy-key",
        secret="dummy-secret",
        token_url="https://springisd.skyward.com/oauth/token",
        page_size=20,
    )
    with replay_session(path, dummy, retry=NO_SLEEP) as client:
        replayed_users = client.users.list().all()
        replayed_teachers = client.teachers.list().all()
        replayed_enrollments = client.enrollments.list().all()
        assert quirk_report(client).counts() == recorded_report
    assert [u.sourced_id for u in replayed_users] == [u.sourced_id for u in users]
    assert [e.sourced_id for e in replayed_enrollments] == [e.sourced_id for e in enrollments]
    assert len(replayed_teachers) == len(teachers)

    # One pseudonym per original value, whichever response it appears in.
    by_id = {user.sourced_id: user for user in replayed_users}
    for teacher in replayed_teachers:
        user = by_id[teacher.sourced_id]
        assert (teacher.given_name, teacher.family_name, teacher.email) == (
            user.given_name,
            user.family_name,
            user.email,
        )
    assert_one_pseudonym_per_family_name(district, replayed_users)
    assert all(
        user.email is None or user.email.endswith("@example.invalid") for user in replayed_users
    )


def assert_one_pseudonym_per_family_name(district: District, replayed_users: list[Any]) -> None:
    real = {row["sourcedId"]: row for row in district["users"]}
    family_of: dict[str, set[str]] = {}
    for user in replayed_users:
        original = real[user.sourced_id].get("familyName")
        if original:
            family_of.setdefault(original, set()).add(user.family_name)
    assert all(len(pseudonyms) == 1 for pseudonyms in family_of.values())
    assert len({p for ps in family_of.values() for p in ps}) == len(family_of)
    assert any(
        len([u for u in district["users"] if u.get("familyName") == name]) > 1 for name in family_of
    ), "the district should have people sharing a family name"


def test_ids_can_be_pseudonymised_consistently(
    tmp_path: Path, server: OneRosterServer, district: District
) -> None:
    path = tmp_path / "ids.yaml"
    settings = loopback_settings(server, page_size=50)
    with record_session(path, settings, pseudonymise_ids=True, retry=NO_SLEEP) as client:
        users = client.users.list().all()
        classes = client.classes.list().all()
        enrollments = client.enrollments.list().all()
        students = client.classes.students(classes[0].sourced_id).all()
    server.stop()
    cassette = CassetteText(path)
    for collection in ("users", "classes", "enrollments", "orgs", "courses", "academicSessions"):
        for row in district[collection]:
            assert row["sourcedId"] not in cassette.text
    # References still resolve inside the cassette.
    user_ids = {record["sourcedId"] for record in cassette.records("users")}
    class_ids = {record["sourcedId"] for record in cassette.records("classes")}
    for enrollment in cassette.records("enrollments"):
        assert enrollment["user"]["sourcedId"] in user_ids
        assert enrollment["class"]["sourcedId"] in class_ids

    with replay_session(path, retry=NO_SLEEP) as client:
        replayed_users = client.users.list().all()
        replayed_classes = client.classes.list().all()
        replayed_enrollments = client.enrollments.list().all()
        replayed_students = client.classes.students(replayed_classes[0].sourced_id).all()
    assert len(replayed_users) == len(users)
    assert len(replayed_enrollments) == len(enrollments)
    assert len(replayed_students) == len(students) > 0
    replayed_ids = {user.sourced_id for user in replayed_users}
    assert {student.sourced_id for student in replayed_students} <= replayed_ids


def test_personal_data_outside_person_records_is_scrubbed_not_refused(
    tmp_path: Path, district: District
) -> None:
    teacher = next(user for user in district["users"] if user["role"] == "teacher")
    district["classes"][0]["title"] = f"Advisory ({teacher['email']})"
    path = tmp_path / "titles.yaml"
    with (
        skyward_like_server(district, client_id=KEY, client_secret=SECRET) as server,
        record_session(path, loopback_settings(server), retry=NO_SLEEP) as client,
    ):
        count = len(client.classes.list().all())
    cassette = CassetteText(path)
    assert teacher["email"] not in cassette.text
    assert len(cassette.records("classes")) == count
    assert cassette.records("classes")[0]["title"] != district["classes"][0]["title"]
    assert [p.name for p in tmp_path.iterdir()] == ["titles.yaml"]  # no temporary file left


def test_nothing_is_written_when_the_session_fails(tmp_path: Path, server: OneRosterServer) -> None:
    path = tmp_path / "failed.yaml"
    with (
        pytest.raises(RuntimeError),
        record_session(path, loopback_settings(server), retry=NO_SLEEP) as client,
    ):
        client.orgs.list().all()
        raise RuntimeError("the test failed half way")
    assert not path.exists()


def test_oauth1_recordings_keep_no_signature(
    tmp_path: Path, server: OneRosterServer, district: District
) -> None:
    path = tmp_path / "oauth1.yaml"
    with record_session(path, loopback_settings(server, token_url=None), retry=NO_SLEEP) as client:
        count = len(client.users.list().all())
    server.stop()
    cassette = CassetteText(path)
    assert_no_credentials(cassette)
    assert "oauth_" not in cassette.text
    assert_no_personal_data(cassette, district)
    settings = replay_settings(path)
    assert settings.auth_mode == "oauth1"
    with replay_session(path, settings, retry=NO_SLEEP) as client:
        assert len(client.users.list().all()) == count


def test_form_credentials_are_scrubbed_and_the_fallback_replays(
    tmp_path: Path, district: District
) -> None:
    path = tmp_path / "form.yaml"
    faults = Faults(refuse_basic_token_auth=True)
    with (
        skyward_like_server(district, client_id=KEY, client_secret=SECRET, faults=faults) as server,
        record_session(path, loopback_settings(server), retry=NO_SLEEP) as client,
    ):
        client.orgs.list().all()
    cassette = CassetteText(path)
    assert_no_credentials(cassette)
    token_bodies = [
        i["request"]["body"] for i in cassette.interactions if i["request"]["method"] == "POST"
    ]
    assert len(token_bodies) == 2
    assert "client_id=REDACTED" in token_bodies[1]
    assert "client_secret=REDACTED" in token_bodies[1]
    with replay_session(path, retry=NO_SLEEP) as client:
        assert client.orgs.list().all()
        assert getattr(client.auth, "client_auth", None) == "body"


def test_metadata_and_demographics_are_pseudonymised(tmp_path: Path, district: District) -> None:
    student = next(user for user in district["users"] if user["role"] == "student")
    student["metadata"] = {
        "skyward.address": {"street": "12 Elm Street", "city": "Springfield"},
        "skyward.guardianPhone": "(217) 555-0199",
        "skyward.gradYear": "2031",
    }
    path = tmp_path / "metadata.yaml"
    scopes = (SCOPE_PREFIX + "roster.readonly",)
    with skyward_like_server(district, client_id=KEY, client_secret=SECRET) as server:
        settings = loopback_settings(server, scopes=scopes)
        with record_session(path, settings, retry=NO_SLEEP) as client:
            client.users.list().all()
            client.demographics.list().all()
    cassette = CassetteText(path)
    for value in ("12 Elm Street", "Springfield", "(217) 555-0199"):
        assert value not in cassette.text
    # Vendor fields have no known vocabulary: every string is replaced, the keys stay.
    assert "2031" not in cassette.values
    recorded = next(r for r in cassette.records("users") if r["sourcedId"] == student["sourcedId"])
    assert set(recorded["metadata"]) == set(student["metadata"])
    assert_no_personal_data(cassette, district)
    birth_dates = {record["birthDate"] for record in cassette.records("demographics")}
    assert all(date.startswith("19") for date in birth_dates)


def test_replay_settings_come_from_the_cassette(tmp_path: Path, server: OneRosterServer) -> None:
    path = tmp_path / "settings.yaml"
    settings = loopback_settings(server, page_size=30)
    with record_session(path, settings, retry=NO_SLEEP) as client:
        client.orgs.list().all()
    replay = replay_settings(path)
    assert replay.oneroster_base_url == settings.oneroster_base_url
    assert replay.token_url == settings.token_url
    assert replay.page_size == 30
    assert replay.scopes == settings.scopes
    assert replay.key == "replay-key"
    assert replay.secret != SECRET


def test_replaying_a_missing_cassette(tmp_path: Path) -> None:
    settings = SkywardSettings(base_url="https://x.skyward.com/xAPI", key="k", secret="s")
    with (
        pytest.raises(FileNotFoundError, match="record it first"),
        replay_session(tmp_path / "missing.yaml", settings),
    ):
        pass
