"""Resources service entity (OneRoster 1.1 data model section 5.9)."""

from __future__ import annotations

from oneroster_client.models.base import Record, model
from oneroster_client.models.enums import Importance, RoleType

__all__ = ["Resource"]


@model
class Resource(Record):
    """Learning content offered to a course or class (section 5.9)."""

    vendor_resource_id: str
    title: str | None = None
    roles: tuple[RoleType | str, ...] | None = None
    importance: Importance | str | None = None
    vendor_id: str | None = None
    application_id: str | None = None
