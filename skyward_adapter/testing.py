"""Skyward-like districts and loopback servers for tests, demos and recorded cassettes.

:func:`skyward_like_district` takes a synthetic district from
:func:`oneroster_client.testing.generate_district` and gives it what Skyward really sends
(as Skyward districts have reported): a district prefix on every sourcedId (``ISD123-usr-t-00001``),
duplicated staff rows (one next to the original, one at the end of the users listing so
it lands on a later page), classes with repeated periods, teachers without
``identifier``, users without a name, and status spellings such as ``"TobeDeleted"``,
``"inactive"``, ``"deleted"`` and ``"Active"``. What was planted is returned with it.

:func:`skyward_like_server` serves a district under a Qmlativ-style base path
(``/springisdAPI/ims/oneroster/v1p1``) and refuses grade pass back that Skyward would
not take (:data:`SKYWARD_GRADEBOOK_RULES`: points possible a whole number, assignment
titles under 50 characters, a points score on every result, DateTimes for line item
dates), and :func:`loopback_settings` builds
:class:`~skyward_adapter.SkywardSettings` that reach it::

    planted = skyward_like_district(seed=7)
    with skyward_like_server(planted.district) as server:
        with connect(loopback_settings(server)) as client:
            users = client.users.list().all()

The same arguments always give the same district.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from typing import Any

import attrs

from oneroster_client.testing import ALL_SCOPES, District, Faults, OneRosterServer
from oneroster_client.testing import generate_district as _generate_district
from oneroster_client.testing.server import GradebookRules
from skyward_adapter.settings import SkywardSettings

__all__ = [
    "QMLATIV_BASE_PATH",
    "SKYWARD_GRADEBOOK_RULES",
    "SKYWARD_TITLE_LIMIT",
    "SkywardLikeDistrict",
    "loopback_settings",
    "skyward_like_district",
    "skyward_like_server",
]

QMLATIV_BASE_PATH = "/springisdAPI/ims/oneroster/v1p1"
"""The OneRoster base path of the Skyward-like server (a Qmlativ ``<customer>API`` root)."""

_API_ROOT = QMLATIV_BASE_PATH.removesuffix("/ims/oneroster/v1p1")

SKYWARD_TITLE_LIMIT = 49
"""The longest assignment title the Skyward-like server takes, in characters.

Districts' pass back guides ask for assignment names under 50 characters (unconfirmed by
Skyward itself): pass another limit to :func:`skyward_like_server` with
``gradebook_rules=attrs.evolve(SKYWARD_GRADEBOOK_RULES, max_title_length=...)``."""

SKYWARD_GRADEBOOK_RULES = GradebookRules(
    datetime_dates=True,
    whole_number_points=True,
    max_title_length=SKYWARD_TITLE_LIMIT,
    score_required=True,
)
"""What Skyward's grade pass back takes beyond OneRoster 1.1, as districts report it.

Only points-based scores pass (every result carries a numeric ``score``), total points
possible (``resultValueMax``) must be a whole number, assignment titles must be under 50
characters, and line item dates are DateTimes as in the 1.1 JSON binding. Category
weights are not transferred, so nothing is checked about them."""


@attrs.frozen
class SkywardLikeDistrict:
    """A district with Skyward's quirks planted, and what was planted where.

    Attributes:
        district: the data, ready for :class:`~oneroster_client.testing.OneRosterServer`.
        prefix: the district prefix put before every sourcedId.
        planted: quirk name (see :data:`skyward_adapter.quirks.QUIRKS`) -> sourcedIds of
            the records planted with it. ``duplicate_staff_merged`` are rows repeated next
            to the original, ``duplicate_staff_unmerged`` rows repeated at the end of the
            users listing.
        statuses: sourcedId -> the odd status spelling planted on it.
    """

    district: District
    prefix: str
    planted: dict[str, tuple[str, ...]]
    statuses: dict[str, str]


def _prefixed(value: Any, prefix: str) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                prefix + item
                if key == "sourcedId" and isinstance(item, str)
                else _prefixed(item, prefix)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_prefixed(item, prefix) for item in value]
    return value


class _Planter:
    """Plants Skyward's quirks into a district's collections, remembering where."""

    def __init__(self, collections: dict[str, list[dict[str, Any]]], seed: int) -> None:
        self.collections = collections
        self.rng = random.Random(seed)
        self.planted: dict[str, list[str]] = {}
        self.statuses: dict[str, str] = {}
        self.users = collections["users"]
        self.schools = [org for org in collections["orgs"] if org.get("type") == "school"]
        # Taken before any row is repeated: the repeats are not teachers of their own.
        self.active_teachers = [
            user for user in self.users if user["role"] == "teacher" and user["status"] == "active"
        ]
        self.admins = [user for user in self.users if user["role"] == "administrator"]

    def plant(self, quirk: str, sourced_id: str) -> None:
        self.planted.setdefault(quirk, []).append(sourced_id)

    def other_school(self, record: dict[str, Any]) -> dict[str, Any]:
        own = {ref["sourcedId"] for ref in record.get("orgs", [])}
        choices = [school for school in self.schools if school["sourcedId"] not in own]
        school = self.rng.choice(choices or self.schools)
        return {"sourcedId": school["sourcedId"], "type": "org"}

    def duplicate_staff(self) -> None:
        """One repeated row right after the original (same page), one at the end."""
        teacher = self.active_teachers[0]
        twin = dict(teacher, orgs=[self.other_school(teacher)])
        twin.pop("email", None)  # the second row lacks a field the first one has
        self.users.insert(self.users.index(teacher) + 1, twin)
        self.plant("duplicate_staff_merged", teacher["sourcedId"])
        admin = self.admins[-1]
        self.users.append(dict(admin, orgs=[self.other_school(admin)]))
        self.plant("duplicate_staff_unmerged", admin["sourcedId"])

    def teachers_without_identifier(self) -> None:
        """One teacher without ``identifier``, one with an empty one."""
        for position, record in enumerate(self.active_teachers[1:3]):
            if position == 0:
                record.pop("identifier", None)
            else:
                record["identifier"] = ""
            self.plant("identifier_from_sourced_id", record["sourcedId"])

    def users_without_name(self) -> dict[str, Any]:
        """A guardian with neither name, a student without family name; returns the student."""
        guardian = next(user for user in self.users if user["role"] in ("parent", "guardian"))
        guardian.pop("givenName", None)
        guardian.pop("familyName", None)
        self.plant("missing_name", guardian["sourcedId"])
        student = next(user for user in self.users if user["role"] == "student")
        student["familyName"] = None
        self.plant("missing_name", student["sourcedId"])
        return student

    def status_spellings(self, nameless_student: dict[str, Any]) -> None:
        """Status spellings Skyward has been seen to send."""
        users, rng = self.users, self.rng
        spelled = iter(("TobeDeleted", "inactive", "deleted", "Active"))
        targets = [
            rng.choice([u for u in users if u["role"] == "student" and u is not nameless_student]),
            rng.choice([u for u in users if u["role"] in ("parent", "guardian", "relative")][1:]),
            rng.choice(self.collections["enrollments"]),
            rng.choice(self.collections["classes"]),
        ]
        for record in targets:
            spelling = next(spelled)
            record["status"] = spelling
            self.statuses[record["sourcedId"]] = spelling
            self.plant("status_normalised", record["sourcedId"])

    def repeated_periods(self) -> None:
        repeated = (["1", "1"], ["2", "3", "2", "3"], ["4", "5", "4"])
        for record, periods in zip(self.collections["classes"][:3], repeated, strict=False):
            record["periods"] = periods
            self.plant("repeated_periods", record["sourcedId"])


def skyward_like_district(
    *,
    seed: int = 2025,
    students: int = 24,
    classes_per_student: int = 3,
    prefix: str = "ISD123-",
) -> SkywardLikeDistrict:
    """A small synthetic district that looks like a Skyward OneRoster feed.

    Args:
        seed: seed of the synthetic district and of where quirks are planted.
        students: number of students.
        classes_per_student: classes per student.
        prefix: district prefix put before every sourcedId (kept intact by the adapter).

    Returns:
        The district and a record of what was planted.
    """
    base = _generate_district(students=students, seed=seed, classes_per_student=classes_per_student)
    # A JSON round trip unshares the generator's shared dicts so records can be changed.
    collections: dict[str, list[dict[str, Any]]] = json.loads(json.dumps(base.collections))
    collections = {name: _prefixed(rows, prefix) for name, rows in collections.items()}
    planter = _Planter(collections, seed)
    planter.duplicate_staff()
    planter.teachers_without_identifier()
    nameless_student = planter.users_without_name()
    planter.status_spellings(nameless_student)
    planter.repeated_periods()
    return SkywardLikeDistrict(
        district=District(collections=collections),
        prefix=prefix,
        planted={quirk: tuple(ids) for quirk, ids in planter.planted.items()},
        statuses=planter.statuses,
    )


def skyward_like_server(
    district: District | None = None,
    *,
    client_id: str = "springisd-integration",
    client_secret: str | None = None,
    scopes: Iterable[str] = ALL_SCOPES,
    auth: Iterable[str] = ("oauth1", "oauth2"),
    faults: Faults | None = None,
    base_path: str = QMLATIV_BASE_PATH,
    gradebook_rules: GradebookRules = SKYWARD_GRADEBOOK_RULES,
) -> OneRosterServer:
    """A loopback OneRoster server under a Qmlativ-style base path (not started).

    Use it as a context manager, or call ``start()`` and ``stop()``.

    Args:
        district: the data; :func:`skyward_like_district` when omitted.
        client_id: the Key.
        client_secret: the Secret; random when omitted.
        scopes: the scopes the server may grant.
        auth: accepted schemes, ``"oauth1"`` and/or ``"oauth2"``.
        faults: failures to inject (see :class:`~oneroster_client.testing.Faults`).
        base_path: the OneRoster base path.
        gradebook_rules: what grade pass back must satisfy; Skyward's reported limits
            by default, ``GradebookRules()`` for none.
    """
    return OneRosterServer(
        district if district is not None else skyward_like_district().district,
        base_path=base_path,
        client_id=client_id,
        client_secret=client_secret,
        scopes=scopes,
        auth=auth,
        faults=faults,
        gradebook_rules=gradebook_rules,
    )


def loopback_settings(server: OneRosterServer, **overrides: Any) -> SkywardSettings:
    """Settings that reach a loopback server: its API root, Key, Secret and token URL.

    The API root is the server's base path without ``/ims/oneroster/v1p1``, as a district
    admin would enter it (plain http is accepted to a loopback host).

    Args:
        server: the server (started or not).
        overrides: settings to change, e.g. ``token_url=None`` for OAuth 1.
    """
    root = server.base_path.removesuffix("/ims/oneroster/v1p1")
    values: dict[str, Any] = {
        "base_url": server.origin + root,
        "key": server.client_id,
        "secret": server.client_secret,
        "token_url": server.token_url,
        "allow_insecure_http": True,
    }
    values.update(overrides)
    return SkywardSettings(**values)
