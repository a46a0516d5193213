"""OneRoster 1.1 CSV binding: read and write bulk and delta CSV packages as typed models.

A package is a folder or a zip holding ``manifest.csv`` and up to 14 CSV files (section 10
of the OneRoster 1.1 CSV tables). :func:`write_package` streams records into such a
package; :func:`read_package` opens one and :meth:`CsvPackage.iter_records` streams its
rows back as models, built by :func:`oneroster_client.converter.structure` so that the
CSV reader shares every tolerance rule of the JSON reader.

Reading is tolerant and never silent:

* UTF-8 with or without a BOM; a line that is not valid UTF-8 is decoded as Windows-1252
  and reported as a warning;
* header names are matched case-insensitively after trimming; the 1.0-era spellings seen
  in real exports (``grade``, ``schoolYearId``, ``userId``, ``agents``, demographics'
  ``userSourcedId``) are mapped when the 1.1 column is not also present;
* ``metadata.<key>`` columns go to ``metadata``; any other unknown column (``ext_vendor_x``)
  goes to the model's ``extra`` under its header name, as a string;
* blank lines are skipped; a row with the wrong number of cells, a bad value, or a
  sourcedId already read is reported as a :class:`CsvRowError` (file, line, column) and
  the rows around it are still read;
* unknown enumeration values are kept as strings and reported as :class:`CsvWarning`.

Writing is exact: columns in the 1.1 order, ``true``/``false``, lists comma-joined in one
cell, ``{type:identifier}`` user ids, the converter's date formats. ``Course.resources``
and ``Class.resources`` become rows of ``courseResources.csv`` and ``classResources.csv``
and are merged back on reading, so a written package reads back to equal models.

What the CSV binding cannot carry: a GUIDRef's ``href`` (reading sets ``type`` from the
column, e.g. ``org`` for ``orgSourcedIds``), ``Org.children`` and
``AcademicSession.children`` (derived from ``parentSourcedId``), an empty string or empty
list (both read back as ``None``), non-string ``metadata``/``extra`` values (written as
text, read back as strings), and the own sourcedId, status and title of a link row (link
rows are written with ids ``<owner>-<resource>`` and the owner's status).
"""

from __future__ import annotations

import abc
import contextlib
import csv
import enum
import io
import json
import os
import re
import shutil
import sys
import tempfile
import typing
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Final, Literal, overload

import attrs

from oneroster_client import converter
from oneroster_client._naming import to_python_name
from oneroster_client.errors import OneRosterError, RecordValidationError
from oneroster_client.models import (
    COLLECTION_MODELS,
    AcademicSession,
    Category,
    Class,
    Course,
    Demographics,
    Enrollment,
    GUIDRef,
    GUIDType,
    LineItem,
    Org,
    Record,
    Resource,
    Result,
    User,
    WireEnum,
)

__all__ = [
    "COLLECTIONS",
    "FILE_COLUMNS",
    "CsvPackage",
    "CsvPackageError",
    "CsvRowError",
    "CsvWarning",
    "FileMode",
    "read_package",
    "write_package",
]

FileMode = Literal["bulk", "delta", "absent"]
"""How the manifest says a file is provided (``absent`` also when the file is missing)."""

COLLECTIONS: Final[tuple[str, ...]] = tuple(COLLECTION_MODELS)
"""The REST collection names a package is read into and written from."""

_MANIFEST = "manifest.csv"
_MANIFEST_VERSION = "1.0"
_ONEROSTER_VERSION = "1.1"
_DEFAULT_SYSTEM_NAME = "oneroster-client"

# Column kinds: how a cell maps to a wire value.
_PLAIN, _REF, _REFS, _LIST, _USER_IDS = range(5)


@attrs.frozen
class _Column:
    name: str
    wire: str = ""
    kind: int = _PLAIN
    ref_type: str = ""


@attrs.frozen
class _FileSpec:
    name: str
    columns: tuple[_Column, ...]
    model: type[Record] | None
    required: tuple[str, ...] = ()
    aliases: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"


def _c(name: str, wire: str | None = None, kind: int = _PLAIN, ref_type: str = "") -> _Column:
    return _Column(name, wire if wire is not None else name, kind, ref_type)


_BASE = (_c("sourcedId"), _c("status"), _c("dateLastModified"))


def _spec(
    name: str,
    model: type[Record] | None,
    columns: Sequence[_Column],
    required: Sequence[str] = (),
    aliases: Mapping[str, str] | None = None,
) -> _FileSpec:
    return _FileSpec(name, (*_BASE, *columns), model, tuple(required), dict(aliases or {}))


# File order is the manifest order of section 10. Required columns are those of the CSV
# binding plus the fields the model requires (without them every row would fail anyway).
_SPECS: Final[dict[str, _FileSpec]] = {
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
                _c("parentSourcedId", "parent", _REF, "academicSession"),
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
                _c("grades", kind=_LIST),
                _c("courseSourcedId", "course", _REF, "course"),
                _c("classCode"),
                _c("classType"),
                _c("location"),
                _c("schoolSourcedId", "school", _REF, "org"),
                _c("termSourcedIds", "terms", _REFS, "academicSession"),
                _c("subjects", kind=_LIST),
                _c("subjectCodes", kind=_LIST),
                _c("periods", kind=_LIST),
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
                _c("schoolYearSourcedId", "schoolYear", _REF, "academicSession"),
                _c("title"),
                _c("courseCode"),
                _c("grades", kind=_LIST),
                _c("orgSourcedId", "org", _REF, "org"),
                _c("subjects", kind=_LIST),
                _c("subjectCodes", kind=_LIST),
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
                _c("classSourcedId", "class", _REF, "class"),
                _c("schoolSourcedId", "school", _REF, "org"),
                _c("userSourcedId", "user", _REF, "user"),
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
                _c("classSourcedId", "class", _REF, "class"),
                _c("categorySourcedId", "category", _REF, "category"),
                _c("gradingPeriodSourcedId", "gradingPeriod", _REF, "academicSession"),
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
                _c("parentSourcedId", "parent", _REF, "org"),
            ],
            ["name", "type"],
        ),
        _spec(
            "resources",
            Resource,
            [
                _c("vendorResourceId"),
                _c("title"),
                _c("roles", kind=_LIST),
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
                _c("lineItemSourcedId", "lineItem", _REF, "lineItem"),
                _c("studentSourcedId", "student", _REF, "user"),
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
                _c("orgSourcedIds", "orgs", _REFS, "org"),
                _c("role"),
                _c("username"),
                _c("userIds", kind=_USER_IDS),
                _c("givenName"),
                _c("familyName"),
                _c("middleName"),
                _c("identifier"),
                _c("email"),
                _c("sms"),
                _c("phone"),
                _c("agentSourcedIds", "agents", _REFS, "user"),
                _c("grades", kind=_LIST),
                _c("password"),
            ],
            ["enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName"],
            {"userid": "userIds", "agents": "agentSourcedIds"},
        ),
    )
}

FILE_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    spec.filename: tuple(column.name for column in spec.columns) for spec in _SPECS.values()
}
"""The 14 files of a 1.1 package and their columns, in the order the binding defines."""

# Course and class resources live in link files: collection -> (link file, owner column).
_LINKS: Final[dict[str, tuple[str, str]]] = {
    "courses": ("courseResources", "courseSourcedId"),
    "classes": ("classResources", "classSourcedId"),
}

_USER_ID_TOKEN = re.compile(r"\{([^{}:]*):([^{}]*)\}")


# --- public result types -----------------------------------------------------------------


class CsvPackageError(OneRosterError, ValueError):
    """A package that cannot be read at all: no manifest, or not a folder or zip file."""


@attrs.frozen(kw_only=True)
class CsvRowError:
    """A row (or a whole file) that could not be read; the rest of the package still is.

    Attributes:
        file: the file name, e.g. ``"users.csv"``.
        line: the 1-based physical line where the row starts (the header is line 1), or
            ``None`` for a problem with the whole file.
        column: the 1.1 column name (or the header as written, for unknown columns), or
            ``None`` when the row as a whole is wrong.
        sourced_id: the row's sourcedId when it could be read.
        message: e.g. ``"users.csv line 7, column enabledUser: expected a boolean, got
            'maybe'"``.
        raw: the row's cells by column name; left out of ``repr`` (may hold personal data).
    """

    file: str
    line: int | None
    column: str | None
    message: str
    sourced_id: str | None = None
    raw: dict[str, str] = attrs.field(factory=dict, repr=False)

    def __str__(self) -> str:
        return self.message


@attrs.frozen(kw_only=True)
class CsvWarning:
    """Something read although not as the 1.1 binding says (unknown enum value, encoding...).

    Attributes:
        file: the file name.
        line: the 1-based physical line, or ``None`` for the whole file.
        column: the column concerned, if any.
        sourced_id: the row's sourcedId, if any.
        message: what was found and what was done with it.
    """

    file: str
    line: int | None
    column: str | None
    message: str
    sourced_id: str | None = None

    def __str__(self) -> str:
        return self.message


def _where(file: str, line: int | None, column: str | None) -> str:
    text = file if line is None else f"{file} line {line}"
    return f"{text}, column {column}" if column else text


def _error(
    file: str,
    line: int | None,
    column: str | None,
    reason: str,
    *,
    sourced_id: str | None = None,
    raw: dict[str, str] | None = None,
) -> CsvRowError:
    return CsvRowError(
        file=file,
        line=line,
        column=column,
        message=f"{_where(file, line, column)}: {reason}",
        sourced_id=sourced_id,
        raw=raw if raw is not None else {},
    )


def _warning(
    file: str, line: int | None, column: str | None, reason: str, sourced_id: str | None = None
) -> CsvWarning:
    return CsvWarning(
        file=file,
        line=line,
        column=column,
        message=f"{_where(file, line, column)}: {reason}",
        sourced_id=sourced_id,
    )


# --- low-level reading -------------------------------------------------------------------


def _decoded_lines(binary: IO[bytes], file: str, warnings: list[CsvWarning]) -> Iterator[str]:
    """Yield the physical lines of ``binary`` as text: UTF-8 (BOM dropped), else cp1252."""
    fallback_reported = False
    for number, raw in enumerate(binary, 1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            # Decoding line by line keeps reading streaming; spreadsheet exports on Windows
            # are the usual source of such bytes.
            if not fallback_reported:
                fallback_reported = True
                warnings.append(
                    _warning(
                        file,
                        number,
                        None,
                        "not valid UTF-8; this line and any later such lines were read as"
                        " Windows-1252",
                    )
                )
            try:
                yield raw.decode("cp1252")
            except UnicodeDecodeError:
                yield raw.decode("latin-1")  # the five bytes cp1252 leaves undefined


def _read_rows(
    binary: IO[bytes], file: str, warnings: list[CsvWarning], errors: list[CsvRowError]
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(start line, cells)`` for every non-empty CSV record of ``binary``."""
    reader = csv.reader(_decoded_lines(binary, file, warnings))
    previous_end = 0
    try:
        for cells in reader:
            start = previous_end + 1
            previous_end = reader.line_num  # a quoted cell may span several physical lines
            if cells:
                yield start, cells
    except csv.Error as exc:  # e.g. a cell over the csv module's field size limit
        errors.append(
            _error(file, previous_end + 1, None, f"{exc}; the rest of the file was not read")
        )


def _replace(record: Record, **changes: Any) -> Record:
    return attrs.evolve(record, **changes)


def _is_blank(cells: Sequence[str]) -> bool:
    return not "".join(cells).strip()


def _split(text: str) -> list[str]:
    return [part for part in (piece.strip() for piece in text.split(",")) if part]


def _has_value(text: str) -> bool:
    return bool(text) and not text.isspace()


class _CellError(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _parse_user_ids(text: str, column: str, notes: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Read ``{type:identifier}`` tokens; bare ``type:identifier`` or ``identifier`` too."""
    found = [
        {"type": kind.strip(), "identifier": ident.strip()}
        for kind, ident in _USER_ID_TOKEN.findall(text)
    ]
    bare = _split(_USER_ID_TOKEN.sub("", text))
    if bare:
        if any(ch in piece for piece in bare for ch in "{}"):
            raise _CellError(
                column,
                "expected {type:identifier} tokens separated by commas"
                f" (a {len(text)}-character value, hidden: personal data)",
            )
        for piece in bare:
            kind, colon, ident = piece.partition(":")
            if not colon:
                kind, ident = "", piece
            found.append({"type": kind.strip(), "identifier": ident.strip()})
        notes.append(
            (
                column,
                f"{len(bare)} user id(s) not written as {{type:identifier}};"
                " read with the text before ':' (or nothing) as the type",
            )
        )
    return found


def _enum_attributes(model: type[Record]) -> dict[str, bool]:
    """Attribute -> is-a-tuple, for the fields of ``model`` that hold a vocabulary."""
    found: dict[str, bool] = {}
    hints = typing.get_type_hints(model)
    for field in attrs.fields(model):
        hint = hints[field.name]
        sequence = typing.get_origin(hint) is tuple
        if not sequence:
            tuple_args = [a for a in typing.get_args(hint) if typing.get_origin(a) is tuple]
            if tuple_args:
                hint, sequence = tuple_args[0], True
        if sequence:
            hint = typing.get_args(hint)[0]
        members = typing.get_args(hint) or (hint,)
        if any(isinstance(m, type) and issubclass(m, WireEnum) for m in members):
            found[field.name] = sequence
    return found


@attrs.define
class _Plan:
    """A file's header compiled into index lists, so that a row is mapped with few steps."""

    file: str
    headers: list[str]
    width: int
    sourced_id: int
    status: int | None
    date_last_modified: int | None
    plain: tuple[tuple[int, str], ...] = ()
    refs: tuple[tuple[int, str, str], ...] = ()
    ref_lists: tuple[tuple[int, str, str], ...] = ()
    lists: tuple[tuple[int, str], ...] = ()
    user_ids: tuple[int, str, str] | None = None
    metadata: tuple[tuple[int, str], ...] = ()
    extra: tuple[tuple[int, str], ...] = ()
    by_name: dict[str, int] = attrs.field(factory=dict)
    wire_to_column: dict[str, str] = attrs.field(factory=dict)
    enum_attributes: tuple[tuple[str, bool], ...] = ()

    def build(self, cells: list[str], notes: list[tuple[str, str]]) -> dict[str, Any]:
        """Return the wire dict of one row (empty cells are left out).

        Irregular but readable cells add ``(column, reason)`` to ``notes``.
        """
        wire: dict[str, Any] = {}
        for index, key in self.plain:
            value = cells[index]
            if value and not value.isspace():
                wire[key] = value
        for index, key, ref_type in self.refs:
            value = cells[index]
            if value and not value.isspace():
                wire[key] = {"sourcedId": value, "type": ref_type}
        for index, key, ref_type in self.ref_lists:
            value = cells[index]
            if value and not value.isspace():
                wire[key] = [{"sourcedId": part, "type": ref_type} for part in _split(value)]
        for index, key in self.lists:
            value = cells[index]
            if value and not value.isspace():
                wire[key] = _split(value)
        if self.user_ids is not None:
            index, key, column = self.user_ids
            value = cells[index]
            if value and not value.isspace():
                wire[key] = _parse_user_ids(value, column, notes)
        if self.metadata:
            metadata = {key: cells[i] for i, key in self.metadata if _has_value(cells[i])}
            if metadata:
                wire["metadata"] = metadata
        return wire

    def raw(self, cells: Sequence[str]) -> dict[str, str]:
        """The row as a dict of column -> cell; surplus cells get positional names."""
        raw = dict(zip(self.headers, cells, strict=False))
        for position in range(len(self.headers), len(cells)):
            raw[f"<cell {position + 1}>"] = cells[position]
        return raw

    def column_of(self, field: str | None) -> str | None:
        """Map a converter field path (``orgs[0].sourcedId``) to its CSV column."""
        if not field:
            return None
        head = field.split(".", 1)[0].split("[", 1)[0]
        return self.wire_to_column.get(head)


def _compile_header(
    spec: _FileSpec,
    header: list[str],
    header_line: int,
    *,
    delta: bool,
    errors: list[CsvRowError],
    warnings: list[CsvWarning],
) -> _Plan | None:
    """Compile the header of a file, or report file-level errors and return ``None``."""
    file = spec.filename
    canonical = {column.name.lower(): column for column in spec.columns}
    names = [cell.strip().lstrip("\ufeff").strip() for cell in header]
    present = {name.lower() for name in names}
    assigned: dict[str, int] = {}
    headers: list[str] = []
    metadata: list[tuple[int, str]] = []
    extra: list[tuple[int, str]] = []
    other_names: set[str] = set()
    for index, name in enumerate(names):
        folded = name.lower()
        target = canonical.get(folded)
        alias = spec.aliases.get(folded)
        if target is None and alias is not None and alias.lower() not in present:
            target = canonical[alias.lower()]  # a 1.0-era spelling, unambiguous here
        if target is not None:
            if target.name in assigned:
                errors.append(
                    _error(
                        file,
                        header_line,
                        target.name,
                        "the column appears twice; the file was not read",
                    )
                )
                return None
            assigned[target.name] = index
            headers.append(target.name)
            continue
        if not name:
            headers.append(f"<column {index + 1}>")
            warnings.append(
                _warning(
                    file,
                    header_line,
                    None,
                    f"column {index + 1} has no name; its cells are ignored",
                )
            )
            continue
        headers.append(name)
        if name in other_names:
            warnings.append(
                _warning(file, header_line, name, "the column appears twice; the second is ignored")
            )
            continue
        other_names.add(name)
        if folded.startswith("metadata."):
            metadata.append((index, name[len("metadata.") :].strip()))
        else:
            extra.append((index, name))
    needed = ["sourcedId", *spec.required]
    if delta:
        needed += ["status", "dateLastModified"]
    missing = [name for name in needed if name not in assigned]
    for name in missing:
        errors.append(
            _error(
                file, header_line, name, "required column is missing; the file was not read", raw={}
            )
        )
    if missing:
        return None

    plain: list[tuple[int, str]] = []
    refs: list[tuple[int, str, str]] = []
    ref_lists: list[tuple[int, str, str]] = []
    lists: list[tuple[int, str]] = []
    user_ids: tuple[int, str, str] | None = None
    wire_to_column: dict[str, str] = {}
    for column in spec.columns:
        index_or_none = assigned.get(column.name)
        wire_to_column[column.wire] = column.name
        if index_or_none is None:
            continue
        index = index_or_none
        if column.kind == _PLAIN:
            plain.append((index, column.wire))
        elif column.kind == _REF:
            refs.append((index, column.wire, column.ref_type))
        elif column.kind == _REFS:
            ref_lists.append((index, column.wire, column.ref_type))
        elif column.kind == _LIST:
            lists.append((index, column.wire))
        else:
            user_ids = (index, column.wire, column.name)
    enum_attributes: tuple[tuple[str, bool], ...] = ()
    if spec.model is not None:
        enum_attributes = tuple(
            (name, sequence)
            for name, sequence in _enum_attributes(spec.model).items()
            if _SPEC_ATTRIBUTE_COLUMNS[spec.name].get(name) in assigned
        )
    return _Plan(
        file=file,
        headers=headers,
        width=len(header),
        sourced_id=assigned["sourcedId"],
        status=assigned.get("status"),
        date_last_modified=assigned.get("dateLastModified"),
        plain=tuple(plain),
        refs=tuple(refs),
        ref_lists=tuple(ref_lists),
        lists=tuple(lists),
        user_ids=user_ids,
        metadata=tuple(metadata),
        extra=tuple(extra),
        by_name=assigned,
        wire_to_column=wire_to_column,
        enum_attributes=enum_attributes,
    )


# Attribute name -> CSV column, per file (to know which enum attributes a file can set).
_SPEC_ATTRIBUTE_COLUMNS: Final[dict[str, dict[str, str]]] = {
    spec.name: {to_python_name(column.wire): column.name for column in spec.columns}
    for spec in _SPECS.values()
}


# --- package sources ---------------------------------------------------------------------


class _Source(abc.ABC):
    """Where the files of a package are: ``names`` maps lower-cased file name -> member."""

    names: dict[str, str]

    @abc.abstractmethod
    def open(self, member: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        """Open one member of the package for reading."""


class _FolderSource(_Source):
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.names = {
            entry.name.lower(): entry.name for entry in os.scandir(folder) if entry.is_file()
        }

    def open(self, member: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        return open(self.folder / member, "rb")


class _ZipSource(_Source):
    def __init__(self, path: Path) -> None:
        self.path = path
        with zipfile.ZipFile(path) as archive:
            members = [
                name
                for name in archive.namelist()
                if not name.endswith("/") and not name.startswith("__MACOSX/")
            ]
        prefix = ""
        if _MANIFEST not in {name.lower() for name in members}:
            # Zips made by "compress folder" hold everything under one top-level folder.
            nested = [name for name in members if name.lower().endswith("/" + _MANIFEST)]
            if len(nested) == 1:
                prefix = nested[0][: -len(_MANIFEST)]
        self.names = {
            name[len(prefix) :].lower(): name
            for name in members
            if name.startswith(prefix) and "/" not in name[len(prefix) :]
        }

    @contextlib.contextmanager
    def _open(self, member: str) -> Iterator[IO[bytes]]:
        with zipfile.ZipFile(self.path) as archive, archive.open(member) as stream:
            # ZipExtFile's own readline is Python code; a BufferedReader splits lines in C.
            yield io.BufferedReader(stream, 1 << 16)  # type: ignore[type-var]

    def open(self, member: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        return self._open(member)


# --- the package -------------------------------------------------------------------------


class CsvPackage:
    """An opened OneRoster 1.1 CSV package (folder or zip); rows are read on demand.

    Attributes:
        manifest: ``manifest.csv`` as a dict of propertyName -> value (trimmed).
        source: the folder or zip file read.
    """

    def __init__(self, source: Path, files: _Source) -> None:
        self.source = source
        self._files = files
        self.manifest: dict[str, str] = {}
        self._modes: dict[str, FileMode] = {}
        self._package_errors: list[CsvRowError] = []
        self._package_warnings: list[CsvWarning] = []
        self._file_errors: dict[str, list[CsvRowError]] = {}
        self._file_warnings: dict[str, list[CsvWarning]] = {}
        self._read_manifest()

    def __repr__(self) -> str:
        provided = ", ".join(
            f"{name}={mode}" for name, mode in self._modes.items() if mode != "absent"
        )
        return f"CsvPackage({str(self.source)!r}, {provided or 'no files'})"

    @property
    def errors(self) -> list[CsvRowError]:
        """Problems found so far: in the manifest, then per file as its rows were read.

        Reading a collection again replaces that collection's entries.
        """
        found = list(self._package_errors)
        for items in self._file_errors.values():
            found.extend(items)
        return found

    @property
    def warnings(self) -> list[CsvWarning]:
        """Things read although irregular (unknown enum values, encoding, manifest quirks)."""
        found = list(self._package_warnings)
        for items in self._file_warnings.values():
            found.extend(items)
        return found

    def mode_of(self, collection: str) -> FileMode:
        """How a file is provided: ``bulk``, ``delta`` or ``absent``.

        Args:
            collection: a collection name (``users``) or a file's base name
                (``courseResources``); a trailing ``.csv`` is accepted.

        Raises:
            ValueError: ``collection`` is not one of the 14 files of the binding.
        """
        name = collection.removesuffix(".csv")
        if name not in _SPECS:
            raise ValueError(
                f"unknown OneRoster CSV file {collection!r}; expected one of {sorted(_SPECS)}"
            )
        return self._modes[name]

    @overload
    def iter_records(self, collection: Literal["orgs"]) -> Iterator[Org]: ...
    @overload
    def iter_records(
        self, collection: Literal["academicSessions"]
    ) -> Iterator[AcademicSession]: ...
    @overload
    def iter_records(self, collection: Literal["courses"]) -> Iterator[Course]: ...
    @overload
    def iter_records(self, collection: Literal["classes"]) -> Iterator[Class]: ...
    @overload
    def iter_records(self, collection: Literal["users"]) -> Iterator[User]: ...
    @overload
    def iter_records(self, collection: Literal["enrollments"]) -> Iterator[Enrollment]: ...
    @overload
    def iter_records(self, collection: Literal["demographics"]) -> Iterator[Demographics]: ...
    @overload
    def iter_records(self, collection: Literal["categories"]) -> Iterator[Category]: ...
    @overload
    def iter_records(self, collection: Literal["lineItems"]) -> Iterator[LineItem]: ...
    @overload
    def iter_records(self, collection: Literal["results"]) -> Iterator[Result]: ...
    @overload
    def iter_records(self, collection: Literal["resources"]) -> Iterator[Resource]: ...
    @overload
    def iter_records(self, collection: str) -> Iterator[Record]: ...

    def iter_records(self, collection: str) -> Iterator[Record]:
        """Stream the rows of one collection's file as models.

        Bad rows are skipped and recorded in :attr:`errors`; for ``courses`` and
        ``classes`` the link file (``courseResources.csv``/``classResources.csv``) is read
        first and its rows merged into ``resources``.

        Args:
            collection: one of :data:`COLLECTIONS`, e.g. ``"users"``.

        Raises:
            ValueError: ``collection`` is not one of :data:`COLLECTIONS`.
        """
        if collection not in COLLECTIONS:
            raise ValueError(
                f"unknown OneRoster collection {collection!r}; expected one of {list(COLLECTIONS)}"
            )
        return self._iter_records(_SPECS[collection])

    def load(self) -> dict[str, list[Record]]:
        """Read every collection into lists (all of :data:`COLLECTIONS` are present)."""
        return {name: list(self.iter_records(name)) for name in COLLECTIONS}

    # --- manifest ----------------------------------------------------------------------

    def _read_manifest(self) -> None:
        member = self._files.names.get(_MANIFEST)
        if member is None:
            raise CsvPackageError(
                f"{self.source}: manifest.csv is missing; every OneRoster CSV package needs one"
            )
        lines: dict[str, int] = {}
        warnings = self._package_warnings
        with self._files.open(member) as binary:
            first = True
            for number, cells in _read_rows(binary, _MANIFEST, warnings, self._package_errors):
                if _is_blank(cells):
                    continue
                if first:
                    first = False
                    if cells[0].strip().lower() == "propertyname":
                        continue  # the header; a manifest without one is read all the same
                key = cells[0].strip()
                value = cells[1].strip() if len(cells) > 1 else ""
                if len(cells) != 2 and not (len(cells) > 2 and _is_blank(cells[2:])):
                    warnings.append(
                        _warning(_MANIFEST, number, None, f"expected 2 cells, found {len(cells)}")
                    )
                if key in self.manifest:
                    warnings.append(
                        _warning(_MANIFEST, number, None, f"{key} appears twice; the first is used")
                    )
                    continue
                self.manifest[key] = value
                lines[key.lower()] = number
        folded = {key.lower(): value for key, value in self.manifest.items()}
        for key, expected in (
            ("manifest.version", _MANIFEST_VERSION),
            ("oneroster.version", _ONEROSTER_VERSION),
        ):
            if folded.get(key) != expected:
                warnings.append(
                    _warning(
                        _MANIFEST,
                        lines.get(key),
                        None,
                        f"{key} is {folded.get(key)!r}, expected {expected!r};"
                        " the package is read as OneRoster 1.1",
                    )
                )
        known = {spec.filename.lower() for spec in _SPECS.values()} | {_MANIFEST}
        for name in sorted(self._files.names):
            if name.endswith(".csv") and name not in known:
                warnings.append(
                    _warning(
                        self._files.names[name], None, None, "not a OneRoster 1.1 file; ignored"
                    )
                )
        for spec in _SPECS.values():
            self._modes[spec.name] = self._resolve_mode(spec, folded, lines)

    def _resolve_mode(
        self, spec: _FileSpec, folded: dict[str, str], lines: dict[str, int]
    ) -> FileMode:
        key = f"file.{spec.name}".lower()
        declared = folded.get(key, "").lower() if key in folded else None
        exists = spec.filename.lower() in self._files.names
        line = lines.get(key)
        label = f"file.{spec.name}"
        if declared in ("bulk", "delta"):
            if exists:
                return "bulk" if declared == "bulk" else "delta"
            self._package_errors.append(
                _error(
                    _MANIFEST, line, None, f"{label} is {declared!r} but {spec.filename} is missing"
                )
            )
            return "absent"
        if not exists:
            if declared not in (None, "absent"):
                self._package_warnings.append(
                    _warning(_MANIFEST, line, None, f"{label} has unknown value {folded[key]!r}")
                )
            return "absent"
        if declared == "absent":
            reason = f"{label} is 'absent' but {spec.filename} exists; the file is not read"
            self._package_warnings.append(_warning(_MANIFEST, line, None, reason))
            return "absent"
        if declared is None:
            reason = f"{label} is not in the manifest; {spec.filename} is read as bulk"
        else:
            reason = f"{label} has unknown value {folded[key]!r}; {spec.filename} is read as bulk"
        self._package_warnings.append(_warning(_MANIFEST, line, None, reason))
        return "bulk"

    # --- rows --------------------------------------------------------------------------

    def _start(self, file: str) -> tuple[list[CsvRowError], list[CsvWarning]]:
        errors: list[CsvRowError] = []
        warnings: list[CsvWarning] = []
        self._file_errors[file] = errors
        self._file_warnings[file] = warnings
        return errors, warnings

    @contextlib.contextmanager
    def _rows(
        self, spec: _FileSpec, errors: list[CsvRowError], warnings: list[CsvWarning]
    ) -> Iterator[tuple[_Plan, Iterator[tuple[int, list[str]]]] | None]:
        """Open a file and compile its header; ``None`` if absent or the header is unusable."""
        mode = self._modes[spec.name]
        if mode == "absent":
            yield None
            return
        with self._files.open(self._files.names[spec.filename.lower()]) as binary:
            rows = _read_rows(binary, spec.filename, warnings, errors)
            header_line, header = next(
                ((line, cells) for line, cells in rows if not _is_blank(cells)), (0, None)
            )
            if header is None:
                errors.append(_error(spec.filename, None, None, "the file has no header row"))
                yield None
                return
            plan = _compile_header(
                spec,
                header,
                header_line,
                delta=mode == "delta",
                errors=errors,
                warnings=warnings,
            )
            yield None if plan is None else (plan, rows)

    def _read_links(self, collection: str) -> dict[str, list[tuple[int, str]]]:
        """Read a link file: owner sourcedId -> [(line, resource sourcedId)] in file order."""
        link_name, owner_column = _LINKS[collection]
        spec = _SPECS[link_name]
        errors, warnings = self._start(spec.filename)
        links: dict[str, list[tuple[int, str]]] = {}
        with self._rows(spec, errors, warnings) as opened:
            if opened is None:
                return links
            plan, rows = opened
            owner_index = plan.by_name[owner_column]
            resource_index = plan.by_name["resourceSourcedId"]
            unkept = [i for i, _ in (*plan.metadata, *plan.extra)]
            if "title" in plan.by_name:
                unkept.append(plan.by_name["title"])
            seen: set[str] = set()
            for line, cells in rows:
                checked = self._check_row(plan, line, cells, seen, errors)
                if checked is None:
                    continue
                owner, resource = cells[owner_index].strip(), cells[resource_index].strip()
                missing = (
                    owner_column if not owner else "resourceSourcedId" if not resource else None
                )
                if missing is not None:
                    errors.append(
                        _error(
                            plan.file,
                            line,
                            missing,
                            "a value is required",
                            sourced_id=checked,
                            raw=plan.raw(cells),
                        )
                    )
                    continue
                if any(_has_value(cells[i]) for i in unkept):
                    warnings.append(
                        _warning(
                            plan.file,
                            line,
                            None,
                            "title, metadata and vendor columns of a link row are not kept",
                            checked,
                        )
                    )
                seen.add(checked)
                links.setdefault(owner, []).append((line, resource))
        return links

    def _check_row(
        self,
        plan: _Plan,
        line: int,
        cells: list[str],
        seen: set[str],
        errors: list[CsvRowError],
    ) -> str | None:
        """Return the row's sourcedId, or ``None`` (blank row skipped, or error recorded)."""
        if len(cells) != plan.width:
            if not _is_blank(cells):
                errors.append(
                    _error(
                        plan.file,
                        line,
                        None,
                        f"expected {plan.width} cells, found {len(cells)}; the row was not read",
                        raw=plan.raw(cells),
                    )
                )
            return None
        sourced_id = cells[plan.sourced_id].strip()
        if not sourced_id:
            if not _is_blank(cells):
                errors.append(
                    _error(plan.file, line, "sourcedId", "a value is required", raw=plan.raw(cells))
                )
            return None
        if sourced_id in seen:
            errors.append(
                _error(
                    plan.file,
                    line,
                    "sourcedId",
                    f"duplicate sourcedId {sourced_id!r}; the first row with it was kept",
                    sourced_id=sourced_id,
                    raw=plan.raw(cells),
                )
            )
            return None
        return sourced_id

    def _iter_records(self, spec: _FileSpec) -> Iterator[Record]:
        links = self._read_links(spec.name) if spec.name in _LINKS else None
        errors, warnings = self._start(spec.filename)
        model = spec.model
        assert model is not None  # only link files have no model
        delta = self._modes[spec.name] == "delta"
        merged: set[str] = set()
        with self._rows(spec, errors, warnings) as opened:
            if opened is not None:
                plan, rows = opened
                yield from self._records(plan, rows, model, delta, links, merged, errors, warnings)
        if links:
            self._report_orphans(spec.name, links, merged)

    def _records(
        self,
        plan: _Plan,
        rows: Iterator[tuple[int, list[str]]],
        model: type[Record],
        delta: bool,
        links: dict[str, list[tuple[int, str]]] | None,
        merged: set[str],
        errors: list[CsvRowError],
        warnings: list[CsvWarning],
    ) -> Iterator[Record]:
        structure = converter.structure
        build = plan.build
        check_row = self._check_row
        file = plan.file
        status_index, modified_index = plan.status, plan.date_last_modified
        enum_attributes = plan.enum_attributes
        extra_columns = plan.extra
        seen: set[str] = set()
        notes: list[tuple[str, str]] = []
        for line, cells in rows:
            if notes:
                notes.clear()
            sourced_id = check_row(plan, line, cells, seen, errors)
            if sourced_id is None:
                continue
            try:
                if delta:
                    for index, column in (
                        (status_index, "status"),
                        (modified_index, "dateLastModified"),
                    ):
                        if index is not None and not _has_value(cells[index]):
                            raise _CellError(column, "a value is required in a delta file")
                record = structure(build(cells, notes), model)
            except _CellError as exc:
                errors.append(
                    _error(
                        file,
                        line,
                        exc.column,
                        exc.reason,
                        sourced_id=sourced_id,
                        raw=plan.raw(cells),
                    )
                )
                continue
            except RecordValidationError as exc:
                reason = exc.reason
                if reason == "required field is missing":
                    reason = "a value is required"
                errors.append(
                    _error(
                        file,
                        line,
                        plan.column_of(exc.field),
                        reason,
                        sourced_id=sourced_id,
                        raw=plan.raw(cells),
                    )
                )
                continue
            for column, reason in notes:
                warnings.append(_warning(file, line, column, reason, sourced_id))
            for attribute, sequence in enum_attributes:
                value = getattr(record, attribute)
                if value is None:
                    continue
                if (
                    any(not isinstance(item, enum.Enum) for item in value)
                    if sequence
                    else not isinstance(value, enum.Enum)
                ):
                    for found in converter.unknown_values(record):
                        warnings.append(
                            _warning(
                                file,
                                line,
                                plan.column_of(found.field),
                                f"{found.value!r} is not a OneRoster 1.1 value; kept as a string",
                                sourced_id,
                            )
                        )
                    break
            if extra_columns:
                extra = {name: cells[i] for i, name in extra_columns if _has_value(cells[i])}
                if extra:
                    record = _replace(record, extra=extra)
            if links is not None:
                resources = links.get(sourced_id)
                if resources is not None:
                    merged.add(sourced_id)
                    refs = tuple(
                        GUIDRef(sourced_id=rid, type=GUIDType.RESOURCE) for _, rid in resources
                    )
                    record = _replace(record, resources=refs)
            seen.add(sourced_id)
            yield record

    def _report_orphans(
        self, collection: str, links: dict[str, list[tuple[int, str]]], merged: set[str]
    ) -> None:
        link_name, owner_column = _LINKS[collection]
        link_file = _SPECS[link_name].filename
        errors = self._file_errors[link_file]
        for owner, rows in links.items():
            if owner in merged:
                continue
            for line, resource in rows:
                errors.append(
                    _error(
                        link_file,
                        line,
                        owner_column,
                        f"{owner!r} is not a readable row of {collection}.csv;"
                        f" resource {resource!r} was not linked",
                    )
                )


def read_package(source: str | os.PathLike[str]) -> CsvPackage:
    """Open a OneRoster 1.1 CSV package (a folder or a zip file) and read its manifest.

    Rows are read when :meth:`CsvPackage.iter_records` or :meth:`CsvPackage.load` asks.

    Args:
        source: the package folder or zip file.

    Raises:
        FileNotFoundError: ``source`` does not exist.
        CsvPackageError: ``source`` is not a folder or zip file, or has no manifest.csv.
    """
    path = Path(source)
    files: _Source
    if path.is_dir():
        files = _FolderSource(path)
    elif path.is_file():
        if not zipfile.is_zipfile(path):
            raise CsvPackageError(f"{path}: not a folder or a zip file")
        files = _ZipSource(path)
    else:
        raise FileNotFoundError(f"{path}: no such folder or zip file")
    return CsvPackage(path, files)


# --- writing -----------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A metadata or extra value as one cell (CSV cells are text; see the module notes)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date):
        return (
            converter.format_date(value)
            if not isinstance(value, datetime)
            else converter.format_datetime(value)
        )
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


class _Sheet:
    """One CSV file being written; columns first seen late are added when it is closed."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.header = list(header)
        self.dynamic: dict[str, int] = {}
        self.rows = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def write(self, cells: list[str], dynamic: Iterable[tuple[str, str]] = ()) -> None:
        if self._writer is None:
            self._handle = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._writer = csv.writer(self._handle)
            self._writer.writerow(self.header)
        tail: list[str] = []
        for name, value in dynamic:
            index = self.dynamic.setdefault(name, len(self.dynamic))
            if index >= len(tail):
                tail.extend([""] * (index + 1 - len(tail)))
            tail[index] = value
        self._writer.writerow(cells + tail if tail else cells)
        self.rows += 1

    def close(self) -> bool:
        """Finish the file; return whether it has rows (an empty collection has no file)."""
        if self._handle is None:
            return False
        self._handle.close()
        self._handle = None
        if self.dynamic:
            # Rows were streamed before every metadata/vendor column was known: rewrite once
            # with the full header, padding early rows (constant memory).
            staged = self.path.with_name(self.path.name + ".part")
            os.replace(self.path, staged)
            width = len(self.header) + len(self.dynamic)
            # Our own cells may exceed the csv module's default field size limit.
            limit = csv.field_size_limit(sys.maxsize)
            try:
                with (
                    open(staged, encoding="utf-8", newline="") as source,
                    open(self.path, "w", encoding="utf-8", newline="") as target,
                ):
                    reader = csv.reader(source)
                    writer = csv.writer(target)
                    next(reader)
                    writer.writerow(self.header + list(self.dynamic))
                    for row in reader:
                        if len(row) < width:
                            row.extend([""] * (width - len(row)))
                        writer.writerow(row)
            finally:
                csv.field_size_limit(limit)
            staged.unlink()
        return True

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _join(items: Iterable[str], where: Callable[[], str], column: str) -> str:
    parts = list(items)
    for item in parts:
        if "," in item or not item.strip():
            raise ValueError(
                f"{where()}, column {column}: list item {item!r} cannot be written"
                " (the CSV binding separates list items with commas)"
            )
    return ",".join(parts)


def _user_id_tokens(value: list[dict[str, Any]], where: Callable[[], str], column: str) -> str:
    tokens = []
    for item in value:
        kind, identifier = str(item.get("type", "")), str(item.get("identifier", ""))
        if any(ch in kind for ch in "{}:") or any(ch in identifier for ch in "{}"):
            raise ValueError(
                f"{where()}, column {column}: a user id containing '{{', '}}' or (in its type)"
                " ':' cannot be written as a {type:identifier} token"
            )
        tokens.append(f"{{{kind}:{identifier}}}")
    return ",".join(tokens)


def _cells(spec: _FileSpec, wire: Mapping[str, Any], where: Callable[[], str]) -> list[str]:
    cells: list[str] = []
    for column in spec.columns:
        value = wire.get(column.wire)
        if value is None:
            cells.append("")
        elif column.kind == _PLAIN:
            if type(value) is str:
                cells.append(value)
            elif value is True or value is False:
                cells.append("true" if value else "false")
            else:
                cells.append(repr(value) if isinstance(value, float) else str(value))
        elif column.kind == _REF:
            cells.append(value["sourcedId"])
        elif column.kind == _REFS:
            cells.append(_join((ref["sourcedId"] for ref in value), where, column.name))
        elif column.kind == _LIST:
            cells.append(_join(value, where, column.name))
        else:
            cells.append(_user_id_tokens(value, where, column.name))
    return cells


def _dynamic_cells(
    spec: _FileSpec, record: Record, where: Callable[[], str]
) -> list[tuple[str, str]]:
    dynamic = [(f"metadata.{key}", _text(value)) for key, value in (record.metadata or {}).items()]
    if record.extra:
        reserved = _RESERVED[spec.name]
        for key, value in record.extra.items():
            folded = key.strip().lower()
            if folded in reserved or folded.startswith("metadata."):
                raise ValueError(
                    f"{where()}: extra field {key!r} would be read back as a 1.1 or metadata"
                    " column; rename it"
                )
            dynamic.append((key, _text(value)))
    return dynamic


_RESERVED: Final[dict[str, frozenset[str]]] = {
    spec.name: frozenset(column.name.lower() for column in spec.columns) for spec in _SPECS.values()
}


def _write_collection(
    staging: Path,
    collection: str,
    records: Iterable[Record],
    *,
    delta: bool,
    sheets: list[_Sheet],
) -> list[str]:
    """Stream one collection (and its link file) to ``staging``; return the files written."""
    spec = _SPECS[collection]
    model = spec.model
    assert model is not None
    sheet = _Sheet(staging / spec.filename, FILE_COLUMNS[spec.filename])
    sheets.append(sheet)
    link: _Sheet | None = None
    link_ids: set[str] = set()
    if collection in _LINKS:
        link_spec = _SPECS[_LINKS[collection][0]]
        link = _Sheet(staging / link_spec.filename, FILE_COLUMNS[link_spec.filename])
        sheets.append(link)
    unstructure = converter.unstructure
    for record in records:
        if not isinstance(record, model):
            raise TypeError(
                f"{collection}: expected {model.__name__} records, got {type(record).__name__}"
            )
        sourced_id = record.sourced_id

        def where(sourced_id: str = sourced_id) -> str:
            return f"{spec.filename} record {sourced_id!r}"

        if delta and (not record.status or record.date_last_modified is None):
            raise ValueError(
                f"{where()}: a delta package needs status and dateLastModified on every record"
            )
        wire = unstructure(record)
        dynamic = _dynamic_cells(spec, record, where) if record.metadata or record.extra else ()
        sheet.write(_cells(spec, wire, where), dynamic)
        resources = getattr(record, "resources", None)
        if link is not None and resources:
            status, modified = wire.get("status", ""), wire.get("dateLastModified", "")
            for ref in resources:
                # Deterministic ids; a suffix keeps them unique if two pairs join alike.
                link_id = base_id = f"{sourced_id}-{ref.sourced_id}"
                suffix = 1
                while link_id in link_ids:
                    suffix += 1
                    link_id = f"{base_id}#{suffix}"
                link_ids.add(link_id)
                link.write([link_id, status, modified, "", sourced_id, ref.sourced_id])
    written = [spec.filename] if sheet.close() else []
    if link is not None and link.close():
        written.append(link.path.name)
    return written


def write_package(
    target: str | os.PathLike[str],
    records: Mapping[str, Iterable[Record]],
    *,
    mode: Literal["bulk", "delta"] = "bulk",
    source_system_name: str | None = None,
    source_system_code: str | None = None,
    zip: bool | None = None,
) -> Path:
    """Write records as a OneRoster 1.1 CSV package, streaming them row by row.

    One file is written per non-empty collection (plus ``courseResources.csv`` and
    ``classResources.csv`` for course and class resources) and ``manifest.csv`` lists all
    14 files as ``bulk``/``delta``/``absent``. Files are staged and moved into place at
    the end; in a folder, package files left from an earlier package are removed.

    Args:
        target: a folder, or a file name ending in ``.zip`` for a zip package.
        records: collection name (see :data:`COLLECTIONS`) -> records of its model.
        mode: ``bulk`` (status and dateLastModified written when set) or ``delta`` (both
            required on every record).
        source_system_name: ``source.systemName`` in the manifest.
        source_system_code: ``source.systemCode`` in the manifest.
        zip: write a zip (``True``) or a folder (``False``); by default a zip when
            ``target`` ends in ``.zip``.

    Returns:
        The path of the package written.

    Raises:
        ValueError: an unknown collection or mode; in delta mode a record without status
            or dateLastModified; a value the CSV binding cannot carry (a list item with a
            comma, a user id with braces). The message names file, record and column.
        TypeError: a record of the wrong model for its collection.
    """
    if mode not in ("bulk", "delta"):
        raise ValueError(f"mode must be 'bulk' or 'delta', not {mode!r}")
    unknown = [name for name in records if name not in COLLECTIONS]
    if unknown:
        raise ValueError(
            f"unknown OneRoster collections {unknown}; expected names from {list(COLLECTIONS)}"
        )
    path = Path(target)
    as_zip = zip if zip is not None else path.suffix.lower() == ".zip"
    if as_zip:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".oneroster-csv-", dir=path.parent))
    else:
        path.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".oneroster-csv-", dir=path))
    sheets: list[_Sheet] = []
    try:
        written: list[str] = []
        for collection in COLLECTIONS:
            if collection in records:
                written += _write_collection(
                    staging, collection, records[collection], delta=mode == "delta", sheets=sheets
                )
        _write_manifest(staging / _MANIFEST, written, mode, source_system_name, source_system_code)
        if as_zip:
            _zip_package(staging, path, written)
        else:
            _move_package(staging, path, written)
    finally:
        for sheet in sheets:
            sheet.discard()
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _write_manifest(
    path: Path,
    written: Sequence[str],
    mode: str,
    system_name: str | None,
    system_code: str | None,
) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["propertyName", "value"])
        writer.writerow(["manifest.version", _MANIFEST_VERSION])
        writer.writerow(["oneroster.version", _ONEROSTER_VERSION])
        for spec in _SPECS.values():
            writer.writerow([f"file.{spec.name}", mode if spec.filename in written else "absent"])
        writer.writerow(["source.systemName", system_name or _DEFAULT_SYSTEM_NAME])
        writer.writerow(["source.systemCode", system_code or ""])


def _zip_package(staging: Path, path: Path, written: Sequence[str]) -> None:
    partial = path.with_name(path.name + ".part")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(staging / _MANIFEST, _MANIFEST)
            for name in written:
                archive.write(staging / name, name)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _move_package(staging: Path, folder: Path, written: Sequence[str]) -> None:
    keep = {*written, _MANIFEST}
    package_names = {name.lower() for name in FILE_COLUMNS} | {_MANIFEST}
    for entry in os.scandir(folder):
        # A stale users.csv (or Users.csv) would contradict the new manifest.
        if entry.is_file() and entry.name.lower() in package_names and entry.name not in keep:
            os.unlink(entry.path)
    for name in sorted(keep):
        os.replace(staging / name, folder / name)
