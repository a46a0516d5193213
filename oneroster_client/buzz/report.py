"""Run reports: what a rostering or grade-passback run did, for admins and for the history.

A :class:`RunReport` holds the counts per entity and outcome (``created``, ``updated``,
``unchanged``, ``withdrawn``, ``deleted``, ``failed``, ``skipped``), every per-record
failure, every validation issue and every warning of one run. It renders as a compact
text summary (:meth:`RunReport.to_text`), stable JSON that reads back with
:meth:`RunReport.from_json`, a self-contained HTML page (:meth:`RunReport.to_html`) and
an e-mail with both (:meth:`RunReport.to_email`).

Reports name records by their sourcedId (the Buzz ``reference``) and never carry
secrets, names, usernames or e-mail addresses of the people rostered.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, ClassVar, Self

import attrs

from oneroster_client.buzz.desired import SourceRecord, ValidationIssue
from oneroster_client.errors import ConfigurationError

__all__ = [
    "COUNT_WORDS",
    "ENTITY_ORDER",
    "RecordFailure",
    "RunReport",
    "Section",
    "SyncReport",
]

COUNT_WORDS: tuple[str, ...] = (
    "created",
    "updated",
    "unchanged",
    "withdrawn",
    "deleted",
    "failed",
    "skipped",
)
"""The outcome words of :attr:`RunReport.counts`, in display order."""

ENTITY_ORDER: tuple[str, ...] = ("domains", "users", "courses", "enrollments", "observers")
"""Rostering entities in display order; other entity names follow alphabetically."""

Section = tuple[str, tuple[str, ...], list[tuple[Any, ...]]]
"""An extra report section: ``(title, column headers, rows)``."""

_TEXT_LIST_LIMIT = 20  # the text summary lists this many failures/issues, then a count
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@attrs.frozen(kw_only=True)
class RecordFailure:
    """One record a run could not handle, and why.

    Attributes:
        entity: ``"users"``, ``"courses"``, ``"enrollments"`` ... (or a passback entity).
        reference: the record's sourcedId (the Buzz ``reference``).
        action: what was attempted (``"create"``, ``"update"`` ...), when known.
        code: the Buzz code (``"BadRequest"``) or library error name, when known.
        message: what went wrong, without personal values.
    """

    entity: str
    reference: str
    action: str | None = None
    code: str | None = None
    message: str = ""

    def __str__(self) -> str:
        action = f" ({self.action})" if self.action else ""
        code = f"{self.code}: " if self.code else ""
        return f"{self.entity} {self.reference}{action}: {code}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The failure as JSON-ready data."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecordFailure:
        """Read back :meth:`to_dict`."""
        return cls(
            entity=str(data["entity"]),
            reference=str(data["reference"]),
            action=data.get("action"),
            code=data.get("code"),
            message=str(data.get("message") or ""),
        )


def _issue_to_dict(issue: ValidationIssue) -> dict[str, Any]:
    # ``raw`` (the record as read) holds personal data: never serialised.
    return {
        "collection": issue.source.collection,
        "sourcedId": issue.source.sourced_id,
        "field": issue.field,
        "reason": issue.reason,
    }


def _issue_from_dict(data: Mapping[str, Any]) -> ValidationIssue:
    source = SourceRecord(collection=str(data["collection"]), sourced_id=str(data["sourcedId"]))
    return ValidationIssue(source=source, field=data.get("field"), reason=str(data["reason"]))


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else _utc(value).isoformat()


def _from_iso(value: Any) -> datetime | None:
    return None if value is None else _utc(datetime.fromisoformat(str(value)))


def _show_time(value: datetime | None) -> str:
    return "-" if value is None else _utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def entity_order(names: Iterable[str]) -> list[str]:
    """Entity names in display order (rostering entities first)."""
    known = [name for name in ENTITY_ORDER if name in names]
    return known + sorted(set(names) - set(ENTITY_ORDER))


def _new_run_id() -> str:
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


@attrs.define(kw_only=True)
class RunReport:
    """What one run did: counts, failures, validation issues and warnings.

    Shared by rostering (:class:`SyncReport`) and grade passback. Counts use the words of
    :data:`COUNT_WORDS`; a validate-only run counts what a real run would do.

    Attributes:
        district: the district key (settings ``key``).
        kind: ``"sync"`` or ``"passback"``.
        mode: ``"validate-only"``, ``"full"`` or ``"incremental"``.
        run_id: unique id of the run (random unless given).
        started: when the run started (UTC).
        finished: when it ended; ``None`` while it runs.
        counts: entity -> outcome word -> number, e.g. ``{"users": {"created": 3}}``.
        held: the run's changes wait for an admin's approval.
        hold_reason: why they were held.
        failures: every record that failed, with its reference, code and message.
        skipped: records not attempted because something they depend on failed.
        issues: every OneRoster record that could not be mapped.
        warnings: anything else the admin should read.
        error: for a run that stopped early, the error that stopped it.
        notify: the addresses :meth:`to_email` sends to when no ``to`` is given.
    """

    TITLE: ClassVar[str] = "Buzz run"
    WORDS: ClassVar[tuple[str, ...]] = COUNT_WORDS
    """The outcome words of :attr:`counts` (a subclass may use its own)."""
    _TYPES: ClassVar[dict[str, type[RunReport]]] = {}
    _TIME_FIELDS: ClassVar[frozenset[str]] = frozenset({"started", "finished"})

    district: str
    kind: str = "sync"
    mode: str = "full"
    run_id: str = attrs.field(factory=_new_run_id)
    started: datetime = attrs.field(factory=_now)
    finished: datetime | None = None
    counts: dict[str, dict[str, int]] = attrs.field(factory=dict)
    held: bool = False
    hold_reason: str | None = None
    failures: list[RecordFailure] = attrs.field(factory=list)
    skipped: list[RecordFailure] = attrs.field(factory=list)
    issues: list[ValidationIssue] = attrs.field(factory=list)
    warnings: list[str] = attrs.field(factory=list)
    error: str | None = None
    notify: list[str] = attrs.field(factory=list)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        RunReport._TYPES[cls.__name__] = cls

    # --- state ------------------------------------------------------------------------

    @property
    def validate_only(self) -> bool:
        """True for a run that only validated and planned (nothing was written)."""
        return self.mode == "validate-only"

    @property
    def status(self) -> str:
        """``"running"``, ``"failed"``, ``"validated"``, ``"held"``, ``"partial"`` or ``"ok"``.

        ``failed``: the run stopped (:attr:`error` says why), e.g. nothing could be read.
        ``partial``: the run completed but some records failed, or part of a read failed
        (:meth:`read_problems`); a validate-only run whose read was incomplete, or that
        could not read some records, is partial too: it did not validate everything.
        Only ``ok`` is a success for the history: the next incremental run starts before
        a partial one.
        """
        if self.error is not None:
            return "failed"
        if self.finished is None:
            return "running"
        if self.validate_only:
            return "partial" if self.failures or self.read_problems() else "validated"
        if self.held:
            return "held"
        return "partial" if self.failures or self.skipped or self.read_problems() else "ok"

    def read_problems(self) -> list[str]:
        """Why a read of the run was incomplete, one line per problem (none here)."""
        return []

    @property
    def ok(self) -> bool:
        """True when the run finished, was not held, and nothing failed."""
        return self.status in ("ok", "validated") and not self.held

    def total(self, word: str) -> int:
        """The sum of one outcome word over every entity."""
        return sum(per_entity.get(word, 0) for per_entity in self.counts.values())

    def add_count(self, entity: str, word: str, number: int = 1) -> None:
        """Add ``number`` to ``counts[entity][word]``."""
        if word not in self.WORDS:
            raise ValueError(f"unknown count word {word!r}; use one of {', '.join(self.WORDS)}")
        per_entity = self.counts.setdefault(entity, {})
        per_entity[word] = per_entity.get(word, 0) + number

    def finish(self, when: datetime | None = None) -> None:
        """Mark the run finished (now, unless ``when`` is given)."""
        self.finished = _utc(when) if when is not None else _now()

    # --- JSON -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (what :meth:`to_json` writes)."""
        data: dict[str, Any] = {"type": type(self).__name__}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if field.name in self._TIME_FIELDS:
                value = _iso(value)
            elif field.name in ("failures", "skipped"):
                value = [failure.to_dict() for failure in value]
            elif field.name == "issues":
                value = [_issue_to_dict(issue) for issue in value]
            data[field.name] = value
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON with sorted keys; :meth:`from_json` reads it back."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Read back :meth:`to_dict`; the ``type`` key picks the report class."""
        target = RunReport._TYPES.get(str(data.get("type", cls.__name__)), RunReport)
        if not issubclass(target, cls):
            raise ValueError(f"a {data.get('type')} report is not a {cls.__name__}")
        values: dict[str, Any] = {}
        for field in attrs.fields(target):
            if field.name not in data:
                continue
            value = data[field.name]
            if field.name in target._TIME_FIELDS:
                value = _from_iso(value)
            elif field.name in ("failures", "skipped"):
                value = [RecordFailure.from_dict(item) for item in value]
            elif field.name == "issues":
                value = [_issue_from_dict(item) for item in value]
            values[field.name] = value
        return target(**values)

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        """Read a report written by :meth:`to_json`.

        Raises:
            ValueError: the text is not a report (or not one of this class).
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"not a run report: {error}") from None
        if not isinstance(data, dict) or "district" not in data:
            raise ValueError("not a run report: expected an object with a district")
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a run report: {error!r}") from None

    # --- text -------------------------------------------------------------------------

    def headline(self) -> str:
        """One line: what ran, for which district, and how it ended."""
        outcome = {
            "running": "still running",
            "failed": f"stopped: {self.error}",
            "validated": "validated only, nothing was written",
            "held": "held for approval, nothing was written",
            "partial": self._partial_outcome(),
            "ok": "completed",
        }[self.status]
        return f"{self.TITLE} for {self.district}: {outcome}"

    def _partial_outcome(self) -> str:
        parts = [f"{len(self.failures)} failed record(s)"] if self.failures else []
        problems = self.read_problems()
        if problems:
            parts.append(f"an INCOMPLETE read ({len(problems)} problem(s), listed below)")
        if self.validate_only:
            return f"validated only, nothing was written; with {' and '.join(parts)}"
        return f"completed with {' and '.join(parts or ['skipped records'])}"

    def detail_lines(self) -> list[str]:
        """Lines that describe the run beyond counts (subclasses add theirs)."""
        lines = [
            f"Run {self.run_id} ({self.kind}, {self.mode}), "
            f"started {_show_time(self.started)}, finished {_show_time(self.finished)}"
        ]
        if self.validate_only:
            lines.append("Validate-only: nothing was written; the counts are what a run would do.")
        if self.held:
            lines.append(f"HELD: {self.hold_reason or 'the plan needs approval'}")
        return lines

    def count_rows(self) -> list[tuple[str, list[int]]]:
        """``(entity, [number per word of WORDS])`` in display order."""
        return [
            (entity, [self.counts[entity].get(word, 0) for word in self.WORDS])
            for entity in entity_order(self.counts)
        ]

    def to_text(self, *, limit: int = _TEXT_LIST_LIMIT) -> str:
        """A compact plain-text summary for an admin (lists cut at ``limit`` entries)."""
        lines = [self.headline(), *self.detail_lines()]
        rows = self.count_rows()
        if rows:
            lines.append("")
            lines.append(f"{'':<12}" + "".join(f"{word:>11}" for word in self.WORDS))
            for entity, numbers in rows:
                lines.append(f"{entity:<12}" + "".join(f"{n:>11,}" for n in numbers))
        sections = [
            ("Failures", [str(f) for f in self.failures]),
            ("Skipped", [str(f) for f in self.skipped]),
            ("Validation issues", [str(issue) for issue in self.issues]),
            *(
                (title, [_text_row(row) for row in rows])
                for title, _, rows in self.extra_sections()
            ),
            ("Warnings", list(self.warnings)),
        ]
        for title, items in sections:
            lines.extend(_text_section(title, items, limit))
        return "\n".join(_CONTROL.sub(" ", line) for line in lines) + "\n"

    def extra_sections(self) -> list[Section]:
        """Further record lists a subclass reports, rendered after the validation issues
        in text and HTML: ``(title, column headers, rows)``. None here."""
        return []

    # --- HTML -------------------------------------------------------------------------

    def to_html(self) -> str:
        """A self-contained HTML page (no scripts, no external assets), everything escaped."""
        esc = html.escape
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{esc(self.headline())}</title>",
            f"<style>{_CSS}</style></head><body>",
            self._html_body(),
            "</body></html>",
        ]
        return "\n".join(parts) + "\n"

    def _repr_html_(self) -> str:
        """The report in a notebook: the page's content without the page around it."""
        return f'<div class="run-report">{self._html_body()}</div>'

    def _html_body(self) -> str:
        esc = html.escape
        parts = [
            f'<h1 class="{esc(self.status)}">{esc(self.headline())}</h1>',
            *(f"<p>{esc(line)}</p>" for line in self.detail_lines()),
            _html_counts(self.count_rows(), self.WORDS),
            _html_table(
                "Failures",
                ("Entity", "Reference", "Action", "Code", "Message"),
                [(f.entity, f.reference, f.action, f.code, f.message) for f in self.failures],
            ),
            _html_table(
                "Skipped",
                ("Entity", "Reference", "Action", "Reason"),
                [(f.entity, f.reference, f.action, f.message) for f in self.skipped],
            ),
            _html_table(
                "Validation issues",
                ("Record", "Field", "Reason"),
                [(str(i.source), i.field, i.reason) for i in self.issues],
            ),
            *(_html_table(title, headers, rows) for title, headers, rows in self.extra_sections()),
            _html_table("Warnings", ("Warning",), [(w,) for w in self.warnings]),
        ]
        return "\n".join(part for part in parts if part)

    # --- e-mail -----------------------------------------------------------------------

    def subject(self) -> str:
        """The e-mail subject: district, status and the main numbers."""
        numbers = ", ".join(
            f"{self.total(word):,} {word}"
            for word in self.WORDS
            if word not in ("unchanged", "skipped") and self.total(word)
        )
        text = f"[{self.TITLE}] {self.district}: {self.status}"
        if numbers:
            text += f" ({numbers})"
        return _CONTROL.sub(" ", text)

    def to_email(self, *, sender: str, to: Sequence[str] | None = None) -> EmailMessage:
        """The report as an e-mail: the text summary, with the HTML page as alternative.

        Args:
            sender: the ``From`` address.
            to: the recipients; :attr:`notify` (the settings' addresses) when ``None``.

        Raises:
            ConfigurationError: no recipients, or an address that is not a plain address.
        """
        recipients = list(self.notify if to is None else to)
        if not recipients:
            raise ConfigurationError(
                "no recipients for the run report: set notify in the settings or pass to="
            )
        for address in [sender, *recipients]:
            if not isinstance(address, str) or _CONTROL.search(address) or "@" not in address:
                raise ConfigurationError(
                    f"e-mail address {address!r} is not a plain address (name@host)"
                )
        message = EmailMessage()
        message["Subject"] = self.subject()
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message.set_content(self.to_text())
        message.add_alternative(self.to_html(), subtype="html")
        return message


def _text_section(title: str, items: Sequence[str], limit: int) -> list[str]:
    if not items:
        return []
    lines = ["", f"{title} ({len(items):,}):"]
    lines.extend(f"  - {item}" for item in items[:limit])
    if len(items) > limit:
        lines.append(f"  ... and {len(items) - limit:,} more (see the HTML or JSON report)")
    return lines


_CSS = (
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}"
    "td.n{text-align:right}th{background:#eee}"
    "h1.ok,h1.validated{color:#1a6e1a}h1.partial,h1.held{color:#a65e00}h1.failed{color:#b00}"
)


def _text_row(row: Sequence[Any]) -> str:
    return " | ".join(str(cell) for cell in row if cell is not None and cell != "")


def _html_counts(rows: Sequence[tuple[str, list[int]]], words: Sequence[str]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(word)}</th>" for word in words)
    body = "".join(
        f"<tr><th>{html.escape(entity)}</th>"
        + "".join(f'<td class="n">{number:,}</td>' for number in numbers)
        + "</tr>"
        for entity, numbers in rows
    )
    return f"<h2>Summary</h2><table><tr><th></th>{head}</tr>{body}</table>"


def _html_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(name)}</th>" for name in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('' if cell is None else str(cell))}</td>" for cell in row)
        + "</tr>"
        for row in rows
    )
    return f"<h2>{html.escape(title)} ({len(rows):,})</h2><table><tr>{head}</tr>{body}</table>"


@attrs.define(kw_only=True)
class SyncReport(RunReport):
    """The report of one rostering run (:func:`oneroster_client.buzz.sync`).

    Attributes:
        plan_id: the id of the plan (approve a held plan with ``approve=plan_id``).
        full_read: ``True`` when every OneRoster record was read; ``False`` for an
            incremental read of records changed since :attr:`since`.
        since: the start of an incremental read.
        written: ``True`` when the run wrote to Buzz.
        removals_suppressed: why no removals were planned, when they were not.
        incomplete_reasons: why the OneRoster or Buzz read was incomplete.
        records_read: how many OneRoster records were read (``None`` before the read).
    """

    TITLE: ClassVar[str] = "Buzz sync"
    _TIME_FIELDS: ClassVar[frozenset[str]] = frozenset({"started", "finished", "since"})

    plan_id: str | None = None
    full_read: bool = True
    since: datetime | None = None
    written: bool = False
    removals_suppressed: str | None = None
    incomplete_reasons: list[str] = attrs.field(factory=list)
    records_read: int | None = None

    def read_problems(self) -> list[str]:
        """Why the OneRoster or Buzz read was incomplete (:attr:`incomplete_reasons`)."""
        return list(self.incomplete_reasons)

    def detail_lines(self) -> list[str]:
        """Run, read scope, plan id, removals and why a read was incomplete."""
        lines = super().detail_lines()
        scope = (
            "full read of the district"
            if self.full_read
            else f"incremental read of records changed since {_show_time(self.since)}"
        )
        if self.error is not None and self.records_read is None:
            scope = f"{scope}, not done: the run stopped before it"
        elif self.incomplete_reasons:
            # Never "full read" alone when part of it (or all of it) failed.
            done = "FAILED, nothing was read" if self.records_read == 0 else "INCOMPLETE"
            scope = f"{scope}, {done} (see 'Incomplete read' below)"
        lines.append(f"Read: {scope}. Plan {self.plan_id or '-'}.")
        if self.removals_suppressed:
            lines.append(f"No removals planned: {self.removals_suppressed}")
        lines.extend(f"Incomplete read: {reason}" for reason in self.incomplete_reasons)
        return lines
