"""A file's header compiled into a plan that maps each row to a wire dict.

Header names are matched case-insensitively after trimming; a 1.0-era spelling is mapped
to its 1.1 column when the 1.1 column is not also present. ``metadata.<key>`` columns go
to ``metadata``; any other unknown column goes to the model's ``extra``.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Sequence
from typing import Any

import attrs

from oneroster_client.csv_package.errors import CsvRowError, CsvWarning, Reports, row_error, warning
from oneroster_client.csv_package.specs import (
    ATTRIBUTE_COLUMNS,
    LIST,
    PLAIN,
    REF,
    REFS,
    FileSpec,
)
from oneroster_client.models import Record, WireEnum

__all__ = ["CellError", "Plan", "compile_header", "has_value", "split"]

_USER_ID_TOKEN = re.compile(r"\{([^{}:]*):([^{}]*)\}")
_RAW_CELL_CHARS = 1_000
_RAW_SURPLUS_CELLS = 10


def split(text: str) -> list[str]:
    """The non-empty, trimmed items of a comma-separated cell."""
    return [part for part in (piece.strip() for piece in text.split(",")) if part]


def has_value(text: str) -> bool:
    """Whether a cell holds anything but spaces."""
    return bool(text) and not text.isspace()


class CellError(Exception):
    """One cell that cannot be read; becomes a CsvRowError naming its column."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def parse_user_ids(text: str, column: str, notes: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Read ``{type:identifier}`` tokens; bare ``type:identifier`` or ``identifier`` too."""
    found = [
        {"type": kind.strip(), "identifier": ident.strip()}
        for kind, ident in _USER_ID_TOKEN.findall(text)
    ]
    bare = split(_USER_ID_TOKEN.sub("", text))
    if bare:
        if any(ch in piece for piece in bare for ch in "{}"):
            raise CellError(
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
class Plan:
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
                wire[key] = [{"sourcedId": part, "type": ref_type} for part in split(value)]
        for index, key in self.lists:
            value = cells[index]
            if value and not value.isspace():
                wire[key] = split(value)
        if self.user_ids is not None:
            index, key, column = self.user_ids
            value = cells[index]
            if value and not value.isspace():
                wire[key] = parse_user_ids(value, column, notes)
        if self.metadata:
            metadata = {key: cells[i] for i, key in self.metadata if has_value(cells[i])}
            if metadata:
                wire["metadata"] = metadata
        return wire

    def raw(self, cells: Sequence[str]) -> dict[str, str]:
        """The row as a dict of column -> cell; surplus cells get positional names.

        Long cells are cut and far surplus cells dropped (see ``CsvRowError.raw``).
        """
        kept = cells[: len(self.headers) + _RAW_SURPLUS_CELLS]
        raw = {name: cell[:_RAW_CELL_CHARS] for name, cell in zip(self.headers, kept, strict=False)}
        for position in range(len(self.headers), len(kept)):
            raw[f"<cell {position + 1}>"] = kept[position][:_RAW_CELL_CHARS]
        return raw

    def column_of(self, field: str | None) -> str | None:
        """Map a converter field path (``orgs[0].sourcedId``) to its CSV column."""
        if not field:
            return None
        head = field.split(".", 1)[0].split("[", 1)[0]
        return self.wire_to_column.get(head)


@attrs.define
class _Header:
    """The header's names sorted out: 1.1 columns by index, metadata and vendor columns."""

    assigned: dict[str, int] = attrs.field(factory=dict)
    headers: list[str] = attrs.field(factory=list)
    metadata: list[tuple[int, str]] = attrs.field(factory=list)
    extra: list[tuple[int, str]] = attrs.field(factory=list)
    nameless: list[int] = attrs.field(factory=list)


def _match_header(
    spec: FileSpec,
    names: list[str],
    header_line: int,
    errors: Reports[CsvRowError],
    warnings: Reports[CsvWarning],
) -> _Header | None:
    """Sort the header's names; a 1.1 column given twice is a file error (``None``)."""
    file = spec.filename
    canonical = {column.name.lower(): column for column in spec.columns}
    present = {name.lower() for name in names}
    found = _Header()
    other_names: set[str] = set()
    for index, name in enumerate(names):
        folded = name.lower()
        target = canonical.get(folded)
        alias = spec.aliases.get(folded)
        if target is None and alias is not None and alias.lower() not in present:
            target = canonical[alias.lower()]  # a 1.0-era spelling, unambiguous here
        if target is not None:
            if target.name in found.assigned:
                reason = "the column appears twice; the file was not read"
                errors.append(row_error(file, header_line, target.name, reason))
                return None
            found.assigned[target.name] = index
            found.headers.append(target.name)
        elif not name:
            found.headers.append(f"<column {index + 1}>")
            found.nameless.append(index + 1)
        elif name in other_names:
            found.headers.append(name)
            reason = "the column appears twice; the second is ignored"
            warnings.append(warning(file, header_line, name, reason))
        else:
            found.headers.append(name)
            other_names.add(name)
            if folded.startswith("metadata."):
                found.metadata.append((index, name[len("metadata.") :].strip()))
            else:
                found.extra.append((index, name))
    return found


def _report_nameless(
    file: str, header_line: int, nameless: list[int], warnings: Reports[CsvWarning]
) -> None:
    # One warning for all of them: a header of a million commas must not give a million.
    if not nameless:
        return
    shown = ", ".join(str(position) for position in nameless[:10])
    if len(nameless) == 1:
        reason = f"column {shown} has no name; its cells are ignored"
    else:
        more = f" and {len(nameless) - 10} more" if len(nameless) > 10 else ""
        reason = f"columns {shown}{more} have no name; their cells are ignored"
    warnings.append(warning(file, header_line, None, reason))


def _missing_columns(
    spec: FileSpec,
    assigned: dict[str, int],
    header_line: int,
    *,
    delta: bool,
    errors: Reports[CsvRowError],
) -> bool:
    """Report each required column the header lacks; return whether any is missing."""
    needed = ["sourcedId", *spec.required]
    if delta:
        needed += ["status", "dateLastModified"]
    missing = [name for name in needed if name not in assigned]
    for name in missing:
        reason = "required column is missing; the file was not read"
        errors.append(row_error(spec.filename, header_line, name, reason))
    return bool(missing)


def _plan(spec: FileSpec, found: _Header, width: int) -> Plan:
    """Index lists by column kind, for the 1.1 columns the header has."""
    assigned = found.assigned
    plain: list[tuple[int, str]] = []
    refs: list[tuple[int, str, str]] = []
    ref_lists: list[tuple[int, str, str]] = []
    lists: list[tuple[int, str]] = []
    user_ids: tuple[int, str, str] | None = None
    for column in spec.columns:
        index = assigned.get(column.name)
        if index is None:
            continue
        if column.kind == PLAIN:
            plain.append((index, column.wire))
        elif column.kind == REF:
            refs.append((index, column.wire, column.ref_type))
        elif column.kind == REFS:
            ref_lists.append((index, column.wire, column.ref_type))
        elif column.kind == LIST:
            lists.append((index, column.wire))
        else:
            user_ids = (index, column.wire, column.name)
    enum_attributes: tuple[tuple[str, bool], ...] = ()
    if spec.model is not None:
        enum_attributes = tuple(
            (name, sequence)
            for name, sequence in _enum_attributes(spec.model).items()
            if ATTRIBUTE_COLUMNS[spec.name].get(name) in assigned
        )
    return Plan(
        file=spec.filename,
        headers=found.headers,
        width=width,
        sourced_id=assigned["sourcedId"],
        status=assigned.get("status"),
        date_last_modified=assigned.get("dateLastModified"),
        plain=tuple(plain),
        refs=tuple(refs),
        ref_lists=tuple(ref_lists),
        lists=tuple(lists),
        user_ids=user_ids,
        metadata=tuple(found.metadata),
        extra=tuple(found.extra),
        by_name=assigned,
        wire_to_column={column.wire: column.name for column in spec.columns},
        enum_attributes=enum_attributes,
    )


def compile_header(
    spec: FileSpec,
    header: list[str],
    header_line: int,
    *,
    delta: bool,
    errors: Reports[CsvRowError],
    warnings: Reports[CsvWarning],
) -> Plan | None:
    """Compile the header of a file, or report file-level errors and return ``None``."""
    names = [cell.strip().lstrip("\ufeff").strip() for cell in header]
    found = _match_header(spec, names, header_line, errors, warnings)
    if found is None:
        return None
    _report_nameless(spec.filename, header_line, found.nameless, warnings)
    if _missing_columns(spec, found.assigned, header_line, delta=delta, errors=errors):
        return None
    return _plan(spec, found, len(header))
