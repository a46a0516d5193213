"""Passback settings and SIS profiles: validation, and the Skyward profile end to end
(what it refuses, per record, with the reason)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from oneroster_client.buzz.passback import (
    LongTitles,
    PassbackSettings,
    SisProfile,
    limits_of,
)
from oneroster_client.errors import ConfigurationError
from skyward_adapter.testing import SKYWARD_GRADEBOOK_RULES

from .test_passback_world import DISTRICT_DOMAIN, ITEMS, LONG_TITLE, STATUS_FLAGS, World


def test_defaults_and_strings() -> None:
    settings = PassbackSettings(parent_domain_id="100", profile="skyward", long_titles="refuse")
    assert settings.profile is SisProfile.SKYWARD
    assert settings.long_titles is LongTitles.REFUSE
    assert settings.key == "100"
    assert settings.limits == limits_of(SisProfile.SKYWARD)
    assert limits_of(SisProfile.ONEROSTER).max_title_length is None
    assert PassbackSettings(parent_domain_id="1", district_key="d").key == "d"


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"parent_domain_id": " "}, "parent_domain_id"),
        ({"profile": "powerschool"}, "profile 'powerschool' is unknown"),
        ({"long_titles": "wrap"}, "long_titles 'wrap' is unknown"),
        ({"district_key": ""}, "district_key"),
        ({"default_category": " "}, "default_category"),
        ({"categories": {"Quiz": ""}}, "categories entry 'Quiz'"),
        ({"grading_periods": {"": "gp-1"}}, "grading_periods entry ''"),
        ({"max_title_length": 0}, "max_title_length must be at least 1"),
        ({"max_title_length": True}, "max_title_length must be a whole number"),
        ({"exempt_flags": -1}, "exempt_flags must be a non-negative bit mask"),
        ({"exempt_flags": 3, "not_submitted_flags": 2}, "must not share bits"),
        ({"create_categories": "yes"}, "create_categories"),
        ({"notify": ("nobody",)}, "notify"),
        ({"time_zone": "Mars/Olympus"}, "time_zone 'Mars/Olympus' is not a known zone"),
    ],
)
def test_bad_settings_are_named(changes: dict[str, Any], named: str) -> None:
    values: dict[str, Any] = {"parent_domain_id": "100", **changes}
    with pytest.raises(ConfigurationError, match="invalid passback settings") as caught:
        PassbackSettings(**values)
    assert named in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        PassbackSettings(parent_domain_id="", profile="x", max_title_length=-3)
    message = str(caught.value)
    assert "parent_domain_id" in message and "profile" in message
    assert "max_title_length" in message


@pytest.fixture
def world() -> Iterator[World]:
    built = World()
    yield built
    built.close()


def _skyward(**changes: Any) -> PassbackSettings:
    return PassbackSettings(
        parent_domain_id=DISTRICT_DOMAIN, profile="skyward", **STATUS_FLAGS, **changes
    )


def test_skyward_refuses_fractional_points_per_record_and_sends_the_rest(world: World) -> None:
    report = world.run(settings=_skyward())
    courses = {c["id"] for c in world.buzz_server.courses()}
    fractional = {f"buzz-{course}-hw1" for course in courses}
    refused_items = {r.reference for r in report.refusals if r.entity == "lineItems"}
    assert refused_items == fractional
    assert all(
        "not a whole number" in r.message for r in report.refusals if r.entity == "lineItems"
    )
    hw_scores = {
        f"buzz-{g.enrollment_id}-hw1"
        for g in world.grades
        if g.item_id == "hw1" and (g.achieved is not None or g.status)
    }
    letters = {f"buzz-{g.enrollment_id}-{g.item_id}" for g in world.grades if g.letter}
    refused_results = {r.reference: r.message for r in report.refusals if r.entity == "results"}
    assert set(refused_results) == hw_scores | letters
    assert all("hw1 is refused" in refused_results[ref] for ref in hw_scores)
    assert report.counts["lineItems"]["refused"] == len(fractional)
    assert report.counts["results"]["refused"] == len(hw_scores | letters)
    # nothing refused reached the SIS; everything else did
    assert not fractional & set(world.sis("lineItems"))
    assert len(world.sis("lineItems")) == len(courses) * (len(ITEMS) - 1)
    assert not hw_scores & set(world.sis("results"))
    assert "refused by the skyward profile" in report.to_text()
    assert report.ok


def test_skyward_shortens_long_titles_and_lists_each(world: World) -> None:
    report = world.run(settings=_skyward())
    essays = {sid: row for sid, row in world.sis("lineItems").items() if sid.endswith("-essay")}
    assert essays and all(row["title"] == LONG_TITLE[:49].rstrip() for row in essays.values())
    assert sorted(report.notes) == sorted(
        f"lineItems {sid}: title shortened from {len(LONG_TITLE)} to 49 characters"
        for sid in essays
    )
    assert "Changed before sending" in report.to_text()


def test_skyward_can_refuse_long_titles_instead(world: World) -> None:
    report = world.run(settings=_skyward(long_titles="refuse"))
    assert not any(sid.endswith("-essay") for sid in world.sis("lineItems"))
    essay_refusals = [r for r in report.refusals if r.reference.endswith("-essay")]
    assert essay_refusals and all("over the limit of 49" in r.message for r in essay_refusals)


def test_the_generic_profile_sends_fractional_points_and_long_titles(world: World) -> None:
    report = world.run()
    assert not [r for r in report.refusals if r.entity == "lineItems"]
    hw = [row for sid, row in world.sis("lineItems").items() if sid.endswith("-hw1")]
    assert hw and all(row["resultValueMax"] == 7.5 for row in hw)


def test_against_a_skyward_like_sis_the_profile_sends_only_what_it_takes(world: World) -> None:
    world.oneroster_server.gradebook_rules = SKYWARD_GRADEBOOK_RULES
    report = world.run(settings=_skyward())
    assert report.failures == [] and report.ok, report.to_text()
    sent = sum(report.counts["results"][w] for w in ("created", "replaced"))
    assert sent == len(world.sis("results")) > 0
    assert all(row.get("score") is not None for row in world.sis("results").values())


def test_the_generic_profile_against_a_skyward_like_sis_names_every_refused_write(
    world: World,
) -> None:
    world.oneroster_server.gradebook_rules = SKYWARD_GRADEBOOK_RULES
    report = world.run()
    failed = {f.reference for f in report.failures}
    courses = {c["id"] for c in world.buzz_server.courses()}
    fractional_or_long = {f"buzz-{c}-{item}" for c in courses for item in ("hw1", "essay")}
    assert fractional_or_long <= failed
    assert all(f.code == "HTTP 422" for f in report.failures)
    # the results of line items the SIS refused are not attempted; the rest land
    skipped = {s.reference for s in report.skipped}
    assert all("hw1" in ref or "essay" in ref for ref in skipped)
    assert set(world.sis("lineItems")) == {f"buzz-{c}-quiz1" for c in courses}
    assert report.status == "partial"
