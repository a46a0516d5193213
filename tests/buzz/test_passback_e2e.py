"""Grade passback end to end over real HTTP: the loopback Buzz server with graded class
courses, the OneRoster loopback server, and :func:`pass_back_grades` between them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from oneroster_client.buzz import SyncInProgressError
from oneroster_client.buzz.passback import PassbackReport, PassbackSettings
from oneroster_client.errors import ConfigurationError

from .test_passback_world import EXEMPT, ITEMS, NOT_SUBMITTED, Grade, World


@pytest.fixture
def world() -> Iterator[World]:
    built = World()
    yield built
    built.close()


def _course(grade: Grade) -> str:
    return grade.enrollment_id[:-1]  # enrollment ids are the course id and a digit


def expected_results(grades: list[Grade]) -> dict[str, dict[str, Any]]:
    """What the SIS must hold: zeros and extra credit kept, exempt without a score."""
    out: dict[str, dict[str, Any]] = {}
    for grade in grades:
        if grade.status & EXEMPT:
            status, score = "exempt", None
        elif grade.status & NOT_SUBMITTED:
            status, score = "not submitted", grade.achieved
        elif grade.achieved is not None:
            status, score = "fully graded", grade.achieved
        else:
            continue  # not graded yet, or a letter without points
        out[f"buzz-{grade.enrollment_id}-{grade.item_id}"] = {
            "lineItem": f"buzz-{_course(grade)}-{grade.item_id}",
            "student": grade.student,
            "scoreStatus": status,
            "score": score,
        }
    return out


def held_results(world: World) -> dict[str, dict[str, Any]]:
    return {
        sourced_id: {
            "lineItem": row["lineItem"]["sourcedId"],
            "student": row["student"]["sourcedId"],
            "scoreStatus": row["scoreStatus"],
            "score": row.get("score"),
        }
        for sourced_id, row in world.sis("results").items()
    }


def expected_line_items(world: World) -> dict[str, dict[str, Any]]:
    courses = {c["id"]: c["reference"] for c in world.buzz_server.courses()}
    return {
        f"buzz-{course_id}-{item_id}": {
            "title": title,
            "class": class_id,
            "resultValueMin": 0.0,
            "resultValueMax": possible,
        }
        for course_id, class_id in courses.items()
        for item_id, (title, possible) in ITEMS.items()
    }


def held_line_items(world: World) -> dict[str, dict[str, Any]]:
    return {
        sourced_id: {
            "title": row["title"],
            "class": row["class"]["sourcedId"],
            "resultValueMin": row["resultValueMin"],
            "resultValueMax": row["resultValueMax"],
        }
        for sourced_id, row in world.sis("lineItems").items()
    }


def test_validate_only_then_passback_then_nothing_then_a_replace(world: World) -> None:
    expected = expected_results(world.grades)
    letters = sum(1 for g in world.grades if g.letter and g.achieved is None)

    checked = world.run(validate_only=True)
    assert checked.status == "validated" and checked.mode == "validate-only"
    assert checked.counts["lineItems"]["created"] == len(expected_line_items(world))
    assert checked.counts["results"]["created"] == len(expected)
    assert checked.counts["results"]["refused"] == letters
    assert world.puts() == [] and world.sis("results") == {}

    sent = world.run()
    assert sent.ok and sent.written, sent.to_text()
    # every Buzz score is accounted for exactly once: sent, refused or not graded yet
    assert sum(sent.counts["results"].values()) + sent.ungraded == len(world.grades)
    assert sent.counts["lineItems"]["created"] == len(expected_line_items(world))
    assert sent.counts["results"]["created"] == len(expected)
    assert held_line_items(world) == expected_line_items(world)
    assert held_results(world) == expected
    assert {r.reference for r in sent.refusals} == {
        f"buzz-{g.enrollment_id}-{g.item_id}" for g in world.grades if g.letter
    }

    before = len(world.puts())
    again = world.run()
    assert len(world.puts()) == before, "a second run must send nothing"
    assert again.counts["results"]["unchanged"] == len(expected)
    assert again.counts["lineItems"]["unchanged"] == len(expected_line_items(world))

    changed = next(g for g in world.grades if g.item_id == "quiz1" and g.achieved == 8.5)
    world.buzz_server.set_grade(
        changed.enrollment_id,
        9.5,
        10.0,
        itemid="quiz1",
        title="Quiz 1",
        scoreddate="2025-01-11T09:00:00Z",
    )
    replaced = world.run()
    sourced_id = f"buzz-{changed.enrollment_id}-quiz1"
    assert replaced.counts["results"] == {**replaced.counts["results"], "replaced": 1, "created": 0}
    new_puts = world.puts()[before:]
    assert new_puts == [f"/ims/oneroster/v1p1/results/{sourced_id}"]
    assert world.oneroster_server.requests[-1].status == 200
    assert world.sis("results")[sourced_id]["score"] == 9.5
    assert len(world.sis("results")) == len(expected), "a replace, not a new result"


def test_without_history_a_rerun_replaces_instead_of_duplicating(world: World) -> None:
    first = world.run(history=None)
    second = world.run(history=None)
    expected = expected_results(world.grades)
    assert first.counts["results"]["created"] == len(expected)
    assert second.counts["results"]["replaced"] == len(expected)
    assert second.counts["results"]["created"] == 0
    assert held_results(world) == expected


def test_classes_restricts_the_run(world: World) -> None:
    first, second = world.class_ids
    report = world.run(classes=[first, "cls-not-there"])
    classes = {row["class"]["sourcedId"] for row in world.sis("lineItems").values()}
    assert classes == {first}
    assert report.classes == 1
    # A class asked for by id that the SIS lacks fails the run (it is not a success).
    assert [(f.entity, f.reference) for f in report.failures] == [("classes", "cls-not-there")]
    assert report.status == "partial" and not report.ok
    assert not any("cls-not-there" in warning for warning in report.warnings)
    assert second not in report.to_text()


def test_since_looks_only_at_scores_scored_since(world: World) -> None:
    world.run()
    world.buzz_server.set_grade(
        world.grades[0].enrollment_id,
        4.0,
        10.0,
        itemid="quiz1",
        title="Quiz 1",
        scoreddate="2025-03-01T00:00:00Z",
    )
    report = world.run(since=datetime(2025, 2, 1, tzinfo=UTC))
    assert report.mode == "incremental"
    assert report.counts["results"]["replaced"] == 1
    dated = sum(1 for g in world.grades if g.scoreddate) - 1
    assert report.older == dated
    assert "scored before the start" in report.to_text()


def test_report_is_recorded_and_reads_back(world: World) -> None:
    report = world.run()
    (record,) = world.history.runs("dst-1", kind="passback")
    back = record.report()
    assert isinstance(back, PassbackReport)
    assert back.counts == report.counts
    assert back.refusals == report.refusals
    assert PassbackReport.from_json(report.to_json()).to_dict() == report.to_dict()
    reason = "letter grade without points"
    assert reason in report.to_html() and reason in report.to_text()
    assert "<th>replaced</th>" in report.to_html()
    email = report.to_email(sender="sync@example.org", to=["it@example.org"])
    assert "Grade passback" in str(email["Subject"])
    for grade in world.grades:  # no names or usernames in the report
        assert "Given" not in report.to_json() and "Family" not in report.to_html()
        assert grade.student not in str(email["Subject"])


def test_a_passback_holds_the_district_lock(world: World) -> None:
    with (
        world.history.lock("dst-1#passback"),
        pytest.raises(SyncInProgressError, match="dst-1#passback"),
    ):
        world.run()
    # a roster sync's lock does not block a passback
    with world.history.lock("dst-1"):
        assert world.run().ok


@pytest.mark.parametrize(
    ("name", "value"),
    [("validate_only", "yes"), ("classes", "cls-1"), ("since", "2025-01-01"), ("history", {})],
)
def test_bad_arguments_are_named(world: World, name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=name):
        world.run(**{name: value})


def test_settings_must_be_passback_settings(world: World) -> None:
    with pytest.raises(ConfigurationError, match="PassbackSettings"):
        world.run(settings={"parent_domain_id": "100"})
    assert PassbackSettings(parent_domain_id="100").key == "100"


def test_status_bits_not_configured_are_warned_about_and_scores_sent_as_they_are(
    world: World,
) -> None:
    settings = PassbackSettings(parent_domain_id="100", district_key="dst-1")
    report = world.run(settings=settings)
    (warning,) = [w for w in report.warnings if "status bits" in w]
    exempt = sum(1 for g in world.grades if g.status == EXEMPT)
    missing = sum(1 for g in world.grades if g.status == NOT_SUBMITTED)
    assert f"0x1 ({exempt} score(s))" in warning and f"0x2 ({missing} score(s))" in warning
    statuses = {row["scoreStatus"] for row in world.sis("results").values()}
    assert statuses == {"fully graded"}


def test_validate_only_after_a_run_counts_replacements_and_resend_sends_everything(
    world: World,
) -> None:
    world.run()
    expected = expected_results(world.grades)
    grade = next(g for g in world.grades if g.item_id == "quiz1" and g.achieved == 12.0)
    world.buzz_server.set_grade(grade.enrollment_id, 10.5, 10.0, itemid="quiz1", title="Quiz 1")
    before = len(world.puts())
    preview = world.run(validate_only=True)
    assert len(world.puts()) == before
    assert preview.counts["results"]["replaced"] == 1
    assert preview.counts["results"]["unchanged"] == len(expected) - 1
    everything = world.run(resend=True)
    assert everything.counts["results"]["replaced"] == len(expected)
    assert everything.counts["lineItems"]["replaced"] == len(expected_line_items(world))
    assert world.sis("results")[f"buzz-{grade.enrollment_id}-quiz1"]["score"] == 10.5
