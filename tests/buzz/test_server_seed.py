"""Seeding the loopback Buzz server from a dict or a JSON file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from oneroster_client.buzz.testing import ROLE_IDS, BuzzServer
from oneroster_client.errors import ConfigurationError

from .conftest import Dlap

SEED: dict[str, Any] = {
    "domains": [{"id": "10", "name": "North High", "userspace": "north", "reference": "org-1"}],
    "users": [
        {
            "userid": "20",
            "domainid": "10",
            "username": "ada",
            "firstname": "Ada",
            "lastname": "L",
            "email": "ada@example.org",
            "reference": "u-1",
        },
        {"domainid": "10", "username": "gone", "firstname": "G", "lastname": "G", "deleted": True},
    ],
    "courses": [{"courseid": "30", "title": "Algebra", "domainid": "10", "reference": "c-1"}],
    "enrollments": [{"id": "40", "userid": "20", "courseid": "30", "roleid": ROLE_IDS["Student"]}],
    "roles": [
        {"id": "50", "name": "Aide", "domainid": "10", "privileges": 131073, "entitytype": "C"}
    ],
    "rights": [{"actorid": "20", "entityid": "30", "flags": 131072}],
    "grades": [{"enrollmentid": "40", "achieved": 8, "possible": 10, "itemid": "quiz1"}],
}


def _check_seeded(server: BuzzServer) -> None:
    (ada,) = server.users()[2:]
    assert (ada["id"], ada["userspace"], ada["reference"]) == ("20", "north", "u-1")
    deleted = [u for u in server.users(include_deleted=True) if u["deleted"]]
    assert [u["username"] for u in deleted] == ["gone"]
    (enrollment,) = server.enrollments()
    assert (enrollment["entityid"], enrollment["status"], enrollment["privileges"]) == (
        "30",
        1,
        "2228225",
    )
    assert "Aide" in {r["name"] for r in server.roles()}
    assert server.rights() == {("20", "30"): {"flags": 131072, "roleid": ""}}


def test_seed_from_dict(buzz_server: BuzzServer) -> None:
    buzz_server.seed(SEED)
    _check_seeded(buzz_server)


def test_seed_from_json_file(tmp_path: Path) -> None:
    path = tmp_path / "buzz.json"
    path.write_text(json.dumps(SEED), encoding="utf-8")
    with BuzzServer(seed=path) as server:
        _check_seeded(server)
    with BuzzServer(seed=str(path)) as server:
        _check_seeded(server)


def test_seeded_entities_are_served(buzz_server: BuzzServer, dlap: Dlap) -> None:
    buzz_server.seed(SEED)
    found = dlap.get("listusers", domainid="10", query="/reference=u-1")["users"]["user"]
    assert [u["id"] for u in found] == ["20"]
    grades = dlap.get("getenrollmentgradebook2", enrollmentid="40")["enrollment"]["grades"]
    assert (grades["achieved"], grades["possible"]) == (8, 10)


def test_new_ids_do_not_collide_with_seeded_ones(buzz_server: BuzzServer, dlap: Dlap) -> None:
    buzz_server.seed({"domains": [{"id": "5000", "name": "Big", "userspace": "big"}]})
    new = dlap.create("createdomains", "domain", {"name": "N", "userspace": "n", "parentid": "1"})
    assert int(new) > 5000


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ({"schools": []}, "unknown section"),
        ({"domains": {"id": "1"}}, "domains must be a list"),
        ({"domains": [{"name": "X", "userspace": "root"}]}, "domains[0]: Userspace"),
        (
            {"users": [{"domainid": "77", "username": "u", "firstname": "F", "lastname": "L"}]},
            "users[0]",
        ),
        ({"domains": [{"id": "1", "name": "Dup", "userspace": "dup"}]}, "already in use"),
        ({"domains": ["not an object"]}, "domains[0]"),
        ({"grades": [{"enrollmentid": "404", "achieved": 1, "possible": 2}]}, "grades[0]"),
        ({"grades": [{"enrollmentid": "1", "score": 1}]}, "score"),
        ({"roles": [{"name": "R", "entitytype": "Z"}]}, "entitytype"),
    ],
)
def test_bad_seed_is_a_configuration_error(seed: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        BuzzServer(seed=seed)


def test_unreadable_seed_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"broken\.json"):
        BuzzServer(seed=path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="top level"):
        BuzzServer(seed=path)
