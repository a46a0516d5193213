"""Rostering end to end over real HTTP: a OneRoster loopback server with a generated
district, the loopback Buzz server, and :func:`oneroster_client.buzz.sync` between them."""

from __future__ import annotations

import copy
import html
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from oneroster_client import OneRosterClient
from oneroster_client.buzz import (
    BuzzClient,
    BuzzJWTAuth,
    BuzzRetryPolicy,
    RosterSettings,
    SyncHistory,
    SyncInProgressError,
    SyncReport,
    SyncTooSoonError,
    TooSoon,
    sync,
)
from oneroster_client.buzz.testing import BuzzFaults, BuzzServer
from oneroster_client.buzz.testing.pytest_plugin import fail_on_server_errors
from oneroster_client.converter import format_datetime
from oneroster_client.errors import ConfigurationError
from oneroster_client.retry import RetryPolicy
from oneroster_client.testing import District, Faults, OneRosterServer, generate_district

DISTRICT_DOMAIN = "100"
WRITES = ("create", "update", "delete", "copy", "restore")
WITHDRAWN = 4


def _settings(**changes: Any) -> RosterSettings:
    values: dict[str, Any] = {
        "parent_domain_id": DISTRICT_DOMAIN,
        "student_role": "Student",
        "teacher_role": "Teacher",
        "district_key": "dst-1",
        "notify": ("it@example.org",),
    }
    values.update(changes)
    return RosterSettings(**values)


class World:
    """Both servers, both clients and a history; ``run`` is one sync."""

    def __init__(self, district: District) -> None:
        self.district = district
        self.buzz_server = BuzzServer(
            seed={
                "domains": [
                    {
                        "id": DISTRICT_DOMAIN,
                        "name": "Example USD",
                        "userspace": "exusd",
                        "parentid": "1",
                    }
                ]
            }
        ).start()
        self.buzz_waits: list[float] = []
        self.oneroster_waits: list[float] = []
        self.buzz = BuzzClient(
            self.buzz_server.base_url,
            auth=BuzzJWTAuth(*self.buzz_server.jwt_credentials()),
            user_agent="roster-e2e/1.0 (tests)",
            retry=BuzzRetryPolicy(sleep=self.buzz_waits.append),
        )
        self.history = SyncHistory(":memory:")
        self.settings = _settings()
        self.oneroster_server = OneRosterServer(district).start()
        self.oneroster = self._oneroster_client()

    def _oneroster_client(self) -> OneRosterClient:
        return OneRosterClient(
            self.oneroster_server.base_url,
            auth=self.oneroster_server.oauth2(),
            retry=RetryPolicy(sleep=self.oneroster_waits.append),
            timeout=5.0,
        )

    def serve_changes(self) -> None:
        """Serve the changed district (a fresh server: no index built before the change)."""
        faults = self.oneroster_server.faults
        self.oneroster_server.stop()
        self.oneroster_server = OneRosterServer(self.district, faults=faults).start()
        self.oneroster = self._oneroster_client()

    def run(self, **options: Any) -> SyncReport:
        options.setdefault("validate_only", False)
        options.setdefault("history", self.history)
        settings = options.pop("settings", self.settings)
        return sync(self.oneroster, self.buzz, settings, **options)

    def buzz_state(self) -> dict[str, Any]:
        server = self.buzz_server
        return {
            "domains": server.domains(include_deleted=True),
            "users": server.users(include_deleted=True),
            "courses": server.courses(include_deleted=True),
            "enrollments": server.enrollments(include_deleted=True),
            "rights": server.rights(),
        }

    def writes(self, since: int = 0) -> list[str]:
        return [c for c in self.buzz_server.commands()[since:] if c.startswith(WRITES)]

    def by_reference(self, entity: str) -> dict[str, dict[str, Any]]:
        rows = getattr(self.buzz_server, entity)()
        return {row["reference"]: row for row in rows if row.get("reference")}

    def close(self) -> None:
        self.oneroster_server.stop()
        self.buzz_server.stop()
        fail_on_server_errors(self.buzz_server)


@pytest.fixture(scope="module")
def _generated() -> District:
    return generate_district(students=60, seed=11, with_gradebook=False)


@pytest.fixture
def world(_generated: District) -> Iterator[World]:
    district = District(collections=copy.deepcopy(_generated.collections))
    world = World(district)
    yield world
    world.close()


def _active(district: District, collection: str, **where: str) -> list[dict[str, Any]]:
    return [
        row
        for row in district[collection]
        if row.get("status") == "active" and all(row.get(k) == v for k, v in where.items())
    ]


def _ids(rows: list[dict[str, Any]]) -> set[str]:
    return {row["sourcedId"] for row in rows}


# --- first runs ------------------------------------------------------------------------


def test_validate_only_writes_nothing_and_reports_what_a_run_would_do(world: World) -> None:
    before = world.buzz_state()
    preview = world.run(validate_only=True)
    assert world.buzz_state() == before
    assert world.writes() == []
    assert preview.mode == "validate-only" and preview.status == "validated"
    assert not preview.written
    assert "nothing was written" in preview.to_text().splitlines()[0]
    assert preview.total("created") > 0

    report = world.run()
    assert report.status == "ok", report.to_text()
    assert report.written and report.mode == "full"
    # The preview counted exactly what the real run then did.
    for entity, counts in report.counts.items():
        assert preview.counts.get(entity, {}).get("created", 0) == counts.get("created", 0)


def test_a_run_rosters_the_district_and_a_second_run_changes_nothing(world: World) -> None:
    report = world.run()
    assert report.status == "ok", report.to_text()
    users = world.by_reference("users")
    courses = world.by_reference("courses")
    enrollments = world.by_reference("enrollments")
    schools = _ids(_active(world.district, "orgs", type="school"))
    assert schools <= set(world.by_reference("domains"))
    students = _ids(_active(world.district, "users", role="student"))
    assert students <= set(users)
    assert _ids(_active(world.district, "classes")) <= set(courses)
    for row in _active(world.district, "enrollments"):
        if row["user"]["sourcedId"] in students:
            enrollment = enrollments[row["sourcedId"]]
            assert enrollment["userid"] == users[row["user"]["sourcedId"]]["id"]
            assert enrollment["courseid"] == courses[row["class"]["sourcedId"]]["id"]
    assert report.counts["users"]["created"] == len(users)
    assert report.counts["enrollments"]["created"] == len(enrollments)
    assert world.buzz_server.rights(), "guardians become observers of their students"
    (run,) = world.history.runs("dst-1")
    assert run.report() == report

    mark = len(world.buzz_server.commands())
    again = world.run()
    assert again.status == "ok" and again.mode == "incremental"
    assert world.writes(mark) == []
    for word in ("created", "updated", "withdrawn", "deleted", "failed", "skipped"):
        assert again.total(word) == 0, again.to_text()


# --- the district changes --------------------------------------------------------------


class Changes:
    """A set of SIS changes and what Buzz should look like after them."""

    def __init__(self, world: World, *, remove_records: bool) -> None:
        self.world = world
        self.district = world.district
        self.remove_records = remove_records
        self.now = format_datetime(datetime.now(UTC) + timedelta(seconds=1))
        self.withdrawn: set[str] = set()
        self.created_enrollments: set[str] = set()

    def touch(self, row: dict[str, Any], **fields: Any) -> None:
        row.update(fields)
        row["dateLastModified"] = self.now

    def end_enrollments(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.withdrawn.add(row["sourcedId"])
            if self.remove_records:
                self.district["enrollments"].remove(row)
            else:
                self.touch(row, status="tobedeleted")

    def students_of(self, school: str) -> list[dict[str, Any]]:
        return [
            row
            for row in _active(self.district, "users", role="student")
            if row["orgs"][0]["sourcedId"] == school
        ]

    def transfer(self, count: int) -> dict[str, str]:
        # Students without guardians: an observer follows its student's school, which an
        # incremental read (that does not hold the unchanged guardian) cannot know.
        schools = sorted(_ids(_active(self.district, "orgs", type="school")))
        moved = {}
        alone = [row for row in self.students_of(schools[0]) if not row.get("agents")]
        assert len(alone) >= count, "call _without_guardians before the first run"
        for row in alone[:count]:
            self.touch(row, orgs=[{"sourcedId": schools[1], "type": "org"}])
            moved[row["sourcedId"]] = schools[1]
        return moved

    def end_class(self) -> str:
        taught = [row for row in _active(self.district, "enrollments") if row["role"] == "student"]
        klass = taught[0]["class"]["sourcedId"]
        self.end_enrollments(
            [r for r in _active(self.district, "enrollments") if r["class"]["sourcedId"] == klass]
        )
        return klass

    def replace_teacher(self, avoid: str) -> tuple[str, str]:
        teaching = [
            row
            for row in _active(self.district, "enrollments", role="teacher")
            if row["class"]["sourcedId"] != avoid
        ]
        old = teaching[0]
        klass = old["class"]["sourcedId"]
        school = old["school"]
        self.end_enrollments([old])
        teacher = {
            "sourcedId": "usr-t-new",
            "status": "active",
            "dateLastModified": self.now,
            "username": "new.teacher",
            "enabledUser": True,
            "givenName": "Nova",
            "familyName": "Teacher",
            "role": "teacher",
            "email": "new.teacher@example.org",
            "orgs": [school],
        }
        enrollment = {
            "sourcedId": "enr-t-new",
            "status": "active",
            "dateLastModified": self.now,
            "role": "teacher",
            "primary": True,
            "user": {"sourcedId": "usr-t-new", "type": "user"},
            "class": {"sourcedId": klass, "type": "class"},
            "school": school,
        }
        self.district["users"].append(teacher)
        self.district["enrollments"].append(enrollment)
        self.created_enrollments.add("enr-t-new")
        return "usr-t-new", klass

    def add_guardian(self, student: dict[str, Any]) -> str:
        guardian = {
            "sourcedId": "usr-g-new",
            "status": "active",
            "dateLastModified": self.now,
            "username": "new.guardian",
            "enabledUser": True,
            "givenName": "Gia",
            "familyName": "Guardian",
            "role": "guardian",
            "email": "new.guardian@example.org",
            "orgs": list(student["orgs"]),
            "agents": [{"sourcedId": student["sourcedId"], "type": "user"}],
        }
        self.district["users"].append(guardian)
        agents = [*student.get("agents", []), {"sourcedId": "usr-g-new", "type": "user"}]
        self.touch(student, agents=agents)
        return "usr-g-new"


def _without_guardians(district: District, count: int) -> None:
    """Unlink ``count`` students of the first school from their guardians (both sides)."""
    school = sorted(_ids(_active(district, "orgs", type="school")))[0]
    students = [
        row
        for row in _active(district, "users", role="student")
        if row["orgs"][0]["sourcedId"] == school
    ][:count]
    unlinked = _ids(students)
    for student in students:
        student["agents"] = []
    for user in district["users"]:
        if user["role"] != "student" and user.get("agents"):
            user["agents"] = [a for a in user["agents"] if a["sourcedId"] not in unlinked]


def _change_everything(world: World, changes: Changes) -> dict[str, Any]:
    moved = changes.transfer(2)
    ended = changes.end_class()
    teacher, taught = changes.replace_teacher(avoid=ended)
    renamed = next(
        row
        for row in _active(world.district, "users", role="student")
        if row["sourcedId"] not in moved and row.get("agents")
    )
    changes.touch(renamed, givenName="Renamed")
    guardian = changes.add_guardian(renamed)
    world.serve_changes()
    return {
        "moved": moved,
        "teacher": teacher,
        "taught": taught,
        "renamed": renamed["sourcedId"],
        "guardian": guardian,
    }


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_the_next_run_makes_exactly_the_districts_changes(world: World, full: bool) -> None:
    _without_guardians(world.district, 2)
    world.serve_changes()
    assert world.run().status == "ok"
    domains = world.by_reference("domains")
    changes = Changes(world, remove_records=full)
    changed = _change_everything(world, changes)

    report = world.run(full=full)
    assert report.status == "ok", report.to_text()
    assert report.mode == ("full" if full else "incremental")
    assert report.counts["users"]["created"] == 2  # the new teacher and the new guardian
    assert report.counts["users"]["updated"] == len(changed["moved"]) + 1  # and the rename
    assert report.counts["enrollments"]["created"] == 1
    assert report.counts["observers"]["created"] == 1
    for entity in ("domains", "courses"):
        assert report.counts.get(entity, {}).get("created", 0) == 0
    assert report.counts["enrollments"]["withdrawn"] == len(changes.withdrawn)
    assert report.total("deleted") == 0 and report.total("failed") == 0

    users = world.by_reference("users")
    for student, school in changed["moved"].items():
        assert users[student]["domainid"] == domains[school]["id"]
    assert users[changed["renamed"]]["firstname"] == "Renamed"
    enrollments = world.by_reference("enrollments")
    assert {enrollments[ref]["status"] for ref in changes.withdrawn} == {WITHDRAWN}
    new = enrollments["enr-t-new"]
    assert new["userid"] == users[changed["teacher"]]["id"]
    assert new["courseid"] == world.by_reference("courses")[changed["taught"]]["id"]
    rights = world.buzz_server.rights()
    grant = rights[(users[changed["guardian"]]["id"], users[changed["renamed"]]["id"])]
    assert grant["flags"] == 512

    mark = len(world.buzz_server.commands())
    assert world.run(full=full).total("created") == 0
    assert world.writes(mark) == []


def test_an_incremental_run_withdraws_enrollments_the_sis_marks_tobedeleted(
    world: World,
) -> None:
    assert world.run().status == "ok"
    changes = Changes(world, remove_records=False)
    changes.end_class()
    world.serve_changes()
    report = world.run()
    assert report.mode == "incremental" and report.status == "ok", report.to_text()
    assert report.counts["enrollments"]["withdrawn"] == len(changes.withdrawn)
    assert report.total("withdrawn") == len(changes.withdrawn)
    assert report.total("updated") == report.total("created") == 0
    enrollments = world.by_reference("enrollments")
    assert {enrollments[ref]["status"] for ref in changes.withdrawn} == {WITHDRAWN}


# --- safety ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "faults",
    [Faults(total_count_delta=4), Faults(fail_always=503)],
    ids=["short-listing", "server-down"],
)
def test_an_incomplete_read_plans_no_removals(world: World, faults: Faults) -> None:
    assert world.run().status == "ok"
    before = world.buzz_state()
    gone = _active(world.district, "enrollments")[: len(world.district["enrollments"]) // 3]
    for row in gone:
        world.district["enrollments"].remove(row)
    world.oneroster_server.faults = faults
    world.serve_changes()

    report = world.run(full=True)
    assert report.incomplete_reasons
    assert report.total("withdrawn") == 0 and report.total("deleted") == 0
    after = world.buzz_state()
    assert after["enrollments"] == before["enrollments"]
    # An incomplete read is never a success: the next incremental run starts before it.
    assert report.status in ("partial", "failed") and not report.ok
    last = world.history.last_success("dst-1")
    assert last is not None and last.run_id != report.run_id
    if faults.fail_always:
        # Nothing could be read: the run stops before planning anything.
        assert report.status == "failed" and report.records_read == 0
        assert report.error and "nothing could be read from the OneRoster server" in report.error
        assert "FAILED, nothing was read" in report.to_text()
        assert "full read of the district." not in report.to_text()
        assert world.oneroster_waits, "the OneRoster reads were retried before giving up"
    else:
        assert report.status == "partial" and report.error is None
        assert report.removals_suppressed and "incomplete" in report.removals_suppressed
        assert "INCOMPLETE" in report.to_text()


def test_an_incomplete_buzz_read_makes_the_run_partial_not_a_success(world: World) -> None:
    good = world.run()
    assert good.status == "ok"

    def fail_the_buzz_read(step: str, done: int, total: int | None) -> None:
        if step == "buzz":  # more failures than the retries: the first listing fails
            world.buzz_server.faults.fail_next(502, count=20)

    report = world.run(full=True, progress=fail_the_buzz_read)
    world.buzz_server.faults.fail_statuses.clear()
    assert report.error is None and report.incomplete_reasons, report.to_text()
    assert report.status == "partial" and not report.ok
    assert report.total("withdrawn") == report.total("deleted") == 0
    assert "INCOMPLETE" in report.headline()
    last = world.history.last_success("dst-1")
    assert last is not None and last.run_id == good.run_id


def test_a_large_drop_is_held_until_approved(world: World) -> None:
    assert world.run().status == "ok"
    students = _active(world.district, "users", role="student")
    leaving = _ids(students[: len(students) // 2])
    gone = [r for r in world.district["enrollments"] if r["user"]["sourcedId"] in leaving]
    for row in gone:
        world.district["enrollments"].remove(row)
    world.serve_changes()
    before = world.buzz_state()

    held = world.run(full=True)
    assert held.held and held.status == "held"
    assert held.hold_reason and "enrollments" in held.hold_reason
    assert held.plan_id and held.plan_id in held.to_text()
    assert held.counts["enrollments"]["withdrawn"] == len(gone)
    assert world.buzz_state() == before
    assert world.run(full=True, approve="not-this-plan").held
    assert world.buzz_state() == before

    approved = world.run(full=True, approve=held.plan_id)
    assert approved.status == "ok" and not approved.held, approved.to_text()
    assert any(held.plan_id in w and "approved" in w for w in approved.warnings)
    assert any(f"approve={held.plan_id!r}" in w for w in held.warnings)
    assert approved.counts["enrollments"]["withdrawn"] == len(gone)
    enrollments = world.by_reference("enrollments")
    assert {enrollments[row["sourcedId"]]["status"] for row in gone} == {WITHDRAWN}


def test_a_held_plan_is_also_applied_with_approve_true(world: World) -> None:
    assert world.run().status == "ok"
    world.district["enrollments"][:] = [
        r for r in world.district["enrollments"] if r["role"] != "student"
    ]
    world.serve_changes()
    assert world.run(full=True).held
    report = world.run(full=True, approve=True)
    assert report.status == "ok" and report.total("withdrawn") > 0


def test_overlapping_runs_on_one_district_are_refused(world: World) -> None:
    started, release = threading.Event(), threading.Event()
    outcome: list[SyncReport] = []

    def slow_progress(step: str, done: int, total: int | None) -> None:
        started.set()
        release.wait(10)

    def first_run() -> None:
        outcome.append(world.run(progress=slow_progress))

    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert started.wait(10)
        with pytest.raises(SyncInProgressError) as caught:
            world.run()
        assert caught.value.district == "dst-1"
    finally:
        release.set()
        thread.join(30)
    assert outcome and outcome[0].status == "ok"
    assert [run.status for run in world.history.runs("dst-1")] == ["ok"]


def test_item_failures_are_reported_per_record_while_the_rest_lands(world: World) -> None:
    world.buzz_server.faults = BuzzFaults(fail_batch_item_every=9)
    report = world.run()
    assert report.status == "partial"
    assert report.failures
    users, enrollments = world.by_reference("users"), world.by_reference("enrollments")
    landed = {"users": users, "enrollments": enrollments, "courses": world.by_reference("courses")}
    for failure in report.failures:
        assert failure.code and failure.reference
        assert failure.reference not in landed.get(failure.entity, {})
    assert report.counts["users"]["created"] == len(users)
    assert report.counts["users"]["failed"] == sum(f.entity == "users" for f in report.failures)
    assert report.counts["users"]["created"] > report.counts["users"]["failed"]
    page = report.to_html()
    assert all(html.escape(f.reference) in page for f in report.failures)
    assert world.history.last_success("dst-1") is None  # failed records are read again

    world.buzz_server.faults = BuzzFaults()
    healed = world.run()
    assert healed.status == "ok", healed.to_text()
    assert healed.mode == "full"
    assert healed.total("created") == len(report.failures) + len(report.skipped)


def test_throttling_on_both_sides_is_survived(world: World) -> None:
    world.buzz_server.faults = BuzzFaults(rate_limit_every=3, retry_after="2")
    world.oneroster_server.faults = Faults(rate_limit_every=4, retry_after="1")
    report = world.run()
    assert report.status == "ok", report.to_text()
    assert 429 in world.buzz_server.statuses()
    assert 2.0 in world.buzz_waits and world.oneroster_waits
    assert report.counts["users"]["created"] == len(world.by_reference("users"))


# --- cadence and scope -----------------------------------------------------------------


def test_a_full_sync_too_soon_warns_or_is_refused(world: World) -> None:
    assert world.run().mode == "full"
    warned = world.run(full=True)
    assert warned.mode == "full" and any("min_interval" in w for w in warned.warnings)
    strict = _settings(too_soon=TooSoon.REFUSE)
    with pytest.raises(SyncTooSoonError, match="refused") as caught:
        world.run(full=True, settings=strict)
    assert caught.value.next_allowed - caught.value.last_run == strict.min_interval
    assert world.run(full=True, settings=strict, validate_only=True).full_read  # reads only
    assert world.run(settings=strict).mode == "incremental"


def test_full_reconciliation_comes_round_every_n_runs(world: World) -> None:
    every_two = _settings(full_every_runs=2, min_interval=timedelta(0))
    modes = [world.run(settings=every_two).mode for _ in range(5)]
    assert modes == ["full", "incremental", "incremental", "full", "incremental"]
    runs = world.history.runs("dst-1")
    second = runs[-2].report()
    assert isinstance(second, SyncReport)
    assert second.since == runs[-1].started - timedelta(minutes=5)


def test_a_scheduled_full_run_within_min_interval_is_postponed(world: World) -> None:
    often = _settings(full_every_runs=1)
    assert [world.run(settings=often).mode for _ in range(3)] == [
        "full",
        "incremental",
        "incremental",
    ]
    last = world.history.runs("dst-1")[0].report()
    assert any("postponed" in warning for warning in last.warnings)


def test_without_history_every_run_is_full_and_unlocked(world: World) -> None:
    report = world.run(history=None, full=False)
    assert report.mode == "full" and report.status == "ok"
    assert any("history" in warning for warning in report.warnings)


def test_a_stopped_run_is_reported_and_recorded(world: World) -> None:
    world.buzz_server.faults = BuzzFaults(status_every=1, status_code=502)
    report = world.run()
    assert report.status == "failed" and report.error
    assert report.error.startswith("BuzzHTTPError") and "502" in report.error
    assert report.error in report.to_text()
    assert world.history.runs("dst-1")[0].status == "failed"
    assert world.history.lock_holder("dst-1") is None


def test_report_email_goes_to_the_settings_addresses(world: World) -> None:
    report = world.run(validate_only=True)
    message = report.to_email(sender="buzz-sync@example.org")
    assert message["To"] == "it@example.org"
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    # Names of people never travel in a report: only sourcedIds.
    body = report.to_text() + report.to_json() + report.to_html()
    for user in world.district["users"][:50]:
        assert user["givenName"] + " " + user["familyName"] not in body


class _Killed(Exception):
    """Stands in for the process being killed midway through an apply."""


def test_an_interrupted_apply_keeps_what_it_created_and_the_next_run_converges(
    world: World,
) -> None:
    def kill_after_40(step: str, done: int, total: int | None) -> None:
        if step == "apply" and done == 40:
            raise _Killed

    with pytest.raises(_Killed):
        world.run(progress=kill_after_40)
    (stopped,) = world.history.runs("dst-1")
    assert stopped.status == "failed" and "_Killed" in (stopped.report().error or "")
    assert world.history.lock_holder("dst-1") is None
    kept = dict(world.history.id_map("dst-1"))
    created = {("users", ref): row["id"] for ref, row in world.by_reference("users").items()} | {
        ("domains", ref): row["id"] for ref, row in world.by_reference("domains").items()
    }
    assert kept and set(kept.items()) <= set(created.items())

    report = world.run()
    assert report.status == "ok" and report.mode == "full", report.to_text()
    users = world.buzz_server.users()
    references = [row["reference"] for row in users if row.get("reference")]
    assert len(references) == len(set(references)), "no user was created twice"
    assert report.counts["users"]["created"] + len(
        [key for key in kept if key[0] == "users"]
    ) == len(references)


def test_a_guardian_who_leaves_loses_their_rights_in_the_next_full_run(world: World) -> None:
    assert world.run().status == "ok"
    guardian = next(
        row
        for row in _active(world.district, "users")
        if row["role"] in ("parent", "guardian") and row.get("agents")
    )
    world.district["users"].remove(guardian)
    for user in world.district["users"]:
        if user.get("agents"):
            user["agents"] = [a for a in user["agents"] if a["sourcedId"] != guardian["sourcedId"]]
    world.serve_changes()
    users = world.by_reference("users")
    actor = users[guardian["sourcedId"]]["id"]
    assert any(key[0] == actor for key in world.buzz_server.rights())

    report = world.run(full=True)
    assert report.status == "ok", report.to_text()
    assert report.counts["observers"]["deleted"] == len(guardian["agents"])
    assert report.counts["users"].get("deleted", 0) == 0  # users are never deleted
    assert not any(
        key[0] == actor and grant.get("flags") for key, grant in world.buzz_server.rights().items()
    )


def test_a_role_name_buzz_does_not_know_stops_the_run_with_the_names_it_has(
    world: World,
) -> None:
    wrong = _settings(student_role="Pupil")
    with pytest.raises(ConfigurationError, match="Pupil") as caught:
        world.run(settings=wrong)
    assert "'Student'" in str(caught.value)
    (run,) = world.history.runs("dst-1")
    assert run.status == "failed"
    assert world.writes() == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"validate_only": "no"}, "validate_only"),
        ({"full": 1}, "full"),
        ({"approve": None}, "approve"),
        ({"history": "history.sqlite"}, "SyncHistory"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(
    world: World, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        world.run(**options)
    assert world.buzz_server.commands() == []


def test_progress_reports_each_step(world: World) -> None:
    steps: list[tuple[str, int, int | None]] = []
    world.run(progress=lambda step, done, total: steps.append((step, done, total)))
    names = list(dict.fromkeys(step for step, _, _ in steps))
    assert names[:1] == ["orgs"] and names[-3:] == ["buzz", "plan", "apply"]
    applied = [done for step, done, _ in steps if step == "apply"]
    assert applied == list(range(1, len(applied) + 1))
    assert steps[-1][1] == steps[-1][2]
