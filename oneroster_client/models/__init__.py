"""Typed OneRoster 1.1 models.

Every entity is an attrs class with ``Model.from_dict(data)`` and ``obj.to_dict()``::

    >>> from oneroster_client.models import User
    >>> user = User.from_dict({"sourcedId": "u-1", "status": "active",
    ...     "dateLastModified": "2024-05-01T18:25:43.511Z", "username": "jdoe",
    ...     "enabledUser": "true", "givenName": "Jane", "familyName": "Doe",
    ...     "role": "student", "orgs": [{"sourcedId": "sch-1", "type": "org"}]})
    >>> user.enabled_user
    True
"""

from oneroster_client.models.base import GUIDRef, Record, UserId, WireObject
from oneroster_client.models.enums import (
    ClassType,
    Gender,
    GUIDType,
    Importance,
    OrgType,
    RoleType,
    ScoreStatus,
    SessionType,
    StatusType,
    WireEnum,
)
from oneroster_client.models.gradebook import Category, LineItem, Result
from oneroster_client.models.resources import Resource
from oneroster_client.models.rostering import (
    SEX_AND_RACE_FIELDS,
    AcademicSession,
    Class,
    Course,
    Demographics,
    Enrollment,
    Org,
    User,
)

COLLECTION_MODELS: dict[str, type[Record]] = {
    "orgs": Org,
    "academicSessions": AcademicSession,
    "courses": Course,
    "classes": Class,
    "users": User,
    "enrollments": Enrollment,
    "demographics": Demographics,
    "categories": Category,
    "lineItems": LineItem,
    "results": Result,
    "resources": Resource,
}
"""Each OneRoster entity collection (REST name, also the CSV file stem) and its model."""

ENTITY_MODELS: tuple[type[Record], ...] = tuple(COLLECTION_MODELS.values())
"""The eleven top-level entity models (everything with a sourcedId of its own)."""

__all__ = [
    "COLLECTION_MODELS",
    "ENTITY_MODELS",
    "SEX_AND_RACE_FIELDS",
    "AcademicSession",
    "Category",
    "Class",
    "ClassType",
    "Course",
    "Demographics",
    "Enrollment",
    "GUIDRef",
    "GUIDType",
    "Gender",
    "Importance",
    "LineItem",
    "Org",
    "OrgType",
    "Record",
    "Resource",
    "Result",
    "RoleType",
    "ScoreStatus",
    "SessionType",
    "StatusType",
    "User",
    "UserId",
    "WireEnum",
    "WireObject",
]
