"""Starting state of the loopback Buzz server: built-in entities and seeding from a dict or JSON.

Every server starts with a root domain (id ``1``, userspace ``root``), three roles in it
(``Student`` 2, ``Teacher`` 3, ``Domain Administrator`` 4), an administrator for
``login3`` (5) and an application-identity user for JWT client credentials (6). New ids
start above 1000.

Seed data (a dict, or a path to a JSON file holding one) lists entities by section::

    {
      "domains":     [{"id": "10", "name": "North High", "userspace": "north",
                       "parentid": "1", "reference": "org-1"}],
      "users":       [{"id": "20", "domainid": "10", "username": "ada", "firstname": "Ada",
                       "lastname": "L", "email": "", "reference": "u-1", "password": "pw"}],
      "courses":     [{"id": "30", "title": "Algebra", "domainid": "10", "reference": "c-1"}],
      "enrollments": [{"id": "40", "userid": "20", "entityid": "30", "roleid": "2"}],
      "roles":       [{"id": "50", "name": "Aide", "domainid": "10", "privileges": 131073,
                       "entitytype": "C"}],
      "rights":      [{"actorid": "20", "entityid": "21", "flags": 512}],
      "grades":      [{"enrollmentid": "40", "achieved": 8, "possible": 10, "itemid": "quiz1"}]
    }

Ids are optional (``id`` or ``<entity>id``); fields are those of the create commands,
with defaults for ``parentid`` (the root), course ``schema`` (3) and enrollment
``status`` (1); enrollments may name the course ``courseid``. ``"deleted": true``
soft-deletes an entity after seeding (with its cascade). Parents must come before their
children. The same rules as over HTTP apply (unique userspaces, usernames per userspace).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from oneroster_client.buzz.testing import entities
from oneroster_client.buzz.testing.call import Call
from oneroster_client.buzz.testing.fields import as_flag, as_id, as_int, check_fields
from oneroster_client.buzz.testing.gradebook import set_grade
from oneroster_client.buzz.testing.state import ROOT_DOMAIN_ID, DlapError, Store
from oneroster_client.buzz.testing.writes import BATCH
from oneroster_client.errors import ConfigurationError

__all__ = ["ADMIN_ID", "APP_ID", "ROLE_IDS", "SeedData", "apply_seed", "install_builtins"]

SeedData = Mapping[str, Any] | str | PathLike[str]

ROLE_IDS = {"Student": "2", "Teacher": "3", "Domain Administrator": "4"}
ADMIN_ID = "5"
APP_ID = "6"
_FIRST_FREE_ID = 1000

_SECTIONS = ("domains", "roles", "users", "courses", "enrollments", "rights", "grades")
_CREATE = {"domains": "createdomains", "users": "createusers2", "courses": "createcourses"}
_KIND = {"domains": "domain", "users": "user", "courses": "course", "enrollments": "enrollment"}


def install_builtins(store: Store, admin_password: str) -> None:
    """Create the root domain, roles, administrator and application identity."""
    store.add(
        "domain",
        {"name": "Root", "userspace": "root", "parentid": "0", "reference": "", "flags": 0},
        ROOT_DOMAIN_ID,
    )
    for name, privileges, entity_type in (
        ("Student", 0x220001, "C"),
        ("Teacher", 0x8F060000, "C"),
        ("Domain Administrator", 0xFFFFFFFFFF, "D"),
    ):
        _add_role(
            store,
            {"name": name, "privileges": privileges, "entitytype": entity_type},
            ROLE_IDS[name],
        )
    admin = {"domainid": ROOT_DOMAIN_ID, "username": "administrator", "firstname": "Buzz"}
    admin.update(lastname="Administrator", email="", password=admin_password)
    entities.create_user(store, admin, ADMIN_ID)
    app = {"domainid": ROOT_DOMAIN_ID, "username": "sis-sync-app", "firstname": "SIS sync"}
    app.update(lastname="Application", email="")
    entities.create_user(store, app, APP_ID)
    store.advance_ids(_FIRST_FREE_ID)


def _add_role(store: Store, item: dict[str, Any], entity_id: str | None = None) -> str:
    domain_id = as_id(item.get("domainid", ROOT_DOMAIN_ID), "domainid")
    store.get("domain", domain_id)
    unknown = set(item) - {"name", "domainid", "privileges", "entitytype", "reference"}
    if unknown or not item.get("name"):
        raise DlapError(
            "BadRequest", "a role has name, domainid, privileges, entitytype, reference"
        )
    entity_type = str(item.get("entitytype", ""))
    if entity_type not in ("", "C", "D"):
        raise DlapError("BadRequest", "entitytype must be 'C', 'D' or ''")
    record = {
        "name": str(item["name"]),
        "domainid": domain_id,
        "privileges": as_flag(item.get("privileges", 0), "privileges"),
        "entitytype": entity_type,
        "reference": str(item.get("reference", "")),
    }
    return store.add("role", record, entity_id)


def load_seed(seed: SeedData) -> Mapping[str, Any]:
    """The seed as a mapping, reading a JSON file when given a path."""
    if isinstance(seed, Mapping):
        return seed
    path = Path(seed)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Buzz seed file {path.name}: cannot read JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"Buzz seed file {path.name}: the top level must be an object")
    return data


def apply_seed(store: Store, seed: SeedData) -> None:
    """Add the entities of ``seed`` to ``store``.

    Raises:
        ConfigurationError: naming the section, the item's position and what was wrong.
    """
    data = load_seed(seed)
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigurationError(
            f"Buzz seed: unknown section(s) {', '.join(unknown)}; expected {', '.join(_SECTIONS)}"
        )
    deleted: list[tuple[str, str]] = []
    with store.lock:
        for section in _SECTIONS:
            items = data.get(section) or []
            if not isinstance(items, list):
                raise ConfigurationError(f"Buzz seed: {section} must be a list")
            for index, item in enumerate(items):
                try:
                    _seed_one(store, section, item, deleted)
                except DlapError as exc:
                    raise ConfigurationError(
                        f"Buzz seed: {section}[{index}]: {exc.message}"
                    ) from None
        for kind, entity_id in deleted:
            if not store.is_deleted(entity_id):
                entities.delete_entity(store, kind, entity_id)


def _split(item: Any, kind: str) -> tuple[dict[str, Any], str | None, bool]:
    if not isinstance(item, dict):
        raise DlapError("BadRequest", "each item must be a JSON object")
    fields = dict(item)
    # ``<kind>id`` is never a field of the kind's own create command, so it can alias ``id``.
    raw_id = fields.pop(f"{kind}id", fields.pop("id", None))
    entity_id = as_id(raw_id, "id") if raw_id not in (None, "") else None
    deleted = bool(fields.pop("deleted", False))
    return fields, entity_id, deleted


def _seed_one(store: Store, section: str, item: Any, deleted: list[tuple[str, str]]) -> None:
    if section == "rights":
        grant = BATCH["updaterights"][1]
        grant(Call("updaterights", {}, store), check_fields("updaterights", item))
        return
    if section == "grades":
        _seed_grade(store, item)
        return
    kind = _KIND.get(section, "role")
    fields, entity_id, is_deleted = _split(item, kind)
    if section == "roles":
        new_id = _add_role(store, fields, entity_id)
    elif section == "enrollments":
        new_id = _seed_enrollment(store, fields, entity_id)
    else:
        new_id = _seed_entity(store, section, fields, entity_id)
    if is_deleted:
        deleted.append((kind, new_id))


def _seed_entity(store: Store, section: str, fields: dict[str, Any], entity_id: str | None) -> str:
    if section == "domains":
        fields.setdefault("parentid", ROOT_DOMAIN_ID)
        return entities.create_domain(store, check_fields("createdomains", fields), entity_id)
    if section == "users":
        fields.setdefault("email", "")
        return entities.create_user(store, check_fields("createusers2", fields), entity_id)
    fields.setdefault("schema", 3)
    return entities.create_course(store, check_fields(_CREATE[section], fields), entity_id)


def _seed_enrollment(store: Store, fields: dict[str, Any], entity_id: str | None) -> str:
    if "courseid" in fields:
        fields.setdefault("entityid", fields.pop("courseid"))
    fields.setdefault("status", 1)
    checked = check_fields("createenrollments", fields)
    return entities.create_enrollment(store, checked, entity_id=entity_id)


def _seed_grade(store: Store, item: Any) -> None:
    if not isinstance(item, dict) or "enrollmentid" not in item:
        raise DlapError("BadRequest", "a grade needs enrollmentid")
    allowed = {"enrollmentid", "achieved", "possible", "letter", "itemid", "title"}
    unknown = set(item) - allowed - {"scoreddate", "status"}
    if unknown:
        raise DlapError("BadRequest", f"unknown grade field(s) {', '.join(sorted(unknown))}")
    set_grade(
        store,
        as_id(item["enrollmentid"], "enrollmentid"),
        item.get("achieved"),
        item.get("possible"),
        letter=item.get("letter"),
        itemid=item.get("itemid"),
        title=item.get("title"),
        scoreddate=item.get("scoreddate"),
        status=as_int(item.get("status", 0), "status"),
    )
