"""Repairs for what Skyward's OneRoster API sends, applied to raw records and always reported.

Each page of a listing passes through :class:`SkywardQuirks` before records are read into
models (the client's ``preprocessor`` hook). Every change is recorded in a
:class:`QuirkReport`, reachable with :func:`quirk_report`; nothing is dropped silently.

Known Skyward behaviour handled here (as reported by Skyward districts and vendors):

* **duplicate staff rows**: SMS can send several rows for one staff member (same
  ``sourcedId``, role teacher, administrator or aide), typically one per school. Rows on
  the same page are merged: orgs (and other reference lists) are united, and for every
  other field the first non-empty value is kept. A repeat that arrives on a later page,
  after the first row was already handed out, is dropped and reported as unmerged.
* **repeated periods**: ``periods`` of a class lists the same period more than once;
  repeats are removed, order kept.
* **teachers without identifier**: ``identifier`` is filled from ``sourcedId``.
* **users without a name**: ``givenName``/``familyName`` missing or null become ``""``
  so the record can be read; the user is kept, never dropped.
* **inconsistent status spellings**: ``"TobeDeleted"``, ``"deleted"``, ``"inactive"``,
  ``"Active"`` ... become the OneRoster 1.1 values ``active`` / ``tobedeleted``.
* **district prefixes in sourcedIds** (``ISD123-usr-1``): kept exactly as sent; ids are
  never rewritten.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from oneroster_client.client import OneRosterClient
from oneroster_client.endpoints import Operation
from oneroster_client.models import Class, User

__all__ = [
    "DUPLICATE_STAFF_MERGED",
    "DUPLICATE_STAFF_UNMERGED",
    "IDENTIFIER_FROM_SOURCED_ID",
    "MISSING_NAME",
    "QUIRKS",
    "REPEATED_PERIODS",
    "STATUS_NORMALISED",
    "QuirkEntry",
    "QuirkReport",
    "SkywardQuirks",
    "quirk_report",
]

logger = logging.getLogger("skyward_adapter")

DUPLICATE_STAFF_MERGED = "duplicate_staff_merged"
DUPLICATE_STAFF_UNMERGED = "duplicate_staff_unmerged"
REPEATED_PERIODS = "repeated_periods"
IDENTIFIER_FROM_SOURCED_ID = "identifier_from_sourced_id"
MISSING_NAME = "missing_name"
STATUS_NORMALISED = "status_normalised"

QUIRKS: dict[str, str] = {
    DUPLICATE_STAFF_MERGED: "several rows for one staff member on a page, merged into one",
    DUPLICATE_STAFF_UNMERGED: "a repeated staff row on a later page, dropped (not merged)",
    REPEATED_PERIODS: "a class listing the same period more than once, repeats removed",
    IDENTIFIER_FROM_SOURCED_ID: "a teacher without identifier, filled from sourcedId",
    MISSING_NAME: "a user without givenName or familyName, kept with an empty name",
    STATUS_NORMALISED: "a status spelled another way, read as active or tobedeleted",
}
"""Every quirk this module repairs, with what it means."""

_STAFF_ROLES = frozenset({"teacher", "administrator", "aide"})
_STATUS_SPELLINGS = {
    "active": "active",
    "tobedeleted": "tobedeleted",
    "tobedelete": "tobedeleted",
    "todelete": "tobedeleted",
    "deleted": "tobedeleted",
    "inactive": "tobedeleted",
}
# Reference lists merged as a union by sourcedId when duplicate staff rows are merged.
_REFERENCE_LISTS = ("orgs", "agents")


@attrs.frozen
class QuirkEntry:
    """One repair: which record, which quirk, what was done.

    Attributes:
        quirk: one of the names in :data:`QUIRKS`.
        sourced_id: the record's sourcedId (``None`` when it had none).
        collection: the path of the listing it came from, e.g. ``/users``.
        detail: what was changed, in words (never personal values).
    """

    quirk: str
    sourced_id: str | None
    collection: str
    detail: str

    def __str__(self) -> str:
        return f"{self.collection} {self.sourced_id}: {self.quirk}: {self.detail}"


class QuirkReport:
    """What the quirk repairs changed, for one client; thread-safe.

    Counts are always complete; individual entries are kept up to ``max_entries`` (the
    rest are counted in :attr:`dropped_entries`) so a long-running sync cannot grow it
    without bound.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: list[QuirkEntry] = []
        self._counts: Counter[str] = Counter()
        self.dropped_entries = 0
        self._lock = threading.Lock()

    def add(self, quirk: str, sourced_id: str | None, collection: str, detail: str) -> None:
        """Record one repair."""
        entry = QuirkEntry(quirk, sourced_id, collection, detail)
        with self._lock:
            self._counts[quirk] += 1
            if len(self._entries) < self.max_entries:
                self._entries.append(entry)
            else:
                self.dropped_entries += 1
        logger.debug("Skyward quirk repaired: %s", entry)

    @property
    def entries(self) -> tuple[QuirkEntry, ...]:
        """The repairs recorded, in order."""
        with self._lock:
            return tuple(self._entries)

    def counts(self) -> dict[str, int]:
        """Number of repairs per quirk."""
        with self._lock:
            return dict(self._counts)

    def for_quirk(self, quirk: str) -> list[QuirkEntry]:
        """The entries of one quirk."""
        return [entry for entry in self.entries if entry.quirk == quirk]

    def sourced_ids(self, quirk: str) -> list[str]:
        """The sourcedIds repaired for one quirk, in order (repeats kept)."""
        return [entry.sourced_id for entry in self.for_quirk(quirk) if entry.sourced_id]

    def clear(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._entries.clear()
            self._counts.clear()
            self.dropped_entries = 0

    def __len__(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def __iter__(self) -> Iterator[QuirkEntry]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"QuirkReport({self.counts()!r})"

    def __str__(self) -> str:
        counts = self.counts()
        if not counts:
            return "Skyward quirks: none repaired"
        lines = ["Skyward quirks repaired:"]
        for quirk, count in sorted(counts.items()):
            lines.append(f"  {quirk}: {count} ({QUIRKS.get(quirk, quirk)})")
        return "\n".join(lines)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _ref_id(value: Any) -> Any:
    return value.get("sourcedId") if isinstance(value, dict) else value


def _union(first: list[Any], second: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    merged = list(first)
    seen = {repr(key(item)) for item in merged}
    for item in second:
        marker = repr(key(item))
        if marker not in seen:
            seen.add(marker)
            merged.append(item)
    return merged


def _merge_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One record from several rows of the same staff member."""
    merged = dict(rows[0])
    for row in rows[1:]:
        for name, value in row.items():
            current = merged.get(name)
            if name in _REFERENCE_LISTS and isinstance(current, list) and isinstance(value, list):
                merged[name] = _union(current, value, _ref_id)
            elif name == "userIds" and isinstance(current, list) and isinstance(value, list):
                merged[name] = _union(
                    current,
                    value,
                    lambda item: (
                        (item.get("type"), item.get("identifier"))
                        if isinstance(item, dict)
                        else item
                    ),
                )
            elif name == "grades" and isinstance(current, list) and isinstance(value, list):
                merged[name] = _union(current, value, lambda item: item)
            elif name == "metadata" and isinstance(current, dict) and isinstance(value, dict):
                merged[name] = {**value, **{k: v for k, v in current.items() if not _empty(v)}}
            elif _empty(current) and not _empty(value):
                merged[name] = value
    return merged


def _fold(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch.isalnum())


def _role(record: dict[str, Any]) -> str:
    role = record.get("role")
    return role.strip().lower() if isinstance(role, str) else ""


class _ListingState:
    """What one listing has handed out so far, to spot staff rows repeated across pages."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first_id: object = None
        self.pages = 0
        self.staff_orgs: dict[str, list[str]] = {}

    def start_page(self, records: list[Any]) -> None:
        first = records[0].get("sourcedId") if records and isinstance(records[0], dict) else None
        # The client calls the preprocessor once per listing, and a listing can be read
        # again (or first() then iterated): a page that starts like the first page did is
        # a new pass, so what the old pass handed out no longer counts.
        if self.pages and first is not None and first == self.first_id:
            self.staff_orgs.clear()
            self.pages = 0
        if self.pages == 0:
            self.first_id = first
        self.pages += 1


class SkywardQuirks:
    """The quirk repairs as a client ``preprocessor``; ``connect()`` installs one.

    ``OneRosterClient(..., preprocessor=SkywardQuirks())`` repairs every page of every
    listing; what was repaired accumulates in :attr:`report`.

    Args:
        report: where to record repairs; a new :class:`QuirkReport` by default.
    """

    def __init__(self, report: QuirkReport | None = None) -> None:
        self.report = report if report is not None else QuirkReport()

    def __repr__(self) -> str:
        return f"SkywardQuirks({self.report!r})"

    def __call__(self, op: Operation) -> Callable[[list[Any]], list[Any]] | None:
        """The repair function for one listing, or ``None`` for single-record reads."""
        if not op.collection:
            return None
        collection = op.path
        if op.model is User:
            state = _ListingState()

            def repair_users(records: list[Any]) -> list[Any]:
                return self._repair_users(records, collection, state)

            return repair_users
        if op.model is Class:
            return lambda records: self._repair_classes(records, collection)
        return lambda records: self._repair_statuses(records, collection)

    # --- repairs ------------------------------------------------------------------------

    def _repair_statuses(self, records: list[Any], collection: str) -> list[Any]:
        for record in records:
            if isinstance(record, dict):
                self._normalise_status(record, collection)
        return records

    def _normalise_status(self, record: dict[str, Any], collection: str) -> None:
        status = record.get("status")
        if not isinstance(status, str):
            return
        spec = _STATUS_SPELLINGS.get(_fold(status))
        if spec is not None and spec != status:
            record["status"] = spec
            self.report.add(
                STATUS_NORMALISED,
                _sourced_id(record),
                collection,
                f"status {status!r} read as {spec!r}",
            )

    def _repair_classes(self, records: list[Any], collection: str) -> list[Any]:
        for record in records:
            if not isinstance(record, dict):
                continue
            self._normalise_status(record, collection)
            periods: Any = record.get("periods")
            as_text = isinstance(periods, str)
            values = periods
            if as_text:
                values = [part.strip() for part in str(periods).split(",") if part.strip()]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                continue
            unique = list(dict.fromkeys(values))
            if len(unique) < len(values):
                record["periods"] = ",".join(unique) if as_text else unique
                repeated = sorted({str(v) for v in values if values.count(v) > 1})
                self.report.add(
                    REPEATED_PERIODS,
                    _sourced_id(record),
                    collection,
                    f"periods {', '.join(repeated)} listed more than once; repeats removed",
                )
        return records

    def _repair_users(self, records: list[Any], collection: str, state: _ListingState) -> list[Any]:
        with state.lock:
            state.start_page(records)
            for record in records:
                if isinstance(record, dict):
                    self._normalise_status(record, collection)
            records = self._merge_staff(records, collection, state)
        for record in records:
            if isinstance(record, dict):
                self._fill_identifier(record, collection)
                self._fill_names(record, collection)
        return records

    def _merge_staff(self, records: list[Any], collection: str, state: _ListingState) -> list[Any]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            sourced_id = _staff_id(record)
            if sourced_id is not None:
                groups.setdefault(sourced_id, []).append(record)
        output: list[Any] = []
        placed: set[str] = set()
        for record in records:
            sourced_id = _staff_id(record)
            if sourced_id is None:
                output.append(record)
                continue
            if sourced_id in placed:
                continue  # merged into the first row of this page
            placed.add(sourced_id)
            rows = groups[sourced_id]
            merged = _merge_rows(rows) if len(rows) > 1 else record
            if len(rows) > 1:
                orgs = _org_ids(merged)
                self.report.add(
                    DUPLICATE_STAFF_MERGED,
                    sourced_id,
                    collection,
                    f"{len(rows)} rows for this staff member merged into one"
                    + (f"; orgs {', '.join(orgs)}" if orgs else ""),
                )
            earlier = state.staff_orgs.get(sourced_id)
            if earlier is not None:
                extra = [org for org in _org_ids(merged) if org not in earlier]
                self.report.add(
                    DUPLICATE_STAFF_UNMERGED,
                    sourced_id,
                    collection,
                    "another row for this staff member arrived on a later page, after the "
                    "first had been returned; it was dropped"
                    + (f" (its orgs not merged: {', '.join(extra)})" if extra else ""),
                )
                continue
            state.staff_orgs[sourced_id] = _org_ids(merged)
            output.append(merged)
        return output

    def _fill_identifier(self, record: dict[str, Any], collection: str) -> None:
        if _role(record) != "teacher" or not _empty(record.get("identifier")):
            return
        sourced_id = record.get("sourcedId")
        if not isinstance(sourced_id, str) or not sourced_id.strip():
            return
        record["identifier"] = sourced_id.strip()
        self.report.add(
            IDENTIFIER_FROM_SOURCED_ID,
            sourced_id,
            collection,
            "teacher had no identifier; identifier set to the sourcedId",
        )

    def _fill_names(self, record: dict[str, Any], collection: str) -> None:
        missing = []
        for name in ("givenName", "familyName"):
            value = record.get(name)
            if value is None:
                record[name] = ""
                missing.append(name)
            elif isinstance(value, str) and not value.strip():
                missing.append(name)
        if missing:
            self.report.add(
                MISSING_NAME,
                _sourced_id(record),
                collection,
                f"{' and '.join(missing)} missing or empty; user kept with an empty name",
            )


def _sourced_id(record: dict[str, Any]) -> str | None:
    value = record.get("sourcedId")
    return value if isinstance(value, str) else None


def _staff_id(record: Any) -> str | None:
    if not isinstance(record, dict) or _role(record) not in _STAFF_ROLES:
        return None
    value = record.get("sourcedId")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _org_ids(record: dict[str, Any]) -> list[str]:
    orgs = record.get("orgs")
    if not isinstance(orgs, list):
        return []
    return [str(_ref_id(org)) for org in orgs if _ref_id(org) is not None]


def quirk_report(client: OneRosterClient) -> QuirkReport:
    """The :class:`QuirkReport` of a client made by :func:`skyward_adapter.connect`.

    Raises:
        ValueError: the client has no Skyward quirk repairs installed.
    """
    preprocessor = client.preprocessor
    if isinstance(preprocessor, SkywardQuirks):
        return preprocessor.report
    raise ValueError(
        "this client has no Skyward quirk repairs: create it with skyward_adapter.connect() "
        "or pass preprocessor=SkywardQuirks()"
    )
