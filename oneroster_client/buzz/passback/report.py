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

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

import attrs

from oneroster_client.buzz.report import RecordFailure, RunReport, Section

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
    WORDS: ClassVar[tuple[str, ...]] = PASSBACK_WORDS
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

    def refuse(self, refusal: RecordFailure) -> None:
        """Record a refusal and count it."""
        self.refusals.append(refusal)
        self.add_count(refusal.entity, "refused")

    def headline(self) -> str:
        """One line: the district, how the run ended, and refusals if any."""
        line = super().headline()
        if self.refusals and self.finished is not None and self.error is None:
            line += f"; {len(self.refusals)} record(s) refused by the {self.profile} profile"
        return line

    def detail_lines(self) -> list[str]:
        """Run, profile, scope and what was not looked at or not graded yet."""
        lines = super().detail_lines()
        scope = (
            f"scores scored since {self.since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
            if self.since
            else "every score"
        )
        lines.append(f"Profile {self.profile}; {self.classes:,} class course(s) read; {scope}.")
        if self.ungraded:
            lines.append(f"{self.ungraded:,} score(s) not graded yet in Buzz: nothing to send.")
        if self.older:
            lines.append(f"{self.older:,} score(s) scored before the start: not looked at.")
        return lines

    def extra_sections(self) -> list[Section]:
        """The refused records with their reasons, and the changes made before sending."""
        return [
            (
                "Refused",
                ("Collection", "sourcedId", "Reason"),
                [(r.entity, r.reference, r.message) for r in self.refusals],
            ),
            ("Changed before sending", ("Change",), [(note,) for note in self.notes]),
        ]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        data = super().to_dict()
        data["refusals"] = [refusal.to_dict() for refusal in self.refusals]
        return data

    @classmethod
    def zero_counts(cls) -> dict[str, dict[str, int]]:
        """Counts with every collection and word at zero."""
        return {entity: dict.fromkeys(PASSBACK_WORDS, 0) for entity in PASSBACK_ENTITIES}
