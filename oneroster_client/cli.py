"""The ``oneroster`` command line.

``oneroster demo`` generates a synthetic district, serves it from the loopback OneRoster
1.1 server on 127.0.0.1, and reads all of it back through the client over real HTTP with
OAuth 2 (or OAuth 1), checking that nothing was lost, then writes and reads back a grade.
``oneroster serve`` keeps such a server running for exploring in a notebook.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from oneroster_client import OneRosterClient, __version__
from oneroster_client.query import F

__all__ = ["main"]

# Client collection -> the district collection it reads in full.
_FULL_READS = (
    ("orgs", "orgs"),
    ("academic_sessions", "academicSessions"),
    ("courses", "courses"),
    ("classes", "classes"),
    ("users", "users"),
    ("enrollments", "enrollments"),
    ("demographics", "demographics"),
    ("categories", "categories"),
    ("line_items", "lineItems"),
    ("results", "results"),
    ("resources", "resources"),
)


def _demo(args: argparse.Namespace) -> int:
    from oneroster_client.models import GUIDRef, LineItem, Result, ScoreStatus
    from oneroster_client.testing import OneRosterServer
    from oneroster_client.testing.generator import generate_district

    started = time.perf_counter()
    district = generate_district(students=args.students, seed=args.seed)
    print(f"Generated a synthetic district in {time.perf_counter() - started:.1f} s: {district}")
    with OneRosterServer(district) as server:
        auth = server.oauth1() if args.auth == "oauth1" else server.oauth2()
        print(f"Loopback OneRoster 1.1 server at {server.base_url} ({args.auth})\n")
        with OneRosterClient(server.base_url, auth=auth, page_size=args.page_size) as client:
            print(
                f"{'collection':<20}{'records':>10}{'expected':>10}{'seconds':>10}{'records/s':>12}"
            )
            failures = 0
            for attribute, collection in _FULL_READS:
                listing = getattr(client, attribute).list(max_workers=args.workers)
                t0 = time.perf_counter()
                count = sum(1 for _ in listing)
                elapsed = time.perf_counter() - t0
                expected = len(district[collection])
                ok = count == expected and listing.complete
                failures += not ok
                rate = count / elapsed if elapsed else 0.0
                mark = "" if ok else "  <-- MISMATCH"
                print(
                    f"{attribute:<20}{count:>10,}{expected:>10,}{elapsed:>10.2f}{rate:>12,.0f}{mark}"
                )

            print("\nA school, and the first students of its first class (personal fields hidden):")
            school = client.schools.list().first()[0]
            print(" ", school)
            first_class = client.schools.classes(school.sourced_id).first()[0]
            for student in client.classes.students(first_class.sourced_id).first(3):
                print(" ", student)
            active = client.students.list(filter=F.status == "active")
            print(f"\nActive students (filter status='active'): {active.count():,}")

            print("\nGrade passback: write a line item and a score, read them back.")
            now = datetime.now(UTC).replace(microsecond=0)
            teacher_class = first_class.sourced_id
            line_item = LineItem(
                sourced_id="li-demo-1",
                title="Demo quiz",
                class_=GUIDRef(sourced_id=teacher_class, type="class"),
                assign_date=now,
                due_date=now,
                result_value_min=0.0,
                result_value_max=10.0,
            )
            created = client.line_items.put(line_item)
            student = client.classes.students(teacher_class).first()[0]
            score = Result(
                sourced_id="res-demo-1",
                line_item=GUIDRef(sourced_id="li-demo-1", type="lineItem"),
                student=GUIDRef(sourced_id=student.sourced_id, type="user"),
                score_status=ScoreStatus.FULLY_GRADED,
                score=9.5,
                score_date=now.date(),
            )
            client.results.put(score)
            back = client.classes.results_for_line_item(teacher_class, "li-demo-1").all()
            print(f"  line item created={created.created}; results read back: {back}")
        print(f"\nDone in {time.perf_counter() - started:.1f} s.", end=" ")
        if failures:
            print(f"{failures} collection(s) did not read back completely.")
            return 1
        print("Every collection read back complete.")
        return 0


def _serve(args: argparse.Namespace) -> int:
    from oneroster_client.testing import OneRosterServer
    from oneroster_client.testing.generator import generate_district

    district = generate_district(students=args.students, seed=args.seed)
    with OneRosterServer(district, port=args.port) as server:
        print(f"Serving {district} at {server.base_url}")
        print(f"  OAuth 2 token URL: {server.token_url}")
        print(f"  client id / OAuth 1 key: {server.client_id}")
        print(f"  secret: {server.client_secret}  (a throwaway secret for this local server)")
        print("Press Ctrl+C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``oneroster`` command."""
    parser = argparse.ArgumentParser(prog="oneroster", description="OneRoster 1.1 tools")
    parser.add_argument("--version", action="version", version=f"oneroster-client {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="read a synthetic district through the client")
    demo.add_argument("--students", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--auth", choices=("oauth2", "oauth1"), default="oauth2")
    demo.add_argument("--page-size", type=int, default=1000)
    demo.add_argument("--workers", type=int, default=1, help="pages fetched at once")
    demo.set_defaults(run=_demo)

    serve = commands.add_parser("serve", help="run the loopback server with a synthetic district")
    serve.add_argument("--students", type=int, default=500)
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--port", type=int, default=8765)
    serve.set_defaults(run=_serve)

    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
