"""Mapping Buzz items and scores to OneRoster line items and results: exact scores,
deterministic sourcedIds, profile limits and refusals."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneroster_client.buzz.entities import BuzzCourse, GradebookItem, Score
from oneroster_client.buzz.passback import (
    ClassGradebook,
    GradingPeriod,
    MappedLineItem,
    MappedResult,
    MappingContext,
    PassbackSettings,
    StudentScores,
    line_item_id,
    map_line_item,
    map_result,
    result_id,
)
from oneroster_client.buzz.report import RecordFailure
from oneroster_client.models import ScoreStatus

COURSE = BuzzCourse(
    id="200",
    reference="cls-1",
    start_date=datetime(2024, 8, 15, tzinfo=UTC),
    end_date=datetime(2025, 6, 5, tzinfo=UTC),
)
STUDENT = StudentScores(enrollment_id="2001", user_id="300", student="usr-s-1", scores=())
FLAGS = {"exempt_flags": 0x1, "not_submitted_flags": 0x2}
ONEROSTER = PassbackSettings(parent_domain_id="100", **FLAGS)
SKYWARD = PassbackSettings(parent_domain_id="100", profile="skyward", **FLAGS)


def _book(course: BuzzCourse = COURSE) -> ClassGradebook:
    return ClassGradebook(
        class_id=str(course.reference), course=course, items=(), categories={}, students=()
    )


def _mapped(item: GradebookItem, settings: PassbackSettings = ONEROSTER) -> MappedLineItem:
    mapped = map_line_item(_book(), item, MappingContext(settings=settings))
    assert isinstance(mapped, MappedLineItem), mapped
    return mapped


QUIZ = GradebookItem(id="quiz1", title="Quiz 1", possible=10.0)


def test_line_item_fields() -> None:
    record = _mapped(QUIZ).record
    assert record.sourced_id == "buzz-200-quiz1"
    assert record.class_.sourced_id == "cls-1"
    assert (record.result_value_min, record.result_value_max) == (0.0, 10.0)
    assert record.title == "Quiz 1"
    assert record.due_date == COURSE.end_date and record.assign_date == COURSE.start_date


def test_a_buzz_due_date_is_the_due_date_and_picks_the_grading_period() -> None:
    due = datetime(2024, 10, 1, 12, tzinfo=UTC)
    periods = (
        GradingPeriod(
            sourced_id="gp-1", start=date(2024, 8, 15), end=date(2024, 11, 1), parent="term-1"
        ),
        GradingPeriod(
            sourced_id="gp-x", start=date(2024, 8, 15), end=date(2024, 11, 1), parent="term-other"
        ),
    )
    context = MappingContext(
        settings=ONEROSTER, class_terms={"cls-1": ("term-1",)}, grading_periods=periods
    )
    mapped = map_line_item(_book(), GradebookItem(id="q", possible=5.0, due_date=due), context)
    assert isinstance(mapped, MappedLineItem)
    assert mapped.record.due_date == due
    assert mapped.record.grading_period is not None
    assert mapped.record.grading_period.sourced_id == "gp-1"


def test_a_buzz_grading_period_is_mapped_by_the_settings() -> None:
    settings = PassbackSettings(parent_domain_id="1", grading_periods={"Q2": "gp-2"})
    due = datetime(2024, 10, 1, tzinfo=UTC)
    periods = (GradingPeriod(sourced_id="gp-1", start=date(2024, 8, 1), end=date(2024, 11, 1)),)
    context = MappingContext(settings=settings, grading_periods=periods)
    marked = GradebookItem.from_dict({"id": "q", "possible": 1, "gradingperiod": "Q2"})
    dated = GradebookItem(id="d", possible=1.0, due_date=due)
    for item, period in ((marked, "gp-2"), (dated, "gp-1")):
        mapped = map_line_item(_book(), item, context)
        assert isinstance(mapped, MappedLineItem) and mapped.record.grading_period is not None
        assert mapped.record.grading_period.sourced_id == period


def test_without_any_date_the_run_day_is_sent_but_not_fingerprinted() -> None:
    undated = BuzzCourse(id="200", reference="cls-1")
    book = _book(undated)
    day1 = MappingContext(settings=ONEROSTER, today=date(2025, 1, 1))
    day2 = MappingContext(settings=ONEROSTER, today=date(2025, 1, 2))
    first, second = map_line_item(book, QUIZ, day1), map_line_item(book, QUIZ, day2)
    assert isinstance(first, MappedLineItem) and isinstance(second, MappedLineItem)
    # line item dates are DateTimes (1.1 JSON binding): the start of the run's day, UTC
    assert first.record.due_date == datetime(2025, 1, 1, tzinfo=UTC)
    assert first.fingerprint == second.fingerprint


def test_an_item_due_before_the_course_starts_is_assigned_on_its_due_date() -> None:
    due = datetime(2024, 8, 1, tzinfo=UTC)
    record = _mapped(GradebookItem(id="early", possible=1.0, due_date=due)).record
    assert record.assign_date == due == record.due_date


def test_default_grading_period_and_category() -> None:
    settings = PassbackSettings(
        parent_domain_id="100", default_category="cat-x", default_grading_period="gp-9"
    )
    record = _mapped(QUIZ, settings).record
    assert record.category is not None and record.category.sourced_id == "cat-x"
    assert record.grading_period is not None and record.grading_period.sourced_id == "gp-9"


@pytest.mark.parametrize(
    ("achieved", "status", "letter", "expected_status", "expected_score"),
    [
        (0.0, 0, None, ScoreStatus.FULLY_GRADED, 0.0),  # a zero is a grade
        (12.5, 0, None, ScoreStatus.FULLY_GRADED, 12.5),  # extra credit kept
        (None, 0x1, None, ScoreStatus.EXEMPT, None),  # exempt is not zero
        (0.0, 0x1, None, ScoreStatus.EXEMPT, None),
        (0.0, 0x2, None, ScoreStatus.NOT_SUBMITTED, 0.0),
        (None, 0x2, None, ScoreStatus.NOT_SUBMITTED, None),
        (7.0, 0x4, "C", ScoreStatus.FULLY_GRADED, 7.0),  # other bits are ignored
    ],
)
def test_scores(
    achieved: float | None,
    status: int,
    letter: str | None,
    expected_status: ScoreStatus,
    expected_score: float | None,
) -> None:
    score = Score(item_id="quiz1", achieved=achieved, possible=10.0, status=status, letter=letter)
    mapped = map_result(_mapped(QUIZ), STUDENT, score, ONEROSTER)
    assert not isinstance(mapped, RecordFailure) and mapped is not None
    record = mapped.record
    assert record.sourced_id == "buzz-2001-quiz1"
    assert record.line_item.sourced_id == "buzz-200-quiz1"
    assert record.student.sourced_id == "usr-s-1"
    assert record.score_status == expected_status
    assert record.score == expected_score


def test_exempt_read_from_an_explicit_flag_too() -> None:
    score = Score.from_dict({"itemid": "quiz1", "achieved": 0, "exempt": True})
    mapped = map_result(_mapped(QUIZ), STUDENT, score, ONEROSTER)
    assert mapped is not None and not isinstance(mapped, RecordFailure)
    assert mapped.record.score_status == ScoreStatus.EXEMPT and mapped.record.score is None


def test_status_bits_mean_nothing_unless_configured() -> None:
    score = Score(item_id="quiz1", achieved=0.0, status=0x3)
    mapped = map_result(_mapped(QUIZ), STUDENT, score, PassbackSettings(parent_domain_id="1"))
    assert mapped is not None and not isinstance(mapped, RecordFailure)
    assert (mapped.record.score_status, mapped.record.score) == (ScoreStatus.FULLY_GRADED, 0.0)


def test_configured_status_bits() -> None:
    settings = PassbackSettings(parent_domain_id="100", exempt_flags=0x10, not_submitted_flags=0)
    score = Score(item_id="quiz1", achieved=3.0, status=0x10)
    mapped = map_result(_mapped(QUIZ), STUDENT, score, settings)
    assert mapped is not None and not isinstance(mapped, RecordFailure)
    assert mapped.record.score_status == ScoreStatus.EXEMPT


def test_score_date_and_comment() -> None:
    when = datetime(2025, 1, 10, 15, tzinfo=UTC)
    score = Score.from_dict(
        {
            "itemid": "quiz1",
            "achieved": 5,
            "scoreddate": "2025-01-10T15:00:00Z",
            "comment": "Well argued",
        }
    )
    mapped = map_result(_mapped(QUIZ), STUDENT, score, ONEROSTER)
    assert mapped is not None and not isinstance(mapped, RecordFailure)
    assert mapped.record.score_date == when.date()  # scoreDate is a Date in 1.1
    assert mapped.record.comment == "Well argued"


def test_the_score_date_is_the_day_in_the_district_time_zone() -> None:
    score = Score.from_dict(
        {"itemid": "quiz1", "achieved": 5, "scoreddate": "2025-01-11T03:00:00Z"}
    )
    chicago = PassbackSettings(parent_domain_id="1", time_zone="America/Chicago")
    utc = map_result(_mapped(QUIZ), STUDENT, score, ONEROSTER)
    local = map_result(_mapped(QUIZ), STUDENT, score, chicago)
    assert isinstance(utc, MappedResult) and isinstance(local, MappedResult)
    assert (utc.record.score_date, local.record.score_date) == (
        date(2025, 1, 11),
        date(2025, 1, 10),
    )


def test_skyward_refuses_results_without_points() -> None:
    for status, name in ((0x1, "exempt"), (0x2, "not submitted")):
        refusal = map_result(_mapped(QUIZ), STUDENT, Score(item_id="quiz1", status=status), SKYWARD)
        assert isinstance(refusal, RecordFailure)
        assert f"points-based scores only, and this {name} result has no points" in (
            refusal.message
        )
    missing_with_points = Score(item_id="quiz1", achieved=0.0, status=0x2)
    kept = map_result(_mapped(QUIZ), STUDENT, missing_with_points, SKYWARD)
    assert isinstance(kept, MappedResult) and kept.record.score == 0.0


def test_ungraded_is_nothing_to_send() -> None:
    assert map_result(_mapped(QUIZ), STUDENT, Score(item_id="quiz1"), ONEROSTER) is None


@pytest.mark.parametrize(
    ("score", "student", "reason"),
    [
        (Score(item_id="quiz1", letter="B"), STUDENT, "letter grade without points"),
        (Score(item_id="quiz1", achieved=-1.0), STUDENT, "at least 0"),
        (Score(item_id="quiz1", achieved=math.nan), STUDENT, "not a number"),
        (
            Score(item_id="quiz1", achieved=1.0),
            StudentScores(enrollment_id="2001", user_id="300", student=None, scores=()),
            "Buzz user 300 has no SIS reference",
        ),
    ],
)
def test_refused_scores_name_the_reason(score: Score, student: StudentScores, reason: str) -> None:
    refusal = map_result(_mapped(QUIZ), student, score, ONEROSTER)
    assert isinstance(refusal, RecordFailure)
    assert refusal.entity == "results" and refusal.reference == "buzz-2001-quiz1"
    assert refusal.code == "refused" and reason in refusal.message


@pytest.mark.parametrize(
    ("item", "settings", "reason"),
    [
        (GradebookItem(id="a", possible=None), ONEROSTER, "not points-based"),
        (GradebookItem(id="a", possible=-5.0), ONEROSTER, "not a number of points"),
        (GradebookItem(id="a", possible=7.5), SKYWARD, "7.5 is not a whole number"),
        (
            GradebookItem(id="a", possible=5.0, title="x" * 60),
            PassbackSettings(parent_domain_id="1", profile="skyward", long_titles="refuse"),
            "60 characters, over the limit of 49",
        ),
    ],
)
def test_refused_items_name_the_reason(
    item: GradebookItem, settings: PassbackSettings, reason: str
) -> None:
    refusal = map_line_item(_book(), item, MappingContext(settings=settings))
    assert isinstance(refusal, RecordFailure)
    assert refusal.entity == "lineItems" and refusal.reference == "buzz-200-a"
    assert reason in refusal.message


def test_fractional_points_pass_the_generic_profile_unchanged() -> None:
    record = _mapped(GradebookItem(id="a", possible=7.5)).record
    assert record.result_value_max == 7.5


def test_skyward_shortens_long_titles_and_says_so() -> None:
    item = GradebookItem(id="a", possible=5.0, title="Essay " + "y" * 60)
    mapped = _mapped(item, SKYWARD)
    assert len(mapped.record.title) <= 49 and mapped.record.title == item.title[:49]
    assert mapped.notes == ("title shortened from 66 to 49 characters",)
    custom = PassbackSettings(parent_domain_id="1", max_title_length=10)
    assert _mapped(item, custom).record.title == "Essay yyyy"


def test_untitled_items_get_a_title() -> None:
    assert _mapped(GradebookItem(id="q7", possible=1.0, title="  ")).record.title == "Buzz item q7"


ids = st.text(min_size=1, max_size=12)


@given(ids, ids, ids, ids)
def test_sourced_ids_are_deterministic_distinct_and_path_safe(
    a: str, b: str, c: str, d: str
) -> None:
    assert line_item_id(a, b) == line_item_id(a, b)
    assert (line_item_id(a, b) == line_item_id(c, d)) == ((a, b) == (c, d))
    assert (result_id(a, b) == result_id(c, d)) == ((a, b) == (c, d))
    for sourced_id in (line_item_id(a, b), result_id(c, d)):
        assert all(ch.isascii() and (ch.isalnum() or ch in "-_~") for ch in sourced_id)


points = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-10, max_value=10**6).map(float),
)


@given(
    achieved=points,
    possible=points,
    status=st.integers(min_value=0, max_value=2**16),
    letter=st.one_of(st.none(), st.sampled_from(["A", "B+", ""])),
    skyward=st.booleans(),
)
def test_a_grade_is_never_changed(
    achieved: float | None, possible: float | None, status: int, letter: str | None, skyward: bool
) -> None:
    settings = SKYWARD if skyward else ONEROSTER
    item = GradebookItem(id="i", possible=possible, title="T")
    line_item = map_line_item(_book(), item, MappingContext(settings=settings))
    if isinstance(line_item, RecordFailure):
        assert line_item.message  # refused with a reason, never rounded
        return
    assert line_item.record.result_value_max == possible
    score = Score(item_id="i", achieved=achieved, possible=possible, status=status, letter=letter)
    mapped = map_result(line_item, STUDENT, score, settings)
    if mapped is None:
        assert achieved is None and not letter and not status & 0x3
    elif isinstance(mapped, RecordFailure):
        assert mapped.message and mapped.reference == "buzz-2001-i"
    elif mapped.record.score_status == ScoreStatus.EXEMPT:
        assert status & 0x1 and mapped.record.score is None and not skyward
    else:
        assert mapped.record.score == achieved
