"""Grade passback when the SIS refuses writes: every failed record is named, the rest
land, and the next run sends what did not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from oneroster_client import OneRosterClient
from oneroster_client.buzz import BuzzClient, BuzzJWTAuth
from oneroster_client.buzz.errors import BuzzCommandError
from oneroster_client.buzz.gradebook import EntityGradebook
from oneroster_client.buzz.passback.run import FORBIDDEN_IN_A_ROW
from oneroster_client.retry import RetryPolicy
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer

from .test_passback_world import ITEMS, World

PREFIX = "/ims/oneroster/v1p1"


@pytest.fixture
def world() -> Iterator[World]:
    built = World()
    yield built
    built.close()


def _graded(world: World) -> int:
    """Results a run sends: every score with points, exempt or missing (not letters only)."""
    return sum(1 for g in world.grades if g.achieved is not None or g.status)


def test_writes_forbidden_stop_after_a_few_and_every_record_is_accounted_for(
    world: World,
) -> None:
    world.oneroster_server.faults.gradebook_writes_forbidden = True
    report = world.run()
    line_items = len(world.class_ids) * len(ITEMS)
    assert report.status == "partial"
    assert len(world.puts()) == FORBIDDEN_IN_A_ROW
    assert [f.code for f in report.failures] == ["HTTP 403"] * FORBIDDEN_IN_A_ROW
    assert all(f.entity == "lineItems" for f in report.failures)
    counts = report.counts
    assert counts["lineItems"]["failed"] + counts["lineItems"]["skipped"] == line_items
    assert counts["results"]["skipped"] == _graded(world)
    assert {s.reference for s in report.skipped if s.entity == "results"} == {
        f"buzz-{g.enrollment_id}-{g.item_id}"
        for g in world.grades
        if g.achieved is not None or g.status
    }
    assert "grade passback is enabled" in report.to_text()
    assert sum(counts["results"].values()) + report.ungraded == len(world.grades)
    assert world.sis("results") == {}

    world.oneroster_server.faults.gradebook_writes_forbidden = False
    retried = world.run()
    assert retried.ok
    assert retried.counts["lineItems"]["created"] == line_items
    assert retried.counts["results"]["created"] == _graded(world)


def test_one_result_refused_with_422_is_named_and_the_rest_land(world: World) -> None:
    world.fail_put_number("results", 2, 422)
    report = world.run()
    (failure,) = report.failures
    assert failure.entity == "results" and failure.code == "HTTP 422"
    assert failure.reference.startswith("buzz-") and failure.reference not in world.sis("results")
    assert len(world.sis("results")) == _graded(world) - 1
    assert report.counts["results"]["created"] == _graded(world) - 1

    again = world.run()
    assert again.ok
    assert again.counts["results"]["created"] == 1
    assert failure.reference in world.sis("results")
    # The line item of a failed result is sent again, in case the SIS lost it.
    assert again.counts["lineItems"]["replaced"] == 1


def test_500_after_retries_fails_the_line_item_and_skips_its_results(world: World) -> None:
    waits: list[float] = []
    retry = RetryPolicy(retry_statuses={500, 503}, max_attempts=3, sleep=waits.append)
    oneroster = world.client(retry)
    world.oneroster = oneroster
    world.fail_put_number("line_items", 1, 500, count=3)
    report = world.run()
    (failure,) = report.failures
    assert failure.entity == "lineItems" and failure.code == "HTTP 500"
    assert len(waits) == 2
    assert report.skipped and all(
        s.entity == "results" and failure.reference in s.message for s in report.skipped
    )
    assert failure.reference not in world.sis("lineItems")
    line_items = len(world.class_ids) * len(ITEMS)
    assert report.counts["lineItems"]["created"] == line_items - 1
    assert report.counts["results"]["created"] == _graded(world) - len(report.skipped)

    again = world.run()
    assert again.ok
    assert again.counts["lineItems"]["created"] == 1
    assert again.counts["results"]["created"] == len(report.skipped)


def _proxy(world: World, tamper: str) -> ScriptedServer:
    """A proxy to the OneRoster server that echoes one result's PUT with another score."""
    session = requests.Session()

    def script(received: Received) -> Reply:
        headers = {k: v for k, v in received.headers.items() if k.lower() != "host"}
        answer = session.request(
            received.method,
            world.oneroster_server.origin + received.target,
            headers=headers,
            data=received.body,
            timeout=5,
        )
        body: Any = answer.content
        if received.method == "PUT" and received.path.endswith(f"/results/{tamper}"):
            echo = json.loads(answer.content)
            echo["result"]["score"] = 99.0
            body = echo
        keep = [(k, v) for k, v in answer.headers.items() if k.lower() in ("content-type",)]
        return Reply(status=answer.status_code, body=body, headers=keep)

    return ScriptedServer(script)


def test_a_200_that_does_not_apply_the_write_is_a_failure(world: World) -> None:
    grade = next(g for g in world.grades if g.achieved == 12.0)
    tampered = f"buzz-{grade.enrollment_id}-{grade.item_id}"
    with _proxy(world, tampered) as proxy:
        oneroster = OneRosterClient(
            proxy.origin + PREFIX,
            auth=world.oneroster_server.oauth2(),
            retry=RetryPolicy(sleep=world.waits.append),
            timeout=5.0,
        )
        report = world.run(oneroster=oneroster)
        (failure,) = report.failures
        assert failure.reference == tampered and failure.code == "not applied"
        assert "score" in failure.message and "answered 20" in failure.message
        assert report.counts["results"]["failed"] == 1
        assert report.status == "partial"
        # Not counted as done: the next run sends it again.
        again = world.run(oneroster=oneroster)
        assert [f.reference for f in again.failures] == [tampered]
        oneroster.close()
    final = world.run()
    assert final.ok and final.counts["results"]["replaced"] == 1


class _BrokenCourse(BuzzClient):
    """A Buzz client whose gradebook read of one course fails."""

    broken = ""

    def get_entity_gradebook(self, entity_id: str | int, **options: Any) -> EntityGradebook:
        if str(entity_id) == self.broken:
            raise BuzzCommandError(
                "getentitygradebook3: AccessDenied",
                command="getentitygradebook3",
                code="AccessDenied",
            )
        return super().get_entity_gradebook(entity_id, **options)


def test_a_gradebook_that_cannot_be_read_is_named_and_the_others_are_sent(world: World) -> None:
    broken = _BrokenCourse(
        world.buzz_server.base_url,
        auth=BuzzJWTAuth(*world.buzz_server.jwt_credentials()),
        user_agent="passback-tests/1.0 (tests)",
    )
    courses = {c["id"]: c["reference"] for c in world.buzz_server.courses()}
    broken.broken = min(courses)
    world.buzz.close()
    world.buzz = broken
    report = world.run()
    (failure,) = report.failures
    assert failure.entity == "classes" and failure.reference == courses[broken.broken]
    assert failure.code == "BuzzCommandError" and "AccessDenied" in failure.message
    classes = {row["class"]["sourcedId"] for row in world.sis("lineItems").values()}
    assert classes == set(world.class_ids) - {courses[broken.broken]}


def test_a_run_stopped_by_an_unreachable_sis_is_reported_and_recorded(world: World) -> None:
    world.oneroster_server.faults.fail_always = 500
    report = world.run()
    assert report.status == "failed" and not report.ok
    assert report.error is not None and "500" in report.error
    assert world.puts() == []
    (record,) = world.history.runs("dst-1", kind="passback")
    assert record.status == "failed"
    assert world.history.lock_holder("dst-1#passback") is None  # the lock is released
