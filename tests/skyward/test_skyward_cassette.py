"""The committed cassette tests/cassettes/skyward_qmlativ.yaml: replays offline, leaks nothing.

The cassette is made by ``tests/skyward/record_cassette.py`` (see its docstring to re-run
it). This test does not need the original personal values to be saved anywhere: it
regenerates the same deterministic district and checks that none of its personal values
survived the recording.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from vcr.serializers import yamlserializer

from oneroster_client.models import GUIDRef, LineItem
from oneroster_client.models.enums import StatusType
from oneroster_client.testing import District
from skyward_adapter import SkywardSettings, connect, default_retry_policy, quirk_report
from skyward_adapter.quirks import (
    DUPLICATE_STAFF_MERGED,
    DUPLICATE_STAFF_UNMERGED,
    IDENTIFIER_FROM_SOURCED_ID,
    MISSING_NAME,
)
from skyward_adapter.recording import replay_http
from skyward_adapter.testing import SkywardLikeDistrict, skyward_like_district

CASSETTE = Path(__file__).resolve().parents[1] / "cassettes" / "skyward_qmlativ.yaml"
# The same values as tests/skyward/record_cassette.py.
SEED = 2025
STUDENTS = 24
CLASSES_PER_STUDENT = 3
PAGE_SIZE = 25
KEY = "springisd-integration"
SECRET = "loopback-only-secret-7c41d9e2b8"
LINE_ITEM_ID = "ISD123-li-buzz-1001"

DUMMY = SkywardSettings(
    base_url="https://springisd.skyward.com/springisdAPI",
    key="dummy-key",
    secret="dummy-secret",
    token_url="https://springisd.skyward.com/oauth/token",
    page_size=PAGE_SIZE,
)


@pytest.fixture(scope="module")
def planted() -> SkywardLikeDistrict:
    return skyward_like_district(
        seed=SEED, students=STUDENTS, classes_per_student=CLASSES_PER_STUDENT
    )


@pytest.fixture(scope="module")
def cassette() -> dict[str, Any]:
    assert CASSETTE.is_file(), "run tests/skyward/record_cassette.py to make the cassette"
    data: dict[str, Any] = yamlserializer.deserialize(CASSETTE.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any real connection attempt fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the replay tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def bodies(cassette: dict[str, Any]) -> list[Any]:
    found = []
    for interaction in cassette["interactions"]:
        for body in (interaction["request"]["body"], interaction["response"]["body"]["string"]):
            if body:
                with contextlib.suppress(ValueError):
                    found.append(json.loads(body))
    return found


def records(cassette: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = [body for body in bodies(cassette) if isinstance(body, dict)]
    return [record for body in found for record in body.get(key, [])]


def all_text(cassette: dict[str, Any]) -> str:
    texts: list[str] = []
    for interaction in cassette["interactions"]:
        request, response = interaction["request"], interaction["response"]
        texts += [request["uri"], str(request["body"] or ""), str(response["body"]["string"])]
        texts += [f"{k}: {v}" for k, v in request["headers"].items()]
        texts += [f"{k}: {v}" for k, v in response["headers"].items()]
    return "\n".join(texts)


def string_values(item: Any, person: bool = False) -> Iterator[tuple[str, bool]]:
    if isinstance(item, dict):
        person = person or "username" in item or "birthDate" in item
        for value in item.values():
            yield from string_values(value, person)
    elif isinstance(item, list):
        for value in item:
            yield from string_values(value, person)
    elif isinstance(item, str):
        yield item, person


def personal_values(district: District) -> tuple[set[str], set[str], set[str]]:
    names: set[str] = set()
    distinctive: set[str] = set()
    full_names: set[str] = set()
    for user in district["users"]:
        for field in ("givenName", "familyName", "middleName"):
            if user.get(field):
                names.add(user[field])
        for field in ("email", "phone", "sms", "username", "identifier"):
            if user.get(field):
                distinctive.add(user[field])
        distinctive.update(entry["identifier"] for entry in user.get("userIds", []))
        if user.get("givenName") and user.get("familyName"):
            full_names.add(f"{user['givenName']} {user['familyName']}")
    return names, distinctive, full_names


# --- replay ------------------------------------------------------------------------------


def test_the_cassette_replays_offline_with_dummy_credentials(
    offline: None, planted: SkywardLikeDistrict
) -> None:
    district = planted.district
    with (
        replay_http(CASSETTE, origin="https://springisd.skyward.com"),
        connect(DUMMY, retry=default_retry_policy(sleep=lambda s: None)) as client,
    ):
        orgs = client.orgs.list().all()
        users = client.users.list().all()
        enrollments = client.enrollments.list().all()
        classes = client.classes.list().all()
        written = client.line_items.put(
            LineItem(
                sourced_id=LINE_ITEM_ID,
                title="Buzz: Unit 1 quiz",
                class_=GUIDRef(sourced_id=classes[0].sourced_id, type="class"),
                assign_date=datetime(2025, 1, 13, 14, 0, tzinfo=UTC),
                due_date=datetime(2025, 1, 20, 14, 0, tzinfo=UTC),
                result_value_min=0.0,
                result_value_max=10.0,
            )
        )
        report = quirk_report(client)
    assert len(orgs) == len(district["orgs"])
    assert len(users) == len({row["sourcedId"] for row in district["users"]})
    assert len(enrollments) == len(district["enrollments"])
    assert len(classes) == len(district["classes"])
    assert written.created and written.record is not None
    assert written.record.sourced_id == LINE_ITEM_ID
    assert all(user.sourced_id.startswith("ISD123-") for user in users)
    assert report.sourced_ids(DUPLICATE_STAFF_MERGED) == list(
        planted.planted[DUPLICATE_STAFF_MERGED]
    )
    assert report.sourced_ids(DUPLICATE_STAFF_UNMERGED) == list(
        planted.planted[DUPLICATE_STAFF_UNMERGED]
    )
    assert len(report.for_quirk(IDENTIFIER_FROM_SOURCED_ID)) == 2
    assert len(report.for_quirk(MISSING_NAME)) == 2
    statuses = {e.sourced_id: e.status for e in enrollments}
    for sourced_id, spelling in planted.statuses.items():
        if sourced_id in statuses:
            assert spelling == "deleted"
            assert statuses[sourced_id] == StatusType.TOBEDELETED


# --- nothing secret or personal ------------------------------------------------------------


def test_no_credential_is_in_the_cassette(cassette: dict[str, Any]) -> None:
    raw = CASSETTE.read_text(encoding="utf-8")
    text = all_text(cassette)
    for value in (SECRET, KEY):
        assert value not in raw
        assert value not in text
    for marker in ("Authorization", "Bearer ", "Basic ", "oauth_"):
        assert marker not in text
    assert not re.search(r"client_(id|secret)=(?!REDACTED)", text)
    tokens = [
        body["access_token"]
        for body in bodies(cassette)
        if isinstance(body, dict) and "access_token" in body
    ]
    assert tokens == ["REDACTED"]


def test_no_original_personal_value_is_in_the_cassette(
    cassette: dict[str, Any], planted: SkywardLikeDistrict
) -> None:
    names, distinctive, full_names = personal_values(planted.district)
    assert len(names) > 40 and len(distinctive) > 100  # the check has something to find
    text = all_text(cassette)
    values: set[str] = set()
    person_values: set[str] = set()
    for body in bodies(cassette):
        for value, person in string_values(body):
            values.add(value)
            if person:
                person_values.add(value)
    assert not names & person_values, "a name survived in a person record"
    assert not distinctive & values, "an email, username, phone or identifier survived"
    for value in distinctive:
        if len(value) >= 6:
            assert value not in text, "an email, username, phone or identifier survived"
    for value in full_names:
        assert value not in text, "a full name survived"


def test_the_cassette_holds_the_regenerated_district(
    cassette: dict[str, Any], planted: SkywardLikeDistrict
) -> None:
    """Guards the test above: it must look for the values of the district recorded."""
    recorded = {record["sourcedId"] for record in records(cassette, "users")}
    assert recorded == {row["sourcedId"] for row in planted.district["users"]}


def test_records_in_the_cassette_still_reference_each_other(cassette: dict[str, Any]) -> None:
    users = {record["sourcedId"] for record in records(cassette, "users")}
    classes = {record["sourcedId"] for record in records(cassette, "classes")}
    orgs = {record["sourcedId"] for record in records(cassette, "orgs")}
    enrollments = records(cassette, "enrollments")
    assert enrollments
    for enrollment in enrollments:
        assert enrollment["user"]["sourcedId"] in users
        assert enrollment["class"]["sourcedId"] in classes
        assert enrollment["school"]["sourcedId"] in orgs
    for record in records(cassette, "users"):
        assert {org["sourcedId"] for org in record["orgs"]} <= orgs
        for agent in record.get("agents", []):
            assert agent["sourcedId"] in users
    for record in records(cassette, "classes"):
        assert record["school"]["sourcedId"] in orgs
    line_items = [body["lineItem"] for body in bodies(cassette) if "lineItem" in body]
    assert line_items and all(item["class"]["sourcedId"] in classes for item in line_items)


# Fields whose values carry no personal data and are recorded as sent.
KEPT_FIELDS = frozenset(
    {
        "sourcedId",
        "status",
        "role",
        "type",
        "classType",
        "dateLastModified",
        "beginDate",
        "endDate",
        "grades",
        "periods",
    }
)


def field_strings(item: Any, field: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(item, dict):
        for name, value in item.items():
            yield from field_strings(value, name)
    elif isinstance(item, list):
        for value in item:
            yield from field_strings(value, field)
    elif isinstance(item, str):
        yield field, item


def test_only_whitelisted_values_survive(
    cassette: dict[str, Any], planted: SkywardLikeDistrict
) -> None:
    recorded = {value for body in bodies(cassette) for value, _person in string_values(body)}
    checked = 0
    for collection in ("orgs", "users", "enrollments", "classes"):
        for row in planted.district[collection]:
            for field, value in field_strings(row):
                if field in KEPT_FIELDS or not value.strip():
                    continue
                checked += 1
                assert value not in recorded, f"{collection}.{field} was recorded as sent"
    assert checked > 500  # the check has something to look at


def test_free_text_fields_hold_pseudonyms(cassette: dict[str, Any]) -> None:
    pseudonym = re.compile(r"redacted-[0-9a-f]{10}")
    for key, fields in (("orgs", ("name",)), ("classes", ("title", "classCode", "location"))):
        recorded = records(cassette, key)
        assert recorded
        for record in recorded:
            for field in fields:
                if record.get(field):
                    assert pseudonym.fullmatch(record[field]), f"{key}.{field}"
    for user in records(cassette, "users"):
        if user.get("email"):
            assert user["email"].endswith("@example.invalid")
        assert all(org["type"] == "org" for org in user["orgs"])
