"""The served data: a district with indexes, and the 1.1 semantics of each read operation.

:class:`Store` keeps lazily built indexes over the district's wire dicts and rebuilds them
per collection after a write. :class:`Resolver` turns an operation and its path
parameters into records, following the relationships of the 1.1 data model (a class's
students are the users enrolled in it as students, a school's terms are its classes'
terms, and so on).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from oneroster_client.endpoints import Operation, operation
from oneroster_client.testing.district import COLLECTION_MODELS, District
from oneroster_client.testing.server.refusal import Refusal

__all__ = ["Resolver", "Store", "ref_ids"]


def ref_ids(value: Any) -> list[str]:
    """The sourcedIds a GUIDRef field (one or a list) points to."""
    if isinstance(value, dict):
        return [value["sourcedId"]] if "sourcedId" in value else []
    if isinstance(value, list):
        return [
            item["sourcedId"] for item in value if isinstance(item, dict) and "sourcedId" in item
        ]
    return []


class Store:
    """The district plus lazily built indexes, rebuilt per collection after writes."""

    def __init__(self, district: District) -> None:
        self.district = district
        self.lock = threading.RLock()
        self.versions = dict.fromkeys(COLLECTION_MODELS, 0)
        self._by_id: dict[str, tuple[int, dict[str, dict[str, Any]]]] = {}
        self._groups: dict[tuple[str, str], tuple[int, dict[str, list[dict[str, Any]]]]] = {}

    def rows(self, collection: str) -> list[dict[str, Any]]:
        """The stored wire dicts of ``collection``, in district order."""
        return self.district.collections[collection]

    def by_id(self, collection: str) -> dict[str, dict[str, Any]]:
        """The records of ``collection`` by sourcedId."""
        with self.lock:
            version = self.versions[collection]
            cached = self._by_id.get(collection)
            if cached is None or cached[0] != version:
                table = {row["sourcedId"]: row for row in self.rows(collection)}
                cached = (version, table)
                self._by_id[collection] = cached
            return cached[1]

    def group(self, collection: str, field: str) -> dict[str, list[dict[str, Any]]]:
        """Records of ``collection`` grouped by the sourcedId(s) their ``field`` points to."""
        with self.lock:
            version = self.versions[collection]
            cached = self._groups.get((collection, field))
            if cached is None or cached[0] != version:
                groups: dict[str, list[dict[str, Any]]] = {}
                for row in self.rows(collection):
                    for ref in ref_ids(row.get(field)):
                        groups.setdefault(ref, []).append(row)
                cached = (version, groups)
                self._groups[(collection, field)] = cached
            return cached[1]

    def subset(self, collection: str, field: str, value: str) -> list[dict[str, Any]]:
        """Records whose plain ``field`` equals ``value`` (schools, terms, students ...)."""
        with self.lock:
            version = self.versions[collection]
            key = (collection, "=" + field + "=" + value)
            cached = self._groups.get(key)
            if cached is None or cached[0] != version:
                cached = (version, {value: _typed(self.rows(collection), field, value)})
                self._groups[key] = cached
            return cached[1][value]

    def get(self, collection: str, sourced_id: str, what: str) -> dict[str, Any]:
        """One record; a 404 Refusal naming it as ``what`` when there is none."""
        row = self.by_id(collection).get(sourced_id)
        if row is None:
            raise Refusal(404, "unknown object", f"{what} {sourced_id} not found")
        return row

    def put(self, collection: str, record: dict[str, Any]) -> bool:
        """Insert or replace by sourcedId; return True when created."""
        with self.lock:
            table = self.by_id(collection)
            rows = self.rows(collection)
            existing = table.get(record["sourcedId"])
            if existing is None:
                rows.append(record)
            else:
                rows[rows.index(existing)] = record
            self.versions[collection] += 1
            return existing is None

    def delete(self, collection: str, sourced_id: str) -> bool:
        """Remove a record; return False when there was none."""
        with self.lock:
            existing = self.by_id(collection).get(sourced_id)
            if existing is None:
                return False
            self.rows(collection).remove(existing)
            self.versions[collection] += 1
            return True


def _typed(rows: Iterable[dict[str, Any]], field: str, value: str) -> list[dict[str, Any]]:
    return [row for row in rows if row.get(field) == value]


class Resolver:
    """Turns an operation and its path parameters into records, per the 1.1 semantics."""

    # Single-object operations on a typed subset: (collection, field, required value, noun).
    _SUBSETS: dict[str, tuple[str, str, str]] = {
        "schools": ("orgs", "type", "school"),
        "terms": ("academicSessions", "type", "term"),
        "gradingPeriods": ("academicSessions", "type", "gradingPeriod"),
        "students": ("users", "role", "student"),
        "teachers": ("users", "role", "teacher"),
    }

    def __init__(self, store: Store) -> None:
        self.store = store

    def collection_of(self, op: Operation) -> str:
        """The stored collection a single-record operation reads or writes."""
        first = op.path.split("/")[1]
        return self._SUBSETS[first][0] if first in self._SUBSETS else first

    def single(self, op: Operation, sourced_id: str) -> dict[str, Any]:
        """The record a single-record read names; 404 when absent or of another type."""
        first = op.path.split("/")[1]
        if first in self._SUBSETS:
            collection, field, value = self._SUBSETS[first]
            row = self.store.get(collection, sourced_id, value)
            if row.get(field) != value:
                raise Refusal(404, "unknown object", f"{value} {sourced_id} not found")
            return row
        return self.store.get(first, sourced_id, op.model.__name__)

    def many(self, op: Operation, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """The records a collection read lists, before filtering, sorting and paging."""
        handler = getattr(self, "_" + op.operation_id, None)
        if handler is not None:
            return handler(**params)  # type: ignore[no-any-return]
        first = op.path.split("/")[1]
        if first in self._SUBSETS:
            collection, field, value = self._SUBSETS[first]
            return self._cached_subset(collection, field, value)
        return self.store.rows(first)

    def _cached_subset(self, collection: str, field: str, value: str) -> list[dict[str, Any]]:
        return self.store.subset(collection, field, value)

    # Nested rostering collections.
    def _users_in_class(self, class_id: str, role: str) -> list[dict[str, Any]]:
        self.store.get("classes", class_id, "class")
        users = self.store.by_id("users")
        seen: dict[str, dict[str, Any]] = {}
        for enrollment in self.store.group("enrollments", "class").get(class_id, []):
            if enrollment.get("role") == role:
                for user_id in ref_ids(enrollment.get("user")):
                    if user_id in users:
                        seen.setdefault(user_id, users[user_id])
        return list(seen.values())

    def _classes_of_user(self, user_id: str, role: str | None) -> list[dict[str, Any]]:
        user = self.store.get("users", user_id, role or "user")
        if role is not None and user.get("role") != role:
            raise Refusal(404, "unknown object", f"{role} {user_id} not found")
        classes = self.store.by_id("classes")
        seen: dict[str, dict[str, Any]] = {}
        for enrollment in self.store.group("enrollments", "user").get(user_id, []):
            for class_id in ref_ids(enrollment.get("class")):
                if class_id in classes:
                    seen.setdefault(class_id, classes[class_id])
        return list(seen.values())

    def _class_in_school(self, school_id: str, class_id: str) -> None:
        self._school(school_id)
        row = self.store.get("classes", class_id, "class")
        if school_id not in ref_ids(row.get("school")):
            raise Refusal(404, "unknown object", f"class {class_id} not found in {school_id}")

    def _school(self, school_id: str) -> dict[str, Any]:
        row = self.store.get("orgs", school_id, "school")
        if row.get("type") != "school":
            raise Refusal(404, "unknown object", f"school {school_id} not found")
        return row

    def _getStudentsForClass(self, class_id: str) -> list[dict[str, Any]]:
        return self._users_in_class(class_id, "student")

    def _getTeachersForClass(self, class_id: str) -> list[dict[str, Any]]:
        return self._users_in_class(class_id, "teacher")

    def _getClassesForCourse(self, course_id: str) -> list[dict[str, Any]]:
        self.store.get("courses", course_id, "course")
        return self.store.group("classes", "course").get(course_id, [])

    def _getCoursesForSchool(self, school_id: str) -> list[dict[str, Any]]:
        self._school(school_id)
        return self.store.group("courses", "org").get(school_id, [])

    def _getClassesForSchool(self, school_id: str) -> list[dict[str, Any]]:
        self._school(school_id)
        return self.store.group("classes", "school").get(school_id, [])

    def _getEnrollmentsForSchool(self, school_id: str) -> list[dict[str, Any]]:
        self._school(school_id)
        return self.store.group("enrollments", "school").get(school_id, [])

    def _getEnrollmentsForClassInSchool(
        self, school_id: str, class_id: str
    ) -> list[dict[str, Any]]:
        self._class_in_school(school_id, class_id)
        return self.store.group("enrollments", "class").get(class_id, [])

    def _getStudentsForClassInSchool(self, school_id: str, class_id: str) -> list[dict[str, Any]]:
        self._class_in_school(school_id, class_id)
        return self._users_in_class(class_id, "student")

    def _getTeachersForClassInSchool(self, school_id: str, class_id: str) -> list[dict[str, Any]]:
        self._class_in_school(school_id, class_id)
        return self._users_in_class(class_id, "teacher")

    def _getStudentsForSchool(self, school_id: str) -> list[dict[str, Any]]:
        self._school(school_id)
        return _typed(self.store.group("users", "orgs").get(school_id, []), "role", "student")

    def _getTeachersForSchool(self, school_id: str) -> list[dict[str, Any]]:
        self._school(school_id)
        return _typed(self.store.group("users", "orgs").get(school_id, []), "role", "teacher")

    def _getTermsForSchool(self, school_id: str) -> list[dict[str, Any]]:
        # Sessions are not linked to schools in 1.1: a school's terms are its classes' terms.
        self._school(school_id)
        sessions = self.store.by_id("academicSessions")
        seen: dict[str, dict[str, Any]] = {}
        for row in self.store.group("classes", "school").get(school_id, []):
            for term_id in ref_ids(row.get("terms")):
                term = sessions.get(term_id)
                if term is not None and term.get("type") == "term":
                    seen.setdefault(term_id, term)
        return list(seen.values())

    def _getClassesForStudent(self, student_id: str) -> list[dict[str, Any]]:
        return self._classes_of_user(student_id, "student")

    def _getClassesForTeacher(self, teacher_id: str) -> list[dict[str, Any]]:
        return self._classes_of_user(teacher_id, "teacher")

    def _getClassesForUser(self, user_id: str) -> list[dict[str, Any]]:
        return self._classes_of_user(user_id, None)

    def _getClassesForTerm(self, term_id: str) -> list[dict[str, Any]]:
        self.single(operation("getTerm"), term_id)
        return self.store.group("classes", "terms").get(term_id, [])

    def _getGradingPeriodsForTerm(self, term_id: str) -> list[dict[str, Any]]:
        self.single(operation("getTerm"), term_id)
        children = self.store.group("academicSessions", "parent").get(term_id, [])
        return _typed(children, "type", "gradingPeriod")

    # Resources.
    def _resources_of(self, collection: str, owner_id: str, noun: str) -> list[dict[str, Any]]:
        owner = self.store.get(collection, owner_id, noun)
        resources = self.store.by_id("resources")
        return [resources[ref] for ref in ref_ids(owner.get("resources")) if ref in resources]

    def _getResourcesForCourse(self, course_id: str) -> list[dict[str, Any]]:
        return self._resources_of("courses", course_id, "course")

    def _getResourcesForClass(self, class_id: str) -> list[dict[str, Any]]:
        return self._resources_of("classes", class_id, "class")

    # Gradebook.
    def _getLineItemsForClass(self, class_id: str) -> list[dict[str, Any]]:
        self.store.get("classes", class_id, "class")
        return self.store.group("lineItems", "class").get(class_id, [])

    def _getResultsForClass(self, class_id: str) -> list[dict[str, Any]]:
        by_line_item = self.store.group("results", "lineItem")
        found: list[dict[str, Any]] = []
        for line_item in self._getLineItemsForClass(class_id):
            found.extend(by_line_item.get(line_item["sourcedId"], []))
        return found

    def _getResultsForLineItemForClass(
        self, class_id: str, line_item_id: str
    ) -> list[dict[str, Any]]:
        self.store.get("classes", class_id, "class")
        line_item = self.store.get("lineItems", line_item_id, "lineItem")
        if class_id not in ref_ids(line_item.get("class")):
            raise Refusal(404, "unknown object", f"lineItem {line_item_id} not in {class_id}")
        return self.store.group("results", "lineItem").get(line_item_id, [])

    def _getResultsForStudentForClass(self, class_id: str, student_id: str) -> list[dict[str, Any]]:
        self.store.get("users", student_id, "student")
        return [
            row
            for row in self._getResultsForClass(class_id)
            if student_id in ref_ids(row.get("student"))
        ]
