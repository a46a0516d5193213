"""The files and columns of a OneRoster 1.1 CSV package, as data (CSV binding, section 10).

Each file is a :class:`FileSpec`: its columns in the binding's order, the model its rows
are read into, the columns a row cannot do without, and the 1.0-era header spellings
that are mapped to a 1.1 column when the 1.1 column is not also present.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Literal

import attrs

from oneroster_client._naming import to_python_name
from oneroster_client.models import (
    COLLECTION_MODELS,
    AcademicSession,
    Category,
    Class,
    Course,
    Demographics,
    Enrollment,
    LineItem,
    Org,
    Record,
    Resource,
    Result,
    User,
)

__all__ = [
    "COLLECTIONS",
    "FILE_COLUMNS",
    "LINKS",
    "MANIFEST",
    "SPECS",
    "Column",
    "FileMode",
    "FileSpec",
]

FileMode = Literal["bulk", "delta", "absent"]
"""How the manifest says a file is provided (``absent`` also when the file is missing)."""

COLLECTIONS: Final[tuple[str, ...]] = tuple(COLLECTION_MODELS)
"""The REST collection names a package is read into and written from."""

MANIFEST: Final = "manifest.csv"
MANIFEST_VERSION: Final = "1.0"
ONEROSTER_VERSION: Final = "1.1"
DEFAULT_SYSTEM_NAME: Final = "oneroster-client"

# Column kinds: how a cell maps to a wire value.
PLAIN, REF, REFS, LIST, USER_IDS = range(5)


@attrs.frozen
class Column:
    """One column: its CSV name, the wire field it fills, and how a cell maps to it.

    Attributes:
        name: the 1.1 header, e.g. ``orgSourcedIds``.
        wire: the JSON field, e.g. ``orgs``.
        kind: ``PLAIN`` (the cell as is), ``REF`` (one sourcedId), ``REFS`` (a
            comma-separated list of sourcedIds), ``LIST`` (a comma-separated list) or
            ``USER_IDS`` (``{type:identifier}`` tokens).
        ref_type: the GUIDRef ``type`` of a ``REF``/``REFS`` column.
    """

    name: str
    wire: str = ""
    kind: int = PLAIN
    ref_type: str = ""


@attrs.frozen
class FileSpec:
    """One file of the package; ``model`` is ``None`` for the two resource link files."""

    name: str
    columns: tuple[Column, ...]
    model: type[Record] | None
    required: tuple[str, ...] = ()
    aliases: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def filename(self) -> str:
        """The file name, e.g. ``users.csv``."""
        return f"{self.name}.csv"


def _c(name: str, wire: str | None = None, kind: int = PLAIN, ref_type: str = "") -> Column:
    return Column(name, wire if wire is not None else name, kind, ref_type)


_BASE = (_c("sourcedId"), _c("status"), _c("dateLastModified"))


def _spec(
    name: str,
    model: type[Record] | None,
    columns: Sequence[Column],
    required: Sequence[str] = (),
    aliases: Mapping[str, str] | None = None,
) -> FileSpec:
    return FileSpec(name, (*_BASE, *columns), model, tuple(required), dict(aliases or {}))


# File order is the manifest order of section 10. Required columns are those of the CSV
# binding plus the fields the model requires (without them every row would fail anyway).
SPECS: Final[dict[str, FileSpec]] = {
    spec.name: spec
    for spec in (
        _spec(
            "academicSessions",
            AcademicSession,
            [
                _c("title"),
                _c("type"),
                _c("startDate"),
                _c("endDate"),
                _c("parentSourcedId", "parent", REF, "academicSession"),
                _c("schoolYear"),
            ],
            ["title", "type", "startDate", "endDate", "schoolYear"],
        ),
        _spec("categories", Category, [_c("title")], ["title"]),
        _spec(
            "classes",
            Class,
            [
                _c("title"),
                _c("grades", kind=LIST),
                _c("courseSourcedId", "course", REF, "course"),
                _c("classCode"),
                _c("classType"),
                _c("location"),
                _c("schoolSourcedId", "school", REF, "org"),
                _c("termSourcedIds", "terms", REFS, "academicSession"),
                _c("subjects", kind=LIST),
                _c("subjectCodes", kind=LIST),
                _c("periods", kind=LIST),
            ],
            ["title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds"],
            {"grade": "grades"},
        ),
        _spec(
            "classResources",
            None,
            [_c("title"), _c("classSourcedId"), _c("resourceSourcedId")],
            ["classSourcedId", "resourceSourcedId"],
        ),
        _spec(
            "courses",
            Course,
            [
                _c("schoolYearSourcedId", "schoolYear", REF, "academicSession"),
                _c("title"),
                _c("courseCode"),
                _c("grades", kind=LIST),
                _c("orgSourcedId", "org", REF, "org"),
                _c("subjects", kind=LIST),
                _c("subjectCodes", kind=LIST),
            ],
            ["title", "orgSourcedId"],
            {"grade": "grades", "schoolyearid": "schoolYearSourcedId"},
        ),
        _spec(
            "courseResources",
            None,
            [_c("title"), _c("courseSourcedId"), _c("resourceSourcedId")],
            ["courseSourcedId", "resourceSourcedId"],
        ),
        _spec(
            "demographics",
            Demographics,
            [
                _c("birthDate"),
                _c("sex"),
                _c("americanIndianOrAlaskaNative"),
                _c("asian"),
                _c("blackOrAfricanAmerican"),
                _c("nativeHawaiianOrOtherPacificIslander"),
                _c("white"),
                _c("demographicRaceTwoOrMoreRaces"),
                _c("hispanicOrLatinoEthnicity"),
                _c("countryOfBirthCode"),
                _c("stateOfBirthAbbreviation"),
                _c("cityOfBirth"),
                _c("publicSchoolResidenceStatus"),
            ],
            aliases={"usersourcedid": "sourcedId"},
        ),
        _spec(
            "enrollments",
            Enrollment,
            [
                _c("classSourcedId", "class", REF, "class"),
                _c("schoolSourcedId", "school", REF, "org"),
                _c("userSourcedId", "user", REF, "user"),
                _c("role"),
                _c("primary"),
                _c("beginDate"),
                _c("endDate"),
            ],
            ["classSourcedId", "schoolSourcedId", "userSourcedId", "role"],
        ),
        _spec(
            "lineItems",
            LineItem,
            [
                _c("title"),
                _c("description"),
                _c("assignDate"),
                _c("dueDate"),
                _c("classSourcedId", "class", REF, "class"),
                _c("categorySourcedId", "category", REF, "category"),
                _c("gradingPeriodSourcedId", "gradingPeriod", REF, "academicSession"),
                _c("resultValueMin"),
                _c("resultValueMax"),
            ],
            [
                "title",
                "assignDate",
                "dueDate",
                "classSourcedId",
                "resultValueMin",
                "resultValueMax",
            ],
        ),
        _spec(
            "orgs",
            Org,
            [
                _c("name"),
                _c("type"),
                _c("identifier"),
                _c("parentSourcedId", "parent", REF, "org"),
            ],
            ["name", "type"],
        ),
        _spec(
            "resources",
            Resource,
            [
                _c("vendorResourceId"),
                _c("title"),
                _c("roles", kind=LIST),
                _c("importance"),
                _c("vendorId"),
                _c("applicationId"),
            ],
            ["vendorResourceId"],
        ),
        _spec(
            "results",
            Result,
            [
                _c("lineItemSourcedId", "lineItem", REF, "lineItem"),
                _c("studentSourcedId", "student", REF, "user"),
                _c("scoreStatus"),
                _c("score"),
                _c("scoreDate"),
                _c("comment"),
            ],
            ["lineItemSourcedId", "studentSourcedId", "scoreStatus"],
        ),
        _spec(
            "users",
            User,
            [
                _c("enabledUser"),
                _c("orgSourcedIds", "orgs", REFS, "org"),
                _c("role"),
                _c("username"),
                _c("userIds", kind=USER_IDS),
                _c("givenName"),
                _c("familyName"),
                _c("middleName"),
                _c("identifier"),
                _c("email"),
                _c("sms"),
                _c("phone"),
                _c("agentSourcedIds", "agents", REFS, "user"),
                _c("grades", kind=LIST),
                _c("password"),
            ],
            ["enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName"],
            {"userid": "userIds", "agents": "agentSourcedIds"},
        ),
    )
}

FILE_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    spec.filename: tuple(column.name for column in spec.columns) for spec in SPECS.values()
}
"""The 13 data files of a 1.1 package and their columns, in the order the binding defines."""

# Course and class resources live in link files: collection -> (link file, owner column).
LINKS: Final[dict[str, tuple[str, str]]] = {
    "courses": ("courseResources", "courseSourcedId"),
    "classes": ("classResources", "classSourcedId"),
}

# Attribute name -> CSV column, per file (to know which enum attributes a file can set).
ATTRIBUTE_COLUMNS: Final[dict[str, dict[str, str]]] = {
    spec.name: {to_python_name(column.wire): column.name for column in spec.columns}
    for spec in SPECS.values()
}

# Lower-cased column names per file: a vendor field must not be written under one of them.
RESERVED: Final[dict[str, frozenset[str]]] = {
    spec.name: frozenset(column.name.lower() for column in spec.columns) for spec in SPECS.values()
}

PACKAGE_FILES: Final[frozenset[str]] = frozenset(
    {spec.filename.lower() for spec in SPECS.values()} | {MANIFEST}
)
"""Lower-cased names of the 14 files a package may hold (13 data files and the manifest)."""
