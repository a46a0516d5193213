"""The report of a grade passback run.

Counts are per SIS collection (``categories``, ``lineItems``, ``results``) with the words
of :data:`PASSBACK_WORDS`: ``created`` (201), ``replaced`` (200: the SIS had it and took
the new values), ``unchanged`` (the same as last sent, not sent again), ``refused`` (the
profile cannot send it; see :attr:`PassbackReport.refusals`), ``failed`` (the SIS refused
it or did not apply it; see ``failures``) and ``skipped`` (not attempted because what it
belongs to failed; see ``skipped``). A validate-only run counts ``created`` for records
never sent and ``replaced`` for records that changed since they were sent.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar

import attrs

from oneroster_client.buzz.report import (
    _CSS,
    RecordFailure,
    RunReport,
    _html_table,
    _show_time,
    _text_section,
)

__all__ = ["PASSBACK_ENTITIES", "PASSBACK_WORDS", "PassbackReport"]

PASSBACK_WORDS: tuple[str, ...] = (
    "created",
    "replaced",
    "unchanged",
    "refused",
    "failed",
    "skipped",
)
"""The outcome words of a passback report's counts, in display order."""

PASSBACK_ENTITIES: tuple[str, ...] = ("categories", "lineItems", "results")
"""The SIS collections a passback writes, in display order."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _failures(value: Iterable[Any]) -> list[RecordFailure]:
    return [
        item if isinstance(item, RecordFailure) else RecordFailure.from_dict(item) for item in value
    ]


@attrs.define(kw_only=True)
class PassbackReport(RunReport):
    """What one grade passback run did (:func:`pass_back_grades`).

    Attributes:
        profile: the SIS profile used (``"oneroster"``, ``"skyward"``).
        refusals: every record the profile could not send, with the reason.
        ungraded: scores Buzz lists without a grade yet (nothing to send).
        older: scores scored before :attr:`since`, not looked at.
        since: the start of an incremental run (scores scored since then).
        classes: the number of class courses read.
        written: ``True`` when the run wrote to the SIS.
        notes: changes made to what was sent that do not change a grade (a shortened
            title), one per record.
    """

    TITLE: ClassVar[str] = "Grade passback"
    _TIME_FIELDS: ClassVar[frozenset[str]] = frozenset({"started", "finished", "since"})

    kind: str = "passback"
    profile: str = "oneroster"
    refusals: list[RecordFailure] = attrs.field(factory=list, converter=_failures)
    ungraded: int = 0
    older: int = 0
    since: datetime | None = None
    classes: int = 0
    written: bool = False
    notes: list[str] = attrs.field(factory=list)

    def add_count(self, entity: str, word: str, number: int = 1) -> None:
        """Add ``number`` to ``counts[entity][word]`` (a word of :data:`PASSBACK_WORDS`)."""
        if word not in PASSBACK_WORDS:
            raise ValueError(f"unknown count word {word!r}; use one of {', '.join(PASSBACK_WORDS)}")
        per_entity = self.counts.setdefault(entity, {})
        per_entity[word] = per_entity.get(word, 0) + number

    def refuse(self, refusal: RecordFailure) -> None:
        """Record a refusal and count it."""
        self.refusals.append(refusal)
        self.add_count(refusal.entity, "refused")

    def count_rows(self) -> list[tuple[str, list[int]]]:
        """``(entity, [number per word of PASSBACK_WORDS])`` in display order."""
        known = [name for name in PASSBACK_ENTITIES if name in self.counts]
        names = known + sorted(set(self.counts) - set(PASSBACK_ENTITIES))
        return [(name, [self.counts[name].get(w, 0) for w in PASSBACK_WORDS]) for name in names]

    def headline(self) -> str:
        """One line: the district, how the run ended, and refusals if any."""
        line = super().headline()
        if self.refusals and self.finished is not None and self.error is None:
            line += f"; {len(self.refusals)} record(s) refused by the {self.profile} profile"
        return line

    def subject(self) -> str:
        """The e-mail subject: district, status and the main numbers."""
        numbers = ", ".join(
            f"{self.total(word):,} {word}"
            for word in ("created", "replaced", "refused", "failed")
            if self.total(word)
        )
        text = f"[{self.TITLE}] {self.district}: {self.status}"
        return _CONTROL.sub(" ", f"{text} ({numbers})" if numbers else text)

    def detail_lines(self) -> list[str]:
        """Run, profile, scope and what was not graded yet."""
        lines = super().detail_lines()
        scope = f"scores scored since {_show_time(self.since)}" if self.since else "every score"
        lines.append(f"Profile {self.profile}; {self.classes:,} class course(s) read; {scope}.")
        if self.ungraded:
            lines.append(f"{self.ungraded:,} score(s) not graded yet in Buzz: nothing to send.")
        if self.older:
            lines.append(f"{self.older:,} score(s) scored before the start: not looked at.")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        data = super().to_dict()
        data["refusals"] = [refusal.to_dict() for refusal in self.refusals]
        return data

    def to_text(self, *, limit: int = 20) -> str:
        """A compact plain-text summary (lists cut at ``limit`` entries)."""
        lines = [self.headline(), *self.detail_lines()]
        rows = self.count_rows()
        if rows:
            lines.append("")
            lines.append(f"{'':<12}" + "".join(f"{word:>11}" for word in PASSBACK_WORDS))
            lines.extend(
                f"{entity:<12}" + "".join(f"{n:>11,}" for n in numbers) for entity, numbers in rows
            )
        for title, items in self._sections():
            lines.extend(_text_section(title, items, limit))
        return "\n".join(_CONTROL.sub(" ", line) for line in lines) + "\n"

    def _sections(self) -> list[tuple[str, list[str]]]:
        return [
            ("Failures", [str(f) for f in self.failures]),
            ("Refused", [str(f) for f in self.refusals]),
            ("Skipped", [str(f) for f in self.skipped]),
            ("Changed before sending", list(self.notes)),
            ("Warnings", list(self.warnings)),
        ]

    def to_html(self) -> str:
        """A self-contained HTML page (no scripts, no external assets), everything escaped."""
        esc = html.escape
        rows = [(f.entity, f.reference, f.code, f.message) for f in self.failures]
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{esc(self.headline())}</title>",
            f"<style>{_CSS}</style></head><body>",
            f'<h1 class="{esc(self.status)}">{esc(self.headline())}</h1>',
            *(f"<p>{esc(line)}</p>" for line in self.detail_lines()),
            _counts_table(self.count_rows()),
            _html_table("Failures", ("Collection", "sourcedId", "Code", "Message"), rows),
            _html_table(
                "Refused",
                ("Collection", "sourcedId", "Reason"),
                [(f.entity, f.reference, f.message) for f in self.refusals],
            ),
            _html_table(
                "Skipped",
                ("Collection", "sourcedId", "Reason"),
                [(f.entity, f.reference, f.message) for f in self.skipped],
            ),
            _html_table("Changed before sending", ("Change",), [(n,) for n in self.notes]),
            _html_table("Warnings", ("Warning",), [(w,) for w in self.warnings]),
            "</body></html>",
        ]
        return "\n".join(part for part in parts if part) + "\n"

    @classmethod
    def zero_counts(cls) -> dict[str, dict[str, int]]:
        """Counts with every entity and word at zero."""
        return {entity: dict.fromkeys(PASSBACK_WORDS, 0) for entity in PASSBACK_ENTITIES}


def _counts_table(rows: list[tuple[str, list[int]]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(word)}</th>" for word in PASSBACK_WORDS)
    body = "".join(
        f"<tr><th>{html.escape(entity)}</th>"
        + "".join(f'<td class="n">{number:,}</td>' for number in numbers)
        + "</tr>"
        for entity, numbers in rows
    )
    return f"<h2>Summary</h2><table><tr><th></th>{head}</tr>{body}</table>"


def count_of(report: PassbackReport, entity: str, word: str) -> int:
    """``report.counts[entity][word]``, zero when absent."""
    per_entity: Mapping[str, int] = report.counts.get(entity, {})
    return per_entity.get(word, 0)
