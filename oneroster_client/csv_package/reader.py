"""Reading a OneRoster 1.1 CSV package: the manifest, then each file's rows on demand."""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, overload

import attrs

from oneroster_client import converter
from oneroster_client.csv_package.errors import (
    CsvPackageError,
    CsvRowError,
    CsvWarning,
    Reports,
    error_reports,
    row_error,
    warning,
    warning_reports,
)
from oneroster_client.csv_package.plan import CellError, Plan, compile_header, has_value
from oneroster_client.csv_package.rows import (
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MAX_LINE_SIZE,
    Limits,
    is_blank,
    read_rows,
)
from oneroster_client.csv_package.sources import Source, open_source
from oneroster_client.csv_package.specs import (
    COLLECTIONS,
    LINKS,
    MANIFEST,
    MANIFEST_VERSION,
    ONEROSTER_VERSION,
    PACKAGE_FILES,
    SPECS,
    FileMode,
    FileSpec,
)
from oneroster_client.errors import RecordValidationError
from oneroster_client.models import (
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
)

__all__ = ["CsvPackage", "read_package"]

Rows = Iterator[tuple[int, list[str]]]
Links = dict[str, list[tuple[int, str]]]


class CsvPackage:
    """An opened OneRoster 1.1 CSV package (folder or zip); rows are read on demand.

    Attributes:
        manifest: ``manifest.csv`` as a dict of propertyName -> value (trimmed).
        source: the folder or zip file read.
        limits: the size limits each file is read within.
    """

    def __init__(self, source: Path, files: Source, limits: Limits | None = None) -> None:
        self.source = source
        self.limits = limits if limits is not None else Limits()
        self._files = files
        self.manifest: dict[str, str] = {}
        self._modes: dict[str, FileMode] = {}
        self._package_errors: Reports[CsvRowError] = error_reports(MANIFEST)
        self._package_warnings: Reports[CsvWarning] = warning_reports(MANIFEST)
        self._file_errors: dict[str, Reports[CsvRowError]] = {}
        self._file_warnings: dict[str, Reports[CsvWarning]] = {}
        for name, reason in files.skipped:
            self._package_warnings.append(warning(name, None, None, reason))
        self._read_manifest()

    def __repr__(self) -> str:
        provided = ", ".join(
            f"{name}={mode}" for name, mode in self._modes.items() if mode != "absent"
        )
        return f"CsvPackage({str(self.source)!r}, {provided or 'no files'})"

    @property
    def errors(self) -> list[CsvRowError]:
        """Problems found so far: in the manifest, then per file as its rows were read.

        Reading a collection again replaces that collection's entries. At most 1,000
        errors are listed per file, followed by one that counts the rest.
        """
        found = self._package_errors.listed()
        for items in self._file_errors.values():
            found.extend(items.listed())
        return found

    @property
    def warnings(self) -> list[CsvWarning]:
        """Things read although irregular (unknown enum values, encoding, manifest quirks)."""
        found = self._package_warnings.listed()
        for items in self._file_warnings.values():
            found.extend(items.listed())
        return found

    def mode_of(self, collection: str) -> FileMode:
        """How a file is provided: ``bulk``, ``delta`` or ``absent``.

        Args:
            collection: a collection name (``users``) or a file's base name
                (``courseResources``); a trailing ``.csv`` is accepted.

        Raises:
            ValueError: ``collection`` is not one of the 13 data files of the binding.
        """
        name = collection.removesuffix(".csv")
        if name not in SPECS:
            raise ValueError(
                f"unknown OneRoster CSV file {collection!r}; expected one of {sorted(SPECS)}"
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
        return self._iter_records(SPECS[collection])

    def load(self) -> dict[str, list[Record]]:
        """Read every collection into lists (all of :data:`COLLECTIONS` are present)."""
        return {name: list(self.iter_records(name)) for name in COLLECTIONS}

    # --- manifest ----------------------------------------------------------------------

    def _read_manifest(self) -> None:
        member = self._files.names.get(MANIFEST)
        if member is None:
            skipped = "".join(
                f"; {name!r} was refused ({reason})" for name, reason in self._files.skipped
            )
            raise CsvPackageError(
                f"{self.source}: manifest.csv is missing; every OneRoster CSV package needs"
                f" one{skipped}",
                file=MANIFEST,
            )
        lines = self._manifest_entries(member)
        folded = {key.lower(): value for key, value in self.manifest.items()}
        self._check_versions(folded, lines)
        for name in sorted(self._files.names):
            if name.endswith(".csv") and name not in PACKAGE_FILES:
                reason = "not a OneRoster 1.1 file; ignored"
                self._package_warnings.append(warning(self._files.names[name], None, None, reason))
        for spec in SPECS.values():
            self._modes[spec.name] = self._resolve_mode(spec, folded, lines)

    def _manifest_entries(self, member: str) -> dict[str, int]:
        """Fill :attr:`manifest`; return lower-cased propertyName -> line."""
        lines: dict[str, int] = {}
        warnings = self._package_warnings
        with self._files.open(member) as binary:
            rows = read_rows(binary, MANIFEST, self.limits, warnings, self._package_errors)
            first = True
            for number, cells in rows:
                if is_blank(cells):
                    continue
                if first:
                    first = False
                    if cells[0].strip().lower() == "propertyname":
                        continue  # the header; a manifest without one is read all the same
                key = cells[0].strip()
                value = cells[1].strip() if len(cells) > 1 else ""
                if len(cells) != 2 and not (len(cells) > 2 and is_blank(cells[2:])):
                    reason = f"expected 2 cells, found {len(cells)}"
                    warnings.append(warning(MANIFEST, number, None, reason))
                if key in self.manifest:
                    reason = f"{key} appears twice; the first is used"
                    warnings.append(warning(MANIFEST, number, None, reason))
                    continue
                self.manifest[key] = value
                lines[key.lower()] = number
        return lines

    def _check_versions(self, folded: dict[str, str], lines: dict[str, int]) -> None:
        for key, expected in (
            ("manifest.version", MANIFEST_VERSION),
            ("oneroster.version", ONEROSTER_VERSION),
        ):
            if folded.get(key) != expected:
                self._package_warnings.append(
                    warning(
                        MANIFEST,
                        lines.get(key),
                        None,
                        f"{key} is {folded.get(key)!r}, expected {expected!r};"
                        " the package is read as OneRoster 1.1",
                    )
                )

    def _resolve_mode(
        self, spec: FileSpec, folded: dict[str, str], lines: dict[str, int]
    ) -> FileMode:
        key = f"file.{spec.name}".lower()
        declared = folded.get(key, "").lower() if key in folded else None
        exists = spec.filename.lower() in self._files.names
        line = lines.get(key)
        label = f"file.{spec.name}"
        if declared in ("bulk", "delta"):
            if exists:
                return "bulk" if declared == "bulk" else "delta"
            reason = f"{label} is {declared!r} but {spec.filename} is missing"
            self._package_errors.append(row_error(MANIFEST, line, None, reason))
            return "absent"
        if not exists:
            if declared not in (None, "absent"):
                reason = f"{label} has unknown value {folded[key]!r}"
                self._package_warnings.append(warning(MANIFEST, line, None, reason))
            return "absent"
        if declared == "absent":
            reason = f"{label} is 'absent' but {spec.filename} exists; the file is not read"
            self._package_warnings.append(warning(MANIFEST, line, None, reason))
            return "absent"
        if declared is None:
            reason = f"{label} is not in the manifest; {spec.filename} is read as bulk"
        else:
            reason = f"{label} has unknown value {folded[key]!r}; {spec.filename} is read as bulk"
        self._package_warnings.append(warning(MANIFEST, line, None, reason))
        return "bulk"

    # --- rows --------------------------------------------------------------------------

    def _start(self, file: str) -> tuple[Reports[CsvRowError], Reports[CsvWarning]]:
        errors: Reports[CsvRowError] = error_reports(file)
        warnings: Reports[CsvWarning] = warning_reports(file)
        self._file_errors[file] = errors
        self._file_warnings[file] = warnings
        return errors, warnings

    @contextlib.contextmanager
    def _rows(
        self, spec: FileSpec, errors: Reports[CsvRowError], warnings: Reports[CsvWarning]
    ) -> Iterator[tuple[Plan, Rows] | None]:
        """Open a file and compile its header; ``None`` if absent or the header is unusable."""
        mode = self._modes[spec.name]
        if mode == "absent":
            yield None
            return
        member = self._files.names[spec.filename.lower()]
        declared = self._files.size_of(member)
        if declared is not None and declared > self.limits.max_file_size:
            reason = (
                f"expands to {declared:,} bytes, more than {self.limits.max_file_size:,}"
                " (max_file_size); the file was not read"
            )
            errors.append(row_error(spec.filename, None, None, reason))
            yield None
            return
        with contextlib.ExitStack() as stack:
            try:
                binary = stack.enter_context(self._files.open(member))
            except CsvPackageError as exc:
                reason = f"{exc}; the file was not read"
                errors.append(row_error(spec.filename, None, None, reason))
                yield None
                return
            rows = read_rows(binary, spec.filename, self.limits, warnings, errors)
            header_line, header = next(
                ((line, cells) for line, cells in rows if not is_blank(cells)), (0, None)
            )
            if header is None:
                if not errors:
                    errors.append(
                        row_error(spec.filename, None, None, "the file has no header row")
                    )
                yield None
                return
            plan = compile_header(
                spec, header, header_line, delta=mode == "delta", errors=errors, warnings=warnings
            )
            yield None if plan is None else (plan, rows)

    def _read_links(self, collection: str) -> Links:
        """Read a link file: owner sourcedId -> [(line, resource sourcedId)] in file order."""
        link_name, owner_column = LINKS[collection]
        spec = SPECS[link_name]
        errors, warnings = self._start(spec.filename)
        links: Links = {}
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
                        row_error(
                            plan.file,
                            line,
                            missing,
                            "a value is required",
                            sourced_id=checked,
                            raw=plan.raw(cells),
                        )
                    )
                    continue
                if any(has_value(cells[i]) for i in unkept):
                    reason = "title, metadata and vendor columns of a link row are not kept"
                    warnings.append(warning(plan.file, line, None, reason, checked))
                seen.add(checked)
                links.setdefault(owner, []).append((line, resource))
        return links

    def _check_row(
        self,
        plan: Plan,
        line: int,
        cells: list[str],
        seen: set[str],
        errors: Reports[CsvRowError],
    ) -> str | None:
        """Return the row's sourcedId, or ``None`` (blank row skipped, or error recorded)."""
        if len(cells) != plan.width:
            if not is_blank(cells):
                errors.append(
                    row_error(
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
            if not is_blank(cells):
                errors.append(
                    row_error(
                        plan.file, line, "sourcedId", "a value is required", raw=plan.raw(cells)
                    )
                )
            return None
        if sourced_id in seen:
            errors.append(
                row_error(
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

    def _iter_records(self, spec: FileSpec) -> Iterator[Record]:
        links = self._read_links(spec.name) if spec.name in LINKS else None
        errors, warnings = self._start(spec.filename)
        model = spec.model
        assert model is not None  # only link files have no model
        reading = _FileReading(
            model=model,
            delta=self._modes[spec.name] == "delta",
            links=links,
            errors=errors,
            warnings=warnings,
        )
        with self._rows(spec, errors, warnings) as opened:
            if opened is not None:
                plan, rows = opened
                for line, cells in rows:
                    sourced_id = self._check_row(plan, line, cells, reading.seen, errors)
                    if sourced_id is None:
                        continue
                    record = reading.record(plan, line, cells, sourced_id)
                    if record is not None:
                        yield record
        if links:
            self._report_orphans(spec.name, links, reading.merged)

    def _report_orphans(self, collection: str, links: Links, merged: set[str]) -> None:
        link_name, owner_column = LINKS[collection]
        link_file = SPECS[link_name].filename
        errors = self._file_errors[link_file]
        for owner, rows in links.items():
            if owner in merged:
                continue
            for line, resource in rows:
                errors.append(
                    row_error(
                        link_file,
                        line,
                        owner_column,
                        f"{owner!r} is not a readable row of {collection}.csv;"
                        f" resource {resource!r} was not linked",
                    )
                )


@attrs.define
class _FileReading:
    """The state of reading one collection's file: rows seen, links merged, reports."""

    model: type[Record]
    delta: bool
    links: Links | None
    errors: Reports[CsvRowError]
    warnings: Reports[CsvWarning]
    seen: set[str] = attrs.field(factory=set)
    merged: set[str] = attrs.field(factory=set)
    notes: list[tuple[str, str]] = attrs.field(factory=list)

    def record(self, plan: Plan, line: int, cells: list[str], sourced_id: str) -> Record | None:
        """The row as a model, or ``None`` after recording why it cannot be read."""
        if self.notes:
            self.notes.clear()
        record = self._structure(plan, line, cells, sourced_id)
        if record is None:
            return None
        for column, reason in self.notes:
            self.warnings.append(warning(plan.file, line, column, reason, sourced_id))
        if plan.enum_attributes:
            self._report_unknown_values(plan, line, record, sourced_id)
        record = self._attach(plan, cells, record, sourced_id)
        self.seen.add(sourced_id)
        return record

    def _structure(self, plan: Plan, line: int, cells: list[str], sourced_id: str) -> Record | None:
        try:
            if self.delta:
                for index, column in (
                    (plan.status, "status"),
                    (plan.date_last_modified, "dateLastModified"),
                ):
                    if index is not None and not has_value(cells[index]):
                        raise CellError(column, "a value is required in a delta file")
            return converter.structure(plan.build(cells, self.notes), self.model)
        except CellError as exc:
            column, reason = exc.column, exc.reason
        except RecordValidationError as exc:
            column = plan.column_of(exc.field)  # type: ignore[assignment]
            reason = exc.reason
            if reason == "required field is missing":
                reason = "a value is required"
        self.errors.append(
            row_error(plan.file, line, column, reason, sourced_id=sourced_id, raw=plan.raw(cells))
        )
        return None

    def _report_unknown_values(
        self, plan: Plan, line: int, record: Record, sourced_id: str
    ) -> None:
        for attribute, sequence in plan.enum_attributes:
            value = getattr(record, attribute)
            if value is None:
                continue
            unknown = (
                any(not isinstance(item, enum.Enum) for item in value)
                if sequence
                else not isinstance(value, enum.Enum)
            )
            if unknown:
                for found in converter.unknown_values(record):
                    self.warnings.append(
                        warning(
                            plan.file,
                            line,
                            plan.column_of(found.field),
                            f"{found.value!r} is not a OneRoster 1.1 value; kept as a string",
                            sourced_id,
                        )
                    )
                return

    def _attach(self, plan: Plan, cells: list[str], record: Record, sourced_id: str) -> Record:
        """Add the row's vendor columns and linked resources to ``record``."""
        if plan.extra:
            extra = {name: cells[i] for i, name in plan.extra if has_value(cells[i])}
            if extra:
                record = _replace(record, extra=extra)
        if self.links is not None:
            resources = self.links.get(sourced_id)
            if resources is not None:
                self.merged.add(sourced_id)
                refs = tuple(
                    GUIDRef(sourced_id=rid, type=GUIDType.RESOURCE) for _, rid in resources
                )
                record = _replace(record, resources=refs)
        return record


def _replace(record: Record, **changes: Any) -> Record:
    return attrs.evolve(record, **changes)


def read_package(
    source: str | os.PathLike[str],
    *,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    max_line_size: int = DEFAULT_MAX_LINE_SIZE,
) -> CsvPackage:
    """Open a OneRoster 1.1 CSV package (a folder or a zip file) and read its manifest.

    Rows are read when :meth:`CsvPackage.iter_records` or :meth:`CsvPackage.load` asks,
    one line at a time. A file larger than ``max_file_size`` (for a zip member: once
    expanded, whatever its header declares) or with a line longer than ``max_line_size``
    is read up to that point and then ends with an error in :attr:`CsvPackage.errors`
    naming the file, the line and the limit.

    Args:
        source: the package folder or zip file.
        max_file_size: the most bytes read from one file; 4 GiB by default.
        max_line_size: the longest physical line read; 1 MiB by default.

    Raises:
        FileNotFoundError: ``source`` does not exist.
        CsvPackageError: ``source`` is not a folder or a readable zip file, has no
            manifest.csv, or holds one of the package's files twice.
        ValueError: a limit is not a positive number.
    """
    for name, value in (("max_file_size", max_file_size), ("max_line_size", max_line_size)):
        if type(value) is not int or value < 1:
            raise ValueError(f"{name} must be a positive number of bytes, not {value!r}")
    path = Path(source)
    return CsvPackage(path, open_source(path), Limits(max_file_size, max_line_size))
