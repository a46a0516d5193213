"""Benchmark: mapping and planning a large district for Buzz rostering (no network).

Run with ``python benchmarks/bench_roster.py`` (``--students 50000 --repeat 5``).

It generates a synthetic district, builds the roster snapshot straight from its records
(what :func:`~oneroster_client.buzz.read_roster` returns after reading them over HTTP),
and times, as the median of ``--repeat`` runs:

* ``map``: :func:`~oneroster_client.buzz.map_roster`, snapshot to desired state;
* ``plan (empty Buzz)``: :func:`~oneroster_client.buzz.plan_roster` against a Buzz that
  holds nothing yet (the first run: everything is a create);
* ``plan (up to date)``: against a Buzz that already holds everything (a routine run:
  everything is unchanged). That Buzz state is built in memory by carrying out the
  first plan's creates with made-up ids, so the benchmark also checks that planning
  against it finds nothing to do.

Rates are records per second: OneRoster records in the snapshot for ``map``, desired
objects (domains, users, courses, enrollments, observer links) for the plans. The
machine is shared and noisy: quote the medians.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any, TypeVar

from oneroster_client.buzz import (
    BuzzCourse,
    BuzzEnrollment,
    BuzzState,
    BuzzUser,
    DesiredState,
    Domain,
    Plan,
    Ref,
    ResolvedRoles,
    RightsGrant,
    RosterSettings,
    RosterSnapshot,
    map_roster,
    plan_roster,
)
from oneroster_client.testing import District, generate_district

T = TypeVar("T")

DISTRICT_DOMAIN = "100"
ENTITY_TYPES: dict[str, Any] = {
    "domains": Domain,
    "users": BuzzUser,
    "courses": BuzzCourse,
    "enrollments": BuzzEnrollment,
}


def snapshot_of(district: District) -> RosterSnapshot:
    """The snapshot a full read of the district's roster collections gives."""
    return RosterSnapshot(
        orgs=list(district.models("orgs")),  # type: ignore[arg-type]
        academic_sessions=list(district.models("academicSessions")),  # type: ignore[arg-type]
        courses=list(district.models("courses")),  # type: ignore[arg-type]
        classes=list(district.models("classes")),  # type: ignore[arg-type]
        users=list(district.models("users")),  # type: ignore[arg-type]
        enrollments=list(district.models("enrollments")),  # type: ignore[arg-type]
    )


def up_to_date_state(plan: Plan) -> BuzzState:
    """The Buzz state after every create of ``plan`` landed (ids made up, in memory)."""
    ids = (str(n) for n in itertools.count(10_000))
    created: dict[tuple[str, str], str] = {}
    held: dict[str, dict[str, Any]] = {entity: {} for entity in ENTITY_TYPES}
    rights: dict[tuple[str, str], RightsGrant] = {}

    def resolve(value: Any) -> Any:
        return created[(value.entity, value.reference)] if isinstance(value, Ref) else value

    for operation in plan.operations:
        data = {name: resolve(value) for name, value in operation.payload.items()}
        if operation.entity == "observers":
            observer, student = operation.reference.split("->")
            rights[(observer, student)] = RightsGrant.from_dict(data)
            continue
        if "courseid" in data:  # a derivative copy: the source becomes the base course
            data["baseid"] = data.pop("courseid")
            data.pop("action", None)
        data["id"] = created[(operation.entity, operation.reference)] = next(ids)
        held[operation.entity][operation.reference] = ENTITY_TYPES[operation.entity].from_dict(data)
    return BuzzState(parent_domain_id=DISTRICT_DOMAIN, rights=rights, **held)


def timed(function: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Median seconds of ``repeat`` calls, and the last result."""
    seconds = []
    result: T | None = None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    assert result is not None
    return statistics.median(seconds), result


def desired_size(desired: DesiredState) -> int:
    return (
        len(desired.domains)
        + len(desired.users)
        + len(desired.courses)
        + len(desired.enrollments)
        + len(desired.observer_links)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    district = generate_district(students=args.students, seed=args.seed, with_gradebook=False)
    snapshot = snapshot_of(district)
    print(f"district: {district}")
    print(f"generated and read into models in {time.perf_counter() - started:.1f} s")
    settings = RosterSettings(parent_domain_id=DISTRICT_DOMAIN, student_role="2", teacher_role="3")
    roles = ResolvedRoles("2", "3")
    snapshot_records = sum(snapshot.counts().values())

    map_s, desired = timed(lambda: map_roster(snapshot, settings, roles), args.repeat)
    objects = desired_size(desired)
    empty = BuzzState(parent_domain_id=DISTRICT_DOMAIN)
    first_s, first = timed(lambda: plan_roster(desired, empty, settings), args.repeat)
    current = up_to_date_state(first)
    routine_s, routine = timed(lambda: plan_roster(desired, current, settings), args.repeat)

    print(f"\nmedian of {args.repeat} runs")
    print(f"{'step':<22}{'seconds':>10}{'records':>12}{'records/s':>14}  result")
    rows = [
        ("map", map_s, snapshot_records, f"{objects:,} desired objects, "
         f"{len(desired.issues):,} issues"),
        ("plan (empty Buzz)", first_s, objects, f"{len(first.operations):,} operations"),
        ("plan (up to date)", routine_s, objects, f"{len(routine.operations):,} operations, "
         f"{sum(routine.unchanged.values()):,} unchanged"),
    ]  # fmt: skip
    for name, seconds, records, result in rows:
        print(f"{name:<22}{seconds:>10.2f}{records:>12,}{records / seconds:>14,.0f}  {result}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {rss:,.0f} MiB")
    if routine.operations:
        raise SystemExit("planning against the up-to-date state should find nothing to do")


if __name__ == "__main__":
    main()
