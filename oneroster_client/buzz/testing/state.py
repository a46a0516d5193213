"""The loopback Buzz server's store: entities by numeric id, soft deletes, domain tree.

Every entity (domain, user, course, enrollment, role) draws its id from one counter, as
Buzz ids are unique across entity types (``updaterights`` takes any of them as
``entityid``). Records are plain dicts holding DLAP field names; ``id`` is the Buzz id
as a string. A soft delete remembers which delete took the record, so that restoring the
entity a cascade started from brings back what that cascade removed.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

__all__ = ["KINDS", "ROOT_DOMAIN_ID", "DlapError", "Store", "now_iso"]

KINDS = ("domain", "user", "course", "enrollment", "role")
ROOT_DOMAIN_ID = "1"
"""The id of the root domain every server starts with."""


class DlapError(Exception):
    """A DLAP failure: answered as ``{"response": {"code": code, "message": ...}}``.

    Messages name ids and fields, never passwords or personal values.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def now_iso() -> str:
    """The current time as Buzz writes it (ISO-8601 UTC with milliseconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def id_key(entity_id: str) -> int:
    """Numeric sort key of a Buzz id."""
    return int(entity_id)


class Store:
    """Entities by kind and id, soft-delete marks, rights, grades and passwords."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.kind_of: dict[str, str] = {}
        self.deleted_by: dict[str, str] = {}
        self.rights: dict[tuple[str, str], dict[str, Any]] = {}
        self.grades: dict[str, dict[str, Any]] = {}
        self.passwords: dict[str, str] = {}
        # Usernames (case-folded) -> user ids, deleted ones included: uniqueness checks
        # stay fast on large seeded districts.
        self._usernames: dict[str, set[str]] = {}
        # (userid, entityid) -> enrollment ids, deleted ones included, for duplicate checks.
        self._pairs: dict[tuple[str, str], set[str]] = {}
        self._next_id = 100

    # --- ids and records ---------------------------------------------------------------

    def new_id(self) -> str:
        """A fresh numeric id."""
        with self.lock:
            self._next_id += 1
            return str(self._next_id)

    def advance_ids(self, floor: int) -> None:
        """Make new ids start above ``floor``."""
        with self.lock:
            self._next_id = max(self._next_id, floor)

    def add(self, kind: str, record: dict[str, Any], entity_id: str | None = None) -> str:
        """Store ``record`` under ``entity_id`` (or a new id); fills guid, dates, version."""
        with self.lock:
            if entity_id is None:
                entity_id = self.new_id()
            elif entity_id in self.kind_of:
                raise DlapError("BadRequest", f"Id {entity_id} is already in use")
            else:
                self._next_id = max(self._next_id, id_key(entity_id))
            stamp = now_iso()
            record.update(id=entity_id, version=1)
            record.setdefault("guid", str(uuid.uuid4()))
            record.setdefault("creationdate", stamp)
            record["modifieddate"] = stamp
            self.records[kind][entity_id] = record
            self.kind_of[entity_id] = kind
            return entity_id

    def touch(self, record: dict[str, Any]) -> None:
        """Mark ``record`` changed: new modified date, next version."""
        record["modifieddate"] = now_iso()
        record["version"] = int(record.get("version", 0)) + 1

    def get(self, kind: str, entity_id: Any, *, deleted: bool = False) -> dict[str, Any]:
        """The live record (or, with ``deleted``, the deleted one) of ``kind`` by id.

        Raises:
            DlapError: ``DoesNotExist`` when there is no such record in that state.
        """
        key = str(entity_id).strip()
        record = self.records[kind].get(key)
        if record is None or (key in self.deleted_by) != deleted:
            state = "deleted " if deleted else ""
            raise DlapError("DoesNotExist", f"No {state}{kind} with id {key or '(empty)'}")
        return record

    def is_deleted(self, entity_id: str) -> bool:
        """Whether ``entity_id`` is soft-deleted."""
        return entity_id in self.deleted_by

    def rows(self, kind: str, show: str = "current") -> list[dict[str, Any]]:
        """Records of ``kind`` in ascending numeric id order, filtered by ``show``.

        ``show`` is ``current``/``active`` (not deleted), ``deleted`` or ``all``.
        """
        with self.lock:
            found = sorted(self.records[kind].values(), key=lambda r: id_key(r["id"]))
        if show == "all":
            return found
        want_deleted = show == "deleted"
        return [r for r in found if (r["id"] in self.deleted_by) == want_deleted]

    def users_named(self, username: str) -> list[dict[str, Any]]:
        """Users (deleted ones included) whose username equals ``username`` ignoring case."""
        ids = self._usernames.get(username.casefold(), set())
        return [self.records["user"][user_id] for user_id in sorted(ids, key=id_key)]

    def index_username(self, user_id: str, old: str | None, new: str) -> None:
        """Record that ``user_id`` is now called ``new`` (formerly ``old``)."""
        with self.lock:
            if old is not None:
                self._usernames.get(old.casefold(), set()).discard(user_id)
            self._usernames.setdefault(new.casefold(), set()).add(user_id)

    def enrollments_of(self, user_id: str, course_id: str) -> list[dict[str, Any]]:
        """Enrollments (deleted ones included) of one user in one course."""
        ids = self._pairs.get((user_id, course_id), set())
        return [self.records["enrollment"][e] for e in sorted(ids, key=id_key)]

    def index_enrollment(
        self, enrollment_id: str, old: tuple[str, str] | None, new: tuple[str, str]
    ) -> None:
        """Record that an enrollment now joins ``new`` (user, course), formerly ``old``."""
        with self.lock:
            if old is not None:
                self._pairs.get(old, set()).discard(enrollment_id)
            self._pairs.setdefault(new, set()).add(enrollment_id)

    # --- soft deletes ------------------------------------------------------------------

    def soft_delete(self, ids: Iterable[str], cause: str) -> None:
        """Mark ``ids`` deleted by the delete of ``cause`` (already-deleted ids are kept)."""
        with self.lock:
            for entity_id in ids:
                self.deleted_by.setdefault(entity_id, cause)

    def restore(self, cause: str) -> list[str]:
        """Undo the delete of ``cause`` and everything its cascade took; the restored ids."""
        with self.lock:
            ids = [i for i, c in self.deleted_by.items() if c == cause]
            for entity_id in ids:
                del self.deleted_by[entity_id]
            return ids

    # --- the domain tree ---------------------------------------------------------------

    def child_domains(self, domain_id: str) -> Iterator[dict[str, Any]]:
        """Direct subdomains of ``domain_id`` (deleted ones included)."""
        for record in self.records["domain"].values():
            if record.get("parentid") == domain_id and record["id"] != domain_id:
                yield record

    def domain_and_descendants(self, domain_id: str) -> list[str]:
        """``domain_id`` and every domain below it."""
        found = [domain_id]
        index = 0
        while index < len(found):
            found.extend(d["id"] for d in self.child_domains(found[index]) if d["id"] not in found)
            index += 1
        return found

    def ancestors(self, domain_id: str) -> list[str]:
        """``domain_id`` and the domains above it, nearest first."""
        chain: list[str] = []
        current: str | None = domain_id
        while current is not None and current not in chain:
            record = self.records["domain"].get(current)
            if record is None:
                break
            chain.append(current)
            current = record.get("parentid")
        return chain

    def userspace_of(self, domain_id: str) -> str:
        """The userspace of a domain ("" when unknown)."""
        record = self.records["domain"].get(domain_id)
        return str(record.get("userspace", "")) if record else ""
