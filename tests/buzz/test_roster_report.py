"""Run reports: counts, JSON round trip, text, HTML and e-mail renderings, no personal data."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import ClassVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client.buzz.desired import SourceRecord, ValidationIssue
from oneroster_client.buzz.report import (
    COUNT_WORDS,
    RecordFailure,
    RunReport,
    Section,
    SyncReport,
)
from oneroster_client.errors import ConfigurationError

STARTED = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)


def _issue(sourced_id: str, reason: str, raw: dict[str, str] | None = None) -> ValidationIssue:
    return ValidationIssue(
        source=SourceRecord(collection="users", sourced_id=sourced_id),
        field="orgs",
        reason=reason,
        raw=raw,
    )


def _report(**changes: object) -> SyncReport:
    values: dict[str, object] = {
        "district": "dst-1",
        "mode": "full",
        "started": STARTED,
        "finished": STARTED + timedelta(seconds=42),
        "counts": {
            "users": {"created": 3, "updated": 1, "unchanged": 40, "failed": 1},
            "domains": {"created": 2},
            "enrollments": {"created": 10, "skipped": 2},
        },
        "failures": [
            RecordFailure(
                entity="users",
                reference="usr-s-7",
                action="create",
                code="BadRequest",
                message="Duplicate username",
            )
        ],
        "skipped": [
            RecordFailure(entity="enrollments", reference="enr-9", action="create", message="x")
        ],
        "issues": [_issue("usr-s-8", "no school in orgs", raw={"givenName": "Zebulon"})],
        "warnings": ["3 users were matched by username"],
        "plan_id": "plan-abc",
        "notify": ["admin@example.org"],
    }
    values.update(changes)
    return SyncReport(**values)  # type: ignore[arg-type]


def test_json_round_trips_through_the_base_class() -> None:
    report = _report(since=STARTED - timedelta(hours=12), full_read=False, mode="incremental")
    text = report.to_json()
    back = RunReport.from_json(text)
    assert isinstance(back, SyncReport)
    assert back == report
    assert back.to_json() == text
    # Stable keys: sorted, so two writes of equal reports are byte-equal.
    keys = list(json.loads(text))
    assert keys == sorted(keys)


def test_json_never_carries_the_raw_record() -> None:
    report = _report()
    for rendering in (report.to_json(), report.to_text(), report.to_html()):
        assert "Zebulon" not in rendering
        assert "usr-s-8" in rendering


def test_from_json_refuses_what_is_not_a_report() -> None:
    with pytest.raises(ValueError, match="not a run report"):
        RunReport.from_json("[1, 2]")
    with pytest.raises(ValueError, match="not a run report"):
        RunReport.from_json("{")
    passback = RunReport(district="dst-1", kind="passback").to_json()
    with pytest.raises(ValueError, match="is not a SyncReport"):
        SyncReport.from_json(passback)


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, "partial"),
        ({"failures": [], "skipped": []}, "ok"),
        ({"held": True, "hold_reason": "too many removals"}, "held"),
        ({"mode": "validate-only", "failures": [], "skipped": []}, "validated"),
        ({"error": "BuzzTransportError: no answer"}, "failed"),
        ({"finished": None, "failures": []}, "running"),
    ],
)
def test_status(changes: dict[str, object], status: str) -> None:
    report = _report(**changes)
    assert report.status == status
    assert report.ok == (status in ("ok", "validated"))
    assert status.split("-")[0] in report.subject()


def test_text_summary_shows_counts_failures_issues_and_warnings() -> None:
    text = _report().to_text()
    lines = text.splitlines()
    assert lines[0] == "Buzz sync for dst-1: completed with 1 failed record(s)"
    header = next(line for line in lines if "created" in line)
    assert header.split() == list(COUNT_WORDS)
    users = next(line for line in lines if line.startswith("users "))
    assert users.split()[1:] == ["3", "1", "40", "0", "0", "1", "0"]
    # Display order: domains before users before enrollments.
    order = [line.split()[0] for line in lines if line.split()[:1] in (["domains"], ["users"])]
    assert order == ["domains", "users"]
    assert "users usr-s-7 (create): BadRequest: Duplicate username" in text
    assert "users/usr-s-8 field orgs: no school in orgs" in text
    assert "3 users were matched by username" in text
    assert "Plan plan-abc" in text


def test_text_summary_says_when_nothing_was_written() -> None:
    text = _report(mode="validate-only").to_text()
    assert "validated only, nothing was written" in text
    held = _report(held=True, hold_reason="users: 30 removals is over 10%").to_text()
    assert "HELD: users: 30 removals is over 10%" in held


def test_text_summary_cuts_long_lists() -> None:
    failures = [RecordFailure(entity="users", reference=f"u{n}", message="no") for n in range(25)]
    text = _report(failures=failures).to_text(limit=5)
    assert "users u4: no" in text and "users u5: no" not in text
    assert "... and 20 more" in text


def test_control_characters_do_not_forge_lines() -> None:
    failure = RecordFailure(entity="users", reference="u1\nHELD: fake", message="a\rb")
    text = _report(failures=[failure]).to_text()
    assert "\nHELD: fake" not in text
    assert "\r" not in text


def test_html_is_self_contained_and_escaped() -> None:
    hostile = "<script>alert('x')</script>"
    report = _report(
        district="<b>dst</b>",
        failures=[RecordFailure(entity="users", reference=hostile, code="&", message=hostile)],
        warnings=[f"warning {hostile}"],
        issues=[_issue('"><img src=x>', hostile)],
    )
    page = report.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<img" not in page and "<b>dst" not in page
    assert "&lt;script&gt;" in page
    assert re.search(r"<[^>]*\b(src|href)\s*=", page) is None
    assert "@import" not in page and "url(" not in page
    assert page.count("<table>") == 5  # counts, failures, skipped, issues, warnings


def test_a_notebook_shows_the_page_content_escaped_without_the_page() -> None:
    hostile = "<script>alert('x')</script>"
    report = _report(warnings=[hostile])
    fragment = report._repr_html_()
    assert fragment.startswith('<div class="run-report">') and "<!DOCTYPE" not in fragment
    assert "<script" not in fragment and "&lt;script&gt;" in fragment
    assert report.headline() in html.unescape(fragment)
    assert fragment.count("<table>") == report.to_html().count("<table>")


def test_email_goes_to_the_notify_addresses_with_an_html_alternative() -> None:
    report = _report()
    message = report.to_email(sender="sync@example.org")
    assert message["To"] == "admin@example.org"
    assert message["From"] == "sync@example.org"
    assert "dst-1: partial" in message["Subject"]
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    kinds = [part.get_content_type() for part in parsed.walk()]
    assert kinds == ["multipart/alternative", "text/plain", "text/html"]
    plain = parsed.get_body(preferencelist=("plain",))
    assert plain is not None and "usr-s-7" in plain.get_content()  # type: ignore[attr-defined]
    other = report.to_email(sender="sync@example.org", to=["a@example.org", "b@example.org"])
    assert other["To"] == "a@example.org, b@example.org"


def test_email_refuses_missing_or_forged_recipients() -> None:
    with pytest.raises(ConfigurationError, match="no recipients"):
        _report(notify=[]).to_email(sender="sync@example.org")
    with pytest.raises(ConfigurationError, match="not a plain address"):
        _report().to_email(sender="sync@example.org", to=["a@example.org\nBcc: x@evil.test"])
    with pytest.raises(ConfigurationError, match="not a plain address"):
        _report().to_email(sender="nobody")


def test_subject_has_no_line_breaks_whatever_the_district() -> None:
    message = _report(district="dst\r\nBcc: x@evil.test").to_email(sender="s@example.org")
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]


def test_add_count_and_total() -> None:
    report = RunReport(district="d")
    report.add_count("users", "created", 2)
    report.add_count("courses", "created")
    assert report.total("created") == 3
    with pytest.raises(ValueError, match="unknown count word"):
        report.add_count("users", "create")


_text = st.text(max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    references=st.lists(_text, max_size=4),
    warnings=st.lists(_text, max_size=3),
    counts=st.dictionaries(
        st.sampled_from(["users", "courses", "x"]),
        st.dictionaries(st.sampled_from(COUNT_WORDS), st.integers(0, 10**6)),
        max_size=3,
    ),
    held=st.booleans(),
    seconds=st.integers(0, 10**8),
)
def test_any_report_round_trips(
    references: list[str],
    warnings: list[str],
    counts: dict[str, dict[str, int]],
    held: bool,
    seconds: int,
) -> None:
    started = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=7)
    report = SyncReport(
        district="d",
        started=started,
        counts=counts,
        held=held,
        failures=[RecordFailure(entity="users", reference=r, message=r) for r in references],
        issues=[_issue(r, r or "empty") for r in references],
        warnings=warnings,
    )
    assert SyncReport.from_json(report.to_json()) == report
    report.to_text()
    page = report.to_html()
    for reference in references:
        if "<" in reference:
            assert reference not in page


@attrs.define(kw_only=True)
class _GradesReport(RunReport):
    """A report with its own outcome words and an extra list, as grade passback has."""

    TITLE: ClassVar[str] = "Grades"
    WORDS: ClassVar[tuple[str, ...]] = ("created", "replaced", "refused")

    refused: list[str] = attrs.field(factory=list)

    def extra_sections(self) -> list[Section]:
        return [("Refused", ("Result", "Why"), [(ref, "<not points>") for ref in self.refused])]


def test_a_subclass_brings_its_own_words_and_sections() -> None:
    report = _GradesReport(district="d", kind="passback", refused=["res-1"])
    report.add_count("results", "replaced", 4)
    with pytest.raises(ValueError, match="replaced"):
        report.add_count("results", "withdrawn")
    report.finish()
    text = report.to_text()
    header = next(line.split() for line in text.splitlines() if "replaced" in line)
    assert header == list(_GradesReport.WORDS)
    assert "Refused (1):" in text and "res-1 | <not points>" in text
    page = report.to_html()
    assert "<th>refused</th>" in page and "&lt;not points&gt;" in page
    assert "4 replaced" in report.subject()
    back = RunReport.from_json(report.to_json())
    assert isinstance(back, _GradesReport) and back == report
