"""Writing a OneRoster 1.1 CSV package: one file per collection, streamed row by row.

Writing is exact: columns in the 1.1 order, ``true``/``false``, lists comma-joined in one
cell, ``{type:identifier}`` user ids, the converter's date formats. ``Course.resources``
and ``Class.resources`` become rows of ``courseResources.csv`` and ``classResources.csv``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal

from oneroster_client import converter
from oneroster_client.csv_package.errors import CsvTargetError, CsvWriteError
from oneroster_client.csv_package.specs import (
    COLLECTIONS,
    DEFAULT_SYSTEM_NAME,
    FILE_COLUMNS,
    LINKS,
    LIST,
    MANIFEST,
    MANIFEST_VERSION,
    ONEROSTER_VERSION,
    PLAIN,
    REF,
    REFS,
    RESERVED,
    SPECS,
    FileSpec,
)
from oneroster_client.models import Record

__all__ = ["check_target", "write_package"]


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
            # The limit is a C long: 32 bits on some platforms, where sys.maxsize overflows.
            limit = csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
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
            raise CsvWriteError(
                f"{where()}, column {column}: list item {item!r} cannot be written"
                " (the CSV binding separates list items with commas)"
            )
    return ",".join(parts)


def _user_id_tokens(value: list[dict[str, Any]], where: Callable[[], str], column: str) -> str:
    tokens = []
    for item in value:
        kind, identifier = str(item.get("type", "")), str(item.get("identifier", ""))
        if any(ch in kind for ch in "{}:") or any(ch in identifier for ch in "{}"):
            raise CsvWriteError(
                f"{where()}, column {column}: a user id containing '{{', '}}' or (in its type)"
                " ':' cannot be written as a {type:identifier} token"
            )
        tokens.append(f"{{{kind}:{identifier}}}")
    return ",".join(tokens)


def _cells(spec: FileSpec, wire: Mapping[str, Any], where: Callable[[], str]) -> list[str]:
    cells: list[str] = []
    for column in spec.columns:
        value = wire.get(column.wire)
        if value is None:
            cells.append("")
        elif column.kind == PLAIN:
            if type(value) is str:
                cells.append(value)
            elif value is True or value is False:
                cells.append("true" if value else "false")
            else:
                cells.append(repr(value) if isinstance(value, float) else str(value))
        elif column.kind == REF:
            cells.append(value["sourcedId"])
        elif column.kind == REFS:
            cells.append(_join((ref["sourcedId"] for ref in value), where, column.name))
        elif column.kind == LIST:
            cells.append(_join(value, where, column.name))
        else:
            cells.append(_user_id_tokens(value, where, column.name))
    return cells


def _dynamic_cells(
    spec: FileSpec, record: Record, where: Callable[[], str]
) -> list[tuple[str, str]]:
    dynamic = [
        (f"metadata.{key}", _cell_text(value, where, f"metadata.{key}"))
        for key, value in (record.metadata or {}).items()
    ]
    if record.extra:
        reserved = RESERVED[spec.name]
        for key, value in record.extra.items():
            folded = key.strip().lower()
            if folded in reserved or folded.startswith("metadata."):
                raise CsvWriteError(
                    f"{where()}: extra field {key!r} would be read back as a 1.1 or metadata"
                    " column; rename it"
                )
            dynamic.append((key, _cell_text(value, where, key)))
    return dynamic


def _cell_text(value: Any, where: Callable[[], str], column: str) -> str:
    try:
        return _text(value)
    except (RecursionError, ValueError, TypeError) as exc:
        # json.dumps fails on values nested past the recursion limit or holding a cycle.
        kind = "nested too deeply" if isinstance(exc, RecursionError) else "not writable"
        raise CsvWriteError(
            f"{where()}, column {column}: the {type(value).__name__} value is {kind} as text"
        ) from None


def _write_collection(
    staging: Path,
    collection: str,
    records: Iterable[Record],
    *,
    delta: bool,
    sheets: list[_Sheet],
) -> list[str]:
    """Stream one collection (and its link file) to ``staging``; return the files written."""
    spec = SPECS[collection]
    model = spec.model
    assert model is not None
    sheet = _Sheet(staging / spec.filename, FILE_COLUMNS[spec.filename])
    sheets.append(sheet)
    link: _Sheet | None = None
    link_ids: set[str] = set()
    if collection in LINKS:
        link_spec = SPECS[LINKS[collection][0]]
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
            raise CsvWriteError(
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
    overwrite: bool = False,
) -> Path:
    """Write records as a OneRoster 1.1 CSV package, streaming them row by row.

    One file is written per non-empty collection (plus ``courseResources.csv`` and
    ``classResources.csv`` for course and class resources) and ``manifest.csv`` lists all
    13 data files as ``bulk``/``delta``/``absent``. Files are staged and moved into place at
    the end, ``manifest.csv`` last, so that a package is never left with a manifest that
    lists files it does not hold.

    The target must be new (a missing or empty folder, a zip file that does not exist)
    unless ``overwrite`` is true. Nothing is ever deleted that the package does not
    replace: with ``overwrite``, a folder's other files (``notes.txt``) are kept, the
    package files of the collections written are replaced, and a folder that holds the
    files of *other* collections (an earlier, fuller package) is refused, since keeping
    them would contradict the new manifest and deleting them would lose them. The target
    is checked before any record is read.

    Args:
        target: a folder, or a file name ending in ``.zip`` for a zip package.
        records: collection name (see :data:`COLLECTIONS`) -> records of its model.
        mode: ``bulk`` (status and dateLastModified written when set) or ``delta`` (both
            required on every record).
        source_system_name: ``source.systemName`` in the manifest.
        source_system_code: ``source.systemCode`` in the manifest.
        zip: write a zip (``True``) or a folder (``False``); by default a zip when
            ``target`` ends in ``.zip``.
        overwrite: replace a zip file, or the package files of these collections in a
            folder that already holds files.

    Returns:
        The path of the package written.

    Raises:
        CsvWriteError: in delta mode a record without status or dateLastModified; a value
            the CSV binding cannot carry (a list item with a comma, a user id with braces,
            a vendor value nested too deeply to write as text). The message names file,
            record and column. It is a :class:`ValueError`.
        CsvTargetError: the target exists (without ``overwrite``), is of the wrong kind
            (a file where a folder is wanted), or holds package files of collections not
            written. Raised before any record is read.
        ValueError: an unknown collection or mode.
        TypeError: a record of the wrong model for its collection.
    """
    _check_arguments(records, mode)
    path = Path(target)
    as_zip = zip if zip is not None else path.suffix.lower() == ".zip"
    replaced = check_target(path, records, as_zip=as_zip, overwrite=overwrite)
    staging = _staging_folder(path, as_zip=as_zip)
    sheets: list[_Sheet] = []
    try:
        written: list[str] = []
        for collection in COLLECTIONS:
            if collection in records:
                written += _write_collection(
                    staging, collection, records[collection], delta=mode == "delta", sheets=sheets
                )
        _write_manifest(staging / MANIFEST, written, mode, source_system_name, source_system_code)
        if as_zip:
            _zip_package(staging, path, written)
        else:
            _move_package(staging, path, written, replaced)
    finally:
        for sheet in sheets:
            sheet.discard()
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _check_arguments(records: Mapping[str, Iterable[Record]], mode: str) -> None:
    if mode not in ("bulk", "delta"):
        raise ValueError(f"mode must be 'bulk' or 'delta', not {mode!r}")
    unknown = [name for name in records if name not in COLLECTIONS]
    if unknown:
        raise ValueError(
            f"unknown OneRoster collections {unknown}; expected names from {list(COLLECTIONS)}"
        )


def _package_files(collections: Iterable[str]) -> set[str]:
    """The lower-cased file names the package of these collections may write."""
    names = {MANIFEST}
    for collection in collections:
        names.add(SPECS[collection].filename.lower())
        if collection in LINKS:
            names.add(SPECS[LINKS[collection][0]].filename.lower())
    return names


def check_target(
    path: Path, collections: Iterable[str], *, as_zip: bool, overwrite: bool
) -> list[str]:
    """Check that a package of ``collections`` may be written to ``path``.

    Returns:
        The names of the folder's files that writing will replace (or remove, for a
        collection that turns out empty): package files of these collections only.

    Raises:
        CsvTargetError: see :func:`write_package`.
    """
    if as_zip:
        if path.is_dir():
            raise CsvTargetError(f"{path} is a folder, not a zip file: choose a file name")
        if path.exists() and not overwrite:
            raise CsvTargetError(
                f"{path} already exists: choose a new file name, or pass overwrite=True "
                "to replace it"
            )
        return []
    if path.exists() and not path.is_dir():
        raise CsvTargetError(
            f"{path} is a file, not a folder: choose a folder (or a name ending in .zip)"
        )
    entries = sorted(entry.name for entry in os.scandir(path)) if path.is_dir() else []
    if not entries:
        return []
    shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
    if not overwrite:
        raise CsvTargetError(
            f"the folder {path} is not empty (it holds {shown}): choose a new or empty "
            "folder, or pass overwrite=True to replace the package files written there "
            "(other files are kept)"
        )
    ours = _package_files(collections)
    every = {name.lower() for name in FILE_COLUMNS} | {MANIFEST}
    others = [
        name
        for name in entries
        if name.lower() in every and name.lower() not in ours and (path / name).is_file()
    ]
    if others:
        raise CsvTargetError(
            f"the folder {path} holds {', '.join(others)} of an earlier package, which this "
            "package would not replace: keeping them would contradict its manifest. Write "
            "those collections too, remove the files, or choose a new or empty folder"
        )
    return [name for name in entries if name.lower() in ours and (path / name).is_file()]


def _staging_folder(path: Path, *, as_zip: bool) -> Path:
    """A fresh folder beside (zip) or inside (folder) the target, so moves stay on one disk."""
    parent = path.parent if as_zip else path
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".oneroster-csv-", dir=parent))


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
        writer.writerow(["manifest.version", MANIFEST_VERSION])
        writer.writerow(["oneroster.version", ONEROSTER_VERSION])
        for spec in SPECS.values():
            writer.writerow([f"file.{spec.name}", mode if spec.filename in written else "absent"])
        writer.writerow(["source.systemName", system_name or DEFAULT_SYSTEM_NAME])
        writer.writerow(["source.systemCode", system_code or ""])


def _zip_package(staging: Path, path: Path, written: Sequence[str]) -> None:
    partial = path.with_name(path.name + ".part")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(staging / MANIFEST, MANIFEST)
            for name in written:
                archive.write(staging / name, name)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _move_package(
    staging: Path, folder: Path, written: Sequence[str], replaced: Sequence[str]
) -> None:
    # The old manifest goes first and the new one comes last: if a move fails half way,
    # the folder has no manifest (not a package) rather than one listing missing files.
    (folder / MANIFEST).unlink(missing_ok=True)
    for name in replaced:
        # A file of a collection written that is now empty (or spelt Users.csv) would
        # contradict the new manifest; only files of the collections written are here.
        if name != MANIFEST and name not in written:
            (folder / name).unlink(missing_ok=True)
    for name in written:
        os.replace(staging / name, folder / name)
    os.replace(staging / MANIFEST, folder / MANIFEST)
