"""Benchmark: mapping and planning a large district for Buzz rostering (no network).

Run with ``python benchmarks/bench_roster.py`` (``--students 50000 --repeat 5``; add
``--classes-per-student 12`` or ``--students 160000`` for about a million enrollments).

The measured process holds what a rostering run holds, built the way a run builds it:

1. A separate process generates the district and writes, once per set of arguments, its
   OneRoster records as 1,000-record pages and the Buzz objects an up-to-date Buzz would
   list for it (the first plan's creates carried out with made-up ids), grouped by
   domain as Buzz lists them. The files are kept in ``benchmarks/.cache``. Generating
   in another process keeps the generator's memory out of the figures.
2. This process structures the OneRoster pages with the client's own page path (the
   converter with references shared per listing, as ``Listing`` does) into the roster
   snapshot, maps it (timed), then lets the snapshot go as :func:`~oneroster_client.
   buzz.sync` does.
3. It reads the Buzz state with :func:`~oneroster_client.buzz.read_buzz_state` through a
   stand-in for the Buzz client whose listings are the client's own ``BuzzListing``
   (paging checks, the entities' ``from_dict``) over the written pages, without HTTP,
   and plans against it
   (timed): a routine run, where everything is unchanged.
4. Peak RSS is taken there: it covers reading, mapping, reading Buzz and planning.
5. Last, two first runs are timed; their peak is not part of the routine run's figure:
   planning against a Buzz that holds the same users and enrollments without references
   (made by hand or by another tool: each is adopted, by username and by user and
   course), and against an empty Buzz (everything is a create).

Times are medians of ``--repeat`` runs (the previous result is dropped before each run,
so repeats do not inflate the memory figure). Rates are records per second: OneRoster
records for ``map``, desired objects (domains, users, courses, enrollments, observer
links) for the plans. The machine is shared and noisy: quote the medians.
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import attrs  # noqa: E402
from _support import peak_rss_mib, rss_mib  # noqa: E402 - after the path is set

from oneroster_client import _json, converter  # noqa: E402
from oneroster_client.buzz import (  # noqa: E402
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
    read_buzz_state,
)
from oneroster_client.buzz.paging import BuzzListing  # noqa: E402
from oneroster_client.testing import COLLECTION_MODELS, generate_district  # noqa: E402

T = TypeVar("T")

DISTRICT_DOMAIN = "100"
FORMAT = 2  # bump when the cached files change shape
PAGE = 1_000
ENTITY_TYPES: dict[str, Any] = {
    "domains": Domain,
    "users": BuzzUser,
    "courses": BuzzCourse,
    "enrollments": BuzzEnrollment,
}
SNAPSHOT_COLLECTIONS = {
    "orgs": "orgs",
    "academic_sessions": "academicSessions",
    "courses": "courses",
    "classes": "classes",
    "users": "users",
    "enrollments": "enrollments",
}


def settings() -> RosterSettings:
    return RosterSettings(parent_domain_id=DISTRICT_DOMAIN, student_role="2", teacher_role="3")


ROLES = ResolvedRoles("2", "3")


# --- preparing the files (in a process of its own) ------------------------------------


def _write_pages(out: Any, key: dict[str, str], records: list[Any]) -> None:
    for start in range(0, len(records), PAGE):
        out.write(json.dumps({**key, "records": records[start : start + PAGE]}) + "\n")


def _up_to_date(plan: Plan) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The wire dicts Buzz would list after every create of ``plan`` landed."""
    ids = (str(n) for n in itertools.count(10_000))
    created: dict[tuple[str, str], str] = {}
    held: dict[str, list[dict[str, Any]]] = {entity: [] for entity in ENTITY_TYPES}
    rights: list[dict[str, Any]] = []

    def resolve(value: Any) -> Any:
        return created[(value.entity, value.reference)] if isinstance(value, Ref) else value

    for operation in plan.operations:
        data = {name: resolve(value) for name, value in operation.payload.items()}
        if operation.entity == "observers":
            rights.append({**data, "entitytype": "U"})
            continue
        if "courseid" in data:  # a derivative copy: the source becomes the base course
            data["baseid"] = data.pop("courseid")
            data.pop("action", None)
        data["id"] = created[(operation.entity, operation.reference)] = next(ids)
        entity = ENTITY_TYPES[operation.entity].from_dict(data)
        held[operation.entity].append(_as_listed(operation.entity, entity.to_dict()))
    return held, rights


def _as_listed(entity: str, item: dict[str, Any]) -> dict[str, Any]:
    """``item`` with the fields Buzz adds in its listings (as the loopback Buzz renders
    them): a guid, flags, creation and modification times, a version, and for
    enrollments the effective privileges and the course named a second time."""
    number = int(item["id"])
    stamp = f"2024-07-{1 + number % 28:02d}T{number % 24:02d}:{number % 60:02d}:{number % 59:02d}"
    item.update(
        guid=str(uuid.UUID(int=number)),
        flags="0",
        creationdate=f"{stamp}.{number % 1000:03d}Z",
        modifieddate=f"{stamp}.{(number * 7) % 1000:03d}Z",
        version="1",
    )
    if entity == "users":
        item["lastlogindate"] = "0001-01-01T00:00:00Z"
    if entity == "enrollments":
        item.update(privileges="131073", courseid=item["entityid"])
    return item


def prepare(folder: Path, students: int, classes: int, seed: int) -> None:
    """Write the OneRoster pages and the up-to-date Buzz listings into ``folder``."""
    started = time.perf_counter()
    district = generate_district(
        students=students, seed=seed, with_gradebook=False, classes_per_student=classes
    )
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "oneroster.jsonl").open("w") as out:
        for wire in SNAPSHOT_COLLECTIONS.values():
            _write_pages(out, {"collection": wire}, district.collections[wire])
    snapshot = RosterSnapshot(
        **{
            attribute: list(district.models(wire))  # type: ignore[arg-type]
            for attribute, wire in SNAPSHOT_COLLECTIONS.items()
        }
    )
    del district
    desired = map_roster(snapshot, settings(), ROLES)
    del snapshot
    held, rights = _up_to_date(
        plan_roster(desired, BuzzState(parent_domain_id=DISTRICT_DOMAIN), settings())
    )
    course_domain = {c["id"]: c["domainid"] for c in held["courses"]}
    user_domain = {u["id"]: u["domainid"] for u in held["users"]}
    with (folder / "buzz.jsonl").open("w") as out:
        _write_pages(out, {"entity": "domains", "domain": DISTRICT_DOMAIN}, held["domains"])
        for entity in ("users", "courses", "enrollments"):
            by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for item in held[entity]:
                if entity == "enrollments":
                    item["domainid"] = course_domain.get(item["entityid"], DISTRICT_DOMAIN)
                by_domain[str(item["domainid"])].append(item)
            for domain, items in sorted(by_domain.items()):
                _write_pages(out, {"entity": entity, "domain": domain}, items)
        by_actor: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for grant in rights:
            by_actor[str(grant["actorid"])].append(grant)
        out.write(json.dumps({"entity": "rights", "records": by_actor}) + "\n")
    (folder / "done").write_text(json.dumps({"user_domains": len(set(user_domain.values()))}))
    print(f"prepared {folder.name} in {time.perf_counter() - started:.0f} s", flush=True)


# --- the measured process ---------------------------------------------------------------


def pages(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as lines:
        for line in lines:
            yield _json.loads(line)


def read_snapshot(folder: Path) -> RosterSnapshot:
    """The snapshot, structured page by page as ``Listing`` does (shared references)."""
    records: dict[str, list[Any]] = {attribute: [] for attribute in SNAPSHOT_COLLECTIONS}
    attribute_of = {wire: attribute for attribute, wire in SNAPSHOT_COLLECTIONS.items()}
    refs: dict[str, dict[Any, Any]] = defaultdict(dict)  # one table per listing
    for page in pages(folder / "oneroster.jsonl"):
        wire = page["collection"]
        items, failures = converter.structure_records(
            page["records"], COLLECTION_MODELS[wire], strict=False, warnings=[], refs=refs[wire]
        )
        assert not failures, failures[:3]
        records[attribute_of[wire]].extend(items)
    return RosterSnapshot(**records)


class StandInBuzz:
    """Hands out the written Buzz pages through the entities' ``from_dict``, per domain.

    Built before the clock starts: it finds where each page is (one pass over the file)
    and keeps the observers' rights as dicts, which the figures count as memory (a few
    tens of MiB: they err on the high side).
    """

    def __init__(self, folder: Path) -> None:
        self.pages = (folder / "buzz.jsonl").open("rb")
        self.offsets: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.rights: dict[str, list[dict[str, Any]]] = {}
        offset = 0
        for line in self.pages:
            # Each line starts {"entity": ..., "domain": ..., "records": (written above).
            head = _json.loads(line[:80].split(b', "records"')[0] + b"}")
            if head["entity"] == "rights":
                self.rights = _json.loads(line)["records"]
            else:
                self.offsets[(head["entity"], head["domain"])].append(offset)
            offset += len(line)

    def close(self) -> None:
        self.pages.close()

    def _list(self, entity: str, domain: str) -> BuzzListing[Any]:
        """The Buzz client's own listing (paging checks, ``from_dict``) over the pages."""
        offsets = iter(self.offsets.get((entity, str(domain)), []))
        singular = entity[:-1]

        def fetch(params: Any) -> dict[str, Any]:
            offset = next(offsets, None)
            if offset is None:
                return {entity: {singular: []}}
            self.pages.seek(offset)
            return {entity: {singular: _json.loads(self.pages.readline())["records"]}}

        return BuzzListing(
            fetch,
            command=f"list{entity}",
            params={"domainid": domain},
            plural=entity,
            singular=singular,
            reader=ENTITY_TYPES[entity].from_dict,
            page_size=PAGE,
        )

    def list_domains(self, domain_id: str, **_: Any) -> BuzzListing[Domain]:
        return self._list("domains", domain_id)

    def list_users(self, domain_id: str, **_: Any) -> BuzzListing[BuzzUser]:
        return self._list("users", domain_id)

    def list_courses(self, domain_id: str, **_: Any) -> BuzzListing[BuzzCourse]:
        return self._list("courses", domain_id)

    def list_enrollments(self, domain_id: str, **_: Any) -> BuzzListing[BuzzEnrollment]:
        return self._list("enrollments", domain_id)

    def get_actor_rights(self, actor_id: str, **_: Any) -> list[RightsGrant]:
        return [RightsGrant.from_dict(item) for item in self.rights.get(actor_id, [])]


def without_references(state: BuzzState) -> BuzzState:
    """``state`` as a Buzz where the users and enrollments were made by hand or by another
    tool: no references, so a first sync adopts them by username and by user and course."""
    return BuzzState(
        parent_domain_id=state.parent_domain_id,
        domains=state.domains,
        courses=state.courses,
        unmanaged_users=[attrs.evolve(user, reference=None) for user in state.users.values()],
        unmanaged_enrollments=[
            attrs.evolve(enrollment, reference=None) for enrollment in state.enrollments.values()
        ],
    )


def timed(function: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Median seconds of ``repeat`` calls, and the last result (dropped before each call)."""
    seconds = []
    result: T | None = None
    for _ in range(repeat):
        result = None
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
    parser.add_argument("--classes-per-student", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-empty", action="store_true", help="skip the first-run plan")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare is not None:
        prepare(args.prepare, args.students, args.classes_per_student, args.seed)
        return
    name = f"roster-s{args.students}-c{args.classes_per_student}-r{args.seed}-v{FORMAT}"
    folder = HERE / ".cache" / name
    if not (folder / "done").exists():
        print(f"preparing {name} in a separate process (once) ...", flush=True)
        subprocess.run(
            [sys.executable, __file__, "--prepare", str(folder), "--students", str(args.students),
             "--classes-per-student", str(args.classes_per_student), "--seed", str(args.seed)],
            check=True,
        )  # fmt: skip

    started_rss = rss_mib()
    started = time.perf_counter()
    snapshot = read_snapshot(folder)
    read_s = time.perf_counter() - started
    counts = snapshot.counts()
    snapshot_records = sum(counts.values())
    print(
        f"district: {args.students:,} students, {counts['users']:,} users, "
        f"{counts['classes']:,} classes, {counts['enrollments']:,} enrollments"
    )
    snapshot_rss = rss_mib()
    map_s, desired = timed(functools.partial(map_roster, snapshot, settings(), ROLES), args.repeat)
    mapped_rss = rss_mib()
    del snapshot  # as sync() does once the roster is mapped
    gc.collect()
    objects = desired_size(desired)

    buzz = StandInBuzz(folder)
    started = time.perf_counter()
    current = read_buzz_state(buzz, settings())  # type: ignore[arg-type]
    buzz_s = time.perf_counter() - started
    buzz.close()
    buzz_rss = rss_mib()
    routine_s, routine = timed(lambda: plan_roster(desired, current, settings()), args.repeat)
    routine_peak = peak_rss_mib()
    if routine.operations or not current.complete:
        raise SystemExit("planning against the up-to-date state should find nothing to do")
    buzz_objects = sum(current.managed_counts().values())
    unchanged = sum(routine.unchanged.values())
    first_s = adopt_s = 0.0
    first_ops = 0
    adopted = ""
    if not args.skip_empty:
        del routine
        bare = without_references(current)
        del current
        gc.collect()
        adopt_s, adopting = timed(lambda: plan_roster(desired, bare, settings()), args.repeat)
        counts = adopting.counts()
        if set(counts) - {"users", "enrollments", "observers"} or any(
            set(counts.get(entity, {})) - {"update"} for entity in ("users", "enrollments")
        ):
            raise SystemExit(f"every user and enrollment should be adopted, not {counts}")
        adopted = ", ".join(f"{n:,} {entity} adopted" for entity, c in counts.items()
                            for action, n in c.items() if action == "update")  # fmt: skip
        del bare, adopting
        gc.collect()
        empty = BuzzState(parent_domain_id=DISTRICT_DOMAIN)
        first_s, first = timed(lambda: plan_roster(desired, empty, settings()), args.repeat)
        first_ops = len(first.operations)

    print(f"\nmedian of {args.repeat} runs, JSON decoder {_json.BACKEND}")
    print(f"{'step':<24}{'seconds':>9}{'records':>12}{'records/s':>12}  result")
    rows = [
        ("structure OneRoster", read_s, snapshot_records, "once"),
        ("map", map_s, snapshot_records, f"{objects:,} desired objects, "
         f"{len(desired.issues):,} issues"),
        ("read Buzz state", buzz_s, buzz_objects, "once, from_dict without HTTP"),
        ("plan (up to date)", routine_s, objects, f"0 operations, {unchanged:,} unchanged"),
    ]  # fmt: skip
    if not args.skip_empty:
        rows.append(("plan (adopting)", adopt_s, objects, adopted))
        rows.append(("plan (empty Buzz)", first_s, objects, f"{first_ops:,} operations"))
    for step, seconds, records, result in rows:
        print(f"{step:<24}{seconds:>9.2f}{records:>12,}{records / seconds:>12,.0f}  {result}")
    print(
        f"\nRSS (MiB): start {started_rss:,.0f}, snapshot {snapshot_rss:,.0f}, "
        f"mapped {mapped_rss:,.0f}, Buzz state read {buzz_rss:,.0f}; "
        f"peak of the routine run {routine_peak:,.0f}"
    )


if __name__ == "__main__":
    main()
