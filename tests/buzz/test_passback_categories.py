"""Categories and grading periods of passed-back line items, over real HTTP: Buzz
categories matched to the SIS's by title or by the settings, missing ones created first,
and a Buzz due date placing the line item in the class's grading period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneroster_client.buzz import BuzzClient, BuzzJWTAuth
from oneroster_client.buzz.entities import BuzzCourse, GradebookItem
from oneroster_client.buzz.gradebook import EntityGradebook
from oneroster_client.buzz.passback import BuzzCategory, ClassGradebook, PassbackSettings
from oneroster_client.buzz.passback.run import _plan_categories

from .test_passback_world import DISTRICT_DOMAIN, STATUS_FLAGS, World


class _Categorised(BuzzClient):
    """Buzz answers with categories and due dates (the loopback server has none)."""

    categories: ClassVar[dict[str, tuple[str, str]]] = {
        "quiz1": ("c1", "Quizzes"),
        "essay": ("c2", " homework "),
    }
    due: ClassVar[dict[str, datetime]] = {}

    def get_entity_gradebook(self, entity_id: str | int, **options: Any) -> EntityGradebook:
        book = super().get_entity_gradebook(entity_id, **options)
        items = tuple(
            attrs.evolve(
                item,
                category_id=self.categories.get(str(item.id), (None, ""))[0],
                due_date=self.due.get(str(item.id)),
            )
            for item in book.items
        )
        listed = tuple({"id": cid, "name": name} for cid, name in self.categories.values())
        rows = tuple(attrs.evolve(row, categories=listed) for row in book.enrollments)
        return attrs.evolve(book, items=items, enrollments=rows)


@pytest.fixture
def world() -> Iterator[World]:
    built = World()
    built.buzz.close()
    built.buzz = _Categorised(
        built.buzz_server.base_url,
        auth=BuzzJWTAuth(*built.buzz_server.jwt_credentials()),
        user_agent="passback-tests/1.0 (tests)",
    )
    _Categorised.due = {}
    yield built
    built.close()


def _category_of(world: World, item_id: str) -> set[str | None]:
    return {
        (row.get("category") or {}).get("sourcedId")
        for sid, row in world.sis("lineItems").items()
        if sid.endswith(f"-{item_id}")
    }


def test_missing_categories_are_created_first_and_titles_match_existing_ones(
    world: World,
) -> None:
    report = world.run()
    assert report.ok, report.to_text()
    created = world.sis("categories")
    (quizzes,) = created.values()
    assert quizzes["title"] == "Quizzes"
    assert report.counts["categories"]["created"] == 1
    assert _category_of(world, "quiz1") == {quizzes["sourcedId"]}
    assert _category_of(world, "essay") == {"cat-homework"}  # the SIS's "Homework"
    assert _category_of(world, "hw1") == {None}
    paths = world.puts()
    assert paths[0].endswith(f"/categories/{quizzes['sourcedId']}")

    again = world.run()
    assert again.counts["categories"]["created"] == 0
    assert not any("/categories/" in p for p in world.puts()[len(paths) :])


def test_settings_map_categories(world: World) -> None:
    settings = PassbackSettings(
        parent_domain_id=DISTRICT_DOMAIN,
        categories={"quizzes": "cat-quiz", "c2": "cat-test"},
        **STATUS_FLAGS,
    )
    report = world.run(settings=settings)
    assert report.ok and world.sis("categories") == {}
    assert _category_of(world, "quiz1") == {"cat-quiz"}
    assert _category_of(world, "essay") == {"cat-test"}


def test_without_creating_categories_their_items_are_refused(world: World) -> None:
    settings = PassbackSettings(
        parent_domain_id=DISTRICT_DOMAIN, create_categories=False, **STATUS_FLAGS
    )
    report = world.run(settings=settings)
    refused = [r for r in report.refusals if r.entity == "lineItems"]
    assert refused and all(r.reference.endswith("-quiz1") for r in refused)
    assert all("'Quizzes' is not in the SIS" in r.message for r in refused)
    assert not any(sid.endswith("-quiz1") for sid in world.sis("results"))
    assert world.sis("categories") == {}


def test_a_category_that_cannot_be_created_holds_back_its_line_items(world: World) -> None:
    world.fail_put_number("categories", 1, 422)
    report = world.run()
    assert [f.entity for f in report.failures] == ["categories"]
    skipped = {s.reference for s in report.skipped}
    assert {s for s in skipped if "-quiz1" in s} == skipped
    assert report.counts["lineItems"]["skipped"] == len(world.class_ids)
    assert all("could not be created" in s.message for s in report.skipped)
    assert not any(sid.endswith("-quiz1") for sid in world.sis("lineItems"))
    assert any(sid.endswith("-essay") for sid in world.sis("lineItems"))


def _a_grading_period_of(world: World, class_id: str) -> tuple[str, date]:
    klass = next(c for c in world.district["classes"] if c["sourcedId"] == class_id)
    terms = {t["sourcedId"] for t in klass["terms"]}
    for session in world.district["academicSessions"]:
        parent = (session.get("parent") or {}).get("sourcedId")
        if session["type"] == "gradingPeriod" and parent in terms:
            return session["sourcedId"], date.fromisoformat(session["startDate"])
    raise AssertionError(f"class {class_id} has no grading period")


def test_a_buzz_due_date_places_the_line_item_in_the_grading_period(world: World) -> None:
    class_id = world.class_ids[0]
    period, start = _a_grading_period_of(world, class_id)
    due = datetime.combine(start + timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    _Categorised.due = {"quiz1": due}
    world.run(classes=[class_id])
    rows = {sid: row for sid, row in world.sis("lineItems").items() if sid.endswith("-quiz1")}
    (row,) = rows.values()
    assert row["gradingPeriod"]["sourcedId"] == period
    assert row["dueDate"].startswith(due.date().isoformat())
    undated = [r for sid, r in world.sis("lineItems").items() if not sid.endswith("-quiz1")]
    assert undated and all(not r.get("gradingPeriod") for r in undated)


def test_defaults_the_sis_does_not_hold_are_warned_about(world: World) -> None:
    settings = PassbackSettings(
        parent_domain_id=DISTRICT_DOMAIN,
        default_category="cat-nowhere",
        default_grading_period="gp-nowhere",
        grading_periods={"Q1": "gp-2025-1", "Q9": "gp-nine"},
        **STATUS_FLAGS,
    )
    report = world.run(settings=settings, validate_only=True)
    warnings = "\n".join(report.warnings)
    assert "default_category cat-nowhere is not a SIS category" in warnings
    assert "default_grading_period gp-nowhere is not a SIS grading period" in warnings
    assert "grading_periods['Q9'] gp-nine is not a SIS grading period" in warnings
    assert "gp-2025-1" not in warnings
    fine = PassbackSettings(
        parent_domain_id=DISTRICT_DOMAIN,
        default_category="cat-quiz",
        default_grading_period="gp-2025-1",
        **STATUS_FLAGS,
    )
    assert not world.run(settings=fine, validate_only=True).warnings


names = st.text(min_size=1, max_size=30).filter(lambda text: text.strip() != "")


@given(st.lists(names | st.sampled_from(["Quiz", "quiz ", " HOMEWORK"]), min_size=1, max_size=6))
def test_category_ids_for_any_names(titles: list[str]) -> None:
    items = tuple(
        GradebookItem(id=f"i{n}", possible=1.0, category_id=f"c{n}") for n in range(len(titles))
    )
    book = ClassGradebook(
        class_id="cls-1",
        course=BuzzCourse(id="200", reference="cls-1"),
        items=items,
        categories={f"c{n}": BuzzCategory(id=f"c{n}", name=t) for n, t in enumerate(titles)},
        students=(),
    )
    settings = PassbackSettings(parent_domain_id="100")
    ids, refusals, to_create = _plan_categories([book], settings, {"cat-hw": "Homework"})
    assert not refusals and len(ids) == len(titles)
    for n, title in enumerate(titles):
        target = ids[("200", f"c{n}")]
        if title.strip().casefold() == "homework":
            assert target == "cat-hw"
            continue
        # created with the Buzz name as its title (the first spelling of equal names)
        assert to_create[target].casefold() == title.strip().casefold()
        assert all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in target)
    folded = {t.strip().casefold() for t in titles if t.strip().casefold() != "homework"}
    assert len(to_create) == len(folded)  # one SIS category per distinct name
